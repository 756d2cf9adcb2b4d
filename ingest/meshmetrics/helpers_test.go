package meshmetrics

import (
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/cespare/xxhash/v2"
	"github.com/stretchr/testify/require"

	"github.com/meshscope/meshscope/schema"
)

// clock is a settable time source for tests.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

var base = time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)

// newTest returns a Deriver on a test clock.
func newTest(t *testing.T, cfg Config) (*Deriver, *clock) {
	t.Helper()
	d, err := New(cfg)
	require.NoError(t, err)
	c := &clock{t: base}
	d.now = c.now
	return d, c
}

// seriesRow builds a series row of a cumulative metric; kv are label names
// and values, in any order.
func seriesRow(name string, kv ...string) schema.MetricSeriesRow {
	type pair struct{ k, v string }
	ps := make([]pair, 0, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		ps = append(ps, pair{kv[i], kv[i+1]})
	}
	slices.SortFunc(ps, func(a, b pair) int {
		switch {
		case a.k < b.k:
			return -1
		case a.k > b.k:
			return 1
		}
		return 0
	})
	r := schema.MetricSeriesRow{MetricName: name, Type: schema.MetricSum, Temporality: 2, Monotonic: true}
	var d xxhash.Digest
	d.Reset()
	_, _ = d.WriteString(name)
	for _, p := range ps {
		r.LabelKeys = append(r.LabelKeys, p.k)
		r.LabelValues = append(r.LabelValues, p.v)
		_, _ = d.WriteString("\xff" + p.k + "\xff" + p.v)
	}
	r.SeriesID = d.Sum64()
	return r
}

// at is a sample of row at second sec after base.
func at(row schema.MetricSeriesRow, sec int, v float64) schema.MetricSampleRow {
	return schema.MetricSampleRow{
		SeriesID:     row.SeriesID,
		MetricName:   row.MetricName,
		TimeUnixNano: uint64(base.Add(time.Duration(sec) * time.Second).UnixNano()),
		Value:        v,
	}
}

// with returns kv with the values of the names in over replaced (or
// added).
func with(kv []string, over ...string) []string {
	out := slices.Clone(kv)
	for i := 0; i+1 < len(over); i += 2 {
		found := false
		for j := 0; j+1 < len(out); j += 2 {
			if out[j] == over[i] {
				out[j+1] = over[i+1]
				found = true
			}
		}
		if !found {
			out = append(out, over[i], over[i+1])
		}
	}
	return out
}

// istioKV are the labels of a successful mTLS call from productpage to
// reviews, reported by the destination.
var istioKV = []string{
	"reporter", "destination",
	"source_workload", "productpage-v1", "source_workload_namespace", "default",
	"source_canonical_service", "productpage", "source_canonical_revision", "v1",
	"source_app", "productpage", "source_version", "v1", "source_cluster", "Kubernetes",
	"source_principal", "spiffe://cluster.local/ns/default/sa/bookinfo-productpage",
	"destination_workload", "reviews-v2", "destination_workload_namespace", "default",
	"destination_canonical_service", "reviews", "destination_canonical_revision", "v2",
	"destination_app", "reviews", "destination_version", "v2", "destination_cluster", "Kubernetes",
	"destination_principal", "spiffe://cluster.local/ns/default/sa/bookinfo-reviews",
	"destination_service", "reviews.default.svc.cluster.local",
	"destination_service_name", "reviews", "destination_service_namespace", "default",
	"request_protocol", "http", "response_code", "200", "grpc_response_status", "",
	"response_flags", "-", "connection_security_policy", "mutual_tls",
	"job", "kubernetes-pods", "instance", "10.244.0.9:15020",
}
