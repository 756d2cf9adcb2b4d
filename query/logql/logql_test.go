package logql

import (
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
	require.Equal(t, MetricQuery{Log: LogQuery{Matchers: []Matcher{{"a", Equal, "b"}}}, Range: time.Minute, Sum: true, By: []string{"level", "service_name"}}, *q.Metric)
	q, err = Parse(`sum(rate({a!="b"}[2d])) by (level)`)
	require.NoError(t, err)
	require.Equal(t, MetricQuery{Log: LogQuery{Matchers: []Matcher{{"a", NotEqual, "b"}}}, Range: 48 * time.Hour, Rate: true, Sum: true, By: []string{"level"}}, *q.Metric)

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

	for _, bad := range []string{`vector(x)`, `vector(1) + sum(1)`, ``, `{}`, `{a="b"`, `{a=b}`, `{a="b"} | json`, `{a="b"} |= x`, `count_over_time({a="b"})`, `count_over_time({a="b"}[0s])`,
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
		`rate({a!~"x"}[1h])`, `{a="\u00e9\"q"}`, "{a=`raw`} |~ `\\d+`", `{a="b"} |> "<_> x <_>" !> "y"`} {
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
	})
}
