package meshmetrics

import (
	"context"
	"time"

	"github.com/meshscope/meshscope/ingest"
)

// Run emits, every interval until ctx ends, the deltas of groups whose
// assembly wait ran out while no samples came: Derive sweeps them only when
// it is called, and when a mesh's metrics stop (the last scrape of a
// workload, a paused Prometheus) nothing else would call it. The
// observations go to app without rows (the samples they come from are
// stored already); those app refuses are requeued for the next Derive.
func (d *Deriver) Run(ctx context.Context, interval time.Duration, app ingest.Appender) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		obs := d.Derive(nil, nil, nil)
		if len(obs) == 0 {
			continue
		}
		if err := app.Append(ctx, nil, obs); err != nil {
			d.Requeue(obs)
		}
	}
}
