package promstore

import (
	"context"
	"sync"
	"time"

	"github.com/prometheus/otlptranslator"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/meshscope/meshscope/schema"
	"github.com/meshscope/meshscope/schema/chstore"
)

// Prometheus names for OTLP metrics.
//
// PromQL sees an OTLP metric under the name Prometheus' own OTLP receiver
// gives it (otlptranslator's default strategy: characters outside
// [a-zA-Z0-9_:] as _, unit and type suffixes): http.server.request.duration
// in seconds reads as http_server_request_duration_seconds (its classic
// series ..._bucket, _sum and _count), a monotonic sum requests as
// requests_total, a gauge of unit 1 as ..._ratio; and its attributes under
// Prometheus label names (http.request.method as http_request_method).
// Dashboards written for Prometheus' OTLP endpoint or the Collector's
// Prometheus exporters read them unchanged. Selectors also find a metric
// and its attributes by their stored names ({"http.server.request.duration"},
// {"http.request.method"="GET"}), the answer naming them as above. Series
// that came through Prometheus (remote_write, scrapes) keep their names.

var (
	metricNamer = otlptranslator.MetricNamer{WithMetricSuffixes: true}
	labelNamer  = otlptranslator.LabelNamer{}
)

// PromName is the name PromQL shows for a stored metric of type typ (a
// schema.Metric* constant): Prometheus' for OTLP's, the stored one else.
func PromName(name string, typ uint8, unit string, monotonic, otlp bool) string {
	if !otlp {
		return name
	}
	t := otlptranslator.MetricType(otlptranslator.MetricTypeUnknown)
	switch typ {
	case schema.MetricGauge:
		t = otlptranslator.MetricTypeGauge
	case schema.MetricSum:
		t = otlptranslator.MetricTypeNonMonotonicCounter
		if monotonic {
			t = otlptranslator.MetricTypeMonotonicCounter
		}
	case schema.MetricHistogram:
		t = otlptranslator.MetricTypeHistogram
	case schema.MetricExponentialHistogram:
		t = otlptranslator.MetricTypeExponentialHistogram
	case schema.MetricSummary:
		t = otlptranslator.MetricTypeSummary
	}
	n, err := metricNamer.Build(otlptranslator.Metric{Name: name, Unit: unit, Type: t})
	if err != nil || n == "" {
		return name
	}
	return n
}

// PromLabel is an OTLP attribute's Prometheus label name.
func PromLabel(key string) string {
	n, err := labelNamer.Build(key)
	if err != nil || n == "" {
		return key
	}
	return n
}

// nameIndex maps the names PromQL sees to the stored ones.
type nameIndex struct {
	stored  []string            // every stored metric name
	classic map[string]bool     // the explicit-bucket histograms: read as classic series
	shown   map[string]string   // stored name → PromQL's, where they differ
	keys    map[string][]string // PromQL label name → the OTLP attribute keys it stands for, where they differ
}

// promName is a stored metric name as PromQL sees it.
func (ix *nameIndex) promName(stored string) string {
	if n, ok := ix.shown[stored]; ok {
		return n
	}
	return stored
}

// selectNames are the stored metric names a __name__ matcher selects. A
// positive one (=, =~) selects a metric when it matches either name, a
// negative one (!=, !~) when it matches both. An equality also names
// itself, for metrics stored since the index was read.
func (ix *nameIndex) selectNames(m *labels.Matcher) []string {
	var out []string
	positive := m.Type == labels.MatchEqual || m.Type == labels.MatchRegexp
	for _, n := range ix.stored {
		shown, stored := m.Matches(ix.promName(n)), m.Matches(n)
		if positive && (shown || stored) || !positive && shown && stored {
			out = append(out, n)
		}
	}
	if m.Type == labels.MatchEqual {
		out = append(out, m.Value)
	}
	return out
}

// namesCache holds the index for a while: it changes only when metrics
// with new names or attributes arrive.
type namesCache struct {
	mu  sync.Mutex
	ix  *nameIndex
	at  time.Time
	ttl time.Duration // default indexTTL
}

// indexTTL is how long an index is used.
const indexTTL = 15 * time.Second

// get returns the index, read again when it is older than its TTL.
func (c *namesCache) get(ctx context.Context, store *chstore.Store) (*nameIndex, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	ttl := c.ttl
	if ttl == 0 {
		ttl = indexTTL
	}
	if c.ix != nil && time.Since(c.at) < ttl {
		return c.ix, nil
	}
	ix := &nameIndex{classic: map[string]bool{}, shown: map[string]string{}, keys: map[string][]string{}}
	rows, err := store.Conn().Query(ctx, `
SELECT metric_name, any(type), any(unit), max(monotonic), max(source = 'otlp')
FROM metric_series GROUP BY metric_name`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var (
			name, unit      string
			typ, mono, otlp uint8
		)
		if err := rows.Scan(&name, &typ, &unit, &mono, &otlp); err != nil {
			return nil, err
		}
		ix.stored = append(ix.stored, name)
		if typ == schema.MetricHistogram {
			ix.classic[name] = true
		}
		if shown := PromName(name, typ, unit, mono == 1, otlp == 1); shown != name {
			ix.shown[name] = shown
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	keys, err := store.Conn().Query(ctx, `SELECT DISTINCT arrayJoin(label_keys) FROM metric_series WHERE source = 'otlp'`)
	if err != nil {
		return nil, err
	}
	defer keys.Close()
	for keys.Next() {
		var k string
		if err := keys.Scan(&k); err != nil {
			return nil, err
		}
		if l := PromLabel(k); l != k {
			ix.keys[l] = append(ix.keys[l], k)
		}
	}
	if err := keys.Err(); err != nil {
		return nil, err
	}
	c.ix, c.at = ix, time.Now()
	return ix, nil
}
