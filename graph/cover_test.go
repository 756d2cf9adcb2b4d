package graph

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// The same calls reach the builder as access log entries (each at its own
// second) and as one metric delta at scrape time: they count once, and the
// edge lists both inputs.
func TestMetricLumpInASecondWithoutLogsCountsOnce(t *testing.T) {
	clk := newFakeClock(t0.Add(30 * time.Second))
	b := NewBuilder(BuilderConfig{Now: clk.Now})
	web, cart := svc("shop", "web"), svc("shop", "cart")
	for s := range 10 {
		b.Observe([]Observation{call(t0.Add(time.Duration(s)*time.Second), web, cart, 2, FromAccessLog, ReporterDestination)})
	}
	b.Observe([]Observation{call(t0.Add(15*time.Second), web, cart, 20, FromMetric, ReporterDestination)})
	// Sampled spans of some of the calls, in seconds the logs cover too.
	b.Observe([]Observation{call(t0.Add(3*time.Second), web, cart, 1, FromSpan, ReporterDestination)})
	b.Advance(clk.Now())
	e := edgeByID(b.Latest(GranularityService).Graph, "service:shop/web->service:shop/cart")
	require.NotNil(t, e)
	require.EqualValues(t, 20, e.Requests)
	require.Equal(t, []string{"span", "accesslog", "metric"}, e.Provenance)

	// An edge only metrics see counts its metric deltas.
	db := svc("shop", "db")
	b.Observe([]Observation{call(t0.Add(12*time.Second), cart, db, 7, FromMetric, ReporterSource)})
	b.Observe([]Observation{call(t0.Add(22*time.Second), cart, db, 5, FromMetric, ReporterSource)})
	b.Advance(clk.Now())
	e = edgeByID(b.Latest(GranularityService).Graph, "service:shop/cart->service:shop/db")
	require.NotNil(t, e)
	require.EqualValues(t, 12, e.Requests)
}
