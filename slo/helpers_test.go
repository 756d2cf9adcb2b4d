package slo

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/meshscope/meshscope/schema"
	"github.com/meshscope/meshscope/schema/chstore"
)

// clock is an injectable clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// traffic is one request a second (or every Every) from Source to
// Destination in [From, To); requests in [BadFrom, BadTo) answer 503 and
// carry a trace id.
type traffic struct {
	Source, Destination string
	From, To            time.Time
	Every               time.Duration
	BadFrom, BadTo      time.Time
}

// seed writes the traffic through chstore.Store.Write.
func seed(t testing.TB, st *chstore.Store, ts ...traffic) {
	t.Helper()
	ctx := context.Background()
	var b schema.Batch
	flush := func() {
		require.NoError(t, st.Write(ctx, &b))
		b.Reset()
	}
	for _, tr := range ts {
		every := tr.Every
		if every == 0 {
			every = time.Second
		}
		for at := tr.From; at.Before(tr.To); at = at.Add(every) {
			r := schema.RequestRow{
				StartUnixNano: uint64(at.UnixNano()), DurationNanos: uint64(5 * time.Millisecond), UpstreamServiceTimeNanos: -1,
				Reporter: "destination", Source: tr.Source, Destination: tr.Destination,
				Protocol: "HTTP/1.1", Method: "GET", Path: "/api/pay", ResponseCode: 200, GRPCStatus: -1,
			}
			if !at.Before(tr.BadFrom) && at.Before(tr.BadTo) {
				r.ResponseCode = 503
				u := uint64(at.Unix())
				for i := range 8 {
					r.TraceID[8+i] = byte(u >> (56 - 8*i))
				}
				r.TraceID[0] = 0x5a
			}
			b.Requests = append(b.Requests, r)
			if len(b.Requests) == 50_000 {
				flush()
			}
		}
	}
	flush()
}

// writeSpecs writes a spec file into a new directory and returns the directory.
func writeSpecs(t testing.TB, name, yaml string) string {
	t.Helper()
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(yaml), 0o644))
	return dir
}

// newEngine builds an engine on st with the clock and a fresh registry.
func newEngine(t testing.TB, cfg Config, st *chstore.Store, clk *clock) (*Engine, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	deps := Deps{Registerer: reg, Now: clk.Now, Logger: slog.New(slog.DiscardHandler)}
	if st != nil {
		deps.Store = func() Store { return st }
	}
	e, err := New(cfg, deps)
	require.NoError(t, err)
	return e, reg
}
