package query

import (
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/meshscope/meshscope/graph"
	"github.com/meshscope/meshscope/query/nsfilter"
)

func granularityParam(c echo.Context) (graph.Granularity, error) {
	s := c.QueryParam("granularity")
	g, ok := graph.ParseGranularity(s)
	if !ok {
		return "", badParam("granularity", "unknown granularity %q: use service, workload or version", s)
	}
	return g, nil
}

func namespacesParam(c echo.Context) nsfilter.Set {
	return nsfilter.Parse(c.QueryParam("namespace"))
}

func (s *Server) timeParam(c echo.Context, name string) (time.Time, bool, error) {
	v := c.QueryParam(name)
	if v == "" {
		return time.Time{}, false, nil
	}
	t, err := ParseTime(v, s.now())
	if err != nil {
		return time.Time{}, false, badParam(name, "%s: %v", name, err)
	}
	return t, true, nil
}

// timeRange reads the fromName/toName pair. Neither given: ok is false. A
// from alone runs to now; a to alone is refused.
func (s *Server) timeRange(c echo.Context, fromName, toName string) (from, to time.Time, ok bool, err error) {
	from, hasFrom, err := s.timeParam(c, fromName)
	if err != nil {
		return from, to, false, err
	}
	to, hasTo, err := s.timeParam(c, toName)
	if err != nil {
		return from, to, false, err
	}
	switch {
	case !hasFrom && !hasTo:
		return from, to, false, nil
	case !hasFrom:
		return from, to, false, badParam(fromName, "%s is required with %s", fromName, toName)
	case !hasTo:
		to = s.now()
	}
	if !from.Before(to) {
		return from, to, false, badParam(fromName, "%s (%s) must be before %s (%s)", fromName, from.Format(time.RFC3339), toName, to.Format(time.RFC3339))
	}
	return from, to, true, nil
}

// rangeOrDefault is the from/to range, or the last DefaultRange when
// neither is given (explicit false).
func (s *Server) rangeOrDefault(c echo.Context) (from, to time.Time, explicit bool, err error) {
	from, to, explicit, err = s.timeRange(c, "from", "to")
	if err != nil || explicit {
		return from, to, explicit, err
	}
	to = s.now()
	return to.Add(-s.cfg.DefaultRange), to, false, nil
}

func (s *Server) limitParam(c echo.Context) (int, error) {
	v := c.QueryParam("limit")
	if v == "" {
		return s.cfg.DefaultLimit, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		return 0, badParam("limit", "limit must be a positive integer, got %q", v)
	}
	if n > s.cfg.MaxLimit {
		return 0, badParam("limit", "limit must be at most %d, got %d", s.cfg.MaxLimit, n)
	}
	return n, nil
}

// rowsParams reads what every row search takes: its range (the last hour
// by default) and its limit.
func (s *Server) rowsParams(c echo.Context) (from, to time.Time, limit int, err error) {
	if from, to, _, err = s.rangeOrDefault(c); err != nil {
		return
	}
	limit, err = s.limitParam(c)
	return
}

// defaultPoints is how many points a series has when no step is given.
const defaultPoints = 120

// steps are the steps chosen when none is given.
var steps = []time.Duration{
	10 * time.Second, 30 * time.Second, time.Minute, 5 * time.Minute, 10 * time.Minute,
	30 * time.Minute, time.Hour, 3 * time.Hour, 6 * time.Hour, 12 * time.Hour, 24 * time.Hour,
}

// stepParam reads step, or picks the smallest of steps giving at most
// defaultPoints points over [from, to].
func (s *Server) stepParam(c echo.Context, from, to time.Time) (time.Duration, error) {
	span := to.Sub(from)
	v := c.QueryParam("step")
	if v == "" {
		for _, st := range steps {
			if span/st <= defaultPoints {
				return st, nil
			}
		}
		return steps[len(steps)-1] * (span/(steps[len(steps)-1]*defaultPoints) + 1), nil
	}
	var st time.Duration
	if n, err := strconv.ParseFloat(v, 64); err == nil {
		st = time.Duration(n * float64(time.Second)) // seconds, as Prometheus accepts
	} else if st, err = ParseDuration(v); err != nil {
		return 0, badParam("step", "step: %v", err)
	}
	if st < time.Second {
		return 0, badParam("step", "step must be at least 1s, got %s", v)
	}
	if points := int(span / st); points > s.cfg.MaxPoints {
		return 0, badParam("step", "step %s gives %d points over the range, more than the %d allowed", v, points, s.cfg.MaxPoints)
	}
	return st, nil
}

// boolParam reads true/false/1/0; "" is false.
func boolParam(c echo.Context, name string) (bool, error) {
	switch strings.ToLower(c.QueryParam(name)) {
	case "", "false", "0", "no":
		return false, nil
	case "true", "1", "yes":
		return true, nil
	}
	return false, badParam(name, "%s must be true or false, got %q", name, c.QueryParam(name))
}

// granularityOf is the granularity whose nodes have id's kind (service for
// the virtual kinds, which exist at every granularity).
func granularityOf(id string) graph.Granularity {
	kind, _, _ := strings.Cut(id, ":")
	switch graph.NodeKind(kind) {
	case graph.KindWorkload:
		return graph.GranularityWorkload
	case graph.KindVersion:
		return graph.GranularityVersion
	}
	return graph.GranularityService
}

// stepSecondsParam reads the step Loki's and Tempo's APIs take: seconds
// or a duration, whole seconds, def when absent.
func stepSecondsParam(c echo.Context, def time.Duration) (time.Duration, error) {
	step := def
	if v := c.FormValue("step"); v != "" {
		if f, err := strconv.ParseFloat(v, 64); err == nil {
			step = time.Duration(f * float64(time.Second))
		} else if step, err = ParseDuration(v); err != nil {
			return 0, badParam("step", "invalid step: %v", err)
		}
	}
	step = step.Truncate(time.Second)
	if step < time.Second {
		return 0, badParam("step", "step must be at least 1s")
	}
	return step, nil
}

// intParam reads an integer parameter from lo to hi, def when absent.
func intParam(c echo.Context, name string, def, lo, hi int) (int, error) {
	v := c.FormValue(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		return 0, badParam(name, "%s is a number from %d to %d, got %q", name, lo, hi, v)
	}
	return n, nil
}
