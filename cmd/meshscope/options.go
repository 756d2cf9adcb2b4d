package main

import (
	"flag"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/meshscope/meshscope/graph"
)

// serveOptions are the options of `meshscope serve`.
type serveOptions struct {
	config            string
	httpAddr          string
	otlpGRPCAddr      string
	otlpHTTPAddr      string
	dataDir           string
	clickhouse        string
	clickhouseHTTP    string
	clickhouseCluster string
	retention         days
	walMaxBytes       byteSize
	walNoSync         bool
	walCompression    string
	otlpPooling       bool
	maxRequestBytes   byteSize
	flushRows         int
	flushInterval     time.Duration
	logLevel          string
	logFormat         string
	pprof             bool
	authTokenFile     string
	window            time.Duration
	tick              time.Duration
	spanWait          time.Duration
	spanMaxPending    int
	edgeFlushDelay    time.Duration
	accessLogWait     time.Duration
	maxLiveEdges      int
	graphSnapshots    bool
	provenancePref    string
	allowedOrigins    string
	scrapeConfig      string
	demo              bool
	demoServices      int
	demoRate          float64
	demoScenario      string
	sloPath           string
	sloInterval       time.Duration
	sloEvaluator      string
	alertmanagerURLs  string
	sloWebhookURLs    string
	newExcAlerts      bool
	deployAlerts      bool
	deployChecks      int
	instanceAlerts    bool
	instanceWindow    time.Duration
	instanceChecks    int
	ruleFiles         string
	logRuleFiles      string
	externalURL       string
	tls               map[string]*tlsFiles
	liveFromCH        bool
	livePoll          time.Duration
}

func (o *serveOptions) register(fs *flag.FlagSet) {
	fs.StringVar(&o.config, "config", "", "YAML file with options (keys are flag names)")
	fs.StringVar(&o.httpAddr, "http-addr", "127.0.0.1:8080", "HTTP listener: API, UI, websocket, remote_write, the Prometheus, Loki and Jaeger query APIs, /healthz, /readyz, /metrics")
	fs.StringVar(&o.otlpGRPCAddr, "otlp-grpc-addr", "127.0.0.1:4317", "gRPC listener: OTLP traces/metrics/logs and Envoy ALS")
	fs.StringVar(&o.otlpHTTPAddr, "otlp-http-addr", "127.0.0.1:4318", "OTLP/HTTP listener: /v1/traces, /v1/metrics, /v1/logs")
	fs.StringVar(&o.dataDir, "data-dir", "./data", "directory for the write-ahead log and the managed ClickHouse")
	fs.StringVar(&o.clickhouse, "clickhouse", "", "ClickHouse DSN (clickhouse://user:pass@host:9000/meshscope); empty starts a private clickhouse-server under the data dir")
	fs.StringVar(&o.clickhouseHTTP, "clickhouse-http", "", "the --clickhouse server's HTTP interface (http://host:8123): ingest inserts go through it in the Native format, at a fraction of the CPU (the managed server's is used without asking)")
	fs.StringVar(&o.clickhouseCluster, "clickhouse-cluster", "", "ClickHouse cluster name: render ON CLUSTER DDL with Replicated and Distributed tables")
	o.retention = days(7 * 24 * time.Hour)
	fs.Var(&o.retention, "retention", "keep data this long (7d, 36h); older day partitions are dropped")
	o.walMaxBytes = 1 << 30
	fs.Var(&o.walMaxBytes, "wal-max-bytes", "bound of the write-ahead log while ClickHouse lags; beyond it receivers answer retryable errors")
	fs.StringVar(&o.walCompression, "wal-compression", "s2", "compression of the write-ahead log's records: s2, snappy (more bytes on disk and more CPU than s2; the default before s2), zstd (the fewest bytes on disk, so the longest outage --wal-max-bytes rides out, for about 1 µs more CPU a span) or none")
	fs.BoolVar(&o.walNoSync, "wal-no-sync", false, "skip fsync after each group commit (acknowledged data survives a process crash, not a machine crash)")
	fs.BoolVar(&o.otlpPooling, "otlp-pooling", true, "decode OTLP requests into pooled objects (pdata's pdata.useProtoPooling feature gate, alpha): about 6 % less CPU a span and less memory; false decodes into new objects")
	o.maxRequestBytes = 16 << 20
	fs.Var(&o.maxRequestBytes, "max-request-bytes", "largest request body accepted (compressed and decompressed)")
	fs.IntVar(&o.flushRows, "flush-rows", 100_000, "rows per ClickHouse insert")
	fs.DurationVar(&o.flushInterval, "flush-interval", time.Second, "longest time rows wait before an insert")
	fs.StringVar(&o.logLevel, "log-level", "info", "debug, info, warn or error")
	fs.StringVar(&o.logFormat, "log-format", "text", "text or json")
	fs.BoolVar(&o.pprof, "pprof", false, "serve Go profiles at /debug/pprof/ on the HTTP listener")
	fs.StringVar(&o.authTokenFile, "auth-token-file", "", "file of bearer tokens (one per line); when set every listener requires one, except /healthz and /readyz")
	fs.DurationVar(&o.window, "window", time.Minute, "span of the live graph: rates and percentiles over the last WINDOW")
	fs.DurationVar(&o.tick, "tick", time.Second, "how often the live graph publishes a snapshot and delta")
	fs.DurationVar(&o.spanWait, "span-wait", 10*time.Second, "how long a client or server span waits for its other half")
	fs.IntVar(&o.spanMaxPending, "span-max-pending", 0, "most spans waiting for their other half; beyond it spans are dropped (meshscope_graph_span_store_dropped_total); 0 takes 5% of the memory limit (GOMEMLIMIT, else 80% of the container's) at 420 bytes a span (measured: graph.PendingSpanBytes), at least 100000, which is also the size without a limit")
	fs.DurationVar(&o.edgeFlushDelay, "edge-flush-delay", 30*time.Second, "how long after a 10s bucket ends it is written to edges_10s (late observations for it are dropped); at least --span-wait")
	fs.BoolVar(&o.graphSnapshots, "graph-snapshots", true, "at every bucket written to edges_10s, also write the live graph's buckets not written yet to DATA_DIR/graph-snapshot, which a start after a crash restores (a crash then loses at most 10s of the graph's history; about 0.4s of CPU per million open edge-seconds)")
	fs.StringVar(&o.provenancePref, "provenance-preference", "accesslog,span,metric", "the order in which inputs are trusted when several saw the same calls: the first that saw an edge gives its numbers (docs/api.md); span first shows versions that caller-side access logs do not know")
	fs.IntVar(&o.maxLiveEdges, "max-live-edges", 200_000, "bound on the live graph's edges (finest level); observations of new edges beyond it are dropped and counted in meshscope_graph_observations_dropped_total{reason=\"edge_limit\"}")
	fs.DurationVar(&o.accessLogWait, "accesslog-wait", 0, "how long the caller's sidecar's access log entry of a request waits for the callee's, to count the request once (default 5s, or --edge-flush-delay when shorter; at most --edge-flush-delay)")
	fs.StringVar(&o.scrapeConfig, "scrape-config", "", "YAML file of Envoy / Linkerd proxy /metrics targets to scrape, for users without a Prometheus")
	fs.BoolVar(&o.demo, "demo", false, "also run the demo mesh generator in this process, sending to this server's own listeners")
	fs.IntVar(&o.demoServices, "demo-services", 60, "with --demo: number of services of the generated mesh (scheduled jobs come besides, see meshscope demo --help)")
	fs.Float64Var(&o.demoRate, "demo-rate", 500, "with --demo: calls per second across all edges")
	fs.StringVar(&o.demoScenario, "demo-scenario", "failing-dependency", "with --demo: steady, failing-dependency, slow-database, canary-bad, new-service or bad-pod (one pod of a service fails and is slow)")
	fs.StringVar(&o.sloPath, "slo-dir", "", "SLO spec file or directory (YAML, reloaded on change and on SIGHUP); SLOs created through the API are saved there")
	fs.DurationVar(&o.sloInterval, "slo-interval", 30*time.Second, "how often SLOs are evaluated")
	fs.StringVar(&o.alertmanagerURLs, "alertmanager-url", "", "comma-separated Alertmanager base URLs that receive SLO alerts (API v2)")
	fs.StringVar(&o.sloWebhookURLs, "slo-webhook-url", "", "comma-separated URLs that receive SLO alerts as Alertmanager webhook (v4) payloads")
	fs.BoolVar(&o.newExcAlerts, "new-exception-alerts", false, "alert (MeshscopeNewException, to the Alertmanagers and webhooks above) on every exception type a service shows for the first time, checked at each SLO evaluation")
	fs.BoolVar(&o.deployAlerts, "deployment-alerts", false, "alert (MeshscopeDeploymentRegression) on every version deployed within the last hour that fails more often or is slower than its service's other versions since its first calls, checked at each SLO evaluation")
	fs.IntVar(&o.deployChecks, "deployment-alert-checks", 3, "with --deployment-alerts: SLO evaluations in a row at which a deployed version must read worse before its alert fires (1: at the first)")
	fs.BoolVar(&o.instanceAlerts, "instance-alerts", false, "alert (MeshscopeInstanceOutlier) on every instance (pod) that failed more often or answered slower than its service's other instances over --instance-alert-window, by its sidecar's access log entries, checked at each SLO evaluation")
	fs.DurationVar(&o.instanceWindow, "instance-alert-window", 10*time.Minute, "with --instance-alerts: the stretch of calls compared")
	fs.IntVar(&o.instanceChecks, "instance-alert-checks", 3, "with --instance-alerts: SLO evaluations in a row at which an instance must stand out before its alert fires (1: at the first)")
	fs.StringVar(&o.ruleFiles, "rule-files", "", "comma-separated Prometheus rule files (globs) whose alerting rules are evaluated over the stored metrics, each group at its interval (default --slo-interval), their alerts sent to the Alertmanagers and webhooks above; recording rules are refused (docs/slo.md)")
	fs.StringVar(&o.logRuleFiles, "log-rule-files", "", "comma-separated rule files (globs) of the same format whose expressions are LogQL metric queries over the stored log records, as Loki's ruler reads them: count_over_time or rate, perhaps summed by labels, compared with a number; their alerts go where --rule-files' do")
	fs.StringVar(&o.sloEvaluator, "slo-evaluator", "", "with several replicas: URL of the one replica that evaluates SLOs and sends their alerts, such as http://meshscope-0.meshscope-headless:8080; the replica whose hostname is the URL's first host label evaluates, every other one forwards its SLO and alert API there")
	fs.StringVar(&o.externalURL, "external-url", "", "meshscope's URL as users reach it, for links in alerts")
	fs.BoolVar(&o.liveFromCH, "live-from-clickhouse", false, "serve the live graph from ClickHouse's edge aggregates, where every replica's buckets sum (for several meshscope replicas), a flush delay behind, instead of from this process alone")
	fs.DurationVar(&o.livePoll, "live-poll", 5*time.Second, "with --live-from-clickhouse: how often the graph is read back")
	o.tls = map[string]*tlsFiles{}
	registerTLS(fs, o.tls)
	fs.StringVar(&o.allowedOrigins, "allowed-origins", "", "comma-separated origins allowed to open the websocket besides the server's own")
}

// validate names the option at fault.
func (o *serveOptions) validate() error {
	if _, err := graph.ParseProvenanceList(o.provenancePref); err != nil {
		return fmt.Errorf("--provenance-preference %q: %w", o.provenancePref, err)
	}
	if o.sloEvaluator != "" {
		if _, err := evaluatorURL(o.sloEvaluator); err != nil {
			return err
		}
	}
	if o.accessLogWait < 0 || o.accessLogWait > o.edgeFlushDelay {
		return fmt.Errorf("--accesslog-wait %s: want between 0 and --edge-flush-delay (%s): entries released later than their bucket's flush are dropped as late",
			o.accessLogWait, o.edgeFlushDelay)
	}
	for name, addr := range map[string]string{"http-addr": o.httpAddr, "otlp-grpc-addr": o.otlpGRPCAddr, "otlp-http-addr": o.otlpHTTPAddr} {
		if !strings.Contains(addr, ":") {
			return fmt.Errorf("--%s %q: want host:port", name, addr)
		}
	}
	if o.clickhouse != "" && !strings.HasPrefix(o.clickhouse, "clickhouse://") && !strings.HasPrefix(o.clickhouse, "tcp://") {
		return fmt.Errorf("--clickhouse %q: want a DSN such as clickhouse://user:pass@host:9000/meshscope (native protocol)", o.clickhouse)
	}
	if o.clickhouseHTTP != "" {
		if o.clickhouse == "" {
			return fmt.Errorf("--clickhouse-http %q: only with --clickhouse (the managed server's is used without asking)", o.clickhouseHTTP)
		}
		if u, err := url.Parse(o.clickhouseHTTP); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("--clickhouse-http %q: want a URL such as http://host:8123", o.clickhouseHTTP)
		}
	}
	switch o.walCompression {
	case "s2", "snappy", "zstd", "none":
	default:
		return fmt.Errorf("--wal-compression %q: want s2, snappy, zstd or none", o.walCompression)
	}
	if o.walMaxBytes < 1<<20 {
		return fmt.Errorf("--wal-max-bytes %s: want at least 1MiB", o.walMaxBytes.String())
	}
	if o.maxRequestBytes < 1<<10 {
		return fmt.Errorf("--max-request-bytes %s: want at least 1KiB", o.maxRequestBytes.String())
	}
	if o.flushRows <= 0 {
		return fmt.Errorf("--flush-rows %d: want a positive number", o.flushRows)
	}
	if o.window < time.Second || o.tick <= 0 || o.tick > o.window {
		return fmt.Errorf("--window %s / --tick %s: want window >= 1s and 0 < tick <= window", o.window, o.tick)
	}
	if _, err := parseLevel(o.logLevel); err != nil {
		return err
	}
	if o.logFormat != "text" && o.logFormat != "json" {
		return fmt.Errorf("--log-format %q: want text or json", o.logFormat)
	}
	return nil
}

func parseLevel(s string) (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(s)); err != nil {
		return l, fmt.Errorf("--log-level %q: want debug, info, warn or error", s)
	}
	return l, nil
}

func newLogger(level, format string) *slog.Logger {
	l, _ := parseLevel(level)
	opts := &slog.HandlerOptions{Level: l}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(os.Stderr, opts))
	}
	return slog.New(slog.NewTextHandler(os.Stderr, opts))
}
