package traceql

import (
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestParse(t *testing.T) {
	q, err := Parse(`{ resource.service.name = "cart" && span.http.status_code >= 500 || (name =~ "GET .*" && duration > 250ms) }`)
	require.NoError(t, err)
	require.Len(t, q.Sets, 1)
	e := q.Sets[0]
	require.Equal(t, "||", e.Op)
	require.Equal(t, "&&", e.Left.Op)
	require.Equal(t, &Expr{Op: "=", Field: Field{"resource", "service.name"}, Value: Value{Kind: "string", Str: "cart"}}, e.Left.Left)
	require.Equal(t, &Expr{Op: ">=", Field: Field{"span", "http.status_code"}, Value: Value{Kind: "number", Num: 500}}, e.Left.Right)
	require.Equal(t, &Expr{Op: ">", Field: Field{"intrinsic", "duration"}, Value: Value{Kind: "duration", Num: float64(250 * time.Millisecond)}}, e.Right.Right)
	require.Equal(t, []Field{{"resource", "service.name"}, {"span", "http.status_code"}, {"intrinsic", "name"}, {"intrinsic", "duration"}}, e.Fields())

	q, err = Parse(`{status = error} && {.db.system="postgresql" && kind=client} && {span:name != "x"}`)
	require.NoError(t, err)
	require.Equal(t, "&&", q.Op)
	require.Len(t, q.Sets, 3)
	require.Equal(t, Value{Kind: "status", Str: "error"}, q.Sets[0].Value)
	require.Equal(t, Field{"", "db.system"}, q.Sets[1].Left.Field)
	require.Equal(t, Value{Kind: "kind", Str: "client"}, q.Sets[1].Right.Value)
	require.Equal(t, Field{"intrinsic", "name"}, q.Sets[2].Field)

	q, err = Parse(`{ span.a != nil && .b = nil }`)
	require.NoError(t, err)
	require.Equal(t, Value{Kind: "nil"}, q.Sets[0].Left.Value)

	q, err = Parse(`{ kind = server } | count() > 2 | avg(duration) >= 1.5s | max(span.size) < 10 | select(span.http.route, resource.k8s.pod.name)`)
	require.NoError(t, err)
	require.Equal(t, []Aggregate{
		{Fn: "count", Op: ">", Value: Value{Kind: "number", Num: 2}},
		{Fn: "avg", Field: Field{"intrinsic", "duration"}, Op: ">=", Value: Value{Kind: "duration", Num: 1.5e9}},
		{Fn: "max", Field: Field{"span", "size"}, Op: "<", Value: Value{Kind: "number", Num: 10}},
	}, q.Aggregates)
	require.Equal(t, []Field{{"span", "http.route"}, {"resource", "k8s.pod.name"}}, q.Select)

	q, err = Parse(`{ status = error } | rate() by (resource.service.name, span.http.route)`)
	require.NoError(t, err)
	require.Equal(t, &Metrics{Fn: "rate", By: []Field{{"resource", "service.name"}, {"span", "http.route"}}}, q.Metrics)
	q, err = Parse(`{} | quantile_over_time(duration, 0.5, .99)`)
	require.NoError(t, err)
	require.Equal(t, &Metrics{Fn: "quantile_over_time", Field: Field{"intrinsic", "duration"}, Quantiles: []float64{0.5, 0.99}}, q.Metrics)
	q, err = Parse(`{} | avg_over_time(span.size) by (kind)`)
	require.NoError(t, err)
	require.Equal(t, []Field{{"intrinsic", "kind"}}, q.Metrics.By)

	q, err = Parse(`{ resource.service.name = "web" } >> { status = error }`)
	require.NoError(t, err)
	require.Equal(t, ">>", q.Op)
	require.Len(t, q.Sets, 2)
	for _, op := range []string{">", "<<", "<", "~"} {
		q, err = Parse(`{ .a = 1 } ` + op + ` { .b = 2 }`)
		require.NoError(t, err, op)
		require.Equal(t, op, q.Op)
	}

	q, err = Parse(`{}`)
	require.NoError(t, err)
	require.Equal(t, []*Expr{nil}, q.Sets)
	q, err = Parse(`{ span."my attr" = true } || { resource.k8s.pod.name != "x" }`)
	require.NoError(t, err)
	require.Equal(t, Field{"span", "my attr"}, q.Sets[0].Field)
	require.Equal(t, Value{Kind: "bool", Str: "true"}, q.Sets[0].Value)

	for _, bad := range []string{``, `{`, `{ name = }`, `{ foo = 1 }`, `{ .a }`, `{ name > "x" }`, `{ status = "error" }`, `{ kind > server }`,
		`{ duration > "1s" }`, `{ .a =~ "(" }`, `{ .a = error }`, `{} !>> {}`, `{} >> {} >> {}`, `{} && {} > {}`, `{} && {} || {}`, `{ trace:rootName = "x" }`,
		`{ rootServiceName = "x" }`, `{} | count() > 1s`, `{} | avg(name) > 1`, `{} | rate(x)`, `{} | count() > 1 && {}`, `{} && {} | count() > 1`, `{} | select()`, `{} | rate() > 2`, `{} | count() > 1 | rate()`, `{} | quantile_over_time(duration)`, `{} | quantile_over_time(duration, 2)`, `{} | histogram_over_time(span.a)`, `{} | avg_over_time(name)`, `{} | rate() by ()`, `{} && {} | rate()`, `{} | count() =~ 1`, `{ .a > nil }`, `{ name = nil }`, `{ .a = 1 } extra`, `{ .a = "x }`, `{ event:name = "x" }`} {
		_, err := Parse(bad)
		require.Error(t, err, bad)
	}
}

// FuzzParse: whatever the query, Parse returns; what it accepts has
// compiled regular expressions and values of the kinds its fields read.
func FuzzParse(f *testing.F) {
	for _, s := range []string{`{ resource.service.name = "cart" && span.http.status_code >= 500 }`, `{status=error} && {duration>1s}`,
		`{ .a =~ "b.*" || (name != "x" && kind = server) }`, `{}`, "{ span.`a` = `b` }"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		q, err := Parse(s)
		if err != nil {
			return
		}
		for _, set := range q.Sets {
			var walk func(e *Expr)
			walk = func(e *Expr) {
				if e == nil {
					return
				}
				if e.Left != nil {
					walk(e.Left)
					walk(e.Right)
					return
				}
				if check(e.Field, e.Op, e.Value) != nil {
					t.Fatalf("%q: %v accepted", s, e)
				}
				if e.Op == "=~" || e.Op == "!~" {
					regexp.MustCompile(e.Value.Str)
				}
			}
			walk(set)
		}
		for _, a := range q.Aggregates {
			if a.Value.Kind != "number" && a.Value.Kind != "duration" || a.Fn == "count" && a.Field != (Field{}) {
				t.Fatalf("%q: aggregate %+v accepted", s, a)
			}
		}
		if q.Metrics != nil && (len(q.Aggregates)+len(q.Select) > 0 || q.Metrics.Fn == "quantile_over_time" && len(q.Metrics.Quantiles) == 0) {
			t.Fatalf("%q: metrics %+v accepted", s, q.Metrics)
		}
		if len(q.Aggregates)+len(q.Select) > 0 && len(q.Sets) != 1 {
			t.Fatalf("%q: a pipeline after %d spansets", s, len(q.Sets))
		}
	})
}
