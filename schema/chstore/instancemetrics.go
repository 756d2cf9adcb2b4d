package chstore

import (
	"cmp"
	"context"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/meshscope/meshscope/graph"
)

// A service's calls by instance from its OpenTelemetry SDKs' server
// duration histograms: every SDK counts the requests its pod served in a
// histogram per route and status, resource and all, whether or not their
// spans were sampled, so these name the instances of services that have
// no sidecar at a fraction of reading their spans. Only histograms sent by
// OTLP are read (a histogram that reached Prometheus first is a family of
// _bucket series).

// InstanceMetrics are the server duration histograms read, with the
// nanoseconds of their unit when the series does not say (the semantic
// conventions' current names count seconds, the earlier ones
// milliseconds).
var InstanceMetrics = map[string]float64{
	"http.server.request.duration": 1e9,
	"rpc.server.call.duration":     1e9,
	"http.server.duration":         1e6,
	"rpc.server.duration":          1e6,
}

// InstanceMetricsSamples bounds the samples one read takes (the newest
// instances are then missing; a window of 10 minutes over a thousand pods'
// histograms is about 200,000).
const InstanceMetricsSamples = 2_000_000

// unitNanos is the nanoseconds of a duration unit (UCUM, as OTLP's);
// def when the unit is none of them.
func unitNanos(unit string, def float64) float64 {
	switch unit {
	case "s":
		return 1e9
	case "ms":
		return 1e6
	case "us":
		return 1e3
	case "ns":
		return 1
	}
	return def
}

// metricSeries is what an instance read needs of a series.
type metricSeries struct {
	dst         string // the node id of the service that served the calls
	key, inst   string
	version     string
	workload    string
	failed      bool
	exponential bool
	cumulative  bool
	unitNanos   float64
}

// instanceOf reads the node and the instance of a server histogram's
// series from its resource, and whether its calls failed from its point
// attributes (graph.IsError, or error.type, which the conventions set on
// every failed request); ok is false for a series naming no service or no
// instance.
func instanceOf(name, unit string, typ, temporality uint8, rk, rv, lk, lv []string) (metricSeries, bool) {
	res := func(k string) string {
		if i := slices.Index(rk, k); i >= 0 {
			return rv[i]
		}
		return ""
	}
	lbl := func(k string) string {
		if i := slices.Index(lk, k); i >= 0 {
			return lv[i]
		}
		return ""
	}
	s := metricSeries{
		exponential: typ == 4,
		cumulative:  temporality != 1,
		unitNanos:   unitNanos(unit, InstanceMetrics[name]),
		version:     res("service.version"),
		workload:    cmp.Or(res("k8s.deployment.name"), res("k8s.statefulset.name"), res("k8s.daemonset.name")),
	}
	svc := res("service.name")
	for _, k := range []string{"k8s.pod.name", "service.instance.id", "host.name"} {
		if v := res(k); v != "" {
			s.key, s.inst = k, v
			break
		}
	}
	if svc == "" || s.inst == "" || (typ != 3 && typ != 4) {
		return metricSeries{}, false
	}
	s.dst = "service:" + cmp.Or(res("service.namespace"), res("k8s.namespace.name")) + "/" + svc
	st := graph.Status{GRPCCode: -1}
	if code, err := strconv.Atoi(lbl("rpc.grpc.status_code")); err == nil {
		st.GRPCCode = code
	} else if code, err := strconv.Atoi(cmp.Or(lbl("http.response.status_code"), lbl("http.status_code"))); err == nil {
		st.HTTPCode, st.HTTPKnown = code, true
	}
	s.failed = graph.IsError(st) || lbl("error.type") != ""
	return s, true
}

// metricPoint is one histogram sample of a series.
type metricPoint struct {
	at     time.Time
	count  uint64
	scale  int32
	bounds []float64
	hist   graph.Histogram
}

// increase is what a series' histogram counted from prev to cur: cur
// less prev for a cumulative series (cur whole after a reset: fewer
// calls, other bounds, another scale), cur for a delta one.
func increase(s metricSeries, prev *metricPoint, cur *metricPoint) (uint64, graph.Histogram) {
	if !s.cumulative || prev == nil {
		return cur.count, cur.hist
	}
	if cur.count < prev.count || cur.scale != prev.scale || !slices.Equal(cur.bounds, prev.bounds) {
		return cur.count, cur.hist
	}
	h := cur.hist
	for i := range h {
		if h[i] < prev.hist[i] {
			return cur.count, cur.hist
		}
		h[i] -= prev.hist[i]
	}
	return cur.count - prev.count, h
}

// hist is a sample's histogram on graph's layout.
func (s metricSeries) hist(bounds []float64, counts []uint64, scale, offset int32, zero uint64, positive []uint64) graph.Histogram {
	if s.exponential {
		return graph.FromExponential(scale, offset, zero, positive, s.unitNanos)
	}
	nanos := make([]float64, len(bounds))
	for i, b := range bounds {
		nanos[i] = b * s.unitNanos
	}
	return graph.FromBuckets(nanos, counts)
}

// instanceCalls gathers the calls of InstanceCallsFromMetrics by
// destination and instance.
type instanceCalls struct {
	found map[[3]string]*instanceHist
}

type instanceHist struct {
	DestinationInstance
	hist graph.Histogram
}

// add counts n calls of s's instance, h their latencies, seen from first to
// last.
func (c *instanceCalls) add(s metricSeries, n uint64, h *graph.Histogram, first, last time.Time) {
	if n == 0 {
		return
	}
	k := [3]string{s.dst, s.key, s.inst}
	in := c.found[k]
	if in == nil {
		in = &instanceHist{DestinationInstance: DestinationInstance{Destination: s.dst,
			Instance: graph.Instance{Instance: s.inst, Key: s.key, Version: s.version, Workload: s.workload, FirstSeen: first, LastSeen: last}}}
		c.found[k] = in
	}
	in.Requests += n
	if s.failed {
		in.Errors += n
	}
	in.hist.Add(h)
	if first.Before(in.FirstSeen) {
		in.FirstSeen = first
	}
	if last.After(in.LastSeen) {
		in.LastSeen = last
	}
}

// InstanceCallsFromMetrics reads the instances q asks for from the
// InstanceMetrics histograms: the calls each pod (k8s.pod.name, else
// service.instance.id, else host.name of the series' resource) served
// between q.From and q.To, failed by the graph's rule, and their median and
// 99th percentile. A cumulative series counts from its first sample in the
// range (the calls before it are the range before's), so a range needs two
// samples of a series to count its calls. The busiest instance of each
// destination comes first (rates and outliers not filled:
// graph.FinishInstances). q.Failed is not used.
//
// ClickHouse reduces each series to its first and last samples (a
// cumulative one) or its sums (a delta one). Only a series whose samples do
// not add up so (a pod that restarted, counting from zero again; buckets
// that changed) is read sample by sample.
func (s *Store) InstanceCallsFromMetrics(ctx context.Context, q InstancesQuery) ([]DestinationInstance, error) {
	names := make([]string, 0, len(InstanceMetrics))
	for n := range InstanceMetrics {
		names = append(names, "'"+n+"'")
	}
	slices.Sort(names)
	inNames := "metric_name IN (" + strings.Join(names, ", ") + ")"
	seriesWhere, args := inNames, []any{}
	if q.Destination != "" {
		_, name, _ := strings.Cut(strings.TrimPrefix(q.Destination, "service:"), "/")
		seriesWhere, args = seriesWhere+" AND service_name = ?", append(args, name)
	}
	series := map[uint64]metricSeries{}
	err := s.scan(ctx, func(scan func(...any) error) error {
		var (
			id               uint64
			name, unit       string
			typ, temporality uint8
			rk, rv, lk, lv   []string
		)
		if err := scan(&id, &name, &typ, &unit, &temporality, &rk, &rv, &lk, &lv); err != nil {
			return err
		}
		if ms, ok := instanceOf(name, unit, typ, temporality, rk, rv, lk, lv); ok && (q.Destination == "" || ms.dst == q.Destination) {
			series[id] = ms
		}
		return nil
	}, `
SELECT series_id, metric_name, type, unit, temporality, resource_keys, resource_values, label_keys, label_values
FROM metric_series
WHERE `+seriesWhere, args...)
	if err != nil || len(series) == 0 {
		return nil, err
	}

	calls := instanceCalls{found: map[[3]string]*instanceHist{}}
	inRange := inNames + " AND timestamp >= toDateTime(?) AND timestamp <= toDateTime(?) AND series_id IN (SELECT series_id FROM metric_series WHERE " + seriesWhere + ")"
	rangeArgs := append([]any{q.From.Unix(), q.To.Unix()}, args...)
	var slow []uint64 // series read sample by sample
	err = s.scan(ctx, func(scan func(...any) error) error {
		var (
			id, n, firstNs, lastNs                   uint64
			firstCount, lastCount, sumCount          uint64
			reset, bucketsMoved                      uint8
			bounds                                   []float64
			firstCounts, lastCounts, sumCounts       []uint64
			scale, offset                            int32
			firstZero, lastZero, sumZero             uint64
			firstOffset                              int32
			firstPositive, lastPositive, sumPositive []uint64
		)
		if err := scan(&id, &n, &firstNs, &lastNs, &firstCount, &lastCount, &sumCount, &reset, &bucketsMoved, &bounds,
			&firstCounts, &lastCounts, &sumCounts, &scale, &firstOffset, &offset, &firstZero, &lastZero, &sumZero,
			&firstPositive, &lastPositive, &sumPositive); err != nil {
			return err
		}
		ms, ok := series[id]
		if !ok {
			return nil
		}
		if (ms.cumulative && reset == 1) || bucketsMoved == 1 {
			slow = append(slow, id)
			return nil
		}
		first, last := time.Unix(0, int64(firstNs)).UTC(), time.Unix(0, int64(lastNs)).UTC()
		if !ms.cumulative {
			h := ms.hist(bounds, sumCounts, scale, offset, sumZero, sumPositive)
			calls.add(ms, sumCount, &h, first, last)
			return nil
		}
		if n < 2 {
			return nil
		}
		before := ms.hist(bounds, firstCounts, scale, firstOffset, firstZero, firstPositive)
		cur := &metricPoint{count: lastCount, hist: ms.hist(bounds, lastCounts, scale, offset, lastZero, lastPositive)}
		got, h := increase(ms, &metricPoint{count: firstCount, hist: before}, cur)
		calls.add(ms, got, &h, first, last)
		return nil
	}, `
SELECT series_id, count(), min(time_unix_nano), max(time_unix_nano),
       argMin(count, time_unix_nano) AS first_count, argMax(count, time_unix_nano), sum(count),
       toUInt8(arrayExists((a, b) -> a > b, arrayPopBack(arrayMap(p -> p.2, arraySort(groupArray((time_unix_nano, count)))) AS counts),
                           arrayPopFront(counts))) AS reset,
       toUInt8(uniqExact(bucket_bounds) > 1 OR uniqExact(exp_scale) > 1 OR uniqExact(exp_positive_offset) > 1) AS moved,
       argMax(bucket_bounds, time_unix_nano),
       argMin(bucket_counts, time_unix_nano), argMax(bucket_counts, time_unix_nano), sumForEach(bucket_counts),
       argMax(exp_scale, time_unix_nano), argMin(exp_positive_offset, time_unix_nano), argMax(exp_positive_offset, time_unix_nano),
       argMin(exp_zero_count, time_unix_nano), argMax(exp_zero_count, time_unix_nano), sum(exp_zero_count),
       argMin(exp_positive_counts, time_unix_nano), argMax(exp_positive_counts, time_unix_nano), sumForEach(exp_positive_counts)
FROM metric_samples
WHERE `+inRange+`
GROUP BY series_id`, rangeArgs...)
	if err != nil {
		return nil, err
	}
	if len(slow) > 0 {
		if err := s.instanceCallsBySample(ctx, series, slow, inRange, rangeArgs, &calls); err != nil {
			return nil, err
		}
	}

	out := make([]DestinationInstance, 0, len(calls.found))
	for _, in := range calls.found {
		in.P50Ms, in.P99Ms = in.hist.Quantile(0.5)/1e6, in.hist.Quantile(0.99)/1e6
		out = append(out, in.DestinationInstance)
	}
	slices.SortFunc(out, func(a, b DestinationInstance) int {
		return cmp.Or(cmp.Compare(a.Destination, b.Destination), cmp.Compare(b.Requests, a.Requests), cmp.Compare(a.Instance.Instance, b.Instance.Instance))
	})
	if q.Limit > 0 && len(out) > q.Limit {
		out = out[:q.Limit]
	}
	return out, nil
}

// instanceCallsBySample counts the calls of the series ids from their
// samples one by one: each step's increase (a cumulative series' count
// falling is a restart, from which it counts from zero again).
func (s *Store) instanceCallsBySample(ctx context.Context, series map[uint64]metricSeries, ids []uint64, inRange string, args []any, calls *instanceCalls) error {
	list := make([]string, len(ids))
	for i, id := range ids {
		list[i] = strconv.FormatUint(id, 10)
	}
	var (
		lastID uint64
		prev   *metricPoint
		pts    [2]metricPoint // the previous sample and this one
		turn   int
	)
	return s.scan(ctx, func(scan func(...any) error) error {
		var (
			id, ns, count, zero uint64
			bounds              []float64
			counts, positive    []uint64
			scale, offset       int32
		)
		if err := scan(&id, &ns, &count, &bounds, &counts, &scale, &zero, &offset, &positive); err != nil {
			return err
		}
		ms := series[id]
		if id != lastID {
			lastID, prev = id, nil
		}
		cur := &pts[turn]
		turn ^= 1
		*cur = metricPoint{at: time.Unix(0, int64(ns)).UTC(), count: count, scale: scale, bounds: bounds,
			hist: ms.hist(bounds, counts, scale, offset, zero, positive)}
		first := prev == nil
		n, h := increase(ms, prev, cur)
		at := cur.at
		if prev != nil {
			at = prev.at
		}
		prev = cur
		if !first || !ms.cumulative {
			calls.add(ms, n, &h, at, cur.at)
		}
		return nil
	}, `
SELECT series_id, time_unix_nano, count, bucket_bounds, bucket_counts, exp_scale, exp_zero_count, exp_positive_offset, exp_positive_counts
FROM metric_samples
WHERE `+inRange+` AND series_id IN (`+strings.Join(list, ", ")+`)
ORDER BY series_id, time_unix_nano
LIMIT `+strconv.Itoa(InstanceMetricsSamples), args...)
}
