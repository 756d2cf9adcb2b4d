// Package stream is the websocket hub behind GET /api/v1/graph/stream: it
// reads the live graph (one subscription per granularity, one goroutine
// each), restricts it to each client's namespaces, and sends every client a
// snapshot and then one delta per tick, encoding each distinct message once.
// A client that reads too slowly is never waited for: its pending deltas are
// dropped and it gets a fresh snapshot when it catches up. The protocol is
// docs/websocket.md. It imports graph and must never be imported by graph/
// or ingest/.
package stream

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/gorilla/websocket"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/meshscope/meshscope/graph"
	"github.com/meshscope/meshscope/query/nsfilter"
)

// Hub serves the live graph stream. Create it with New and end it with
// Close; ServeHTTP upgrades one request to a websocket and returns when the
// connection ends.
type Hub struct {
	cfg      Config
	live     graph.Live
	log      *slog.Logger
	metrics  *metrics
	upgrader websocket.Upgrader

	mu      sync.Mutex
	closed  bool
	clients map[*client]struct{}
	pumps   map[graph.Granularity]*pump

	done    chan struct{}
	wg      sync.WaitGroup
	resyncs atomic.Uint64
}

// New starts a hub on live: it subscribes to every granularity at once. reg
// (may be nil) receives the hub's metrics; log may be nil.
func New(cfg Config, live graph.Live, reg prometheus.Registerer, log *slog.Logger) (*Hub, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if live == nil {
		return nil, errors.New("stream: no live graph")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	m, err := newMetrics(reg)
	if err != nil {
		return nil, err
	}
	h := &Hub{
		cfg: cfg, live: live, log: log, metrics: m,
		clients: map[*client]struct{}{},
		pumps:   map[graph.Granularity]*pump{},
		done:    make(chan struct{}),
	}
	h.upgrader = websocket.Upgrader{
		HandshakeTimeout:  cfg.WriteTimeout,
		CheckOrigin:       h.checkOrigin,
		EnableCompression: cfg.Compression,
		Error: func(w http.ResponseWriter, _ *http.Request, status int, reason error) {
			writeHTTPError(w, status, reason.Error(), "")
		},
	}
	for _, g := range graph.Granularities {
		p := &pump{hub: h, g: g, clients: map[*client]struct{}{}}
		h.pumps[g] = p
		ch, cancel := live.Subscribe(g, cfg.SubscribeBuffer)
		h.wg.Add(1)
		go p.run(ch, cancel)
	}
	return h, nil
}

// Stats are counters for tests and status pages.
type Stats struct {
	// Clients connected now.
	Clients int
	// Resyncs counts clients that fell behind and were sent a fresh snapshot.
	Resyncs uint64
}

// Stats returns the hub's counters.
func (h *Hub) Stats() Stats {
	h.mu.Lock()
	defer h.mu.Unlock()
	return Stats{Clients: len(h.clients), Resyncs: h.resyncs.Load()}
}

// checkOrigin allows requests without Origin (not from a browser), from the
// server's own host, and from the configured origins.
func (h *Hub) checkOrigin(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	u, err := url.Parse(origin)
	if err != nil {
		return false
	}
	if strings.EqualFold(u.Host, r.Host) {
		return true
	}
	for _, o := range h.cfg.AllowedOrigins {
		if o == "*" || strings.EqualFold(o, origin) {
			return true
		}
	}
	h.metrics.rejected.WithLabelValues("origin").Inc()
	return false
}

// ServeHTTP upgrades r to the stream. The query parameters granularity and
// namespace (comma separated) give the first subscription.
func (h *Hub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	g, ok := graph.ParseGranularity(q.Get("granularity"))
	if !ok {
		writeHTTPError(w, http.StatusBadRequest, fmt.Sprintf("unknown granularity %q: use service, workload or version", q.Get("granularity")), "granularity")
		return
	}
	set := nsfilter.Parse(q.Get("namespace"))
	h.mu.Lock()
	switch {
	case h.closed:
		h.mu.Unlock()
		writeHTTPError(w, http.StatusServiceUnavailable, "the server is shutting down", "")
		return
	case len(h.clients) >= h.cfg.MaxClients:
		h.mu.Unlock()
		h.metrics.rejected.WithLabelValues("max_clients").Inc()
		writeHTTPError(w, http.StatusServiceUnavailable, "too many stream clients", "")
		return
	}
	h.wg.Add(1)
	h.mu.Unlock()
	defer h.wg.Done()

	conn, err := h.upgrader.Upgrade(w, r, nil)
	if err != nil {
		return // the upgrader answered
	}
	c := newClient(h, conn)
	if !h.register(c, g, set) {
		_ = conn.Close()
		return
	}
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		if err := c.writeLoop(); err != nil {
			h.log.Debug("stream client write ended", "remote", conn.RemoteAddr().String(), "err", err)
		}
		c.close()
	}()
	c.readLoop()
	h.unregister(c)
	c.close()
}

func (h *Hub) register(c *client, g graph.Granularity, set nsfilter.Set) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return false
	}
	h.clients[c] = struct{}{}
	h.metrics.clients.Inc()
	h.subscribeLocked(c, g, set)
	return true
}

func (h *Hub) unregister(c *client) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.clients[c]; !ok {
		return
	}
	delete(h.clients, c)
	h.metrics.clients.Dec()
	if s := c.sub.Load(); s != nil {
		h.pumps[s.g].remove(c)
	}
}

// subscribe changes c's subscription; c then gets a fresh snapshot.
func (h *Hub) subscribe(c *client, g graph.Granularity, set nsfilter.Set) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.clients[c]; ok {
		h.subscribeLocked(c, g, set)
	}
}

func (h *Hub) subscribeLocked(c *client, g graph.Granularity, set nsfilter.Set) {
	var gen uint64
	if old := c.sub.Load(); old != nil {
		h.pumps[old.g].remove(c)
		gen = old.gen + 1
	}
	c.sub.Store(&subscription{g: g, set: set, gen: gen})
	h.pumps[g].add(c)
	c.needSnapshot()
}

// Close ends every connection (with close status 1001, going away) and the
// hub's subscriptions, and waits for all of the hub's goroutines.
func (h *Hub) Close() error {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return nil
	}
	h.closed = true
	close(h.done)
	clients := make([]*client, 0, len(h.clients))
	for c := range h.clients {
		clients = append(clients, c)
	}
	h.mu.Unlock()
	for _, c := range clients {
		c.goAway()
	}
	h.wg.Wait()
	return nil
}

func writeHTTPError(w http.ResponseWriter, status int, msg, field string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(struct {
		Error string `json:"error"`
		Field string `json:"field"`
	}{msg, field})
}

type metrics struct {
	clients  prometheus.Gauge
	messages *prometheus.CounterVec
	bytes    prometheus.Counter
	resyncs  prometheus.Counter
	rejected *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		clients: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "meshscope_stream_clients", Help: "Websocket graph stream clients connected.",
		}),
		messages: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "meshscope_stream_messages_total", Help: "Messages sent to graph stream clients, by type.",
		}, []string{"type"}),
		bytes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "meshscope_stream_sent_bytes_total", Help: "Bytes of snapshots and deltas sent to graph stream clients.",
		}),
		resyncs: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "meshscope_stream_resyncs_total", Help: "Times a slow graph stream client's pending deltas were dropped for a fresh snapshot.",
		}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "meshscope_stream_rejected_total", Help: "Graph stream connections refused, by reason.",
		}, []string{"reason"}),
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{m.clients, m.messages, m.bytes, m.resyncs, m.rejected} {
			if err := reg.Register(c); err != nil {
				return nil, fmt.Errorf("register stream metrics: %w", err)
			}
		}
	}
	return m, nil
}
