package logql

import (
	"math"
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestParse(t *testing.T) {
	q, err := Parse(`{service_name="cart", level=~"error|warn"} |= "timeout" != "retry" |~ "code=5\\d\\d" !~ ` + "`a\\d`")
	require.NoError(t, err)
	require.Nil(t, q.Metric)
	require.Equal(t, []Matcher{{"service_name", Equal, "cart"}, {"level", Regexp, "error|warn"}}, q.Log.Matchers)
	require.Equal(t, []LineFilter{{"|=", "timeout"}, {"!=", "retry"}, {"|~", `code=5\d\d`}, {"!~", `a\d`}}, q.Log.Filters)

	q, err = Parse(`{service_name="cart"} |> "GET /cart/<_> <_>" !> ` + "`<_> level=debug <_>`")
	require.NoError(t, err)
	require.Equal(t, []LineFilter{{"|>", "GET /cart/<_> <_>"}, {"!>", "<_> level=debug <_>"}}, q.Log.Filters)

	q, err = Parse(`sum by (level, service_name) (count_over_time({a="b"} | drop __error__, x [1m]))`)
	require.NoError(t, err)
	require.Equal(t, MetricQuery{Log: LogQuery{Matchers: []Matcher{{"a", Equal, "b"}}, Drop: []string{"__error__", "x"}}, Range: time.Minute, Fn: "count_over_time", Sum: true, By: []string{"level", "service_name"}}, *q.Metric)
	q, err = Parse(`sum(rate({a!="b"}[2d])) by (level)`)
	require.NoError(t, err)
	require.Equal(t, MetricQuery{Log: LogQuery{Matchers: []Matcher{{"a", NotEqual, "b"}}}, Range: 48 * time.Hour, Fn: "rate", Rate: true, Sum: true, By: []string{"level"}}, *q.Metric)

	q, err = Parse(`sum by (service_name) (count_over_time({level="error"} |= "timeout" [5m])) >= 10`)
	require.NoError(t, err)
	require.Equal(t, [2]any{">=", 10.0}, [2]any{q.Metric.Cmp, q.Metric.Threshold})
	require.True(t, q.Metric.Keeps(10))
	require.False(t, q.Metric.Keeps(9))
	q, err = Parse(`rate({a="b"}[1m]) != 0.5`)
	require.NoError(t, err)
	require.False(t, q.Metric.Keeps(0.5))
	require.True(t, MetricQuery{}.Keeps(-1), "no comparison keeps every value")

	q, err = Parse(` vector(1) + vector(1)`)
	require.NoError(t, err)
	require.Equal(t, 2.0, *q.Vector)

	for _, bad := range []string{`vector(x)`, `vector(1) + sum(1)`, ``, `{}`, `{a="b"`, `{a=b}`, `{a="b"} | regexp "x"`, `{a="b"} | json x="y"`, `{a="b"} | s > "x"`, `{a="b"} | s =~ 5`, `{a="b"} | s > 5zz`, `{a="b"} | s`, `{a="b"} | (s="x"`, `{a="b"} | s=~"("`, `{a="b"} |= x`, `count_over_time({a="b"})`, `count_over_time({a="b"}[0s])`,
		`avg(count_over_time({a="b"}[1m]))`, `{a=~"("}`, `{a="b"} extra`, `{a="unterminated}`, `{a="b"} |> ""`, `rate({a="b"}[1m]) > x`, `{a="b"} > 1`} {
		_, err := Parse(bad)
		require.Error(t, err, bad)
	}
}

// FuzzParse: whatever the query, Parse returns; what it accepts has
// label names, compiled regular expressions and a range of a second or
// more.
func FuzzParse(f *testing.F) {
	for _, s := range []string{`{service_name="cart"} |= "x"`, `sum by (level) (count_over_time({a=~"b|c"} | drop __error__ [5m]))`,
		`rate({a!~"x"}[1h])`, `{a="\u00e9\"q"}`, "{a=`raw`} |~ `\\d+`", `{a="b"} |> "<_> x <_>" !> "y"`, `{a="b"} | json | s >= 5 and d < 1s or z=~"x" | logfmt | (b="1", c!=2KB)`} {
		f.Add(s)
	}
	name := regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)
	f.Fuzz(func(t *testing.T, s string) {
		q, err := Parse(s)
		if err != nil {
			return
		}
		if q.Vector != nil {
			return
		}
		lq := q.Log
		if q.Metric != nil {
			if q.Metric.Range < time.Second {
				t.Fatalf("%q: range %s", s, q.Metric.Range)
			}
			lq = &q.Metric.Log
		}
		if lq == nil || len(lq.Matchers) == 0 {
			t.Fatalf("%q: no selector", s)
		}
		for _, m := range lq.Matchers {
			if !name.MatchString(m.Name) {
				t.Fatalf("%q: label %q", s, m.Name)
			}
			if m.Type == Regexp || m.Type == NotRegexp {
				if _, err := regexp.Compile(m.Value); err != nil {
					t.Fatalf("%q: regexp %q accepted", s, m.Value)
				}
			}
		}
		var walk func(f *LabelFilter)
		walk = func(f *LabelFilter) {
			switch {
			case f.Op == "and" || f.Op == "or":
				walk(f.Left)
				walk(f.Right)
			case !name.MatchString(f.Name):
				t.Fatalf("%q: label filter on %q", s, f.Name)
			case f.Numeric && (math.IsNaN(f.Number) || math.IsInf(f.Number, 0)):
				t.Fatalf("%q: %s compares with %v", s, f.Name, f.Number)
			case f.Op == "=~" || f.Op == "!~":
				if _, err := regexp.Compile(f.Value); err != nil {
					t.Fatalf("%q: regexp %q accepted", s, f.Value)
				}
			}
		}
		for _, f := range lq.LabelFilters {
			walk(f)
		}
		// A pattern or regexp parser's expressions compile, whole and for
		// each field a filter reads.
		for _, pr := range lq.Parsers {
			if pr.Expr == "" {
				continue
			}
			for _, field := range append([]string{""}, func() []string {
				var out []string
				for _, f := range lq.LabelFilters {
					out = append(out, f.Labels()...)
				}
				return out
			}()...) {
				re, err := ParserRegexp(pr, field)
				if err != nil {
					t.Fatalf("%q: %s parser accepted, then %v", s, pr.Name, err)
				}
				if _, err := regexp.Compile(re); err != nil {
					t.Fatalf("%q: %s for %q is %q: %v", s, pr.Name, field, re, err)
				}
			}
		}
		if lq.Unwrap != nil && !name.MatchString(lq.Unwrap.Label) {
			t.Fatalf("%q: unwrap %q", s, lq.Unwrap.Label)
		}
	})
}

// The pipeline's parsers and label filters: and binds tighter than or; a
// space and a comma are and; a number, a duration or a size compares as
// a number; each filter knows the parsers before it.
func TestParsePipeline(t *testing.T) {
	q, err := Parse(`{a="b"} | status="ok" | json |= "x" | status >= 500 and latency > 250ms or size <= 2KiB, code=~"5.." | logfmt | (a="1" or b!="2") c != 3 | drop __error__`)
	require.NoError(t, err)
	lq := q.Log
	require.Equal(t, []Parser{{Name: "json"}, {Name: "logfmt"}}, lq.Parsers)
	require.Equal(t, []LineFilter{{"|=", "x"}}, lq.Filters)
	require.Len(t, lq.LabelFilters, 3)
	require.Equal(t, &LabelFilter{Op: "=", Name: "status", Value: "ok", Parsers: []Parser{}}, lq.LabelFilters[0])
	f := lq.LabelFilters[1]
	require.Equal(t, "or", f.Op)
	require.Equal(t, "and", f.Left.Op)
	require.Equal(t, LabelFilter{Op: ">=", Name: "status", Numeric: true, Number: 500, Parsers: []Parser{{Name: "json"}}}, *f.Left.Left)
	require.Equal(t, LabelFilter{Op: ">", Name: "latency", Numeric: true, Number: 0.25, Unit: "duration", Parsers: []Parser{{Name: "json"}}}, *f.Left.Right)
	require.Equal(t, "and", f.Right.Op)
	require.Equal(t, LabelFilter{Op: "<=", Name: "size", Numeric: true, Number: 2048, Unit: "bytes", Parsers: []Parser{{Name: "json"}}}, *f.Right.Left)
	require.Equal(t, LabelFilter{Op: "=~", Name: "code", Value: "5..", Parsers: []Parser{{Name: "json"}}}, *f.Right.Right)
	g := lq.LabelFilters[2]
	require.Equal(t, "and", g.Op)
	require.Equal(t, "or", g.Left.Op)
	require.Equal(t, []string{"a", "b", "c"}, g.Labels())
	require.Equal(t, LabelFilter{Op: "!=", Name: "c", Numeric: true, Number: 3, Parsers: []Parser{{Name: "json"}, {Name: "logfmt"}}}, *g.Right)

	q, err = Parse(`sum by (path) (count_over_time({a="b"} | logfmt | status = 500 [5m]))`)
	require.NoError(t, err)
	require.Equal(t, []string{"path"}, q.Metric.By)
	require.Equal(t, "==", q.Metric.Log.LabelFilters[0].Op, "= with a number compares numbers")

	// Unwrapped range aggregations: the label, its conversion, a grouping
	// of their own (by () is one series).
	q, err = Parse(`quantile_over_time(0.99, {a="b"} | json | unwrap duration(latency) | __error__="" [5m]) by ()`)
	require.NoError(t, err)
	mq := q.Metric
	require.Equal(t, "quantile_over_time", mq.Fn)
	require.Equal(t, 0.99, mq.Quantile)
	require.Equal(t, &Unwrap{Label: "latency", Conv: "duration", Parsers: []Parser{{Name: "json"}}}, mq.Log.Unwrap)
	require.Len(t, mq.Log.LabelFilters, 1)
	require.True(t, mq.RangeGrouped)
	require.Empty(t, mq.RangeBy)
	q, err = Parse(`sum by (path) (avg_over_time({a="b"} | logfmt | unwrap bytes [1m]) by (path, pod))`)
	require.NoError(t, err)
	require.Equal(t, &Unwrap{Label: "bytes", Parsers: []Parser{{Name: "logfmt"}}}, q.Metric.Log.Unwrap, "a label named bytes")
	require.Equal(t, []string{"path", "pod"}, q.Metric.RangeBy)
	require.Equal(t, []string{"path"}, q.Metric.By)
	q, err = Parse(`rate({a="b"} | unwrap size [1m])`)
	require.NoError(t, err)
	require.True(t, q.Metric.Rate)
	for _, bad := range []string{`avg_over_time({a="b"}[1m])`, `{a="b"} | unwrap x`, `count_over_time({a="b"}[1m]) by (x)`,
		`sum_over_time({a="b"} | unwrap x |= "y" [1m])`, `sum_over_time({a="b"} | unwrap x | json [1m])`, `quantile_over_time(2, {a="b"} | unwrap x [1m])`,
		`max_over_time({a="b"} | unwrap x [1m]) without (y)`} {
		_, err := Parse(bad)
		require.Error(t, err, bad)
	}

	for lit, want := range map[string]float64{"10": 10, "1.5e3": 1500, "-2": -2, "1m30s": 90, "10kb": 10e3, "3MiB": 3 << 20, "7B": 7} {
		v, _, err := numberLiteral(lit)
		require.NoError(t, err, lit)
		require.Equal(t, want, v, lit)
	}
}

// The pattern and regexp parsers' expressions as the regular expressions
// that read them: every capture named (for Go), or the one field's alone
// (for ClickHouse's extract).
func TestParserRegexp(t *testing.T) {
	pat := Parser{Name: "pattern", Expr: `<ip> - <_> "<method> <path> <_>" <status> <size>`}
	for _, tc := range []struct {
		field, want string
	}{
		{"", `^(?P<ip>.*?) - (?:.*?) "(?P<method>.*?) (?P<path>.*?) (?:.*?)" (?P<status>.*?) (?P<size>.*)`},
		{"path", `^(?:.*?) - (?:.*?) "(?:.*?) (.*?) (?:.*?)" (?:.*?) (?:.*)`},
		{"size", `^(?:.*?) - (?:.*?) "(?:.*?) (?:.*?) (?:.*?)" (?:.*?) (.*)`},
		{"absent", ``},
	} {
		re, err := ParserRegexp(pat, tc.field)
		require.NoError(t, err)
		require.Equal(t, tc.want, re, tc.field)
	}
	line := `10.0.0.1 - - [30/Nov/2026] "GET /cart HTTP/1.1" 503 1024`
	re, _ := ParserRegexp(pat, "")
	m := regexp.MustCompile(re).FindStringSubmatch(line)
	require.Equal(t, []string{"10.0.0.1", "GET", "/cart", "503", "1024"}, []string{m[1], m[2], m[3], m[4], m[5]})
	re, _ = ParserRegexp(pat, "status")
	require.Equal(t, "503", regexp.MustCompile(re).FindStringSubmatch(line)[1])

	rx := Parser{Name: "regexp", Expr: `(?P<method>\w+) (?P<path>[^ (]+) \(?(\d+)?`}
	re, err := ParserRegexp(rx, "path")
	require.NoError(t, err)
	require.Equal(t, `(?:\w+) ([^ (]+) \(?(?:\d+)?`, re)
	require.Equal(t, "/cart", regexp.MustCompile(re).FindStringSubmatch("GET /cart (3")[1])
	re, _ = ParserRegexp(rx, "")
	require.Equal(t, rx.Expr, re)

	for _, bad := range []Parser{{"pattern", "no captures"}, {"pattern", "<a><b>"}, {"pattern", "<a> <a>"}, {"regexp", "(unnamed)"}, {"regexp", "(?P<a>"}} {
		_, err := ParserRegexp(bad, "")
		require.Error(t, err, bad.Expr)
	}
	q, err := Parse(`{a="b"} | pattern "<_> <status> <_>" | status >= 500 | regexp "(?P<code>\\d+)"`)
	require.NoError(t, err)
	require.Equal(t, []Parser{{"pattern", "<_> <status> <_>"}, {"regexp", `(?P<code>\d+)`}}, q.Log.Parsers)
	require.Equal(t, []Parser{{"pattern", "<_> <status> <_>"}}, q.Log.LabelFilters[0].Parsers)
	q, err = Parse(`{a="b"} | json | drop level, x | keep service_name, a`)
	require.NoError(t, err)
	require.Equal(t, []string{"level", "x"}, q.Log.Drop)
	require.Equal(t, []string{"service_name", "a"}, q.Log.Keep)
	require.True(t, q.Log.Answers("a"))
	require.False(t, q.Log.Answers("level"), "dropped")
	require.False(t, q.Log.Answers("trace_id"), "not kept")
	require.True(t, LogQuery{}.Answers("x"))
	q, err = Parse(`{a="b"} | json | line_format "{{.a}} {{ __line__ }}" | a = "x"`)
	require.NoError(t, err)
	require.Equal(t, "{{.a}} {{ __line__ }}", q.Log.LineFormat)
	for _, bad := range []string{`{a="b"} | drop a="x"`, `{a="b"} | keep`, `{a="b"} | line_format "{{"`, `{a="b"} | line_format "x" |= "y"`, `{a="b"} | line_format "x" | json`, `{a="b"} | pattern`, `{a="b"} | pattern "x"`, `{a="b"} | regexp "(x)"`, `{a="b"} | unwrap x | pattern "<a>"`} {
		_, err := Parse(bad)
		require.Error(t, err, bad)
	}
}
