package envoy

import (
	"context"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/meshscope/meshscope/graph"
	"github.com/meshscope/meshscope/schema"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func contextWithCancel() (context.Context, context.CancelFunc) {
	return context.WithCancel(context.Background())
}

// testAppender records appended observations; it also guards a test clock
// shared with a running resolver.
type testAppender struct {
	mu  sync.Mutex
	obs []graph.Observation
}

func (a *testAppender) Append(_ context.Context, b *schema.Batch, obs []graph.Observation) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.obs = append(a.obs, obs...)
	return nil
}

func (a *testAppender) count() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.obs)
}

func (a *testAppender) now(c *testClock) time.Time {
	a.mu.Lock()
	defer a.mu.Unlock()
	return c.t
}

func (a *testAppender) advance(c *testClock, d time.Duration) {
	a.mu.Lock()
	defer a.mu.Unlock()
	c.advance(d)
}
