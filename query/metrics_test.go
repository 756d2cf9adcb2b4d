package query

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/meshscope/meshscope/schema"
	"github.com/meshscope/meshscope/schema/chstore"
	"github.com/meshscope/meshscope/schema/chtest"
)

// seedMetrics writes five metrics sampled every 15 s over the 12 minutes
// before testNow: a counter (two series: 0.4/s and 0.1/s), a gauge (5 and
// 7), a delta sum (30 a sample: 2/s) and a cumulative histogram (10
// observations a sample: 2/3 per second, 2, 6 and 2 of them in its
// buckets up to 10, 100 and above) and a Prometheus histogram's _bucket
// series (2, 6, 9 and 10 a sample up to 0.1, 0.5, 1 and +Inf, cumulative),
// and an exponential histogram (1, 2 and 1 a sample in (1,2], (2,4] and
// (4,8]).
func seedMetrics(t *testing.T) *testAPI {
	t.Helper()
	st, _ := chtest.Store(t, "meshscope")
	writeMetrics(t, st)
	return newTestAPI(t, Config{}, Deps{Store: st})
}

func writeMetrics(t *testing.T, st *chstore.Store) {
	t.Helper()
	series := func(id uint64, name string, typ, temp uint8, source string, labels ...string) schema.MetricSeriesRow {
		r := schema.MetricSeriesRow{SeriesID: id, MetricName: name, Type: typ, Temporality: temp, Monotonic: temp == temporalityCumulative,
			Source: source, Unit: "1", Description: name + " help", ResourceKeys: []string{"service.name"}}
		if source == "otlp" {
			r.ServiceName, r.ResourceValues = "worker", []string{"worker"}
		} else {
			r.ResourceKeys = nil
		}
		for i := 0; i < len(labels); i += 2 {
			r.LabelKeys, r.LabelValues = append(r.LabelKeys, labels[i]), append(r.LabelValues, labels[i+1])
		}
		return r
	}
	b := &schema.Batch{MetricSeries: []schema.MetricSeriesRow{
		series(1, "http_requests_total", schema.MetricSum, temporalityCumulative, "remote_write", "job", "web", "code", "200"),
		series(2, "http_requests_total", schema.MetricSum, temporalityCumulative, "remote_write", "job", "web", "code", "500"),
		series(3, "queue_depth", schema.MetricGauge, 0, "otlp", "queue", "a"),
		series(4, "queue_depth", schema.MetricGauge, 0, "otlp", "queue", "b"),
		series(5, "batch_items", schema.MetricSum, temporalityDelta, "otlp"),
		series(6, "rpc_duration", schema.MetricHistogram, temporalityCumulative, "otlp"),
		series(7, "req_latency_bucket", schema.MetricSum, temporalityCumulative, "remote_write", "job", "web", "le", "0.1"),
		series(8, "req_latency_bucket", schema.MetricSum, temporalityCumulative, "remote_write", "job", "web", "le", "0.5"),
		series(9, "req_latency_bucket", schema.MetricSum, temporalityCumulative, "remote_write", "job", "web", "le", "1"),
		series(10, "req_latency_bucket", schema.MetricSum, temporalityCumulative, "remote_write", "job", "web", "le", "+Inf"),
		series(11, "lat_exp", schema.MetricExponentialHistogram, temporalityCumulative, "otlp"),
	}}
	start := testNow.Add(-12 * time.Minute)
	for i := range 48 {
		at := uint64(start.Add(time.Duration(i) * 15 * time.Second).UnixNano())
		n := float64(i)
		sample := func(id uint64, name string, v float64, count uint64) schema.MetricSampleRow {
			return schema.MetricSampleRow{SeriesID: id, MetricName: name, TimeUnixNano: at, Value: v, Count: count, Min: math.NaN(), Max: math.NaN()}
		}
		hist := sample(6, "rpc_duration", math.NaN(), 10*uint64(i))
		hist.BucketBounds, hist.BucketCounts = []float64{10, 100}, []uint64{2 * uint64(i), 6 * uint64(i), 2 * uint64(i)}
		exp := sample(11, "lat_exp", math.NaN(), 4*uint64(i))
		exp.ExpPositiveCounts = []uint64{uint64(i), 2 * uint64(i), uint64(i)} // (1,2], (2,4], (4,8] at scale 0
		b.MetricSamples = append(b.MetricSamples,
			sample(7, "req_latency_bucket", 2*n, 0),
			sample(8, "req_latency_bucket", 6*n, 0),
			sample(9, "req_latency_bucket", 9*n, 0),
			sample(10, "req_latency_bucket", 10*n, 0),
			hist,
			exp,
			sample(1, "http_requests_total", 6*n, 0),
			sample(2, "http_requests_total", 1.5*n, 0),
			sample(3, "queue_depth", 5, 0),
			sample(4, "queue_depth", 7, 0),
			sample(5, "batch_items", 30, 0),
		)
	}
	require.NoError(t, st.Write(context.Background(), b))
}

type metricAnswer struct {
	Name       string   `json:"name"`
	PromName   string   `json:"prom_name"`
	Type       string   `json:"type"`
	Value      string   `json:"value"`
	Step       int64    `json:"step_seconds"`
	LabelKeys  []string `json:"label_keys"`
	LinesTotal int      `json:"lines_total"`
	Series     []struct {
		Labels map[string]string `json:"labels"`
		Points [][2]float64      `json:"points"`
	} `json:"series"`
}

// flat checks that every line has the ten steps of the last ten minutes,
// each with value want.
func (a metricAnswer) flat(t *testing.T, want ...float64) {
	t.Helper()
	require.Len(t, a.Series, len(want))
	for i, l := range a.Series {
		require.Len(t, l.Points, 10, "line %v", l.Labels)
		for j, p := range l.Points {
			require.Equal(t, float64(testNow.Add(time.Duration(j-10)*time.Minute).Unix()), p[0])
			require.InDelta(t, want[i], p[1], 1e-9, "line %v at %v", l.Labels, p[0])
		}
	}
}

func TestMetricsExplorer(t *testing.T) {
	testMetricsExplorer(t, seedMetrics(t).client)
}

// The explorer and PromQL on a two-shard cluster, through either node: the
// series' filters run once (GLOBAL IN over the Distributed tables).
func TestMetricAPIsOnCluster(t *testing.T) {
	stores := chtest.Cluster(t)
	writeMetrics(t, stores[0])
	// Both tables' rows forwarded (each Distributed table sends its own).
	require.Eventually(t, func() bool {
		var samples, series uint64
		err := stores[1].Conn().QueryRow(context.Background(), "SELECT count() FROM metric_samples").Scan(&samples)
		if err == nil {
			err = stores[1].Conn().QueryRow(context.Background(), "SELECT count() FROM metric_series").Scan(&series)
		}
		return err == nil && samples == 48*11 && series == 11
	}, time.Minute, 20*time.Millisecond)
	for i, st := range stores {
		t.Run(fmt.Sprintf("node-%d/explorer", i+1), func(t *testing.T) {
			testMetricsExplorer(t, newTestAPI(t, Config{}, Deps{Store: st}).client.with(t))
		})
		t.Run(fmt.Sprintf("node-%d/promql", i+1), func(t *testing.T) {
			testPrometheusAPI(t, newTestAPI(t, Config{}, Deps{Store: st}))
		})
	}
}

func testMetricsExplorer(t *testing.T, c client) {
	var list struct {
		Metrics []struct {
			Name, Type, Temporality string
			Series                  uint64
			Sources                 []string
		}
	}
	c.get("/api/v1/metrics", &list)
	require.Len(t, list.Metrics, 6)
	require.Equal(t, "batch_items", list.Metrics[0].Name)
	require.Equal(t, "delta", list.Metrics[0].Temporality)
	counter := list.Metrics[1]
	require.Equal(t, "lat_exp", list.Metrics[2].Name)
	require.Equal(t, "exponential_histogram", list.Metrics[2].Type)
	require.Equal(t, "http_requests_total", counter.Name)
	require.Equal(t, "sum", counter.Type)
	require.Equal(t, uint64(2), counter.Series)
	require.Equal(t, []string{"remote_write"}, counter.Sources)
	c.get("/api/v1/metrics?q=QUEUE", &list)
	require.Len(t, list.Metrics, 1)
	require.Equal(t, "gauge", list.Metrics[0].Type)
	// The metrics a service sent (OTLP: its resource's service.name).
	c.get("/api/v1/metrics?service=worker", &list)
	require.Len(t, list.Metrics, 4)
	require.Equal(t, []string{"otlp"}, list.Metrics[0].Sources)

	rng := "&from=now-10m&to=now&step=1m"
	query := func(q string) metricAnswer {
		t.Helper()
		var a metricAnswer
		c.get("/api/v1/metrics/query?"+q+rng, &a)
		require.Equal(t, int64(60), a.Step)
		return a
	}
	// A counter: per-second rates, busiest line first.
	a := query("name=http_requests_total")
	require.Equal(t, "per_second", a.Value)
	require.Equal(t, []string{"code", "job"}, a.LabelKeys)
	a.flat(t, 0.4, 0.1)
	require.Equal(t, map[string]string{"job": "web", "code": "200"}, a.Series[0].Labels)
	query("name=http_requests_total&group_by=job").flat(t, 0.5)
	a = query("name=http_requests_total&match=code%3D500")
	a.flat(t, 0.1)
	require.Equal(t, "500", a.Series[0].Labels["code"])
	query("name=http_requests_total&match=code!%3D500").flat(t, 0.4)
	a = query("name=http_requests_total&limit=1")
	require.Equal(t, "http_requests_total", a.PromName, "remote_write's keeps its name")
	a.flat(t, 0.4)
	require.Equal(t, 2, a.LinesTotal)

	// A gauge: the last value of each step, combined as asked; the
	// series' resource answers group_by too.
	a = query("name=queue_depth")
	require.Equal(t, "value", a.Value)
	require.Equal(t, "queue_depth_ratio", a.PromName, "an OTLP gauge of unit 1, as PromQL names it")
	a.flat(t, 7, 5)
	require.Equal(t, "worker", a.Series[0].Labels["service.name"])
	query("name=queue_depth&group_by=service.name").flat(t, 12)
	query("name=queue_depth&group_by=service.name&agg=avg").flat(t, 6)
	query("name=queue_depth&group_by=service.name&agg=max").flat(t, 7)
	query("name=queue_depth&service=worker&group_by=service.name").flat(t, 12)
	c.fail("/api/v1/metrics/query?name=queue_depth&service=web", http.StatusNotFound, "name")

	// A delta sum: summed per step, per second.
	query("name=batch_items").flat(t, 2)
	// A histogram: the rate of its observations.
	a = query("name=rpc_duration")
	require.Equal(t, "observations_per_second", a.Value)
	a.flat(t, 40.0/60)

	// Quantiles: of a histogram's buckets, and of a Prometheus histogram's
	// _bucket series, whose lines leave le out.
	a = query("name=rpc_duration&quantile=0.5")
	require.Equal(t, "quantile", a.Value)
	a.flat(t, 55) // rank 20 of 40: 12 of the 24 between 10 and 100
	query("name=rpc_duration&quantile=0.9").flat(t, 100)
	a = query("name=req_latency_bucket&quantile=0.5")
	a.flat(t, 0.4) // rank 20 of 40: 12 of the 16 between 0.1 and 0.5
	require.Equal(t, map[string]string{"job": "web"}, a.Series[0].Labels)
	query("name=req_latency_bucket&quantile=0.75&group_by=job").flat(t, 0.75)
	query("name=req_latency_bucket&quantile=0.999").flat(t, 1)
	// An exponential histogram's quantiles, in its buckets (1,2], (2,4],
	// (4,8]: the bounds where a quarter and three quarters are reached,
	// half-way through the middle one.
	query("name=lat_exp&quantile=0.25").flat(t, 2)
	query("name=lat_exp&quantile=0.5").flat(t, 3)
	query("name=lat_exp&quantile=0.75").flat(t, 4)
	c.fail("/api/v1/metrics/query?name=queue_depth&quantile=0.5", http.StatusBadRequest, "quantile")
	c.fail("/api/v1/metrics/query?name=rpc_duration&quantile=2", http.StatusBadRequest, "quantile")

	c.fail("/api/v1/metrics/query", http.StatusBadRequest, "name")
	c.fail("/api/v1/metrics/query?name=nothing", http.StatusNotFound, "name")
	c.fail("/api/v1/metrics/query?name=queue_depth&agg=median", http.StatusBadRequest, "agg")
	c.fail("/api/v1/metrics/query?name=queue_depth&match=queue", http.StatusBadRequest, "match")
	c.fail("/api/v1/metrics/query?name=queue_depth&step=1ms", http.StatusBadRequest, "step")
	// More series-steps than a query may hold (2 series over 12 steps,
	// the bound lowered to 20).
	defer func(n int64) { maxMetricSeriesSteps = n }(maxMetricSeriesSteps)
	maxMetricSeriesSteps = 20
	c.fail("/api/v1/metrics/query?name=queue_depth&from=now-10m&to=now&step=1m", http.StatusBadRequest, "step")
	maxMetricSeriesSteps = 24
	query("name=queue_depth").flat(t, 7, 5)
	c.fail("/api/v1/metrics?limit=0", http.StatusBadRequest, "limit")
}

// A counter's rate across a reset counts the new value as the increase,
// and a gap divides by the steps it spans.
func TestMetricRateAcrossResetsAndGaps(t *testing.T) {
	k := kindOf(schema.MetricSum, temporalityCumulative)
	got := k.values([]int64{9, 10, 11, 13}, []stepValue{{lastV: 100}, {lastV: 160}, {lastV: 30}, {lastV: 150}}, 60, 10)
	require.Equal(t, map[int64]float64{10: 1, 11: 0.5, 13: 1}, got)
	// The step before the range gives no point of its own.
	_, ok := got[9]
	require.False(t, ok)
	// Gauges keep their last value; delta sums are summed.
	require.Equal(t, map[int64]float64{10: 3}, kindOf(schema.MetricGauge, 0).values([]int64{10}, []stepValue{{lastV: 3, sumV: 9}}, 60, 10))
	require.Equal(t, map[int64]float64{10: 0.15}, kindOf(schema.MetricSum, temporalityDelta).values([]int64{10}, []stepValue{{lastV: 3, sumV: 9}}, 60, 10))
	// Histograms read their counts.
	require.Equal(t, map[int64]float64{10: 0.5}, kindOf(schema.MetricHistogram, temporalityCumulative).values([]int64{9, 10}, []stepValue{{lastC: 10}, {lastC: 40}}, 60, 10))
}

// bucketQuantile follows histogram_quantile: linear within the bucket the
// rank falls in, the largest finite bound for the +Inf bucket, nothing
// without observations.
func TestBucketQuantile(t *testing.T) {
	inf := math.Inf(1)
	ub := []float64{0.1, 0.5, 1, inf}
	require.InDelta(t, 0.05, bucketQuantile(0.125, ub, []float64{20, 40, 60, 80}), 1e-12) // first bucket, from 0
	require.InDelta(t, 0.3, bucketQuantile(0.375, ub, []float64{20, 40, 60, 80}), 1e-12)
	require.Equal(t, 1.0, bucketQuantile(0.99, ub, []float64{20, 40, 60, 80}))
	require.True(t, math.IsNaN(bucketQuantile(0.5, ub, []float64{0, 0, 0, 0})))
	require.True(t, math.IsNaN(bucketQuantile(0.5, []float64{0.1, 0.5}, []float64{1, 2})), "no +Inf bucket")
	// Counts that fall are lifted to the ones below.
	require.InDelta(t, 0.3, bucketQuantile(0.375, ub, []float64{20, 40, 35, 80}), 1e-12)
	require.Equal(t, []uint64{1, 2}, bucketIncrease([]uint64{4, 5}, []uint64{5, 7}))
	require.Equal(t, []uint64{1, 3}, bucketIncrease([]uint64{4, 5}, []uint64{1, 3}), "a reset")
}

// An exponential histogram's buckets as it grows: new buckets, a finer
// scale than the step before, and a reset.
func TestExpHistGains(t *testing.T) {
	prev := newExpHist(1, 2, 0, []uint64{1, 3}) // scale 1: buckets 0 and 1, bucket 0 at scale 0
	cur := newExpHist(0, 5, 0, []uint64{10, 2}) // scale 0: buckets 0 and 1
	require.Equal(t, expHist{scale: 0, zero: 3, counts: map[int32]float64{0: 6, 1: 2}}, cur.since(prev))
	reset := newExpHist(0, 1, 0, []uint64{1})
	require.Equal(t, reset, reset.since(cur), "a bucket fell: the counts restarted")
	// Buckets 0 and 3 at scale 0: (1,2] and (8,16]; the median of one
	// each is the top of the first, interpolated from its own bounds.
	h := expHist{scale: 0, counts: map[int32]float64{0: 1, 3: 1}}
	require.Equal(t, 2.0, h.quantile(0.5))
	require.Equal(t, 12.0, h.quantile(0.75))
}
