package query

import (
	"encoding/hex"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/meshscope/meshscope/query/logql"
)

// jaegerCondShape is every condition a Jaeger tag may become: numbers
// from fixed lists, or the attribute match with its values bound.
var jaegerCondShape = regexp.MustCompile(`^(status_code !?= \d|kind = \d|\(has\(attr_keys, \?\) AND attr_values\[indexOf\(attr_keys, \?\)\] = \? OR has\(resource_keys, \?\) AND resource_values\[indexOf\(resource_keys, \?\)\] = \?\))$`)

// FuzzFilterParams feeds one string to every parser of the search filters
// that the logs, traces and requests endpoints read. None may panic, and
// what reaches SQL text instead of a bound argument must be what the parser
// promises: span kinds as single digits, ids as hex of their size; request
// flags, bound, are upper-case letters; Jaeger's trace ids are 32 hex
// digits and its tags conditions of a fixed shape; a metric's label match
// is the text it was read from.
func FuzzFilterParams(f *testing.F) {
	for _, s := range []string{"warn", "17", "0", "server,consumer", "Server, CLIENT", "4bf92f3577b34da6a3ce929d0e0e4736",
		"0102030405060708", "UH,UF", "5xx", "'; DROP TABLE spans --", "1,2", `status >= 500 and (path=~"/a.*", latency > 1s) or size <= 2KiB`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if n, err := severityParam(s); err == nil && (n < 1 || n > 24) {
			t.Fatalf("severity %q read as %d", s, n)
		}
		for _, size := range []int{8, 16} {
			id, err := hexIDParam("id", s, size)
			if err != nil {
				continue
			}
			if b, herr := hex.DecodeString(id); herr != nil || len(b) != size || id != strings.ToLower(id) {
				t.Fatalf("id %q read as %q", s, id)
			}
		}
		if kinds, err := spanKindsParam(s); err == nil {
			for _, k := range kinds {
				if n, err := strconv.Atoi(k); err != nil || len(k) != 1 || n >= len(spanKinds) {
					t.Fatalf("kind %q read as %q", s, k)
				}
			}
		}
		if _, args, err := flagsFilter(s); err == nil {
			for _, a := range args {
				if f, _ := a.(string); f == "" || strings.Trim(f, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != "" {
					t.Fatalf("flags %q read as %q", s, a)
				}
			}
		}
		_, _, _ = codeFilter(s)
		if id, err := jaegerTraceID("traceID", s); err == nil {
			if b, herr := hex.DecodeString(id); herr != nil || len(b) != 16 || id != strings.ToLower(id) {
				t.Fatalf("Jaeger trace id %q read as %q", s, id)
			}
		}
		if m, err := metricMatchParam(s); err == nil {
			op := "="
			if m.negate {
				op = "!="
			}
			if m.key == "" || m.key+op+m.value != s {
				t.Fatalf("metric match %q read as %+v", s, m)
			}
		}
		for _, key := range []string{s, "error", "span.kind", "otel.status_code"} {
			if cond, _, err := spanTagCond(key, s); err == nil && !jaegerCondShape.MatchString(cond) {
				t.Fatalf("tag %q=%q reached SQL as %q", key, s, cond)
			}
		}
		// A fields filter's names and values are bound: one argument per
		// placeholder, and the filter's text reaches SQL only as them.
		if f, err := logql.ParseLabelFilter(s, logFieldParsers); err == nil {
			cond, args := lokiLabelFilter(f)
			if n := strings.Count(cond, "?"); n != len(args) {
				t.Fatalf("fields %q: %d placeholders, %d arguments", s, n, len(args))
			}
			// Renamed, a label read from attributes or the body gives the
			// same SQL text: its name is bound, not written.
			var rename func(f *logql.LabelFilter)
			rename = func(f *logql.LabelFilter) {
				if f.Left != nil {
					rename(f.Left)
					rename(f.Right)
				} else if e, _ := lokiField(f.Name, nil); strings.HasPrefix(e, "multiIf(") {
					f.Name = regexp.MustCompile(`[^_]`).ReplaceAllString(f.Name, "x") // the same shape
				}
			}
			rename(f)
			alias := regexp.MustCompile(`v_[0-9a-f]+`) // named by the expression's values
			if again, _ := lokiLabelFilter(f); alias.ReplaceAllString(again, "v_") != alias.ReplaceAllString(cond, "v_") {
				t.Fatalf("fields %q: a label's name is in the SQL text %q", s, cond)
			}
		}
	})
}
