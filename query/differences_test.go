package query

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/meshscope/meshscope/schema"
	"github.com/meshscope/meshscope/schema/chtest"
)

// differencesJSON is GET /api/v1/spans/differences.
type differencesJSON struct {
	Select         string
	SlowNs         uint64 `json:"slow_ns"`
	SelectedTotal  uint64 `json:"selected_total"`
	BaselineTotal  uint64 `json:"baseline_total"`
	SelectedSample uint64 `json:"selected_sample"`
	BaselineSample uint64 `json:"baseline_sample"`
	Baseline       string
	BaselineFrom   *time.Time `json:"baseline_from"`
	BaselineTo     *time.Time `json:"baseline_to"`
	Differences    []differenceJSON
	Shrunk         []differenceJSON
}

type differenceJSON struct {
	Key, Value         string
	Selected, Baseline uint64
	SelectedShare      float64 `json:"selected_share"`
	BaselineShare      float64 `json:"baseline_share"`
	Difference         float64
	Z                  float64
}

// diffShares maps key=value to its difference.
func diffShares(ds []differenceJSON) map[string]differenceJSON {
	m := map[string]differenceJSON{}
	for _, d := range ds {
		m[d.Key+"="+d.Value] = d
	}
	return m
}

// What the failing and the slow calls of a service share that its others
// do not: the pod that fails, the route that is slow.
func TestSpanDifferences(t *testing.T) {
	st, _ := chtest.Store(t, "meshscope")
	at := testNow.Add(-10 * time.Minute)
	var spans []schema.SpanRow
	n := 0
	// cart's pods a and b fail 1 call in 100; c fails 30. /cart/checkout
	// (one call in 5, on every pod) takes 80 ms, the rest 10 ms. Client
	// spans do not count.
	for i := range 300 {
		n++
		pod := []string{"cart-a", "cart-b", "cart-c"}[i%3]
		failed := i%3 == 2 && i/3 < 30 || i%3 != 2 && i/3 == 50
		route, d := "/cart", 10*time.Millisecond
		if i%5 == 0 {
			route, d = "/cart/checkout", 80*time.Millisecond
		}
		row := schema.SpanRow{StartUnixNano: uint64(at.Add(time.Duration(n) * time.Millisecond).UnixNano()), DurationNanos: uint64(d),
			TraceID: schema.TraceID{7, byte(n >> 8), byte(n)}, SpanID: schema.SpanID{7, byte(n >> 8), byte(n)},
			Name: "GET " + route, Kind: schema.SpanKindServer, ServiceName: "cart", ServiceNamespace: "shop", ServiceVersion: "v1",
			HTTPMethod: "GET", HTTPRoute: route, HTTPStatusCode: 200, GRPCStatusCode: -1,
			AttrKeys: []string{"user.tier", "http.route", "http.request.method"}, AttrValues: []string{[]string{"free", "gold"}[i%2], route, "GET"},
			ResourceKeys: []string{"service.name", "service.version", "k8s.pod.name"}, ResourceValues: []string{"cart", "v1", pod}}
		// The status code as the older convention names it, for some.
		codeKey := []string{"http.response.status_code", "http.status_code"}[i%2]
		row.AttrKeys, row.AttrValues = append(row.AttrKeys, codeKey), append(row.AttrValues, "200")
		if failed {
			row.StatusCode, row.HTTPStatusCode = schema.StatusError, 503
			row.AttrValues[len(row.AttrValues)-1] = "503"
		}
		if i == 5 {
			// A span written without its attributes: the columns count.
			row.AttrKeys, row.AttrValues = nil, nil
		}
		spans = append(spans, row)
		client := row
		client.Kind, client.SpanID[0], client.StatusCode = schema.SpanKindClient, 8, schema.StatusError
		spans = append(spans, client)
	}
	require.NoError(t, st.Write(context.Background(), &schema.Batch{Spans: spans}))
	api := newTestAPI(t, Config{}, Deps{Store: st})
	c := api.client.with(t)

	var got differencesJSON
	c.get("/api/v1/spans/differences?service=cart&namespace=shop&from=now-1h", &got)
	require.Equal(t, "errors", got.Select)
	require.EqualValues(t, 32, got.SelectedTotal)
	require.EqualValues(t, 268, got.BaselineTotal)
	require.EqualValues(t, 32, got.SelectedSample, "under the sample size every span is read")
	require.EqualValues(t, 268, got.BaselineSample)
	require.GreaterOrEqual(t, len(got.Differences), 2)
	// The pod, after the failures' status code (under either of its keys).
	var second = got.Differences[0]
	for _, d := range got.Differences {
		if d.Key == "k8s.pod.name" {
			second = d
			break
		}
		require.Contains(t, []string{"http.response.status_code", "http.status_code"}, d.Key, "%+v", got.Differences)
		require.Equal(t, "503", d.Value)
		require.Zero(t, d.BaselineShare)
	}
	require.Equal(t, [2]string{"k8s.pod.name", "cart-c"}, [2]string{second.Key, second.Value})
	require.EqualValues(t, 30, second.Selected)
	require.EqualValues(t, 70, second.Baseline)
	require.InDelta(t, 30.0/32, second.SelectedShare, 1e-9)
	require.InDelta(t, 70.0/268, second.BaselineShare, 1e-9)
	require.InDelta(t, 30.0/32-70.0/268, second.Difference, 1e-9)
	seen := map[[2]string]bool{}
	for i, d := range got.Differences {
		require.False(t, seen[[2]string{d.Key, d.Value}], "%s=%s counted once a span", d.Key, d.Value)
		seen[[2]string{d.Key, d.Value}] = true
		require.LessOrEqual(t, d.SelectedShare, 1.0)
		require.Positive(t, d.Difference, "only what the selection has more of")
		require.GreaterOrEqual(t, d.SelectedShare, 0.05)
		require.GreaterOrEqual(t, d.Z, 2.0, "no difference chance would give as easily")
		require.NotEqual(t, "service.name", d.Key, "what every span has is no difference")
		if i > 0 {
			require.LessOrEqual(t, d.Difference, got.Differences[i-1].Difference)
		}
	}

	// The slow calls (above the service's 90th percentile: the 80 ms ones)
	// are the checkout route's.
	c.get("/api/v1/spans/differences?service=cart&select=slow&from=now-1h", &got)
	require.Equal(t, "slow", got.Select)
	require.EqualValues(t, 80*time.Millisecond, got.SlowNs)
	require.EqualValues(t, 60, got.SelectedTotal)
	route := -1
	for i, d := range got.Differences {
		if d.Key == "http.route" && d.Value == "/cart/checkout" {
			route = i
			require.EqualValues(t, 60, d.Selected, "the span without attributes counted by its column")
			require.InDelta(t, 1, d.SelectedShare, 1e-9)
			require.Zero(t, d.BaselineShare)
		}
		require.NotEqual(t, "k8s.pod.name", d.Key, "every pod is as slow: %+v", d)
	}
	require.Equal(t, 0, route, "%+v", got.Differences)
	// A threshold of one's own; one operation; a limit.
	c.get("/api/v1/spans/differences?service=cart&select=slow&slow=5ms&from=now-1h", &got)
	require.EqualValues(t, 300, got.SelectedTotal)
	require.Empty(t, got.Differences, "nothing is left to compare with")
	c.get("/api/v1/spans/differences?service=cart&operation=GET+/cart&from=now-1h&limit=1", &got)
	require.EqualValues(t, 240, got.SelectedTotal+got.BaselineTotal)
	require.Len(t, got.Differences, 1)

	// Past 50,000 spans a side, an even sample is read: 30,000 failures of
	// pod p0 read whole, 90,000 successes of p1-p3 about one in two.
	require.NoError(t, st.Conn().Exec(context.Background(), fmt.Sprintf(`INSERT INTO spans (timestamp, start_time_unix_nano, duration_ns, trace_id, span_id, name, kind, status_code,
  service_name, service_namespace, rpc_grpc_status_code, resource_keys, resource_values)
SELECT toDateTime(intDiv(t, 1000000000)), t, 1000000, toFixedString(reinterpretAsString(number), 16), toFixedString(reinterpretAsString(cityHash64(number)), 8),
       'op', 2, if(number %% 4 = 0, 2, 0), 'bulk', 'shop', toInt16(-1), ['k8s.pod.name'], [concat('p', toString(number %% 4))]
FROM (SELECT number, toUInt64(%d) + number * 1000 AS t FROM numbers(120000))`, at.UnixNano())))
	c.get("/api/v1/spans/differences?service=bulk&from=now-1h", &got)
	require.EqualValues(t, 30000, got.SelectedTotal)
	require.EqualValues(t, 90000, got.BaselineTotal)
	require.EqualValues(t, 30000, got.SelectedSample)
	require.InDelta(t, 45000, float64(got.BaselineSample), 2000)
	require.Equal(t, "p0", got.Differences[0].Value)
	require.InDelta(t, 1, got.Differences[0].SelectedShare, 1e-9)
	require.Zero(t, got.Differences[0].Baseline)

	c.fail("/api/v1/spans/differences", http.StatusBadRequest, "service")
	c.fail("/api/v1/spans/differences?service=cart&select=fast", http.StatusBadRequest, "select")
	c.fail("/api/v1/spans/differences?service=cart&select=slow&slow=-1s", http.StatusBadRequest, "slow")
	c.fail("/api/v1/spans/differences?service=cart&kind=sideways", http.StatusBadRequest, "kind")
}

// What the failing requests to a service share, from the access log
// entries of its callers' sidecars: the upstream host that refuses them.
func TestRequestDifferences(t *testing.T) {
	st, _ := chtest.Store(t, "meshscope")
	at := testNow.Add(-10 * time.Minute)
	var rows []schema.RequestRow
	for i := range 300 {
		host := []string{"10.0.0.2:8080", "10.0.0.3:8080", "10.0.0.4:8080"}[i%3]
		code, flags, d := uint16(200), "", 5*time.Millisecond
		switch {
		case i%3 == 2 && i/3 < 40: // 10.0.0.4 refuses 40 of its 100
			code, flags = 503, "UF"
		case i%3 == 0 && i/3 == 7: // one 500 on another host
			code = 500
		}
		if i%10 == 0 {
			d = 90 * time.Millisecond // /slow is slow
		}
		path := "/pay"
		if i%10 == 0 {
			path = "/slow"
		}
		rows = append(rows, schema.RequestRow{StartUnixNano: uint64(at.Add(time.Duration(i) * time.Millisecond).UnixNano()), DurationNanos: uint64(d),
			UpstreamServiceTimeNanos: -1, Reporter: "source", Source: "service:shop/web", Destination: "service:shop/pay", Protocol: "HTTP/1.1",
			Method: "POST", Path: path, ResponseCode: code, ResponseFlags: flags, GRPCStatus: -1, UpstreamHost: host, RequestID: fmt.Sprint("req-", i),
			MTLS: 1, AttrKeys: []string{"tenant"}, AttrValues: []string{[]string{"acme", "globex"}[i%2]}})
	}
	// Requests elsewhere are not compared.
	rows = append(rows, schema.RequestRow{StartUnixNano: uint64(at.UnixNano()), UpstreamServiceTimeNanos: -1, Reporter: "source",
		Destination: "service:shop/other", Protocol: "HTTP/1.1", ResponseCode: 503, GRPCStatus: -1})
	require.NoError(t, st.Write(context.Background(), &schema.Batch{Requests: rows}))
	api := newTestAPI(t, Config{}, Deps{Store: st})
	c := api.client.with(t)

	var got differencesJSON
	c.get("/api/v1/requests/differences?destination=service:shop/pay&from=now-1h", &got)
	require.EqualValues(t, 41, got.SelectedTotal)
	require.EqualValues(t, 259, got.BaselineTotal)
	byKey := map[string]float64{}
	for _, d := range got.Differences {
		byKey[d.Key+"="+d.Value] = d.SelectedShare
	}
	require.InDelta(t, 40.0/41, byKey["upstream_host=10.0.0.4:8080"], 1e-9, "%+v", got.Differences)
	require.InDelta(t, 40.0/41, byKey["response_flags=UF"], 1e-9)
	require.InDelta(t, 40.0/41, byKey["response_code=503"], 1e-9)
	require.NotContains(t, byKey, "source=service:shop/web", "every request has it")
	require.NotContains(t, byKey, "mtls=mutual")
	// The slow ones are /slow's.
	c.get("/api/v1/requests/differences?destination=service:shop/pay&select=slow&from=now-1h", &got)
	require.EqualValues(t, 30, got.SelectedTotal)
	require.Equal(t, [2]string{"path", "/slow"}, [2]string{got.Differences[0].Key, got.Differences[0].Value})
	require.InDelta(t, 1, got.Differences[0].SelectedShare, 1e-9)
	c.fail("/api/v1/requests/differences?code=abc", http.StatusBadRequest, "code")
	c.fail("/api/v1/requests/differences?select=odd", http.StatusBadRequest, "select")
}

// What a search's error records share that its other records do not: the
// pod that logs them, whichever service's resource names it once.
func TestLogDifferences(t *testing.T) {
	st, _ := chtest.Store(t, "meshscope")
	at := testNow.Add(-10 * time.Minute)
	var rows []schema.LogRow
	for i := range 300 {
		pod := []string{"cart-a", "cart-b", "cart-c"}[i%3]
		sev := uint8(9)
		if i%3 == 2 && i/3 < 20 || i == 0 {
			sev = 17
		}
		rows = append(rows, schema.LogRow{TimeUnixNano: uint64(at.Add(time.Duration(i) * time.Millisecond).UnixNano()), SeverityNumber: sev,
			ServiceName: "cart", ServiceNamespace: "shop", Body: fmt.Sprint("handled request ", i),
			ResourceKeys: []string{"service.name", "k8s.pod.name"}, ResourceValues: []string{"cart", pod},
			AttrKeys: []string{"tenant"}, AttrValues: []string{[]string{"acme", "globex"}[i%2]}})
	}
	// web logs no errors: for a search over every service, its records
	// are all on the other side.
	for i := range 100 {
		rows = append(rows, schema.LogRow{TimeUnixNano: uint64(at.Add(time.Duration(i) * time.Millisecond).UnixNano()), SeverityNumber: 9,
			ServiceName: "web", ServiceNamespace: "shop", Body: "ok"})
	}
	require.NoError(t, st.Write(context.Background(), &schema.Batch{Logs: rows}))
	api := newTestAPI(t, Config{}, Deps{Store: st})
	c := api.client.with(t)

	var got differencesJSON
	c.get("/api/v1/logs/differences?service=cart&from=now-1h", &got)
	require.Equal(t, "errors", got.Select)
	require.EqualValues(t, 21, got.SelectedTotal)
	require.EqualValues(t, 279, got.BaselineTotal)
	require.Equal(t, [2]string{"k8s.pod.name", "cart-c"}, [2]string{got.Differences[0].Key, got.Differences[0].Value})
	require.EqualValues(t, 20, got.Differences[0].Selected)
	for _, d := range got.Differences {
		require.NotEqual(t, "service.name", d.Key, "every record of the search has it")
		require.LessOrEqual(t, d.SelectedShare, 1.0)
	}

	c.get("/api/v1/logs/differences?from=now-1h", &got)
	require.EqualValues(t, 379, got.BaselineTotal)
	byKey := map[string]float64{}
	for _, d := range got.Differences {
		byKey[d.Key+"="+d.Value] = d.SelectedShare
	}
	require.InDelta(t, 1, byKey["service.name=cart"], 1e-9, "%+v", got.Differences)

	c.fail("/api/v1/logs/differences?select=slow", http.StatusBadRequest, "select")
	c.fail("/api/v1/logs/differences?severity=error", http.StatusBadRequest, "severity")
}

// What changed: a range's calls against those of the range of the same
// length before it. In the last half hour a second version came up on a
// new pod and one route stopped being called; the new version fails.
func TestDifferencesAgainstPreviousRange(t *testing.T) {
	st, _ := chtest.Store(t, "meshscope")
	var spans []schema.SpanRow
	var logs []schema.LogRow
	span := func(at time.Time, n int, version, pod, route string, failed bool) {
		row := schema.SpanRow{StartUnixNano: uint64(at.Add(time.Duration(n) * time.Millisecond).UnixNano()), DurationNanos: uint64(time.Millisecond),
			TraceID: schema.TraceID{9, byte(n >> 8), byte(n)}, SpanID: schema.SpanID{9, byte(n >> 8), byte(n)},
			Name: "GET " + route, Kind: schema.SpanKindServer, ServiceName: "cart", ServiceNamespace: "shop", ServiceVersion: version,
			HTTPRoute: route, GRPCStatusCode: -1,
			AttrKeys: []string{"http.route"}, AttrValues: []string{route},
			ResourceKeys: []string{"service.version", "k8s.pod.name"}, ResourceValues: []string{version, pod}}
		sev := uint8(9)
		if failed {
			row.StatusCode, sev = schema.StatusError, 17
		}
		spans = append(spans, row)
		logs = append(logs, schema.LogRow{TimeUnixNano: row.StartUnixNano, SeverityNumber: sev, ServiceName: "cart", ServiceNamespace: "shop",
			Body: "handled", ResourceKeys: []string{"service.version", "k8s.pod.name"}, ResourceValues: []string{version, pod}})
	}
	// 45 to 35 minutes ago (the range before): v1 on pods a and b, two
	// routes, pod b failing 10 of its 100.
	for i := range 200 {
		pod, route := []string{"cart-a", "cart-b"}[i%2], []string{"/cart", "/cart/list"}[i/2%2]
		span(testNow.Add(-45*time.Minute), i, "v1", pod, route, i%2 == 1 && i < 20)
	}
	// 15 to 5 minutes ago (the range asked): v1 on pod a, v2 on the new
	// pod c failing 40 of its 100, one route.
	for i := range 200 {
		version, pod := "v1", "cart-a"
		if i%2 == 1 {
			version, pod = "v2", "cart-c"
		}
		span(testNow.Add(-15*time.Minute), 1000+i, version, pod, "/cart", i%2 == 1 && i < 80)
	}
	// tiny took 7 calls before and 9 now, all of them of v2 now, one of
	// them with a path of its own: the version changed, the path is luck.
	for i := range 16 {
		at, version, path := testNow.Add(-45*time.Minute), "v1", "/a"
		if i >= 7 {
			at, version = testNow.Add(-15*time.Minute), "v2"
		}
		if i == 15 {
			path = "/b"
		}
		spans = append(spans, schema.SpanRow{StartUnixNano: uint64(at.Add(time.Duration(i) * time.Millisecond).UnixNano()),
			TraceID: schema.TraceID{10, byte(i)}, SpanID: schema.SpanID{10, byte(i)}, Name: "GET", Kind: schema.SpanKindServer,
			ServiceName: "tiny", GRPCStatusCode: -1, AttrKeys: []string{"url.path"}, AttrValues: []string{path},
			ResourceKeys: []string{"service.version"}, ResourceValues: []string{version}})
	}
	require.NoError(t, st.Write(context.Background(), &schema.Batch{Spans: spans, Logs: logs}))
	api := newTestAPI(t, Config{}, Deps{Store: st})
	c := api.client.with(t)

	var got differencesJSON
	c.get("/api/v1/spans/differences?service=tiny&select=all&baseline=previous&from=now-30m", &got)
	require.EqualValues(t, 9, got.SelectedTotal)
	require.Len(t, got.Differences, 1, "%+v", got.Differences)
	require.Equal(t, "v2", got.Differences[0].Value)
	require.Greater(t, got.Differences[0].Z, 2.0)
	require.NotContains(t, diffShares(got.Differences), "url.path=/b", "one call in nine is no pattern")
	require.Len(t, got.Shrunk, 1, "v1, from all of the calls to none; /a, from all to eight in nine, is luck too: %+v", got.Shrunk)
	require.Equal(t, "v1", got.Shrunk[0].Value)

	c.get("/api/v1/spans/differences?service=cart&select=all&baseline=previous&from=now-30m", &got)
	require.Equal(t, "previous", got.Baseline)
	require.Equal(t, testNow.Add(-time.Hour), got.BaselineFrom.UTC())
	require.Equal(t, testNow.Add(-30*time.Minute), got.BaselineTo.UTC())
	require.EqualValues(t, 200, got.SelectedTotal)
	require.EqualValues(t, 200, got.BaselineTotal)
	grew, fell := diffShares(got.Differences), diffShares(got.Shrunk)
	require.InDelta(t, 0.5, grew["service.version=v2"].Difference, 1e-9, "%+v", got.Differences)
	require.InDelta(t, 0.5, grew["k8s.pod.name=cart-c"].Difference, 1e-9)
	require.InDelta(t, 0.5, grew["http.route=/cart"].Difference, 1e-9, "from half the calls to all")
	require.NotContains(t, grew, "k8s.pod.name=cart-a", "half the calls before and now")
	require.InDelta(t, -0.5, fell["k8s.pod.name=cart-b"].Difference, 1e-9, "%+v", got.Shrunk)
	require.InDelta(t, -0.5, fell["http.route=/cart/list"].Difference, 1e-9)
	require.InDelta(t, -0.5, fell["service.version=v1"].Difference, 1e-9)
	require.Len(t, got.Shrunk, 4, "v1, pod b, /cart/list and its span name")
	for i := 1; i < len(got.Shrunk); i++ {
		require.GreaterOrEqual(t, got.Shrunk[i].Difference, got.Shrunk[i-1].Difference, "the biggest fall first")
	}

	// The failures now against the failures before: the new pod's, not b's.
	c.get("/api/v1/spans/differences?service=cart&baseline=previous&from=now-30m", &got)
	require.EqualValues(t, 40, got.SelectedTotal)
	require.EqualValues(t, 10, got.BaselineTotal)
	grew, fell = diffShares(got.Differences), diffShares(got.Shrunk)
	require.InDelta(t, 1, grew["k8s.pod.name=cart-c"].SelectedShare, 1e-9)
	require.InDelta(t, 1, fell["k8s.pod.name=cart-b"].BaselineShare, 1e-9)

	// The slowest tenth now against the slowest before: the threshold is
	// the range's own.
	c.get("/api/v1/spans/differences?service=cart&select=slow&slow=1ms&baseline=previous&from=now-30m", &got)
	require.EqualValues(t, 200, got.SelectedTotal)
	require.EqualValues(t, 200, got.BaselineTotal)

	// Log records: a severity filter is allowed against the range before.
	c.get("/api/v1/logs/differences?service=cart&severity=error&select=all&baseline=previous&from=now-30m", &got)
	require.EqualValues(t, 40, got.SelectedTotal)
	require.EqualValues(t, 10, got.BaselineTotal)
	require.InDelta(t, 1, diffShares(got.Differences)["k8s.pod.name=cart-c"].SelectedShare, 1e-9, "%+v", got.Differences)

	// Nothing before: nothing to compare with.
	var raw map[string]any
	c.get("/api/v1/spans/differences?service=cart&select=all&baseline=previous&from=now-20m&to=now-10m", &raw)
	require.Equal(t, []any{}, raw["shrunk"], "an empty list, not none, against the range before")
	raw = nil
	c.get("/api/v1/spans/differences?service=cart&from=now-20m&to=now-10m", &raw)
	require.NotContains(t, raw, "shrunk", "against the rest of the range")
	c.get("/api/v1/spans/differences?service=cart&select=all&baseline=previous&from=now-20m&to=now-10m", &got)
	require.EqualValues(t, 200, got.SelectedTotal)
	require.EqualValues(t, 0, got.BaselineTotal)
	require.Empty(t, got.Differences)

	c.fail("/api/v1/spans/differences?service=cart&select=all", http.StatusBadRequest, "select")
	c.fail("/api/v1/spans/differences?service=cart&baseline=yesterday", http.StatusBadRequest, "baseline")
	c.fail("/api/v1/requests/differences?select=all", http.StatusBadRequest, "select")
	c.fail("/api/v1/logs/differences?select=all&baseline=rest", http.StatusBadRequest, "select")
}
