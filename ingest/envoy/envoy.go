// Package envoy turns Envoy access log entries, whatever carried them (the
// Access Log Service, OpenTelemetry access logs, text and JSON lines), into
// rows of the requests table and call observations. It decides who called
// whom from the emitting proxy, the upstream cluster names of every mesh,
// peer metadata and addresses learned from other entries, and counts a
// request logged by both sidecars once. The receivers in its sub-packages
// feed it; it must never import query/ nor any receiver.
package envoy

import (
	"context"
	"fmt"
	"hash/maphash"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/meshscope/meshscope/graph"
	"github.com/meshscope/meshscope/ingest"
	"github.com/meshscope/meshscope/schema"
)

// Config tunes a Resolver. The zero value is usable: every field has a
// default.
type Config struct {
	// Wait is how long the source side of a request to a meshed
	// destination waits for the destination side before it is counted on
	// its own (see the de-duplication rule in dedup.go). Default 5s.
	Wait time.Duration
	// MaxPending bounds the requests remembered for de-duplication; beyond
	// it entries are counted as they come (a request logged by both sides
	// may then count twice). Default 1,000,000 (about 70 MB when full).
	MaxPending int
	// AddressTTL is how long an address learned from other entries keeps
	// telling which workload sent a request. Default 10m.
	AddressTTL time.Duration
	// MaxAddresses bounds the learned addresses. Default 100,000.
	MaxAddresses int
	// Tick is how often Run releases source-side observations whose wait
	// is over. Default 1s.
	Tick time.Duration
	// Now is the clock; default time.Now.
	Now func() time.Time
	// Registerer receives the resolver's metrics; nil registers none.
	Registerer prometheus.Registerer
}

// Validate reports a setting out of range, naming its key.
func (c *Config) Validate() error {
	switch {
	case c.Wait < 0:
		return fmt.Errorf("wait %s: must not be negative", c.Wait)
	case c.MaxPending < 0:
		return fmt.Errorf("max_pending %d: must not be negative", c.MaxPending)
	case c.AddressTTL < 0:
		return fmt.Errorf("address_ttl %s: must not be negative", c.AddressTTL)
	case c.MaxAddresses < 0:
		return fmt.Errorf("max_addresses %d: must not be negative", c.MaxAddresses)
	case c.Tick < 0:
		return fmt.Errorf("tick %s: must not be negative", c.Tick)
	}
	return nil
}

func (c *Config) defaults() {
	if c.Wait == 0 {
		c.Wait = 5 * time.Second
	}
	if c.MaxPending == 0 {
		c.MaxPending = 1_000_000
	}
	if c.AddressTTL == 0 {
		c.AddressTTL = 10 * time.Minute
	}
	if c.MaxAddresses == 0 {
		c.MaxAddresses = 100_000
	}
	if c.Tick == 0 {
		c.Tick = time.Second
	}
	if c.Now == nil {
		c.Now = time.Now
	}
}

// Resolver resolves access log entries into rows and observations. It
// holds the state that spans entries, receivers and streams: addresses
// learned from entries, and the requests waiting for their other side. It
// is safe for concurrent use; one Resolver serves every receiver of a
// process, so that the two sides of a request meet whichever way they came.
type Resolver struct {
	cfg   Config
	seed  maphash.Seed
	addrs *addrBook
	dd    *dedup
	m     resolverMetrics

	clusterIDs  sync.Map // cluster name -> service node id of its destination
	nClusterIDs atomic.Int64
}

type resolverMetrics struct {
	calls   *prometheus.CounterVec
	pending prometheus.GaugeFunc
	addrs   prometheus.GaugeFunc

	emitted, held, released, cancelled, dropped, overflow prometheus.Counter
}

// NewResolver returns a resolver; call Run to release waiting observations
// when no entries arrive.
func NewResolver(cfg Config) (*Resolver, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.defaults()
	r := &Resolver{cfg: cfg, seed: maphash.MakeSeed()}
	r.addrs = newAddrBook(cfg.MaxAddresses, cfg.AddressTTL)
	r.dd = newDedup(cfg.MaxPending, cfg.Wait)
	r.m.calls = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "meshscope", Subsystem: "accesslog", Name: "dedup_total",
		Help: "Access log observations by de-duplication outcome: emitted (destination or unpaired), " +
			"held (source side waiting), released (source side after the wait), cancelled (source side " +
			"replaced by the destination), dropped (side already counted), overflow (pending map full).",
	}, []string{"outcome"})
	r.m.pending = prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Namespace: "meshscope", Subsystem: "accesslog", Name: "dedup_pending",
		Help: "Requests remembered for de-duplication.",
	}, func() float64 { return float64(r.dd.len()) })
	r.m.addrs = prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Namespace: "meshscope", Subsystem: "accesslog", Name: "learned_addresses",
		Help: "Addresses learned from access log entries and proxy metadata.",
	}, func() float64 { return float64(r.addrs.len()) })
	for _, c := range []struct {
		dst  *prometheus.Counter
		name string
	}{{&r.m.emitted, "emitted"}, {&r.m.held, "held"}, {&r.m.released, "released"},
		{&r.m.cancelled, "cancelled"}, {&r.m.dropped, "dropped"}, {&r.m.overflow, "overflow"}} {
		*c.dst = r.m.calls.WithLabelValues(c.name)
	}
	if cfg.Registerer != nil {
		if err := registerAll(cfg.Registerer, r.m.calls, r.m.pending, r.m.addrs); err != nil {
			return nil, err
		}
	}
	return r, nil
}

func registerAll(reg prometheus.Registerer, cs ...prometheus.Collector) error {
	for _, c := range cs {
		if err := reg.Register(c); err != nil {
			return fmt.Errorf("register access log metrics: %w", err)
		}
	}
	return nil
}

// Run releases, every Tick, the source-side observations whose wait is
// over, appending them (with an empty batch) through app, until ctx ends;
// then it releases every waiting observation and returns. Receivers also
// release due observations with every batch they settle, so Run matters
// when entries stop arriving.
func (r *Resolver) Run(ctx context.Context, app ingest.Appender) error {
	t := time.NewTicker(r.cfg.Tick)
	defer t.Stop()
	var obs []graph.Observation
	for {
		select {
		case <-ctx.Done():
			obs = r.Flush(obs[:0])
			if len(obs) > 0 {
				fctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				_ = app.Append(fctx, &schema.Batch{}, obs)
				cancel()
			}
			return nil
		case <-t.C:
			now := r.cfg.Now().UnixNano()
			obs = r.releaseDue(obs[:0], now)
			r.addrs.sweep(now)
			if len(obs) > 0 {
				// Observations are not durable: a refused append loses
				// them like any live-graph update during backpressure.
				_ = app.Append(ctx, &schema.Batch{}, obs)
			}
		}
	}
}

// Flush releases every waiting source-side observation now, appending them
// to dst, for a receiver that shuts down or an import that ended.
func (r *Resolver) Flush(dst []graph.Observation) []graph.Observation {
	n := len(dst)
	dst = r.dd.releaseAll(dst)
	r.m.released.Add(float64(len(dst) - n))
	return dst
}

func (r *Resolver) releaseDue(dst []graph.Observation, now int64) []graph.Observation {
	n := len(dst)
	dst = r.dd.release(dst, now)
	r.m.released.Add(float64(len(dst) - n))
	return dst
}
