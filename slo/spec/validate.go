package spec

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// FieldError is a spec that cannot be used: the field path (as written,
// "slos[2].objective") and the reason.
type FieldError struct {
	Field  string `json:"field"`
	Reason string `json:"error"`
}

func (e *FieldError) Error() string {
	if e.Field == "" {
		return e.Reason
	}
	return e.Field + ": " + e.Reason
}

// ReservedLabels are set by the engine on every alert and cannot be spec labels.
var ReservedLabels = []string{"alertname", "slo", "severity", "service"}

// Resolve validates s and returns it with node ids normalised and every
// alerting field filled from d. Field paths in the error start with path
// ("slos[2]"), or with the field name when path is empty.
func (s SLO) Resolve(d Alerting, path string) (SLO, error) {
	out := s
	out.Target = s.Target.Normalized()
	a := s.Alerting.merged(d)
	out.Alerting = &a
	if err := s.validate(path, a); err != nil {
		return SLO{}, err
	}
	return out, nil
}

func (s *SLO) validate(path string, resolved Alerting) *FieldError {
	p := func(field string) string { return joinPath(path, field) }
	if err := validName(s.Name); err != "" {
		return &FieldError{Field: p("name"), Reason: err}
	}
	if err := s.Target.validate(p("target")); err != nil {
		return err
	}
	switch s.SLI.Kind {
	case Availability:
	case Latency:
		if s.SLI.Threshold.D() <= 0 {
			return &FieldError{Field: p("sli.latency.threshold"), Reason: fmt.Sprintf("must be positive (got %s)", s.SLI.Threshold)}
		}
		if s.Errors != nil {
			return &FieldError{Field: p("errors"), Reason: "only applies to availability SLIs"}
		}
	case "":
		return &FieldError{Field: p("sli"), Reason: "required: availability or {latency: {threshold: 300ms}}"}
	default:
		return &FieldError{Field: p("sli"), Reason: fmt.Sprintf("must be availability or latency (got %q)", s.SLI.Kind)}
	}
	if !(s.Objective > 0 && s.Objective < 100) {
		return &FieldError{Field: p("objective"), Reason: fmt.Sprintf("must be between 0 and 100 (got %g)", s.Objective)}
	}
	if s.Window == (Window{}) {
		return &FieldError{Field: p("window"), Reason: "required: a rolling duration such as 28d, or {calendar: month}"}
	}
	if err := s.Window.validate(p("window")); err != nil {
		return err
	}
	if s.Errors != nil {
		if err := s.Errors.validate(p("errors")); err != nil {
			return err
		}
	}
	if err := resolved.validate(p("alerting"), s.Objective, s.Window); err != nil {
		return err
	}
	keys := make([]string, 0, len(s.Labels))
	for k := range s.Labels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if !validLabelName(k) {
			return &FieldError{Field: p("labels." + k), Reason: "label names are letters, digits and underscores, not starting with a digit"}
		}
		for _, r := range ReservedLabels {
			if k == r {
				return &FieldError{Field: p("labels." + k), Reason: "reserved: the engine sets " + strings.Join(ReservedLabels, ", ")}
			}
		}
	}
	return nil
}

func validName(n string) string {
	switch {
	case n == "":
		return "required"
	case len(n) > 128:
		return fmt.Sprintf("at most 128 characters (got %d)", len(n))
	case n[0] == '.' || n[0] == '-':
		return fmt.Sprintf("must start with a letter, digit or '_' (got %q)", n)
	}
	for _, r := range n {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return fmt.Sprintf("lower case letters, digits, '-', '_' and '.' only (got %q)", n)
		}
	}
	return ""
}

func validLabelName(n string) bool {
	if n == "" || n[0] >= '0' && n[0] <= '9' || strings.HasPrefix(n, "__") {
		return false
	}
	for _, r := range n {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_') {
			return false
		}
	}
	return true
}

func (t *Target) validate(path string) *FieldError {
	set := 0
	for _, b := range []bool{t.Service != "", t.Edge != nil, t.Filter != nil} {
		if b {
			set++
		}
	}
	if set != 1 {
		return &FieldError{Field: path, Reason: "give exactly one of service, edge or filter"}
	}
	switch {
	case t.Service != "":
		if _, _, ok := ServiceParts(t.Service); !ok {
			return &FieldError{Field: path + ".service", Reason: fmt.Sprintf("want NAMESPACE/NAME or service:NAMESPACE/NAME (got %q)", t.Service)}
		}
	case t.Edge != nil:
		for _, f := range []struct{ name, v string }{{"source", t.Edge.Source}, {"destination", t.Edge.Destination}} {
			if err := validNode(path+".edge."+f.name, f.v, true); err != nil {
				return err
			}
		}
	default:
		f := t.Filter
		if *f == (Filter{}) {
			return &FieldError{Field: path + ".filter", Reason: "give at least one of source, destination, method or path_prefix"}
		}
		for _, n := range []struct{ name, v string }{{"source", f.Source}, {"destination", f.Destination}} {
			if err := validNode(path+".filter."+n.name, n.v, false); err != nil {
				return err
			}
		}
		for _, r := range f.Method {
			if !(r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z') {
				return &FieldError{Field: path + ".filter.method", Reason: fmt.Sprintf("want an HTTP method such as GET or POST (got %q)", f.Method)}
			}
		}
		if f.PathPrefix != "" && !strings.HasPrefix(f.PathPrefix, "/") {
			return &FieldError{Field: path + ".filter.path_prefix", Reason: fmt.Sprintf("must start with / (got %q)", f.PathPrefix)}
		}
	}
	return nil
}

func validNode(path, v string, required bool) *FieldError {
	if v == "" {
		if required {
			return &FieldError{Field: path, Reason: "required: a node id such as service:NAMESPACE/NAME"}
		}
		return nil
	}
	id, ok := NodeID(v)
	if !ok {
		return &FieldError{Field: path, Reason: fmt.Sprintf("want a node id (service:NS/NAME, external:HOST, ...) or NS/NAME (got %q)", v)}
	}
	if strings.HasPrefix(id, "workload:") || strings.HasPrefix(id, "version:") {
		return &FieldError{Field: path, Reason: fmt.Sprintf("requests are recorded between services: use service:NS/NAME (got %q)", v)}
	}
	return nil
}

// Windows lists every distinct window a resolved SLO needs, ascending:
// the short and long alerting windows (and the no-data window).
func (s *SLO) Windows() []time.Duration {
	seen := map[time.Duration]bool{}
	var out []time.Duration
	for _, sev := range Severities {
		for _, w := range s.Alerting.Windows(sev) {
			for _, d := range []time.Duration{w.Short.D(), w.Long.D()} {
				if !seen[d] {
					seen[d] = true
					out = append(out, d)
				}
			}
		}
	}
	if d := s.Alerting.NoDataWindow(); !seen[d] {
		out = append(out, d)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}
