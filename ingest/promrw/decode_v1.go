package promrw

import (
	"errors"
	"fmt"
	"math"
	"unsafe"

	"github.com/prometheus/prometheus/prompb"
	"google.golang.org/protobuf/encoding/protowire"
)

// unmarshalV1 decodes a prometheus.WriteRequest into req, reusing req's
// slices. Label names and values are not copied: they point into raw,
// which must never be modified afterwards (decode gives every request a
// buffer of its own). Native histograms and metadata, rare, go through the
// generated decoders; exemplars are skipped, as the receiver does not keep
// them. It decodes what the generated code would, without one allocation
// per label string.
func unmarshalV1(req *prompb.WriteRequest, raw []byte) error {
	series := req.Timeseries[:0]
	req.Metadata = req.Metadata[:0]
	b := raw
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return fmt.Errorf("WriteRequest: %w", protowire.ParseError(n))
		}
		b = b[n:]
		switch {
		case num == 1 && typ == protowire.BytesType:
			msg, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return fmt.Errorf("WriteRequest.timeseries: %w", protowire.ParseError(n))
			}
			b = b[n:]
			if len(series) < cap(series) {
				series = series[:len(series)+1]
			} else {
				series = append(series, prompb.TimeSeries{})
			}
			ts := &series[len(series)-1]
			if err := unmarshalSeries(ts, msg); err != nil {
				req.Timeseries = series
				return fmt.Errorf("WriteRequest.timeseries[%d]: %w", len(series)-1, err)
			}
		case num == 3 && typ == protowire.BytesType:
			msg, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return fmt.Errorf("WriteRequest.metadata: %w", protowire.ParseError(n))
			}
			b = b[n:]
			req.Metadata = append(req.Metadata, prompb.MetricMetadata{})
			if err := req.Metadata[len(req.Metadata)-1].Unmarshal(msg); err != nil {
				return fmt.Errorf("WriteRequest.metadata: %w", err)
			}
		case num == 1 || num == 3:
			return fmt.Errorf("WriteRequest: field %d has wire type %d", num, typ)
		default:
			if n = protowire.ConsumeFieldValue(num, typ, b); n < 0 {
				return fmt.Errorf("WriteRequest field %d: %w", num, protowire.ParseError(n))
			}
			b = b[n:]
		}
	}
	req.Timeseries = series
	return nil
}

// unmarshalSeries decodes a prometheus.TimeSeries into ts, reusing its
// slices.
func unmarshalSeries(ts *prompb.TimeSeries, b []byte) error {
	ts.Labels, ts.Samples = ts.Labels[:0], ts.Samples[:0]
	clear(ts.Histograms)
	ts.Histograms, ts.Exemplars = ts.Histograms[:0], nil
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return protowire.ParseError(n)
		}
		b = b[n:]
		if num >= 1 && num <= 4 && typ != protowire.BytesType {
			return fmt.Errorf("field %d has wire type %d", num, typ)
		}
		var msg []byte
		if typ == protowire.BytesType {
			msg, n = protowire.ConsumeBytes(b)
		} else {
			n = protowire.ConsumeFieldValue(num, typ, b)
		}
		if n < 0 {
			return fmt.Errorf("field %d: %w", num, protowire.ParseError(n))
		}
		b = b[n:]
		switch num {
		case 1:
			l, err := unmarshalLabel(msg)
			if err != nil {
				return fmt.Errorf("labels[%d]: %w", len(ts.Labels), err)
			}
			ts.Labels = append(ts.Labels, l)
		case 2:
			s, err := unmarshalSample(msg)
			if err != nil {
				return fmt.Errorf("samples[%d]: %w", len(ts.Samples), err)
			}
			ts.Samples = append(ts.Samples, s)
		case 4:
			ts.Histograms = append(ts.Histograms, prompb.Histogram{})
			if err := ts.Histograms[len(ts.Histograms)-1].Unmarshal(msg); err != nil {
				return fmt.Errorf("histograms[%d]: %w", len(ts.Histograms)-1, err)
			}
		}
	}
	return nil
}

// unmarshalLabel decodes a prometheus.Label; its strings alias b.
func unmarshalLabel(b []byte) (prompb.Label, error) {
	var l prompb.Label
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return l, protowire.ParseError(n)
		}
		b = b[n:]
		if (num == 1 || num == 2) && typ != protowire.BytesType {
			return l, fmt.Errorf("field %d has wire type %d", num, typ)
		}
		if typ != protowire.BytesType {
			if n = protowire.ConsumeFieldValue(num, typ, b); n < 0 {
				return l, protowire.ParseError(n)
			}
			b = b[n:]
			continue
		}
		v, n := protowire.ConsumeBytes(b)
		if n < 0 {
			return l, protowire.ParseError(n)
		}
		b = b[n:]
		switch num {
		case 1:
			l.Name = aliasString(v)
		case 2:
			l.Value = aliasString(v)
		}
	}
	return l, nil
}

// unmarshalSample decodes a prometheus.Sample.
func unmarshalSample(b []byte) (prompb.Sample, error) {
	var s prompb.Sample
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return s, protowire.ParseError(n)
		}
		b = b[n:]
		switch {
		case num == 1 && typ == protowire.Fixed64Type:
			v, n := protowire.ConsumeFixed64(b)
			if n < 0 {
				return s, protowire.ParseError(n)
			}
			s.Value, b = math.Float64frombits(v), b[n:]
		case num == 2 && typ == protowire.VarintType:
			v, n := protowire.ConsumeVarint(b)
			if n < 0 {
				return s, protowire.ParseError(n)
			}
			s.Timestamp, b = int64(v), b[n:]
		case num == 1 || num == 2:
			return s, errors.New("value or timestamp of the wrong wire type")
		default:
			if n = protowire.ConsumeFieldValue(num, typ, b); n < 0 {
				return s, protowire.ParseError(n)
			}
			b = b[n:]
		}
	}
	return s, nil
}

// aliasString returns b as a string without copying; b must never change.
func aliasString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}
