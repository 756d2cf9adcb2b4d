package scrape

import (
	"bytes"
	"errors"
	"fmt"
	"net/url"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/meshscope/meshscope/ingest/promrw"
)

// Config lists what to scrape.
//
//	interval: 15s
//	targets:
//	  - url: http://10.0.0.7:15090/stats/prometheus   # Istio sidecar (Envoy)
//	    job: productpage
//	    labels: {namespace: bookinfo, pod: productpage-v1-6b746f74dc-9stlx}
//	  - url: http://10.0.0.8:4191/metrics             # Linkerd proxy
//	    interval: 10s
//	    labels: {namespace: emojivoto, deployment: web}
type Config struct {
	// Interval is the scrape interval of targets that set none (YAML
	// interval). Default 15s.
	Interval time.Duration `yaml:"interval"`
	// Targets are the endpoints to scrape (YAML targets).
	Targets []Target `yaml:"targets"`
	// MaxBodyBytes bounds the body of one scrape (YAML max_body_bytes).
	// Default 64 MiB.
	MaxBodyBytes int64 `yaml:"max_body_bytes"`
	// MaxSeenSeries bounds the set of series whose metric_series row was
	// written (YAML max_seen_series). Default 1000000.
	MaxSeenSeries int `yaml:"max_seen_series"`
	// MaxLabelsPerSeries, MaxLabelNameLength and MaxLabelValueLength bound
	// each series as the remote_write receiver does (YAML
	// max_labels_per_series, max_label_name_length,
	// max_label_value_length). Defaults 64, 1024, 4096.
	MaxLabelsPerSeries  int `yaml:"max_labels_per_series"`
	MaxLabelNameLength  int `yaml:"max_label_name_length"`
	MaxLabelValueLength int `yaml:"max_label_value_length"`
}

// Target is one endpoint exposing Prometheus text: an Envoy sidecar's
// /stats/prometheus, a Linkerd proxy's /metrics, any exporter.
type Target struct {
	// URL is the http or https address to scrape (YAML url).
	URL string `yaml:"url"`
	// Interval between scrapes (YAML interval); default Config.Interval.
	Interval time.Duration `yaml:"interval"`
	// Timeout of one scrape (YAML timeout); default the smaller of the
	// interval and 10s.
	Timeout time.Duration `yaml:"timeout"`
	// Job is the job label of every series (YAML job); default the URL's
	// host:port. It names the service of metric_series rows.
	Job string `yaml:"job"`
	// Labels are added to every series (YAML labels), such as namespace,
	// pod, app and version, which say which workload the target is.
	// A scraped label of the same name is kept as exported_<name>, as
	// Prometheus does without honor_labels.
	Labels map[string]string `yaml:"labels"`
}

// Defaults.
const (
	DefaultInterval     = 15 * time.Second
	DefaultTimeout      = 10 * time.Second
	DefaultMaxBodyBytes = 64 << 20
)

// ParseConfig reads a YAML configuration, rejecting unknown keys, and
// validates it.
func ParseConfig(data []byte) (Config, error) {
	var c Config
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil {
		return Config{}, fmt.Errorf("scrape config: %w", err)
	}
	if err := c.Validate(); err != nil {
		return Config{}, fmt.Errorf("scrape config: %w", err)
	}
	return c, nil
}

// Validate reports invalid fields by their YAML keys.
func (c Config) Validate() error {
	var errs []error
	if c.Interval < 0 {
		errs = append(errs, fmt.Errorf("interval: %v is negative", c.Interval))
	}
	if c.MaxBodyBytes < 0 {
		errs = append(errs, fmt.Errorf("max_body_bytes: %d is negative", c.MaxBodyBytes))
	}
	for _, f := range [...]struct {
		key string
		v   int
	}{
		{"max_seen_series", c.MaxSeenSeries},
		{"max_labels_per_series", c.MaxLabelsPerSeries},
		{"max_label_name_length", c.MaxLabelNameLength},
		{"max_label_value_length", c.MaxLabelValueLength},
	} {
		if f.v < 0 {
			errs = append(errs, fmt.Errorf("%s: %d is negative", f.key, f.v))
		}
	}
	seen := make(map[string]int)
	for i, t := range c.Targets {
		key := fmt.Sprintf("targets[%d]", i)
		u, err := url.Parse(t.URL)
		switch {
		case t.URL == "":
			errs = append(errs, fmt.Errorf("%s.url: missing", key))
		case err != nil:
			errs = append(errs, fmt.Errorf("%s.url: %w", key, err))
		case u.Scheme != "http" && u.Scheme != "https" || u.Host == "":
			errs = append(errs, fmt.Errorf("%s.url: %q is not an http(s) URL with a host", key, t.URL))
		}
		if j, dup := seen[t.URL]; dup {
			errs = append(errs, fmt.Errorf("%s.url: %q is also targets[%d]", key, t.URL, j))
		}
		seen[t.URL] = i
		if t.Interval < 0 {
			errs = append(errs, fmt.Errorf("%s.interval: %v is negative", key, t.Interval))
		}
		if t.Timeout < 0 {
			errs = append(errs, fmt.Errorf("%s.timeout: %v is negative", key, t.Timeout))
		}
		interval := t.Interval
		if interval == 0 {
			interval = c.withDefaults().Interval
		}
		if t.Timeout > interval {
			errs = append(errs, fmt.Errorf("%s.timeout: %v is longer than the interval (%v)", key, t.Timeout, interval))
		}
		for name := range t.Labels {
			if name == "" || name == "job" || name == "instance" || name == "__name__" {
				errs = append(errs, fmt.Errorf("%s.labels: %q cannot be set (job has its own key)", key, name))
			}
		}
	}
	return errors.Join(errs...)
}

// withDefaults fills zero fields, of c and of its targets.
func (c Config) withDefaults() Config {
	if c.Interval == 0 {
		c.Interval = DefaultInterval
	}
	if c.MaxBodyBytes == 0 {
		c.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if c.MaxSeenSeries == 0 {
		c.MaxSeenSeries = promrw.DefaultMaxSeenSeries
	}
	if c.MaxLabelsPerSeries == 0 {
		c.MaxLabelsPerSeries = promrw.DefaultMaxLabelsPerSeries
	}
	if c.MaxLabelNameLength == 0 {
		c.MaxLabelNameLength = promrw.DefaultMaxLabelNameLength
	}
	if c.MaxLabelValueLength == 0 {
		c.MaxLabelValueLength = promrw.DefaultMaxLabelValueLength
	}
	ts := make([]Target, len(c.Targets))
	for i, t := range c.Targets {
		if t.Interval == 0 {
			t.Interval = c.Interval
		}
		if t.Timeout == 0 {
			t.Timeout = min(t.Interval, DefaultTimeout)
		}
		if t.Job == "" {
			if u, err := url.Parse(t.URL); err == nil {
				t.Job = u.Host
			}
		}
		ts[i] = t
	}
	c.Targets = ts
	return c
}

// limits are the per-series bounds of c.
func (c Config) limits() promrw.Limits {
	return promrw.Limits{
		MaxLabels:      c.MaxLabelsPerSeries,
		MaxNameLength:  c.MaxLabelNameLength,
		MaxValueLength: c.MaxLabelValueLength,
	}
}
