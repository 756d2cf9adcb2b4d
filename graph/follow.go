package graph

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// FollowConfig configures LiveFromHistory.
type FollowConfig struct {
	// Window is the span of each published graph (default 1m).
	Window time.Duration `yaml:"window"`
	// Poll is how often the history is read (default 5s).
	Poll time.Duration `yaml:"poll"`
	// Lag is how far behind now the window ends, so that every replica
	// has flushed it (default 40s: the builders' default flush delay plus
	// one bucket). The window is aligned to 10 second buckets.
	Lag time.Duration `yaml:"lag"`
	// Timeout bounds one poll (default: Poll).
	Timeout time.Duration `yaml:"timeout"`
	// Logger for failed polls; nil discards.
	Logger *slog.Logger `yaml:"-"`
	// Now is the clock (default time.Now).
	Now func() time.Time `yaml:"-"`
}

// WithDefaults fills unset fields.
func (c FollowConfig) WithDefaults() FollowConfig {
	if c.Window == 0 {
		c.Window = time.Minute
	}
	if c.Poll == 0 {
		c.Poll = 5 * time.Second
	}
	if c.Lag == 0 {
		c.Lag = 40 * time.Second
	}
	if c.Timeout == 0 {
		c.Timeout = c.Poll
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// Validate checks a configuration after WithDefaults.
func (c FollowConfig) Validate() error {
	var errs []error
	if c.Window < BucketSeconds*time.Second || c.Window%(BucketSeconds*time.Second) != 0 {
		errs = append(errs, fmt.Errorf("window: %s must be a multiple of 10s", c.Window))
	}
	if c.Poll < 100*time.Millisecond {
		errs = append(errs, fmt.Errorf("poll: %s is below 100ms", c.Poll))
	}
	if c.Lag < 0 {
		errs = append(errs, fmt.Errorf("lag: %s is negative", c.Lag))
	}
	return errors.Join(errs...)
}

// HistoryFollower is the live view of a multi-replica deployment: each
// replica's builder flushes its partial buckets, and the follower publishes
// the graph of the last window read back from the history (ClickHouse sums
// the replicas), a few seconds behind. It implements Live.
type HistoryFollower struct {
	h   History
	cfg FollowConfig
	pub Publisher
}

// LiveFromHistory returns a follower of h; Run polls it. It panics on an
// invalid configuration (check cfg.WithDefaults().Validate() first).
func LiveFromHistory(h History, cfg FollowConfig) *HistoryFollower {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		panic(fmt.Sprintf("graph: invalid follow config: %v", err))
	}
	return &HistoryFollower{h: h, cfg: cfg}
}

// Run polls every Poll until ctx is done, then closes the subscriptions and
// returns nil. A failed poll is logged and retried at the next one.
func (f *HistoryFollower) Run(ctx context.Context) error {
	t := time.NewTicker(f.cfg.Poll)
	defer t.Stop()
	defer f.pub.Close()
	for {
		if err := f.PollOnce(ctx); err != nil && ctx.Err() == nil {
			f.cfg.Logger.Warn("graph: reading the live window from history failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// PollOnce reads the window ending Lag before now, at every granularity,
// and publishes it.
func (f *HistoryFollower) PollOnce(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, f.cfg.Timeout)
	defer cancel()
	now := f.cfg.Now()
	to := time.Unix(floorTo(now.Add(-f.cfg.Lag).Unix(), BucketSeconds), 0).UTC()
	from := to.Add(-f.cfg.Window)
	graphs := make([]*Graph, 0, len(Granularities))
	for _, g := range Granularities {
		gr, err := f.h.Range(ctx, RangeQuery{From: from, To: to, Granularity: g})
		if err != nil {
			return fmt.Errorf("follow history %s graph: %w", g, err)
		}
		graphs = append(graphs, gr)
	}
	for _, gr := range graphs {
		f.pub.Publish(gr, now)
	}
	return nil
}

// Latest returns the most recent tick for g, or nil before the first poll.
func (f *HistoryFollower) Latest(g Granularity) *Tick { return f.pub.Latest(g) }

// Subscribe returns a channel of every tick for g; see Live.
func (f *HistoryFollower) Subscribe(g Granularity, buffer int) (<-chan *Tick, func()) {
	return f.pub.Subscribe(g, buffer)
}

var _ Live = (*HistoryFollower)(nil)
