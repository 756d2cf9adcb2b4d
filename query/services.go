package query

import (
	"cmp"
	"context"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/meshscope/meshscope/graph"
	"github.com/meshscope/meshscope/query/nsfilter"
	"github.com/meshscope/meshscope/schema"
)

// serviceSummary is one entry of GET /api/v1/services.
type serviceSummary struct {
	ID          string  `json:"id"`
	Namespace   string  `json:"namespace"`
	Name        string  `json:"name"`
	Cluster     string  `json:"cluster"`
	RPSIn       float64 `json:"rps_in"`
	ErrorRateIn float64 `json:"error_rate_in"`
	// P99Ms is the highest p99 of the service's inbound edges (quantiles of
	// different edges cannot be merged exactly).
	P99Ms       float64 `json:"p99_ms"`
	Health      string  `json:"health"`
	RequestsIn  uint64  `json:"requests_in"`
	ErrorsIn    uint64  `json:"errors_in"`
	RPSOut      float64 `json:"rps_out"`
	RequestsOut uint64  `json:"requests_out"`
	ErrorsOut   uint64  `json:"errors_out"`
}

// GET /api/v1/services
func (s *Server) getServices(c echo.Context) error {
	set := namespacesParam(c)
	var (
		g   *graph.Graph
		err error
	)
	from, to, ok, err := s.timeRange(c, "from", "to")
	if err != nil {
		return err
	}
	if ok {
		g, err = s.rangeGraph(c.Request().Context(), from, to, graph.GranularityService, set)
	} else {
		g, err = s.liveGraph(graph.GranularityService, set)
	}
	if err != nil {
		return err
	}
	p99 := map[string]float64{}
	for _, e := range g.Edges {
		p99[e.Target] = max(p99[e.Target], e.P99Ms)
	}
	out := []serviceSummary{}
	for _, n := range g.Nodes {
		if n.Kind != graph.KindService || !set.Has(n.Namespace) {
			continue
		}
		out = append(out, serviceSummary{
			ID: n.ID, Namespace: n.Namespace, Name: n.Name, Cluster: n.Cluster,
			RPSIn: n.RPSIn, ErrorRateIn: n.ErrorRateIn, P99Ms: p99[n.ID], Health: n.Health,
			RequestsIn: n.RequestsIn, ErrorsIn: n.ErrorsIn, RPSOut: n.RPSOut, RequestsOut: n.RequestsOut, ErrorsOut: n.ErrorsOut,
		})
	}
	slices.SortFunc(out, func(a, b serviceSummary) int {
		return cmp.Or(cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Name, b.Name))
	})
	return c.JSON(http.StatusOK, map[string]any{"services": out})
}

// serviceDetail is GET /api/v1/services/{namespace}/{name}.
type serviceDetail struct {
	Node    graph.Node    `json:"node"`
	Series  *graph.Series `json:"series"`
	From    time.Time     `json:"from"`
	To      time.Time     `json:"to"`
	Step    float64       `json:"step_seconds"`
	Callers []graph.Edge  `json:"callers"`
	Callees []graph.Edge  `json:"callees"`
	// Direction says which calls the series counts: "inbound", those the
	// service took, or "outbound", those it made.
	Direction string `json:"direction"`
}

// findGraph looks for what found accepts in the live graph (when no range
// was asked for) and then in the range graph.
func (s *Server) findGraph(ctx context.Context, g graph.Granularity, live bool, from, to time.Time, found func(*graph.Graph) bool) (*graph.Graph, error) {
	if live && s.deps.Live != nil {
		lg, err := s.liveGraph(g, nsfilter.Set{})
		if err != nil {
			return nil, err
		}
		if found(lg) {
			return lg, nil
		}
	}
	rg, err := s.rangeGraph(ctx, from, to, g, nsfilter.Set{})
	if err != nil {
		return nil, err
	}
	if found(rg) {
		return rg, nil
	}
	return nil, nil
}

func (s *Server) series(ctx context.Context, q graph.SeriesQuery) (*graph.Series, error) {
	if s.deps.Series == nil {
		return nil, unavailable("series")
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.RequestTimeout)
	defer cancel()
	return s.deps.Series.Series(ctx, q)
}

// GET /api/v1/services/{namespace}/{name}
func (s *Server) getService(c echo.Context) error {
	ns, name := c.Param("namespace"), c.Param("name")
	if ns == "_" {
		ns = "" // services without a namespace: /services/_/NAME
	}
	id := "service:" + ns + "/" + name
	from, to, explicit, err := s.rangeOrDefault(c)
	if err != nil {
		return err
	}
	step, err := s.stepParam(c, from, to)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	var node *graph.Node
	// A range that reaches the present also looks in the live graph: the
	// newest calls are there before their buckets reach ClickHouse.
	live := !explicit || s.deps.Now().Sub(to) < time.Minute
	g, err := s.findGraph(ctx, graph.GranularityService, live, from, to, func(g *graph.Graph) bool {
		i := slices.IndexFunc(g.Nodes, func(n graph.Node) bool { return n.ID == id })
		if i >= 0 {
			node = &g.Nodes[i]
		}
		return i >= 0
	})
	if err != nil {
		return err
	}
	if g == nil {
		return notFound("name", "service %q has no traffic in the live window or between %s and %s", id, from.Format(time.RFC3339), to.Format(time.RFC3339))
	}
	byVersion, err := boolParam(c, "versions")
	if err != nil {
		return err
	}
	// The calls it took, or, for a service that took none and made some
	// (a worker, a job), those it made, unless asked.
	outbound := node.RequestsIn == 0 && node.RequestsOut > 0
	switch d := c.QueryParam("direction"); d {
	case "":
	case "inbound", "outbound":
		outbound = d == "outbound"
	default:
		return badParam("direction", "direction %q is not inbound or outbound", d)
	}
	series, err := s.series(ctx, graph.SeriesQuery{From: from, To: to, Step: step, Node: id, Outbound: outbound, ByVersion: byVersion})
	if err != nil {
		return err
	}
	out := serviceDetail{Node: *node, Series: series, From: from, To: to, Step: step.Seconds(), Callers: []graph.Edge{}, Callees: []graph.Edge{}, Direction: "inbound"}
	if outbound {
		out.Direction = "outbound"
	}
	for _, e := range g.Edges {
		if e.Target == id {
			out.Callers = append(out.Callers, e)
		}
		if e.Source == id {
			out.Callees = append(out.Callees, e)
		}
	}
	return c.JSON(http.StatusOK, out)
}

// edgeDetail is GET /api/v1/edges.
type edgeDetail struct {
	Edge         graph.Edge        `json:"edge"`
	Series       *graph.Series     `json:"series"`
	From         time.Time         `json:"from"`
	To           time.Time         `json:"to"`
	Step         float64           `json:"step_seconds"`
	ErrorsByCode map[string]uint64 `json:"errors_by_code"`
	// TopPaths are the edge's busiest HTTP method and path pairs, from the
	// access logs.
	TopPaths []edgePath `json:"top_paths"`
}

// edgePath is one method and path of an edge's requests.
type edgePath struct {
	Method    string  `json:"method"`
	Path      string  `json:"path"`
	Requests  uint64  `json:"requests"`
	Failed    uint64  `json:"failed"`
	ErrorRate float64 `json:"error_rate"`
	P50Ms     float64 `json:"p50_ms"`
	P99Ms     float64 `json:"p99_ms"`
}

// edgeRows is the condition on an edge's requests rows that counts each
// call once, as the SLIs do (schema's rule): where the edge has
// destination-reported rows in the range, rows of other reporters count
// only for calls that never reached the destination.
func (s *Server) edgeRows(ctx context.Context, src, dst string, from, to time.Time) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.RequestTimeout)
	defer cancel()
	var meshed uint8
	err := s.deps.Store.Conn().QueryRow(ctx, `
SELECT countIf(reporter = 'destination') > 0 FROM requests
WHERE source = ? AND destination = ? AND timestamp >= toDateTime(?) AND timestamp < toDateTime(?)`, src, dst, from.Unix(), to.Unix()).Scan(&meshed)
	if err != nil || meshed == 0 {
		return "1", err
	}
	return "NOT (" + schema.RequestDuplicateSQL() + ")", nil
}

// topPaths lists an edge's busiest method and path pairs in the requests
// table, with their failures (graph.IsError) and latency (t-digest).
func (s *Server) topPaths(ctx context.Context, src, dst, once string, from, to time.Time) ([]edgePath, error) {
	out := []edgePath{}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.RequestTimeout)
	defer cancel()
	rows, err := s.deps.Store.Conn().Query(ctx, `
SELECT method, path, count() AS n, countIf(`+requestFailed+` = 1) AS f,
       quantilesTDigest(0.5, 0.99)(duration_ns) AS q
FROM requests
WHERE source = ? AND destination = ? AND timestamp >= toDateTime(?) AND timestamp < toDateTime(?) AND path != ''
  AND `+once+`
GROUP BY method, path
ORDER BY n DESC, path, method
LIMIT 10`, src, dst, from.Unix(), to.Unix())
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var (
			p edgePath
			q []float32
		)
		if err := rows.Scan(&p.Method, &p.Path, &p.Requests, &p.Failed, &q); err != nil {
			return nil, err
		}
		if p.Requests > 0 {
			p.ErrorRate = float64(p.Failed) / float64(p.Requests)
		}
		if len(q) == 2 {
			p.P50Ms, p.P99Ms = float64(q[0])/1e6, float64(q[1])/1e6
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// GET /api/v1/edges
func (s *Server) getEdge(c echo.Context) error {
	src, dst := c.QueryParam("source"), c.QueryParam("destination")
	if src == "" {
		return badParam("source", "source is required (a node id such as service:shop/web)")
	}
	if dst == "" {
		return badParam("destination", "destination is required (a node id such as service:shop/cart)")
	}
	from, to, explicit, err := s.rangeOrDefault(c)
	if err != nil {
		return err
	}
	step, err := s.stepParam(c, from, to)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	id := graph.EdgeID(src, dst)
	g := granularityOf(src)
	if g == graph.GranularityService {
		g = granularityOf(dst)
	}
	var edge *graph.Edge
	found, err := s.findGraph(ctx, g, !explicit || s.deps.Now().Sub(to) < time.Minute, from, to, func(g *graph.Graph) bool {
		i := slices.IndexFunc(g.Edges, func(e graph.Edge) bool { return e.ID == id })
		if i >= 0 {
			edge = &g.Edges[i]
		}
		return i >= 0
	})
	if err != nil {
		return err
	}
	if found == nil {
		return notFound("source", "no edge %s in the live window or between %s and %s", id, from.Format(time.RFC3339), to.Format(time.RFC3339))
	}
	byVersion, err := boolParam(c, "versions")
	if err != nil {
		return err
	}
	series, err := s.series(ctx, graph.SeriesQuery{From: from, To: to, Step: step, Source: src, Target: dst, ByVersion: byVersion})
	if err != nil {
		return err
	}
	// From the access logs, when there is a store: each call once.
	byCode, paths := map[string]uint64{}, []edgePath{}
	if s.deps.Store != nil {
		once, err := s.edgeRows(ctx, src, dst, from, to)
		if err != nil {
			return err
		}
		if byCode, err = s.errorsByCode(ctx, src, dst, once, from, to); err != nil {
			return err
		}
		if paths, err = s.topPaths(ctx, src, dst, once, from, to); err != nil {
			return err
		}
	}
	return c.JSON(http.StatusOK, edgeDetail{Edge: *edge, Series: series, From: from, To: to, Step: step.Seconds(), ErrorsByCode: byCode, TopPaths: paths})
}

// errorsByCode counts the failed requests of an edge in the requests table
// by what failed them: an Envoy response flag set ("UH", "UF,URX"), else a
// gRPC status ("grpc-14"), else the HTTP code ("503", "0" for no response).
// Failure is decided by graph.IsError, the rule the graph uses; a call both
// sidecars logged counts once (edgeRows).
func (s *Server) errorsByCode(ctx context.Context, src, dst, once string, from, to time.Time) (map[string]uint64, error) {
	out := map[string]uint64{}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.RequestTimeout)
	defer cancel()
	rows, err := s.deps.Store.Conn().Query(ctx, `
SELECT response_code, response_flags, grpc_status, lower(protocol) AS proto, count()
FROM requests
WHERE source = ? AND destination = ? AND timestamp >= toDateTime(?) AND timestamp < toDateTime(?) AND `+once+`
GROUP BY response_code, response_flags, grpc_status, proto`, src, dst, from.Unix(), to.Unix())
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var (
			code  uint16
			flags string
			grpc  int16
			proto string
			n     uint64
		)
		if err := rows.Scan(&code, &flags, &grpc, &proto, &n); err != nil {
			return nil, err
		}
		if !graph.IsError(requestStatus(code, flags, grpc, proto)) {
			continue
		}
		key := strconv.Itoa(int(code))
		switch {
		case flags != "" && flags != "-" && graph.IsError(graph.Status{EnvoyFlags: flags, GRPCCode: -1}):
			key = flags
		case grpc > 0:
			key = "grpc-" + strconv.Itoa(int(grpc))
		}
		out[key] += n
	}
	return out, rows.Err()
}
