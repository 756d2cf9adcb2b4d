package demo

import (
	"bytes"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// capture is an output that keeps copies of every batch.
type capture struct {
	alsBatches    []capturedALS
	lineBatches   []capturedLines
	exports       [][]byte
	logExports    [][]byte
	metricExports [][]byte
	writes        [][]byte // compressed
}

type capturedALS struct {
	pod     *Pod
	tcp     bool
	entries []byte
	n       int
}

type capturedLines struct {
	w    *Workload
	body []byte
	n    int
}

func (c *capture) als(pod *Pod, tcp bool, entries *[]byte, n int) {
	c.alsBatches = append(c.alsBatches, capturedALS{pod, tcp, bytes.Clone(*entries), n})
	putBuf(entries)
}

func (c *capture) lines(w *Workload, body *[]byte, n int) {
	c.lineBatches = append(c.lineBatches, capturedLines{w, bytes.Clone(*body), n})
	putBuf(body)
}

func (c *capture) traces(req *[]byte, _ int) {
	c.exports = append(c.exports, bytes.Clone(*req))
	putBuf(req)
}

func (c *capture) logs(req *[]byte, _ int) {
	c.logExports = append(c.logExports, bytes.Clone(*req))
	putBuf(req)
}

func (c *capture) otlpMetrics(req *[]byte, _ int) {
	c.metricExports = append(c.metricExports, bytes.Clone(*req))
	putBuf(req)
}

func (c *capture) remoteWrite(body *[]byte, _ int) {
	c.writes = append(c.writes, bytes.Clone(*body))
	putBuf(body)
}

// discard is an output that drops every batch.
type discard struct{}

func (discard) als(_ *Pod, _ bool, b *[]byte, _ int) { putBuf(b) }
func (discard) lines(_ *Workload, b *[]byte, _ int)  { putBuf(b) }
func (discard) traces(b *[]byte, _ int)              { putBuf(b) }
func (discard) logs(b *[]byte, _ int)                { putBuf(b) }
func (discard) otlpMetrics(b *[]byte, _ int)         { putBuf(b) }
func (discard) remoteWrite(b *[]byte, _ int)         { putBuf(b) }

// testConfig is a small, fast configuration.
func testConfig() Config {
	cfg := DefaultConfig()
	cfg.Services = 40
	cfg.Seed = 7
	cfg.TraceSample = 1
	return cfg.withDefaults()
}

// newTestGenerator builds a generator of cfg writing into out.
func newTestGenerator(t testing.TB, cfg Config, out output) (*generator, *Topology) {
	t.Helper()
	topo, err := NewTopology(cfg.Services, cfg.Seed, cfg.Scenario)
	require.NoError(t, err)
	g, err := newGenerator(topo, cfg, out, &counters{start: time.Now()}, nil)
	require.NoError(t, err)
	return g, topo
}

// generateAll runs n request trees and flushes everything into out.
func generateAll(g *generator, n int, now time.Time) {
	for range n {
		g.request(now.UnixNano())
	}
	g.flush()
	g.pushMetrics(now)
}
