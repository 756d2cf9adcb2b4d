// Package alert is the arithmetic and the state machine of SLO alerting:
// burn rates from sums of good and total requests per window, the
// multiwindow multi-burn-rate conditions with their low-traffic guard and
// no-data rule, the per-severity alert states (inactive, pending, firing,
// resolved), and the replay of a spec over a series for backtests. It does
// no I/O and imports only slo/spec.
package alert

import (
	"math"
	"time"
)

// Counts are the requests of one window and how many of them were bad.
type Counts struct {
	Total uint64 `json:"total"`
	Bad   uint64 `json:"bad"`
}

// Add returns the element-wise sum.
func (c Counts) Add(o Counts) Counts { return Counts{Total: c.Total + o.Total, Bad: c.Bad + o.Bad} }

// ErrorRatio is Bad/Total, 0 without requests.
func (c Counts) ErrorRatio() float64 {
	if c.Total == 0 {
		return 0
	}
	return float64(c.Bad) / float64(c.Total)
}

// SLI is the share of good requests, NaN without requests.
func (c Counts) SLI() float64 {
	if c.Total == 0 {
		return math.NaN()
	}
	return 1 - c.ErrorRatio()
}

// BurnRate is how fast the window spent error budget, relative to spending
// it exactly over the SLO window: the error ratio divided by the error
// budget (1 - objective). objective is in percent. 0 without requests.
func BurnRate(c Counts, objective float64) float64 {
	budget := 1 - objective/100
	if budget <= 0 {
		return math.Inf(1)
	}
	return c.ErrorRatio() / budget
}

// BudgetRemaining is the share of the error budget left over the SLO
// window: 1 - bad / (total * (1 - objective)). It is 1 without requests and
// negative once the budget is overspent.
func BudgetRemaining(c Counts, objective float64) float64 {
	if c.Total == 0 {
		return 1
	}
	allowed := float64(c.Total) * (1 - objective/100)
	if allowed <= 0 {
		return math.Inf(-1)
	}
	return 1 - float64(c.Bad)/allowed
}

// Sample is one evaluation of an SLO: the counts of each of its windows
// at an instant, and of the SLO window when known.
type Sample struct {
	// At is the end of every window (exclusive).
	At time.Time
	// Windows are the alerting windows, ascending; Counts is parallel.
	Windows []time.Duration
	Counts  []Counts
	// Budget are the counts over the SLO window; zero in backtests.
	Budget Counts
	// Source says which table the counts came from: requests or spans.
	Source string
}

// Window returns the counts of window d.
func (s *Sample) Window(d time.Duration) Counts {
	for i, w := range s.Windows {
		if w == d {
			return s.Counts[i]
		}
	}
	return Counts{}
}
