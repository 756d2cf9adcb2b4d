package slo

import (
	"context"
	"encoding/json"
	"time"

	"github.com/meshscope/meshscope/slo/sli"
	"github.com/meshscope/meshscope/slo/spec"
)

// Error budgets span weeks, but only their last hour changes between
// evaluations. The engine keeps each SLO's counts per whole hour of its SLO
// window (from raw rows, or from edges_1h with budget_from_edges) and reads
// raw rows only for the alerting windows and the partial hours at either end
// of the SLO window. An hour is cached once it ended Settle before the
// evaluation; when a new hour is cached, the two before it are read again,
// so rows up to two hours late still count. The cache starts empty at each
// start and for each changed spec.

// budgetCache holds the hourly counts of one SLO: hours[i] covers the hour
// starting at from + i*3600.
type budgetCache struct {
	key   string
	from  int64
	hours []sli.HourCounts
}

func (c *budgetCache) to() int64 { return c.from + int64(len(c.hours))*3600 }

// refetchHours are read again whenever a new hour is cached.
const refetchHours = 2

// cacheKey is what an SLO's hourly counts depend on.
func cacheKey(s *spec.SLO, edges bool) string {
	b, _ := json.Marshal(struct {
		T spec.Target
		S spec.SLI
		E *spec.ErrorRule
		W spec.Window
		X bool
	}{s.Target, s.SLI, s.Errors, s.Window, edges})
	return string(b)
}

// budgetHours returns the whole hours of the SLO window ending at at that
// are cached, filling the cache first, and their sums.
func (e *Engine) budgetHours(ctx context.Context, st Store, s *spec.SLO, at time.Time) (q sli.WindowsQuery, err error) {
	edges := e.cfg.BudgetFromEdges && sli.EdgesUsable(s)
	h0 := (s.Window.Start(at).Unix() + 3599) / 3600 * 3600
	h1 := at.Add(-e.cfg.Settle).Unix() / 3600 * 3600
	if h1 <= h0 {
		return sli.WindowsQuery{}, nil
	}
	key := cacheKey(s, edges)
	e.mu.Lock()
	c := e.budgets[s.Name]
	e.mu.Unlock()
	if c == nil || c.key != key || h0 < c.from || h0 >= c.to() {
		c = &budgetCache{key: key, from: h0}
	}
	// Drop the hours that left the window.
	if skip := (h0 - c.from) / 3600; skip > 0 {
		c.hours, c.from = c.hours[skip:], h0
	}
	if h1 > c.to() {
		from := max(c.to()-refetchHours*3600, h0)
		hours, err := sli.Hours(ctx, st.Conn(), s, time.Unix(from, 0), time.Unix(h1, 0), edges)
		if err != nil {
			return sli.WindowsQuery{}, err
		}
		c.hours = append(c.hours[:(from-c.from)/3600], hours...)
	}
	e.mu.Lock()
	e.budgets[s.Name] = c
	e.mu.Unlock()
	var sum sli.HourCounts
	for _, h := range c.hours[:(h1-c.from)/3600] {
		sum = sum.Add(h)
	}
	return sli.WindowsQuery{CachedFrom: time.Unix(h0, 0).UTC(), CachedTo: time.Unix(h1, 0).UTC(), Cached: sum, CachedEdges: edges}, nil
}
