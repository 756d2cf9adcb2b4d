package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"time"

	"github.com/meshscope/meshscope/graph"
	"github.com/meshscope/meshscope/graph/edgestore"
	"github.com/meshscope/meshscope/schema/chlocal"
	"github.com/meshscope/meshscope/schema/chstore"
)

// storeHolder connects to ClickHouse in the background and keeps retrying,
// so that receivers accept data (into the write-ahead log) while ClickHouse
// is still starting or down.
type storeHolder struct {
	mu    sync.RWMutex
	store *chstore.Store
	edges *edgestore.Store
	ready chan struct{}
	// edgeConfig configures the edge store made once connected.
	edgeConfig edgestore.Config
}

func newStoreHolder() *storeHolder { return &storeHolder{ready: make(chan struct{})} }

func (h *storeHolder) get() *chstore.Store {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return h.store
}

var errNotConnected = errors.New("clickhouse not connected yet")

// WriteColumns implements pipeline.ColumnWriter.
func (h *storeHolder) WriteColumns(ctx context.Context, c *chstore.Columns) error {
	st := h.get()
	if st == nil {
		return errNotConnected
	}
	return st.WriteColumns(ctx, c)
}

// connect opens and migrates the store, retrying until ctx ends.
func (h *storeHolder) connect(ctx context.Context, cfg chstore.Config, log *slog.Logger) {
	backoff := 200 * time.Millisecond
	for {
		st, err := openAndMigrate(ctx, cfg)
		if err == nil {
			h.mu.Lock()
			h.store = st
			h.edges = edgestore.New(st, h.edgeConfig)
			h.mu.Unlock()
			close(h.ready)
			log.Info("clickhouse ready", "version", st.Version().String(), "database", st.Database())
			return
		}
		log.Warn("clickhouse not available; retrying", "err", err, "backoff", backoff)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 10*time.Second)
	}
}

func openAndMigrate(ctx context.Context, cfg chstore.Config) (*chstore.Store, error) {
	st, err := chstore.Open(ctx, cfg)
	if err != nil {
		return nil, err
	}
	if _, err := st.Migrate(ctx); err != nil {
		st.Close()
		return nil, err
	}
	return st, nil
}

func (h *storeHolder) edgeStore() (*edgestore.Store, error) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	if h.edges == nil {
		return nil, errNotConnected
	}
	return h.edges, nil
}

// WriteEdges implements graph.EdgeWriter (failed writes are retried by the
// builder).
func (h *storeHolder) WriteEdges(ctx context.Context, rows []graph.EdgeRow) error {
	es, err := h.edgeStore()
	if err != nil {
		return err
	}
	return es.WriteEdges(ctx, rows)
}

// Range implements graph.History.
func (h *storeHolder) Range(ctx context.Context, q graph.RangeQuery) (*graph.Graph, error) {
	es, err := h.edgeStore()
	if err != nil {
		return nil, err
	}
	return es.Range(ctx, q)
}

// Series implements graph.SeriesReader.
func (h *storeHolder) Series(ctx context.Context, q graph.SeriesQuery) (*graph.Series, error) {
	es, err := h.edgeStore()
	if err != nil {
		return nil, err
	}
	return es.Series(ctx, q)
}

// Deployments implements graph.DeploymentReader.
func (h *storeHolder) Deployments(ctx context.Context, q graph.DeploymentsQuery) ([]graph.Deployment, error) {
	es, err := h.edgeStore()
	if err != nil {
		return nil, err
	}
	return es.Deployments(ctx, q)
}

// ready reports whether ClickHouse answers and the schema is current.
func (h *storeHolder) readyCheck(ctx context.Context) error {
	st := h.get()
	if st == nil {
		return errNotConnected
	}
	if err := st.Ping(ctx); err != nil {
		return fmt.Errorf("clickhouse ping: %w", err)
	}
	ok, err := st.Current(ctx)
	if err != nil {
		return err
	}
	if !ok {
		return errors.New("schema migrations pending")
	}
	return nil
}

// clickhouseDSN returns the DSN to use: the given one, or that of a private
// server started under dataDir (returned so the caller stops it).
func clickhouseDSN(ctx context.Context, given, dataDir string, log *slog.Logger) (string, *chlocal.Server, error) {
	if given != "" {
		return given, nil, nil
	}
	srv, err := chlocal.Start(ctx, chlocal.Options{Dir: filepath.Join(dataDir, "clickhouse"), Logger: log})
	if err != nil {
		return "", nil, fmt.Errorf("managed clickhouse: %w", err)
	}
	return srv.DSN("meshscope"), srv, nil
}

// warmLiveGraph hands the builder, once ClickHouse is ready, the edge
// buckets flushed during the window before start (by a previous run of
// this server), so that a restart does not empty the live graph.
func (h *storeHolder) warmLiveGraph(ctx context.Context, b *graph.Builder, window time.Duration, start time.Time, log *slog.Logger) {
	select {
	case <-h.ready:
	case <-ctx.Done():
		return
	}
	es, err := h.edgeStore()
	if err != nil {
		return
	}
	n, err := es.Buckets(ctx, start.Add(-window), start, b.Warm)
	if err != nil {
		log.Warn("live graph: could not read the last window's edges; it may start without them", "err", err)
		return
	}
	if n > 0 {
		log.Info("live graph: showing the edges flushed before the start until the window passes them", "buckets", n)
	}
}
