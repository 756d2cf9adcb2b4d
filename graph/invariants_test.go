package graph

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/meshscope/meshscope/schema"
)

// runOps drives a builder with the operations encoded in ops, three bytes
// each, and then checks that every granularity's tick graph (kept up
// incrementally as calls arrive and the window slides) equals the graph
// computed afresh from the per-second cells (Builder.Graph). Calls of every
// kind go in: every provenance and reporter, known, unknown and histogram
// latencies, errors, bytes, seconds in the past, the present and the future,
// with a writer flushing buckets and a snapshot taken and restored midway.
func runOps(t *testing.T, ops []byte) {
	clk := newFakeClock(t0)
	w := &memWriter{}
	path := t.TempDir() + "/snap"
	b := NewBuilder(BuilderConfig{Now: clk.Now, Writer: w, SnapshotPath: path, FlushDelay: 10 * time.Second, SpanWait: 5 * time.Second})
	parties := []Party{svc("shop", "web"), {Kind: KindService, Namespace: "shop", Name: "cart", Workload: "cart-v1", Version: "v1"},
		{Kind: KindService, Namespace: "shop", Name: "cart", Workload: "cart-v2", Version: "v2"}, {Kind: KindDatabase, Name: "postgresql/orders"},
		{Kind: KindClient}}
	provs := []Provenance{FromSpan, FromAccessLog, FromMetric}
	restored := false
	for len(ops) >= 3 {
		op, x, y := ops[0], ops[1], ops[2]
		ops = ops[3:]
		switch op % 4 {
		case 0, 1: // a call
			n := uint8(len(parties))
			o := call(clk.Now().Add(time.Duration(int(x%12)-9)*time.Second), parties[x%n], parties[(x/n+1+op/4)%n],
				uint64(1+y%5), provs[y/5%3], Reporter(y/15%3))
			o.Protocol = Protocol(1 + op/8%4) // http, grpc, tcp, db
			o.Errors = uint64(op/16) % (o.Count + 1)
			o.BytesSent, o.BytesReceived, o.MTLS = uint64(y), uint64(x), uint64(op/32)%(o.Count+1)
			if x%11 == 0 { // bytes alone, or nothing at all (invalid)
				o.Count, o.Errors, o.MTLS = 0, 0, 0
			}
			switch uint64(y/45%3) * min(o.Count, 1) {
			case 1:
				o.DurationNanos = -1
			case 2:
				o.Latency = &Histogram{}
				o.Latency[int(x)%HistogramSize] = o.Count - 1
				o.Latency[int(y)%HistogramSize]++
			}
			b.Observe([]Observation{o})
		case 2: // time passes
			b.Advance(clk.Add(time.Duration(1+x%15) * time.Second))
		case 3: // a snapshot is taken and a new builder restores it, once
			if restored || y%4 != 0 {
				continue
			}
			restored = true
			snap := newSnapshot(clk.Now().Unix(), b.nextFlush, 0)
			for i := range b.shards {
				b.shards[i].each(func(e *edgeState) bool { snap.add(e); return false })
			}
			snap.end()
			b.writeSnapshot(snap)
			b = NewBuilder(b.cfg)
			if _, err := b.Restore(); err != nil {
				t.Fatal(err)
			}
		}
	}
	b.Advance(clk.Add(time.Second))
	checkTickEqualsCells(t, b)
}

// checkTickEqualsCells compares every granularity's last tick graph with the
// graph computed afresh from the cells.
func checkTickEqualsCells(t *testing.T, b *Builder) {
	t.Helper()
	for _, g := range Granularities {
		tick := b.Latest(g).Graph
		fresh, err := b.Graph(g, b.cfg.Window)
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]Edge{}
		for _, e := range fresh.Edges {
			want[e.ID] = e
		}
		if len(tick.Edges) != len(fresh.Edges) {
			t.Fatalf("%s: tick has %d edges, cells %d", g, len(tick.Edges), len(fresh.Edges))
		}
		for _, e := range tick.Edges {
			f, ok := want[e.ID]
			switch {
			case !ok:
				t.Fatalf("%s: edge %s only in the tick", g, e.ID)
			case e.Requests != f.Requests || e.Errors != f.Errors || e.BytesSent != f.BytesSent || e.BytesReceived != f.BytesReceived:
				t.Fatalf("%s: edge %s: tick %+v, cells %+v", g, e.ID, e, f)
			case e.P50Ms != f.P50Ms || e.P99Ms != f.P99Ms || e.MeanMs != f.MeanMs || e.MTLSShare != f.MTLSShare:
				t.Fatalf("%s: edge %s latency or mTLS: tick %+v, cells %+v", g, e.ID, e, f)
			}
		}
	}
}

func FuzzBuilderInvariants(f *testing.F) {
	f.Add([]byte{0, 1, 2, 2, 1, 0, 1, 9, 200, 2, 14, 0, 0, 33, 90, 3, 0, 0, 0, 2, 3})
	f.Add([]byte{0, 5, 50, 0, 5, 50, 0, 5, 100, 0, 5, 100, 2, 3, 0})
	r := rand.New(rand.NewPCG(1, 2))
	for range 8 {
		f.Add(randomOps(r, 3, 20, 120))
	}
	f.Fuzz(runOps)
}

// TestBuilderInvariantsRandom runs many random operation sequences through
// runOps on every test run (the fuzz target explores further).
func TestBuilderInvariantsRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 11))
	for range 300 {
		runOps(t, randomOps(r, 3, 10, 160))
	}
}

// runSpanOps feeds the span pairer spans made from ops, four bytes each:
// few trace and span ids (so that parents, children, duplicates and
// orphans meet), every kind, HTTP, gRPC, database, messaging and external
// calls, proxy spans, attribute lists of odd lengths; time passes now and
// then. Nothing may panic and the tick must equal the cells.
func runSpanOps(t *testing.T, ops []byte) {
	clk := newFakeClock(t0)
	b := NewBuilder(BuilderConfig{Now: clk.Now, SpanWait: 3 * time.Second})
	services := []string{"web", "cart", "", "pay"}
	attrs := [][2][]string{
		{nil, nil},
		{{"db.system", "db.name"}, {"postgresql", "orders"}},
		{{"messaging.system", "messaging.destination.name"}, {"kafka", "orders"}},
		{{"http.url"}, {"https://api.stripe.com/v1/charges"}},
		{{"component", "upstream_cluster", "istio.canonical_service", "istio.namespace", "node_id"}, {"proxy", "outbound|80||cart.shop.svc.cluster.local", "web", "shop", "sidecar~10.0.0.1~web-1.shop~shop.svc.cluster.local"}},
		{{"rpc.system", "http.status_code", "response_flags"}, {"grpc", "503", "UF"}},
		{{"http.request.body.size", "net.peer.name", "dangling"}, {"12", "cart"}},
		{{"peer.service"}, {"legacy"}},
	}
	var batch []schema.SpanRow
	for len(ops) >= 4 {
		op, x, y, z := ops[0], ops[1], ops[2], ops[3]
		ops = ops[4:]
		if op%8 == 7 {
			b.ObserveSpans(batch)
			batch = batch[:0]
			b.Advance(clk.Add(time.Duration(1+x%5) * time.Second))
			continue
		}
		a := attrs[y%8]
		s := schema.SpanRow{
			StartUnixNano:  uint64(clk.Now().Add(time.Duration(int(z%8)-6) * time.Second).UnixNano()),
			DurationNanos:  uint64(z) * uint64(time.Millisecond),
			TraceID:        schema.TraceID{x % 3},
			SpanID:         schema.SpanID{1 + y%6},
			Kind:           op % 6,
			StatusCode:     z % 3,
			ServiceName:    services[x/3%4],
			Workload:       services[x/12%4],
			ServiceVersion: fmt.Sprint("v", op/64),
			HTTPStatusCode: uint16(200 + 100*int(z%4)),
			GRPCStatusCode: int16(z%20) - 1,
			AttrKeys:       a[0], AttrValues: a[1],
		}
		if op/8%2 == 1 {
			s.ParentSpanID = schema.SpanID{1 + x%6}
		}
		if op/16%2 == 1 {
			s.ServiceNamespace = "shop"
		}
		batch = append(batch, s)
	}
	b.ObserveSpans(batch)
	b.Advance(clk.Add(10 * time.Second))
	checkTickEqualsCells(t, b)
}

func FuzzObserveSpans(f *testing.F) {
	f.Add([]byte{2, 0, 0, 3, 3, 0, 1, 3, 7, 1, 0, 0, 12, 1, 2, 4, 4, 1, 3, 5, 7, 4, 0, 0})
	r := rand.New(rand.NewPCG(3, 4))
	for range 8 {
		f.Add(randomOps(r, 4, 20, 120))
	}
	f.Fuzz(runSpanOps)
}

// TestObserveSpansRandom runs random span sequences through runSpanOps on
// every test run.
func TestObserveSpansRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for range 300 {
		runSpanOps(t, randomOps(r, 4, 10, 160))
	}
}

// randomOps is between lo and hi (excluded) random operations of size bytes
// each.
func randomOps(r *rand.Rand, size, lo, hi int) []byte {
	ops := make([]byte, size*(lo+r.IntN(hi-lo)))
	for i := range ops {
		ops[i] = byte(r.UintN(256))
	}
	return ops
}
