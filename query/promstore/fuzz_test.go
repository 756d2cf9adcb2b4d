package promstore

import (
	"regexp"
	"strings"
	"testing"

	"github.com/prometheus/prometheus/model/labels"
)

// conditionShape is every condition a matcher may become: one of the
// fixed label expressions compared with a bound value, or a list of bound
// metric names.
var conditionShape = regexp.MustCompile(`^(0|metric_name IN \(\?(, \?)*\)|(NOT )?(match\()?(` + labelShapes + `)(, \?\)| != \?| = \?))$`)

// labelShapes are the label expressions: job's, instance's, a label's, an
// OTLP attribute's under its Prometheus name.
var labelShapes = `if\(has\(label_keys, 'job'\), label_values\[indexOf\(label_keys, 'job'\)\], service_name\)|` +
	regexp.QuoteMeta(instanceSQL) + `|label_values\[indexOf\(label_keys, \?\)\]|` +
	`multiIf\((has\(label_keys, \?\), label_values\[indexOf\(label_keys, \?\)\], )+''\)`

// FuzzMatchersSQL: whatever a selector's label names and values are, they
// reach ClickHouse as bound arguments, never as SQL text.
func FuzzMatchersSQL(f *testing.F) {
	for _, s := range []string{"job", "instance", "__name__", "code", "http_request_method", "'; DROP TABLE metric_series --", "a\\'b", "5.."} {
		f.Add(s, s)
	}
	ix := &nameIndex{
		stored: []string{"http.server.request.duration", "istio_requests_total", "'; DROP TABLE metric_series --"},
		shown:  map[string]string{"http.server.request.duration": "http_server_request_duration_seconds"},
		keys:   map[string][]string{"http_request_method": {"http.request.method", "http/request/method"}},
	}
	f.Fuzz(func(t *testing.T, name, value string) {
		for _, typ := range []labels.MatchType{labels.MatchEqual, labels.MatchNotEqual, labels.MatchRegexp, labels.MatchNotRegexp} {
			m, err := labels.NewMatcher(typ, name, value)
			if err != nil {
				continue // an invalid regular expression: the parser refuses it first
			}
			where, args := ix.matchersSQL([]*labels.Matcher{m})
			cond := where[len("1 AND "):]
			if !conditionShape.MatchString(cond) {
				t.Fatalf("matcher %s reached SQL as %q", m, cond)
			}
			if want := strings.Count(cond, "?"); len(args) != want {
				t.Fatalf("matcher %s: %d arguments for %d placeholders", m, len(args), want)
			}
		}
	})
}
