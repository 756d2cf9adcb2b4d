package promrw

import (
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/cespare/xxhash/v2"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/meshscope/meshscope/ingest"
)

// Limits bound what one series may carry.
type Limits struct {
	// MaxLabels bounds the number of labels, __name__ included.
	MaxLabels int
	// MaxNameLength and MaxValueLength bound a label's name and value, in
	// bytes.
	MaxNameLength, MaxValueLength int
}

// Reasons for rejected input, as counted in ingest.Metrics.Rejected.
const (
	ReasonBadContentType    = "bad_content_type"
	ReasonBadEncoding       = "bad_encoding"
	ReasonTooLarge          = "too_large"
	ReasonReadError         = "read_error"
	ReasonBadSnappy         = "bad_snappy"
	ReasonBadProtobuf       = "bad_protobuf"
	ReasonMissingMetricName = "missing_metric_name"
	ReasonInvalidLabelName  = "invalid_label_name"
	ReasonInvalidLabelValue = "invalid_label_value"
	ReasonDuplicateLabel    = "duplicate_label"
	ReasonLabelLimit        = "label_limit"
	ReasonBadSymbolRef      = "bad_symbol_ref"
	ReasonOutOfOrder        = "out_of_order"
	ReasonDuplicateSample   = "duplicate_sample"
	ReasonBadTimestamp      = "bad_timestamp"
	ReasonBadHistogram      = "bad_histogram"
	ReasonBackpressure      = "backpressure"
	ReasonAppendFailed      = "append_failed"
)

// NormalizeLabels sorts ls by name and drops labels with empty values,
// which Prometheus treats as absent. It reuses ls.
func NormalizeLabels(ls []labels.Label) []labels.Label {
	ls = slices.DeleteFunc(ls, func(l labels.Label) bool { return l.Value == "" })
	if !slices.IsSortedFunc(ls, compareNames) {
		slices.SortStableFunc(ls, compareNames)
	}
	return ls
}

func compareNames(a, b labels.Label) int { return strings.Compare(a.Name, b.Name) }

// CheckLabels validates a normalized label set: a metric name, valid
// UTF-8 names and values (the validation Prometheus 3 applies), no
// duplicate names, and the limits. The error names the series and the
// offending label.
func CheckLabels(ls []labels.Label, lim Limits) *ingest.InputError {
	name := metricName(ls)
	if name == "" {
		return ingest.BadInput(ReasonMissingMetricName, "labels", "series %s has no metric name (__name__)", seriesString(ls))
	}
	if len(ls) > lim.MaxLabels {
		return ingest.BadInput(ReasonLabelLimit, "labels", "series %s has %d labels, more than max_labels_per_series (%d)",
			seriesString(ls), len(ls), lim.MaxLabels)
	}
	for i, l := range ls {
		switch {
		case l.Name == "":
			return ingest.BadInput(ReasonInvalidLabelName, "labels", "series %s has a label with an empty name", seriesString(ls))
		case !utf8.ValidString(l.Name):
			return ingest.BadInput(ReasonInvalidLabelName, "labels", "series %s: label name %q is not valid UTF-8", seriesString(ls), l.Name)
		case len(l.Name) > lim.MaxNameLength:
			return ingest.BadInput(ReasonLabelLimit, "labels", "series %s: label name %.64q... is %d bytes, more than max_label_name_length (%d)",
				seriesString(ls), l.Name, len(l.Name), lim.MaxNameLength)
		case !utf8.ValidString(l.Value):
			return ingest.BadInput(ReasonInvalidLabelValue, "labels", "series %s: value of label %q is not valid UTF-8", seriesString(ls), l.Name)
		case len(l.Value) > lim.MaxValueLength:
			return ingest.BadInput(ReasonLabelLimit, "labels", "series %s: value of label %q is %d bytes, more than max_label_value_length (%d)",
				seriesString(ls), l.Name, len(l.Value), lim.MaxValueLength)
		case i > 0 && ls[i-1].Name == l.Name:
			return ingest.BadInput(ReasonDuplicateLabel, "labels", "series %s: label %q appears twice", seriesString(ls), l.Name)
		}
	}
	return nil
}

// metricName returns the value of __name__.
func metricName(ls []labels.Label) string {
	for _, l := range ls {
		if l.Name == labels.MetricName {
			return l.Value
		}
	}
	return ""
}

// SeriesID is the stable id of a series: the 64-bit xxhash of its sorted
// label names and values (the metric name included), each followed by
// 0xff. The same series has the same id in every meshscope process and
// version, whether it came by remote_write or by scraping.
func SeriesID(ls []labels.Label) uint64 {
	buf := make([]byte, 0, 1024)
	for _, l := range ls {
		buf = append(buf, l.Name...)
		buf = append(buf, 0xff)
		buf = append(buf, l.Value...)
		buf = append(buf, 0xff)
	}
	return xxhash.Sum64(buf)
}

// seriesString prints a series for an error message, shortened.
func seriesString(ls []labels.Label) string {
	const maxLen = 240
	var b strings.Builder
	b.WriteString(metricName(ls))
	b.WriteByte('{')
	n := 0
	for _, l := range ls {
		if l.Name == labels.MetricName {
			continue
		}
		if b.Len() > maxLen {
			b.WriteString(",...")
			break
		}
		if n > 0 {
			b.WriteByte(',')
		}
		n++
		b.WriteString(strings.ToValidUTF8(l.Name, "\uFFFD"))
		b.WriteString(`="`)
		v := strings.ToValidUTF8(l.Value, "\uFFFD")
		if len(v) > 64 {
			v = v[:64] + "..."
		}
		b.WriteString(v)
		b.WriteByte('"')
	}
	b.WriteByte('}')
	return b.String()
}
