package promrw

import (
	"errors"
	"fmt"
	"time"
)

// Config tunes the remote_write receiver. Zero fields take the defaults.
type Config struct {
	// MaxRequestBytes is the largest (snappy-compressed) body accepted;
	// larger requests get 413 (YAML max_request_bytes). Default 16 MiB.
	MaxRequestBytes int64 `yaml:"max_request_bytes"`
	// MaxDecodedBytes is the largest body after snappy decoding; larger
	// requests get 413 (YAML max_decoded_bytes). Default 64 MiB.
	MaxDecodedBytes int64 `yaml:"max_decoded_bytes"`
	// MaxLabelsPerSeries bounds the labels of a series, __name__ included
	// (YAML max_labels_per_series). Default 64.
	MaxLabelsPerSeries int `yaml:"max_labels_per_series"`
	// MaxLabelNameLength bounds a label name, in bytes (YAML
	// max_label_name_length). Default 1024.
	MaxLabelNameLength int `yaml:"max_label_name_length"`
	// MaxLabelValueLength bounds a label value, in bytes (YAML
	// max_label_value_length). Default 4096.
	MaxLabelValueLength int `yaml:"max_label_value_length"`
	// MaxNativeHistogramBuckets bounds the span of bucket indexes of a
	// native histogram, gaps included, once expanded into absolute counts
	// (YAML max_native_histogram_buckets). Default 16384.
	MaxNativeHistogramBuckets int `yaml:"max_native_histogram_buckets"`
	// MaxSeenSeries bounds the set of series ids whose metric_series row
	// this process has written; a series forgotten from it has its row
	// written again, which the table's ReplacingMergeTree absorbs (YAML
	// max_seen_series). Default 1000000.
	MaxSeenSeries int `yaml:"max_seen_series"`
	// RetryAfter is the Retry-After sent with 503 when the write-ahead log
	// is full (YAML retry_after). Default 5s.
	RetryAfter time.Duration `yaml:"retry_after"`
}

// Defaults.
const (
	DefaultMaxRequestBytes           = 16 << 20
	DefaultMaxDecodedBytes           = 64 << 20
	DefaultMaxLabelsPerSeries        = 64
	DefaultMaxLabelNameLength        = 1024
	DefaultMaxLabelValueLength       = 4096
	DefaultMaxNativeHistogramBuckets = 16384
	DefaultMaxSeenSeries             = 1_000_000
	DefaultRetryAfter                = 5 * time.Second
)

// withDefaults returns c with zero (and negative) fields set to defaults.
func (c Config) withDefaults() Config {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	if c.MaxRequestBytes <= 0 {
		c.MaxRequestBytes = DefaultMaxRequestBytes
	}
	if c.MaxDecodedBytes <= 0 {
		c.MaxDecodedBytes = DefaultMaxDecodedBytes
	}
	def(&c.MaxLabelsPerSeries, DefaultMaxLabelsPerSeries)
	def(&c.MaxLabelNameLength, DefaultMaxLabelNameLength)
	def(&c.MaxLabelValueLength, DefaultMaxLabelValueLength)
	def(&c.MaxNativeHistogramBuckets, DefaultMaxNativeHistogramBuckets)
	def(&c.MaxSeenSeries, DefaultMaxSeenSeries)
	if c.RetryAfter <= 0 {
		c.RetryAfter = DefaultRetryAfter
	}
	return c
}

// Validate reports invalid fields by their YAML keys. Zero values are
// valid: they stand for the defaults.
func (c Config) Validate() error {
	var errs []error
	neg := func(key string, v int64) {
		if v < 0 {
			errs = append(errs, fmt.Errorf("%s: %d is negative", key, v))
		}
	}
	neg("max_request_bytes", c.MaxRequestBytes)
	neg("max_decoded_bytes", c.MaxDecodedBytes)
	neg("max_labels_per_series", int64(c.MaxLabelsPerSeries))
	neg("max_label_name_length", int64(c.MaxLabelNameLength))
	neg("max_label_value_length", int64(c.MaxLabelValueLength))
	neg("max_native_histogram_buckets", int64(c.MaxNativeHistogramBuckets))
	neg("max_seen_series", int64(c.MaxSeenSeries))
	if c.RetryAfter < 0 {
		errs = append(errs, fmt.Errorf("retry_after: %v is negative", c.RetryAfter))
	}
	d := c.withDefaults()
	if d.MaxDecodedBytes < d.MaxRequestBytes {
		errs = append(errs, fmt.Errorf("max_decoded_bytes: %d is less than max_request_bytes (%d)", d.MaxDecodedBytes, d.MaxRequestBytes))
	}
	return errors.Join(errs...)
}

// limits are the per-series bounds of c.
func (c Config) limits() Limits {
	return Limits{
		MaxLabels:      c.MaxLabelsPerSeries,
		MaxNameLength:  c.MaxLabelNameLength,
		MaxValueLength: c.MaxLabelValueLength,
	}
}
