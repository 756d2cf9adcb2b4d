package query

import (
	"context"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/meshscope/meshscope/graph"
	"github.com/meshscope/meshscope/query/nsfilter"
	"github.com/meshscope/meshscope/query/stream"
)

// liveGraph is the latest live graph at g restricted to set; before the first
// tick, an empty graph.
func (s *Server) liveGraph(g graph.Granularity, set nsfilter.Set) (*graph.Graph, error) {
	if s.deps.Live == nil {
		return nil, unavailable("the live graph")
	}
	if t := s.deps.Live.Latest(g); t != nil && t.Graph != nil {
		return stream.NonNil(set.Graph(t.Graph)), nil
	}
	now := s.now().UTC()
	return &graph.Graph{Granularity: g, From: now, To: now, Nodes: []graph.Node{}, Edges: []graph.Edge{}}, nil
}

// rangeGraph is the graph of [from, to) at g restricted to set, from ClickHouse.
func (s *Server) rangeGraph(ctx context.Context, from, to time.Time, g graph.Granularity, set nsfilter.Set) (*graph.Graph, error) {
	if s.deps.History == nil {
		return nil, unavailable("graph history")
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.RequestTimeout)
	defer cancel()
	out, err := s.deps.History.Range(ctx, graph.RangeQuery{From: from, To: to, Granularity: g, Namespaces: set.Names()})
	if err != nil {
		return nil, err
	}
	// History filters by namespace with the same rule; filtering again is a
	// no-op that keeps the answer right whatever the backend did.
	return stream.NonNil(set.Graph(out)), nil
}

// requestGraph is the graph the request asks for: from/to give a range from
// ClickHouse, else the live graph.
func (s *Server) requestGraph(c echo.Context) (*graph.Graph, error) {
	g, err := granularityParam(c)
	if err != nil {
		return nil, err
	}
	set := namespacesParam(c)
	from, to, ok, err := s.timeRange(c, "from", "to")
	if err != nil {
		return nil, err
	}
	if ok {
		return s.rangeGraph(c.Request().Context(), from, to, g, set)
	}
	return s.liveGraph(g, set)
}

// GET /api/v1/graph
func (s *Server) getGraph(c echo.Context) error {
	g, err := s.requestGraph(c)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, g)
}

// baseline is the graph of base_from/base_to, by default the range of the
// same length just before cur.
func (s *Server) baseline(c echo.Context, cur *graph.Graph) (*graph.Graph, error) {
	from, to, ok, err := s.timeRange(c, "base_from", "base_to")
	if err != nil {
		return nil, err
	}
	if !ok {
		span := cur.To.Sub(cur.From)
		if span <= 0 {
			return nil, badParam("base_from", "base_from and base_to are required: the current graph has no time range")
		}
		from, to = cur.From.Add(-span), cur.From
	}
	return s.rangeGraph(c.Request().Context(), from, to, cur.Granularity, namespacesParam(c))
}

// diffResponse is a graph diff with the ranges compared.
type diffResponse struct {
	Granularity graph.Granularity `json:"granularity"`
	From        time.Time         `json:"from"`
	To          time.Time         `json:"to"`
	BaseFrom    time.Time         `json:"base_from"`
	BaseTo      time.Time         `json:"base_to"`
	Nodes       []graph.DiffNode  `json:"nodes"`
	Edges       []graph.DiffEdge  `json:"edges"`
}

// GET /api/v1/graph/diff
func (s *Server) getGraphDiff(c echo.Context) error {
	if s.deps.Diff == nil {
		return unavailable("graph diff")
	}
	cur, err := s.requestGraph(c)
	if err != nil {
		return err
	}
	base, err := s.baseline(c, cur)
	if err != nil {
		return err
	}
	d := s.deps.Diff(cur, base)
	out := diffResponse{Granularity: cur.Granularity, From: cur.From, To: cur.To, BaseFrom: base.From, BaseTo: base.To,
		Nodes: []graph.DiffNode{}, Edges: []graph.DiffEdge{}}
	if d != nil {
		out.Nodes = append(out.Nodes, d.Nodes...)
		out.Edges = append(out.Edges, d.Edges...)
	}
	return c.JSON(http.StatusOK, out)
}

// analyticsNeedsNode are the analyses centred on a node.
var analyticsNeedsNode = map[string]bool{"blast-radius": true, "critical-path": true}

// GET /api/v1/graph/analytics/{kind}
func (s *Server) getAnalytics(c echo.Context) error {
	kind := c.Param("kind")
	if !slices.Contains(graph.AnalyticsKinds, kind) {
		return notFound("kind", "unknown analysis %q: use one of %v", kind, graph.AnalyticsKinds)
	}
	if s.deps.Analyze == nil {
		return unavailable("graph analytics")
	}
	p := graph.AnalyticsParams{Node: c.QueryParam("node"), Direction: c.QueryParam("direction")}
	switch p.Direction {
	case "", "upstream", "downstream", "both":
	default:
		return badParam("direction", "direction must be upstream, downstream or both, got %q", p.Direction)
	}
	if v := c.QueryParam("depth"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return badParam("depth", "depth must be a non-negative integer, got %q", v)
		}
		p.Depth = n
	}
	if analyticsNeedsNode[kind] && p.Node == "" {
		return badParam("node", "%s needs a node id (node=service:NS/NAME)", kind)
	}
	g, err := s.requestGraph(c)
	if err != nil {
		return err
	}
	if p.Node != "" && !slices.ContainsFunc(g.Nodes, func(n graph.Node) bool { return n.ID == p.Node }) {
		return notFound("node", "node %q is not in the %s graph", p.Node, g.Granularity)
	}
	if kind == "new-dependencies" {
		if p.Baseline, err = s.baseline(c, g); err != nil {
			return err
		}
	}
	res, err := s.deps.Analyze(kind, g, p)
	if err != nil {
		return badParam("", "%s: %v", kind, err)
	}
	return c.JSON(http.StatusOK, res)
}

// GET /api/v1/graph/stream
func (s *Server) getStream(c echo.Context) error {
	if s.hub == nil {
		return unavailable("the live graph")
	}
	s.hub.ServeHTTP(c.Response(), c.Request())
	return nil
}
