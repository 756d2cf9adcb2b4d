package stream

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/require"

	"github.com/meshscope/meshscope/graph"
)

var namespaces = []string{"shop", "pay", "ops"}

func TestSnapshotThenDeltas(t *testing.T) {
	ts := newTestServer(t, Config{})
	svc := graph.GranularityService
	ts.live.publish(meshGraph(svc, 20, 1, namespaces, 0), 0)

	conn := dial(t, ts.url, nil)
	var v view
	m := readType(t, conn, TypeSnapshot)
	require.EqualValues(t, 1, m.Seq)
	require.Equal(t, "service", m.Granularity)
	require.Equal(t, []string{}, m.Namespaces)
	require.NoError(t, v.apply(m))

	// Nodes and edges come and go, and change.
	graphs := []*graph.Graph{
		meshGraph(svc, 20, 2, namespaces, 0),
		meshGraph(svc, 25, 3, namespaces, 0),
		meshGraph(svc, 12, 4, namespaces, 0),
		meshGraph(svc, 12, 4, namespaces, 0),
	}
	for i, g := range graphs {
		ts.live.publish(g, 0)
		m := readType(t, conn, TypeDelta)
		require.EqualValues(t, i+2, m.Seq)
		require.NoError(t, v.apply(m))
		v.requireEqual(t, g)
	}
}

func TestEmptySnapshotBeforeFirstTick(t *testing.T) {
	ts := newTestServer(t, Config{})
	conn := dial(t, ts.url+"?granularity=workload", nil)
	m := readType(t, conn, TypeSnapshot)
	require.Zero(t, m.Seq)
	require.Equal(t, "workload", m.Granularity)
	require.NotNil(t, m.Graph)
	require.Empty(t, m.Graph.Nodes)

	// The first tick has no usable predecessor for the hub: a snapshot.
	g := meshGraph(graph.GranularityWorkload, 5, 1, namespaces, 0)
	ts.live.publish(g, 0)
	m = readType(t, conn, TypeSnapshot)
	require.EqualValues(t, 1, m.Seq)
	require.Len(t, m.Graph.Nodes, 5)
}

func TestNamespaceFilter(t *testing.T) {
	ts := newTestServer(t, Config{})
	svc := graph.GranularityService
	ts.live.publish(meshGraph(svc, 9, 1, namespaces, 0), 0)

	conn := dial(t, ts.url+"?namespace=shop", nil)
	m := readType(t, conn, TypeSnapshot)
	require.Equal(t, []string{"shop"}, m.Namespaces)
	// Every kept edge touches shop; every shop node is kept, and the other
	// ends of kept edges too.
	nsOf := map[string]string{}
	for _, n := range m.Graph.Nodes {
		nsOf[n.ID] = n.Namespace
	}
	shop := 0
	for _, n := range m.Graph.Nodes {
		if n.Namespace == "shop" {
			shop++
		}
	}
	require.Equal(t, 3, shop)
	for _, e := range m.Graph.Edges {
		require.True(t, nsOf[e.Source] == "shop" || nsOf[e.Target] == "shop", e.ID)
		require.Contains(t, nsOf, e.Source)
		require.Contains(t, nsOf, e.Target)
	}
	require.Len(t, m.Graph.Edges, 12) // 3 shop nodes, 2 callers and 2 callees each, none in shop
	var v view
	require.NoError(t, v.apply(m))

	// Deltas keep the filtered view equal to the filtered graph, also when
	// nodes leave and enter it.
	for tick, n := range []int{9, 6, 12} {
		g := meshGraph(svc, n, tick+2, namespaces, 0)
		ts.live.publish(g, 0)
		m := readType(t, conn, TypeDelta)
		require.NoError(t, v.apply(m))
		for _, e := range m.EdgesAdded {
			require.True(t, strings.Contains(e.Source, "shop") || strings.Contains(e.Target, "shop"))
		}
		nodes, edges := countFiltered(g, "shop")
		require.Len(t, v.nodes, nodes)
		require.Len(t, v.edges, edges)
	}

	// A subscribe message changes the filter: a fresh snapshot.
	require.NoError(t, conn.WriteJSON(map[string]any{"type": "subscribe", "namespaces": []string{"pay"}}))
	m = readType(t, conn, TypeSnapshot)
	require.Equal(t, []string{"pay"}, m.Namespaces)
	require.Equal(t, "service", m.Granularity, "granularity kept")
	nodes, edges := countFiltered(ts.live.Latest(svc).Graph, "pay")
	require.Len(t, m.Graph.Nodes, nodes)
	require.Len(t, m.Graph.Edges, edges)

	// An empty list means every namespace.
	require.NoError(t, conn.WriteJSON(map[string]any{"type": "subscribe", "namespaces": []string{}}))
	m = readType(t, conn, TypeSnapshot)
	require.Len(t, m.Graph.Nodes, 12)
}

// countFiltered counts the nodes and edges of g that a filter on ns keeps.
func countFiltered(g *graph.Graph, ns string) (nodes, edges int) {
	keep := map[string]bool{}
	nsOf := map[string]string{}
	for _, n := range g.Nodes {
		nsOf[n.ID] = n.Namespace
		if n.Namespace == ns {
			keep[n.ID] = true
		}
	}
	for _, e := range g.Edges {
		if nsOf[e.Source] == ns || nsOf[e.Target] == ns {
			keep[e.Source], keep[e.Target] = true, true
			edges++
		}
	}
	return len(keep), edges
}

func TestSubscribeMessages(t *testing.T) {
	ts := newTestServer(t, Config{})
	ts.live.publish(meshGraph(graph.GranularityService, 3, 1, namespaces, 0), 0)
	ts.live.publish(meshGraph(graph.GranularityWorkload, 4, 1, namespaces, 0), 0)
	conn := dial(t, ts.url, nil)
	readType(t, conn, TypeSnapshot)

	for _, tc := range []struct {
		name, msg, field string
	}{
		{"invalid JSON", `{"type":`, ""},
		{"unknown type", `{"type":"unsubscribe"}`, "type"},
		{"unknown granularity", `{"type":"subscribe","granularity":"pod"}`, "granularity"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.NoError(t, conn.WriteMessage(websocket.TextMessage, []byte(tc.msg)))
			m := readType(t, conn, TypeError)
			require.NotEmpty(t, m.Error)
			require.Equal(t, tc.field, m.Field)
		})
	}

	require.NoError(t, conn.WriteJSON(ClientMessage{Type: TypeSubscribe, Granularity: "workload"}))
	m := readType(t, conn, TypeSnapshot)
	require.Equal(t, "workload", m.Granularity)
	require.Len(t, m.Graph.Nodes, 4)

	// Deltas now follow the workload graph only.
	ts.live.publish(meshGraph(graph.GranularityService, 3, 2, namespaces, 0), 0)
	ts.live.publish(meshGraph(graph.GranularityWorkload, 4, 2, namespaces, 0), 0)
	m = readType(t, conn, TypeDelta)
	require.EqualValues(t, 2, m.Seq)
	require.Equal(t, graph.KindService, m.NodesUpdated[0].Kind) // meshGraph's nodes
	require.Equal(t, "workload", string(ts.live.Latest(graph.GranularityWorkload).Graph.Granularity))
}

func TestMissedTickSendsSnapshot(t *testing.T) {
	ts := newTestServer(t, Config{})
	svc := graph.GranularityService
	ts.live.publish(meshGraph(svc, 5, 1, namespaces, 0), 0)
	conn := dial(t, ts.url, nil)
	readType(t, conn, TypeSnapshot)
	// The hub sees seq 3 after seq 1: its delta (from 2) cannot be used.
	ts.live.publish(meshGraph(svc, 6, 2, namespaces, 0), 1)
	m := readType(t, conn, TypeSnapshot)
	require.EqualValues(t, 3, m.Seq)
	require.Len(t, m.Graph.Nodes, 6)
	ts.live.publish(meshGraph(svc, 7, 3, namespaces, 0), 0)
	m = readType(t, conn, TypeDelta)
	require.EqualValues(t, 4, m.Seq)
	require.EqualValues(t, 3, m.BaseSeq)
}

func TestHeartbeat(t *testing.T) {
	ts := newTestServer(t, Config{HeartbeatInterval: 30 * time.Millisecond})
	ts.live.publish(meshGraph(graph.GranularityService, 2, 1, namespaces, 0), 0)
	conn := dial(t, ts.url, nil)
	readType(t, conn, TypeSnapshot)
	m := readType(t, conn, TypeHeartbeat)
	require.EqualValues(t, 1, m.Seq)
	require.WithinDuration(t, time.Now(), m.Time, 5*time.Second)
}

func TestPingPong(t *testing.T) {
	ts := newTestServer(t, Config{PingInterval: 50 * time.Millisecond, PongTimeout: time.Second})

	// A client that reads answers pings (gorilla does it while reading) and
	// stays connected well past the pong timeout.
	reader := dial(t, ts.url, nil)
	pings := make(chan struct{}, 100)
	reader.SetPingHandler(func(data string) error {
		select {
		case pings <- struct{}{}:
		default:
		}
		return reader.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(time.Second))
	})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			if _, _, err := reader.ReadMessage(); err != nil {
				return
			}
		}
	}()

	// A client that never reads never answers: the server drops it.
	silent := dial(t, ts.url, nil)
	_ = silent
	require.Eventually(t, func() bool { return ts.hub.Stats().Clients == 1 }, 10*time.Second, 10*time.Millisecond)
	time.Sleep(1500 * time.Millisecond)
	require.Equal(t, 1, ts.hub.Stats().Clients, "the silent client was dropped")
	select {
	case <-done:
		t.Fatal("the reading client was dropped")
	default:
	}
	require.NotEmpty(t, pings)
	_ = reader.Close()
	<-done
}

func TestOriginCheck(t *testing.T) {
	ts := newTestServer(t, Config{AllowedOrigins: []string{"https://ui.example.com"}})
	host := strings.TrimPrefix(ts.srv.URL, "http://")
	for _, tc := range []struct {
		origin string
		ok     bool
	}{
		{"", true},
		{"http://" + host, true},
		{"https://ui.example.com", true},
		{"https://evil.example.com", false},
		{"http://localhost.evil.com", false},
	} {
		t.Run(tc.origin, func(t *testing.T) {
			h := http.Header{}
			if tc.origin != "" {
				h.Set("Origin", tc.origin)
			}
			conn, resp, err := websocket.DefaultDialer.Dial(ts.url, h)
			if tc.ok {
				require.NoError(t, err)
				_ = conn.Close()
				return
			}
			require.Error(t, err)
			require.Equal(t, http.StatusForbidden, resp.StatusCode)
		})
	}
}

func TestBadRequests(t *testing.T) {
	ts := newTestServer(t, Config{MaxClients: 1})
	_, resp, err := websocket.DefaultDialer.Dial(ts.url+"?granularity=pod", nil)
	require.Error(t, err)
	require.Equal(t, http.StatusBadRequest, resp.StatusCode)
	var body struct{ Error, Field string }
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&body))
	require.Equal(t, "granularity", body.Field)

	// Not a websocket request.
	plain, err := http.Get(ts.srv.URL)
	require.NoError(t, err)
	_ = plain.Body.Close()
	require.Equal(t, http.StatusBadRequest, plain.StatusCode)

	dial(t, ts.url, nil)
	require.Eventually(t, func() bool { return ts.hub.Stats().Clients == 1 }, 5*time.Second, 10*time.Millisecond)
	_, resp, err = websocket.DefaultDialer.Dial(ts.url, nil)
	require.Error(t, err)
	require.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
}

func TestReadLimit(t *testing.T) {
	ts := newTestServer(t, Config{MaxMessageBytes: 1024})
	conn := dial(t, ts.url, nil)
	readType(t, conn, TypeSnapshot)
	big := fmt.Sprintf(`{"type":"subscribe","namespaces":["%s"]}`, strings.Repeat("a", 1100))
	require.NoError(t, conn.WriteMessage(websocket.TextMessage, []byte(big)))
	for {
		_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, _, err := conn.ReadMessage()
		if err != nil {
			require.True(t, websocket.IsCloseError(err, websocket.CloseMessageTooBig), "got %v", err)
			break
		}
	}
	require.Eventually(t, func() bool { return ts.hub.Stats().Clients == 0 }, 5*time.Second, 10*time.Millisecond)
}

func TestCloseSendsGoingAway(t *testing.T) {
	live := newFakeLive()
	hub, err := New(Config{}, live, nil, nil)
	require.NoError(t, err)
	ts := newTestServerWith(t, hub)
	conn := dial(t, ts, nil)
	readType(t, conn, TypeSnapshot)
	require.NoError(t, hub.Close())
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, _, err = conn.ReadMessage()
	require.True(t, websocket.IsCloseError(err, websocket.CloseGoingAway), "got %v", err)
	_, resp, err := websocket.DefaultDialer.Dial(ts, nil)
	require.Error(t, err)
	require.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
}

// TestSlowClientDoesNotHoldOthers connects 50 reading clients and one that
// stops reading. The readers get every tick, in order; the slow client's
// pending deltas are dropped and, when it reads again, it gets a fresh
// snapshot and follows from there.
func TestSlowClientDoesNotHoldOthers(t *testing.T) {
	const readers = 50
	ts := newTestServerOn(t, Config{SendQueue: 2, WriteTimeout: time.Minute, HeartbeatInterval: time.Hour, PingInterval: time.Hour, PongTimeout: 2 * time.Hour},
		func(l net.Listener) net.Listener { return smallBuffers{l} })
	svc := graph.GranularityService
	// Messages of ~100 KB and small socket buffers: the slow client holds up
	// its writer within a few ticks.
	big := func(tick int) *graph.Graph { return meshGraph(svc, 100, tick, namespaces, 300) }
	ts.live.publish(big(1), 0)

	type report struct {
		reader int
		seq    uint64
		err    error
	}
	reports := make(chan report, readers*4)
	var wg sync.WaitGroup
	for r := range readers {
		conn := dial(t, ts.url, nil)
		wg.Add(1)
		go func() {
			defer wg.Done()
			var last uint64
			snapshots := 0
			for {
				_, data, err := conn.ReadMessage()
				if err != nil {
					return
				}
				var m struct {
					Type    string `json:"type"`
					Seq     uint64 `json:"seq"`
					BaseSeq uint64 `json:"base_seq"`
				}
				if err := json.Unmarshal(data, &m); err != nil {
					reports <- report{r, 0, err}
					return
				}
				switch {
				case m.Type == TypeSnapshot:
					snapshots++
					if snapshots > 1 {
						reports <- report{r, m.Seq, fmt.Errorf("reader %d got a second snapshot at %d", r, m.Seq)}
					}
				case m.Type == TypeDelta && (m.BaseSeq != last || m.Seq != last+1):
					reports <- report{r, m.Seq, fmt.Errorf("reader %d: delta %d from %d after %d", r, m.Seq, m.BaseSeq, last)}
				}
				last = m.Seq
				reports <- report{reader: r, seq: m.Seq}
			}
		}()
	}
	slow := dial(t, ts.url, nil)
	var sv view
	require.NoError(t, sv.apply(readType(t, slow, TypeSnapshot)))

	// waitAll waits until every reader is at seq.
	at := make([]uint64, readers)
	waitAll := func(seq uint64) {
		t.Helper()
		deadline := time.After(30 * time.Second)
		for {
			done := true
			for _, s := range at {
				done = done && s >= seq
			}
			if done {
				return
			}
			select {
			case r := <-reports:
				require.NoError(t, r.err)
				at[r.reader] = r.seq
			case <-deadline:
				t.Fatalf("readers did not all reach seq %d: %v", seq, at)
			}
		}
	}
	waitAll(1)

	// Tick in lockstep with the readers until the slow client has fallen
	// behind, and a few ticks more.
	tick, behindAt := 1, 0
	for behindAt == 0 || tick < behindAt+3 {
		tick++
		require.Less(t, tick, 500, "the slow client never fell behind")
		ts.live.publish(big(tick), 0)
		waitAll(uint64(tick))
		if behindAt == 0 && ts.hub.Stats().Resyncs > 0 {
			behindAt = tick
		}
	}

	t.Logf("the slow client fell behind at tick %d", behindAt)

	// The slow client reads again: what was already in flight, then a
	// fresh snapshot. Every delta it gets applies. While it did not read,
	// the ticks after it fell behind may have filled its queue again (how
	// many fit depends on the socket's buffers): each fall-behind the
	// writer serves is one more snapshot, so there are at least one and at
	// most as many as the hub counted.
	snapshots := 0
	for sv.seq < uint64(tick) {
		m := read(t, slow)
		require.NoError(t, sv.apply(m))
		if m.Type == TypeSnapshot {
			snapshots++
		}
	}
	require.GreaterOrEqual(t, snapshots, 1, "a fresh snapshot after falling behind")
	require.LessOrEqual(t, uint64(snapshots), ts.hub.Stats().Resyncs, "no snapshot but after falling behind")
	sv.requireEqual(t, big(tick))

	// Back in step: the next tick is a delta.
	tick++
	ts.live.publish(big(tick), 0)
	waitAll(uint64(tick))
	m := readType(t, slow, TypeDelta)
	require.NoError(t, sv.apply(m))
	require.EqualValues(t, tick, m.Seq)
	sv.requireEqual(t, big(tick))

	require.NoError(t, ts.hub.Close())
	wg.Wait()
	close(reports)
	for r := range reports {
		require.NoError(t, r.err)
	}
}
