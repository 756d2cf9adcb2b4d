package graph

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// BucketSeconds is the width of the buckets flushed to edges_10s.
const BucketSeconds = 10

// PendingSpanBytes is the most memory a span waiting in the pairer's store
// for its other half holds (its entry, its key in the store's index, its
// strings), as TestPendingSpanMemory measures it: serve sizes the store's
// default bound by it.
const PendingSpanBytes = 420

// BuilderConfig configures the live graph builder. The zero value is usable:
// WithDefaults fills every unset field.
type BuilderConfig struct {
	// Window is the span of the live graph (default 1m): each tick
	// publishes the calls of the last Window, rates per second of it.
	Window time.Duration `yaml:"window"`
	// Horizon is how far back per-second buckets are kept (default: the
	// larger of Window and FlushDelay+10s). Observations older than it
	// are dropped and counted.
	Horizon time.Duration `yaml:"horizon"`
	// Tick is how often a snapshot and delta are published (default 1s).
	Tick time.Duration `yaml:"tick"`
	// SpanWait is how long a client or server span waits for its other
	// half before it is handled unpaired (default 10s).
	SpanWait time.Duration `yaml:"span_wait"`
	// MaxPendingSpans bounds the spans waiting for their other half
	// (default 100000), each holding up to PendingSpanBytes of memory;
	// spans beyond it are dropped and counted.
	MaxPendingSpans int `yaml:"max_pending_spans"`
	// MaxEdges bounds the live edges (default 200000, about 1.5 KB each
	// plus their per-second buckets): observations of new edges beyond it
	// are dropped and counted (reason edge_limit), so that a flood of
	// unique parties (scanners calling random external hosts) cannot
	// exhaust memory. Edges idle for the horizon are forgotten.
	MaxEdges int `yaml:"max_edges"`
	// FlushDelay is how long after a 10 second bucket ends it is flushed
	// to edges_10s (default 30s, at least SpanWait): observations for a
	// flushed bucket arrive too late and are dropped and counted.
	FlushDelay time.Duration `yaml:"flush_delay"`
	// FlushQueue is how many flush batches may wait for the writer
	// (default 8); beyond it a batch is dropped and counted.
	FlushQueue int `yaml:"flush_queue"`
	// FlushRetries is how many times a failed batch is written again
	// before it is dropped and counted (default 10: with the backoff from
	// 0.5s doubling up to 30s, a batch waits out about 2.5 minutes of
	// ClickHouse outage; meanwhile later batches queue up to FlushQueue).
	FlushRetries int `yaml:"flush_retries"`
	// ShutdownFlushTimeout bounds the final flush when Run ends (default 10s).
	ShutdownFlushTimeout time.Duration `yaml:"shutdown_flush_timeout"`
	// ProvenancePreference orders the inputs trusted when several saw the
	// same calls (default access log, span, metric); see provenance.go.
	ProvenancePreference []Provenance `yaml:"-"`
	// Health thresholds for node health.
	Health HealthConfig `yaml:"health"`
	// Shards is the number of independently locked edge tables (default
	// 64); more shards, less contention between observing goroutines.
	Shards int `yaml:"shards"`

	// Writer receives closed buckets; nil keeps no history.
	Writer EdgeWriter `yaml:"-"`
	// SnapshotPath, with a Writer, is the file that holds the buckets not
	// yet written, for a process that starts after a crash (snapshot.go);
	// empty keeps none.
	SnapshotPath string `yaml:"-"`
	// Registerer receives the builder's metrics; nil registers none.
	Registerer prometheus.Registerer `yaml:"-"`
	// Logger for flush failures and drops; nil discards.
	Logger *slog.Logger `yaml:"-"`
	// Now is the clock (default time.Now); tests set it.
	Now func() time.Time `yaml:"-"`
}

// WithDefaults returns c with every unset field set to its default.
func (c BuilderConfig) WithDefaults() BuilderConfig {
	if c.Window == 0 {
		c.Window = time.Minute
	}
	if c.Tick == 0 {
		c.Tick = time.Second
	}
	if c.SpanWait == 0 {
		c.SpanWait = 10 * time.Second
	}
	if c.MaxEdges == 0 {
		c.MaxEdges = 200_000
	}
	if c.MaxPendingSpans == 0 {
		c.MaxPendingSpans = 100_000
	}
	if c.FlushDelay == 0 {
		c.FlushDelay = max(30*time.Second, c.SpanWait)
	}
	if c.Horizon == 0 {
		c.Horizon = max(c.Window, c.FlushDelay+BucketSeconds*time.Second)
	}
	if c.FlushQueue == 0 {
		c.FlushQueue = 8
	}
	if c.FlushRetries == 0 {
		c.FlushRetries = 10
	}
	if c.ShutdownFlushTimeout == 0 {
		c.ShutdownFlushTimeout = 10 * time.Second
	}
	if len(c.ProvenancePreference) == 0 {
		c.ProvenancePreference = DefaultProvenancePreference
	}
	if c.Shards == 0 {
		c.Shards = 64
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// Validate checks a configuration after WithDefaults; errors name the YAML key.
func (c BuilderConfig) Validate() error {
	var errs []error
	if c.Window < time.Second || c.Window%time.Second != 0 {
		errs = append(errs, fmt.Errorf("window: %s must be a whole number of seconds, at least 1s", c.Window))
	}
	if c.Horizon < c.Window {
		errs = append(errs, fmt.Errorf("horizon: %s must be at least the window (%s)", c.Horizon, c.Window))
	}
	if c.Horizon > 24*time.Hour {
		errs = append(errs, fmt.Errorf("horizon: %s is above 24h", c.Horizon))
	}
	if c.Tick < 10*time.Millisecond {
		errs = append(errs, fmt.Errorf("tick: %s is below 10ms", c.Tick))
	}
	if c.SpanWait <= 0 {
		errs = append(errs, fmt.Errorf("span_wait: %s must be positive", c.SpanWait))
	}
	if c.MaxEdges < 0 {
		errs = append(errs, fmt.Errorf("max_edges: %d is negative", c.MaxEdges))
	}
	if c.MaxPendingSpans < 0 {
		errs = append(errs, fmt.Errorf("max_pending_spans: %d is negative", c.MaxPendingSpans))
	}
	if c.FlushDelay < c.SpanWait {
		errs = append(errs, fmt.Errorf("flush_delay: %s must be at least span_wait (%s), or unpaired spans arrive after their bucket was flushed", c.FlushDelay, c.SpanWait))
	}
	if c.Horizon < c.FlushDelay+BucketSeconds*time.Second {
		errs = append(errs, fmt.Errorf("horizon: %s must be at least flush_delay + 10s (%s)", c.Horizon, c.FlushDelay+BucketSeconds*time.Second))
	}
	if c.FlushQueue < 1 {
		errs = append(errs, fmt.Errorf("flush_queue: %d must be at least 1", c.FlushQueue))
	}
	if c.FlushRetries < 0 {
		errs = append(errs, fmt.Errorf("flush_retries: %d is negative", c.FlushRetries))
	}
	if c.Shards < 1 || c.Shards&(c.Shards-1) != 0 {
		errs = append(errs, fmt.Errorf("shards: %d must be a power of two", c.Shards))
	}
	if _, err := newPreference(c.ProvenancePreference); err != nil {
		errs = append(errs, err)
	}
	if err := c.Health.Validate(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}
