package alert

import (
	"github.com/meshscope/meshscope/slo/spec"
)

// Condition is one multiwindow condition judged on a sample.
type Condition struct {
	Window     spec.BurnWindow `json:"window"`
	LongBurn   float64         `json:"long_burn_rate"`
	ShortBurn  float64         `json:"short_burn_rate"`
	LongTotal  uint64          `json:"long_requests"`
	ShortTotal uint64          `json:"short_requests"`
	// Guarded is set when a window holds fewer requests than the
	// low-traffic guard asks: the condition cannot hold.
	Guarded bool `json:"guarded"`
	// Met: both burn rates exceed the threshold and the guard allows it.
	Met bool `json:"met"`
}

// Verdict is a severity's conditions judged on a sample.
type Verdict struct {
	Severity   string      `json:"severity"`
	Conditions []Condition `json:"conditions"`
	// Met is set when any condition is met.
	Met bool `json:"met"`
	// LowTraffic is set when every condition is guarded.
	LowTraffic bool `json:"low_traffic"`
}

// PeakBurn is the largest long-window burn rate among met conditions, else
// among all conditions.
func (v *Verdict) PeakBurn() float64 {
	var peak, any float64
	for _, c := range v.Conditions {
		any = max(any, c.LongBurn)
		if c.Met {
			peak = max(peak, c.LongBurn)
		}
	}
	if v.Met {
		return peak
	}
	return any
}

// Judge judges every severity of a resolved SLO on a sample. noData is set
// when the no-data window (the shortest) holds no request at all.
func Judge(s *spec.SLO, smp *Sample) (verdicts []Verdict, noData bool) {
	a := s.Alerting
	minReq := uint64(0)
	if a.MinRequests != nil {
		minReq = *a.MinRequests
	}
	noData = smp.Window(a.NoDataWindow()).Total == 0
	for _, sev := range spec.Severities {
		windows := a.Windows(sev)
		v := Verdict{Severity: sev, LowTraffic: len(windows) > 0}
		for _, w := range windows {
			long, short := smp.Window(w.Long.D()), smp.Window(w.Short.D())
			c := Condition{
				Window:     w,
				LongBurn:   BurnRate(long, s.Objective),
				ShortBurn:  BurnRate(short, s.Objective),
				LongTotal:  long.Total,
				ShortTotal: short.Total,
				Guarded:    long.Total < minReq || short.Total < minReq || long.Total == 0 || short.Total == 0,
			}
			c.Met = !c.Guarded && c.LongBurn > w.Burn && c.ShortBurn > w.Burn
			v.Met = v.Met || c.Met
			v.LowTraffic = v.LowTraffic && c.Guarded
			v.Conditions = append(v.Conditions, c)
		}
		verdicts = append(verdicts, v)
	}
	return verdicts, noData
}
