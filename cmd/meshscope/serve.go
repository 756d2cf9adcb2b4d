package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime/debug"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"golang.org/x/sync/errgroup"
	"google.golang.org/grpc"

	"github.com/meshscope/meshscope/graph"
	"github.com/meshscope/meshscope/ingest"
	"github.com/meshscope/meshscope/ingest/demo"
	"github.com/meshscope/meshscope/ingest/envoy"
	"github.com/meshscope/meshscope/ingest/envoy/als"
	"github.com/meshscope/meshscope/ingest/envoy/lines"
	"github.com/meshscope/meshscope/ingest/envoy/otelals"
	"github.com/meshscope/meshscope/ingest/meshmetrics"
	"github.com/meshscope/meshscope/ingest/otlp"
	"github.com/meshscope/meshscope/ingest/pipeline"
	"github.com/meshscope/meshscope/ingest/promrw"
	"github.com/meshscope/meshscope/ingest/scrape"
	"github.com/meshscope/meshscope/ingest/wal"
	"github.com/meshscope/meshscope/query/auth"
	"github.com/meshscope/meshscope/schema"
	"github.com/meshscope/meshscope/schema/chstore"
	"github.com/meshscope/meshscope/slo"
)

func runServe(ctx context.Context, args []string) error {
	var o serveOptions
	fs := newFlagSet("serve", "Run meshscope: receivers, write-ahead log, ClickHouse, graph, API and UI.")
	o.register(fs)
	if err := parseOptions(fs, args); err != nil {
		return err
	}
	if err := o.validate(); err != nil {
		return err
	}
	log := newLogger(o.logLevel, o.logFormat)
	slog.SetDefault(log)
	return serve(ctx, o, log)
}

// serve runs until ctx is done. Shutdown order: stop the listeners, flush
// what the write-ahead log holds, close it, then stop ClickHouse.
func serve(ctx context.Context, o serveOptions, log *slog.Logger) error {
	log.Info("starting meshscope", "version", versionString(), "data_dir", o.dataDir)
	tuneGC(log)
	if err := os.MkdirAll(o.dataDir, 0o755); err != nil {
		return fmt.Errorf("create data dir: %w", err)
	}
	var tokens []string
	if o.authTokenFile != "" {
		var err error
		if tokens, err = auth.LoadTokenFile(o.authTokenFile); err != nil {
			return fmt.Errorf("--auth-token-file: %w", err)
		}
	}
	authz := auth.New(tokens)
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	dsn, managed, err := clickhouseDSN(ctx, o.clickhouse, o.dataDir, log)
	if err != nil {
		return err
	}
	httpURL := o.clickhouseHTTP
	if managed != nil {
		defer managed.Stop()
		httpURL = managed.HTTPURL()
	}
	w, err := wal.Open(filepath.Join(o.dataDir, "wal"), wal.Options{
		MaxBytes: int64(o.walMaxBytes), NoSync: o.walNoSync, Compression: o.walCompression, Logger: log, Registerer: reg,
	})
	if err != nil {
		return err
	}
	defer w.Close()

	stores := newStoreHolder()
	maxPending := o.spanMaxPending
	if maxPending == 0 {
		maxPending = spanStoreSize(debug.SetMemoryLimit(-1))
		log.Info("span store", "max_pending_spans", maxPending)
	}
	builderCfg := graph.BuilderConfig{
		Window: o.window, Tick: o.tick, SpanWait: o.spanWait, MaxPendingSpans: maxPending,
		FlushDelay: o.edgeFlushDelay, MaxEdges: o.maxLiveEdges,
		ProvenancePreference: mustProvenanceList(o.provenancePref),
		Writer:               stores, Registerer: reg, Logger: log,
	}.WithDefaults()
	if o.graphSnapshots {
		builderCfg.SnapshotPath = filepath.Join(o.dataDir, "graph-snapshot")
	}
	if err := builderCfg.Validate(); err != nil {
		return err
	}
	stores.edgeConfig.Health = builderCfg.Health
	stores.edgeConfig.ProvenancePreference = builderCfg.ProvenancePreference
	builderStart := time.Now()
	builder := graph.NewBuilder(builderCfg)
	// The buckets a crash left unwritten, before any input.
	if cells, err := builder.Restore(); err != nil {
		log.Error("graph snapshot not restored; the buckets it held are missing from the history", "err", err)
	} else if cells > 0 {
		log.Info("restored the live graph's unwritten buckets from before a crash", "edge_seconds", cells)
	}

	pipe := pipeline.New(w, stores, builder, pipeline.Config{
		FlushRows: o.flushRows, FlushInterval: o.flushInterval,
		DeadLetterDir: filepath.Join(o.dataDir, "dead-letter"), Logger: log, Registerer: reg,
	})
	metrics := ingest.NewMetrics(reg)
	// One resolver for every access log input, so that the two sidecars'
	// entries of one request meet wherever each arrives.
	accessLogWait := o.accessLogWait
	if accessLogWait == 0 {
		// A held entry released after its bucket was flushed would be
		// dropped as late.
		accessLogWait = min(5*time.Second, o.edgeFlushDelay)
	}
	resolver, err := envoy.NewResolver(envoy.Config{Registerer: reg, Wait: accessLogWait})
	if err != nil {
		return err
	}
	otelAccessLogs, err := otelals.New(resolver, otelals.Config{})
	if err != nil {
		return err
	}
	// One deriver for every metrics input: remote_write, scraping, OTLP.
	deriver, err := meshmetrics.New(meshmetrics.Config{})
	if err != nil {
		return err
	}
	var scrapeCfg *scrape.Config
	if o.scrapeConfig != "" {
		b, err := os.ReadFile(o.scrapeConfig)
		if err != nil {
			return fmt.Errorf("--scrape-config: %w", err)
		}
		cfg, err := scrape.ParseConfig(b)
		if err != nil {
			return fmt.Errorf("--scrape-config %s: %w", o.scrapeConfig, err)
		}
		scrapeCfg = &cfg
	}
	if err := otlp.PoolDecoding(o.otlpPooling); err != nil {
		return fmt.Errorf("--otlp-pooling: %w", err)
	}
	conv := otlp.NewConverter(1_000_000)
	conv.AccessLog = otelAccessLogs.AccessLog
	conv.Metrics = func(series []schema.MetricSeriesRow, samples []schema.MetricSampleRow) []graph.Observation {
		return deriver.Derive(series, samples, nil)
	}
	receiver := otlp.NewReceiver(conv, pipe, metrics, otlp.Config{
		MaxRequestBytes: int64(o.maxRequestBytes), Logger: log,
	})

	grpcServer := grpc.NewServer(otlp.ServerOption(), grpc.MaxRecvMsgSize(int(o.maxRequestBytes)),
		grpc.ChainUnaryInterceptor(authz.UnaryServerInterceptor()), grpc.ChainStreamInterceptor(authz.StreamServerInterceptor()))
	receiver.RegisterGRPC(grpcServer)
	als.NewService(resolver, pipe, metrics, als.Config{Logger: log}).Register(grpcServer)

	var live graph.Live = builder
	var follower *graph.HistoryFollower
	if o.liveFromCH {
		fcfg := graph.FollowConfig{Window: o.window, Poll: o.livePoll, Lag: o.edgeFlushDelay + 10*time.Second, Logger: log}.WithDefaults()
		if err := fcfg.Validate(); err != nil {
			return err
		}
		follower = graph.LiveFromHistory(stores, fcfg)
		live = follower
	}
	api := newAPI(o, tokens, authz, stores, live, reg, log)
	sloRoutes := []string{"/api/v1/slos", "/api/v1/slos/", "/api/v1/alerts", "/api/v1/rules", "/prometheus/api/v1/rules", "/prometheus/api/v1/alerts"}
	forward, err := sloForwarder(o, log)
	if err != nil {
		return err
	}
	var sloEngine *slo.Engine
	if forward != nil {
		for _, route := range sloRoutes {
			api.mount(route, forward)
		}
	} else {
		if sloEngine, err = newSLOEngine(o, stores, api, reg, log); err != nil {
			return err
		}
		for _, route := range sloRoutes {
			api.mount(route, sloEngine.Handler())
		}
	}
	api.mount("/api/v1/write", promrw.NewHandler(promrw.Config{MaxRequestBytes: int64(o.maxRequestBytes)}, pipe, deriver, metrics, log))
	api.mount(lines.Path, lines.NewHandler(resolver, pipe, metrics, lines.Config{MaxBodyBytes: int64(o.maxRequestBytes), Logger: log}))
	httpHandler := api.handler()

	listeners, err := listenAll(map[string]string{"http": o.httpAddr, "otlp-grpc": o.otlpGRPCAddr, "otlp-http": o.otlpHTTPAddr})
	if err != nil {
		return err
	}
	for name, l := range listeners {
		if listeners[name], err = wrapTLS(name, l, o.tls[name]); err != nil {
			for _, l := range listeners {
				l.Close()
			}
			return err
		}
	}
	warnIfExposed(log, listeners, authz.Enabled())
	httpServer := &http.Server{Handler: httpHandler, ReadHeaderTimeout: 10 * time.Second}
	otlpHTTPServer := &http.Server{Handler: authz.Middleware(receiver.HTTPHandler()), ReadHeaderTimeout: 10 * time.Second}

	runCtx, cancelRun := context.WithCancel(context.Background())
	defer cancelRun()
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return ignoreClosed(httpServer.Serve(listeners["http"])) })
	g.Go(func() error { return ignoreClosed(otlpHTTPServer.Serve(listeners["otlp-http"])) })
	g.Go(func() error { return grpcServer.Serve(listeners["otlp-grpc"]) })
	flushDone := make(chan error, 1)
	go func() { flushDone <- pipe.Run(runCtx) }()
	resolverDone := make(chan error, 1)
	go func() { resolverDone <- resolver.Run(runCtx, pipe) }()
	// Mesh metric groups left waiting when samples stop are emitted anyway.
	go deriver.Run(runCtx, time.Second, pipe)
	if scrapeCfg != nil {
		go func() {
			if err := scrape.Run(runCtx, *scrapeCfg, pipe, deriver, metrics, log); err != nil && runCtx.Err() == nil {
				log.Error("scraper stopped", "err", err)
			}
		}()
	}
	if o.demo {
		cfg := demo.DefaultConfig()
		cfg.ServerHTTP = "http://" + listeners["http"].Addr().String()
		cfg.ServerGRPC = listeners["otlp-grpc"].Addr().String()
		if cfg.HTTPTLS, err = ownListenerTLS(o.tls["http"]); err != nil {
			return err
		}
		if cfg.HTTPTLS != nil {
			cfg.ServerHTTP = "https://" + listeners["http"].Addr().String()
		}
		if cfg.GRPCTLS, err = ownListenerTLS(o.tls["otlp-grpc"]); err != nil {
			return err
		}
		cfg.Services, cfg.Rate, cfg.Scenario, cfg.Logger = o.demoServices, o.demoRate, o.demoScenario, log.With("component", "demo")
		if sloEngine != nil && o.sloPath == "" {
			if err := defineDemoSLOs(sloEngine, cfg, cfg.Logger); err != nil {
				return err
			}
		}
		if len(tokens) > 0 {
			cfg.Token = tokens[0]
		}
		g.Go(func() error {
			if err := demo.Run(gctx, cfg); err != nil && gctx.Err() == nil {
				return fmt.Errorf("demo: %w", err)
			}
			return nil
		})
	}
	if sloEngine != nil {
		go func() {
			if err := sloEngine.Run(runCtx); err != nil && runCtx.Err() == nil {
				log.Error("slo engine stopped", "err", err)
			}
		}()
	}
	if follower != nil {
		go func() {
			if err := follower.Run(runCtx); err != nil && runCtx.Err() == nil {
				log.Error("live follower stopped", "err", err)
			}
		}()
	}
	builderDone := make(chan error, 1)
	go func() { builderDone <- builder.Run(runCtx) }()
	if follower == nil {
		go stores.warmLiveGraph(runCtx, builder, o.window, builderStart, log)
	}
	go stores.connect(runCtx, chstore.Config{DSN: dsn, HTTPURL: httpURL, Cluster: o.clickhouseCluster, Logger: log}, log)
	go api.startWhenReady(runCtx)
	go retentionLoop(runCtx, stores, time.Duration(o.retention), log)
	log.Info("listening",
		"ui", "http://"+listeners["http"].Addr().String()+"/",
		"otlp_grpc", listeners["otlp-grpc"].Addr().String(),
		"otlp_http", "http://"+listeners["otlp-http"].Addr().String())

	<-gctx.Done()
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	grpcStopped := make(chan struct{})
	go func() { grpcServer.GracefulStop(); close(grpcStopped) }()
	api.close()
	_ = httpServer.Shutdown(sctx)
	_ = otlpHTTPServer.Shutdown(sctx)
	select {
	case <-grpcStopped:
	case <-sctx.Done():
		grpcServer.Stop()
	}
	serveErr := g.Wait()
	cancelRun()
	<-resolverDone
	if err := <-flushDone; err != nil {
		log.Warn("flusher stopped with error", "err", err)
	}
	if err := <-builderDone; err != nil && !errors.Is(err, context.Canceled) {
		log.Warn("graph builder stopped with error", "err", err)
	}
	if st := stores.get(); st != nil {
		st.Close()
	}
	if ctx.Err() != nil {
		return nil // asked to stop
	}
	return serveErr
}

func ignoreClosed(err error) error {
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// listenAll opens every listener or none.
func listenAll(addrs map[string]string) (map[string]net.Listener, error) {
	out := map[string]net.Listener{}
	for name, addr := range addrs {
		l, err := net.Listen("tcp", addr)
		if err != nil {
			for _, o := range out {
				o.Close()
			}
			return nil, fmt.Errorf("listen --%s-addr %s: %w", name, addr, err)
		}
		out[name] = l
	}
	return out, nil
}

func warnIfExposed(log *slog.Logger, ls map[string]net.Listener, authEnabled bool) {
	exposed := false
	for name, l := range ls {
		host, _, _ := net.SplitHostPort(l.Addr().String())
		if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
			exposed = true
			if !authEnabled {
				log.Warn("listener is reachable from other machines without authentication; protect it with --auth-token-file", "listener", name, "addr", l.Addr().String())
			}
		}
	}
	if !authEnabled && !exposed {
		log.Info("no --auth-token-file: listening on loopback only, without authentication")
	}
	if authEnabled {
		log.Info("bearer tokens required on every listener")
	}
}

func retentionLoop(ctx context.Context, stores *storeHolder, keep time.Duration, log *slog.Logger) {
	select {
	case <-ctx.Done():
		return
	case <-stores.ready:
	}
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		if _, err := stores.get().DropExpired(ctx, keep, time.Now()); err != nil && ctx.Err() == nil {
			log.Warn("retention failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// mustProvenanceList parses --provenance-preference, which validate checked.
func mustProvenanceList(s string) []graph.Provenance {
	out, _ := graph.ParseProvenanceList(s)
	return out
}
