package slo

import (
	"context"
	"fmt"
	"time"

	"github.com/meshscope/meshscope/slo/alert"
	"github.com/meshscope/meshscope/slo/sli"
	"github.com/meshscope/meshscope/slo/spec"
)

// BacktestQuery asks when a spec would have alerted between From and To.
type BacktestQuery struct {
	From, To time.Time
	// Step is the evaluation interval replayed (default 30s). Every
	// alerting window must be a multiple of it.
	Step time.Duration
}

// BacktestResult lists the alerts a spec would have fired.
type BacktestResult struct {
	SLO  string    `json:"slo"`
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
	Step string    `json:"step"`
	// Source is where the counts came from: requests or spans.
	Source string `json:"source"`
	// Evaluations is how many evaluation instants were replayed.
	Evaluations int `json:"evaluations"`
	// Counts and SLI are over the whole range [From, To).
	Counts alert.Counts `json:"counts"`
	SLI    *float64     `json:"sli"`
	// Firings are the periods each severity fired, in order of start;
	// End is null for a period still firing at To.
	Firings []alert.Period `json:"firings"`
}

// maxBacktestSteps bounds the series a backtest reads.
const maxBacktestSteps = 2_000_000

// Backtest replays a resolved spec over the data in ClickHouse: it reads
// the target's counts per step from From minus the longest window to To,
// then runs the evaluator's judgement and alert state machine (with `for`)
// at every step, as if it had run then.
func Backtest(ctx context.Context, db sli.Querier, s *spec.SLO, q BacktestQuery) (*BacktestResult, error) {
	if q.Step == 0 {
		q.Step = 30 * time.Second
	}
	switch {
	case q.Step < time.Second || q.Step%time.Second != 0:
		return nil, &InputError{Field: "step", Reason: fmt.Sprintf("want whole seconds (got %s)", q.Step)}
	case !q.To.After(q.From):
		return nil, &InputError{Field: "to", Reason: fmt.Sprintf("must be after from %s (got %s)", q.From.Format(time.RFC3339), q.To.Format(time.RFC3339))}
	}
	windows := s.Windows()
	longest := windows[len(windows)-1]
	if n := (q.To.Sub(q.From) + longest) / q.Step; n > maxBacktestSteps {
		return nil, &InputError{Field: "step", Reason: fmt.Sprintf("%d steps of %s: want at most %d (use a longer step or a shorter range)", n, spec.Duration(q.Step), maxBacktestSteps)}
	}
	for _, w := range windows {
		if w%q.Step != 0 {
			return nil, &InputError{Field: "step", Reason: fmt.Sprintf("window %s is not a multiple of the step %s", spec.Duration(w), spec.Duration(q.Step))}
		}
	}
	series, err := sli.ReadSeries(ctx, db, sli.SeriesQuery{SLO: s, From: q.From.Add(-longest), To: q.To, Step: q.Step})
	if err != nil {
		return nil, err
	}
	samples, err := series.Samples(windows, q.From, q.To)
	if err != nil {
		return nil, err
	}
	res := &BacktestResult{SLO: s.Name, From: q.From, To: q.To, Step: spec.Duration(q.Step).String(), Source: series.Source}
	counted := func(yield func(*alert.Sample) bool) {
		for smp := range samples {
			res.Evaluations++
			if !yield(smp) {
				return
			}
		}
	}
	res.Firings = alert.Replay(s, counted)
	if res.Firings == nil {
		res.Firings = []alert.Period{}
	}
	for i, c := range series.Counts {
		t := series.Start.Add(time.Duration(i) * series.Step)
		if !t.Before(q.From) && t.Before(q.To) {
			res.Counts = res.Counts.Add(c)
		}
	}
	res.SLI = ptr(res.Counts.SLI())
	return res, nil
}

// Backtest runs Backtest on the engine's store.
func (e *Engine) Backtest(ctx context.Context, s *spec.SLO, q BacktestQuery) (*BacktestResult, error) {
	st := e.deps.Store()
	if st == nil {
		return nil, ErrNoStore
	}
	if q.Step == 0 {
		q.Step = e.cfg.Interval
		// The step must divide every window; fall back to a minute, then a second.
		for _, step := range []time.Duration{e.cfg.Interval, time.Minute, time.Second} {
			if dividesAll(s.Windows(), step) {
				q.Step = step
				break
			}
		}
	}
	return Backtest(ctx, st.Conn(), s, q)
}

func dividesAll(windows []time.Duration, step time.Duration) bool {
	if step <= 0 {
		return false
	}
	for _, w := range windows {
		if w%step != 0 {
			return false
		}
	}
	return true
}

// InputError is a backtest query that cannot run: the field and the reason.
type InputError struct{ Field, Reason string }

func (e *InputError) Error() string { return e.Field + ": " + e.Reason }
