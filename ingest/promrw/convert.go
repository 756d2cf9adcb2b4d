package promrw

import (
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/prompb"
	writev2 "github.com/prometheus/prometheus/prompb/io/prometheus/write/v2"

	"github.com/meshscope/meshscope/ingest"
)

// converter turns decoded requests into rows. A series that fails a check
// is refused whole and the others are kept: the request then gets 400
// with the refused series named (a partial write, as the 2.0
// specification allows; 1.0 senders do not retry 4xx either).
type converter struct {
	lim        Limits
	maxBuckets int
	meta       *metadataCache

	ls    []labels.Label
	hists []nativeSample

	// samples and histograms count what was accepted.
	samples, histograms int
}

// nativeSample is a checked native histogram sample.
type nativeSample struct {
	h      *histogram.Histogram
	fh     *histogram.FloatHistogram
	ts, st int64
}

// rejects collects the series refused in one request.
type rejects struct {
	series int
	first  []*ingest.InputError
	counts []reasonCount
}

type reasonCount struct {
	reason string
	items  int
}

// maxReported bounds the refused series named in a response.
const maxReported = 3

func (r *rejects) add(e *ingest.InputError, items int) {
	r.series++
	if len(r.first) < maxReported {
		r.first = append(r.first, e)
	}
	items = max(items, 1)
	for i := range r.counts {
		if r.counts[i].reason == e.Reason {
			r.counts[i].items += items
			return
		}
	}
	r.counts = append(r.counts, reasonCount{e.Reason, items})
}

func (r *rejects) reset() {
	r.series = 0
	clear(r.first)
	r.first, r.counts = r.first[:0], r.counts[:0]
}

func (c *converter) reset() {
	c.samples, c.histograms = 0, 0
	clear(c.hists)
	c.hists = c.hists[:0]
}

// v1 converts a remote write 1.0 request.
func (c *converter) v1(req *prompb.WriteRequest, rb *RowBuilder, rej *rejects) {
	c.meta.add(req.Metadata)
	for i := range req.Timeseries {
		ts := &req.Timeseries[i]
		items := len(ts.Samples) + len(ts.Histograms)
		ls := c.ls[:0]
		for _, l := range ts.Labels {
			ls = append(ls, labels.Label{Name: l.Name, Value: l.Value})
		}
		ls = NormalizeLabels(ls)
		c.ls = ls
		if e := CheckLabels(ls, c.lim); e != nil {
			rej.add(e, items)
			continue
		}
		if e := checkTimes(ls, "sample", len(ts.Samples), func(i int) int64 { return ts.Samples[i].Timestamp }); e != nil {
			rej.add(e, items)
			continue
		}
		c.hists = c.hists[:0]
		if e := c.checkHistogramsV1(ls, ts.Histograms); e != nil {
			rej.add(e, items)
			continue
		}
		name := metricName(ls)
		md := c.meta.lookup(name)
		id := c.addSeries(rb, ls, md, len(ts.Histograms) > 0 && ts.Histograms[0].ResetHint == prompb.Histogram_GAUGE)
		for _, s := range ts.Samples {
			rb.AddSample(id, name, s.Timestamp, 0, s.Value)
		}
		c.addHistograms(rb, id, name)
		c.samples += len(ts.Samples)
	}
}

// v2 converts a remote write 2.0 request.
func (c *converter) v2(req *writev2.Request, rb *RowBuilder, rej *rejects) {
	syms := req.Symbols
	for i := range req.Timeseries {
		ts := &req.Timeseries[i]
		items := len(ts.Samples) + len(ts.Histograms)
		ls, e := c.labelsV2(ts.LabelsRefs, syms)
		if e != nil {
			rej.add(e, items)
			continue
		}
		if e := CheckLabels(ls, c.lim); e != nil {
			rej.add(e, items)
			continue
		}
		md, e := metadataV2(ls, &ts.Metadata, syms)
		if e != nil {
			rej.add(e, items)
			continue
		}
		if e := checkTimes(ls, "sample", len(ts.Samples), func(i int) int64 { return ts.Samples[i].Timestamp }); e != nil {
			rej.add(e, items)
			continue
		}
		c.hists = c.hists[:0]
		if e := c.checkHistogramsV2(ls, ts.Histograms); e != nil {
			rej.add(e, items)
			continue
		}
		name := metricName(ls)
		id := c.addSeries(rb, ls, md, len(ts.Histograms) > 0 && ts.Histograms[0].ResetHint == writev2.Histogram_RESET_HINT_GAUGE)
		for _, s := range ts.Samples {
			st := s.StartTimestamp
			if !CheckTimestamp(st) {
				st = 0
			}
			rb.AddSample(id, name, s.Timestamp, st, s.Value)
		}
		c.addHistograms(rb, id, name)
		c.samples += len(ts.Samples)
	}
}

// addSeries adds a series of plain samples, or of native histograms when
// its checked histograms are in c.hists.
func (c *converter) addSeries(rb *RowBuilder, ls []labels.Label, md Metadata, gauge bool) uint64 {
	if len(c.hists) == 0 {
		return rb.AddSeries(ls, md)
	}
	first := c.hists[0]
	custom := first.h != nil && first.h.UsesCustomBuckets() || first.fh != nil && first.fh.UsesCustomBuckets()
	return rb.add(ls, func(string) SeriesInfo { return nativeInfo(custom, gauge, md) })
}

// addHistograms adds the checked histograms of c.hists to series id.
func (c *converter) addHistograms(rb *RowBuilder, id uint64, name string) {
	for _, n := range c.hists {
		rb.addHistogram(id, name, n.ts, n.st, n.h, n.fh)
	}
	c.histograms += len(c.hists)
}

// labelsV2 resolves label references against the symbols.
func (c *converter) labelsV2(refs []uint32, syms []string) ([]labels.Label, *ingest.InputError) {
	if len(refs)%2 != 0 {
		return nil, ingest.BadInput(ReasonBadSymbolRef, "timeseries.labels_refs", "%d label references, not name/value pairs", len(refs))
	}
	ls := c.ls[:0]
	for i := 0; i < len(refs); i += 2 {
		n, v := refs[i], refs[i+1]
		if int(n) >= len(syms) || int(v) >= len(syms) {
			c.ls = ls
			return nil, ingest.BadInput(ReasonBadSymbolRef, "timeseries.labels_refs",
				"label reference %d=%d is outside the %d symbols", n, v, len(syms))
		}
		ls = append(ls, labels.Label{Name: syms[n], Value: syms[v]})
	}
	ls = NormalizeLabels(ls)
	c.ls = ls
	return ls, nil
}

// metadataV2 reads a 2.0 series' metadata.
func metadataV2(ls []labels.Label, m *writev2.Metadata, syms []string) (Metadata, *ingest.InputError) {
	if int(m.HelpRef) >= len(syms) || int(m.UnitRef) >= len(syms) {
		return Metadata{}, ingest.BadInput(ReasonBadSymbolRef, "timeseries.metadata",
			"series %s: help_ref %d or unit_ref %d is outside the %d symbols", seriesString(ls), m.HelpRef, m.UnitRef, len(syms))
	}
	md := Metadata{Help: syms[m.HelpRef], Unit: syms[m.UnitRef]}
	switch m.Type {
	case writev2.Metadata_METRIC_TYPE_COUNTER:
		md.Type = model.MetricTypeCounter
	case writev2.Metadata_METRIC_TYPE_GAUGE:
		md.Type = model.MetricTypeGauge
	case writev2.Metadata_METRIC_TYPE_HISTOGRAM:
		md.Type = model.MetricTypeHistogram
	case writev2.Metadata_METRIC_TYPE_GAUGEHISTOGRAM:
		md.Type = model.MetricTypeGaugeHistogram
	case writev2.Metadata_METRIC_TYPE_SUMMARY:
		md.Type = model.MetricTypeSummary
	case writev2.Metadata_METRIC_TYPE_INFO:
		md.Type = model.MetricTypeInfo
	case writev2.Metadata_METRIC_TYPE_STATESET:
		md.Type = model.MetricTypeStateset
	}
	return md, nil
}

// checkTimes checks that n timestamps are storable and strictly increasing,
// as the remote write specification asks of the samples of one series.
func checkTimes(ls []labels.Label, what string, n int, at func(int) int64) *ingest.InputError {
	var prev int64
	for i := range n {
		ts := at(i)
		switch {
		case !CheckTimestamp(ts):
			return ingest.BadInput(ReasonBadTimestamp, "timeseries."+what+"s", "series %s: %s %d has timestamp %d ms, outside 1970-2262",
				seriesString(ls), what, i, ts)
		case i > 0 && ts == prev:
			return ingest.BadInput(ReasonDuplicateSample, "timeseries."+what+"s", "series %s: %ss %d and %d have the same timestamp %d",
				seriesString(ls), what, i-1, i, ts)
		case i > 0 && ts < prev:
			return ingest.BadInput(ReasonOutOfOrder, "timeseries."+what+"s", "series %s: %s %d (timestamp %d) is older than the one before it (%d)",
				seriesString(ls), what, i, ts, prev)
		}
		prev = ts
	}
	return nil
}

// checkHistogramsV1 converts and checks 1.0 native histograms into c.hists.
func (c *converter) checkHistogramsV1(ls []labels.Label, hs []prompb.Histogram) *ingest.InputError {
	if e := checkTimes(ls, "histogram", len(hs), func(i int) int64 { return hs[i].Timestamp }); e != nil {
		return e
	}
	for i := range hs {
		n := nativeSample{ts: hs[i].Timestamp}
		if hs[i].IsFloatHistogram() {
			n.fh = hs[i].ToFloatHistogram()
		} else {
			n.h = hs[i].ToIntHistogram()
		}
		if e := c.checkHistogram(ls, i, &n); e != nil {
			return e
		}
	}
	return nil
}

// checkHistogramsV2 converts and checks 2.0 native histograms into c.hists.
func (c *converter) checkHistogramsV2(ls []labels.Label, hs []writev2.Histogram) *ingest.InputError {
	if e := checkTimes(ls, "histogram", len(hs), func(i int) int64 { return hs[i].Timestamp }); e != nil {
		return e
	}
	for i := range hs {
		n := nativeSample{ts: hs[i].Timestamp, st: hs[i].StartTimestamp}
		if !CheckTimestamp(n.st) {
			n.st = 0
		}
		if hs[i].IsFloatHistogram() {
			n.fh = hs[i].ToFloatHistogram()
		} else {
			n.h = hs[i].ToIntHistogram()
		}
		if e := c.checkHistogram(ls, i, &n); e != nil {
			return e
		}
	}
	return nil
}

// checkHistogram validates one native histogram (Prometheus' validation,
// then the bucket range bound) and keeps it in c.hists.
func (c *converter) checkHistogram(ls []labels.Label, i int, n *nativeSample) *ingest.InputError {
	var err error
	var pos, neg []histogram.Span
	if n.h != nil {
		err, pos, neg = n.h.Validate(), n.h.PositiveSpans, n.h.NegativeSpans
	} else {
		err, pos, neg = n.fh.Validate(), n.fh.PositiveSpans, n.fh.NegativeSpans
	}
	if err == nil {
		err = checkWidth(pos, c.maxBuckets)
	}
	if err == nil {
		err = checkWidth(neg, c.maxBuckets)
	}
	if err != nil {
		return ingest.BadInput(ReasonBadHistogram, "timeseries.histograms", "series %s: histogram %d: %v", seriesString(ls), i, err)
	}
	c.hists = append(c.hists, *n)
	return nil
}
