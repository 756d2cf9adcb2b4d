package query

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/meshscope/meshscope/schema/chstore"
	"github.com/meshscope/meshscope/schema/chtest"
)

// BenchmarkTraceSearch measures GET /api/v1/traces over 2,000,000 spans
// stored in the hour searched (250,000 traces of 8 spans, each span of one
// of 60 services). With a service: global-in (the spans of the service's
// traces grouped), global-in-summaries (their summary rows merged), against
// the query global-in replaced (grouped-baseline: every span of the range
// grouped by trace, the service checked per trace, sent straight to
// ClickHouse, so without the HTTP and JSON work the API adds). Without one:
// all-spans (every span of the range grouped, as for ranges the summaries do
// not cover) against all-summaries. jaeger-service and jaeger-all: Jaeger's
// search, whole traces.
func BenchmarkTraceSearch(b *testing.B) {
	st, now := seedTraces(b)
	ctx := context.Background()

	// The database was created with the summaries, so they hold the whole
	// seed; one server reads them, the other groups spans (its boundary
	// moved after the seed's start, as for a database upgraded to them).
	serve := func(summaries bool) string {
		srv, err := NewServer(Config{}, Deps{Store: st, Now: func() time.Time { return now }})
		require.NoError(b, err)
		if !summaries {
			srv.summariesSince.Store(now.Add(time.Hour).Unix())
		}
		hs := httptest.NewServer(srv.Handler())
		b.Cleanup(hs.Close)
		return hs.URL
	}
	spansURL, summariesURL := serve(false), serve(true)
	search := func(b *testing.B, base string, service bool) {
		i := 0
		for b.Loop() {
			i++
			u := base + "/api/v1/traces?limit=50"
			if service {
				u += fmt.Sprintf("&service=svc-%d", i%60)
			}
			resp, err := http.Get(u)
			require.NoError(b, err)
			var l traceList
			require.NoError(b, json.NewDecoder(resp.Body).Decode(&l))
			resp.Body.Close()
			require.Equal(b, http.StatusOK, resp.StatusCode)
			require.Len(b, l.Traces, 50)
		}
	}
	// Jaeger's search answers whole traces (every span of the 20 newest),
	// not summaries: by service, and over every service.
	jaeger := func(b *testing.B, service bool) {
		i := 0
		for b.Loop() {
			i++
			u := summariesURL + "/jaeger/api/traces?limit=20&lookback=1h"
			if service {
				u += fmt.Sprintf("&service=svc-%d", i%60)
			}
			resp, err := http.Get(u)
			require.NoError(b, err)
			var l struct {
				Data []struct{ Spans []any }
			}
			require.NoError(b, json.NewDecoder(resp.Body).Decode(&l))
			resp.Body.Close()
			require.Equal(b, http.StatusOK, resp.StatusCode)
			require.Len(b, l.Data, 20)
			require.Len(b, l.Data[0].Spans, 8)
		}
	}
	b.Run("jaeger-service", func(b *testing.B) { jaeger(b, true) })
	b.Run("jaeger-all", func(b *testing.B) { jaeger(b, false) })
	b.Run("global-in", func(b *testing.B) { search(b, spansURL, true) })
	b.Run("global-in-summaries", func(b *testing.B) { search(b, summariesURL, true) })
	b.Run("all-spans", func(b *testing.B) { search(b, spansURL, false) })
	// By a tag (an attribute, read from every span of the range), with and
	// without a service.
	tagged := func(b *testing.B, service bool) {
		i := 0
		for b.Loop() {
			i++
			u := summariesURL + "/api/v1/traces?limit=50&tags=" + url.QueryEscape(fmt.Sprintf(`{"http.route":"/route-%d"}`, i%50))
			if service {
				u += fmt.Sprintf("&service=svc-%d", i%60)
			}
			resp, err := http.Get(u)
			require.NoError(b, err)
			var l struct{ Traces []any }
			require.NoError(b, json.NewDecoder(resp.Body).Decode(&l))
			resp.Body.Close()
			require.Equal(b, http.StatusOK, resp.StatusCode)
			require.NotEmpty(b, l.Traces)
		}
	}
	b.Run("tag-summaries", func(b *testing.B) { tagged(b, false) })
	b.Run("tag-service-summaries", func(b *testing.B) { tagged(b, true) })
	b.Run("all-summaries", func(b *testing.B) { search(b, summariesURL, false) })
	// Tempo's TraceQL search (the 20 newest traces with a matching span,
	// their roots and 3 matching spans each): by service, as jaeger-service,
	// and by service and route, as tag-service-summaries.
	tempo := func(b *testing.B, route bool) {
		i := 0
		for b.Loop() {
			i++
			q := fmt.Sprintf(`{ resource.service.name = "svc-%d" }`, i%60)
			if route {
				q = fmt.Sprintf(`{ resource.service.name = "svc-%d" && span.http.route = "/route-%d" }`, i%60, i%50)
			}
			resp, err := http.Get(summariesURL + "/tempo/api/search?limit=20&q=" + url.QueryEscape(q))
			require.NoError(b, err)
			var a tempoSearchAnswer
			require.NoError(b, json.NewDecoder(resp.Body).Decode(&a))
			resp.Body.Close()
			require.Equal(b, http.StatusOK, resp.StatusCode)
			require.NotEmpty(b, a.Traces)
			require.NotEmpty(b, a.Traces[0].RootServiceName)
		}
	}
	b.Run("tempo-service", func(b *testing.B) { tempo(b, false) })
	b.Run("tempo-service-route", func(b *testing.B) { tempo(b, true) })
	// TraceQL metrics over every span of the hour: the rate by service per
	// minute (60 series of 60 points), the p99 by service, against the
	// same count grouped in plain SQL (count-by-service-sql).
	metrics := func(b *testing.B, q string) {
		for b.Loop() {
			resp, err := http.Get(summariesURL + "/tempo/api/metrics/query_range?step=60&q=" + url.QueryEscape(q))
			require.NoError(b, err)
			var a struct{ Series []struct{ Samples []any } }
			require.NoError(b, json.NewDecoder(resp.Body).Decode(&a))
			resp.Body.Close()
			require.Equal(b, http.StatusOK, resp.StatusCode)
			require.Len(b, a.Series, 60)
		}
	}
	b.Run("tempo-rate-by-service", func(b *testing.B) { metrics(b, `{} | rate() by (resource.service.name)`) })
	b.Run("tempo-p99-by-service", func(b *testing.B) {
		metrics(b, `{} | quantile_over_time(duration, 0.99) by (resource.service.name)`)
	})
	b.Run("count-by-service-sql", func(b *testing.B) {
		for b.Loop() {
			rows, err := st.Conn().Query(ctx, `SELECT intDiv(start_time_unix_nano - ?, 60000000000) AS m, service_name, count() FROM spans
WHERE timestamp >= toDateTime(?) AND timestamp <= toDateTime(?) GROUP BY m, service_name`, uint64(now.Add(-time.Hour).UnixNano()), now.Add(-time.Hour).Unix(), now.Unix())
			require.NoError(b, err)
			n := 0
			for rows.Next() {
				n++
			}
			require.NoError(b, rows.Err())
			rows.Close()
			require.Greater(b, n, 3000)
		}
	})
	b.Run("grouped-baseline", func(b *testing.B) {
		i := 0
		for b.Loop() {
			i++
			rows, err := st.Conn().Query(ctx, `
SELECT lower(hex(trace_id)) AS id,
       min(start_time_unix_nano) AS start,
       toUInt64(max(start_time_unix_nano + duration_ns) - start) AS duration,
       count() AS spans,
       countIf(status_code = 2) AS errors,
       argMin(service_name, (parent_span_id != unhex('0000000000000000'), start_time_unix_nano)) AS root_service,
       argMin(name, (parent_span_id != unhex('0000000000000000'), start_time_unix_nano)) AS root_name
FROM spans
WHERE timestamp >= toDateTime(?) AND timestamp <= toDateTime(?)
GROUP BY trace_id
HAVING duration >= 0 AND countIf(service_name = ?) > 0
ORDER BY start DESC
LIMIT 50`, now.Add(-time.Hour).Unix(), now.Unix(), fmt.Sprintf("svc-%d", i%60))
			require.NoError(b, err)
			n := 0
			for rows.Next() {
				n++
			}
			require.NoError(b, rows.Err())
			rows.Close()
			require.Equal(b, 50, n)
		}
	})
}

// seedTraces stores 250,000 traces of 8 spans over the hour before now in a
// new database, each span with an http.route of 50.
func seedTraces(b *testing.B) (*chstore.Store, time.Time) {
	st, _ := chtest.Store(b, "meshscope")
	now := time.Now().Truncate(time.Second)
	const spans, perTrace = 2_000_000, 8
	seed := fmt.Sprintf(`INSERT INTO spans (timestamp, start_time_unix_nano, duration_ns, trace_id, span_id, parent_span_id, name, kind, status_code, service_name, service_namespace, rpc_grpc_status_code, attr_keys, attr_values)
SELECT toDateTime(intDiv(start, 1000000000)), start, toUInt64(1000000 + (number %% 97) * 100000),
       toFixedString(concat(reinterpretAsString(cityHash64(intDiv(number, %[2]d))), reinterpretAsString(cityHash64(intDiv(number, %[2]d), 1))), 16),
       toFixedString(reinterpretAsString(cityHash64(number, 2)), 8),
       if(number %% %[2]d = 0, toFixedString('', 8), toFixedString(reinterpretAsString(cityHash64(number - 1, 2)), 8)),
       concat('op', toString(number %% 13)), toUInt8(1 + number %% 3), toUInt8(if(number %% 53 = 0, 2, 0)),
       concat('svc-', toString(cityHash64(number) %% 60)), 'bench', toInt16(-1),
       ['http.route'], [concat('/route-', toString(number %% 50))]
FROM (SELECT number, toUInt64(%[3]d) + intDiv(number, %[2]d) * %[4]d AS start FROM system.numbers LIMIT %[1]d)`,
		spans, perTrace, now.Add(-time.Hour).UnixNano(), int64(time.Hour)/(spans/perTrace))
	require.NoError(b, st.Conn().Exec(context.Background(), seed))
	return st, now
}

// BenchmarkMetricQueries charts a counter of 200 series (20 answering 500)
// sampled every 15 s for a day, 1,152,000 samples, summed by code over
// the day at a 5-minute step (288 points a line) and over its last hour
// at 15 s: through the Prometheus API (promql: Prometheus' engine reading
// every raw sample of the range into Go) against the metrics explorer
// (explorer: each series' last value per step from ClickHouse, the rates
// and sums in Go).
func BenchmarkMetricQueries(b *testing.B) {
	st, _ := chtest.Store(b, "meshscope")
	ctx := context.Background()
	end := time.Now().Truncate(time.Hour)
	start := end.Add(-24 * time.Hour)
	const series, perSeries = 200, 24 * 3600 / 15
	for _, q := range []string{
		fmt.Sprintf(`INSERT INTO metric_series (series_id, metric_name, type, temporality, monotonic, source, service_name, label_keys, label_values)
SELECT number, 'bench_requests_total', 2, 2, 1, 'remote_write', 'bench', ['job', 'code', 'pod'],
       ['bench', if(number %% 10 = 0, '500', '200'), concat('p-', toString(number))]
FROM numbers(%d)`, series),
		fmt.Sprintf(`INSERT INTO metric_samples (series_id, metric_name, timestamp, time_unix_nano, value, min, max)
SELECT number %% %d AS sid, 'bench_requests_total', toDateTime(%d + intDiv(number, %d) * 15),
       toUInt64(%d + intDiv(number, %d) * 15) * 1000000000, toFloat64(intDiv(number, %d) * (1 + sid %% 7)), nan, nan
FROM numbers(%d)`, series, start.Unix(), series, start.Unix(), series, series, series*perSeries),
	} {
		require.NoError(b, st.Conn().Exec(ctx, q))
	}
	srv, err := NewServer(Config{}, Deps{Store: st, Now: func() time.Time { return end }})
	require.NoError(b, err)
	hs := httptest.NewServer(srv.Handler())
	b.Cleanup(hs.Close)
	get := func(b *testing.B, u string, check func(body map[string]any)) {
		for b.Loop() {
			resp, err := http.Get(hs.URL + u)
			require.NoError(b, err)
			var body map[string]any
			require.NoError(b, json.NewDecoder(resp.Body).Decode(&body))
			resp.Body.Close()
			require.Equal(b, http.StatusOK, resp.StatusCode, "%v", body)
			check(body)
		}
	}
	for _, r := range []struct {
		name  string
		from  time.Time
		step  time.Duration
		lines int
	}{{"day", start.Add(5 * time.Minute), 5 * time.Minute, 288}, {"hour", end.Add(-time.Hour), 15 * time.Second, 241}} {
		b.Run(r.name+"/promql", func(b *testing.B) {
			q := url.Values{"query": {"sum by (code) (rate(bench_requests_total[5m]))"}, "start": {fmt.Sprint(r.from.Unix())},
				"end": {fmt.Sprint(end.Unix())}, "step": {fmt.Sprint(r.step.Seconds())}}
			get(b, "/prometheus/api/v1/query_range?"+q.Encode(), func(body map[string]any) {
				result := body["data"].(map[string]any)["result"].([]any)
				require.Len(b, result, 2)
			})
		})
		b.Run(r.name+"/explorer", func(b *testing.B) {
			q := url.Values{"name": {"bench_requests_total"}, "group_by": {"code"}, "from": {fmt.Sprint(r.from.Unix())},
				"to": {fmt.Sprint(end.Unix())}, "step": {r.step.String()}}
			get(b, "/api/v1/metrics/query?"+q.Encode(), func(body map[string]any) {
				require.Len(b, body["series"].([]any), 2)
			})
		})
	}
}

// BenchmarkLogQueries searches 1,000,000 log records of an hour (60
// services, one record in 20 an error, one in 50 saying "timeout") for a
// service's records with a text: through the Loki API (loki: |= is
// case-sensitive, position()) against the Logs API (logs: case-insensitive,
// lowerUTF8(body) LIKE), and the log volume over the hour: Grafana's
// (loki-volume: sum by (level) (count_over_time(...[1m])) at a 1-minute
// step) and the Logs page's (logs-volume, 60 buckets), and the records'
// patterns (logs-patterns).
func BenchmarkLogQueries(b *testing.B) {
	st, _ := chtest.Store(b, "meshscope")
	now := time.Now().Truncate(time.Second)
	const records = 1_000_000
	require.NoError(b, st.Conn().Exec(context.Background(), fmt.Sprintf(`INSERT INTO logs (timestamp, time_unix_nano, observed_time_unix_nano, severity_number, severity_text, service_name, service_namespace, body)
SELECT toDateTime(intDiv(t, 1000000000)), t, t, if(number %% 20 = 0, 17, 9), if(number %% 20 = 0, 'ERROR', 'INFO'),
       concat('svc-', toString(number %% 60)), 'bench',
       concat('request ', toString(number), if(number %% 53 = 0, ' failed: upstream timeout after 3 retries', ' served in 12 ms by pod web-7f9c'))
FROM (SELECT number, toUInt64(%d) + number * %d AS t FROM numbers(%d))`, now.Add(-time.Hour).UnixNano(), int64(time.Hour)/records, records)))
	get := benchServer(b, st, now)
	hour := fmt.Sprintf("&start=%d&end=%d", now.Add(-time.Hour).UnixNano(), now.UnixNano())
	b.Run("loki", func(b *testing.B) {
		get(b, "/loki/api/v1/query_range?limit=100&query="+url.QueryEscape(`{service_name="svc-10"} |= "timeout"`)+hour, func(body []byte) {
			var a lokiAnswer
			require.NoError(b, json.Unmarshal(body, &a))
			require.Len(b, a.lines(), 100)
		})
	})
	b.Run("logs", func(b *testing.B) {
		get(b, "/api/v1/logs?limit=100&service=svc-10&q=timeout&from=now-1h", func(body []byte) {
			var a struct{ Logs []any }
			require.NoError(b, json.Unmarshal(body, &a))
			require.Len(b, a.Logs, 100)
		})
	})
	b.Run("logs-volume", func(b *testing.B) {
		get(b, "/api/v1/logs/volume?namespace=bench&from=now-1h", func(body []byte) {
			var a struct{ Levels map[string][]uint64 }
			require.NoError(b, json.Unmarshal(body, &a))
			require.Len(b, a.Levels, 2)
		})
	})
	// The records' patterns: every body of the hour through the
	// replacements (logs-volume, the same rows by level, is the baseline),
	// and one service's.
	for _, tc := range []struct{ name, query string }{{"logs-patterns", "namespace=bench"}, {"logs-patterns-service", "service=svc-10"}} {
		b.Run(tc.name, func(b *testing.B) {
			get(b, "/api/v1/logs/patterns?from=now-1h&"+tc.query, func(body []byte) {
				var a struct{ Patterns []struct{ Pattern string } }
				require.NoError(b, json.Unmarshal(body, &a))
				require.Len(b, a.Patterns, 2)
				require.Equal(b, "request <n> served in <n> ms by pod web-7f9c", a.Patterns[0].Pattern)
			})
		})
	}
	b.Run("loki-volume", func(b *testing.B) {
		get(b, "/loki/api/v1/query_range?step=60&query="+url.QueryEscape(`sum by (level) (count_over_time({service_namespace="bench"}[1m]))`)+hour, func(body []byte) {
			var a lokiAnswer
			require.NoError(b, json.Unmarshal(body, &a))
			require.Len(b, a.Data.Result, 2)
		})
	})
}

// BenchmarkLogFields reads the fields of 1,000,000 log records of an hour
// (60 services; half of the bodies logfmt, half JSON: a path, a status,
// one in 20 a 503, and a duration) through the Loki API: the records with
// a 503 counted by a line filter (the baseline: no field read), by a
// label filter on the parsed status, the p99 of the parsed durations, the
// average by service per minute, and the Logs API's fields filter.
func BenchmarkLogFields(b *testing.B) {
	st, _ := chtest.Store(b, "meshscope")
	now := time.Now().Truncate(time.Second)
	const records = 1_000_000
	require.NoError(b, st.Conn().Exec(context.Background(), fmt.Sprintf(`INSERT INTO logs (timestamp, time_unix_nano, observed_time_unix_nano, severity_number, severity_text, service_name, service_namespace, body)
SELECT toDateTime(intDiv(t, 1000000000)), t, t, 9, 'INFO', concat('svc-', toString(number %% 60)), 'bench',
       if(number %% 2 = 0,
          concat('method=GET path=/cart/', toString(number %% 1000), ' status=', if(number %% 20 = 0, '503', '200'), ' duration=', toString(number %% 997), 'ms'),
          concat('{"method":"GET","path":"/cart/', toString(number %% 1000), '","status":', if(number %% 20 = 1, '503', '200'), ',"duration":"', toString(number %% 997), 'ms"}'))
FROM (SELECT number, toUInt64(%d) + number * %d AS t FROM numbers(%d))`, now.Add(-time.Hour).UnixNano(), int64(time.Hour)/records, records)))
	get := benchServer(b, st, now)
	at := fmt.Sprintf("&time=%d", now.UnixNano())
	// The 503s the line filter counts (100,000 in the hour, less those of
	// its first second, outside the range), which the field filter must
	// count too.
	var count503 any
	one := func(keep bool) func([]byte) {
		return func(body []byte) {
			var a lokiAnswer
			require.NoError(b, json.Unmarshal(body, &a))
			require.Len(b, a.Data.Result, 1)
			if keep {
				count503 = a.Data.Result[0].Value[1]
				require.InDelta(b, 100_000, mustAtof(b, count503.(string)), 300)
			}
		}
	}
	b.Run("count-line-filter", func(b *testing.B) {
		get(b, "/loki/api/v1/query?query="+url.QueryEscape(`sum(count_over_time({service_namespace="bench"} |~ "status.{0,2}503" [1h]))`)+at, one(true))
	})
	b.Run("count-field-filter", func(b *testing.B) {
		get(b, "/loki/api/v1/query?query="+url.QueryEscape(`sum(count_over_time({service_namespace="bench"} | json | logfmt | status >= 500 [1h]))`)+at, func(body []byte) {
			var a lokiAnswer
			require.NoError(b, json.Unmarshal(body, &a))
			require.Equal(b, count503, a.Data.Result[0].Value[1])
		})
	})
	for _, tc := range []struct{ name, query string }{
		{"p99-unwrap", `quantile_over_time(0.99, {service_namespace="bench"} | json | logfmt | unwrap duration(duration) [1h]) by ()`},
		{"avg-unwrap", `avg_over_time({service_namespace="bench"} | json | logfmt | unwrap duration(duration) [1h]) by ()`},
	} {
		b.Run(tc.name, func(b *testing.B) { get(b, "/loki/api/v1/query?query="+url.QueryEscape(tc.query)+at, one(false)) })
	}
	b.Run("avg-by-service-per-minute", func(b *testing.B) {
		q := `avg_over_time({service_namespace="bench"} | json | logfmt | unwrap duration(duration) [1m]) by (service_name)`
		get(b, "/loki/api/v1/query_range?step=60&query="+url.QueryEscape(q)+fmt.Sprintf("&start=%d&end=%d", now.Add(-time.Hour).UnixNano(), now.UnixNano()), func(body []byte) {
			var a lokiAnswer
			require.NoError(b, json.Unmarshal(body, &a))
			require.Len(b, a.Data.Result, 60)
		})
	})
	b.Run("logs-fields", func(b *testing.B) {
		get(b, "/api/v1/logs?limit=100&namespace=bench&from=now-1h&fields="+url.QueryEscape(`status >= 500 and duration > 900ms`), func(body []byte) {
			var a struct{ Logs []any }
			require.NoError(b, json.Unmarshal(body, &a))
			require.Len(b, a.Logs, 100)
		})
	})
	b.Run("detected-fields", func(b *testing.B) {
		get(b, "/loki/api/v1/detected_fields?query="+url.QueryEscape(`{service_namespace="bench"}`)+fmt.Sprintf("&start=%d&end=%d", now.Add(-time.Hour).UnixNano(), now.UnixNano()), func(body []byte) {
			var a struct{ Fields []any }
			require.NoError(b, json.Unmarshal(body, &a))
			require.Len(b, a.Fields, 4)
		})
	})
}

// BenchmarkLogAttributeFields filters 1,000,000 log records of an hour by
// an attribute through the label name LogQL gives it (http_status_code
// for http.status_code: every key of every record made a label name), a
// record carrying 8 attributes, one in 20 a 503; against the same
// attribute by its key (attr=, the Logs API's exact lookup).
func BenchmarkLogAttributeFields(b *testing.B) {
	st, _ := chtest.Store(b, "meshscope")
	now := time.Now().Truncate(time.Second)
	const records = 1_000_000
	require.NoError(b, st.Conn().Exec(context.Background(), fmt.Sprintf(`INSERT INTO logs (timestamp, time_unix_nano, observed_time_unix_nano, severity_number, severity_text, service_name, service_namespace, body, attr_keys, attr_values)
SELECT toDateTime(intDiv(t, 1000000000)), t, t, 9, 'INFO', concat('svc-', toString(number %% 60)), 'bench', 'request served',
       ['http.request.method', 'http.route', 'http.status_code', 'url.path', 'user_agent.original', 'client.address', 'code.function', 'thread.id'],
       ['GET', '/cart/{id}', if(number %% 20 = 0, '503', '200'), concat('/cart/', toString(number %% 1000)), 'curl/8', '10.0.0.1', 'handle', toString(number %% 16)]
FROM (SELECT number, toUInt64(%d) + number * %d AS t FROM numbers(%d))`, now.Add(-time.Hour).UnixNano(), int64(time.Hour)/records, records)))
	get := benchServer(b, st, now)
	count := func(b *testing.B, u string) {
		get(b, u, func(body []byte) {
			var a struct{ Levels map[string][]uint64 }
			require.NoError(b, json.Unmarshal(body, &a))
			n := uint64(0)
			for _, c := range a.Levels["info"] {
				n += c
			}
			require.InDelta(b, 50_000, n, 300)
		})
	}
	b.Run("label-name", func(b *testing.B) {
		count(b, "/api/v1/logs/volume?namespace=bench&from=now-1h&fields="+url.QueryEscape(`http_status_code = 503`))
	})
	b.Run("key", func(b *testing.B) {
		count(b, "/api/v1/logs/volume?namespace=bench&from=now-1h&attr="+url.QueryEscape(`http.status_code:503`))
	})
}

// BenchmarkExceptions groups the exceptions of 1,000,000 spans of an hour
// (60 services; one span in 53 recorded an exception of one of 7 types
// and 13 messages, one in 10 another event: 420 groups) through the API:
// every service's (exceptions) and one service's (exceptions-service),
// from the exceptions table, and the same from the spans' events and the
// logs (-from-sources); the baseline is the grouping alone in SQL over the
// spans, without the trends, the decoding of the latest events and the
// JSON (grouping-sql).
func BenchmarkExceptions(b *testing.B) {
	st, _ := chtest.Store(b, "meshscope")
	now := time.Now().Truncate(time.Second)
	const spans = 1_000_000
	require.NoError(b, st.Conn().Exec(context.Background(), fmt.Sprintf(`INSERT INTO spans (timestamp, start_time_unix_nano, duration_ns, trace_id, span_id, name, kind, status_code,
  service_name, service_namespace, event_time_unix_nano, event_names, event_attrs)
SELECT toDateTime(intDiv(t, 1000000000)), t, 1000000, toFixedString(reinterpretAsString(number), 16), toFixedString(reinterpretAsString(number), 8),
       'GET /items', 2, if(number %% 53 = 0, 2, 0), concat('svc-', toString(number %% 60)), 'bench',
       multiIf(number %% 53 = 0, [t], number %% 10 = 1, [t], emptyArrayUInt64()),
       multiIf(number %% 53 = 0, ['exception'], number %% 10 = 1, ['retry'], emptyArrayString()),
       multiIf(number %% 53 = 0, [concat('{"exception.type":"Err', toString(number %% 7), '","exception.message":"failed ', toString(number %% 13),
         '","exception.stacktrace":"Err: failed\\n\\tat handle (server.js:31:17)"}')], number %% 10 = 1, ['{"attempt":2}'], emptyArrayString())
FROM (SELECT number, toUInt64(%d) + number * %d AS t FROM numbers(%d))`, now.Add(-time.Hour).UnixNano(), int64(time.Hour)/spans, spans)))
	srv, listExceptions := exceptionsAPI(b, st, now, "Err: failed\n\tat handle (server.js:31:17)")
	list := func(b *testing.B, query string, groups int) { listExceptions(b, "from=now-1h"+query, groups) }
	b.Run("exceptions", func(b *testing.B) { list(b, "&limit=1000", 420) })
	b.Run("exceptions-service", func(b *testing.B) { list(b, "&service=svc-10", 7) })
	b.Run("exceptions-spans", func(b *testing.B) { list(b, "&limit=1000&source=span", 420) })
	// The same read from the spans' events and the logs, as ranges from
	// before the exceptions table are.
	fromSources := func(b *testing.B, query string, groups int) {
		srv.exceptionsFromSources.Store(true)
		defer srv.exceptionsFromSources.Store(false)
		list(b, query, groups)
	}
	b.Run("exceptions-from-sources", func(b *testing.B) { fromSources(b, "&limit=1000", 420) })
	b.Run("exceptions-service-from-sources", func(b *testing.B) { fromSources(b, "&service=svc-10", 7) })
	b.Run("grouping-sql", func(b *testing.B) {
		for b.Loop() {
			var n uint64
			require.NoError(b, st.Conn().QueryRow(context.Background(), `
SELECT count() FROM (
  SELECT service_name, visitParamExtractString(ev_attrs, 'exception.type') AS ex_type, count(),
         uniqExact(visitParamExtractString(ev_attrs, 'exception.message')), min(ev_time), max(ev_time),
         argMax(ev_attrs, ev_time), argMax(trace_id, ev_time), argMax(span_id, ev_time), argMax(name, ev_time)
  FROM spans
  ARRAY JOIN event_names AS ev_name, event_attrs AS ev_attrs, event_time_unix_nano AS ev_time
  WHERE timestamp >= toDateTime(?) AND timestamp <= toDateTime(?) AND ev_name = 'exception'
  GROUP BY service_name, ex_type)`, now.Add(-time.Hour).Unix(), now.Unix()).Scan(&n))
			require.EqualValues(b, 420, n)
		}
	})
}

// BenchmarkExceptionsWeek lists a week of exceptions from the exceptions
// table: 3,000,000 rows (60 services, 7 types, 13 messages, 3 versions:
// 420 groups), each with a stack trace of 1.2 KB in its message's column
// and its event's attributes, as Java's are: every service's groups
// (exceptions-week) and one service's (exceptions-week-service), and the
// last hour's (exceptions-hour: 18,000 rows).
func BenchmarkExceptionsWeek(b *testing.B) {
	st, _ := chtest.Store(b, "meshscope")
	now := time.Now().Truncate(time.Second)
	const rows = 3_000_000
	frames := strings.Repeat(`\n\tat com.example.shop.checkout.CheckoutService.placeOrder(CheckoutService.java:142)`, 14)
	require.NoError(b, st.Conn().Exec(context.Background(), fmt.Sprintf(`INSERT INTO exceptions (timestamp, time_unix_nano, service_namespace, service_name, service_version,
  source, type, message, stacktrace, attrs, trace_id, span_id, span_name)
SELECT toDateTime(intDiv(t, 1000000000)), t, 'bench', concat('svc-', toString(number %% 60)), concat('v', toString(number %% 3)), 'span',
       concat('java.lang.Err', toString(number %% 7)), concat('failed ', toString(number %% 13)), concat('Err: failed', '%[1]s') AS stack,
       concat('{"exception.type":"Err","exception.stacktrace":"', replaceAll(stack, '\n', '\\n'), '"}'),
       toFixedString(reinterpretAsString(number), 16), toFixedString(reinterpretAsString(number), 8), 'GET /items'
FROM (SELECT number, toUInt64(%[2]d) + number * %[3]d AS t FROM numbers(%[4]d))`, frames, now.Add(-7*24*time.Hour).UnixNano(), int64(7*24*time.Hour)/rows, rows)))
	// Merged before measuring: the merges of the insert's parts would run
	// beside the first queries.
	require.NoError(b, st.Conn().Exec(context.Background(), "OPTIMIZE TABLE exceptions FINAL"))
	_, list := exceptionsAPI(b, st, now, "Err: failed\n\tat com.example")
	b.Run("exceptions-week", func(b *testing.B) { list(b, "from=now-7d&limit=1000", 420) })
	b.Run("exceptions-week-service", func(b *testing.B) { list(b, "from=now-7d&service=svc-10", 7) })
	b.Run("exceptions-day", func(b *testing.B) { list(b, "from=now-24h&limit=1000", 420) })
	b.Run("exceptions-hour", func(b *testing.B) { list(b, "from=now-1h&limit=1000", 420) })
}

// exceptionsAPI serves the query API over st at now, and a loop that lists
// exceptions (GET /api/v1/exceptions?QUERY) until the benchmark is done,
// checking the groups listed and that the first one's stack trace starts
// with stack.
func exceptionsAPI(b *testing.B, st *chstore.Store, now time.Time, stack string) (*Server, func(b *testing.B, query string, groups int)) {
	srv, err := NewServer(Config{}, Deps{Store: st, Now: func() time.Time { return now }})
	require.NoError(b, err)
	hs := httptest.NewServer(srv.Handler())
	b.Cleanup(hs.Close)
	return srv, func(b *testing.B, query string, groups int) {
		for b.Loop() {
			resp, err := http.Get(hs.URL + "/api/v1/exceptions?" + query)
			require.NoError(b, err)
			var a struct{ Exceptions []exceptionJSON }
			require.NoError(b, json.NewDecoder(resp.Body).Decode(&a))
			resp.Body.Close()
			require.Len(b, a.Exceptions, groups)
			require.True(b, strings.HasPrefix(a.Exceptions[0].Stacktrace, stack), a.Exceptions[0].Stacktrace)
		}
	}
}

// BenchmarkInstances lists one service's instances (GET
// /api/v1/services/{ns}/{name}/instances) over an hour of 1,000,000 of its
// server spans on 6 pods, each span's resource 8 attributes long as the
// OpenTelemetry Operator's are and 4 attributes of its own, beside
// 1,000,000 spans of 59 other services: instances, and what its failing
// (1 in 53) and its slowest tenth of calls share (GET
// /api/v1/spans/differences, differences-errors and differences-slow) and
// what changed between the hour's halves (differences-changed), against the operations list of the same spans (operations: grouped by
// name, no attribute read), which the node panel asks for beside it.
func BenchmarkInstances(b *testing.B) {
	st, _ := chtest.Store(b, "meshscope")
	now := time.Now().Truncate(time.Second)
	const spans = 2_000_000
	require.NoError(b, st.Conn().Exec(context.Background(), fmt.Sprintf(`INSERT INTO spans (timestamp, start_time_unix_nano, duration_ns, trace_id, span_id, name, kind, status_code,
  service_name, service_namespace, service_version, http_method, http_route, http_status_code, rpc_grpc_status_code,
  attr_keys, attr_values, resource_keys, resource_values)
SELECT toDateTime(intDiv(t, 1000000000)), t, toUInt64(1000000 + (number %% 97) * 100000), toFixedString(reinterpretAsString(number), 16), toFixedString(reinterpretAsString(number), 8),
       concat('op', toString(number %% 13)), 2, if(number %% 53 = 0, 2, 0), svc, 'bench', 'v1', 'GET', concat('/route-', toString(number %% 13)),
       toUInt16(if(number %% 53 = 0, 503, 200)), toInt16(-1),
       ['http.request.method', 'http.route', 'http.response.status_code', 'user.tier'],
       ['GET', concat('/route-', toString(number %% 13)), if(number %% 53 = 0, '503', '200'), if(number %% 3 = 0, 'gold', 'free')],
       ['service.name', 'service.namespace', 'service.version', 'k8s.namespace.name', 'k8s.deployment.name', 'k8s.pod.name', 'host.name', 'telemetry.sdk.language'],
       [svc, 'bench', 'v1', 'bench', concat(svc, '-v1'), concat(svc, '-v1-7d9f8c6b5-', toString(intDiv(number, 2) %% 6)), concat('node-', toString(number %% 17)), 'go']
FROM (SELECT number, toUInt64(%d) + number * %d AS t, if(number %% 2 = 0, 'cart', concat('svc-', toString(number %% 59))) AS svc FROM numbers(%d))`,
		now.Add(-time.Hour).UnixNano(), int64(time.Hour)/spans, spans)))
	get := benchGetter(b, st, now)
	b.Run("instances", func(b *testing.B) {
		for b.Loop() {
			var got struct{ Instances []struct{ Requests uint64 } }
			get(b, "/api/v1/services/bench/cart/instances?from=now-1h", &got)
			require.Len(b, got.Instances, 6)
		}
	})
	for _, sel := range []string{"errors", "slow"} {
		b.Run("differences-"+sel, func(b *testing.B) {
			for b.Loop() {
				var got struct {
					SelectedSample uint64 `json:"selected_sample"`
					Differences    []struct{ Key string }
				}
				get(b, "/api/v1/spans/differences?service=cart&namespace=bench&from=now-1h&select="+sel, &got)
				if sel == "errors" {
					// The slow calls' attributes are those of the others
					// here (durations spread evenly): nothing to list.
					require.NotEmpty(b, got.Differences)
				}
				require.Positive(b, got.SelectedSample)
				require.LessOrEqual(b, got.SelectedSample, uint64(diffSampleRows)*21/20, "an even sample of about 50,000")
			}
		})
	}
	// What changed: the last half hour's calls against the half hour
	// before's, the same hour of spans read as two sides.
	b.Run("differences-changed", func(b *testing.B) {
		for b.Loop() {
			var got struct {
				SelectedSample uint64 `json:"selected_sample"`
				BaselineSample uint64 `json:"baseline_sample"`
			}
			get(b, "/api/v1/spans/differences?service=cart&namespace=bench&from=now-30m&select=all&baseline=previous", &got)
			require.Positive(b, got.SelectedSample)
			require.LessOrEqual(b, got.BaselineSample, uint64(diffSampleRows)*21/20, "an even sample of about 50,000")
		}
	})
	b.Run("operations", func(b *testing.B) {
		for b.Loop() {
			var got struct{ Operations []struct{ Spans uint64 } }
			get(b, "/api/v1/traces/operations?service=cart&namespace=bench&kind=server,consumer&from=now-1h&limit=8", &got)
			require.Len(b, got.Operations, 8)
		}
	})
}

// BenchmarkRequestDifferences compares the failing requests to one service
// (1 in 53 of 1,000,000 access log entries in the hour, on 6 upstream
// hosts) with its others, GET /api/v1/requests/differences, and reads the
// instances of every service as --instance-alerts does at each evaluation
// (instance-alerts-read), against the volume chart of the same entries
// (GET /api/v1/requests/volume), same run.
func BenchmarkRequestDifferences(b *testing.B) {
	st, _ := chtest.Store(b, "meshscope")
	now := time.Now().Truncate(time.Second)
	const rows = 1_000_000
	require.NoError(b, st.Conn().Exec(context.Background(), fmt.Sprintf(`INSERT INTO requests (timestamp, start_time_unix_nano, duration_ns, upstream_service_time_ns,
  reporter, emitter, source, source_workload, destination, destination_workload, destination_version, protocol, method, path, authority,
  response_code, grpc_status, response_flags, upstream_host, downstream_local_address, user_agent, request_id, mtls, attr_keys, attr_values)
SELECT toDateTime(intDiv(t, 1000000000)), t, toUInt64(1000000 + (number %% 97) * 100000), -1,
       if(number %% 2 = 0, 'source', 'destination'), 'bench/web', concat('service:bench/svc-', toString(number %% 20)), concat('svc-', toString(number %% 20), '-v1'),
       'service:bench/cart', 'cart-v1', 'v1', 'HTTP/1.1', 'GET', concat('/cart/', toString(number %% 13)), 'cart:8080',
       toUInt16(if(number %% 53 = 0, 503, 200)), toInt16(-1), if(number %% 53 = 0, 'UF', ''), concat('10.0.0.', toString(number %% 6), ':8080'),
       concat('10.0.0.', toString(number %% 6), ':8080'), 'Go-http-client/1.1', toString(number), 1,
       ['k8s.pod.name'], [concat('cart-v1-7d9f8c6b5-', toString(number %% 6))]
FROM (SELECT number, toUInt64(%d) + number * %d AS t FROM numbers(%d))`, now.Add(-time.Hour).UnixNano(), int64(time.Hour)/rows, rows)))
	get := benchGetter(b, st, now)
	dst := "destination=" + url.QueryEscape("service:bench/cart") + "&from=now-1h"
	for _, sel := range []string{"errors", "slow"} {
		b.Run("differences-"+sel, func(b *testing.B) {
			for b.Loop() {
				var got struct{ Differences []struct{ Key string } }
				get(b, "/api/v1/requests/differences?select="+sel+"&"+dst, &got)
				if sel == "errors" {
					require.NotEmpty(b, got.Differences) // slow ones: as the others
				}
			}
		})
	}
	// What --instance-alerts reads at each evaluation: every service's
	// instances from its sidecars' own entries (half of them here).
	b.Run("instance-alerts-read", func(b *testing.B) {
		for b.Loop() {
			found, err := st.InstanceCalls(context.Background(), chstore.InstancesQuery{From: now.Add(-time.Hour), To: now, Failed: requestFailed})
			require.NoError(b, err)
			require.Len(b, found, 3) // the odd entries, the destination's: pods 1, 3 and 5
		}
	})
	b.Run("volume", func(b *testing.B) {
		for b.Loop() {
			var got struct{ Outcomes map[string][]uint64 }
			get(b, "/api/v1/requests/volume?"+dst, &got)
			require.NotEmpty(b, got.Outcomes)
		}
	})
}

// benchGetter serves the API over st at now on loopback and returns what
// GETs a path of it into v, requiring 200.
func benchGetter(b *testing.B, st *chstore.Store, now time.Time) func(b *testing.B, path string, v any) {
	srv, err := NewServer(Config{}, Deps{Store: st, Now: func() time.Time { return now }})
	require.NoError(b, err)
	hs := httptest.NewServer(srv.Handler())
	b.Cleanup(hs.Close)
	return func(b *testing.B, path string, v any) {
		resp, err := http.Get(hs.URL + path)
		require.NoError(b, err)
		defer resp.Body.Close()
		require.Equal(b, http.StatusOK, resp.StatusCode)
		require.NoError(b, json.NewDecoder(resp.Body).Decode(v))
	}
}

func mustAtof(b *testing.B, s string) float64 {
	v, err := strconv.ParseFloat(s, 64)
	require.NoError(b, err)
	return v
}

// benchServer serves the API over st at now; the function it answers GETs
// a path for every b.Loop, checking each 200 answer's body.
func benchServer(b *testing.B, st *chstore.Store, now time.Time) func(b *testing.B, u string, check func(body []byte)) {
	srv, err := NewServer(Config{}, Deps{Store: st, Now: func() time.Time { return now }})
	require.NoError(b, err)
	hs := httptest.NewServer(srv.Handler())
	b.Cleanup(hs.Close)
	return func(b *testing.B, u string, check func(body []byte)) {
		for b.Loop() {
			resp, err := http.Get(hs.URL + u)
			require.NoError(b, err)
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			require.NoError(b, err)
			require.Equal(b, http.StatusOK, resp.StatusCode, string(body))
			check(body)
		}
	}
}
