package promrw

import (
	"math"
	"testing"
	"time"

	"github.com/klauspost/compress/snappy"
	"github.com/prometheus/prometheus/prompb"
	"github.com/stretchr/testify/require"
)

// FuzzDecodeWriteRequest feeds arbitrary bodies, as remote write 1.0 or
// 2.0, through decoding, checking and conversion: it must never panic, and
// what it keeps must be consistent (every sample refers to a series row).
// The seed corpus in testdata/fuzz/ holds valid requests of both versions,
// with native histograms, metadata and refused series.
func FuzzDecodeWriteRequest(f *testing.F) {
	cfg := Config{MaxNativeHistogramBuckets: 4096}.withDefaults()
	f.Fuzz(func(t *testing.T, body []byte, v2 bool) {
		if !v2 {
			sameAsGenerated(t, body)
		}
		var dec decoder
		if err := dec.decode(body, v2, cfg.MaxDecodedBytes); err != nil {
			return
		}
		conv := converter{lim: cfg.limits(), maxBuckets: cfg.MaxNativeHistogramBuckets, meta: newMetadataCache()}
		rb := NewRowBuilder(SourceRemoteWrite, NewSeenSet(1024), nil)
		rb.Reset(time.Unix(0, 0))
		var rej rejects
		if v2 {
			conv.v2(&dec.v2, rb, &rej)
		} else {
			conv.v1(&dec.v1, rb, &rej)
		}
		ids := make(map[uint64]bool, len(rb.Batch.MetricSeries))
		for _, s := range rb.Batch.MetricSeries {
			ids[s.SeriesID] = true
			require.NotEmpty(t, s.MetricName)
			require.Len(t, s.LabelValues, len(s.LabelKeys))
		}
		for _, s := range rb.Batch.MetricSamples {
			require.True(t, ids[s.SeriesID], "sample of an unknown series")
			if len(s.BucketBounds) > 0 {
				require.Len(t, s.BucketCounts, len(s.BucketBounds)+1)
			}
			require.LessOrEqual(t, len(s.ExpPositiveCounts), cfg.MaxNativeHistogramBuckets)
		}
		require.Equal(t, len(rb.Batch.MetricSamples), conv.samples+conv.histograms)
	})
}

// sameAsGenerated checks the 1.0 decoder against the generated one: a
// request the generated code decodes, re-encoded canonically, decodes the
// same with unmarshalV1 (exemplars aside, which it skips); so does the
// input itself unless unmarshalV1 refuses it (it is stricter with
// malformed groups and varints, which no sender writes).
func sameAsGenerated(t *testing.T, body []byte) {
	if n, err := snappy.DecodedLen(body); err != nil || n > DefaultMaxDecodedBytes {
		return
	}
	raw, err := snappy.Decode(nil, body)
	if err != nil {
		return
	}
	var want prompb.WriteRequest
	if want.Unmarshal(raw) != nil {
		return
	}
	stripUnknown(&want)
	canonical, err := want.Marshal()
	require.NoError(t, err)
	var got prompb.WriteRequest
	require.NoError(t, unmarshalV1(&got, canonical))
	requireSameRequest(t, &want, &got)
	if unmarshalV1(&got, raw) == nil {
		requireSameRequest(t, &want, &got)
	}
}

func requireSameRequest(t *testing.T, want, got *prompb.WriteRequest) {
	stripUnknown(got)
	require.Len(t, got.Timeseries, len(want.Timeseries))
	for i := range want.Timeseries {
		w, g := want.Timeseries[i], got.Timeseries[i]
		require.Equal(t, len(w.Labels), len(g.Labels))
		for j := range w.Labels {
			require.Equal(t, w.Labels[j].Name, g.Labels[j].Name)
			require.Equal(t, w.Labels[j].Value, g.Labels[j].Value)
		}
		require.Equal(t, len(w.Samples), len(g.Samples))
		for j := range w.Samples {
			require.Equal(t, w.Samples[j].Timestamp, g.Samples[j].Timestamp)
			require.Equal(t, math.Float64bits(w.Samples[j].Value), math.Float64bits(g.Samples[j].Value))
		}
		require.Equal(t, len(w.Histograms), len(g.Histograms))
		for j := range w.Histograms {
			wb, err := w.Histograms[j].Marshal()
			require.NoError(t, err)
			gb, err := g.Histograms[j].Marshal()
			require.NoError(t, err)
			require.Equal(t, wb, gb)
		}
	}
	require.Equal(t, len(want.Metadata), len(got.Metadata))
}

// stripUnknown drops the unknown fields the generated decoder keeps, so
// that re-encoding gives the canonical form.
func stripUnknown(req *prompb.WriteRequest) {
	req.XXX_unrecognized = nil
	for i := range req.Metadata {
		req.Metadata[i].XXX_unrecognized = nil
	}
	for i := range req.Timeseries {
		ts := &req.Timeseries[i]
		ts.XXX_unrecognized = nil
		ts.Exemplars = nil
		for j := range ts.Labels {
			ts.Labels[j].XXX_unrecognized = nil
		}
		for j := range ts.Samples {
			ts.Samples[j].XXX_unrecognized = nil
		}
		for j := range ts.Histograms {
			h := &ts.Histograms[j]
			h.XXX_unrecognized = nil
			for k := range h.PositiveSpans {
				h.PositiveSpans[k].XXX_unrecognized = nil
			}
			for k := range h.NegativeSpans {
				h.NegativeSpans[k].XXX_unrecognized = nil
			}
		}
	}
}
