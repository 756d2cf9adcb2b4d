package alert

import (
	"time"

	"github.com/meshscope/meshscope/slo/spec"
)

// State of an alert.
type State string

// Alert states. An alert is pending while its condition holds for less
// than `for`, firing after, resolved once the condition stops (kept for a
// while so that receivers hear of it), and inactive otherwise.
const (
	Inactive State = "inactive"
	Pending  State = "pending"
	Firing   State = "firing"
	Resolved State = "resolved"
)

// Value is the state as a number, for the meshscope_slo_alert_state metric.
func (s State) Value() float64 {
	switch s {
	case Pending:
		return 1
	case Firing:
		return 2
	case Resolved:
		return 3
	}
	return 0
}

// Alert is the state of one SLO's alert of one severity.
type Alert struct {
	SLO      string `json:"slo"`
	Severity string `json:"severity"`
	State    State  `json:"state"`
	// ActiveAt is when the condition of the current episode first held.
	ActiveAt time.Time `json:"active_at,omitzero"`
	// FiredAt is when the current episode started firing.
	FiredAt time.Time `json:"fired_at,omitzero"`
	// ResolvedAt is when the last firing episode resolved.
	ResolvedAt time.Time `json:"resolved_at,omitzero"`
	// Since is when the alert entered its state.
	Since time.Time `json:"since,omitzero"`
	// NoData is set while the alert fires because the target served no
	// request (no_data: alert).
	NoData bool `json:"no_data,omitempty"`
	// PeakBurn is the highest long-window burn rate of the episode.
	PeakBurn float64 `json:"peak_burn_rate"`
}

// Input is what one evaluation says of a severity.
type Input struct {
	// Met: a condition held (or no data with no_data: alert).
	Met bool
	// Keep leaves the alert as it is (no data with no_data: keep); only
	// the end of a resolved alert's retention still applies.
	Keep bool
	// NoData marks a Met caused by the no-data rule.
	NoData bool
	// Burn is the verdict's peak burn rate.
	Burn float64
}

// Transition is a change of state.
type Transition struct {
	From, To State
}

// Step advances the alert to the evaluation at t. forD is the `for`
// duration; retention is how long a resolved alert is kept before it turns
// inactive. It returns the transition, or ok false when the state stayed.
func (a *Alert) Step(t time.Time, in Input, forD, retention time.Duration) (tr Transition, ok bool) {
	from := a.State
	if from == "" {
		from, a.State = Inactive, Inactive
	}
	set := func(s State) {
		a.State, a.Since = s, t
	}
	switch {
	case in.Keep && from == Resolved && t.Sub(a.ResolvedAt) >= retention:
		a.NoData = false
		set(Inactive)
	case in.Keep:
	case in.Met && (from == Inactive || from == Resolved):
		a.ActiveAt, a.FiredAt, a.PeakBurn, a.NoData = t, time.Time{}, in.Burn, in.NoData
		set(Pending)
		if forD <= 0 {
			a.FiredAt = t
			set(Firing)
		}
	case in.Met && from == Pending:
		a.PeakBurn, a.NoData = max(a.PeakBurn, in.Burn), in.NoData
		if t.Sub(a.ActiveAt) >= forD {
			a.FiredAt = t
			set(Firing)
		}
	case in.Met && from == Firing:
		a.PeakBurn, a.NoData = max(a.PeakBurn, in.Burn), in.NoData
	case !in.Met && from == Pending:
		a.NoData = false
		set(Inactive)
	case !in.Met && from == Firing:
		a.ResolvedAt = t
		set(Resolved)
	case !in.Met && from == Resolved && t.Sub(a.ResolvedAt) >= retention:
		a.NoData = false
		set(Inactive)
	}
	if a.State == from {
		return Transition{}, false
	}
	return Transition{From: from, To: a.State}, true
}

// InputFor turns a verdict into the input of its alert under the SLO's
// no-data rule.
func InputFor(s *spec.SLO, v *Verdict, noData bool) Input {
	if !noData {
		return Input{Met: v.Met, Burn: v.PeakBurn()}
	}
	switch s.Alerting.NoData {
	case spec.NoDataOK:
		return Input{}
	case spec.NoDataAlert:
		if v.Severity == s.Alerting.NoDataSeverity {
			return Input{Met: true, NoData: true}
		}
	}
	return Input{Keep: true}
}
