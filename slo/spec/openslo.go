package spec

import (
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"
)

// OpenSLO v1 subset. An SLO document names its service, an indicator
// (inline or by indicatorRef to an SLI document) that is a ratioMetric of
// meshscope metric sources, one objective, one time window and the
// Occurrences budgeting method:
//
//	apiVersion: openslo/v1
//	kind: SLO
//	metadata: {name: checkout-availability, labels: {team: payments}}
//	spec:
//	  service: shop/checkout
//	  indicator:
//	    metadata: {name: checkout-good-requests}
//	    spec:
//	      ratioMetric:
//	        counter: true
//	        good: {metricSource: {type: meshscope, spec: {outcome: success}}}
//	        total: {metricSource: {type: meshscope, spec: {target: {service: shop/checkout}}}}
//	  timeWindow: [{duration: 28d, isRolling: true}]
//	  budgetingMethod: Occurrences
//	  objectives: [{target: 0.999}]
//
// A meshscope metric source's spec holds a target (as in the short form;
// default: the SLO's service), and for good `outcome: success` (availability,
// with an optional `errors` override) or `latency_le: 300ms` (latency), for
// bad `outcome: error`. Alerting comes from the engine's defaults.

type oDoc struct {
	APIVersion string    `yaml:"apiVersion"`
	Kind       string    `yaml:"kind"`
	Metadata   oMeta     `yaml:"metadata"`
	Spec       yaml.Node `yaml:"spec"`
}

type oMeta struct {
	Name        string               `yaml:"name"`
	DisplayName string               `yaml:"displayName"`
	Labels      map[string]yaml.Node `yaml:"labels"`
	Annotations map[string]string    `yaml:"annotations"`
}

type oSLOSpec struct {
	Description     string        `yaml:"description"`
	Service         string        `yaml:"service"`
	Indicator       *oSLIDoc      `yaml:"indicator"`
	IndicatorRef    string        `yaml:"indicatorRef"`
	TimeWindow      []oTimeWindow `yaml:"timeWindow"`
	BudgetingMethod string        `yaml:"budgetingMethod"`
	Objectives      []oObjective  `yaml:"objectives"`
	AlertPolicies   []yaml.Node   `yaml:"alertPolicies"`
}

type oSLIDoc struct {
	Metadata oMeta    `yaml:"metadata"`
	Spec     oSLISpec `yaml:"spec"`
}

type oSLISpec struct {
	Description     string     `yaml:"description"`
	ThresholdMetric *yaml.Node `yaml:"thresholdMetric"`
	RatioMetric     *oRatio    `yaml:"ratioMetric"`
}

type oRatio struct {
	Counter bool       `yaml:"counter"`
	Good    *oMetric   `yaml:"good"`
	Bad     *oMetric   `yaml:"bad"`
	Total   *oMetric   `yaml:"total"`
	RawType string     `yaml:"rawType"`
	Raw     *yaml.Node `yaml:"raw"`
}

type oMetric struct {
	MetricSource oSource `yaml:"metricSource"`
}

type oSource struct {
	MetricSourceRef string     `yaml:"metricSourceRef"`
	Type            string     `yaml:"type"`
	Spec            meshSource `yaml:"spec"`
}

type meshSource struct {
	Target    *Target    `yaml:"target"`
	Outcome   string     `yaml:"outcome"`
	LatencyLE Duration   `yaml:"latency_le"`
	Errors    *ErrorRule `yaml:"errors"`
}

type oTimeWindow struct {
	Duration  string     `yaml:"duration"`
	IsRolling bool       `yaml:"isRolling"`
	Calendar  *oCalendar `yaml:"calendar"`
}

type oCalendar struct {
	StartTime string `yaml:"startTime"`
	TimeZone  string `yaml:"timeZone"`
}

type oObjective struct {
	DisplayName     string   `yaml:"displayName"`
	Op              string   `yaml:"op"`
	Value           *float64 `yaml:"value"`
	Target          *float64 `yaml:"target"`
	TargetPercent   *float64 `yaml:"targetPercent"`
	TimeSliceTarget *float64 `yaml:"timeSliceTarget"`
	TimeSliceWindow string   `yaml:"timeSliceWindow"`
}

// ignoredKinds are OpenSLO kinds a file may hold beside SLOs; meshscope
// does not use them.
var ignoredKinds = map[string]bool{"Service": true, "DataSource": true, "AlertPolicy": true, "AlertCondition": true, "AlertNotificationTarget": true}

func parseOpenSLO(docs []*yaml.Node, d Alerting) ([]Parsed, error) {
	prefix := func(i int) string {
		if len(docs) == 1 {
			return ""
		}
		return fmt.Sprintf("documents[%d]", i)
	}
	var parsed []oDoc
	slis := map[string]*oSLIDoc{}
	for i, n := range docs {
		var doc oDoc
		if err := decode(n, &doc, prefix(i)); err != nil {
			return nil, err
		}
		if doc.APIVersion != "openslo/v1" {
			return nil, &FieldError{Field: joinPath(prefix(i), "apiVersion"), Reason: fmt.Sprintf("want openslo/v1 (got %q)", doc.APIVersion)}
		}
		switch {
		case doc.Kind == "SLI":
			var s oSLISpec
			if err := decode(&doc.Spec, &s, joinPath(prefix(i), "spec")); err != nil {
				return nil, err
			}
			slis[doc.Metadata.Name] = &oSLIDoc{Metadata: doc.Metadata, Spec: s}
		case doc.Kind == "SLO", ignoredKinds[doc.Kind]:
		default:
			return nil, &FieldError{Field: joinPath(prefix(i), "kind"), Reason: fmt.Sprintf("want SLO or SLI (got %q)", doc.Kind)}
		}
		parsed = append(parsed, doc)
	}
	var written []SLO
	var paths []string
	for i, doc := range parsed {
		if doc.Kind != "SLO" {
			continue
		}
		s, err := convertOpenSLO(&doc, slis, prefix(i))
		if err != nil {
			return nil, err
		}
		written = append(written, s)
		paths = append(paths, prefix(i))
	}
	out := make([]Parsed, 0, len(written))
	for i, s := range written {
		r, err := s.Resolve(d, "")
		if err != nil {
			fe := err.(*FieldError)
			return nil, &FieldError{Field: joinPath(paths[i], openSLOField(fe.Field)), Reason: fe.Reason}
		}
		out = append(out, Parsed{Spec: s, Resolved: r})
	}
	seen := map[string]bool{}
	for i, p := range out {
		if seen[p.Spec.Name] {
			return nil, &FieldError{Field: joinPath(paths[i], "metadata.name"), Reason: fmt.Sprintf("duplicate SLO name %q", p.Spec.Name)}
		}
		seen[p.Spec.Name] = true
	}
	return out, nil
}

// openSLOField maps a short form field path onto the OpenSLO document.
func openSLOField(f string) string {
	head, rest, _ := strings.Cut(f, ".")
	tail := func(p string) string {
		if rest == "" {
			return p
		}
		return p + "." + rest
	}
	switch head {
	case "name":
		return "metadata.name"
	case "labels":
		return tail("metadata.labels")
	case "objective":
		return "spec.objectives[0].target"
	case "window":
		return "spec.timeWindow[0]"
	case "target":
		return tail("spec.indicator.spec.ratioMetric.total.metricSource.spec.target")
	case "sli":
		return "spec.indicator.spec.ratioMetric.good.metricSource.spec.latency_le"
	case "errors":
		return tail("spec.indicator.spec.ratioMetric.good.metricSource.spec.errors")
	}
	return f
}

func convertOpenSLO(doc *oDoc, slis map[string]*oSLIDoc, path string) (SLO, error) {
	sp := joinPath(path, "spec")
	var spec oSLOSpec
	if err := decode(&doc.Spec, &spec, sp); err != nil {
		return SLO{}, err
	}
	s := SLO{Name: doc.Metadata.Name, Description: spec.Description}
	if s.Description == "" {
		s.Description = doc.Metadata.DisplayName
	}
	if len(doc.Metadata.Labels) > 0 {
		s.Labels = map[string]string{}
		for k, v := range doc.Metadata.Labels {
			switch v.Kind {
			case yaml.SequenceNode:
				var list []string
				if err := v.Decode(&list); err != nil {
					return SLO{}, &FieldError{Field: joinPath(path, "metadata.labels."+k), Reason: yamlReason(err)}
				}
				s.Labels[k] = strings.Join(list, ",")
			default:
				s.Labels[k] = v.Value
			}
		}
	}
	if spec.BudgetingMethod != "Occurrences" {
		return SLO{}, &FieldError{Field: sp + ".budgetingMethod", Reason: fmt.Sprintf("only Occurrences is supported (got %q)", spec.BudgetingMethod)}
	}
	if len(spec.TimeWindow) != 1 {
		return SLO{}, &FieldError{Field: sp + ".timeWindow", Reason: fmt.Sprintf("want exactly one time window (got %d)", len(spec.TimeWindow))}
	}
	w, err := convertTimeWindow(spec.TimeWindow[0], sp+".timeWindow[0]")
	if err != nil {
		return SLO{}, err
	}
	s.Window = w
	if len(spec.Objectives) != 1 {
		return SLO{}, &FieldError{Field: sp + ".objectives", Reason: fmt.Sprintf("want exactly one objective (got %d)", len(spec.Objectives))}
	}
	o := spec.Objectives[0]
	op := sp + ".objectives[0]"
	switch {
	case o.Op != "" || o.Value != nil:
		return SLO{}, &FieldError{Field: op + ".op", Reason: "threshold objectives are not supported: give target for a ratio"}
	case o.TimeSliceTarget != nil || o.TimeSliceWindow != "":
		return SLO{}, &FieldError{Field: op + ".timeSliceTarget", Reason: "only the Occurrences budgeting method is supported"}
	case o.Target != nil && o.TargetPercent != nil:
		return SLO{}, &FieldError{Field: op, Reason: "give target or targetPercent, not both"}
	case o.Target != nil:
		if *o.Target <= 0 || *o.Target >= 1 {
			return SLO{}, &FieldError{Field: op + ".target", Reason: fmt.Sprintf("must be between 0 and 1 (got %g)", *o.Target)}
		}
		s.Objective = *o.Target * 100
	case o.TargetPercent != nil:
		s.Objective = *o.TargetPercent
	default:
		return SLO{}, &FieldError{Field: op + ".target", Reason: "required"}
	}
	ind := spec.Indicator
	ip := sp + ".indicator"
	switch {
	case ind != nil && spec.IndicatorRef != "":
		return SLO{}, &FieldError{Field: ip, Reason: "give indicator or indicatorRef, not both"}
	case spec.IndicatorRef != "":
		ind = slis[spec.IndicatorRef]
		ip = sp + ".indicatorRef"
		if ind == nil {
			return SLO{}, &FieldError{Field: ip, Reason: fmt.Sprintf("no SLI document named %q in the file", spec.IndicatorRef)}
		}
	case ind == nil:
		return SLO{}, &FieldError{Field: ip, Reason: "required (or indicatorRef)"}
	}
	if err := convertIndicator(&s, ind, spec.Service, ip); err != nil {
		return SLO{}, err
	}
	return s, nil
}

func convertTimeWindow(tw oTimeWindow, path string) (Window, error) {
	if tw.IsRolling {
		d, err := ParseDuration(tw.Duration)
		if err != nil {
			return Window{}, &FieldError{Field: path + ".duration", Reason: err.Error()}
		}
		return Window{Rolling: d}, nil
	}
	w := Window{}
	switch tw.Duration {
	case "1d":
		w.Calendar = CalendarDay
	case "1w":
		w.Calendar = CalendarWeek
	case "1M":
		w.Calendar = CalendarMonth
	default:
		return Window{}, &FieldError{Field: path + ".duration", Reason: fmt.Sprintf("calendar windows are 1d, 1w or 1M (got %q)", tw.Duration)}
	}
	if tw.Calendar != nil {
		w.TimeZone = tw.Calendar.TimeZone
	}
	return w, nil
}

func convertIndicator(s *SLO, ind *oSLIDoc, service, path string) error {
	rp := path + ".spec.ratioMetric"
	switch {
	case ind.Spec.ThresholdMetric != nil:
		return &FieldError{Field: path + ".spec.thresholdMetric", Reason: "not supported: give a ratioMetric"}
	case ind.Spec.RatioMetric == nil:
		return &FieldError{Field: rp, Reason: "required"}
	}
	r := ind.Spec.RatioMetric
	switch {
	case r.RawType != "" || r.Raw != nil:
		return &FieldError{Field: rp + ".raw", Reason: "not supported: give good or bad, and total"}
	case r.Total == nil:
		return &FieldError{Field: rp + ".total", Reason: "required"}
	case (r.Good == nil) == (r.Bad == nil):
		return &FieldError{Field: rp + ".good", Reason: "give good or bad, not both"}
	}
	total, err := meshMetric(r.Total, rp+".total")
	if err != nil {
		return err
	}
	if total.Outcome != "" || total.LatencyLE != 0 || total.Errors != nil {
		return &FieldError{Field: rp + ".total.metricSource.spec", Reason: "total counts every request of the target: give only target"}
	}
	switch {
	case total.Target != nil:
		s.Target = *total.Target
	case service != "":
		s.Target = Target{Service: service}
	default:
		return &FieldError{Field: rp + ".total.metricSource.spec.target", Reason: "required when spec.service is not given"}
	}
	side, name := r.Good, "good"
	if r.Bad != nil {
		side, name = r.Bad, "bad"
	}
	m, err := meshMetric(side, rp+"."+name)
	if err != nil {
		return err
	}
	mp := rp + "." + name + ".metricSource.spec"
	if m.Target != nil && m.Target.Normalized() != s.Target.Normalized() {
		return &FieldError{Field: mp + ".target", Reason: "must be the same as total's target (or left out)"}
	}
	switch {
	case name == "bad" && m.Outcome == "error" && m.LatencyLE == 0:
		s.SLI = SLI{Kind: Availability}
	case name == "good" && m.Outcome == "success" && m.LatencyLE == 0:
		s.SLI = SLI{Kind: Availability}
	case name == "good" && m.Outcome == "" && m.LatencyLE > 0:
		s.SLI = SLI{Kind: Latency, Threshold: m.LatencyLE}
		if m.Errors != nil {
			return &FieldError{Field: mp + ".errors", Reason: "only applies to outcome success or error"}
		}
	case name == "bad":
		return &FieldError{Field: mp + ".outcome", Reason: fmt.Sprintf("bad counts outcome: error (got %q)", m.Outcome)}
	default:
		return &FieldError{Field: mp, Reason: "good counts outcome: success or latency_le: DURATION"}
	}
	s.Errors = m.Errors
	return nil
}

func meshMetric(m *oMetric, path string) (meshSource, error) {
	src := m.MetricSource
	switch {
	case src.MetricSourceRef != "":
		return meshSource{}, &FieldError{Field: path + ".metricSource.metricSourceRef", Reason: "not supported: give type meshscope"}
	case !strings.EqualFold(src.Type, "meshscope"):
		return meshSource{}, &FieldError{Field: path + ".metricSource.type", Reason: fmt.Sprintf("want meshscope (got %q)", src.Type)}
	}
	return src.Spec, nil
}
