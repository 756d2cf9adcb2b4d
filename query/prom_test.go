package query

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"testing"
	"time"

	promapi "github.com/prometheus/client_golang/api"
	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"
	"github.com/stretchr/testify/require"

	"github.com/meshscope/meshscope/query/promstore"
	"github.com/meshscope/meshscope/schema"
	"github.com/meshscope/meshscope/schema/chstore"
	"github.com/meshscope/meshscope/schema/chtest"
)

// The Prometheus API, read by Prometheus' own Go client (what Grafana's
// data source speaks), over seedMetrics' metrics: PromQL's rate, sums by
// label, histogram_quantile over _bucket series, selectors and the
// metadata endpoints.
func TestPrometheusAPI(t *testing.T) {
	st, _ := chtest.Store(t, "meshscope")
	writeMetrics(t, st)
	testPrometheusAPI(t, newTestAPI(t, Config{}, Deps{Store: st}))
}

func testPrometheusAPI(t *testing.T, api *testAPI) {
	api.client = api.client.with(t)
	client, err := promapi.NewClient(promapi.Config{Address: api.client.base + "/prometheus"})
	require.NoError(t, err)
	prom := promv1.NewAPI(client)
	ctx := context.Background()
	rng := promv1.Range{Start: testNow.Add(-10 * time.Minute), End: testNow, Step: time.Minute}

	matrix := func(q string) model.Matrix {
		t.Helper()
		v, _, _, err := prom.QueryRange(ctx, q, rng)
		require.NoError(t, err, q)
		m, ok := v.(model.Matrix)
		require.True(t, ok, "%s: %T", q, v)
		sort.Slice(m, func(i, j int) bool { return m[i].Metric.String() < m[j].Metric.String() })
		return m
	}
	flat := func(m model.Matrix, want ...float64) {
		t.Helper()
		require.Len(t, m, len(want))
		for i, s := range m {
			require.Len(t, s.Values, 11, "%v", s.Metric)
			for j, p := range s.Values {
				require.Equal(t, testNow.Add(time.Duration(j-10)*time.Minute).Unix(), p.Timestamp.Unix())
				require.InDelta(t, want[i], float64(p.Value), 1e-9, "%v at %v", s.Metric, p.Timestamp)
			}
		}
	}
	m := matrix("rate(http_requests_total[1m])")
	flat(m, 0.4, 0.1)
	require.Equal(t, model.LabelValue("200"), m[0].Metric["code"])
	require.Equal(t, model.LabelValue("web"), m[0].Metric["job"])
	m = matrix("sum by (job) (rate(http_requests_total[1m]))")
	flat(m, 0.5)
	require.Equal(t, model.Metric{"job": "web"}, m[0].Metric)
	flat(matrix("histogram_quantile(0.5, sum by (le) (rate(req_latency_bucket[1m])))"), 0.4)
	flat(matrix("sum(queue_depth)"), 12)
	// An OTLP histogram as Prometheus' classic series.
	flat(matrix("histogram_quantile(0.5, sum by (le) (rate(rpc_duration_bucket[1m])))"), 55)
	flat(matrix("rate(rpc_duration_count[1m])"), 40.0/60)
	// An exponential histogram as a native one: quantiles at its bucket
	// bounds, and its observation rate.
	flat(matrix("histogram_quantile(0.25, sum(rate(lat_exp[1m])))"), 2)
	flat(matrix("histogram_quantile(0.75, sum(rate(lat_exp[1m])))"), 4)
	flat(matrix("histogram_count(rate(lat_exp[1m]))"), 16.0/60)

	instant := func(q string) model.Vector {
		t.Helper()
		v, _, _, err := prom.Query(ctx, q, testNow)
		require.NoError(t, err, q)
		vec, ok := v.(model.Vector)
		require.True(t, ok, "%s: %T", q, v)
		sort.Slice(vec, func(i, j int) bool { return vec[i].Metric.String() < vec[j].Metric.String() })
		return vec
	}
	vec := instant("queue_depth")
	require.Len(t, vec, 2)
	// An OTLP series' job is its service; its name is Prometheus' (a gauge
	// of unit 1 is a ratio), found by either.
	require.Equal(t, model.Metric{"__name__": "queue_depth_ratio", "job": "worker", "queue": "a"}, vec[0].Metric)
	require.Len(t, instant("queue_depth_ratio"), 2)
	require.Equal(t, model.SampleValue(5), vec[0].Value)
	require.Len(t, instant(`http_requests_total{code=~"5.."}`), 1)
	require.Len(t, instant(`http_requests_total{code!~"5.."}`), 1)
	vec = instant(`{__name__=~"queue_.*", queue!="a"}`)
	require.Len(t, vec, 1)
	require.Equal(t, model.SampleValue(7), vec[0].Value)
	require.Len(t, instant(`queue_depth{job="worker"}`), 2)
	require.Empty(t, instant(`queue_depth{job="web"}`))
	// The histogram's own rows have no single value: not a series here,
	// but its classic series are.
	require.Empty(t, instant("rpc_duration"))
	vec = instant(`rpc_duration_bucket{le="+Inf"}`)
	require.Len(t, vec, 1)
	require.Equal(t, model.SampleValue(470), vec[0].Value)
	require.Equal(t, model.LabelValue("worker"), vec[0].Metric["job"])
	require.Len(t, instant(`rpc_duration_bucket`), 3)
	require.Len(t, instant(`rpc_duration_bucket{le!="+Inf"}`), 2)
	vec = instant(`rpc_duration_sum`)
	require.Len(t, vec, 1)
	v, _, _, err := prom.Query(ctx, "1 + 1", testNow)
	require.NoError(t, err)
	require.Equal(t, model.SampleValue(2), v.(*model.Scalar).Value)

	names, _, _, err := prom.LabelNames(ctx, nil, testNow.Add(-time.Hour), testNow)
	require.NoError(t, err)
	require.Subset(t, names, model.LabelNames{"__name__", "code", "job", "le", "queue"})
	values, _, _, err := prom.LabelValues(ctx, "__name__", nil, testNow.Add(-time.Hour), testNow)
	require.NoError(t, err)
	require.Equal(t, model.LabelValues{"batch_items", "http_requests_total", "lat_exp", "queue_depth_ratio", "req_latency_bucket",
		"rpc_duration_bucket", "rpc_duration_count", "rpc_duration_sum"}, values, "an OTLP histogram by its classic series")
	values, _, _, err = prom.LabelValues(ctx, "job", []string{"queue_depth"}, testNow.Add(-time.Hour), testNow)
	require.NoError(t, err)
	require.Equal(t, model.LabelValues{"worker"}, values)
	series, _, _, err := prom.Series(ctx, []string{"http_requests_total"}, testNow.Add(-time.Hour), testNow)
	require.NoError(t, err)
	require.Len(t, series, 2)
	meta, err := prom.Metadata(ctx, "http_requests_total", "")
	require.NoError(t, err)
	require.Equal(t, promv1.MetricTypeCounter, meta["http_requests_total"][0].Type)
	info, err := prom.Buildinfo(ctx)
	require.NoError(t, err)
	require.Regexp(t, `^3\.\d+\.\d+`, info.Version)

	// Errors in Prometheus' envelope, which its client reads.
	_, _, _, err = prom.Query(ctx, "rate(", testNow)
	var perr *promv1.Error
	require.True(t, errors.As(err, &perr), "%v", err)
	require.Equal(t, promv1.ErrBadData, perr.Type)
	_, _, _, err = prom.QueryRange(ctx, "up", promv1.Range{Start: testNow, End: testNow.Add(-time.Hour), Step: time.Minute})
	require.True(t, errors.As(err, &perr), "%v", err)
	require.Equal(t, promv1.ErrBadData, perr.Type)
	for _, bad := range []string{"/query", "/query_range?query=up&start=0&end=1", "/query_range?query=up&start=0&end=100000&step=1", "/series"} {
		status, _, body := api.client.do(http.MethodGet, "/prometheus/api/v1"+bad, nil)
		require.Equal(t, http.StatusBadRequest, status, "%s: %s", bad, body)
		var e struct{ Status, ErrorType, Error string }
		require.NoError(t, json.Unmarshal(body, &e))
		require.Equal(t, "error", e.Status)
		require.Equal(t, "bad_data", e.ErrorType)
		require.NotEmpty(t, e.Error)
	}
	// Grafana posts its queries as forms.
	resp, err := http.PostForm(api.client.base+"/prometheus/api/v1/query", url.Values{"query": {"sum(queue_depth)"}, "time": {"1795773600"}})
	require.NoError(t, err)
	defer resp.Body.Close()
	var got struct {
		Status string
		Data   struct {
			ResultType string
			Result     []struct{ Value [2]any }
		}
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&got))
	require.Equal(t, "success", got.Status)
	require.Equal(t, "vector", got.Data.ResultType)
	require.Equal(t, "12", got.Data.Result[0].Value[1])
}

// A selector past the limits is an error, not a partial answer.
// promClient is Prometheus' Go client of a test server over st.
func promClient(t *testing.T, st *chstore.Store) (promv1.API, context.Context) {
	t.Helper()
	api := newTestAPI(t, Config{}, Deps{Store: st})
	client, err := promapi.NewClient(promapi.Config{Address: api.client.with(t).base + "/prometheus"})
	require.NoError(t, err)
	return promv1.NewAPI(client), context.Background()
}

// OTLP series of one metric from replicas of a service, alike but for
// their resource, are apart: each has its instance (service.instance.id,
// else k8s.pod.name, else host.name), as PromQL needs every series of a
// selector to have labels of its own.
func TestPrometheusInstances(t *testing.T) {
	st, _ := chtest.Store(t, "meshscope")
	res := [][2][]string{
		{{"service.name", "k8s.pod.name"}, {"cart", "cart-7d9f-abcde"}},
		{{"service.name", "k8s.pod.name", "service.instance.id"}, {"cart", "cart-7d9f-fghij", "627cc493"}},
		{{"service.name", "host.name"}, {"cart", "vm-3"}},
	}
	b := &schema.Batch{}
	for i, r := range res {
		id := uint64(100 + i)
		b.MetricSeries = append(b.MetricSeries, schema.MetricSeriesRow{SeriesID: id, MetricName: "cart_requests",
			Type: schema.MetricSum, Temporality: temporalityCumulative, Monotonic: true, Source: "otlp", ServiceName: "cart",
			ResourceKeys: r[0], ResourceValues: r[1], LabelKeys: []string{"route"}, LabelValues: []string{"/checkout"}})
		for j := range 48 {
			at := testNow.Add(time.Duration(j-47) * 15 * time.Second)
			b.MetricSamples = append(b.MetricSamples, schema.MetricSampleRow{SeriesID: id, MetricName: "cart_requests",
				TimeUnixNano: uint64(at.UnixNano()), Value: float64(j * (i + 1)), Min: math.NaN(), Max: math.NaN()})
		}
	}
	require.NoError(t, st.Write(context.Background(), b))
	prom, ctx := promClient(t, st)

	v, _, _, err := prom.Query(ctx, "rate(cart_requests[1m])", testNow)
	require.NoError(t, err)
	vec := v.(model.Vector)
	sort.Slice(vec, func(i, j int) bool { return vec[i].Value < vec[j].Value })
	require.Len(t, vec, 3)
	for i, want := range []model.LabelValue{"cart-7d9f-abcde", "627cc493", "vm-3"} {
		require.Equal(t, model.Metric{"instance": want, "job": "cart", "route": "/checkout"}, vec[i].Metric)
		require.InDelta(t, float64(i+1)/15, float64(vec[i].Value), 1e-9)
	}
	v, _, _, err = prom.Query(ctx, `cart_requests{instance="vm-3"}`, testNow)
	require.NoError(t, err)
	require.Len(t, v.(model.Vector), 1)
	values, _, _, err := prom.LabelValues(ctx, "instance", []string{"cart_requests"}, testNow.Add(-time.Hour), testNow)
	require.NoError(t, err)
	require.Equal(t, model.LabelValues{"627cc493", "cart-7d9f-abcde", "vm-3"}, values)
}

// OTLP metrics and their attributes read under the names Prometheus' OTLP
// receiver gives them (unit and type suffixes, dots as underscores), and
// are found by their stored names too.
func TestPrometheusOTLPNames(t *testing.T) {
	st, _ := chtest.Store(t, "meshscope")
	b := &schema.Batch{}
	hist := func(id uint64, method string) {
		b.MetricSeries = append(b.MetricSeries, schema.MetricSeriesRow{SeriesID: id, MetricName: "http.server.request.duration",
			Type: schema.MetricHistogram, Temporality: temporalityCumulative, Unit: "s", Source: "otlp", ServiceName: "cart",
			ResourceKeys: []string{"service.name", "k8s.pod.name"}, ResourceValues: []string{"cart", "cart-1"},
			LabelKeys: []string{"http.request.method", "http.response.status_code"}, LabelValues: []string{method, "200"}})
	}
	hist(200, "GET")
	hist(201, "POST")
	b.MetricSeries = append(b.MetricSeries, schema.MetricSeriesRow{SeriesID: 202, MetricName: "app.requests", Type: schema.MetricSum,
		Temporality: temporalityCumulative, Monotonic: true, Unit: "{request}", Source: "otlp", ServiceName: "cart",
		ResourceKeys: []string{"service.name"}, ResourceValues: []string{"cart"}, LabelKeys: []string{"app.tier"}, LabelValues: []string{"gold"}})
	for j := range 48 {
		at := uint64(testNow.Add(time.Duration(j-47) * 15 * time.Second).UnixNano())
		n := uint64(j)
		for i, id := range []uint64{200, 201} {
			b.MetricSamples = append(b.MetricSamples, schema.MetricSampleRow{SeriesID: id, MetricName: "http.server.request.duration",
				TimeUnixNano: at, Value: math.NaN(), Count: 4 * n * uint64(i+1), Sum: float64(n), Min: math.NaN(), Max: math.NaN(),
				BucketBounds: []float64{0.1, 1}, BucketCounts: []uint64{2 * n * uint64(i+1), 2 * n * uint64(i+1), 0}})
		}
		b.MetricSamples = append(b.MetricSamples, schema.MetricSampleRow{SeriesID: 202, MetricName: "app.requests", TimeUnixNano: at,
			Value: float64(6 * j), Min: math.NaN(), Max: math.NaN()})
	}
	require.NoError(t, st.Write(context.Background(), b))
	prom, ctx := promClient(t, st)
	instant := func(q string) model.Vector {
		t.Helper()
		v, _, _, err := prom.Query(ctx, q, testNow)
		require.NoError(t, err, q)
		vec := v.(model.Vector)
		sort.Slice(vec, func(i, j int) bool { return vec[i].Metric.String() < vec[j].Metric.String() })
		return vec
	}

	vec := instant("sum by (http_request_method) (rate(http_server_request_duration_seconds_count[1m]))")
	require.Len(t, vec, 2)
	require.Equal(t, model.Metric{"http_request_method": "GET"}, vec[0].Metric)
	require.InDelta(t, 4.0/15, float64(vec[0].Value), 1e-9)
	require.InDelta(t, 8.0/15, float64(vec[1].Value), 1e-9)
	vec = instant("histogram_quantile(0.5, sum by (le) (rate(http_server_request_duration_seconds_bucket[1m])))")
	require.Len(t, vec, 1)
	require.InDelta(t, 0.1, float64(vec[0].Value), 1e-9, "half the calls at or under 100 ms")
	vec = instant(`http_server_request_duration_seconds_count{http_request_method="POST"}`)
	require.Len(t, vec, 1)
	require.Equal(t, model.Metric{"__name__": "http_server_request_duration_seconds_count", "http_request_method": "POST",
		"http_response_status_code": "200", "instance": "cart-1", "job": "cart"}, vec[0].Metric)
	// The stored names find the same series, named as above.
	vec = instant(`{"http.server.request.duration_count", "http.request.method"="POST"}`)
	require.Len(t, vec, 1)
	require.Equal(t, model.LabelValue("http_server_request_duration_seconds_count"), vec[0].Metric["__name__"])
	vec = instant(`app_requests_total`)
	require.Len(t, vec, 1)
	require.Equal(t, model.Metric{"__name__": "app_requests_total", "app_tier": "gold", "job": "cart"}, vec[0].Metric)
	require.Len(t, instant(`{"app.requests"}`), 1)
	require.Empty(t, instant(`{__name__!="app_requests_total", job="cart"}`), "a negative matcher leaves a metric out by its shown name")
	require.Len(t, instant(`{__name__=~"app_.*_total"}`), 1)

	names, _, _, err := prom.LabelNames(ctx, nil, testNow.Add(-time.Hour), testNow)
	require.NoError(t, err)
	require.Subset(t, names, model.LabelNames{"__name__", "app_tier", "http_request_method", "http_response_status_code", "instance", "job"})
	require.NotContains(t, names, model.LabelName("http.request.method"))
	values, _, _, err := prom.LabelValues(ctx, "__name__", nil, testNow.Add(-time.Hour), testNow)
	require.NoError(t, err)
	require.Equal(t, model.LabelValues{"app_requests_total", "http_server_request_duration_seconds_bucket",
		"http_server_request_duration_seconds_count", "http_server_request_duration_seconds_sum"}, values)
	values, _, _, err = prom.LabelValues(ctx, "http_request_method", nil, testNow.Add(-time.Hour), testNow)
	require.NoError(t, err)
	require.Equal(t, model.LabelValues{"GET", "POST"}, values)
	meta, err := prom.Metadata(ctx, "", "")
	require.NoError(t, err)
	require.Equal(t, promv1.MetricTypeHistogram, meta["http_server_request_duration_seconds"][0].Type)
	require.Equal(t, promv1.MetricTypeCounter, meta["app_requests_total"][0].Type)
	meta, err = prom.Metadata(ctx, "app.requests", "")
	require.NoError(t, err)
	require.Contains(t, meta, "app_requests_total")
}

func TestPrometheusLimits(t *testing.T) {
	st, _ := chtest.Store(t, "meshscope")
	writeMetrics(t, st)
	name := labels.MustNewMatcher(labels.MatchEqual, labels.MetricName, "http_requests_total")
	for _, l := range []promstore.Limits{{MaxSeries: 1}, {MaxSamples: 50}} {
		q, err := promstore.New(st, l).Querier(testNow.Add(-time.Hour).UnixMilli(), testNow.UnixMilli())
		require.NoError(t, err)
		ss := q.Select(context.Background(), true, &storage.SelectHints{Start: testNow.Add(-time.Hour).UnixMilli(), End: testNow.UnixMilli()}, name)
		require.False(t, ss.Next())
		require.ErrorIs(t, ss.Err(), promstore.ErrTooMany, "%+v", l)
	}
}

// A query waits for one of the engine's slots; one that cannot get one
// before its deadline answers a timeout and runs nothing.
func TestPrometheusQueriesWaitForASlot(t *testing.T) {
	st, _ := chtest.Store(t, "meshscope")
	api := newTestAPI(t, Config{}, Deps{Store: st})
	for range cap(api.srv.promSlots) {
		api.srv.promSlots <- struct{}{}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	req := httptest.NewRequest(http.MethodGet, promPrefix+"/query?query=up", nil).WithContext(ctx)
	rec := httptest.NewRecorder()
	api.srv.Handler().ServeHTTP(rec, req)
	require.Equal(t, http.StatusGatewayTimeout, rec.Code, rec.Body.String())
	var e struct{ Status, ErrorType string }
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &e))
	require.Equal(t, "error", e.Status)
	require.Equal(t, "timeout", e.ErrorType)
	// Freed, the same query runs.
	for range cap(api.srv.promSlots) {
		<-api.srv.promSlots
	}
	rec = httptest.NewRecorder()
	api.srv.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, promPrefix+"/query?query=up", nil))
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
}
