package slo

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/meshscope/meshscope/schema/chstore"
	"github.com/meshscope/meshscope/schema/chtest"
	"github.com/meshscope/meshscope/slo/alert"
	"github.com/meshscope/meshscope/slo/spec"
)

// S is the start of the incidents of the closed-form scenario.
var S = time.Date(2025, 1, 10, 12, 0, 0, 0, time.UTC)

func at(sec int) time.Time { return S.Add(time.Duration(sec) * time.Second) }

// The scenario: one request a second, all failing during an incident.
// With every request failing, the burn rate over a window w at T is
// 1000 * (failed seconds in [T-w, T)) / w for objective 99.9, so each
// condition turns on and off at a second known in closed form:
//
//	checkout (incident [S, S+600), traffic since S-3d-1h):
//	  page 1h/5m  x14.4: on when 1h holds > 51.84 failures   -> S+52
//	                     off when 5m holds <= 4.32           -> S+896
//	  page 6h/30m x6:    on when 6h holds > 129.6            -> S+130
//	                     off when 30m holds <= 10.8          -> S+2390 (page resolves)
//	  ticket 3d/6h x1:   on when 3d holds > 259.2            -> S+260
//	                     off when 6h holds <= 21.6           -> S+22179
//	gone  (incident [S, S+300), then no traffic): page at S+52, no data from S+600
//	quiet (no failures, no traffic from S):       no data from S+300
//	sparse (one failing request every 20s):       below the guard of 100 per 5m window
const scenarioSpecs = `
slos:
  - name: checkout
    target: {service: shop/checkout}
    sli: availability
    objective: 99.9
    window: 28d
    alerting: {min_requests: 10}
    labels: {team: payments}
  - name: checkout-for
    target: {service: shop/checkout}
    sli: availability
    objective: 99.9
    window: 28d
    alerting: {min_requests: 10, for: 2m, ticket: []}
  - name: sparse
    target: {service: shop/sparse}
    sli: availability
    objective: 99.9
    window: 28d
    alerting: {ticket: []}
  - {name: quiet-keep, target: {service: shop/quiet}, sli: availability, objective: 99.9, window: 28d, alerting: {min_requests: 10, ticket: [], no_data: keep}}
  - {name: quiet-ok, target: {service: shop/quiet}, sli: availability, objective: 99.9, window: 28d, alerting: {min_requests: 10, ticket: [], no_data: ok}}
  - {name: quiet-alert, target: {service: shop/quiet}, sli: availability, objective: 99.9, window: 28d, alerting: {min_requests: 10, ticket: [], no_data: alert, no_data_severity: page}}
  - {name: gone-keep, target: {service: shop/gone}, sli: availability, objective: 99.9, window: 28d, alerting: {min_requests: 10, ticket: [], no_data: keep}}
  - {name: gone-ok, target: {service: shop/gone}, sli: availability, objective: 99.9, window: 28d, alerting: {min_requests: 10, ticket: [], no_data: ok}}
  - {name: gone-alert, target: {service: shop/gone}, sli: availability, objective: 99.9, window: 28d, alerting: {min_requests: 10, ticket: [], no_data: alert, no_data_severity: page}}
`

func seedScenario(t testing.TB, st *chstore.Store) {
	web := "service:shop/web"
	seed(t, st,
		traffic{Source: web, Destination: "service:shop/checkout", From: S.Add(-73 * time.Hour), To: at(22300), BadFrom: S, BadTo: at(600)},
		traffic{Source: web, Destination: "service:shop/sparse", From: S.Add(-7 * time.Hour), To: at(22300), Every: 20 * time.Second, BadFrom: S.Add(-7 * time.Hour), BadTo: at(22300)},
		traffic{Source: web, Destination: "service:shop/quiet", From: S.Add(-2 * time.Hour), To: S},
		traffic{Source: web, Destination: "service:shop/gone", From: S.Add(-7 * time.Hour), To: at(300), BadFrom: S, BadTo: at(300)},
	)
}

// states maps "slo/severity" to the state of every alert that is not inactive.
func states(e *Engine) map[string]alert.State {
	out := map[string]alert.State{}
	for _, a := range e.Alerts() {
		out[a.SLO+"/"+a.Severity] = a.State
	}
	return out
}

func TestEvaluationClosedForm(t *testing.T) {
	st, _ := chtest.Store(t, "meshscope")
	seedScenario(t, st)
	ctx := context.Background()
	clk := &clock{t: S}
	e, _ := newEngine(t, Config{Path: writeSpecs(t, "slos.yaml", scenarioSpecs)}, st, clk)
	require.NoError(t, e.Reload())

	const F, P, R = alert.Firing, alert.Pending, alert.Resolved
	gonePaging := map[string]alert.State{"gone-keep/page": F, "gone-ok/page": F, "gone-alert/page": F}
	with := func(base map[string]alert.State, more map[string]alert.State) map[string]alert.State {
		out := map[string]alert.State{}
		for k, v := range base {
			out[k] = v
		}
		for k, v := range more {
			out[k] = v
		}
		return out
	}
	steps := []struct {
		sec   int
		want  map[string]alert.State
		check func(t *testing.T)
	}{
		{51, map[string]alert.State{}, func(t *testing.T) {
			st, _ := e.Status("checkout")
			require.Equal(t, StateOK, st.State)
			require.InDelta(t, 1000*51.0/3600, st.Conditions[0].Conditions[0].LongBurn, 1e-9)
			sp, _ := e.Status("sparse")
			require.Equal(t, StateLowTraffic, sp.State)
			require.Equal(t, uint64(100), sp.MinRequests)
			require.Equal(t, uint64(15), sp.Windows[0].Requests)
			require.True(t, sp.Conditions[0].LowTraffic)
		}},
		{52, with(gonePaging, map[string]alert.State{"checkout/page": F, "checkout-for/page": P}), func(t *testing.T) {
			st, _ := e.Status("checkout")
			require.Equal(t, StateFiring, st.State)
			page := st.Conditions[0]
			require.True(t, page.Conditions[0].Met)
			require.False(t, page.Conditions[1].Met)
			require.InDelta(t, 1000*52.0/3600, page.Conditions[0].LongBurn, 1e-9)
			require.InDelta(t, 1000*52.0/300, page.Conditions[0].ShortBurn, 1e-9)
			require.InDelta(t, 1-52/(0.001*(73*3600+52)), st.ErrorBudgetRemaining, 1e-9)
			require.Equal(t, StatePending, mustStatus(t, e, "checkout-for").State)

			a := alertOf(t, e, "checkout", spec.SeverityPage)
			require.Equal(t, at(52), a.FiredAt)
			require.Equal(t, map[string]string{"alertname": AlertName, "slo": "checkout", "severity": "page", "service": "shop/checkout", "team": "payments"}, a.Labels)
			require.Equal(t, "14.44", a.Annotations["burn_rate_1h"])
			require.Equal(t, "173.3", a.Annotations["burn_rate_5m"])
			require.Equal(t, "at least 10 requests in each window of a condition", a.Annotations["low_traffic_guard"])
			require.Equal(t, "service:shop/web -> service:shop/checkout: 52 bad of 3600", a.Annotations["top_failing_edges"])
			require.Equal(t, at(52).UTC().Format(time.RFC3339), a.Annotations["examples_at"], "found when the alert fired")
			require.Len(t, strings.Split(a.Annotations["trace_ids"], ", "), 5)
			require.True(t, strings.HasPrefix(a.Annotations["trace_ids"], fmt.Sprintf("5a00000000000000%016x", at(51).Unix())), a.Annotations["trace_ids"])
			require.Contains(t, a.Annotations["summary"], "burning its error budget 14.44x (page)")
		}},
		{129, with(gonePaging, map[string]alert.State{"checkout/page": F, "checkout-for/page": P}), func(t *testing.T) {
			require.False(t, mustStatus(t, e, "checkout").Conditions[0].Conditions[1].Met)
		}},
		{130, with(gonePaging, map[string]alert.State{"checkout/page": F, "checkout-for/page": P}), func(t *testing.T) {
			require.True(t, mustStatus(t, e, "checkout").Conditions[0].Conditions[1].Met)
		}},
		{171, with(gonePaging, map[string]alert.State{"checkout/page": F, "checkout-for/page": P}), nil},
		{172, with(gonePaging, map[string]alert.State{"checkout/page": F, "checkout-for/page": F}), nil},
		{259, with(gonePaging, map[string]alert.State{"checkout/page": F, "checkout-for/page": F}), nil},
		{260, with(gonePaging, map[string]alert.State{"checkout/page": F, "checkout-for/page": F, "checkout/ticket": F}), nil},
		{300, with(gonePaging, map[string]alert.State{"checkout/page": F, "checkout-for/page": F, "checkout/ticket": F, "quiet-alert/page": F}), func(t *testing.T) {
			q := mustStatus(t, e, "quiet-alert")
			require.Equal(t, StateFiring, q.State)
			require.True(t, q.NoData)
			a := alertOf(t, e, "quiet-alert", spec.SeverityPage)
			require.True(t, a.NoData)
			require.Equal(t, "true", a.Annotations["no_data"])
			require.Equal(t, StateNoData, mustStatus(t, e, "quiet-keep").State)
			require.Equal(t, StateNoData, mustStatus(t, e, "quiet-ok").State)
		}},
		{600, map[string]alert.State{"checkout/page": F, "checkout-for/page": F, "checkout/ticket": F, "quiet-alert/page": F,
			"gone-keep/page": F, "gone-ok/page": R, "gone-alert/page": F}, func(t *testing.T) {
			require.True(t, mustStatus(t, e, "gone-keep").NoData)
			require.True(t, alertOf(t, e, "gone-alert", spec.SeverityPage).NoData)
			require.False(t, alertOf(t, e, "gone-keep", spec.SeverityPage).NoData)
		}},
		{895, map[string]alert.State{"checkout/page": F, "checkout-for/page": F, "checkout/ticket": F, "quiet-alert/page": F,
			"gone-keep/page": F, "gone-ok/page": R, "gone-alert/page": F}, func(t *testing.T) {
			require.True(t, mustStatus(t, e, "checkout").Conditions[0].Conditions[0].Met)
		}},
		{896, map[string]alert.State{"checkout/page": F, "checkout-for/page": F, "checkout/ticket": F, "quiet-alert/page": F,
			"gone-keep/page": F, "gone-ok/page": R, "gone-alert/page": F}, func(t *testing.T) {
			page := mustStatus(t, e, "checkout").Conditions[0]
			require.False(t, page.Conditions[0].Met)
			require.True(t, page.Conditions[1].Met)
			// A restarted engine restores every alert from slo_alerts and
			// changes nothing at its first evaluation.
			before := countHistory(t, st)
			e2, _ := newEngine(t, Config{Path: e.cfg.Path}, st, clk)
			require.NoError(t, e2.Reload())
			require.NoError(t, e2.EvaluateAt(ctx, at(897)))
			require.Equal(t, states(e), states(e2))
			require.Equal(t, at(52), alertOf(t, e2, "checkout", spec.SeverityPage).FiredAt)
			require.Equal(t, before, countHistory(t, st))
		}},
		{2389, map[string]alert.State{"checkout/page": F, "checkout-for/page": F, "checkout/ticket": F, "quiet-alert/page": F,
			"gone-keep/page": F, "gone-alert/page": F}, nil},
		{2390, map[string]alert.State{"checkout/page": R, "checkout-for/page": R, "checkout/ticket": F, "quiet-alert/page": F,
			"gone-keep/page": F, "gone-alert/page": F}, func(t *testing.T) {
			require.Equal(t, StateLowTraffic, mustStatus(t, e, "sparse").State)
		}},
		{22178, map[string]alert.State{"checkout/ticket": F, "quiet-alert/page": F, "gone-keep/page": F, "gone-alert/page": F}, nil},
		{22179, map[string]alert.State{"checkout/ticket": R, "quiet-alert/page": F, "gone-keep/page": F, "gone-alert/page": F}, nil},
	}
	for _, s := range steps {
		t.Run(fmt.Sprintf("S+%d", s.sec), func(t *testing.T) {
			clk.Set(at(s.sec))
			require.NoError(t, e.EvaluateAt(ctx, at(s.sec)))
			require.Equal(t, s.want, states(e))
			if s.check != nil {
				s.check(t)
			}
		})
	}

	t.Run("history", func(t *testing.T) {
		got, err := e.History(ctx, HistoryQuery{SLO: "checkout"})
		require.NoError(t, err)
		var events []string
		for _, ev := range got {
			events = append(events, fmt.Sprintf("%s %s->%s S+%d", ev.Severity, ev.PreviousState, ev.State, int(ev.Time.Sub(S).Seconds())))
		}
		require.Equal(t, []string{
			"ticket firing->resolved S+22179",
			"page firing->resolved S+2390",
			"ticket inactive->firing S+260",
			"page inactive->firing S+52",
		}, events)
		first := got[len(got)-1]
		require.InDelta(t, 1000*52.0/3600, first.BurnRates["1h"], 1e-9)
		require.Equal(t, uint64(300), first.Requests["5m"])
		require.Equal(t, "payments", first.Labels["team"])
		require.NotEmpty(t, first.Annotations["top_failing_edges"])

		got, err = e.History(ctx, HistoryQuery{SLO: "checkout-for"})
		require.NoError(t, err)
		events = events[:0]
		for _, ev := range got {
			events = append(events, fmt.Sprintf("%s->%s S+%d", ev.PreviousState, ev.State, int(ev.Time.Sub(S).Seconds())))
		}
		require.Equal(t, []string{"firing->resolved S+2390", "pending->firing S+172", "inactive->pending S+52"}, events)
	})

	t.Run("metrics", func(t *testing.T) {
		m := e.metrics
		require.Equal(t, alert.Resolved.Value(), testutil.ToFloat64(m.alertState.WithLabelValues("checkout", "ticket")))
		require.Equal(t, alert.Inactive.Value(), testutil.ToFloat64(m.alertState.WithLabelValues("checkout", "page")))
		// At S+22179 the 6h window holds 21 failures of 21600.
		require.InDelta(t, 1000*21.0/21600, testutil.ToFloat64(m.burn.WithLabelValues("checkout", "6h")), 1e-9)
		require.InDelta(t, 1-600.0/(73*3600+22179), testutil.ToFloat64(m.sli.WithLabelValues("checkout")), 1e-12)
		require.InDelta(t, 1-600/(0.001*(73*3600+22179)), testutil.ToFloat64(m.budget.WithLabelValues("checkout")), 1e-9)
	})

	t.Run("backtest replays the same alerts", func(t *testing.T) {
		checkout, ok := e.Lookup("checkout")
		require.True(t, ok)
		res, err := Backtest(ctx, st.Conn(), &checkout, BacktestQuery{From: at(-60), To: at(22200), Step: time.Second})
		require.NoError(t, err)
		require.Equal(t, []string{"page S+52..S+2390 peak 166.7", "ticket S+260..S+22179 peak 2.315"}, periods(res.Firings))
		require.Equal(t, 22261, res.Evaluations)
		require.Equal(t, alert.Counts{Total: 22260, Bad: 600}, res.Counts)

		res, err = e.Backtest(ctx, &checkout, BacktestQuery{From: at(-60), To: at(22200)})
		require.NoError(t, err)
		require.Equal(t, "30s", res.Step)
		require.Equal(t, []string{"page S+60..S+2400 peak 166.7", "ticket S+270..S+22200 peak 2.315"}, periods(res.Firings))

		withFor, _ := e.Lookup("checkout-for")
		res, err = Backtest(ctx, st.Conn(), &withFor, BacktestQuery{From: at(-60), To: at(1000), Step: time.Second})
		require.NoError(t, err)
		require.Len(t, res.Firings, 1)
		require.Equal(t, at(52), res.Firings[0].PendingSince)
		require.Equal(t, at(172), res.Firings[0].Start)
		require.Nil(t, res.Firings[0].End, "still firing at the end of the range")

		_, err = Backtest(ctx, st.Conn(), &checkout, BacktestQuery{From: at(0), To: at(100), Step: 7 * time.Second})
		require.EqualError(t, err, "step: window 5m is not a multiple of the step 7s")
	})
}

func periods(ps []alert.Period) []string {
	var out []string
	for _, p := range ps {
		end := "open"
		if p.End != nil {
			end = fmt.Sprintf("S+%d", int(p.End.Sub(S).Seconds()))
		}
		out = append(out, fmt.Sprintf("%s S+%d..%s peak %.4g", p.Severity, int(p.Start.Sub(S).Seconds()), end, p.PeakBurn))
	}
	sort.Strings(out)
	return out
}

func mustStatus(t *testing.T, e *Engine, name string) Status {
	t.Helper()
	st, ok := e.Status(name)
	require.True(t, ok, name)
	return st
}

func alertOf(t *testing.T, e *Engine, slo, severity string) AlertView {
	t.Helper()
	for _, a := range e.Alerts() {
		if a.SLO == slo && a.Severity == severity {
			return a
		}
	}
	t.Fatalf("no %s alert for %s", severity, slo)
	return AlertView{}
}

func countHistory(t *testing.T, st *chstore.Store) uint64 {
	t.Helper()
	var n uint64
	require.NoError(t, st.Conn().QueryRow(context.Background(), "SELECT count() FROM slo_alerts").Scan(&n))
	return n
}
