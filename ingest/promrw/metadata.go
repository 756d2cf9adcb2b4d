package promrw

import (
	"strings"
	"sync"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/prompb"

	"github.com/meshscope/meshscope/schema"
)

// Metadata is what a metric family says about itself (# TYPE, # HELP,
// # UNIT; remote_write metadata).
type Metadata struct {
	Type model.MetricType
	Help string
	Unit string
}

// SeriesInfo is what a metric_series row says about a series besides its
// labels.
type SeriesInfo struct {
	// Type is a schema.Metric* constant.
	Type uint8
	// Temporality: 0 unspecified, 2 cumulative.
	Temporality uint8
	Monotonic   bool
	Help, Unit  string
}

const temporalityCumulative = 2

// InfoFor describes a series of plain samples named name, in a family with
// metadata md (zero when unknown). The series of a classic histogram or
// summary are plain samples too: _bucket and _count are counters, _sum a
// cumulative sum, quantiles gauges. Without metadata the name's suffix
// decides: _total, _bucket and _count are counters, _sum a cumulative sum,
// anything else a gauge.
func InfoFor(name string, md Metadata) SeriesInfo {
	info := SeriesInfo{Type: schema.MetricGauge, Help: md.Help, Unit: md.Unit}
	counter := func() {
		info.Type, info.Temporality, info.Monotonic = schema.MetricSum, temporalityCumulative, true
	}
	switch md.Type {
	case model.MetricTypeCounter:
		counter()
	case model.MetricTypeHistogram, model.MetricTypeSummary:
		switch {
		case strings.HasSuffix(name, "_bucket"), strings.HasSuffix(name, "_count"):
			counter()
		case strings.HasSuffix(name, "_sum"):
			info.Type, info.Temporality = schema.MetricSum, temporalityCumulative
		}
	case model.MetricTypeGauge, model.MetricTypeGaugeHistogram, model.MetricTypeInfo, model.MetricTypeStateset:
	default:
		switch {
		case strings.HasSuffix(name, "_total"), strings.HasSuffix(name, "_bucket"), strings.HasSuffix(name, "_count"):
			counter()
		case strings.HasSuffix(name, "_sum"):
			info.Type, info.Temporality = schema.MetricSum, temporalityCumulative
		}
	}
	return info
}

// nativeInfo describes a series of native histograms.
func nativeInfo(customBuckets, gauge bool, md Metadata) SeriesInfo {
	info := SeriesInfo{Type: schema.MetricExponentialHistogram, Help: md.Help, Unit: md.Unit}
	if customBuckets {
		info.Type = schema.MetricHistogram
	}
	if !gauge {
		info.Temporality, info.Monotonic = temporalityCumulative, true
	}
	return info
}

// familyOf returns the names under which a series' family may be known:
// the name itself, then without a histogram, summary or counter suffix.
func familyOf(name string) string {
	for _, suf := range [...]string{"_bucket", "_count", "_sum", "_total", "_created"} {
		if base, ok := strings.CutSuffix(name, suf); ok {
			return base
		}
	}
	return name
}

// maxFamilies bounds the metadata cache.
const maxFamilies = 1 << 16

// metadataCache keeps the metadata remote_write 1.0 sends apart from the
// samples (WriteRequest.metadata, every minute by default), to describe
// series rows written later.
type metadataCache struct {
	mu  sync.RWMutex
	fam map[string]Metadata
}

func newMetadataCache() *metadataCache {
	return &metadataCache{fam: make(map[string]Metadata)}
}

// add records the metadata of a request.
func (c *metadataCache) add(mds []prompb.MetricMetadata) {
	if len(mds) == 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, m := range mds {
		if m.MetricFamilyName == "" {
			continue
		}
		if len(c.fam) >= maxFamilies {
			if _, ok := c.fam[m.MetricFamilyName]; !ok {
				clear(c.fam)
			}
		}
		c.fam[m.MetricFamilyName] = Metadata{Type: v1Type(m.Type), Help: m.Help, Unit: m.Unit}
	}
}

// lookup returns the metadata of the family of a series name.
func (c *metadataCache) lookup(name string) Metadata {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if len(c.fam) == 0 {
		return Metadata{}
	}
	if md, ok := c.fam[name]; ok {
		return md
	}
	return c.fam[familyOf(name)]
}

// v1Type maps remote_write 1.0 metric types.
func v1Type(t prompb.MetricMetadata_MetricType) model.MetricType {
	switch t {
	case prompb.MetricMetadata_COUNTER:
		return model.MetricTypeCounter
	case prompb.MetricMetadata_GAUGE:
		return model.MetricTypeGauge
	case prompb.MetricMetadata_HISTOGRAM:
		return model.MetricTypeHistogram
	case prompb.MetricMetadata_GAUGEHISTOGRAM:
		return model.MetricTypeGaugeHistogram
	case prompb.MetricMetadata_SUMMARY:
		return model.MetricTypeSummary
	case prompb.MetricMetadata_INFO:
		return model.MetricTypeInfo
	case prompb.MetricMetadata_STATESET:
		return model.MetricTypeStateset
	}
	return model.MetricTypeUnknown
}
