package query

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// lokiAnswer is Loki's query answer, as Grafana's Loki data source reads it.
type lokiAnswer struct {
	Status string `json:"status"`
	Data   struct {
		ResultType string `json:"resultType"`
		Result     []struct {
			Stream map[string]string `json:"stream"`
			Values [][2]any          `json:"values"`
			Metric map[string]string `json:"metric"`
			Value  [2]any            `json:"value"`
		} `json:"result"`
	} `json:"data"`
}

// lines are the answer's log lines, in stream order.
func (a lokiAnswer) lines() []string {
	var out []string
	for _, r := range a.Data.Result {
		for _, v := range r.Values {
			out = append(out, v[1].(string))
		}
	}
	return out
}

// testLoki reads seedClickHouse's log records through Loki's API.
func testLoki(t *testing.T, c client) {
	ns := func(at time.Time) string { return fmt.Sprint(at.UnixNano()) }
	hour := "&start=" + ns(testNow.Add(-time.Hour)) + "&end=" + ns(testNow)
	get := func(path string) lokiAnswer {
		t.Helper()
		var a lokiAnswer
		c.get(path, &a)
		require.Equal(t, "success", a.Status, path)
		return a
	}
	logs := func(q, extra string) lokiAnswer {
		t.Helper()
		a := get("/loki/api/v1/query_range?query=" + url.QueryEscape(q) + hour + extra)
		require.Equal(t, "streams", a.Data.ResultType)
		return a
	}

	// A stream per service, namespace, level and trace (and the record's
	// attributes, Loki's structured metadata, by label name); newest first.
	a := logs(`{service_name="cart"}`, "")
	require.Len(t, a.Data.Result, 2)
	require.Equal(t, map[string]string{"service_name": "cart", "service_namespace": "shop", "level": "warn", "code_function": "handle"}, a.Data.Result[0].Stream)
	require.Equal(t, map[string]string{"service_name": "cart", "service_namespace": "shop", "level": "error", "trace_id": hexA, "code_function": "handle"}, a.Data.Result[1].Stream)
	require.Equal(t, fmt.Sprint(testNow.Add(-10*time.Minute).Add(2*time.Millisecond).UnixNano()), a.Data.Result[1].Values[0][0])
	for _, tc := range []struct {
		query, extra string
		want         []string
	}{
		{`{service_name=~"web|cart"} |= "cart"`, "", []string{"checkout started for cart 42"}},
		{`{level="error"}`, "", []string{"Payment declined: insufficient funds"}},
		{`{service_name="cart"} != "slow"`, "", []string{"Payment declined: insufficient funds"}},
		{`{service_name="cart"} |~ "took [0-9.]+s"`, "", []string{"slow query took 1.2s"}},
		{`{trace_id="` + hexA + `"}`, "&direction=forward", []string{"checkout started for cart 42", "Payment declined: insufficient funds"}},
		{`{service_namespace="shop"}`, "&direction=forward&limit=1", []string{"checkout started for cart 42"}},
		{`{service_namespace="shop"}`, "&limit=1", []string{"slow query took 1.2s"}},
		{`{service_name="web", level!~"info|warn"}`, "", nil},
	} {
		require.Equal(t, tc.want, logs(tc.query, tc.extra).lines(), tc.query+tc.extra)
	}
	// since instead of start; a drop stage (Grafana's) changes nothing.
	a = get("/loki/api/v1/query_range?query=" + url.QueryEscape(`{service_name="web"} | drop __error__`) + "&since=4h&end=" + ns(testNow))
	require.Equal(t, []string{"checkout started for cart 42", "cache miss"}, a.lines())

	// The log volume Grafana asks for: lines per level and step.
	step := "&start=" + ns(testNow.Add(-15*time.Minute)) + "&end=" + ns(testNow) + "&step=60"
	a = get("/loki/api/v1/query_range?query=" + url.QueryEscape(`sum by (level) (count_over_time({service_namespace="shop"} | drop __error__ [1m]))`) + step)
	require.Equal(t, "matrix", a.Data.ResultType)
	got := map[string][]string{}
	for _, r := range a.Data.Result {
		for _, v := range r.Values {
			got[r.Metric["level"]] = append(got[r.Metric["level"]], fmt.Sprintf("%v=%v", int64(v[0].(float64))-testNow.Unix(), v[1]))
		}
	}
	require.Equal(t, map[string][]string{"info": {"-600=1"}, "error": {"-600=1"}, "warn": {"-540=1"}}, got)
	// Steps that do not fall on whole minutes: each still counts its own
	// minute, (t - 60 s, t].
	odd := "&start=" + ns(testNow.Add(-15*time.Minute+17*time.Second)) + "&end=" + ns(testNow) + "&step=60"
	a = get("/loki/api/v1/query_range?query=" + url.QueryEscape(`sum by (level) (count_over_time({service_namespace="shop"}[1m]))`) + odd)
	got = map[string][]string{}
	for _, r := range a.Data.Result {
		for _, v := range r.Values {
			got[r.Metric["level"]] = append(got[r.Metric["level"]], fmt.Sprintf("%v=%v", int64(v[0].(float64))-testNow.Unix(), v[1]))
		}
	}
	require.Equal(t, map[string][]string{"info": {"-583=1"}, "error": {"-583=1"}, "warn": {"-523=1"}}, got)
	a = get("/loki/api/v1/query_range?query=" + url.QueryEscape(`rate({service_name="cart"}[2m])`) + step)
	require.Len(t, a.Data.Result, 2, "a series per stream")
	// The error line, at -600 s, is in (t-120 s, t] for t = -600 and -540.
	sort.Slice(a.Data.Result, func(i, j int) bool { return a.Data.Result[i].Metric["level"] < a.Data.Result[j].Metric["level"] })
	require.Equal(t, "error", a.Data.Result[0].Metric["level"])
	require.Equal(t, [][2]any{{float64(testNow.Unix() - 600), "0.008333333333333333"}, {float64(testNow.Unix() - 540), "0.008333333333333333"}}, a.Data.Result[0].Values)
	// At one time.
	a = get("/loki/api/v1/query?query=" + url.QueryEscape(`sum(count_over_time({service_namespace="shop"}[15m]))`) + "&time=" + ns(testNow))
	require.Equal(t, "vector", a.Data.ResultType)
	require.Len(t, a.Data.Result, 1)
	require.Equal(t, "3", a.Data.Result[0].Value[1])
	// A comparison keeps the values that pass it, at one time and over a
	// range.
	a = get("/loki/api/v1/query?query=" + url.QueryEscape(`sum by (level) (count_over_time({service_namespace="shop"}[15m])) > 0`) + "&time=" + ns(testNow))
	require.Len(t, a.Data.Result, 3)
	a = get("/loki/api/v1/query?query=" + url.QueryEscape(`sum(count_over_time({service_namespace="shop"}[15m])) > 3`) + "&time=" + ns(testNow))
	require.Empty(t, a.Data.Result)
	a = get("/loki/api/v1/query_range?query=" + url.QueryEscape(`sum by (level) (count_over_time({service_namespace="shop"} | drop __error__ [1m])) >= 1`) + step)
	require.Len(t, a.Data.Result, 3)
	a = get("/loki/api/v1/query_range?query=" + url.QueryEscape(`sum by (level) (count_over_time({level="warn"}[1m])) != 1`) + step)
	require.Empty(t, a.Data.Result, "a series whose every point fails the comparison is left out")

	// Grafana's health check.
	a = get("/loki/api/v1/query?query=" + url.QueryEscape("vector(1)+vector(1)"))
	require.Equal(t, "vector", a.Data.ResultType)
	require.Equal(t, "2", a.Data.Result[0].Value[1])

	// Labels, their values, the streams and what a selector reads.
	var names struct{ Data []string }
	c.get("/loki/api/v1/labels?"+strings.TrimPrefix(hour, "&"), &names)
	require.Equal(t, []string{"k8s_pod_name", "level", "service_name", "service_namespace", "trace_id"}, names.Data, "the resources' attributes by label name too")
	c.get("/loki/api/v1/label/k8s_pod_name/values?"+strings.TrimPrefix(hour, "&"), &names)
	require.Equal(t, []string{"cart-7d9f"}, names.Data)
	c.get("/loki/api/v1/label/service_name/values?"+strings.TrimPrefix(hour, "&"), &names)
	require.Equal(t, []string{"cart", "web"}, names.Data)
	c.get("/loki/api/v1/label/level/values?"+strings.TrimPrefix(hour, "&"), &names)
	require.Equal(t, []string{"error", "info", "warn"}, names.Data)
	var series struct{ Data []map[string]string }
	c.get("/loki/api/v1/series?match[]="+url.QueryEscape(`{service_namespace="shop"}`)+hour, &series)
	require.Len(t, series.Data, 3)
	var stats struct{ Streams, Entries, Bytes uint64 }
	c.get("/loki/api/v1/index/stats?query="+url.QueryEscape(`{service_namespace="shop"}`)+hour, &stats)
	require.Equal(t, uint64(3), stats.Entries)
	require.Equal(t, uint64(3), stats.Streams)
	var info struct{ Version string }
	c.get("/loki/api/v1/status/buildinfo", &info)
	require.NotEmpty(t, info.Version)

	// Errors are plain text, as Loki's.
	for _, bad := range []struct{ query, want string }{
		{`{service_name="cart"} | label_format a=b`, `"label_format" stage is not supported`},
		{`{service_name="cart"} | json | status > "5"`, `compares numbers`},
		{`sum(`, "expected a name"},
		{`{}`, "at least one label matcher"},
		{`quantile_over_time(0.9, {a="b"}[1m])`, "add | unwrap"},
		{`absent_over_time({a="b"}[1m])`, "not supported"},
		{``, "query is required"},
	} {
		status, h, body := c.do(http.MethodGet, "/loki/api/v1/query_range?query="+url.QueryEscape(bad.query), nil)
		require.Equal(t, http.StatusBadRequest, status, bad.query)
		require.True(t, strings.HasPrefix(h.Get("Content-Type"), "text/plain"), h.Get("Content-Type"))
		require.Contains(t, string(body), bad.want, bad.query)
		require.False(t, json.Valid(body) && strings.HasPrefix(string(body), "{"), "plain text: %s", body)
	}
}

// testLogQLVector evaluates LogQL metric queries at one time as alerting
// rules over log records read them: a vector with the series' labels.
func testLogQLVector(t *testing.T, s *Server) {
	ctx := context.Background()
	v, err := s.LogQLVector(ctx, `sum by (service_name, level) (count_over_time({service_namespace="shop"}[15m])) >= 1`, testNow)
	require.NoError(t, err)
	got := map[string]float64{}
	for _, smp := range v {
		got[smp.Metric.Get("service_name")+"/"+smp.Metric.Get("level")] = smp.F
		require.Equal(t, testNow.Truncate(time.Second).UnixMilli(), smp.T)
	}
	require.Equal(t, map[string]float64{"cart/error": 1, "cart/warn": 1, "web/info": 1}, got)
	v, err = s.LogQLVector(ctx, `count_over_time({level="error"}[15m]) > 5`, testNow)
	require.NoError(t, err)
	require.Empty(t, v)
	v, err = s.LogQLVector(ctx, `vector(2)`, testNow)
	require.NoError(t, err)
	require.Equal(t, 2.0, v[0].F)
	_, err = s.LogQLVector(ctx, `{level="error"}`, testNow)
	require.ErrorContains(t, err, "count them")
	_, err = s.LogQLVector(ctx, `count_over_time({level="error"}[15m]) >`, testNow)
	require.ErrorContains(t, err, "takes a number")
}
