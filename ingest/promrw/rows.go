package promrw

import (
	"math"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/value"

	"github.com/meshscope/meshscope/ingest/meshmetrics"
	"github.com/meshscope/meshscope/schema"
)

// Sources written to metric_series.source.
const (
	SourceRemoteWrite = "remote_write"
	SourceScrape      = "scrape"
)

// RowBuilder turns Prometheus series and samples into schema rows: a
// sample row for every sample, the metric_series row of every series this
// process has not written yet (per its SeenSet), and the series rows the
// Deriver needs to read the samples it wants. The remote_write receiver and
// the scraper share it. A RowBuilder is reused from one request or scrape
// to the next; it is not safe for concurrent use.
type RowBuilder struct {
	// Batch holds the rows to append: the new series and every sample.
	// Its rows and the Derive rows are valid until the next Reset.
	Batch schema.Batch
	// Derive holds the series rows of the samples the Deriver wants.
	Derive []schema.MetricSeriesRow

	source  string
	seen    *SeenSet
	deriver *meshmetrics.Deriver
	now     uint32

	newIDs  []uint64
	inBatch map[uint64]struct{}
	strs    []string  // label names and values of the rows
	u64s    []uint64  // histogram counts of the rows
	f64s    []float64 // histogram bounds of the rows
}

// NewRowBuilder returns a RowBuilder writing source into metric_series.
// seen is shared by the builders of one receiver; d may be nil.
func NewRowBuilder(source string, seen *SeenSet, d *meshmetrics.Deriver) *RowBuilder {
	return &RowBuilder{source: source, seen: seen, deriver: d, inBatch: make(map[uint64]struct{})}
}

// Reset empties the builder for a request or scrape received at now.
func (b *RowBuilder) Reset(now time.Time) {
	clear(b.Batch.MetricSeries)
	clear(b.Batch.MetricSamples)
	b.Batch.Reset()
	clear(b.Derive)
	b.Derive = b.Derive[:0]
	b.newIDs = b.newIDs[:0]
	clear(b.inBatch)
	clear(b.strs)
	b.strs, b.u64s, b.f64s = b.strs[:0], b.u64s[:0], b.f64s[:0]
	b.now = uint32(now.Unix())
}

// Commit records the new series of the batch as written; call it once the
// Appender took the batch.
func (b *RowBuilder) Commit() {
	b.seen.Add(b.newIDs...)
}

// AddSeries adds a series of plain samples, its labels normalized and
// checked (NormalizeLabels, CheckLabels), and returns its id. md
// describes its family; zero when unknown.
func (b *RowBuilder) AddSeries(ls []labels.Label, md Metadata) uint64 {
	return b.add(ls, func(name string) SeriesInfo { return InfoFor(name, md) })
}

// add adds a series whose row, when one is needed, info describes.
func (b *RowBuilder) add(ls []labels.Label, info func(name string) SeriesInfo) uint64 {
	id := SeriesID(ls)
	name := metricName(ls)
	_, inBatch := b.inBatch[id]
	isNew := !inBatch && !b.seen.Contains(id)
	want := b.deriver.Wants(name)
	if !isNew && !want {
		return id
	}
	row := b.row(ls, id, name, info(name))
	if isNew {
		b.Batch.MetricSeries = append(b.Batch.MetricSeries, row)
		b.newIDs = append(b.newIDs, id)
		b.inBatch[id] = struct{}{}
	}
	if want {
		b.Derive = append(b.Derive, row)
	}
	return id
}

// row builds a metric_series row; labels other than __name__ become its
// label columns, in order.
func (b *RowBuilder) row(ls []labels.Label, id uint64, name string, info SeriesInfo) schema.MetricSeriesRow {
	start := len(b.strs)
	var job string
	for _, l := range ls {
		if l.Name != labels.MetricName {
			b.strs = append(b.strs, l.Name)
		}
		if l.Name == "job" {
			job = l.Value
		}
	}
	mid := len(b.strs)
	for _, l := range ls {
		if l.Name != labels.MetricName {
			b.strs = append(b.strs, l.Value)
		}
	}
	end := len(b.strs)
	return schema.MetricSeriesRow{
		SeriesID:      id,
		MetricName:    name,
		Type:          info.Type,
		Unit:          info.Unit,
		Description:   info.Help,
		Temporality:   info.Temporality,
		Monotonic:     info.Monotonic,
		ServiceName:   job,
		Source:        b.source,
		FirstSeenUnix: b.now,
		LabelKeys:     b.strs[start:mid:mid],
		LabelValues:   b.strs[mid:end:end],
	}
}

// AddSample adds a plain sample of series id; timestamps are Unix
// milliseconds (checked with CheckTimestamp), startMs 0 when unknown.
// Prometheus' staleness marker is kept as the NaN it is, flagged as
// holding no value (flags 1, as OTLP's no-recorded-value).
func (b *RowBuilder) AddSample(id uint64, name string, tsMs, startMs int64, v float64) {
	row := schema.MetricSampleRow{
		SeriesID:          id,
		MetricName:        name,
		TimeUnixNano:      msToNanos(tsMs),
		StartTimeUnixNano: msToNanos(startMs),
		Value:             v,
		Min:               math.NaN(),
		Max:               math.NaN(),
	}
	if value.IsStaleNaN(v) {
		row.Flags = 1
	}
	b.Batch.MetricSamples = append(b.Batch.MetricSamples, row)
}

// maxMs is the last millisecond whose nanoseconds fit an int64.
const maxMs = math.MaxInt64 / 1_000_000

// CheckTimestamp reports whether a timestamp in Unix milliseconds can be
// stored: not before the epoch, not after 2262.
func CheckTimestamp(ms int64) bool {
	return ms >= 0 && ms <= maxMs
}

func msToNanos(ms int64) uint64 {
	if ms <= 0 {
		return 0
	}
	return uint64(ms) * 1e6
}
