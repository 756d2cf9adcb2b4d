package main

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/meshscope/meshscope/ingest/demo"
)

// The demo drives a real server through every ingest path (OTLP spans,
// Envoy ALS, Istio text lines, remote_write); the API then shows its
// services, edges of every provenance, the canary versions, the job that
// only calls out and the scenario's failing edges.
func TestDemoThroughTheRealEndpoints(t *testing.T) {
	const services, seed = 30, 7
	srv := startServer(t, t.TempDir(), true, "--span-wait", "2s", "--edge-flush-delay", "3s",
		"--rule-files", filepath.Join("..", "..", "deploy", "prometheus", "mesh-alerts.yaml"),
		"--log-rule-files", filepath.Join("..", "..", "deploy", "loki", "log-alerts.yaml"), "--slo-interval", "2s")
	topo, err := demo.NewTopology(services, seed, "failing-dependency")
	require.NoError(t, err)

	done := make(chan error, 1)
	go func() {
		_, stderr, err := meshscope(t, "demo", "--server-http", "http://"+srv.httpAddr, "--server-grpc", srv.grpcAddr,
			"--services", fmt.Sprint(services), "--seed", fmt.Sprint(seed), "--rate", "600", "--duration", "25s",
			"--scenario", "failing-dependency", "--scenario-period", "5s", "--trace-sample", "0.5",
			"--metrics-interval", "2s", "--progress-interval", "5s")
		if err != nil {
			err = fmt.Errorf("%w: %s", err, stderr)
		}
		done <- err
	}()
	api := "http://" + srv.httpAddr + "/api/v1/graph"

	// Every provenance shows up on some edge, and the scenario's target
	// fails.
	failing := topo.Scenario.Edges()
	require.NotEmpty(t, failing)
	eventually(t, "edges of every provenance and the failing dependency", 40*time.Second, func() (bool, string) {
		g := getGraph(t, api)
		seen := map[string]bool{}
		for _, e := range g.Edges {
			for _, p := range e.Provenance {
				seen[p] = true
			}
		}
		worst := 0.0
		for _, e := range g.Edges {
			if slices.Contains(failing, e.ID) {
				worst = max(worst, e.ErrorRate)
			}
		}
		return seen["span"] && seen["accesslog"] && seen["metric"] && worst > 0.2,
			fmt.Sprintf("%d edges, provenance %v, failing edge error rate %.2f", len(g.Edges), seen, worst)
	})

	g := getGraph(t, api)
	ids := map[string]bool{}
	for _, n := range g.Nodes {
		ids[n.ID] = true
	}
	for _, s := range topo.Services {
		switch s.Kind {
		case demo.KindFrontend, demo.KindAPI, demo.KindMidTier:
			require.True(t, ids[s.ID()], "service %s on the graph", s.ID())
		}
	}
	// Canary versions at the version granularity.
	vg := getGraph(t, api+"?granularity=version")
	vids := map[string]bool{}
	for _, n := range vg.Nodes {
		vids[n.ID] = true
	}
	canaries := topo.Canaries()
	require.NotEmpty(t, canaries)
	for _, w := range topo.Workloads {
		if w.Service == canaries[0] {
			require.True(t, vids[w.VersionID()], "version node %s", w.VersionID())
		}
	}

	// One node per database: the demo's databases are Kubernetes services,
	// so the queries spans see and the connections the sidecars see are
	// one edge to the service's node. The unknown caller calls only the
	// ingress gateway: root spans of services whose callers are not traced
	// count on the edges of the callers their sidecars name.
	for _, n := range g.Nodes {
		require.NotEqual(t, "database", n.Kind, "node %s", n.ID)
		// External hosts by name: ALS entries of TLS passed through carry
		// the SNI, as current Envoy logs it.
		if n.Kind == "external" {
			require.Nil(t, net.ParseIP(n.Name), "node %s", n.ID)
		}
	}
	db := 0
	for _, e := range g.Edges {
		if slices.Contains(e.Protocols, "db") {
			require.Contains(t, e.Protocols, "tcp", "edge %s", e.ID)
			db++
		}
		if e.Source == demo.ClientID {
			require.Equal(t, topo.Gateway.ID(), e.Target, "edge %s", e.ID)
		}
	}
	require.NotZero(t, db, "database edges seen by spans")

	// The mesh's alerting rules (make run loads them) read the Istio
	// metrics the demo sends by remote_write, the log rules its log
	// records: every one evaluates, and the failing dependency's error rate
	// has its alert pending or firing.
	eventually(t, "the mesh rules evaluated, the error rate alert active", 40*time.Second, func() (bool, string) {
		var rules struct {
			Data struct {
				Groups []struct {
					Rules []struct {
						Name, Health, LastError string
						Alerts                  []struct{ State string }
					}
				}
			}
		}
		getJSON(t, "http://"+srv.httpAddr+"/api/v1/rules", &rules)
		ok, active, state := 0, 0, ""
		for _, g := range rules.Data.Groups {
			for _, r := range g.Rules {
				state += fmt.Sprintf("%s %s %s %d; ", r.Name, r.Health, r.LastError, len(r.Alerts))
				if r.Health == "ok" {
					ok++
				}
				if r.Name == "MeshServiceErrorRateHigh" {
					active = len(r.Alerts)
				}
			}
		}
		return ok == 6 && active > 0, state
	})

	// The scheduled job calls out and nothing calls it, not even the
	// unknown caller: its runs' root spans are INTERNAL.
	require.NotEmpty(t, topo.Jobs)
	job := topo.Jobs[0].ID()
	eventually(t, "the job's calls seen by spans and by its sidecar", 30*time.Second, func() (bool, string) {
		g := getGraph(t, api)
		seen := map[string]bool{}
		for _, e := range g.Edges {
			require.NotEqual(t, job, e.Target, "edge %s: nothing calls the job", e.ID)
			if e.Source == job {
				for _, p := range e.Provenance {
					seen[p] = true
				}
			}
		}
		return seen["span"] && seen["accesslog"], fmt.Sprintf("provenance of the job's edges %v", seen)
	})
	require.NoError(t, <-done)

	// The services' ERROR logs are stored and lead to the failed span they
	// belong to.
	base := "http://" + srv.httpAddr + "/api/v1/"
	var logs struct {
		Logs []struct {
			Service, Body string
			TraceID       string `json:"trace_id"`
			SpanID        string `json:"span_id"`
			SeverityText  string `json:"severity_text"`
		}
	}
	eventually(t, "ERROR logs of the failed calls", 30*time.Second, func() (bool, string) {
		getJSON(t, base+"logs?severity=error&limit=20", &logs)
		return len(logs.Logs) > 0, fmt.Sprintf("%d records", len(logs.Logs))
	})
	rec := logs.Logs[0]
	require.Equal(t, "ERROR", rec.SeverityText)
	type span struct {
		SpanID     string `json:"span_id"`
		Service    string
		StatusCode string `json:"status_code"`
	}
	var tr struct{ Spans []span }
	getJSON(t, base+"traces/"+rec.TraceID, &tr)
	i := slices.IndexFunc(tr.Spans, func(s span) bool { return s.SpanID == rec.SpanID })
	require.GreaterOrEqual(t, i, 0, "the record's span %s is in its trace", rec.SpanID)
	require.Equal(t, "error", tr.Spans[i].StatusCode)
	require.Equal(t, rec.Service, tr.Spans[i].Service)

	// The trace search finds that trace among the service's failed ones,
	// from the trace summaries (the database was created with them).
	type summary struct {
		TraceID string `json:"trace_id"`
		Errors  uint64
	}
	var found struct{ Traces []summary }
	getJSON(t, base+"traces?error=true&limit=1000&service="+url.QueryEscape(rec.Service), &found)
	j := slices.IndexFunc(found.Traces, func(f summary) bool { return f.TraceID == rec.TraceID })
	require.GreaterOrEqual(t, j, 0, "trace %s among %d found", rec.TraceID, len(found.Traces))
	require.Positive(t, found.Traces[j].Errors)
	require.Positive(t, srv.metric(`meshscope_trace_searches_total{table="trace_summaries"}`))
	// What each table holds, on /metrics.
	require.Positive(t, srv.metric(`meshscope_storage_rows{table="spans"}`))
	require.Positive(t, srv.metric(`meshscope_storage_bytes{table="requests"}`))

	// The gateway's calls by the pod that served them, named by its spans'
	// resource; the failing dependency fails on every pod alike, so none
	// of them stands out.
	type instances struct {
		Source    string
		Instances []struct {
			Instance string
			Requests uint64
			Share    float64
			Outlier  []string
		}
	}
	var gw instances
	getJSON(t, fmt.Sprintf("%sservices/%s/%s/instances?from=now-1h", base, topo.Gateway.Namespace, topo.Gateway.Name), &gw)
	require.Equal(t, "spans", gw.Source)
	pods := []string{}
	for _, p := range topo.Gateway.Workloads[0].Pods {
		pods = append(pods, p.Name)
	}
	got, share := []string{}, 0.0
	for _, in := range gw.Instances {
		got, share = append(got, in.Instance), share+in.Share
		require.Positive(t, in.Requests)
	}
	require.ElementsMatch(t, pods, got)
	require.InDelta(t, 1, share, 1e-9)
	// A service's calls by pod from its sidecars' access log entries: the
	// ALS node names the pod.
	var untraced *demo.Service
	for _, s := range topo.Services {
		if !s.Traced && s.Kind != demo.KindGateway && len(s.Workloads) > 0 && len(s.Workloads[0].Pods) >= 2 && len(s.Callers) > 0 {
			untraced = s
			break
		}
	}
	require.NotNil(t, untraced, "the demo mesh has an uninstrumented service of several pods")
	var byPod instances
	getJSON(t, fmt.Sprintf("%sservices/%s/%s/instances?from=now-1h&source=requests", base, untraced.Namespace, untraced.Name), &byPod)
	want := map[string]bool{}
	for _, w := range untraced.Workloads {
		for _, p := range w.Pods {
			want[p.Name] = true
		}
	}
	require.NotEmpty(t, byPod.Instances, "%s", untraced.ID())
	for _, in := range byPod.Instances {
		require.True(t, want[in.Instance], "%s: instance %s is one of its pods", untraced.ID(), in.Instance)
	}
	var target instances
	getJSON(t, fmt.Sprintf("%sservices/%s/%s/instances?from=now-1h", base, topo.Scenario.Target.Namespace, topo.Scenario.Target.Name), &target)
	require.NotEmpty(t, target.Instances)
	for _, in := range target.Instances {
		require.Empty(t, in.Outlier, "%s: every pod of the failing service fails alike", in.Instance)
	}

	// Loki's query API (what Grafana's Loki data source reads) finds the
	// same record by service, level and trace.
	var loki struct {
		Status string
		Data   struct {
			Result []struct {
				Stream map[string]string
				Values [][2]string
			}
		}
	}
	selector := fmt.Sprintf(`{service_name=%q, level="error", trace_id=%q}`, rec.Service, rec.TraceID)
	getJSON(t, "http://"+srv.httpAddr+"/loki/api/v1/query_range?since=1h&limit=50&query="+url.QueryEscape(selector), &loki)
	require.Equal(t, "success", loki.Status)
	require.NotEmpty(t, loki.Data.Result, selector)
	bodies := []string{}
	for _, r := range loki.Data.Result {
		for _, v := range r.Values {
			bodies = append(bodies, v[1])
		}
	}
	require.Contains(t, bodies, rec.Body)

	// Jaeger's query API (what Grafana's Jaeger data source reads) lists
	// the service, finds the same failed trace by its error tag, and draws
	// the gateway's calls among the dependencies.
	jaeger := "http://" + srv.httpAddr + "/jaeger/api/"
	var names struct{ Data []string }
	getJSON(t, jaeger+"services", &names)
	require.Contains(t, names.Data, rec.Service)
	type jaegerTrace struct {
		TraceID string `json:"traceID"`
		Spans   []struct {
			SpanID string `json:"spanID"`
		}
	}
	var traces struct{ Data []jaegerTrace }
	getJSON(t, jaeger+"traces?limit=1000&lookback=1h&service="+url.QueryEscape(rec.Service)+"&tags="+url.QueryEscape(`{"error":"true"}`), &traces)
	k := slices.IndexFunc(traces.Data, func(tr jaegerTrace) bool { return tr.TraceID == rec.TraceID })
	require.GreaterOrEqual(t, k, 0, "trace %s among %d found by Jaeger's search", rec.TraceID, len(traces.Data))
	require.Len(t, traces.Data[k].Spans, len(tr.Spans), "answered whole")
	var deps struct {
		Data []struct {
			Parent, Child string
			CallCount     uint64 `json:"callCount"`
		}
	}
	getJSON(t, jaeger+"dependencies?lookback=600000", &deps)
	gateway := 0
	for _, d := range deps.Data {
		if d.Parent == topo.Gateway.Name {
			gateway++
			require.Positive(t, d.CallCount)
		}
	}
	require.Positive(t, gateway, "the gateway's calls among %d dependencies", len(deps.Data))

	// The Istio metrics sent by remote_write are listed and charted as
	// request rates per destination.
	var metrics struct{ Metrics []struct{ Name, Type string } }
	getJSON(t, base+"metrics?q=istio_requests", &metrics)
	require.NotEmpty(t, metrics.Metrics)
	require.Equal(t, "istio_requests_total", metrics.Metrics[0].Name)
	require.Equal(t, "sum", metrics.Metrics[0].Type)
	var chart struct {
		Value  string
		Series []struct {
			Labels map[string]string
			Points [][2]float64
		}
	}
	getJSON(t, base+"metrics/query?name=istio_requests_total&group_by=destination_service&from=now-2m&step=10s", &chart)
	require.Equal(t, "per_second", chart.Value)
	require.NotEmpty(t, chart.Series)
	busiest := chart.Series[0]
	require.NotEmpty(t, busiest.Labels["destination_service"])
	require.NotEmpty(t, busiest.Points)
	require.Positive(t, slices.MaxFunc(busiest.Points, func(a, b [2]float64) int { return cmp.Compare(a[1], b[1]) })[1])
	// The latency histogram's p99 per destination, from its _bucket series.
	getJSON(t, base+"metrics/query?name=istio_request_duration_milliseconds_bucket&quantile=0.99&group_by=destination_service&from=now-2m&step=10s", &chart)
	require.Equal(t, "quantile", chart.Value)
	require.NotEmpty(t, chart.Series)
	for _, l := range chart.Series {
		require.NotContains(t, l.Labels, "le")
		for _, p := range l.Points {
			require.Positive(t, p[1], "p99 of %v", l.Labels)
		}
	}

	// The failed requests' exceptions, grouped, each leading to a stored
	// trace; recorded on spans, and logged by the Java and Python services.
	var exc struct {
		Exceptions []struct {
			Service, Type, Source, Message, Stacktrace string
			Count                                      int
			TraceID                                    string `json:"trace_id"`
		}
	}
	getJSON(t, base+"exceptions?from=now-5m", &exc)
	require.NotEmpty(t, exc.Exceptions)
	sources := map[string]bool{}
	for _, e := range exc.Exceptions {
		sources[e.Source] = true
	}
	require.Equal(t, map[string]bool{"span": true, "log": true}, sources)
	for _, e := range exc.Exceptions[:min(3, len(exc.Exceptions))] {
		require.NotEmpty(t, e.Type)
		require.NotEmpty(t, e.Stacktrace)
		require.Positive(t, e.Count)
		var tr struct{ Spans []struct{ Service string } }
		getJSON(t, base+"traces/"+e.TraceID, &tr)
		require.NotEmpty(t, tr.Spans, "the trace of %s in %s", e.Type, e.Service)
	}

	// The SDKs' histograms, sent by OTLP: explicit buckets (HTTP services)
	// and exponential (gRPC services), listed and charted as p99 per
	// service.
	for _, h := range []struct{ name, typ string }{
		{"http.server.request.duration", "histogram"}, {"rpc.server.duration", "exponential_histogram"},
	} {
		getJSON(t, base+"metrics?q="+h.name, &metrics)
		require.NotEmpty(t, metrics.Metrics, h.name)
		require.Equal(t, h.name, metrics.Metrics[0].Name)
		require.Equal(t, h.typ, metrics.Metrics[0].Type)
		getJSON(t, base+"metrics/query?name="+h.name+"&quantile=0.99&group_by=service.name&from=now-2m&step=10s", &chart)
		require.Equal(t, "quantile", chart.Value)
		require.NotEmpty(t, chart.Series, h.name)
		for _, l := range chart.Series {
			require.NotEmpty(t, l.Labels["service.name"])
			for _, p := range l.Points {
				require.Positive(t, p[1], "%s p99 of %v", h.name, l.Labels)
			}
		}
	}

	// PromQL over the same metrics, as Grafana's Prometheus data source
	// asks it.
	var prom struct {
		Status string
		Data   struct {
			ResultType string
			Result     []struct {
				Metric map[string]string
				Value  [2]any
			}
		}
	}
	getJSON(t, "http://"+srv.httpAddr+"/prometheus/api/v1/query?query="+url.QueryEscape("sum by (destination_service) (rate(istio_requests_total[1m]))"), &prom)
	require.Equal(t, "success", prom.Status)
	require.Equal(t, "vector", prom.Data.ResultType)
	require.NotEmpty(t, prom.Data.Result)
	total := 0.0
	for _, r := range prom.Data.Result {
		require.NotEmpty(t, r.Metric["destination_service"])
		v, err := strconv.ParseFloat(r.Value[1].(string), 64)
		require.NoError(t, err)
		total += v
	}
	require.Positive(t, total)
	// and over the SDKs' histograms, classic and native, under Prometheus'
	// names for them: by service (job), by server called.
	for _, q := range []struct{ query, by string }{
		{`histogram_quantile(0.99, sum by (le, job) (rate(http_server_request_duration_seconds_bucket[1m])))`, "job"},
		{`histogram_quantile(0.99, sum by (job) (rate(rpc_server_duration_milliseconds[1m])))`, "job"},
		{`histogram_quantile(0.99, sum by (le, server_address) (rate(http_client_request_duration_seconds_bucket[1m])))`, "server_address"},
	} {
		getJSON(t, "http://"+srv.httpAddr+"/prometheus/api/v1/query?query="+url.QueryEscape(q.query), &prom)
		require.Equal(t, "success", prom.Status, q)
		require.NotEmpty(t, prom.Data.Result, q)
		for _, r := range prom.Data.Result {
			require.NotEmpty(t, r.Metric[q.by], q)
			v, err := strconv.ParseFloat(r.Value[1].(string), 64)
			require.NoError(t, err)
			require.Positive(t, v, "%s: %v", q, r.Metric)
		}
	}

	// The Grafana dashboard's queries (deploy/grafana) answer, with data.
	raw, err := os.ReadFile(filepath.Join("..", "..", "deploy", "grafana", "dashboards", "meshscope-mesh.json"))
	require.NoError(t, err)
	var dash struct {
		Templating struct {
			List []struct{ Name, Definition string }
		}
		Panels []struct {
			Title   string
			Targets []struct {
				Datasource struct{ Type string }
				Expr       string
			}
		}
	}
	require.NoError(t, json.Unmarshal(raw, &dash))
	expand := strings.NewReplacer("$__rate_interval", "1m", "$service", ".*")
	type answer struct {
		Status string
		Data   struct{ Result []any }
	}
	root := "http://" + srv.httpAddr
	for _, v := range dash.Templating.List {
		m := regexp.MustCompile(`^label_values\((\w+), (\w+)\)$`).FindStringSubmatch(v.Definition)
		require.NotNil(t, m, v.Definition)
		var values struct{ Data []string }
		getJSON(t, root+"/prometheus/api/v1/label/"+m[2]+"/values?match[]="+m[1], &values)
		require.NotEmpty(t, values.Data, "variable %s", v.Name)
	}
	for _, p := range dash.Panels {
		for _, tg := range p.Targets {
			var a answer
			switch tg.Datasource.Type {
			case "prometheus":
				getJSON(t, root+"/prometheus/api/v1/query?query="+url.QueryEscape(expand.Replace(tg.Expr)), &a)
			case "loki":
				getJSON(t, root+"/loki/api/v1/query_range?since=1h&query="+url.QueryEscape(expand.Replace(tg.Expr)), &a)
			case "jaeger":
				var deps struct{ Data []any }
				getJSON(t, root+"/jaeger/api/dependencies", &deps)
				a.Status, a.Data.Result = "success", deps.Data
			default:
				t.Fatalf("panel %q: data source %q", p.Title, tg.Datasource.Type)
			}
			require.Equal(t, "success", a.Status, p.Title)
			require.NotEmpty(t, a.Data.Result, "panel %q: %s", p.Title, tg.Expr)
		}
	}
}

// getJSON decodes the 200 answer of url into v.
func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 2048))
		t.Fatalf("%s: %s: %s", url, resp.Status, body)
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(v))
}
