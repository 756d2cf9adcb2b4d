package chstore_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"

	"github.com/meshscope/meshscope/graph"
	"github.com/meshscope/meshscope/ingest/otlp"
	"github.com/meshscope/meshscope/schema"
	"github.com/meshscope/meshscope/schema/chstore"
	"github.com/meshscope/meshscope/schema/chtest"
)

// sdkServer is one pod's SDK server histograms as they are exported: each
// export carries every series, cumulative since the pod started.
type sdkServer struct {
	service, namespace, pod, version string
	exponential                      bool // rpc.server.duration (ms), else http.server.request.duration (s)
	delta                            bool
	// per status: calls so far and their bucket counts
	ok, failed counts
}

type counts struct {
	n       uint64
	buckets []uint64 // explicit: bounds sdkBounds; exponential: scale 3 from offset 40
}

var sdkBounds = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1}

// record adds n calls of the bucket b to c.
func (c *counts) record(b int, n uint64, size int) {
	if c.buckets == nil {
		c.buckets = make([]uint64, size)
	}
	c.n += n
	c.buckets[b] += n
}

// export appends s's points at t to md, and, for a delta series, forgets
// them.
func (s *sdkServer) export(md pmetric.Metrics, t time.Time) {
	rm := md.ResourceMetrics().AppendEmpty()
	res := rm.Resource().Attributes()
	res.PutStr("service.name", s.service)
	res.PutStr("k8s.namespace.name", s.namespace)
	res.PutStr("k8s.pod.name", s.pod)
	res.PutStr("service.version", s.version)
	res.PutStr("k8s.deployment.name", s.service+"-"+s.version)
	m := rm.ScopeMetrics().AppendEmpty().Metrics().AppendEmpty()
	temporality := pmetric.AggregationTemporalityCumulative
	if s.delta {
		temporality = pmetric.AggregationTemporalityDelta
	}
	for _, st := range []struct {
		c      *counts
		failed bool
	}{{&s.ok, false}, {&s.failed, true}} {
		if st.c.n == 0 && st.c.buckets == nil {
			continue
		}
		var attrs pcommon.Map
		if s.exponential {
			if m.Type() == pmetric.MetricTypeEmpty {
				m.SetName("rpc.server.duration")
				m.SetUnit("ms")
				m.SetEmptyExponentialHistogram().SetAggregationTemporality(temporality)
			}
			p := m.ExponentialHistogram().DataPoints().AppendEmpty()
			p.SetTimestamp(pcommon.NewTimestampFromTime(t))
			p.SetCount(st.c.n)
			p.SetScale(3)
			p.Positive().SetOffset(40)
			p.Positive().BucketCounts().FromRaw(st.c.buckets)
			attrs = p.Attributes()
			attrs.PutStr("rpc.system", "grpc")
			attrs.PutInt("rpc.grpc.status_code", map[bool]int64{false: 0, true: 14}[st.failed])
		} else {
			if m.Type() == pmetric.MetricTypeEmpty {
				m.SetName("http.server.request.duration")
				m.SetUnit("s")
				m.SetEmptyHistogram().SetAggregationTemporality(temporality)
			}
			p := m.Histogram().DataPoints().AppendEmpty()
			p.SetTimestamp(pcommon.NewTimestampFromTime(t))
			p.SetCount(st.c.n)
			p.ExplicitBounds().FromRaw(sdkBounds)
			p.BucketCounts().FromRaw(st.c.buckets)
			attrs = p.Attributes()
			attrs.PutStr("http.route", "/cart")
			attrs.PutInt("http.response.status_code", map[bool]int64{false: 200, true: 503}[st.failed])
			if st.failed {
				attrs.PutStr("error.type", "503")
			}
		}
		if s.delta {
			*st.c = counts{buckets: make([]uint64, len(st.c.buckets))}
		}
	}
}

// A service's calls by pod from its SDKs' server histograms, cumulative and
// delta, explicit and exponential: the calls of the range only (a
// cumulative series counts from its first sample in it), failed by the
// status, the pod whose calls are slower and fail marked by the outlier
// rule; a pod's restart (its counts back to zero) is no negative count.
func TestInstanceCallsFromMetrics(t *testing.T) {
	st, _ := chtest.Store(t, "meshscope")
	conv := otlp.NewConverter(1000)
	start := time.Now().Add(-30 * time.Minute).Truncate(time.Second)
	explicit, exponential := len(sdkBounds)+1, 60
	pods := []*sdkServer{
		{service: "cart", namespace: "shop", pod: "cart-a", version: "v1"},
		{service: "cart", namespace: "shop", pod: "cart-b", version: "v1"},
		{service: "cart", namespace: "shop", pod: "cart-c", version: "v1"},
		{service: "cart", namespace: "shop", pod: "cart-d", version: "v1", delta: true},
		{service: "ledger", namespace: "bank", pod: "ledger-0", version: "v1", exponential: true},
		{service: "ledger", namespace: "bank", pod: "ledger-1", version: "v1", exponential: true},
	}
	// Ten exports a minute apart; the first at start is before the range
	// asked (start+1m on), its calls not counted.
	for i := range 10 {
		at := start.Add(time.Duration(i) * time.Minute)
		md := pmetric.NewMetrics()
		for _, p := range pods {
			switch {
			case p.exponential:
				// ledger: 100 calls a minute in (2^(45/8), 2^(46/8)] ms,
				// about 51.5 ms;
				// ledger-1 fails 1 in 10.
				p.ok.record(5, 90, exponential)
				if p.pod == "ledger-1" {
					p.failed.record(5, 10, exponential)
				} else {
					p.ok.record(5, 10, exponential)
				}
			case p.pod == "cart-c":
				// cart-c: 100 calls a minute in (0.25 s, 0.5 s], 20 of them
				// failing.
				p.ok.record(6, 80, explicit)
				p.failed.record(6, 20, explicit)
			default:
				// the others: 100 calls a minute in (10 ms, 25 ms], one
				// failing.
				p.ok.record(2, 99, explicit)
				p.failed.record(2, 1, explicit)
			}
			if p.pod == "cart-b" && i == 5 {
				// cart-b restarts: its counts start again from this
				// minute's.
				p.ok, p.failed = counts{}, counts{}
				p.ok.record(2, 99, explicit)
				p.failed.record(2, 1, explicit)
			}
			p.export(md, at)
		}
		var b schema.Batch
		require.Empty(t, conv.MetricsToRows(md, &b))
		require.NoError(t, st.Write(context.Background(), &b))
	}
	q := chstore.InstancesQuery{From: start.Add(time.Minute), To: start.Add(20 * time.Minute)}

	found, err := st.InstanceCallsFromMetrics(context.Background(), q)
	require.NoError(t, err)
	by := map[string]chstore.DestinationInstance{}
	for _, f := range found {
		by[f.Destination+" "+f.Instance.Instance] = f
	}
	require.Len(t, by, 6, "%+v", found)
	a := by["service:shop/cart cart-a"]
	require.Equal(t, "k8s.pod.name", a.Key)
	require.Equal(t, "v1", a.Version)
	require.Equal(t, "cart-v1", a.Workload)
	require.EqualValues(t, 800, a.Requests, "the eight minutes after the first sample in the range")
	require.EqualValues(t, 8, a.Errors)
	require.InDelta(t, 17.5, a.P50Ms, 5, "in (10 ms, 25 ms]")
	require.Equal(t, start.Add(time.Minute).UTC(), a.FirstSeen, "the first sample in the range, from which it counts")
	require.Equal(t, start.Add(9*time.Minute).UTC(), a.LastSeen)
	// cart-b's restart at minute 5: the minute's 100 calls, not minus
	// the 500 before (read sample by sample).
	b := by["service:shop/cart cart-b"]
	require.EqualValues(t, 800, b.Requests)
	require.EqualValues(t, 8, b.Errors)
	require.InDelta(t, 17.5, b.P50Ms, 5)
	require.Equal(t, [2]time.Time{start.Add(time.Minute).UTC(), start.Add(9 * time.Minute).UTC()}, [2]time.Time{b.FirstSeen, b.LastSeen})
	require.EqualValues(t, 900, by["service:shop/cart cart-d"].Requests, "a delta series counts its first sample in the range")
	c := by["service:shop/cart cart-c"]
	require.EqualValues(t, 800, c.Requests)
	require.EqualValues(t, 160, c.Errors)
	require.InDelta(t, 375, c.P50Ms, 100)
	l1 := by["service:bank/ledger ledger-1"]
	require.EqualValues(t, 800, l1.Requests)
	require.EqualValues(t, 80, l1.Errors, "gRPC UNAVAILABLE")
	require.InDelta(t, 51.5, l1.P50Ms, 6, "exponential buckets in milliseconds")
	require.Zero(t, by["service:bank/ledger ledger-0"].Errors)
	require.Equal(t, "service:bank/ledger", found[0].Destination, "by destination, the busiest first")

	// The outlier rule reads them as it reads spans' or access logs'.
	var cart []graph.Instance
	for _, f := range found {
		if f.Destination == "service:shop/cart" {
			cart = append(cart, f.Instance)
		}
	}
	graph.FinishInstances(cart, q.To.Sub(q.From))
	for _, in := range cart {
		if in.Instance == "cart-c" {
			require.ElementsMatch(t, []string{"errors", "latency"}, in.Outlier, "%+v", in)
		} else {
			require.Empty(t, in.Outlier, "%+v", in)
		}
	}

	// One destination; a range with one sample of each cumulative series
	// counts only the delta one.
	q.Destination = "service:bank/ledger"
	found, err = st.InstanceCallsFromMetrics(context.Background(), q)
	require.NoError(t, err)
	require.Len(t, found, 2)
	found, err = st.InstanceCallsFromMetrics(context.Background(), chstore.InstancesQuery{From: start.Add(3 * time.Minute), To: start.Add(3*time.Minute + 30*time.Second)})
	require.NoError(t, err)
	require.Len(t, found, 1)
	require.Equal(t, "cart-d", found[0].Instance.Instance)
	require.EqualValues(t, 100, found[0].Requests)
}

// BenchmarkInstanceCallsFromMetrics reads what --instance-alerts reads of
// SDK histograms at each evaluation: the last 10 minutes of 200 services'
// 1,000 pods, each pod's server histogram in 4 series (two routes, ok and
// failed) exported every 10 seconds (240,000 samples), against the plain
// sum of the same samples' counts by series in ClickHouse (sum-by-series:
// the same rows read, nothing decoded in Go), same run.
func BenchmarkInstanceCallsFromMetrics(b *testing.B) {
	st, _ := chtest.Store(b, "meshscope")
	ctx := context.Background()
	now := time.Now().Truncate(time.Second)
	require.NoError(b, st.Conn().Exec(ctx, `INSERT INTO metric_series (series_id, metric_name, type, unit, description, temporality, monotonic,
  service_name, source, first_seen, resource_keys, resource_values, label_keys, label_values)
SELECT number, 'http.server.request.duration', 3, 's', '', 2, 0, concat('svc-', toString(intDiv(number, 20))), 'otlp', now(),
       ['service.name', 'k8s.namespace.name', 'k8s.pod.name', 'service.version'],
       [concat('svc-', toString(intDiv(number, 20))), 'bench', concat('svc-', toString(intDiv(number, 20)), '-pod-', toString(intDiv(number, 4) % 5)), 'v1'],
       ['http.route', 'http.response.status_code'], [concat('/r', toString(number % 2)), if(intDiv(number, 2) % 2 = 0, '200', '500')]
FROM numbers(4000)`))
	require.NoError(b, st.Conn().Exec(ctx, fmt.Sprintf(`INSERT INTO metric_samples (series_id, metric_name, timestamp, time_unix_nano, start_time_unix_nano,
  value, count, sum, min, max, bucket_bounds, bucket_counts, exp_scale, exp_zero_count, exp_positive_offset, exp_positive_counts,
  exp_negative_offset, exp_negative_counts, quantiles, quantile_values, flags)
SELECT s, 'http.server.request.duration', toDateTime(intDiv(t, 1000000000)), t, 0, nan, c, 0, nan, nan,
       [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10],
       [0, 0, intDiv(c, 2), intDiv(c, 4), intDiv(c, 8), toUInt64(c - intDiv(c, 2) - intDiv(c, 4) - intDiv(c, 8)), 0, 0, 0, 0, 0, 0, 0, 0, 0],
       0, 0, 0, [], 0, [], [], [], 0
FROM (SELECT number %% 4000 AS s, intDiv(number, 4000) AS k, toUInt64(%d) + k * 10000000000 AS t,
             toUInt64(1000 + k * if(intDiv(s, 2) %% 2 = 0, 100, 1)) AS c FROM numbers(240000))`, now.Add(-10*time.Minute).UnixNano())))
	q := chstore.InstancesQuery{From: now.Add(-10 * time.Minute), To: now}
	b.Run("instances", func(b *testing.B) {
		for b.Loop() {
			found, err := st.InstanceCallsFromMetrics(ctx, q)
			require.NoError(b, err)
			require.Len(b, found, 1000)
		}
	})
	b.Run("sum-by-series", func(b *testing.B) {
		for b.Loop() {
			var n uint64
			require.NoError(b, st.Conn().QueryRow(ctx, `SELECT count() FROM (SELECT series_id, sum(count) FROM metric_samples
WHERE metric_name = 'http.server.request.duration' AND timestamp >= toDateTime(?) AND timestamp <= toDateTime(?) GROUP BY series_id)`,
				q.From.Unix(), q.To.Unix()).Scan(&n))
			require.EqualValues(b, 4000, n)
		}
	})
}
