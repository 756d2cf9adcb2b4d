package meshmetrics

import (
	"errors"
	"fmt"
	"time"
)

// Config tunes a Deriver. The zero value is usable: New fills in defaults.
type Config struct {
	// MaxSeries bounds the series whose last values are kept (YAML
	// max_series). Series beyond it are not tracked and yield no
	// observations; Stats counts them. Default 500000.
	MaxSeries int `yaml:"max_series"`
	// Expiry forgets a series that has had no sample for this long, wall
	// clock (YAML expiry). It should exceed the slowest scrape or push
	// interval. Default 15m.
	Expiry time.Duration `yaml:"expiry"`
	// AssemblyWait is how long the samples of one scrape of a call group
	// (a counter, its latency buckets, its byte sums) may keep arriving,
	// wall clock, before the group's delta is emitted without the
	// stragglers (YAML assembly_wait). Prometheus spreads one scrape over
	// several remote_write requests. Default 10s.
	AssemblyWait time.Duration `yaml:"assembly_wait"`
	// SampleSpread is how far apart in sample time the points of one
	// collection of a call group may be (YAML sample_spread): a Prometheus
	// scrape stamps every series alike, an OpenTelemetry SDK stamps each
	// instrument as it collects it, microseconds apart. It must be shorter
	// than the shortest scrape or export interval. Default 500ms.
	SampleSpread time.Duration `yaml:"sample_spread"`
	// CountFirstSample makes the first sample of a cumulative series count
	// in full, as if the counter had been zero before (YAML
	// count_first_sample). By default the first sample only sets the
	// baseline: a counter seen for the first time may have counted since
	// its process started, long before.
	CountFirstSample bool `yaml:"count_first_sample"`
	// MaxRequeued bounds the observations kept by Requeue for the next
	// Derive (YAML max_requeued). Default 100000.
	MaxRequeued int `yaml:"max_requeued"`
}

// Defaults.
const (
	DefaultMaxSeries    = 500_000
	DefaultExpiry       = 15 * time.Minute
	DefaultAssemblyWait = 10 * time.Second
	DefaultSampleSpread = 500 * time.Millisecond
	DefaultMaxRequeued  = 100_000
)

// withDefaults returns c with zero fields set to their defaults.
func (c Config) withDefaults() Config {
	if c.MaxSeries == 0 {
		c.MaxSeries = DefaultMaxSeries
	}
	if c.Expiry == 0 {
		c.Expiry = DefaultExpiry
	}
	if c.AssemblyWait == 0 {
		c.AssemblyWait = DefaultAssemblyWait
	}
	if c.SampleSpread == 0 {
		c.SampleSpread = DefaultSampleSpread
	}
	if c.MaxRequeued == 0 {
		c.MaxRequeued = DefaultMaxRequeued
	}
	return c
}

// Validate reports the first invalid field, by its YAML key. Zero values
// are valid: they stand for the defaults.
func (c Config) Validate() error {
	var errs []error
	if c.MaxSeries < 0 {
		errs = append(errs, fmt.Errorf("max_series: %d is negative", c.MaxSeries))
	}
	if c.Expiry < 0 {
		errs = append(errs, fmt.Errorf("expiry: %v is negative", c.Expiry))
	}
	if c.AssemblyWait < 0 {
		errs = append(errs, fmt.Errorf("assembly_wait: %v is negative", c.AssemblyWait))
	}
	if c.SampleSpread < 0 {
		errs = append(errs, fmt.Errorf("sample_spread: %v is negative", c.SampleSpread))
	}
	d := c.withDefaults()
	if d.SampleSpread >= d.AssemblyWait {
		errs = append(errs, fmt.Errorf("sample_spread: %v must be shorter than assembly_wait (%v)", d.SampleSpread, d.AssemblyWait))
	}
	if d.AssemblyWait >= d.Expiry {
		errs = append(errs, fmt.Errorf("assembly_wait: %v must be shorter than expiry (%v)", d.AssemblyWait, d.Expiry))
	}
	if c.MaxRequeued < 0 {
		errs = append(errs, fmt.Errorf("max_requeued: %d is negative", c.MaxRequeued))
	}
	return errors.Join(errs...)
}
