// Package query is meshscope's read side over HTTP: the REST API under
// /api/v1 (live and historical graphs, diffs, analytics, services, edges,
// traces, requests), the live graph websocket stream, ad hoc SQL and the
// OpenAPI description, with optional bearer-token authentication, on one echo
// instance that cmd/ also mounts the UI, health and ingest endpoints on. The
// contract is docs/api.md and docs/websocket.md. query must never be
// imported by ingest/ or graph/.
package query

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/promql"

	"github.com/meshscope/meshscope/graph"
	"github.com/meshscope/meshscope/query/auth"
	"github.com/meshscope/meshscope/query/promstore"
	"github.com/meshscope/meshscope/query/stream"
	"github.com/meshscope/meshscope/schema/chstore"
)

// Deps are the parts of meshscope the server reads from. Any may be nil: the
// endpoints that need a missing one answer 503.
type Deps struct {
	// Live is the live graph (graph.Builder): /graph without a range, the
	// stream, and the current nodes of /services.
	Live graph.Live
	// History answers graphs of past ranges from the edges_* tables.
	History graph.History
	// Series answers the RED series of /services/{ns}/{name} and /edges.
	Series graph.SeriesReader
	// Deployments lists the versions deployed within a range (/deployments).
	Deployments graph.DeploymentReader
	// Diff compares a graph with a baseline (graph.Diff with the server's
	// thresholds).
	Diff func(cur, base *graph.Graph) *graph.GraphDiff
	// Analyze runs a topology analysis (graph.Analyze).
	Analyze func(kind string, g *graph.Graph, p graph.AnalyticsParams) (any, error)
	// Store is ClickHouse: traces, requests, errors by code, and ad hoc SQL.
	Store *chstore.Store
	// Registerer receives the server's metrics; nil registers nothing.
	Registerer prometheus.Registerer
	// Logger; nil discards.
	Logger *slog.Logger
	// Now is the clock for relative times; nil is time.Now.
	Now func() time.Time
}

// Server is the API. Its echo instance is shared: cmd/ mounts the UI,
// /metrics, /healthz, /readyz and the ingest endpoints on it with Mount,
// MountPublic or Echo directly. Routes added through Echo directly need a
// token like every other route when tokens are configured.
type Server struct {
	cfg     Config
	deps    Deps
	e       *echo.Echo
	auth    *auth.Authorizer
	hub     *stream.Hub
	log     *slog.Logger
	now     func() time.Time
	metrics *metrics
	// public holds the route paths served without a token.
	public map[string]bool
	// summariesSince is when trace_summaries started to hold every span, in
	// Unix seconds; 0 until read; summariesRead is when it was read, in
	// Unix nanoseconds (traceSummariesSince).
	summariesSince, summariesRead atomic.Int64
	// exceptionsFromSources makes the exceptions list read the spans and
	// logs even where the exceptions table covers the range (a benchmark
	// compares the two).
	exceptionsFromSources atomic.Bool
	// promEngine evaluates PromQL for the Prometheus API; promSlots bounds
	// how many queries it runs at once.
	promEngine *promql.Engine
	promSlots  chan struct{}
	// promStore reads the metrics for it, made on first use.
	promStore     *promstore.Queryable
	promStoreOnce sync.Once
}

// API paths that the server treats specially.
const (
	streamPath  = "/api/v1/graph/stream"
	openAPIPath = "/api/v1/openapi.yaml"
)

// NewServer builds the API on a new echo instance. It validates cfg (after
// WithDefaults) and starts the websocket hub when deps.Live is set; Close
// stops it.
func NewServer(cfg Config, deps Deps) (*Server, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}
	m, err := newMetrics(deps.Registerer)
	if err != nil {
		return nil, err
	}
	s := &Server{
		cfg: cfg, deps: deps, e: echo.New(), auth: auth.New(cfg.Tokens),
		log: deps.Logger, now: deps.Now, metrics: m,
		public: map[string]bool{"/healthz": true, "/readyz": true, openAPIPath: true},
	}
	if deps.Live != nil {
		if s.hub, err = stream.New(cfg.Stream, deps.Live, deps.Registerer, deps.Logger); err != nil {
			return nil, err
		}
	}
	if deps.Store != nil && deps.Registerer != nil {
		if err := deps.Registerer.Register(newStorageCollector(deps.Store)); err != nil {
			return nil, err
		}
	}
	s.promEngine, s.promSlots = newPromEngine(s.cfg, deps), make(chan struct{}, promConcurrency)
	s.e.HideBanner, s.e.HidePort = true, true
	s.e.HTTPErrorHandler = s.handleError
	s.e.Use(s.recoverPanics, s.observe, s.authenticate)
	s.routes()
	return s, nil
}

func (s *Server) routes() {
	api := s.e.Group("/api/v1")
	api.GET("/graph", s.getGraph)
	api.GET("/graph/diff", s.getGraphDiff)
	api.GET("/graph/analytics/:kind", s.getAnalytics)
	api.GET("/graph/stream", s.getStream)
	api.GET("/services", s.getServices)
	api.GET("/services/:namespace/:name", s.getService)
	api.GET("/services/:namespace/:name/instances", s.getInstances)
	api.GET("/deployments", s.getDeployments)
	api.GET("/edges", s.getEdge)
	api.GET("/traces", s.searchTraces)
	api.GET("/traces/operations", s.traceOperations)
	api.GET("/spans/differences", s.getSpanDifferences)
	api.GET("/requests/differences", s.getRequestDifferences)
	api.GET("/logs/differences", s.getLogDifferences)
	api.GET("/traces/:traceId", s.getTrace)
	api.GET("/requests", s.getRequests)
	api.GET("/requests/volume", s.requestVolume)
	api.GET("/logs", s.searchLogs)
	api.GET("/logs/volume", s.logVolume)
	api.GET("/logs/patterns", s.logPatterns)
	api.GET("/exceptions", s.listExceptions)
	api.GET("/exceptions/new", s.listNewExceptions)
	api.GET("/exceptions/occurrences", s.listExceptionOccurrences)
	api.GET("/metrics", s.listMetrics)
	api.GET("/metrics/query", s.queryMetric)
	api.POST("/sql", s.postSQL)
	api.GET("/sql/tables", s.getSQLTables)
	api.GET("/storage", s.getStorage)
	api.GET("/openapi.yaml", s.getOpenAPI)
	s.jaegerRoutes()
	s.promRoutes()
	s.lokiRoutes()
	s.tempoRoutes()
}

// Echo is the server's echo instance.
func (s *Server) Echo() *echo.Echo { return s.e }

// Handler is the server as an http.Handler.
func (s *Server) Handler() http.Handler { return s.e }

// Authorizer is the server's token check, for other listeners (gRPC
// interceptors, other HTTP servers) to share.
func (s *Server) Authorizer() *auth.Authorizer { return s.auth }

// Mount adds a route that needs a token when tokens are configured.
// method "" matches every method; path uses echo's syntax (/api/v1/write,
// /v1/*). Mount routes before serving: routes are not safe to add while
// requests are served.
func (s *Server) Mount(method, path string, h http.Handler) {
	if method == "" {
		s.e.Any(path, echo.WrapHandler(h))
		return
	}
	s.e.Add(method, path, echo.WrapHandler(h))
}

// MountPublic adds a route served without a token: health checks and the
// UI's static files (the UI asks for a token before calling the API). Like
// Mount, call it before serving.
func (s *Server) MountPublic(method, path string, h http.Handler) {
	s.public[path] = true
	s.Mount(method, path, h)
}

// Close ends the websocket stream (clients get close status 1001). It does
// not stop the HTTP listener, which belongs to the caller.
func (s *Server) Close() error {
	if s.hub != nil {
		return s.hub.Close()
	}
	return nil
}

// recoverPanics turns a panic in a handler into a 500 and a log line.
func (s *Server) recoverPanics(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) (err error) {
		defer func() {
			if r := recover(); r != nil {
				if r == http.ErrAbortHandler {
					panic(r)
				}
				s.log.Error("api handler panicked", "path", c.Request().URL.Path, "panic", r, "stack", string(debug.Stack()))
				err = fmt.Errorf("handler panicked: %v", r)
			}
		}()
		return next(c)
	}
}

// authenticate requires a token on every route but the public ones; the
// stream also accepts ?token=.
func (s *Server) authenticate(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if !s.auth.Enabled() || s.public[c.Path()] {
			return next(c)
		}
		if !s.auth.Request(c.Request(), c.Path() == streamPath) {
			s.metrics.unauthorized.Inc()
			c.Response().Header().Set("WWW-Authenticate", `Bearer realm="meshscope"`)
			return &apiError{Status: http.StatusUnauthorized, Message: auth.ErrUnauthorized.Error(), Field: "Authorization"}
		}
		return next(c)
	}
}

// observe records each request's duration by route (not the stream's, whose
// connections last as long as the client stays).
func (s *Server) observe(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if c.Path() == streamPath {
			return next(c)
		}
		start := time.Now()
		err := next(c)
		route := c.Path()
		if route == "" {
			route = "unmatched"
		}
		status := c.Response().Status
		var ae *apiError
		var he *echo.HTTPError
		switch {
		case errors.As(err, &ae):
			status = ae.Status
		case errors.As(err, &he):
			status = he.Code
		case err != nil:
			status = http.StatusInternalServerError
		}
		s.metrics.requests.WithLabelValues(c.Request().Method, route, strconv.Itoa(status)).Observe(time.Since(start).Seconds())
		return err
	}
}

type metrics struct {
	requests     *prometheus.HistogramVec
	unauthorized prometheus.Counter
	sql          *prometheus.CounterVec
	traceSearch  *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		requests: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "meshscope_http_request_duration_seconds",
			Help:    "Duration of HTTP API requests, by method, route and status.",
			Buckets: prometheus.ExponentialBuckets(0.001, 4, 8),
		}, []string{"method", "route", "status"}),
		unauthorized: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "meshscope_http_unauthorized_total", Help: "HTTP requests refused for a missing or invalid bearer token.",
		}),
		sql: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "meshscope_sql_queries_total", Help: "Ad hoc SQL queries, by outcome (ok, refused, rejected by ClickHouse, failed).",
		}, []string{"outcome"}),
		traceSearch: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "meshscope_trace_searches_total",
			Help: "Trace searches, by the table they summarised: trace_summaries, or spans for ranges starting before the summaries do.",
		}, []string{"table"}),
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{m.requests, m.unauthorized, m.sql, m.traceSearch} {
			if err := reg.Register(c); err != nil {
				return nil, err
			}
		}
	}
	return m, nil
}
