package graph

import (
	"context"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/meshscope/meshscope/schema"
)

// benchParties returns n mesh services spread over 20 namespaces.
func benchParties(n int) []Party {
	out := make([]Party, n)
	for i := range out {
		out[i] = Party{Kind: KindService, Namespace: fmt.Sprintf("ns%d", i%20), Name: fmt.Sprintf("svc%d", i),
			Workload: fmt.Sprintf("svc%d-v1", i), Version: "v1"}
	}
	return out
}

// benchEdges returns m distinct (source, destination) index pairs over n nodes.
func benchEdges(n, m int) [][2]int {
	out := make([][2]int, 0, m)
	per := (m + n - 1) / n
	for i := 0; len(out) < m; i++ {
		src := i % n
		out = append(out, [2]int{src, (src + 1 + i/n*(n/per+1)) % n})
	}
	return out
}

func benchObservations(parties []Party, edges [][2]int, n int, at time.Time) []Observation {
	obs := make([]Observation, n)
	for i := range obs {
		e := edges[i%len(edges)]
		obs[i] = Observation{TimeUnixNano: at.UnixNano(), Source: parties[e[0]], Destination: parties[e[1]],
			Protocol: ProtocolHTTP, Count: 1, DurationNanos: int64(1+i%50) * int64(time.Millisecond),
			BytesSent: 200, BytesReceived: 1500, MTLS: 1, Provenance: FromAccessLog, Reporter: ReporterDestination}
	}
	return obs
}

// BenchmarkObserve measures observations per second through the live
// builder, from one goroutine, in batches of 256 over 10,000 edges.
func BenchmarkObserve(b *testing.B) {
	parties := benchParties(1000)
	edges := benchEdges(1000, 10_000)
	bld := NewBuilder(BuilderConfig{})
	obs := benchObservations(parties, edges, 256, time.Now())
	b.ReportAllocs()
	n := 0
	start := time.Now()
	for b.Loop() {
		now := time.Now().UnixNano()
		for i := range obs {
			obs[i].TimeUnixNano = now
			obs[i].Source, obs[i].Destination = parties[edges[(n+i)%len(edges)][0]], parties[edges[(n+i)%len(edges)][1]]
		}
		bld.Observe(obs)
		n += len(obs)
	}
	b.ReportMetric(float64(n)/time.Since(start).Seconds(), "obs/s")
}

// BenchmarkObserveParallel is BenchmarkObserve from GOMAXPROCS goroutines.
func BenchmarkObserveParallel(b *testing.B) {
	parties := benchParties(1000)
	edges := benchEdges(1000, 10_000)
	bld := NewBuilder(BuilderConfig{})
	var total atomic.Int64
	b.ReportAllocs()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		obs := benchObservations(parties, edges, 256, time.Now())
		off := rand.IntN(len(edges))
		for pb.Next() {
			now := time.Now().UnixNano()
			for i := range obs {
				e := edges[(off+i)%len(edges)]
				obs[i].TimeUnixNano, obs[i].Source, obs[i].Destination = now, parties[e[0]], parties[e[1]]
			}
			off += len(obs)
			bld.Observe(obs)
			total.Add(int64(len(obs)))
		}
	})
	b.ReportMetric(float64(total.Load())/time.Since(start).Seconds(), "obs/s")
}

// BenchmarkObserveSpans measures spans per second through the pairer (a
// client and a server span per call, in batches of 256 spans).
func BenchmarkObserveSpans(b *testing.B) {
	bld := NewBuilder(BuilderConfig{MaxPendingSpans: 1 << 20})
	spans := make([]schema.SpanRow, 256)
	for i := range spans {
		s := &spans[i]
		s.Kind, s.ServiceName, s.ServiceNamespace = schema.SpanKindClient, fmt.Sprintf("svc%d", i%50), "shop"
		s.HTTPMethod, s.HTTPStatusCode, s.GRPCStatusCode, s.DurationNanos = "GET", 200, -1, 3e6
		s.SpanID = schema.SpanID{byte(i), 1}
		if i%2 == 1 {
			s.Kind, s.ParentSpanID, s.SpanID = schema.SpanKindServer, spans[i-1].SpanID, schema.SpanID{byte(i), 2}
			s.ServiceName = fmt.Sprintf("svc%d", (i+7)%50)
		}
	}
	b.ReportAllocs()
	var trace uint64
	n := 0
	start := time.Now()
	for b.Loop() {
		now := uint64(time.Now().UnixNano())
		for i := range spans {
			if i%2 == 0 {
				trace++
			}
			spans[i].TraceID = schema.TraceID{byte(trace), byte(trace >> 8), byte(trace >> 16), byte(trace >> 24), byte(trace >> 32)}
			spans[i].StartUnixNano = now
		}
		bld.ObserveSpans(spans)
		n += len(spans)
	}
	b.ReportMetric(float64(n)/time.Since(start).Seconds(), "spans/s")
}

// BenchmarkObserveSpansWaiting is BenchmarkObserveSpans with a quarter of
// the client spans never answered, as calls to databases and external
// hosts are: their entries wait in the store for the span wait (10 s; the
// clock moves 2.5 ms a batch, so about 128,000 of them wait), and the
// other calls' halves, paired within their batch, are checked against it.
func BenchmarkObserveSpansWaiting(b *testing.B) {
	clock := time.Unix(1_800_000_000, 0)
	bld := NewBuilder(BuilderConfig{MaxPendingSpans: 1 << 20, Now: func() time.Time { return clock }})
	spans := make([]schema.SpanRow, 256)
	for i := range spans {
		s := &spans[i]
		s.Kind, s.ServiceName, s.ServiceNamespace = schema.SpanKindClient, fmt.Sprintf("svc%d", i%50), "shop"
		s.HTTPMethod, s.HTTPStatusCode, s.GRPCStatusCode, s.DurationNanos = "GET", 200, -1, 3e6
		s.ServerAddress = fmt.Sprintf("db%d.example.com", i%12)
		if i%2 == 1 && i%16 != 15 {
			s.Kind, s.ParentSpanID = schema.SpanKindServer, schema.SpanID{byte(i - 1)}
			s.ServiceName = fmt.Sprintf("svc%d", (i+7)%50)
		}
	}
	b.ReportAllocs()
	r := rand.New(rand.NewPCG(1, 2))
	n := 0
	start := time.Now()
	for b.Loop() {
		clock = clock.Add(2500 * time.Microsecond)
		bld.pairer.expire(clock.UnixNano(), nil)
		now := uint64(clock.UnixNano())
		for i := range spans {
			s := &spans[i]
			if i%2 == 0 {
				s.TraceID = schema.TraceID{}
				binary.LittleEndian.PutUint64(s.TraceID[:], r.Uint64())
				binary.LittleEndian.PutUint64(s.SpanID[:], r.Uint64())
			} else {
				s.TraceID = spans[i-1].TraceID
				binary.LittleEndian.PutUint64(s.SpanID[:], r.Uint64())
				if s.Kind == schema.SpanKindServer {
					s.ParentSpanID = spans[i-1].SpanID
				}
			}
			s.StartUnixNano = now
		}
		bld.ObserveSpans(spans)
		n += len(spans)
	}
	b.ReportMetric(float64(n)/time.Since(start).Seconds(), "spans/s")
	b.ReportMetric(float64(bld.pairer.pending()), "waiting")
}

// BenchmarkTick measures one tick (window slide, snapshot and delta of all
// three granularities) for 5,000 nodes and 50,000 edges. Each tick a
// sixtieth of the edges sees new calls, so every edge has about one busy
// second in its window and deltas carry real updates.
func BenchmarkTick(b *testing.B) {
	b.Run("one-input", func(b *testing.B) { benchTick(b, false) })
	// Every call also seen by spans (callee's version known) and metrics
	// (no versions), with the access logs knowing the callee by service
	// only: three keys per edge, 150,000 in all, the choice of which count
	// made on every edge at every tick.
	b.Run("three-inputs", func(b *testing.B) { benchTick(b, true) })
}

func benchTick(b *testing.B, mixed bool) {
	parties := benchParties(5000)
	edges := benchEdges(5000, 50_000)
	clk := newFakeClock(time.Now().Truncate(time.Second))
	bld := NewBuilder(BuilderConfig{Now: clk.Now})
	all := benchObservations(parties, edges, len(edges), clk.Now())
	if mixed {
		three := make([]Observation, 0, 3*len(all))
		for _, o := range all {
			access, span, metric := o, o, o
			access.Destination.Workload, access.Destination.Version = "", ""
			span.Provenance = FromSpan
			metric.Provenance = FromMetric
			metric.Source.Version, metric.Destination.Version = "", ""
			three = append(three, access, span, metric)
		}
		all = three
	}
	for s := range 60 {
		at := clk.Add(time.Second)
		part := all[s*len(all)/60 : (s+1)*len(all)/60]
		for i := range part {
			part[i].TimeUnixNano = at.UnixNano()
		}
		bld.Observe(part)
		bld.Advance(at)
	}
	tick := bld.Latest(GranularityService)
	if len(tick.Graph.Nodes) != 5000 || len(tick.Graph.Edges) != 50_000 {
		b.Fatalf("graph has %d nodes, %d edges", len(tick.Graph.Nodes), len(tick.Graph.Edges))
	}
	var requests uint64
	for _, e := range tick.Graph.Edges {
		requests += e.Requests
	}
	if requests != 50_000 {
		b.Fatalf("graph counts %d requests, want 50000 (each call once)", requests)
	}
	b.ReportAllocs()
	s := 0
	updated := 0
	for b.Loop() {
		at := clk.Add(time.Second)
		part := all[(s%60)*len(all)/60 : (s%60+1)*len(all)/60]
		for i := range part {
			part[i].TimeUnixNano = at.UnixNano()
		}
		for i := range part {
			part[i].Count = uint64(1 + s%3)
		}
		bld.Observe(part)
		bld.Advance(at)
		updated += len(bld.Latest(GranularityService).Delta.EdgesUpdated)
		s++
	}
	b.ReportMetric(float64(updated)/float64(s), "updated-edges/tick")
}

// BenchmarkFreshness measures the time from an observation's arrival to its
// appearance in a published delta, with the default one second tick, while
// 2,000 edges carry background traffic. An observation of a new edge arrives
// every 5 ms; each loop iteration lasts one tick.
func BenchmarkFreshness(b *testing.B) {
	parties := benchParties(1000)
	edges := benchEdges(1000, 2000)
	bld := NewBuilder(BuilderConfig{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- bld.Run(ctx) }()
	ticks, end := bld.Subscribe(GranularityService, 16)
	defer end()

	var mu sync.Mutex
	arrived := map[string]time.Time{}
	var lat []time.Duration
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		background := benchObservations(parties, edges, 100, time.Now())
		probe := Party{Kind: KindService, Namespace: "probe"}
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-t.C:
			}
			now := time.Now()
			for j := range background {
				background[j].TimeUnixNano = now.UnixNano()
			}
			bld.Observe(background)
			dst := probe
			dst.Name = fmt.Sprintf("p%d", i)
			id := EdgeID(parties[0].NodeID(GranularityService), dst.NodeID(GranularityService))
			bld.Observe([]Observation{{TimeUnixNano: now.UnixNano(), Source: parties[0], Destination: dst,
				Count: 1, Provenance: FromSpan, Reporter: ReporterDestination}})
			mu.Lock()
			arrived[id] = time.Now()
			mu.Unlock()
		}
	})
	b.ReportAllocs()
	for b.Loop() {
		tick := <-ticks
		seen := time.Now()
		mu.Lock()
		for _, e := range tick.Delta.EdgesAdded {
			if at, ok := arrived[e.ID]; ok {
				lat = append(lat, seen.Sub(at))
				delete(arrived, e.ID)
			}
		}
		mu.Unlock()
	}
	close(stop)
	wg.Wait()
	cancel()
	<-done
	if len(lat) == 0 {
		b.Fatal("no observation reached a delta")
	}
	slices.Sort(lat)
	q := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) / 1000 }
	b.ReportMetric(q(0.5), "p50-ms")
	b.ReportMetric(q(0.99), "p99-ms")
	b.ReportMetric(float64(len(lat)), "samples")
}
