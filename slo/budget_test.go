package slo

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/meshscope/meshscope/schema"
	"github.com/meshscope/meshscope/schema/chtest"
	"github.com/meshscope/meshscope/slo/sli"
)

// The error budget read through the hourly cache equals the budget read
// from raw rows alone, across hour boundaries, and rows that arrive late
// into a recently cached hour are counted once the next hour is cached.
func TestBudgetCache(t *testing.T) {
	st, _ := chtest.Store(t, "meshscope")
	seed(t, st, traffic{Source: "service:shop/web", Destination: "service:shop/checkout", From: S.Add(-5 * time.Hour), To: S.Add(5 * time.Hour), Every: 10 * time.Second,
		BadFrom: S.Add(-2 * time.Hour), BadTo: S.Add(-2*time.Hour + 5*time.Minute)})
	e, _ := newEngine(t, Config{Path: writeSpecs(t, "slos.yaml", deliverySpecs)}, st, &clock{t: S})
	require.NoError(t, e.Reload())
	ctx := context.Background()
	s, ok := e.Lookup("checkout")
	require.True(t, ok)
	raw := func(at time.Time) sli.HourCounts {
		smp, err := sli.Windows(ctx, st.Conn(), sli.WindowsQuery{SLO: &s, At: at, Windows: s.Windows(), BudgetStart: s.Window.Start(at)})
		require.NoError(t, err)
		return sli.HourCounts{Requests: smp.Budget}
	}
	check := func(at time.Time) {
		t.Helper()
		require.NoError(t, e.EvaluateAt(ctx, at))
		got := mustStatus(t, e, "checkout").Budget
		require.Equal(t, raw(at).Requests, got, "at %s", at)
		require.Positive(t, got.Bad)
	}
	for _, d := range []time.Duration{0, 30 * time.Minute, 75 * time.Minute} {
		check(S.Add(d))
	}
	c := e.budgets["checkout"]
	require.Equal(t, S.Add(time.Hour).Unix(), c.to(), "hours up to S+1h are cached at S+1h15m")

	// A row arriving late into the cached hour [S, S+1h) is missing until
	// the next hour is cached, which reads the last two cached hours again.
	late := schema.Batch{Requests: []schema.RequestRow{{StartUnixNano: uint64(S.Add(20 * time.Minute).UnixNano()), Reporter: "destination",
		Source: "service:shop/web", Destination: "service:shop/checkout", Protocol: "HTTP/1.1", ResponseCode: 500, GRPCStatus: -1}}}
	require.NoError(t, st.Write(ctx, &late))
	require.NoError(t, e.EvaluateAt(ctx, S.Add(80*time.Minute)))
	require.Equal(t, raw(S.Add(80*time.Minute)).Requests.Bad-1, mustStatus(t, e, "checkout").Budget.Bad)
	check(S.Add(2*time.Hour + 20*time.Minute))
	check(S.Add(4*time.Hour + 11*time.Minute))
	require.Equal(t, S.Add(4*time.Hour).Unix(), e.budgets["checkout"].to())
}
