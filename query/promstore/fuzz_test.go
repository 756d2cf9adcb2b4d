package promstore

import (
	"regexp"
	"testing"

	"github.com/prometheus/prometheus/model/labels"
)

// conditionShape is every condition a matcher may become: one of the
// fixed label expressions compared with a bound value.
var conditionShape = regexp.MustCompile(`^(NOT )?(match\()?(metric_name|if\(has\(label_keys, 'job'\), label_values\[indexOf\(label_keys, 'job'\)\], service_name\)|label_values\[indexOf\(label_keys, \?\)\])(, \?\)| != \?| = \?)$`)

// FuzzMatchersSQL: whatever a selector's label names and values are, they
// reach ClickHouse as bound arguments, never as SQL text.
func FuzzMatchersSQL(f *testing.F) {
	for _, s := range []string{"job", "__name__", "code", "'; DROP TABLE metric_series --", "a\\'b", "5.."} {
		f.Add(s, s)
	}
	f.Fuzz(func(t *testing.T, name, value string) {
		for _, typ := range []labels.MatchType{labels.MatchEqual, labels.MatchNotEqual, labels.MatchRegexp, labels.MatchNotRegexp} {
			m, err := labels.NewMatcher(typ, name, value)
			if err != nil {
				continue // an invalid regular expression: the parser refuses it first
			}
			where, args := matchersSQL([]*labels.Matcher{m})
			cond := where[len("1 AND "):]
			if !conditionShape.MatchString(cond) {
				t.Fatalf("matcher %s reached SQL as %q", m, cond)
			}
			if len(args) == 0 || len(args) > 2 {
				t.Fatalf("matcher %s bound %d arguments", m, len(args))
			}
		}
	})
}
