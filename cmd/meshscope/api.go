package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/pprof"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/meshscope/meshscope/graph"
	"github.com/meshscope/meshscope/query"
	"github.com/meshscope/meshscope/query/auth"
	"github.com/meshscope/meshscope/ui"
)

// api assembles the HTTP listener: health and metrics, receivers that speak
// HTTP, the query API (started once ClickHouse is ready) and the UI.
type api struct {
	o      serveOptions
	tokens []string
	authz  *auth.Authorizer
	stores *storeHolder
	live   graph.Live
	reg    *prometheus.Registry
	log    *slog.Logger
	mux    *http.ServeMux
	query  atomic.Pointer[query.Server]
}

func newAPI(o serveOptions, tokens []string, authz *auth.Authorizer, stores *storeHolder, live graph.Live, reg *prometheus.Registry, log *slog.Logger) *api {
	a := &api{o: o, tokens: tokens, authz: authz, stores: stores, live: live, reg: reg, log: log, mux: http.NewServeMux()}
	a.mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	a.mux.HandleFunc("/readyz", a.readyz)
	a.mux.Handle("/metrics", authz.Middleware(promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg})))
	if o.pprof {
		a.mux.Handle("/debug/pprof/", authz.Middleware(http.HandlerFunc(pprof.Index)))
		a.mux.Handle("/debug/pprof/profile", authz.Middleware(http.HandlerFunc(pprof.Profile)))
		a.mux.Handle("/debug/pprof/symbol", authz.Middleware(http.HandlerFunc(pprof.Symbol)))
	}
	a.mux.Handle("/api/", http.HandlerFunc(a.serveQuery))
	a.mux.Handle("/jaeger/", http.HandlerFunc(a.serveQuery))     // Jaeger's query API, for Grafana
	a.mux.Handle("/prometheus/", http.HandlerFunc(a.serveQuery)) // Prometheus' query API, for Grafana
	a.mux.Handle("/loki/", http.HandlerFunc(a.serveQuery))       // Loki's query API, for Grafana
	a.mux.Handle("/tempo/", http.HandlerFunc(a.serveQuery))      // Tempo's query API, for Grafana
	a.mux.Handle("/", ui.Handler())
	return a
}

// mount adds a handler that needs a token when tokens are configured.
func (a *api) mount(pattern string, h http.Handler) { a.mux.Handle(pattern, a.authz.Middleware(h)) }

func (a *api) handler() http.Handler { return a.mux }

func (a *api) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := a.stores.readyCheck(ctx); err != nil {
		http.Error(w, "not ready: "+err.Error(), http.StatusServiceUnavailable)
		return
	}
	fmt.Fprintln(w, "ready")
}

// serveQuery hands /api/, /jaeger/, /prometheus/, /loki/ and /tempo/ to
// the query server, or answers 503 until ClickHouse is ready (under
// /jaeger/, /prometheus/, /loki/ and /tempo/ as those APIs answer errors).
func (a *api) serveQuery(w http.ResponseWriter, r *http.Request) {
	if q := a.query.Load(); q != nil {
		q.Handler().ServeHTTP(w, r)
		return
	}
	const msg = "starting: ClickHouse is not connected yet"
	w.Header().Set("Retry-After", "2")
	if strings.HasPrefix(r.URL.Path, "/loki/") || strings.HasPrefix(r.URL.Path, "/tempo/") {
		http.Error(w, msg, http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusServiceUnavailable)
	if strings.HasPrefix(r.URL.Path, "/prometheus/") {
		_ = json.NewEncoder(w).Encode(map[string]any{"status": "error", "errorType": "unavailable", "error": msg})
		return
	}
	if strings.HasPrefix(r.URL.Path, "/jaeger/") {
		_ = json.NewEncoder(w).Encode(map[string]any{"data": nil, "errors": []map[string]any{{"code": http.StatusServiceUnavailable, "msg": msg}}})
		return
	}
	_ = json.NewEncoder(w).Encode(map[string]string{"error": msg})
}

// startWhenReady builds the query server once ClickHouse answers.
func (a *api) startWhenReady(ctx context.Context) {
	select {
	case <-ctx.Done():
		return
	case <-a.stores.ready:
	}
	var origins []string
	for _, o := range strings.Split(a.o.allowedOrigins, ",") {
		if o = strings.TrimSpace(o); o != "" {
			origins = append(origins, o)
		}
	}
	cfg := query.Config{Tokens: a.tokens}
	cfg.Stream.AllowedOrigins = origins
	srv, err := query.NewServer(cfg, query.Deps{
		Live:        a.live,
		History:     a.stores,
		Series:      a.stores,
		Deployments: a.stores,
		Diff: func(cur, base *graph.Graph) *graph.GraphDiff {
			return graph.Diff(cur, base, graph.DiffThresholds{})
		},
		Analyze:    graph.Analyze,
		Store:      a.stores.get(),
		Registerer: a.reg,
		Logger:     a.log,
	})
	if err != nil {
		a.log.Error("query API failed to start", "err", err)
		return
	}
	a.query.Store(srv)
}

func (a *api) close() {
	if q := a.query.Load(); q != nil {
		q.Close()
	}
}
