package spec

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// valid is a spec every case below breaks in one field.
const valid = `
name: checkout
target: {service: shop/checkout}
sli: availability
objective: 99.9
window: 28d
`

func TestValidationErrors(t *testing.T) {
	for _, tc := range []struct {
		name  string
		yaml  string // replaces or adds lines of valid (by key)
		field string
		err   string
	}{
		{"name missing", "name: \"\"", "name", "required"},
		{"name upper case", "name: Checkout", "name", `lower case letters, digits, '-', '_' and '.' only (got "Checkout")`},
		{"name leading dash", "name: -x", "name", `must start with a letter, digit or '_' (got "-x")`},
		{"name too long", "name: " + strings.Repeat("a", 129), "name", "at most 128 characters (got 129)"},
		{"no target", "target: {}", "target", "give exactly one of service, edge or filter"},
		{"two targets", "target: {service: shop/a, filter: {method: GET}}", "target", "give exactly one of service, edge or filter"},
		{"bad service", "target: {service: checkout}", "target.service", `want NAMESPACE/NAME or service:NAMESPACE/NAME (got "checkout")`},
		{"edge without source", "target: {edge: {destination: shop/a}}", "target.edge.source", "required: a node id such as service:NAMESPACE/NAME"},
		{"edge bad destination", "target: {edge: {source: shop/a, destination: nope}}", "target.edge.destination", `want a node id (service:NS/NAME, external:HOST, ...) or NS/NAME (got "nope")`},
		{"edge workload", "target: {edge: {source: workload:shop/a-v1, destination: shop/b}}", "target.edge.source", `requests are recorded between services: use service:NS/NAME (got "workload:shop/a-v1")`},
		{"empty filter", "target: {filter: {}}", "target.filter", "give at least one of source, destination, method or path_prefix"},
		{"filter bad method", "target: {filter: {method: \"GE T\"}}", "target.filter.method", `want an HTTP method such as GET or POST (got "GE T")`},
		{"filter bad path", "target: {filter: {path_prefix: api}}", "target.filter.path_prefix", `must start with / (got "api")`},
		{"filter bad source", "target: {filter: {source: x}}", "target.filter.source", `want a node id (service:NS/NAME, external:HOST, ...) or NS/NAME (got "x")`},
		{"sli missing", "sli: \"\"", "sli", "required: availability or {latency: {threshold: 300ms}}"},
		{"sli unknown", "sli: speed", "sli", `must be availability or latency (got "speed")`},
		{"sli unknown key", "sli: {speed: {}}", "sli.speed", "unknown SLI kind (want availability or latency)"},
		{"latency without threshold", "sli: {latency: {}}", "sli.latency.threshold", "must be positive (got 0s)"},
		{"latency unknown key", "sli: {latency: {threshold: 1s, le: 2}}", "sli.latency.le", "unknown field (known: threshold)"},
		{"errors with latency", "sli: {latency: {threshold: 1s}}\nerrors: {codes: [5xx]}", "errors", "only applies to availability SLIs"},
		{"objective too high", "objective: 100.5", "objective", "must be between 0 and 100 (got 100.5)"},
		{"objective 100", "objective: 100", "objective", "must be between 0 and 100 (got 100)"},
		{"objective zero", "objective: 0", "objective", "must be between 0 and 100 (got 0)"},
		{"objective not a number", "objective: high", "objective", "cannot unmarshal"},
		{"window missing", "window: \"\"", "window", "duration"},
		{"window too short", "window: 30m", "window", "must be between 1h and 366d (got 30m)"},
		{"window too long", "window: 400d", "window", "must be between 1h and 366d (got 400d)"},
		{"calendar unknown", "window: {calendar: year}", "window.calendar", `must be day, week or month (got "year")`},
		{"calendar bad zone", "window: {calendar: month, timezone: Mars/Olympus}", "window.timezone", `unknown time zone "Mars/Olympus"`},
		{"rolling and calendar", "window: {rolling: 7d, calendar: week}", "window.rolling", "give rolling or calendar, not both"},
		{"zone on rolling", "window: {rolling: 7d, timezone: UTC}", "window.timezone", "only applies to calendar windows"},
		{"window unknown key", "window: {calendar: week, start: monday}", "window.start", "unknown field (known: calendar, rolling, timezone)"},
		{"errors empty", "errors: {}", "errors", "give codes, flags or both (leave errors out for meshscope's error rule)"},
		{"errors bad code", "errors: {codes: [5xx, 600]}", "errors.codes[1]", `want an HTTP code (100-599), a class such as 5xx, 0 for no response, or grpc:STATUS (got "600")`},
		{"errors bad class", "errors: {codes: [6xx]}", "errors.codes[0]", `want an HTTP code (100-599), a class such as 5xx, 0 for no response, or grpc:STATUS (got "6xx")`},
		{"errors grpc out of range", "errors: {codes: [\"grpc:0\"]}", "errors.codes[0]", "gRPC status 0: want 1-16 (0 is OK)"},
		{"errors grpc unknown", "errors: {codes: [\"grpc:BROKEN\"]}", "errors.codes[0]", `unknown gRPC status "grpc:BROKEN"`},
		{"errors bad flag", "errors: {flags: [UH, XX]}", "errors.flags[1]", `unknown Envoy response flag "XX"`},
		{"long not longer", "alerting: {page: [{long: 5m, short: 5m, burn: 14.4}]}", "alerting.page[0].long", "must be longer than short 5m (got 5m)"},
		{"short zero", "alerting: {ticket: [{long: 1h, short: 0s, burn: 1}]}", "alerting.ticket[0].short", "must be positive (got 0s)"},
		{"long over window", "window: 1d\nalerting: {ticket: [{long: 3d, short: 6h, burn: 1}]}", "alerting.ticket[0].long", "must not be longer than the SLO window 1d (got 3d)"},
		{"burn zero", "alerting: {page: [{long: 1h, short: 5m, burn: 0}]}", "alerting.page[0].burn", "must be positive (got 0)"},
		{"burn unreachable", "objective: 90", "alerting.page[0].burn", "can never be reached: the largest burn rate for objective 90 is 10 (got 14.4)"},
		{"fractional window", "alerting: {page: [{long: 1h, short: 1500ms, burn: 2}]}", "alerting.page[0]", "windows must be whole numbers of seconds"},
		{"for negative", "alerting: {for: -1m}", "alerting.for", "must not be negative (got -1m)"},
		{"no_data unknown", "alerting: {no_data: page}", "alerting.no_data", `must be keep, ok or alert (got "page")`},
		{"no_data_severity unknown", "alerting: {no_data_severity: email}", "alerting.no_data_severity", `must be page or ticket (got "email")`},
		{"alerting unknown key", "alerting: {pages: []}", "alerting.pages", "unknown field (known: for, min_requests, no_data, no_data_severity, page, ticket)"},
		{"label bad name", "labels: {\"team-name\": a}", "labels.team-name", "label names are letters, digits and underscores, not starting with a digit"},
		{"label reserved", "labels: {severity: low}", "labels.severity", "reserved: the engine sets alertname, slo, severity, service"},
		{"unknown field", "owner: me", "owner", "unknown field (known: alerting, description, errors, labels, name, objective, sli, target, window)"},
		{"unknown target key", "target: {service: shop/a, namespace: shop}", "target.namespace", "unknown field (known: edge, filter, service)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			doc := patch(valid, tc.yaml)
			_, err := ParseOne([]byte(doc), DefaultAlerting())
			require.Error(t, err, doc)
			fe, ok := err.(*FieldError)
			require.True(t, ok, "%T %v", err, err)
			require.Equal(t, tc.field, fe.Field, doc)
			require.Contains(t, fe.Reason, tc.err)
			// The same error in a list names the index.
			list := "slos:\n  - " + strings.ReplaceAll(strings.TrimSpace(valid), "\n", "\n    ") + "\n  - " + strings.ReplaceAll(strings.TrimSpace(doc), "\n", "\n    ")
			list = strings.Replace(list, "name: checkout\n", "name: first\n", 1)
			_, err = Parse([]byte(list), DefaultAlerting())
			require.Error(t, err)
			require.Equal(t, "slos[1]."+tc.field, err.(*FieldError).Field, list)
		})
	}
}

func TestValidationMessage(t *testing.T) {
	doc := "slos:\n" + strings.Repeat("  - {name: a%d, target: {service: shop/a}, sli: availability, objective: 99, window: 28d}\n", 2) +
		"  - {name: c, target: {service: shop/a}, sli: availability, objective: 100.5, window: 28d}\n"
	doc = strings.Replace(doc, "a%d", "a0", 1)
	doc = strings.Replace(doc, "a%d", "a1", 1)
	_, err := Parse([]byte(doc), DefaultAlerting())
	require.EqualError(t, err, "slos[2].objective: must be between 0 and 100 (got 100.5)")

	_, err = Parse([]byte("slos:\n  - {name: a, target: {service: shop/a}, sli: availability, objective: 99, window: 28d}\n  - {name: a, target: {service: shop/b}, sli: availability, objective: 99, window: 28d}\n"), DefaultAlerting())
	require.EqualError(t, err, `slos[1].name: duplicate of slos[0] ("a")`)
}

func TestOpenSLOErrors(t *testing.T) {
	const base = `apiVersion: openslo/v1
kind: SLO
metadata: {name: checkout}
spec:
  service: shop/checkout
  indicator:
    metadata: {name: x}
    spec:
      ratioMetric:
        good: {metricSource: {type: meshscope, spec: {outcome: success}}}
        total: {metricSource: {type: meshscope, spec: {}}}
  timeWindow: [{duration: 28d, isRolling: true}]
  budgetingMethod: Occurrences
  objectives: [{target: 0.999}]
`
	_, err := Parse([]byte(base), DefaultAlerting())
	require.NoError(t, err)
	for _, tc := range []struct {
		name, from, to, field, err string
	}{
		{"api version", "openslo/v1\nkind", "openslo/v2alpha\nkind", "apiVersion", `want openslo/v1 (got "openslo/v2alpha")`},
		{"kind", "kind: SLO", "kind: Dashboard", "kind", `want SLO or SLI (got "Dashboard")`},
		{"timeslices", "Occurrences", "Timeslices", "spec.budgetingMethod", `only Occurrences is supported (got "Timeslices")`},
		{"target above 1", "target: 0.999", "target: 1.5", "spec.objectives[0].target", "must be between 0 and 1 (got 1.5)"},
		{"two objectives", "[{target: 0.999}]", "[{target: 0.99}, {target: 0.999}]", "spec.objectives", "want exactly one objective (got 2)"},
		{"threshold objective", "[{target: 0.999}]", "[{op: lt, value: 200}]", "spec.objectives[0].op", "threshold objectives are not supported: give target for a ratio"},
		{"percent out of range", "[{target: 0.999}]", "[{targetPercent: 120}]", "spec.objectives[0].target", "must be between 0 and 100 (got 120)"},
		{"calendar duration", "{duration: 28d, isRolling: true}", "{duration: 28d, isRolling: false}", "spec.timeWindow[0].duration", `calendar windows are 1d, 1w or 1M (got "28d")`},
		{"no indicator", "  indicator:\n", "  indicatorX:\n", "spec.indicatorX", "unknown field"},
		{"missing ref", "  indicator:\n    metadata: {name: x}\n    spec:\n      ratioMetric:\n        good: {metricSource: {type: meshscope, spec: {outcome: success}}}\n        total: {metricSource: {type: meshscope, spec: {}}}\n", "  indicatorRef: nowhere\n", "spec.indicatorRef", `no SLI document named "nowhere" in the file`},
		{"source type", "good: {metricSource: {type: meshscope", "good: {metricSource: {type: prometheus", "spec.indicator.spec.ratioMetric.good.metricSource.type", `want meshscope (got "prometheus")`},
		{"good and bad", "good: {metricSource: {type: meshscope, spec: {outcome: success}}}", "good: {metricSource: {type: meshscope, spec: {outcome: success}}}\n        bad: {metricSource: {type: meshscope, spec: {outcome: error}}}", "spec.indicator.spec.ratioMetric.good", "give good or bad, not both"},
		{"bad outcome", "spec: {outcome: success}", "spec: {outcome: fine}", "spec.indicator.spec.ratioMetric.good.metricSource.spec", "good counts outcome: success or latency_le: DURATION"},
		{"target in total mismatch", "good: {metricSource: {type: meshscope, spec: {outcome: success}}}", "good: {metricSource: {type: meshscope, spec: {outcome: success, target: {service: shop/other}}}}", "spec.indicator.spec.ratioMetric.good.metricSource.spec.target", "must be the same as total's target (or left out)"},
		{"bad service", "service: shop/checkout", "service: checkout", "spec.indicator.spec.ratioMetric.total.metricSource.spec.target.service", `want NAMESPACE/NAME or service:NAMESPACE/NAME (got "checkout")`},
		{"bad name", "name: checkout}", "name: Checkout}", "metadata.name", "lower case letters"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			doc := strings.Replace(base, tc.from, tc.to, 1)
			require.NotEqual(t, base, doc)
			_, err := Parse([]byte(doc), DefaultAlerting())
			require.Error(t, err, doc)
			fe, ok := err.(*FieldError)
			require.True(t, ok, "%T %v", err, err)
			require.Equal(t, tc.field, fe.Field, doc)
			require.Contains(t, fe.Reason, tc.err)
		})
	}
}

// patch replaces the top-level keys of doc that lines set, or adds them.
func patch(doc, lines string) string {
	out := strings.Split(strings.TrimSpace(doc), "\n")
	for _, l := range strings.Split(lines, "\n") {
		key, _, _ := strings.Cut(l, ":")
		done := false
		for i, o := range out {
			if strings.HasPrefix(o, key+":") {
				out[i], done = l, true
			}
		}
		if !done {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n") + "\n"
}
