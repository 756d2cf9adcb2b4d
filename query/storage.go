package query

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/meshscope/meshscope/schema/chstore"
)

// tableStorageJSON is one table of GET /api/v1/storage.
type tableStorageJSON struct {
	Name              string     `json:"name"`
	Rows              uint64     `json:"rows"`
	BytesOnDisk       uint64     `json:"bytes_on_disk"`
	BytesUncompressed uint64     `json:"bytes_uncompressed"`
	BytesPerRow       float64    `json:"bytes_per_row"`
	Parts             uint64     `json:"parts"`
	Partitions        uint64     `json:"partitions"`
	Oldest            *time.Time `json:"oldest,omitempty"`
	Newest            *time.Time `json:"newest,omitempty"`
}

// GET /api/v1/storage: what each table holds on the server meshscope reads
// (its active parts; on a cluster, that node's shard): rows, bytes on disk
// and uncompressed, bytes a row, parts, partitions and the time its rows
// span, the largest first, with the total on disk. The SQL console shows
// it beside the tables.
func (s *Server) getStorage(c echo.Context) error {
	ctx, cancel, err := s.storeContext(c)
	if err != nil {
		return err
	}
	defer cancel()
	tables, err := s.deps.Store.Storage(ctx)
	if err != nil {
		return err
	}
	out := []tableStorageJSON{}
	var total uint64
	for _, t := range tables {
		j := tableStorageJSON{Name: t.Table, Rows: t.Rows, BytesOnDisk: t.BytesOnDisk, BytesUncompressed: t.BytesUncompressed, Parts: t.Parts, Partitions: t.Partitions}
		if t.Rows > 0 {
			j.BytesPerRow = float64(t.BytesOnDisk) / float64(t.Rows)
		}
		if !t.Oldest.IsZero() {
			j.Oldest, j.Newest = &t.Oldest, &t.Newest
		}
		total += t.BytesOnDisk
		out = append(out, j)
	}
	return c.JSON(http.StatusOK, map[string]any{"tables": out, "bytes_on_disk": total})
}

// storageRefresh is how long /metrics reuses what the tables hold before it
// asks ClickHouse again (system.parts, a few ms): scrapes every few
// seconds ask once.
const storageRefresh = 30 * time.Second

// storageCollector serves what each table holds on /metrics:
// meshscope_storage_bytes{table} (on disk) and meshscope_storage_rows{table},
// for alerts on disk use per table.
type storageCollector struct {
	store       *chstore.Store
	bytes, rows *prometheus.Desc

	mu     sync.Mutex
	at     time.Time
	tables []chstore.TableStorage
}

func newStorageCollector(store *chstore.Store) *storageCollector {
	return &storageCollector{
		store: store,
		bytes: prometheus.NewDesc("meshscope_storage_bytes", "Bytes on disk of a ClickHouse table's active parts on the server meshscope reads (on a cluster, that node's).", []string{"table"}, nil),
		rows:  prometheus.NewDesc("meshscope_storage_rows", "Rows of a ClickHouse table's active parts on the server meshscope reads.", []string{"table"}, nil),
	}
}

func (c *storageCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.bytes
	ch <- c.rows
}

// Collect asks ClickHouse at most every storageRefresh; when it cannot
// answer, the last answer stands (none before the first).
func (c *storageCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if time.Since(c.at) >= storageRefresh {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		tables, err := c.store.Storage(ctx)
		cancel()
		if err == nil {
			c.tables, c.at = tables, time.Now()
		}
	}
	for _, t := range c.tables {
		ch <- prometheus.MustNewConstMetric(c.bytes, prometheus.GaugeValue, float64(t.BytesOnDisk), t.Table)
		ch <- prometheus.MustNewConstMetric(c.rows, prometheus.GaugeValue, float64(t.Rows), t.Table)
	}
}
