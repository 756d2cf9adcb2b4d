package alert

import (
	"iter"
	"time"

	"github.com/meshscope/meshscope/slo/spec"
)

// Period is a period during which an alert fired in a replay.
type Period struct {
	Severity string `json:"severity"`
	// PendingSince is when the condition started to hold.
	PendingSince time.Time `json:"pending_since"`
	// Start is when the alert fired (PendingSince plus `for`).
	Start time.Time `json:"start"`
	// End is when it resolved; nil when still firing at the end of the replay.
	End *time.Time `json:"end"`
	// PeakBurn is the highest long-window burn rate while pending or firing.
	PeakBurn float64 `json:"peak_burn_rate"`
	// NoData is set when the firing came from the no-data rule.
	NoData bool `json:"no_data,omitempty"`
}

// Replay runs the alert state machine of a resolved SLO over samples in
// time order, as the evaluator would have at each sample's instant, and
// returns every firing period, in order of start.
func Replay(s *spec.SLO, samples iter.Seq[*Sample]) []Period {
	forD := time.Duration(0)
	if s.Alerting.For != nil {
		forD = s.Alerting.For.D()
	}
	alerts := map[string]*Alert{}
	open := map[string]int{}
	var out []Period
	for smp := range samples {
		verdicts, noData := Judge(s, smp)
		for i := range verdicts {
			v := &verdicts[i]
			a := alerts[v.Severity]
			if a == nil {
				a = &Alert{SLO: s.Name, Severity: v.Severity, State: Inactive}
				alerts[v.Severity] = a
			}
			tr, changed := a.Step(smp.At, InputFor(s, v, noData), forD, 0)
			if idx, ok := open[v.Severity]; ok {
				out[idx].PeakBurn = max(out[idx].PeakBurn, a.PeakBurn)
			}
			if !changed {
				continue
			}
			switch {
			case tr.To == Firing:
				open[v.Severity] = len(out)
				out = append(out, Period{Severity: v.Severity, PendingSince: a.ActiveAt, Start: a.FiredAt, PeakBurn: a.PeakBurn, NoData: a.NoData})
			case tr.From == Firing:
				if idx, ok := open[v.Severity]; ok {
					end := smp.At
					out[idx].End = &end
					delete(open, v.Severity)
				}
			}
		}
	}
	return out
}
