package alert

import (
	"math"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/meshscope/meshscope/slo/spec"
)

func resolved(t *testing.T, yaml string) *spec.SLO {
	t.Helper()
	p, err := spec.ParseOne([]byte(yaml), spec.DefaultAlerting())
	require.NoError(t, err)
	return &p.Resolved
}

const checkout = `
name: checkout
target: {service: shop/checkout}
sli: availability
objective: 99.9
window: 28d
alerting: {min_requests: 10}
`

func TestBurnRateAndBudget(t *testing.T) {
	for _, tc := range []struct {
		name      string
		c         Counts
		objective float64
		burn      float64
		budget    float64
	}{
		{"no errors", Counts{Total: 1000}, 99.9, 0, 1},
		{"exactly on budget", Counts{Total: 1000, Bad: 1}, 99.9, 1, 0},
		{"14.4x", Counts{Total: 10000, Bad: 144}, 99.9, 14.4, -13.4},
		{"half spent", Counts{Total: 2000, Bad: 10}, 99.0, 0.5, 0.5},
		{"no requests", Counts{}, 99.9, 0, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.InDelta(t, tc.burn, BurnRate(tc.c, tc.objective), 1e-9)
			require.InDelta(t, tc.budget, BudgetRemaining(tc.c, tc.objective), 1e-9)
		})
	}
	require.True(t, math.IsNaN(Counts{}.SLI()))
}

// sample builds a sample with the given bad and total per window.
func sample(s *spec.SLO, at time.Time, counts map[time.Duration]Counts) *Sample {
	smp := &Sample{At: at, Windows: s.Windows()}
	for _, w := range smp.Windows {
		smp.Counts = append(smp.Counts, counts[w])
	}
	return smp
}

func TestJudge(t *testing.T) {
	s := resolved(t, checkout)
	h, m := time.Hour, time.Minute
	for _, tc := range []struct {
		name       string
		counts     map[time.Duration]Counts
		page       []bool // met per page condition
		ticket     bool
		lowTraffic bool
		noData     bool
	}{
		{"healthy", map[time.Duration]Counts{5 * m: {300, 0}, 30 * m: {1800, 0}, h: {3600, 0}, 6 * h: {21600, 0}, 72 * h: {259200, 0}}, []bool{false, false}, false, false, false},
		{"fast burn", map[time.Duration]Counts{5 * m: {300, 52}, 30 * m: {1800, 52}, h: {3600, 52}, 6 * h: {21600, 52}, 72 * h: {259200, 52}}, []bool{true, false}, false, false, false},
		{"just under 14.4 in 1h", map[time.Duration]Counts{5 * m: {300, 51}, 30 * m: {1800, 51}, h: {3600, 51}, 6 * h: {21600, 51}, 72 * h: {259200, 51}}, []bool{false, false}, false, false, false},
		{"long without short", map[time.Duration]Counts{5 * m: {300, 1}, 30 * m: {1800, 10}, h: {3600, 100}, 6 * h: {21600, 200}, 72 * h: {259200, 300}}, []bool{false, false}, true, false, false},
		{"guarded short window", map[time.Duration]Counts{5 * m: {9, 9}, 30 * m: {9, 9}, h: {9, 9}, 6 * h: {50, 9}, 72 * h: {50, 9}}, []bool{false, false}, true, false, false},
		{"everything guarded", map[time.Duration]Counts{5 * m: {1, 1}, 30 * m: {2, 2}, h: {3, 3}, 6 * h: {4, 4}, 72 * h: {5, 5}}, []bool{false, false}, false, true, false},
		{"no data", map[time.Duration]Counts{30 * m: {20, 0}, h: {40, 0}, 6 * h: {400, 0}, 72 * h: {400, 0}}, []bool{false, false}, false, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			verdicts, noData := Judge(s, sample(s, time.Unix(0, 0), tc.counts))
			require.Equal(t, tc.noData, noData)
			require.Len(t, verdicts, 2)
			page, ticket := verdicts[0], verdicts[1]
			require.Equal(t, spec.SeverityPage, page.Severity)
			var met []bool
			for _, c := range page.Conditions {
				met = append(met, c.Met)
			}
			require.Equal(t, tc.page, met)
			require.Equal(t, slices.Contains(tc.page, true), page.Met)
			require.Equal(t, tc.ticket, ticket.Met)
			require.Equal(t, tc.lowTraffic, page.LowTraffic && ticket.LowTraffic)
		})
	}
}

func TestStep(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	type step struct {
		t     int
		in    Input
		state State
		tr    bool
	}
	for _, tc := range []struct {
		name  string
		forD  time.Duration
		steps []step
	}{
		{"fires at once without for", 0, []step{
			{0, Input{}, Inactive, false},
			{30, Input{Met: true}, Firing, true},
			{60, Input{Met: true}, Firing, false},
			{90, Input{}, Resolved, true},
			{120, Input{}, Resolved, false},
			{90 + 900, Input{}, Inactive, true},
		}},
		{"pending for two minutes", 2 * time.Minute, []step{
			{0, Input{Met: true}, Pending, true},
			{90, Input{Met: true}, Pending, false},
			{120, Input{Met: true}, Firing, true},
			{150, Input{}, Resolved, true},
			{180, Input{Met: true}, Pending, true},
			{210, Input{}, Inactive, true},
		}},
		{"keep holds every state", time.Minute, []step{
			{0, Input{Met: true}, Pending, true},
			{600, Input{Keep: true}, Pending, false},
			{660, Input{Met: true}, Firing, true},
			{720, Input{Keep: true}, Firing, false},
			{750, Input{}, Resolved, true},
			{800, Input{Keep: true}, Resolved, false},
			{750 + 900, Input{Keep: true}, Inactive, true},
		}},
		{"fires again after resolving", 0, []step{
			{0, Input{Met: true}, Firing, true},
			{30, Input{}, Resolved, true},
			{60, Input{Met: true}, Firing, true},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := &Alert{}
			for _, s := range tc.steps {
				_, changed := a.Step(at(s.t), s.in, tc.forD, 15*time.Minute)
				require.Equal(t, s.state, a.State, "at %d", s.t)
				require.Equal(t, s.tr, changed, "at %d", s.t)
			}
		})
	}
}

func TestInputForNoData(t *testing.T) {
	for _, tc := range []struct {
		policy       string
		page, ticket Input
	}{
		{spec.NoDataKeep, Input{Keep: true}, Input{Keep: true}},
		{spec.NoDataOK, Input{}, Input{}},
		{spec.NoDataAlert, Input{Keep: true}, Input{Met: true, NoData: true}},
	} {
		t.Run(tc.policy, func(t *testing.T) {
			s := resolved(t, checkout)
			s.Alerting.NoData = tc.policy
			verdicts, noData := Judge(s, sample(s, time.Unix(0, 0), nil))
			require.True(t, noData)
			require.Equal(t, tc.page, InputFor(s, &verdicts[0], true))
			require.Equal(t, tc.ticket, InputFor(s, &verdicts[1], true))
		})
	}
}

func TestReplay(t *testing.T) {
	s := resolved(t, checkout)
	t0 := time.Unix(1_700_000_000, 0)
	hot := map[time.Duration]Counts{5 * time.Minute: {300, 100}, time.Hour: {3600, 100}, 6 * time.Hour: {21600, 100}, 72 * time.Hour: {259200, 100}, 30 * time.Minute: {1800, 100}}
	calm := map[time.Duration]Counts{5 * time.Minute: {300, 0}, time.Hour: {3600, 100}, 6 * time.Hour: {21600, 100}, 72 * time.Hour: {259200, 100}, 30 * time.Minute: {1800, 0}}
	seq := []*Sample{
		sample(s, t0, calm),
		sample(s, t0.Add(30*time.Second), hot),
		sample(s, t0.Add(60*time.Second), hot),
		sample(s, t0.Add(90*time.Second), calm),
		sample(s, t0.Add(120*time.Second), hot),
	}
	got := Replay(s, slices.Values(seq))
	require.Len(t, got, 2)
	require.Equal(t, spec.SeverityPage, got[0].Severity)
	require.Equal(t, t0.Add(30*time.Second), got[0].Start)
	require.Equal(t, t0.Add(90*time.Second), *got[0].End)
	require.InDelta(t, 100.0/3600/0.001, got[0].PeakBurn, 1e-9)
	require.Equal(t, t0.Add(120*time.Second), got[1].Start)
	require.Nil(t, got[1].End)
}
