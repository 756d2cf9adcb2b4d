package query

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/meshscope/meshscope/schema"
	"github.com/meshscope/meshscope/schema/chtest"
)

// pipelineLogs are records of one service: JSON bodies, logfmt bodies,
// and a plain body whose fields are its attributes.
var pipelineLogs = []struct {
	sev   uint8
	body  string
	attrs []string
}{
	{9, `{"msg":"served","status":200,"path":"/cart","latency":"120ms","size":"2KB","http":{"method":"GET"}}`, nil},
	{17, `{"msg":"failed","status":503,"path":"/pay","latency":"1.5s","size":"10KB","http":{"method":"POST"}}`, nil},
	{9, `level=info msg="slow query" status=200 path=/cart latency=800ms user.id=7`, nil},
	{17, `level=error msg="db down" status=500 path=/pay latency=2s`, nil},
	{9, `health check passed`, []string{"http.route", "/health", "http.status_code", "204"}},
}

// LogQL's parsers and label filters, run by ClickHouse: which lines pass,
// the labels a log query's lines carry, and counts by an extracted field.
func TestLokiPipeline(t *testing.T) {
	st, _ := chtest.Store(t, "meshscope")
	at := testNow.Add(-10 * time.Minute)
	var rows []schema.LogRow
	for i, l := range pipelineLogs {
		r := schema.LogRow{TimeUnixNano: uint64(at.Add(time.Duration(i) * time.Second).UnixNano()), SeverityNumber: l.sev, ServiceName: "api", ServiceNamespace: "shop", Body: l.body}
		for j := 0; j < len(l.attrs); j += 2 {
			r.AttrKeys, r.AttrValues = append(r.AttrKeys, l.attrs[j]), append(r.AttrValues, l.attrs[j+1])
		}
		rows = append(rows, r)
	}
	require.NoError(t, st.Write(context.Background(), &schema.Batch{Logs: rows}))
	c := newTestAPI(t, Config{}, Deps{Store: st}).client.with(t)
	rng := fmt.Sprintf("&start=%d&end=%d", testNow.Add(-time.Hour).UnixNano(), testNow.UnixNano())
	query := func(q string) lokiAnswer {
		t.Helper()
		var a lokiAnswer
		c.get("/loki/api/v1/query_range?query="+url.QueryEscape(q)+rng+"&direction=forward", &a)
		require.Equal(t, "success", a.Status, q)
		return a
	}
	// lines are the indexes in pipelineLogs of the lines a query answers.
	lines := func(q string) []int {
		t.Helper()
		var out []int
		for _, l := range query(q).lines() {
			out = append(out, slices.IndexFunc(pipelineLogs, func(p struct {
				sev   uint8
				body  string
				attrs []string
			}) bool {
				return p.body == l
			}))
		}
		slices.Sort(out)
		return out
	}
	for _, tc := range []struct {
		pipeline string
		want     []int
	}{
		{`| json | status >= 500`, []int{1}},
		{`| logfmt | status >= 500`, []int{3}},
		{`| json | logfmt | status >= 500`, []int{1, 3}},
		{`| json | logfmt | status = 200`, []int{0, 2}},
		{`| json | logfmt | status != 200`, []int{1, 3}},
		{`| json | logfmt | latency > 1s`, []int{1, 3}},
		{`| json | logfmt | latency >= 800ms`, []int{1, 2, 3}},
		{`| json | size > 5KB`, []int{1}},
		{`| json | size <= 2KiB`, []int{0}},
		{`| json | path="/pay" or path="/cart" and latency < 200ms`, []int{0, 1}},
		{`| json | (path="/pay" or path="/cart") and latency < 200ms`, []int{0}},
		{`| json | path=~"/(c|p).*", msg!="served"`, []int{1}},
		{`| json | path!~"/cart"`, []int{1, 2, 3, 4}},
		// A nested object's field, named as Loki names it.
		{`| json | http_method="POST"`, []int{1}},
		// A key with a dot, read through its label name.
		{`| logfmt | user_id=7`, []int{2}},
		// The record's attributes, by their label names, with no parser.
		{`| http_route="/health"`, []int{4}},
		{`| http_status_code >= 200 and http_status_code < 300`, []int{4}},
		// A filter before a parser sees none of its fields.
		{`| status >= 500 | json`, nil},
		// A value that is not of the compared kind does not pass.
		{`| json | msg > 1`, nil},
		{`| json | status > 1s`, nil},
		// The error labels are empty: Grafana's __error__="" keeps all.
		{`| json | __error__="" | drop __error__, __error_details__`, []int{0, 1, 2, 3, 4}},
		{`| json | logfmt | level="error"`, []int{1, 3}},
	} {
		require.Equal(t, tc.want, lines(`{service_name="api"} `+tc.pipeline), tc.pipeline)
	}

	// A log query's lines carry the fields its parsers extract.
	a := query(`{service_name="api"} | json | status >= 500`)
	require.Len(t, a.Data.Result, 1)
	require.Equal(t, map[string]string{"service_name": "api", "service_namespace": "shop", "level": "error",
		"msg": "failed", "status": "503", "path": "/pay", "latency": "1.5s", "size": "10KB", "http_method": "POST"}, a.Data.Result[0].Stream)
	a = query(`{service_name="api"} | logfmt | status = 500`)
	require.Equal(t, map[string]string{"service_name": "api", "service_namespace": "shop", "level": "error", "level_extracted": "error",
		"msg": "db down", "status": "500", "path": "/pay", "latency": "2s"}, a.Data.Result[0].Stream)

	// Counted by an extracted field.
	var m lokiAnswer
	c.get("/loki/api/v1/query?query="+url.QueryEscape(`sum by (path) (count_over_time({service_name="api"} | json | logfmt | status >= 200 [1h]))`)+
		fmt.Sprintf("&time=%d", testNow.UnixNano()), &m)
	got := map[string]string{}
	for _, r := range m.Data.Result {
		got[r.Metric["path"]] = r.Value[1].(string)
	}
	require.Equal(t, map[string]string{"/cart": "2", "/pay": "2"}, got)
}
