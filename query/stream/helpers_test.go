package stream

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/require"

	"github.com/meshscope/meshscope/graph"
)

// fakeLive is a graph.Live the tests drive tick by tick. Like the real
// publisher it never waits for a subscriber.
type fakeLive struct {
	mu     sync.Mutex
	latest map[graph.Granularity]*graph.Tick
	subs   map[graph.Granularity]map[chan *graph.Tick]bool
}

func newFakeLive() *fakeLive {
	return &fakeLive{latest: map[graph.Granularity]*graph.Tick{}, subs: map[graph.Granularity]map[chan *graph.Tick]bool{}}
}

func (f *fakeLive) Latest(g graph.Granularity) *graph.Tick {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.latest[g]
}

func (f *fakeLive) Subscribe(g graph.Granularity, buffer int) (<-chan *graph.Tick, func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	ch := make(chan *graph.Tick, buffer)
	if f.subs[g] == nil {
		f.subs[g] = map[chan *graph.Tick]bool{}
	}
	f.subs[g][ch] = true
	return ch, func() {
		f.mu.Lock()
		defer f.mu.Unlock()
		if f.subs[g][ch] {
			delete(f.subs[g], ch)
			close(ch)
		}
	}
}

// publish makes cur the latest graph and hands the tick to subscribers.
// skip > 0 numbers the tick as if skip ticks had been lost before it.
func (f *fakeLive) publish(cur *graph.Graph, skip uint64) *graph.Tick {
	f.mu.Lock()
	defer f.mu.Unlock()
	var prev *graph.Graph
	var seq uint64
	if last := f.latest[cur.Granularity]; last != nil {
		prev, seq = last.Graph, last.Seq
	}
	t := &graph.Tick{Seq: seq + 1 + skip, Graph: cur}
	t.Delta = diff(prev, cur, t.Seq, seq+skip)
	f.latest[cur.Granularity] = t
	for ch := range f.subs[cur.Granularity] {
		select {
		case ch <- t:
		default:
		}
	}
	return t
}

func diff(prev, cur *graph.Graph, seq, base uint64) *graph.Delta {
	d := &graph.Delta{Seq: seq, BaseSeq: base, Time: cur.To}
	old := map[string]graph.Node{}
	oldEdges := map[string]graph.Edge{}
	if prev != nil {
		for _, n := range prev.Nodes {
			old[n.ID] = n
		}
		for _, e := range prev.Edges {
			oldEdges[e.ID] = e
		}
	}
	seen := map[string]bool{}
	for _, n := range cur.Nodes {
		seen[n.ID] = true
		if o, ok := old[n.ID]; !ok {
			d.NodesAdded = append(d.NodesAdded, n)
		} else if o != n {
			d.NodesUpdated = append(d.NodesUpdated, n)
		}
	}
	for id := range old {
		if !seen[id] {
			d.NodesRemoved = append(d.NodesRemoved, id)
		}
	}
	for _, e := range cur.Edges {
		seen[e.ID] = true
		if o, ok := oldEdges[e.ID]; !ok {
			d.EdgesAdded = append(d.EdgesAdded, e)
		} else if !reflect.DeepEqual(o, e) {
			d.EdgesUpdated = append(d.EdgesUpdated, e)
		}
	}
	for id := range oldEdges {
		if !seen[id] {
			d.EdgesRemoved = append(d.EdgesRemoved, id)
		}
	}
	return d
}

// meshGraph is a graph of n services spread over namespaces, each calling
// the next two; tick changes every node's and edge's numbers. pad lengthens
// every node's name, to make messages large.
func meshGraph(g graph.Granularity, n, tick int, namespaces []string, pad int) *graph.Graph {
	out := &graph.Graph{Granularity: g, To: time.Unix(1795000000+int64(tick), 0).UTC(), WindowSeconds: 60}
	id := func(i int) string {
		ns := namespaces[i%len(namespaces)]
		return fmt.Sprintf("service:%s/svc-%d", ns, i)
	}
	for i := range n {
		ns := namespaces[i%len(namespaces)]
		out.Nodes = append(out.Nodes, graph.Node{
			ID: id(i), Kind: graph.KindService, Namespace: ns, Name: fmt.Sprintf("svc-%d%s", i, strings.Repeat("x", pad)),
			Health: "healthy", RequestsIn: uint64(tick*100 + i), RPSIn: float64(tick) + float64(i)/10,
		})
	}
	for i := range n {
		for _, j := range []int{(i + 1) % n, (i + 2) % n} {
			out.Edges = append(out.Edges, graph.Edge{
				ID: id(i) + "->" + id(j), Source: id(i), Target: id(j), Protocol: "http",
				Requests: uint64(tick*10 + i), RPS: float64(tick), P99Ms: float64(i % 50), Provenance: []string{"span"},
			})
		}
	}
	return out
}

// message is any server message, decoded.
type message struct {
	Type string `json:"type"`
	graph.Delta
	Graph       *graph.Graph `json:"graph"`
	Granularity string       `json:"granularity"`
	Namespaces  []string     `json:"namespaces"`
	Error       string       `json:"error"`
	Field       string       `json:"field"`
}

// view is a client's copy of the graph, kept by applying messages.
type view struct {
	seq   uint64
	nodes map[string]graph.Node
	edges map[string]graph.Edge
}

// apply applies m and reports an error when a delta does not apply.
func (v *view) apply(m message) error {
	switch m.Type {
	case TypeSnapshot:
		v.seq = m.Seq
		v.nodes, v.edges = map[string]graph.Node{}, map[string]graph.Edge{}
		for _, n := range m.Graph.Nodes {
			v.nodes[n.ID] = n
		}
		for _, e := range m.Graph.Edges {
			v.edges[e.ID] = e
		}
	case TypeDelta:
		if m.BaseSeq != v.seq {
			return fmt.Errorf("delta %d applies to %d, client is at %d", m.Seq, m.BaseSeq, v.seq)
		}
		v.seq = m.Seq
		for _, n := range append(m.NodesAdded, m.NodesUpdated...) {
			v.nodes[n.ID] = n
		}
		for _, id := range m.NodesRemoved {
			delete(v.nodes, id)
		}
		for _, e := range append(m.EdgesAdded, m.EdgesUpdated...) {
			v.edges[e.ID] = e
		}
		for _, id := range m.EdgesRemoved {
			delete(v.edges, id)
		}
	}
	return nil
}

// equal reports whether the view holds exactly g.
func (v *view) requireEqual(t *testing.T, g *graph.Graph) {
	t.Helper()
	require.Len(t, v.nodes, len(g.Nodes))
	require.Len(t, v.edges, len(g.Edges))
	for _, n := range g.Nodes {
		require.Equal(t, n, v.nodes[n.ID])
	}
	for _, e := range g.Edges {
		require.Equal(t, e, v.edges[e.ID])
	}
}

type testServer struct {
	hub  *Hub
	live *fakeLive
	srv  *httptest.Server
	url  string
}

func newTestServer(t testing.TB, cfg Config) *testServer {
	return newTestServerOn(t, cfg, nil)
}

// smallBuffers makes the kernel buffer little for the server's connections,
// so that a client that stops reading holds up writes quickly.
type smallBuffers struct{ net.Listener }

func (l smallBuffers) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetWriteBuffer(32 << 10)
	}
	return c, err
}

// newTestServerOn serves a hub on a fake live graph; wrap, when set, wraps
// the listener.
func newTestServerOn(t testing.TB, cfg Config, wrap func(net.Listener) net.Listener) *testServer {
	t.Helper()
	live := newFakeLive()
	hub, err := New(cfg, live, nil, nil)
	require.NoError(t, err)
	srv := httptest.NewUnstartedServer(hub)
	if wrap != nil {
		srv.Listener = wrap(srv.Listener)
	}
	srv.Start()
	t.Cleanup(func() {
		require.NoError(t, hub.Close())
		srv.Close()
	})
	return &testServer{hub: hub, live: live, srv: srv, url: "ws" + strings.TrimPrefix(srv.URL, "http")}
}

func newTestServerWith(t testing.TB, hub *Hub) string {
	t.Helper()
	srv := httptest.NewServer(hub)
	t.Cleanup(func() {
		_ = hub.Close()
		srv.Close()
	})
	return "ws" + strings.TrimPrefix(srv.URL, "http")
}

func dial(t testing.TB, url string, header http.Header) *websocket.Conn {
	t.Helper()
	return dialWith(t, websocket.DefaultDialer, url, header)
}

func dialWith(t testing.TB, d *websocket.Dialer, url string, header http.Header) *websocket.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, resp, err := d.DialContext(ctx, url, header)
	require.NoError(t, err)
	_ = resp.Body.Close()
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}

func read(t testing.TB, conn *websocket.Conn) message {
	t.Helper()
	require.NoError(t, conn.SetReadDeadline(time.Now().Add(10*time.Second)))
	_, data, err := conn.ReadMessage()
	require.NoError(t, err)
	var m message
	require.NoError(t, json.Unmarshal(data, &m))
	return m
}

// readType reads until a message of type typ, skipping heartbeats.
func readType(t testing.TB, conn *websocket.Conn, typ string) message {
	t.Helper()
	for {
		m := read(t, conn)
		if m.Type == typ {
			return m
		}
		require.Equal(t, TypeHeartbeat, m.Type, "unexpected %s while waiting for %s", m.Type, typ)
	}
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}
