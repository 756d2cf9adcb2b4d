package stream

import (
	"bytes"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/meshscope/meshscope/graph"
)

// BenchmarkWebsocketFanout measures how long a tick takes to reach 500
// websocket subscribers (real gorilla clients over loopback) at one tick per
// second on a 1,000-node, 2,000-edge graph. Each iteration is one tick; run
// it with -benchtime=20x or more. changed is the share of nodes and edges
// whose numbers change per tick (a live window changes most of them).
func BenchmarkWebsocketFanout(b *testing.B) {
	for _, changed := range []int{10, 100} {
		b.Run(fmt.Sprintf("changed=%d%%", changed), func(b *testing.B) {
			benchmarkFanout(b, 500, 1000, changed, time.Second)
		})
	}
}

func benchmarkFanout(b *testing.B, clients, nodes, changedPct int, interval time.Duration) {
	ts := newTestServer(b, Config{WriteTimeout: time.Minute})
	svc := graph.GranularityService
	base := meshGraph(svc, nodes, 0, namespaces, 0)
	ts.live.publish(base, 0)

	var published sync.Map                       // seq -> time.Time
	received := make([][]time.Duration, clients) // lags, per client
	var lastSeq sync.Map                         // client -> seq
	var wg sync.WaitGroup
	conns := make([]*websocket.Conn, clients)
	// Clients read into a reused buffer: what the benchmark measures is the
	// server, and the clients share its CPUs.
	dialer := websocket.Dialer{ReadBufferSize: 64 << 10}
	for i := range clients {
		conn, resp, err := dialer.Dial(ts.url, nil)
		if err != nil {
			b.Fatal(err)
		}
		_ = resp.Body.Close()
		conns[i] = conn
		wg.Add(1)
		go func() {
			defer wg.Done()
			var buf bytes.Buffer
			for {
				_, r, err := conn.NextReader()
				if err != nil {
					return
				}
				buf.Reset()
				if _, err := buf.ReadFrom(r); err != nil {
					return
				}
				now := time.Now()
				data := buf.Bytes()
				seq := seqOf(data)
				if at, ok := published.Load(seq); ok && bytes.Contains(data[:min(len(data), 64)], []byte(`"type":"delta"`)) {
					received[i] = append(received[i], now.Sub(at.(time.Time)))
				}
				lastSeq.Store(i, seq)
			}
		}()
	}
	waitSeq := func(seq uint64) {
		deadline := time.Now().Add(time.Minute)
		for i := range clients {
			for {
				if s, ok := lastSeq.Load(i); ok && s.(uint64) >= seq {
					break
				}
				if time.Now().After(deadline) {
					b.Fatalf("client %d did not reach seq %d", i, seq)
				}
				time.Sleep(time.Millisecond)
			}
		}
	}
	waitSeq(1)

	tick := 0
	next := time.Now()
	var bytesPerTick int
	b.ReportAllocs()
	for b.Loop() {
		tick++
		g := mutate(base, tick, changedPct)
		time.Sleep(time.Until(next))
		next = next.Add(interval)
		published.Store(ts.live.Latest(svc).Seq+1, time.Now())
		t := ts.live.publish(g, 0)
		if bytesPerTick == 0 {
			bytesPerTick = len(mustJSON(t.Delta))
		}
	}
	waitSeq(uint64(tick + 1))
	b.StopTimer()
	for _, c := range conns {
		_ = c.Close()
	}
	wg.Wait()

	var lags []time.Duration
	for _, r := range received {
		lags = append(lags, r...)
	}
	slices.Sort(lags)
	if len(lags) == 0 {
		b.Fatal("no deltas received")
	}
	q := func(p float64) float64 {
		return float64(lags[min(len(lags)-1, int(p*float64(len(lags))))].Microseconds()) / 1000
	}
	b.ReportMetric(q(0.50), "p50-lag-ms")
	b.ReportMetric(q(0.99), "p99-lag-ms")
	b.ReportMetric(float64(lags[len(lags)-1].Microseconds())/1000, "max-lag-ms")
	b.ReportMetric(float64(bytesPerTick), "delta-bytes")
	b.ReportMetric(float64(len(lags)), "deliveries")
	b.ReportMetric(0, "ns/op")
}

// mutate changes the numbers of changedPct % of base's nodes and edges.
func mutate(base *graph.Graph, tick, changedPct int) *graph.Graph {
	g := *base
	g.To = base.To.Add(time.Duration(tick) * time.Second)
	g.Nodes = slices.Clone(base.Nodes)
	g.Edges = slices.Clone(base.Edges)
	for i := range g.Nodes {
		if (i+tick)%100 < changedPct {
			g.Nodes[i].RequestsIn += uint64(tick)
			g.Nodes[i].RPSIn += float64(tick)
		}
	}
	for i := range g.Edges {
		if (i+tick)%100 < changedPct {
			g.Edges[i].Requests += uint64(tick)
			g.Edges[i].P99Ms += float64(tick)
		}
	}
	return &g
}

// seqOf reads "seq":N from the start of a message without decoding it.
func seqOf(data []byte) uint64 {
	i := bytes.Index(data[:min(len(data), 128)], []byte(`"seq":`))
	if i < 0 {
		return 0
	}
	rest := data[i+6:]
	j := 0
	for j < len(rest) && rest[j] >= '0' && rest[j] <= '9' {
		j++
	}
	n, _ := strconv.ParseUint(string(rest[:j]), 10, 64)
	return n
}
