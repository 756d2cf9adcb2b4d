// Package otlp receives OpenTelemetry traces, metrics and logs over gRPC and
// HTTP (protobuf and JSON, gzip), decodes them with the collector's pdata,
// turns them into schema rows, and hands them to an ingest.Appender; it
// answers with OTLP partial success for items it refused. It never imports
// query/.
package otlp

import (
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/meshscope/meshscope/graph"
	"github.com/meshscope/meshscope/schema"
)

const maxSpanDuration = 24 * time.Hour

// AccessLogFunc recognises an Envoy access log carried as an OTLP log record
// (Envoy's OpenTelemetry access logger). When it returns true the record
// became request rows and observations and is not stored as a log; a non-nil
// error rejects the record with that message.
type AccessLogFunc func(res pcommon.Resource, scope pcommon.InstrumentationScope, lr plog.LogRecord,
	b *schema.Batch, obs *[]graph.Observation) (bool, error)

// MetricsFunc derives call observations from metric rows (Istio, Linkerd and
// Envoy families); it may keep state across calls.
type MetricsFunc func(series []schema.MetricSeriesRow, samples []schema.MetricSampleRow) []graph.Observation

// Converter turns pdata into rows. It is safe for concurrent use.
type Converter struct {
	// Now is the clock used to refuse timestamps far in the future.
	Now func() time.Time
	// AccessLog, when set, takes Envoy access log records out of the logs.
	AccessLog AccessLogFunc
	// Metrics, when set, derives observations from metric rows.
	Metrics MetricsFunc
	series  *seriesSet
}

// NewConverter returns a converter remembering up to maxSeries metric series
// (each series row is written once per process while remembered).
func NewConverter(maxSeries int) *Converter {
	return &Converter{Now: time.Now, series: newSeriesSet(maxSeries)}
}

var year2000 = uint64(time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano())

func (c *Converter) checkTime(ns uint64, field string) (reason, msg string) {
	return checkTimeBefore(ns, c.latest(), field)
}

// latest is the latest timestamp accepted now: 24h ahead of the clock.
func (c *Converter) latest() uint64 { return uint64(c.Now().Add(24 * time.Hour).UnixNano()) }

// checkTimeBefore is checkTime with the latest accepted timestamp given, for
// callers that check many items at once.
func checkTimeBefore(ns, latest uint64, field string) (reason, msg string) {
	switch {
	case ns == 0:
		return "invalid_timestamp", field + " is zero"
	case ns < year2000:
		return "invalid_timestamp", field + " is before the year 2000"
	case ns > latest:
		return "invalid_timestamp", field + " is more than 24h in the future"
	}
	return "", ""
}
