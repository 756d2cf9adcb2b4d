package graph

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/meshscope/meshscope/schema"
)

// Many goroutines observe calls and spans while the builder ticks: every
// call is counted once.
func TestConcurrentObserveWhileTicking(t *testing.T) {
	clk := newFakeClock(t0.Add(30 * time.Second))
	b := NewBuilder(BuilderConfig{Now: clk.Now, Tick: time.Millisecond * 10, Shards: 4})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.Run(ctx) }()

	const workers, perWorker, services = 8, 500, 7
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			obs := make([]Observation, 0, 10)
			for i := range perWorker {
				src := svc("ns", fmt.Sprintf("s%d", (w+i)%services))
				dst := svc("ns", fmt.Sprintf("s%d", i%services))
				obs = append(obs, call(t0.Add(time.Duration(i%20)*time.Second), src, dst, 1, FromAccessLog, ReporterDestination))
				if len(obs) == cap(obs) {
					b.Observe(obs)
					obs = obs[:0]
				}
			}
			b.Observe(obs)
		})
		wg.Go(func() {
			for i := range perWorker {
				var tr schema.TraceID
				tr[0], tr[1], tr[2] = byte(w), byte(i), byte(i>>8)
				client := schema.SpanRow{TraceID: tr, SpanID: schema.SpanID{1}, Kind: schema.SpanKindClient,
					ServiceName: "front", ServiceNamespace: "ns", StartUnixNano: uint64(t0.Add(time.Second).UnixNano()), GRPCStatusCode: -1}
				server := schema.SpanRow{TraceID: tr, SpanID: schema.SpanID{2}, ParentSpanID: schema.SpanID{1}, Kind: schema.SpanKindServer,
					ServiceName: "back", ServiceNamespace: "ns", StartUnixNano: uint64(t0.Add(time.Second).UnixNano()), GRPCStatusCode: -1}
				if i%2 == 0 {
					b.ObserveSpans([]schema.SpanRow{client})
					b.ObserveSpans([]schema.SpanRow{server})
				} else {
					b.ObserveSpans([]schema.SpanRow{server, client})
				}
			}
		})
	}
	wg.Wait()
	cancel()
	require.NoError(t, <-done)
	b.Advance(clk.Now())
	g := b.Latest(GranularityService).Graph
	var total, spans uint64
	for _, e := range g.Edges {
		if e.ID == "service:ns/front->service:ns/back" {
			spans = e.Requests
		} else {
			total += e.Requests
		}
	}
	require.EqualValues(t, workers*perWorker, total)
	require.EqualValues(t, workers*perWorker, spans)
	require.Zero(t, b.pairer.pending())
	custom, err := b.Graph(GranularityService, time.Minute)
	require.NoError(t, err)
	require.Equal(t, len(g.Edges), len(custom.Edges))
}
