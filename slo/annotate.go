package slo

import (
	"fmt"
	"maps"
	"strconv"
	"strings"
	"time"

	"github.com/meshscope/meshscope/slo/alert"
	"github.com/meshscope/meshscope/slo/sli"
	"github.com/meshscope/meshscope/slo/spec"
)

// AlertName is the alertname label of every SLO alert.
const AlertName = "SLOErrorBudgetBurn"

// enrichment is what annotates an SLO's alerts beyond its numbers: the
// edges with the most bad requests and example trace ids.
type enrichment struct {
	at       time.Time
	window   time.Duration
	culprits []sli.Culprit
	traces   []string
	err      string
}

// alertLabels are the labels of an SLO's alert of a severity.
func alertLabels(s *spec.SLO, severity string) map[string]string {
	l := make(map[string]string, len(s.Labels)+4)
	maps.Copy(l, s.Labels)
	l["alertname"] = AlertName
	l["slo"] = s.Name
	l["severity"] = severity
	if svc := s.Service(); svc != "" {
		l["service"] = svc
	}
	return l
}

func formatFloat(f float64) string { return strconv.FormatFloat(f, 'g', 4, 64) }

func formatPercent(f float64) string { return strconv.FormatFloat(f*100, 'f', 2, 64) + "%" }

// alertAnnotations describe an alert of a severity: the numbers of the
// evaluation, the low-traffic guard, and the enrichment when known.
func alertAnnotations(s *spec.SLO, st *Status, v *alert.Verdict, a *alert.Alert, en *enrichment) map[string]string {
	ann := map[string]string{
		"objective":              formatFloat(s.Objective),
		"slo_window":             s.Window.String(),
		"error_budget_remaining": formatFloat(st.ErrorBudgetRemaining),
	}
	if st.SLI != nil {
		ann["sli"] = strconv.FormatFloat(*st.SLI, 'f', 6, 64)
	}
	what := "availability"
	if s.SLI.Kind == spec.Latency {
		what = "latency under " + s.SLI.Threshold.String()
	}
	target := s.Service()
	if target == "" {
		target = s.Name
	}
	var conds []string
	for _, c := range v.Conditions {
		w := c.Window
		ann["burn_rate_"+w.Long.String()] = formatFloat(c.LongBurn)
		ann["burn_rate_"+w.Short.String()] = formatFloat(c.ShortBurn)
		state := "not met"
		switch {
		case c.Met:
			state = "met"
		case c.Guarded:
			state = "guarded (low traffic)"
		}
		conds = append(conds, fmt.Sprintf("%s/%s > %gx: %s/%s burn %s/%s over %d/%d requests, %s",
			w.Long, w.Short, w.Burn, w.Long, w.Short, formatFloat(c.LongBurn), formatFloat(c.ShortBurn), c.LongTotal, c.ShortTotal, state))
	}
	ann["conditions"] = strings.Join(conds, "; ")
	guard := fmt.Sprintf("at least %d requests in each window of a condition", st.MinRequests)
	if v.LowTraffic {
		guard += "; every condition is below it, so this alert cannot fire"
	}
	ann["low_traffic_guard"] = guard
	switch {
	case a.NoData:
		ann["no_data"] = "true"
		ann["summary"] = fmt.Sprintf("SLO %s: no requests in the last %s", s.Name, spec.Duration(s.Alerting.NoDataWindow()))
	default:
		ann["summary"] = fmt.Sprintf("SLO %s is burning its error budget %sx (%s)", s.Name, formatFloat(v.PeakBurn()), v.Severity)
	}
	ann["description"] = fmt.Sprintf("%s %s objective %g%% over %s: SLI %s, error budget remaining %s; %s",
		target, what, s.Objective, s.Window, sliText(st.SLI), formatPercent(st.ErrorBudgetRemaining), ann["conditions"])
	if s.Description != "" {
		ann["slo_description"] = s.Description
	}
	if en != nil {
		var edges []string
		for _, c := range en.culprits {
			edges = append(edges, fmt.Sprintf("%s: %d bad of %d", c.Edge, c.Bad, c.Total))
		}
		if len(edges) > 0 {
			ann["top_failing_edges"] = strings.Join(edges, "; ")
		}
		if len(en.traces) > 0 {
			ann["trace_ids"] = strings.Join(en.traces, ", ")
		}
		ann["examples_window"] = spec.Duration(en.window).String()
		// Found when the alert fired and again each resend interval, not at
		// every evaluation: they may predate the counts above.
		ann["examples_at"] = en.at.UTC().Format(time.RFC3339)
	}
	return ann
}

func sliText(p *float64) string {
	if p == nil {
		return "unknown (no requests)"
	}
	return formatPercent(*p)
}
