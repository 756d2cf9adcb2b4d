package demo

import (
	"context"
	"time"
)

// tick is how often the generator makes the requests due.
const tick = 20 * time.Millisecond

// Run generates the mesh of cfg and sends its telemetry to meshscope until
// ctx ends or cfg.Duration has passed (counted from the call, so it
// includes waiting for the server). It first waits for the server to
// answer, then generates at cfg.Rate. It returns an error only for a bad
// configuration: the server being down, slow or refusing data is logged,
// counted and retried, never fatal. When it returns, every goroutine it
// started has ended.
func Run(ctx context.Context, cfg Config) error {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return err
	}
	base, err := httpBase(cfg.ServerHTTP)
	if err != nil {
		return err
	}
	t, err := NewTopology(cfg.Services, cfg.Seed, cfg.Scenario)
	if err != nil {
		return err
	}
	cnt := &counters{start: time.Now()}
	als, err := newALSEncoder(t)
	if err != nil {
		return err
	}
	snd, err := newSender(cfg, base, als, cnt)
	if err != nil {
		return err
	}
	g, err := newGenerator(t, cfg, snd, cnt, als)
	if err != nil {
		snd.close(0)
		return err
	}
	g.reseed(uint64(cnt.start.UnixNano()))

	log := cfg.Logger
	attrs := []any{"services", len(t.Services), "pods", len(t.Pods), "calls", len(t.Calls),
		"calls_per_request", round2(t.CallsPerRequest), "rate", cfg.Rate,
		"root_rate", round2(cfg.Rate / t.CallsPerRequest), "scenario", cfg.Scenario,
		"text_namespace", t.TextNamespace, "server_http", base, "server_grpc", cfg.ServerGRPC}
	if sc := t.Scenario; sc.Target != nil {
		attrs = append(attrs, "scenario_target", sc.Target.ID(), "scenario_start", sc.Start(cfg.ScenarioPeriod))
	}
	log.Info("demo: mesh generated", attrs...)

	if cfg.Duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, cfg.Duration)
		defer cancel()
	}
	if !waitReady(ctx, cfg, base) {
		snd.close(0)
		progress(cfg, cnt.snapshot(), "demo: done")
		return nil
	}
	ticker := time.NewTicker(tick)
	defer ticker.Stop()
	start := time.Now()
	cnt.start = start
	last := start
	nextFlush := start.Add(cfg.FlushInterval)
	nextMetrics := start.Add(cfg.MetricsInterval)
	nextProgress := start.Add(cfg.ProgressInterval)
	for done := false; !done; {
		select {
		case <-ctx.Done():
			done = true
		case now := <-ticker.C:
			g.setElapsed(now.Sub(start))
			g.generate(now, now.Sub(last))
			last = now
			if !now.Before(nextFlush) {
				g.flush()
				nextFlush = now.Add(cfg.FlushInterval)
			}
			if !now.Before(nextMetrics) {
				g.pushMetrics(now)
				nextMetrics = now.Add(cfg.MetricsInterval)
			}
			if !now.Before(nextProgress) {
				progress(cfg, cnt.snapshot(), "demo: progress")
				nextProgress = now.Add(cfg.ProgressInterval)
			}
		}
	}
	g.flush()
	g.pushMetrics(time.Now())
	snd.close(cfg.DrainTimeout)
	progress(cfg, cnt.snapshot(), "demo: done")
	return nil
}

func progress(cfg Config, s Stats, msg string) {
	s.log(cfg.Logger, msg)
	if cfg.Progress != nil {
		cfg.Progress(s)
	}
}

func round2(v float64) float64 { return float64(int64(v*100+0.5)) / 100 }
