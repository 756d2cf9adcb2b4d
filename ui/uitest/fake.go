package uitest

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/meshscope/meshscope/query"
	"github.com/meshscope/meshscope/slo"
	"github.com/meshscope/meshscope/ui"
)

// FakeServer serves the UI with ui.Handler and fakes the meshscope API
// (docs/api.md, docs/websocket.md): a scripted websocket stream and REST
// stubs with canned answers. It stands in for the real server so that the
// browser tests exercise only the UI.
type FakeServer struct {
	// URL is the base URL of the server, e.g. http://127.0.0.1:1234.
	URL string

	t   testing.TB
	srv *httptest.Server
	// logsAt is the time the log records are stamped against: the same
	// records have the same times in every search.
	logsAt time.Time

	mu      sync.Mutex
	nodes   map[string]Node
	edges   map[string]Edge
	order   []string // node ids in insertion order
	eorder  []string
	seq     int64
	conns   map[*fakeConn]bool
	queries []string
	subs    []string
	token   string
	noSLOs  bool
	// ruleFiring makes GET /api/v1/alerts list QueueTooDeep's alert as
	// firing (SetRuleFiring).
	ruleFiring bool
	// sloStates overrides the canned state of SLOs (SetSLOState).
	sloStates map[string]string
	// createdSLOs are the SLOs created through the fake's API, in memory
	// as the real server keeps them without an SLO directory.
	createdSLOs []slo.SLOView
	// logSearches and logVolumes count the log searches and volume
	// searches answered.
	logSearches, logVolumes int
	// deploymentRanges are the from parameters of the deployments asked.
	deploymentRanges []string
	// outboundDeployments: the canary's numbers, and its service's series,
	// are of the calls they made (SetDeploymentsOutbound).
	outboundDeployments bool
	// traceSearch is the parameters of the last trace search.
	traceSearch url.Values
	// heldTrace, when HoldTrace was called, keeps the answer for
	// HeldTraceID until it is closed.
	heldTrace chan struct{}
}

// DisableSLOs makes the SLO endpoints answer 404, as a server without an
// SLO engine does.
func (f *FakeServer) DisableSLOs() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.noSLOs = true
}

// slosDisabled answers 404 when DisableSLOs was called.
func (f *FakeServer) slosDisabled(w http.ResponseWriter) bool {
	f.mu.Lock()
	off := f.noSLOs
	f.mu.Unlock()
	if off {
		writeErr(w, http.StatusNotFound, "no such endpoint", "")
	}
	return off
}

// RequireToken makes every API call need this bearer token (the websocket
// also takes it as ?token=).
func (f *FakeServer) RequireToken(token string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.token = token
}

// DropConnections closes every open websocket, as a server restart would.
func (f *FakeServer) DropConnections() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for c := range f.conns {
		c.ws.Close()
	}
}

// authorized checks the bearer token when one is required.
func (f *FakeServer) authorized(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		token := f.token
		f.mu.Unlock()
		if token != "" && strings.HasPrefix(r.URL.Path, "/api/") &&
			r.Header.Get("Authorization") != "Bearer "+token && r.URL.Query().Get("token") != token {
			writeErr(w, http.StatusUnauthorized, "missing or wrong bearer token", "Authorization")
			return
		}
		next.ServeHTTP(w, r)
	})
}

type fakeConn struct {
	ws         *websocket.Conn
	wmu        sync.Mutex
	namespaces []string
}

func (c *fakeConn) send(v any) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.ws.SetWriteDeadline(time.Now().Add(30 * time.Second))
	return c.ws.WriteJSON(v)
}

// NewFakeServer starts a fake server whose live graph starts as g. It stops
// when the test ends.
func NewFakeServer(t testing.TB, g Graph) *FakeServer {
	t.Helper()
	f := &FakeServer{t: t, nodes: map[string]Node{}, edges: map[string]Edge{}, conns: map[*fakeConn]bool{}, seq: 1, logsAt: time.Now().UTC()}
	for _, n := range g.Nodes {
		f.nodes[n.ID] = n
		f.order = append(f.order, n.ID)
	}
	for _, e := range g.Edges {
		f.edges[e.ID] = e
		f.eorder = append(f.eorder, e.ID)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v1/graph/stream", f.stream)
	mux.HandleFunc("GET /api/v1/graph", f.graph)
	mux.HandleFunc("GET /api/v1/graph/diff", f.diff)
	mux.HandleFunc("GET /api/v1/graph/analytics/{kind}", f.analytics)
	mux.HandleFunc("GET /api/v1/services", f.services)
	mux.HandleFunc("GET /api/v1/services/{ns}/{name}", f.service)
	mux.HandleFunc("GET /api/v1/services/{ns}/{name}/instances", f.instances)
	mux.HandleFunc("GET /api/v1/edges", f.edge)
	mux.HandleFunc("GET /api/v1/deployments", f.deployments)
	mux.HandleFunc("POST /api/v1/sql", f.sql)
	mux.HandleFunc("GET /api/v1/storage", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, map[string]any{"bytes_on_disk": 3<<30 + 5<<20, "tables": []map[string]any{
			{"name": "spans", "rows": 48_000_000, "bytes_on_disk": 3 << 30, "bytes_uncompressed": 40 << 30, "bytes_per_row": 67.1, "parts": 12, "partitions": 7,
				"oldest": "2026-11-20T00:00:00Z", "newest": "2026-11-27T10:00:00Z"},
			{"name": "schema_migrations", "rows": 11, "bytes_on_disk": 5 << 20, "bytes_uncompressed": 288, "bytes_per_row": 64.6, "parts": 1, "partitions": 1},
		}})
	})
	mux.HandleFunc("GET /api/v1/sql/tables", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, map[string]any{"tables": query.SQLTables()})
	})
	mux.HandleFunc("GET /api/v1/traces", f.traces)
	mux.HandleFunc("GET /api/v1/traces/operations", f.traceOperations)
	mux.HandleFunc("GET /api/v1/spans/differences", f.spanDifferences)
	mux.HandleFunc("GET /api/v1/requests/differences", f.requestDifferences)
	mux.HandleFunc("GET /api/v1/logs/differences", f.logDifferences)
	mux.HandleFunc("GET /api/v1/traces/{id}", f.trace)
	mux.HandleFunc("GET /api/v1/requests", f.requests)
	mux.HandleFunc("GET /api/v1/requests/volume", f.requestVolume)
	mux.HandleFunc("GET /api/v1/logs", f.logs)
	mux.HandleFunc("GET /api/v1/logs/volume", f.logVolume)
	mux.HandleFunc("GET /api/v1/logs/patterns", f.logPatterns)
	mux.HandleFunc("GET /api/v1/exceptions", f.exceptions)
	mux.HandleFunc("GET /api/v1/exceptions/new", f.newExceptions)
	mux.HandleFunc("GET /api/v1/exceptions/occurrences", f.exceptionOccurrences)
	mux.HandleFunc("GET /api/v1/metrics", f.metrics)
	mux.HandleFunc("GET /api/v1/metrics/query", f.metricQuery)
	mux.HandleFunc("GET /api/v1/slos", f.slos)
	mux.HandleFunc("POST /api/v1/slos", f.createSLO)
	mux.HandleFunc("DELETE /api/v1/slos/{name}", f.deleteSLO)
	mux.HandleFunc("GET /api/v1/slos/{name}/status", f.sloStatus)
	mux.HandleFunc("GET /api/v1/alerts", f.sloAlerts)
	mux.HandleFunc("GET /api/v1/rules", f.rules)
	mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		writeErr(w, http.StatusNotFound, "no such endpoint", "")
	})
	mux.Handle("/", ui.Handler())
	f.srv = httptest.NewServer(f.authorized(mux))
	f.URL = f.srv.URL
	t.Cleanup(f.Close)
	return f
}

// Close stops the server and its websocket connections.
func (f *FakeServer) Close() {
	f.mu.Lock()
	for c := range f.conns {
		c.ws.Close()
	}
	f.mu.Unlock()
	f.srv.CloseClientConnections()
	f.srv.Close()
}

// Seq is the sequence number of the current live state.
func (f *FakeServer) Seq() int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.seq
}

// Graph returns the current live graph.
func (f *FakeServer) Graph() Graph {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.graphLocked(nil)
}

// Queries returns the SQL queries received so far.
func (f *FakeServer) Queries() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.queries)
}

// Subscriptions returns the subscribe messages received so far, as JSON.
func (f *FakeServer) Subscriptions() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.subs)
}

// Connections returns the number of open websocket connections.
func (f *FakeServer) Connections() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.conns)
}

// graphLocked returns the live graph restricted to namespaces the way
// docs/websocket.md says: an edge is kept when either end is in one of them,
// a node when it is in one of them or is an end of a kept edge.
func (f *FakeServer) graphLocked(namespaces []string) Graph {
	g := Graph{Granularity: "service", WindowSeconds: 60, From: time.Now().Add(-time.Minute).UTC().Format(time.RFC3339), To: time.Now().UTC().Format(time.RFC3339)}
	in := func(id string) bool {
		return len(namespaces) == 0 || slices.Contains(namespaces, f.nodes[id].Namespace)
	}
	keep := map[string]bool{}
	for _, id := range f.eorder {
		e := f.edges[id]
		if in(e.Source) || in(e.Target) {
			keep[e.Source], keep[e.Target] = true, true
			g.Edges = append(g.Edges, e)
		}
	}
	for _, id := range f.order {
		if in(id) || keep[id] {
			g.Nodes = append(g.Nodes, f.nodes[id])
		}
	}
	if g.Nodes == nil {
		g.Nodes = []Node{}
	}
	if g.Edges == nil {
		g.Edges = []Edge{}
	}
	return g
}

// SendDelta applies d to the live graph, stamps it with the next sequence
// number and sends it to every connected client. It returns the new seq.
func (f *FakeServer) SendDelta(d Delta) int64 {
	f.mu.Lock()
	d.Type = "delta"
	d.BaseSeq = f.seq
	f.seq++
	d.Seq = f.seq
	if d.Time == "" {
		d.Time = time.Now().UTC().Format(time.RFC3339)
	}
	for _, id := range d.EdgesRemoved {
		delete(f.edges, id)
		f.eorder = slices.DeleteFunc(f.eorder, func(x string) bool { return x == id })
	}
	for _, id := range d.NodesRemoved {
		delete(f.nodes, id)
		f.order = slices.DeleteFunc(f.order, func(x string) bool { return x == id })
	}
	for _, n := range slices.Concat(d.NodesAdded, d.NodesUpdated) {
		if _, ok := f.nodes[n.ID]; !ok {
			f.order = append(f.order, n.ID)
		}
		f.nodes[n.ID] = n
	}
	for _, e := range slices.Concat(d.EdgesAdded, d.EdgesUpdated) {
		if _, ok := f.edges[e.ID]; !ok {
			f.eorder = append(f.eorder, e.ID)
		}
		f.edges[e.ID] = e
	}
	conns := make([]*fakeConn, 0, len(f.conns))
	for c := range f.conns {
		conns = append(conns, c)
	}
	seq := f.seq
	f.mu.Unlock()
	for _, c := range conns {
		if err := c.send(d); err != nil {
			f.t.Logf("fake server: send delta: %v", err)
		}
	}
	return seq
}

var upgrader = websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}

func (f *FakeServer) stream(w http.ResponseWriter, r *http.Request) {
	g := r.URL.Query().Get("granularity")
	if g != "" && g != "service" && g != "workload" && g != "version" {
		writeErr(w, http.StatusBadRequest, fmt.Sprintf("unknown granularity %q", g), "granularity")
		return
	}
	ws, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	c := &fakeConn{ws: ws}
	if ns := r.URL.Query().Get("namespace"); ns != "" {
		c.namespaces = strings.Split(ns, ",")
	}
	f.mu.Lock()
	f.conns[c] = true
	snap := Snapshot{Type: "snapshot", Seq: f.seq, Graph: f.graphLocked(c.namespaces)}
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		delete(f.conns, c)
		f.mu.Unlock()
		ws.Close()
	}()
	if err := c.send(snap); err != nil {
		return
	}
	for {
		_, data, err := ws.ReadMessage()
		if err != nil {
			return
		}
		var msg struct {
			Type        string   `json:"type"`
			Granularity string   `json:"granularity"`
			Namespaces  []string `json:"namespaces"`
		}
		if err := json.Unmarshal(data, &msg); err != nil || msg.Type != "subscribe" {
			c.send(map[string]string{"type": "error", "error": "expected a subscribe message", "field": "type"})
			continue
		}
		f.mu.Lock()
		f.subs = append(f.subs, string(data))
		c.namespaces = msg.Namespaces
		snap := Snapshot{Type: "snapshot", Seq: f.seq, Graph: f.graphLocked(c.namespaces)}
		snap.Graph.Granularity = msg.Granularity
		f.mu.Unlock()
		if err := c.send(snap); err != nil {
			return
		}
	}
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}

func writeErr(w http.ResponseWriter, status int, msg, field string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"error": msg, "field": field})
}

func namespacesParam(r *http.Request) []string {
	if ns := r.URL.Query().Get("namespace"); ns != "" {
		return strings.Split(ns, ",")
	}
	return nil
}

func (f *FakeServer) graph(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	g := f.graphLocked(namespacesParam(r))
	f.mu.Unlock()
	if r.URL.Query().Get("granularity") == "version" {
		g = versionGraph(g)
	}
	if from := r.URL.Query().Get("from"); from != "" {
		g.From, g.To = from, r.URL.Query().Get("to")
	}
	writeJSON(w, g)
}

// diff marks the live graph against an invented baseline: the last node and
// its edges are new, one edge is gone, and edges with errors changed.
func (f *FakeServer) diff(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	for _, k := range []string{"from", "to", "base_from", "base_to"} {
		if q.Get(k) == "" {
			writeErr(w, http.StatusBadRequest, k+" is required", k)
			return
		}
	}
	f.mu.Lock()
	g := f.graphLocked(namespacesParam(r))
	f.mu.Unlock()
	added := ""
	if len(g.Nodes) > 0 {
		added = g.Nodes[len(g.Nodes)-1].ID
	}
	for i := range g.Nodes {
		g.Nodes[i].Diff = "same"
		if g.Nodes[i].ID == added {
			g.Nodes[i].Diff = "added"
		}
	}
	for i := range g.Edges {
		e := &g.Edges[i]
		base := *e
		base.RPS = math.Round(e.RPS*0.7*10) / 10
		base.ErrorRate = e.ErrorRate / 4
		base.P99 = e.P99 * 0.6
		e.Base = &base
		switch {
		case e.Source == added || e.Target == added:
			e.Diff, e.Base = "added", nil
		case e.ErrorRate > 0.01:
			e.Diff = "changed"
		default:
			e.Diff = "same"
		}
	}
	if len(g.Nodes) > 2 {
		gone := Node{ID: "service:shop/legacy-cart", Kind: "service", Namespace: "shop", Name: "legacy-cart", Health: "idle", Diff: "removed"}
		g.Nodes = append(g.Nodes, gone)
		e := MakeEdge(g.Nodes[1].ID, gone.ID, "http", 0, 0, 5)
		e.Diff = "removed"
		g.Edges = append(g.Edges, e)
	}
	writeJSON(w, map[string]any{"nodes": g.Nodes, "edges": g.Edges})
}

// analytics answers blast-radius with every node that reaches the given one.
func (f *FakeServer) analytics(w http.ResponseWriter, r *http.Request) {
	if r.PathValue("kind") != "blast-radius" {
		writeErr(w, http.StatusNotFound, "unknown analytics kind", "kind")
		return
	}
	id := r.URL.Query().Get("node")
	f.mu.Lock()
	defer f.mu.Unlock()
	// The graph the node is of, as the API reads it: by version when
	// asked (versionGraph's nodes, its edges none).
	g := f.graphLocked(nil)
	if r.URL.Query().Get("granularity") == "version" {
		g = versionGraph(g)
	}
	if !slices.ContainsFunc(g.Nodes, func(n Node) bool { return n.ID == id }) {
		writeErr(w, http.StatusNotFound, "unknown node", "node")
		return
	}
	callers := map[string][]string{}
	for _, e := range g.Edges {
		callers[e.Target] = append(callers[e.Target], e.Source)
	}
	seen := map[string]bool{id: true}
	queue := []string{id}
	var out []string
	for len(queue) > 0 {
		cur := queue[0]
		queue = queue[1:]
		for _, c := range callers[cur] {
			if !seen[c] {
				seen[c] = true
				out = append(out, c)
				queue = append(queue, c)
			}
		}
	}
	slices.Sort(out)
	writeJSON(w, map[string]any{"node": id, "nodes": out})
}

func series(base float64, points int) map[string]any {
	now := time.Now().Unix()
	t := make([]int64, points)
	rps := make([]float64, points)
	errs := make([]float64, points)
	p50 := make([]float64, points)
	p90 := make([]float64, points)
	p95 := make([]float64, points)
	p99 := make([]float64, points)
	for i := range points {
		t[i] = now - int64(points-i)*60
		wave := 1 + 0.25*math.Sin(float64(i)/4)
		rps[i] = math.Round(base*wave*10) / 10
		errs[i] = math.Max(0, 0.01*math.Sin(float64(i)/3))
		p50[i] = 4 * wave
		p90[i] = 9 * wave
		p95[i] = 12 * wave
		p99[i] = 30 * wave * (1 + 0.3*math.Sin(float64(i)/2))
	}
	return map[string]any{"time": t, "rps": rps, "error_rate": errs, "p50_ms": p50, "p90_ms": p90, "p95_ms": p95, "p99_ms": p99}
}

// services lists the graph's service nodes, as GET /api/v1/services does
// (a subset of its fields).
func (f *FakeServer) services(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	out := []map[string]any{}
	for _, id := range f.order {
		if n := f.nodes[id]; n.Kind == "service" {
			out = append(out, map[string]any{"id": n.ID, "namespace": n.Namespace, "name": n.Name, "health": n.Health, "rps_in": n.RPSIn})
		}
	}
	f.mu.Unlock()
	writeJSON(w, map[string]any{"services": out})
}

func (f *FakeServer) service(w http.ResponseWriter, r *http.Request) {
	id := "service:" + r.PathValue("ns") + "/" + r.PathValue("name")
	f.mu.Lock()
	defer f.mu.Unlock()
	n, ok := f.nodes[id]
	if !ok {
		writeErr(w, http.StatusNotFound, "unknown service "+id, "name")
		return
	}
	callers, callees := []Edge{}, []Edge{}
	for _, e := range f.edges {
		if e.Target == id {
			callers = append(callers, e)
		}
		if e.Source == id {
			callees = append(callees, e)
		}
	}
	s := series(n.RPSIn, 60)
	if r.URL.Query().Get("versions") == "true" {
		s["versions"] = versionSeries(n, s)
	}
	direction := "inbound"
	if f.outboundDeployments {
		direction = "outbound"
	}
	writeJSON(w, map[string]any{"node": n, "series": s, "callers": callers, "callees": callees, "direction": direction})
}

func (f *FakeServer) edge(w http.ResponseWriter, r *http.Request) {
	id := r.URL.Query().Get("source") + "->" + r.URL.Query().Get("destination")
	f.mu.Lock()
	defer f.mu.Unlock()
	e, ok := f.edges[id]
	if !ok {
		writeErr(w, http.StatusNotFound, "unknown edge", "source")
		return
	}
	codes := map[string]int64{}
	if e.Errors > 0 {
		codes["503"] = e.Errors * 2 / 3
		codes["UH"] = e.Errors - e.Errors*2/3
	}
	// Its busiest paths: the requests split 3 to 1, the errors on the first.
	paths := []map[string]any{}
	if e.Requests > 0 {
		n := e.Requests * 3 / 4
		paths = append(paths,
			map[string]any{"method": "POST", "path": "/api/orders", "requests": n, "failed": e.Errors, "error_rate": float64(e.Errors) / float64(n), "p50_ms": 12.5, "p99_ms": 180},
			map[string]any{"method": "GET", "path": "/api/orders/{id}", "requests": e.Requests - n, "failed": 0, "error_rate": 0, "p50_ms": 3.2, "p99_ms": 41})
	}
	s := series(e.RPS, 60)
	if r.URL.Query().Get("versions") == "true" {
		if n, ok := f.nodes[e.Target]; ok {
			s["versions"] = versionSeries(n, s)
		}
	}
	writeJSON(w, map[string]any{"edge": e, "series": s, "errors_by_code": codes, "top_paths": paths})
}

func (f *FakeServer) sql(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Query  string `json:"query"`
		Format string `json:"format"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		writeErr(w, http.StatusBadRequest, "bad JSON body: "+err.Error(), "query")
		return
	}
	f.mu.Lock()
	f.queries = append(f.queries, req.Query)
	f.mu.Unlock()
	q := strings.ToUpper(strings.TrimSpace(req.Query))
	if !strings.HasPrefix(q, "SELECT") && !strings.HasPrefix(q, "WITH") {
		writeErr(w, http.StatusBadRequest, "only read-only queries are accepted", "query")
		return
	}
	if strings.Contains(q, "NO_SUCH_TABLE") {
		writeErr(w, http.StatusBadRequest, "code: 60, message: Unknown table expression identifier 'no_such_table'", "query")
		return
	}
	writeJSON(w, map[string]any{
		"columns": []map[string]string{{"name": "source", "type": "String"}, {"name": "destination", "type": "String"}, {"name": "requests", "type": "UInt64"}},
		"rows": [][]any{
			{"service:shop/web", "service:shop/cart", 4800},
			{"service:shop/cart", "service:shop/checkout", 1320},
			{"service:shop/checkout", "service:pay/payments", 1200},
		},
		"rows_read":  123456,
		"elapsed_ms": 7,
	})
}
