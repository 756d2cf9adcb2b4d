package query

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/meshscope/meshscope/query/logql"
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

// seedPipeline stores pipelineLogs (service api, ten minutes ago, a
// second apart; the first two on pod api-1, the others on api-2) and a
// record of service web, and answers the API over them.
func seedPipeline(t *testing.T) client {
	st, _ := chtest.Store(t, "meshscope")
	at := testNow.Add(-10 * time.Minute)
	var rows []schema.LogRow
	for i, l := range pipelineLogs {
		pod := "api-1"
		if i >= 2 {
			pod = "api-2"
		}
		r := schema.LogRow{TimeUnixNano: uint64(at.Add(time.Duration(i) * time.Second).UnixNano()), SeverityNumber: l.sev, ServiceName: "api", ServiceNamespace: "shop", Body: l.body,
			ResourceKeys: []string{"service.name", "k8s.pod.name"}, ResourceValues: []string{"api", pod}}
		for j := 0; j < len(l.attrs); j += 2 {
			r.AttrKeys, r.AttrValues = append(r.AttrKeys, l.attrs[j]), append(r.AttrValues, l.attrs[j+1])
		}
		rows = append(rows, r)
	}
	rows = append(rows, schema.LogRow{TimeUnixNano: uint64(at.UnixNano()), SeverityNumber: 9, ServiceName: "web", ServiceNamespace: "shop", Body: "ok"})
	require.NoError(t, st.Write(context.Background(), &schema.Batch{Logs: rows}))
	return newTestAPI(t, Config{}, Deps{Store: st}).client.with(t)
}

// LogQL's parsers and label filters, run by ClickHouse: which lines pass,
// the labels a log query's lines carry, and counts by an extracted field.
func TestLokiPipeline(t *testing.T) {
	c := seedPipeline(t)
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

	// drop and keep shape the answer's labels.
	a = query(`{service_name="api"} | json | status >= 500 | keep service_name, status, level | drop level`)
	require.Equal(t, map[string]string{"service_name": "api", "status": "503"}, a.Data.Result[0].Stream)
	var dropped lokiAnswer
	c.get("/loki/api/v1/query?query="+url.QueryEscape(`count_over_time({service_name="api"} | drop level, service_namespace [1h])`)+fmt.Sprintf("&time=%d", testNow.UnixNano()), &dropped)
	require.Len(t, dropped.Data.Result, 1, "one series once the level is dropped")
	require.Equal(t, map[string]string{"service_name": "api"}, dropped.Data.Result[0].Metric)
	require.Equal(t, "5", dropped.Data.Result[0].Value[1])

	// line_format rewrites the answer's lines from their labels.
	a = query(`{service_name="api"} | json | status >= 500 | line_format "{{.status}} {{.path | ToUpper}} in {{.latency}} ({{.level}}) {{ __line__ | len }}"`)
	require.Equal(t, []string{fmt.Sprintf("503 /PAY in 1.5s (error) %d", len(pipelineLogs[1].body))}, a.lines())
	a = query(`{service_name="api"} | logfmt | status = 500 | line_format "{{.msg}}{{.absent}}"`)
	require.Equal(t, []string{"db down"}, a.lines(), "a label absent is empty")

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

// What Grafana's Logs Drilldown reads to list services, their labels and
// fields: volume by label, detected labels, detected fields and their
// values.
func TestLokiDrilldown(t *testing.T) {
	c := seedPipeline(t)
	rng := fmt.Sprintf("&start=%d&end=%d", testNow.Add(-time.Hour).UnixNano(), testNow.UnixNano())
	bytesOf := func(idx ...int) string {
		n := 0
		for _, i := range idx {
			n += len(pipelineLogs[i].body)
		}
		return fmt.Sprint(n)
	}

	// The services, by the bytes of their lines.
	volume := func(path string) (a lokiAnswer) {
		c.get(path, &a)
		return a
	}
	v := volume("/loki/api/v1/index/volume?query=" + url.QueryEscape(`{service_name=~".+"}`) + rng)
	require.Equal(t, "vector", v.Data.ResultType)
	require.Len(t, v.Data.Result, 2)
	require.Equal(t, map[string]string{"service_name": "api"}, v.Data.Result[0].Metric)
	require.Equal(t, bytesOf(0, 1, 2, 3, 4), v.Data.Result[0].Value[1])
	require.Equal(t, map[string]string{"service_name": "web"}, v.Data.Result[1].Metric)
	require.Equal(t, "2", v.Data.Result[1].Value[1])
	v = volume("/loki/api/v1/index/volume?query=" + url.QueryEscape(`{service_name="api"}`) + "&targetLabels=k8s_pod_name&limit=1" + rng)
	require.Len(t, v.Data.Result, 1, "the largest only")
	require.Equal(t, map[string]string{"k8s_pod_name": "api-1"}, v.Data.Result[0].Metric)
	require.Equal(t, bytesOf(0, 1), v.Data.Result[0].Value[1])
	v = volume("/loki/api/v1/index/volume?query=" + url.QueryEscape(`{service_namespace="shop"}`) + "&targetLabels=k8s_pod_name,service_name&aggregateBy=labels" + rng)
	got := map[string]any{}
	for _, r := range v.Data.Result {
		for k := range r.Metric {
			got[k] = r.Value[1]
		}
	}
	all := 0
	for _, l := range pipelineLogs {
		all += len(l.body)
	}
	require.Equal(t, map[string]any{"service_name": fmt.Sprint(all + len("ok")), "k8s_pod_name": fmt.Sprint(all)}, got)
	// Over time: a step a minute, every line in the same minute.
	v = volume("/loki/api/v1/index/volume_range?query=" + url.QueryEscape(`{service_name="api"}`) + "&step=60" + rng)
	require.Equal(t, "matrix", v.Data.ResultType)
	require.Len(t, v.Data.Result, 1)
	require.Len(t, v.Data.Result[0].Values, 1)
	require.Equal(t, bytesOf(0, 1, 2, 3, 4), v.Data.Result[0].Values[0][1])

	// Labels: the stream's and the resources', less those the selector pins.
	var dl struct {
		DetectedLabels []struct {
			Label       string
			Cardinality int
		}
	}
	c.get("/loki/api/v1/detected_labels?query="+url.QueryEscape(`{service_name="api"}`)+rng, &dl)
	labels := map[string]int{}
	for _, l := range dl.DetectedLabels {
		labels[l.Label] = l.Cardinality
	}
	require.Equal(t, map[string]int{"service_namespace": 1, "level": 2, "k8s_pod_name": 2}, labels)

	// Fields: the parsed ones with their parser and type, the attributes
	// without a parser.
	var df struct {
		Fields []struct {
			Label       string
			Type        string
			Cardinality int
			Parsers     []string
		}
	}
	c.get("/loki/api/v1/detected_fields?query="+url.QueryEscape(`{service_name="api"}`)+rng, &df)
	fields := map[string]string{}
	for _, f := range df.Fields {
		fields[f.Label] = fmt.Sprintf("%s %d %v", f.Type, f.Cardinality, f.Parsers)
	}
	require.Equal(t, map[string]string{
		"msg":              "string 4 [json logfmt]",
		"status":           "int 3 [json logfmt]",
		"path":             "string 2 [json logfmt]",
		"latency":          "duration 4 [json logfmt]",
		"size":             "bytes 2 [json]",
		"http_method":      "string 2 [json]",
		"user_id":          "int 1 [logfmt]",
		"http_route":       "string 1 []",
		"http_status_code": "int 1 []",
	}, fields)
	var values struct{ Values []string }
	c.get("/loki/api/v1/detected_field/status/values?query="+url.QueryEscape(`{service_name="api"}`)+rng, &values)
	require.Equal(t, []string{"200", "500", "503"}, values.Values)
	// A pipeline narrows the lines sampled.
	c.get("/loki/api/v1/detected_field/status/values?query="+url.QueryEscape(`{service_name="api"} | json | logfmt | status >= 500`)+rng, &values)
	require.Equal(t, []string{"500", "503"}, values.Values)
	c.get("/loki/api/v1/detected_fields?query="+url.QueryEscape(`{service_name="api"}`)+"&line_limit=1"+rng, &df)
	require.Len(t, df.Fields, 2, "the newest line only: its attributes")

	for _, bad := range []struct{ path, want string }{
		{"/loki/api/v1/index/volume?query=" + url.QueryEscape(`{a="b"}`) + "&aggregateBy=pods", "aggregateBy"},
		{"/loki/api/v1/index/volume?query=" + url.QueryEscape(`{a="b"}`) + "&targetLabels=a-b", "invalid label name"},
		{"/loki/api/v1/detected_fields?query=" + url.QueryEscape(`count_over_time({a="b"}[1m])`), "takes a log query"},
		{"/loki/api/v1/detected_fields?query=" + url.QueryEscape(`{a="b"}`) + "&line_limit=0", "line_limit"},
		{"/loki/api/v1/detected_field/a-b/values?query=" + url.QueryEscape(`{a="b"}`), "invalid field name"},
	} {
		status, _, body := c.do(http.MethodGet, bad.path, nil)
		require.Equal(t, http.StatusBadRequest, status, bad.path)
		require.Contains(t, string(body), bad.want, bad.path)
	}
}

// FuzzLineFields: whatever a log line holds, the parsers return, and every
// field they extract is named as a label.
func FuzzLineFields(f *testing.F) {
	for _, l := range pipelineLogs {
		f.Add(l.body)
	}
	f.Fuzz(func(t *testing.T, line string) {
		for _, p := range []string{"json", "logfmt"} {
			for k := range lineFields(p, line) {
				if !logql.IsLabelName(k) {
					t.Fatalf("%s of %q: field %q", p, line, k)
				}
			}
		}
	})
}

// Unwrapped range aggregations over the fields' values: by stream, by a
// grouping of their own, summed, at one time and over a range.
func TestLokiUnwrap(t *testing.T) {
	c := seedPipeline(t)
	at := fmt.Sprintf("&time=%d", testNow.UnixNano())
	instant := func(q string) map[string]string {
		t.Helper()
		var a lokiAnswer
		c.get("/loki/api/v1/query?query="+url.QueryEscape(q)+at, &a)
		require.Equal(t, "vector", a.Data.ResultType, q)
		out := map[string]string{}
		for _, r := range a.Data.Result {
			out[lineKey(r.Metric)] = r.Value[1].(string)
		}
		return out
	}
	const api = `{service_name="api"} | json | logfmt`
	// Latencies 120ms, 1.5s (error), 800ms, 2s (error).
	for q, want := range map[string]map[string]string{
		`avg_over_time(` + api + ` | unwrap duration(latency) [1h]) by ()`:                   {``: "1.105"},
		`avg_over_time(` + api + ` | unwrap duration(latency) [1h])`:                         {`level="error",service_name="api",service_namespace="shop",`: "1.75", `level="info",service_name="api",service_namespace="shop",`: "0.46"},
		`max_over_time(` + api + ` | unwrap duration_seconds(latency) [1h]) by (path)`:       {`path="/cart",`: "0.8", `path="/pay",`: "2"},
		`min_over_time(` + api + ` | unwrap duration(latency) [1h]) by (path)`:               {`path="/cart",`: "0.12", `path="/pay",`: "1.5"},
		`quantile_over_time(0.5, ` + api + ` | unwrap duration(latency) [1h]) by ()`:         {``: "1.15"},
		`sum_over_time({service_name="api"} | json | unwrap bytes(size) [1h]) by ()`:         {``: "12000"},
		`sum by (path) (sum_over_time(` + api + ` | unwrap status [1h]))`:                    {`path="/cart",`: "400", `path="/pay",`: "1003"},
		`count_over_time(` + api + ` | unwrap status | __error__="" [1h]) by (level)`:        {`level="error",`: "2", `level="info",`: "2"},
		`last_over_time(` + api + ` | unwrap status [1h]) by ()`:                             {``: "500"},
		`first_over_time(` + api + ` | unwrap status [1h]) by ()`:                            {``: "200"},
		`stddev_over_time(` + api + ` | path="/pay" | unwrap status [1h]) by ()`:             {``: "1.5"},
		`rate(` + api + ` | unwrap status [1h]) by ()`:                                       {``: fmt.Sprint(1403.0 / 3600)},
		`sum_over_time(` + api + ` | unwrap status [1h]) by () > 2000`:                       {},
		`avg_over_time({service_name="api"} | unwrap http_status_code [1h]) by (http_route)`: {`http_route="/health",`: "204"},
	} {
		require.Equal(t, want, instant(q), q)
	}

	// Over a range: each step's window holds the lines within its range.
	var a lokiAnswer
	start := testNow.Add(-12 * time.Minute)
	c.get("/loki/api/v1/query_range?query="+url.QueryEscape(`max_over_time(`+api+` | unwrap status [1m]) by ()`)+
		fmt.Sprintf("&start=%d&end=%d&step=60", start.UnixNano(), testNow.UnixNano()), &a)
	require.Equal(t, "matrix", a.Data.ResultType)
	require.Len(t, a.Data.Result, 1)
	// The lines are 10 minutes ago (200) and the 4 s after (503, 200, 500,
	// none): the step at -10 min holds the first, the one at -9 min (the
	// minute before it) the others.
	require.Equal(t, [][2]any{{float64(testNow.Add(-10 * time.Minute).Unix()), "200"}, {float64(testNow.Add(-9 * time.Minute).Unix()), "503"}}, a.Data.Result[0].Values)
	// A range of two steps: each line is in two windows.
	c.get("/loki/api/v1/query_range?query="+url.QueryEscape(`count_over_time(`+api+` | unwrap status [2m]) by ()`)+
		fmt.Sprintf("&start=%d&end=%d&step=60", start.UnixNano(), testNow.UnixNano()), &a)
	require.Equal(t, [][2]any{{float64(testNow.Add(-10 * time.Minute).Unix()), "1"}, {float64(testNow.Add(-9 * time.Minute).Unix()), "4"},
		{float64(testNow.Add(-8 * time.Minute).Unix()), "3"}}, a.Data.Result[0].Values)
	status, _, body := c.do(http.MethodGet, "/loki/api/v1/query_range?query="+url.QueryEscape(`avg_over_time(`+api+` | unwrap status [1h]) by ()`)+
		fmt.Sprintf("&start=%d&end=%d&step=1", start.UnixNano(), testNow.UnixNano()), nil)
	require.Equal(t, http.StatusBadRequest, status)
	require.Contains(t, string(body), "3600 windows")
}

// The log search's fields filter (GET /api/v1/logs?fields=) is the same
// label filter over the record's attributes and its body's JSON or logfmt
// fields, and each record carries its body's fields.
func TestLogSearchFields(t *testing.T) {
	c := seedPipeline(t)
	type found struct {
		Logs []struct {
			Body   string
			Fields map[string]string
		}
	}
	search := func(fields string) (bodies []string, f found) {
		t.Helper()
		c.get("/api/v1/logs?service=api&from=now-1h&to=now&direction=forward&fields="+url.QueryEscape(fields), &f)
		for _, l := range f.Logs {
			bodies = append(bodies, l.Body)
		}
		return bodies, f
	}
	bodies, f := search(`status >= 500`)
	require.Equal(t, []string{pipelineLogs[1].body, pipelineLogs[3].body}, bodies)
	require.Equal(t, map[string]string{"msg": "failed", "status": "503", "path": "/pay", "latency": "1.5s", "size": "10KB", "http_method": "POST"}, f.Logs[0].Fields)
	require.Equal(t, map[string]string{"level": "error", "msg": "db down", "status": "500", "path": "/pay", "latency": "2s"}, f.Logs[1].Fields)
	bodies, _ = search(`latency < 1s or http_route="/health"`)
	require.Equal(t, []string{pipelineLogs[0].body, pipelineLogs[2].body, pipelineLogs[4].body}, bodies)
	bodies, f = search(`http_status_code=204`)
	require.Equal(t, []string{pipelineLogs[4].body}, bodies)
	require.Nil(t, f.Logs[0].Fields, "plain text has no fields")
	// The volume and the patterns take it too.
	var v struct{ Levels map[string][]uint64 }
	c.get("/api/v1/logs/volume?service=api&from=now-1h&to=now&fields="+url.QueryEscape(`path="/pay"`), &v)
	total := map[string]uint64{}
	for level, counts := range v.Levels {
		for _, n := range counts {
			total[level] += n
		}
	}
	require.Equal(t, uint64(2), total["error"])
	require.Zero(t, total["info"])
	var p struct{ Patterns []struct{ Count int } }
	c.get("/api/v1/logs/patterns?service=api&from=now-1h&to=now&fields="+url.QueryEscape(`status=200`), &p)
	n := 0
	for _, x := range p.Patterns {
		n += x.Count
	}
	require.Equal(t, 2, n)
	c.fail("/api/v1/logs?fields="+url.QueryEscape(`status >`), http.StatusBadRequest, "fields")
}

// The pattern and regexp parsers read plain text lines (an access log):
// ClickHouse extracts the field a filter or sum by reads, and the lines a
// log query answers carry every capture.
func TestLokiPatternAndRegexp(t *testing.T) {
	st, _ := chtest.Store(t, "meshscope")
	at := testNow.Add(-10 * time.Minute)
	lines := []string{
		`10.0.0.1 - - [30/Nov/2026:10:00:00] "GET /cart HTTP/1.1" 200 512`,
		`10.0.0.2 - - [30/Nov/2026:10:00:01] "POST /pay HTTP/1.1" 503 64`,
		`10.0.0.1 - - [30/Nov/2026:10:00:02] "GET /cart/items HTTP/1.1" 404 12`,
		`not an access log line`,
	}
	var rows []schema.LogRow
	for i, l := range lines {
		rows = append(rows, schema.LogRow{TimeUnixNano: uint64(at.Add(time.Duration(i) * time.Second).UnixNano()), SeverityNumber: 9, ServiceName: "nginx", Body: l})
	}
	require.NoError(t, st.Write(context.Background(), &schema.Batch{Logs: rows}))
	c := newTestAPI(t, Config{}, Deps{Store: st}).client.with(t)
	rng := fmt.Sprintf("&start=%d&end=%d&direction=forward", testNow.Add(-time.Hour).UnixNano(), testNow.UnixNano())
	const pat = `| pattern "<ip> - - [<_>] \"<method> <path> <_>\" <status> <size>"`
	const rx = `| regexp "\"(?P<method>[A-Z]+) (?P<path>\\S+)"`
	query := func(q string) lokiAnswer {
		t.Helper()
		var a lokiAnswer
		c.get("/loki/api/v1/query_range?query="+url.QueryEscape(q)+rng, &a)
		return a
	}
	for _, tc := range []struct {
		q    string
		want []string
	}{
		{`{service_name="nginx"} ` + pat + ` | status >= 400`, lines[1:3]},
		{`{service_name="nginx"} ` + pat + ` | ip = "10.0.0.1" and size > 100`, lines[:1]},
		{`{service_name="nginx"} ` + rx + ` | path =~ "/cart.*"`, []string{lines[0], lines[2]}},
		{`{service_name="nginx"} ` + rx + ` | method != "GET"`, []string{lines[1], lines[3]}},
	} {
		require.Equal(t, tc.want, query(tc.q).lines(), tc.q)
	}
	a := query(`{service_name="nginx"} ` + pat + ` | status = 503`)
	require.Len(t, a.Data.Result, 1)
	require.Equal(t, map[string]string{"service_name": "nginx", "level": "info", "ip": "10.0.0.2", "method": "POST", "path": "/pay", "status": "503", "size": "64"}, a.Data.Result[0].Stream)
	var m lokiAnswer
	c.get("/loki/api/v1/query?query="+url.QueryEscape(`sum by (method) (count_over_time({service_name="nginx"} `+rx+` [1h]))`)+fmt.Sprintf("&time=%d", testNow.UnixNano()), &m)
	got := map[string]string{}
	for _, r := range m.Data.Result {
		got[r.Metric["method"]] = r.Value[1].(string)
	}
	require.Equal(t, map[string]string{"GET": "2", "POST": "1", "": "1"}, got)
}
