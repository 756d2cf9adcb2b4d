package stream

import (
	"encoding/json"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"github.com/meshscope/meshscope/graph"
	"github.com/meshscope/meshscope/query/nsfilter"
)

// subscription is what a client asked for. gen grows with every change, so
// that messages queued for an older subscription are recognised and dropped.
type subscription struct {
	g   graph.Granularity
	set nsfilter.Set
	gen uint64
}

type queued struct {
	f   *frame
	gen uint64
}

// client is one websocket connection. Its reader runs in the goroutine of
// ServeHTTP and its writer in its own; only the writer writes data messages.
type client struct {
	hub  *Hub
	conn *websocket.Conn
	sub  atomic.Pointer[subscription]

	// queue holds the messages waiting for the writer; it is bounded, and
	// the pump never blocks on it.
	queue chan queued
	// resync asks the writer for a fresh snapshot instead of the queue.
	resync atomic.Bool
	// wake gets the writer's attention for resync.
	wake chan struct{}
	// replies carries error messages from the reader to the writer.
	replies chan []byte

	done      chan struct{}
	closeOnce sync.Once

	// Owned by the writer: the seq of the client's state.
	lastSeq uint64
}

func newClient(h *Hub, conn *websocket.Conn) *client {
	return &client{
		hub:     h,
		conn:    conn,
		queue:   make(chan queued, h.cfg.SendQueue),
		wake:    make(chan struct{}, 1),
		replies: make(chan []byte, 4),
		done:    make(chan struct{}),
	}
}

// offer queues f without waiting. When the queue is full the client has
// fallen behind: its pending messages are dropped and it will get a fresh
// snapshot once it catches up.
func (c *client) offer(f *frame, gen uint64) {
	select {
	case c.queue <- queued{f, gen}:
	default:
		c.hub.resyncs.Add(1)
		c.hub.metrics.resyncs.Inc()
		c.needSnapshot()
	}
}

// needSnapshot drops whatever is queued and asks the writer for a snapshot.
func (c *client) needSnapshot() {
	c.resync.Store(true)
	for {
		select {
		case <-c.queue:
			continue
		default:
		}
		break
	}
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// close ends the connection; safe to call more than once.
func (c *client) close() {
	c.closeOnce.Do(func() {
		close(c.done)
		_ = c.conn.Close()
	})
}

// goAway tells the client the server is stopping, then closes.
func (c *client) goAway() {
	msg := websocket.FormatCloseMessage(websocket.CloseGoingAway, "server stopping")
	_ = c.conn.WriteControl(websocket.CloseMessage, msg, time.Now().Add(time.Second))
	c.close()
}

func (c *client) readLoop() {
	cfg := c.hub.cfg
	c.conn.SetReadLimit(cfg.MaxMessageBytes)
	extend := func() { _ = c.conn.SetReadDeadline(time.Now().Add(cfg.PongTimeout)) }
	extend()
	c.conn.SetPongHandler(func(string) error { extend(); return nil })
	for {
		_, data, err := c.conn.ReadMessage()
		if err != nil {
			return
		}
		extend()
		c.handle(data)
	}
}

func (c *client) handle(data []byte) {
	var m ClientMessage
	if err := json.Unmarshal(data, &m); err != nil {
		c.reply(fmt.Sprintf("invalid message: %v", err), "")
		return
	}
	if m.Type != TypeSubscribe {
		c.reply(fmt.Sprintf("unknown message type %q: the server accepts %q", m.Type, TypeSubscribe), "type")
		return
	}
	cur := c.sub.Load()
	g, set := cur.g, cur.set
	if m.Granularity != "" {
		var ok bool
		if g, ok = graph.ParseGranularity(m.Granularity); !ok {
			c.reply(fmt.Sprintf("unknown granularity %q", m.Granularity), "granularity")
			return
		}
	}
	if m.Namespaces != nil {
		set = nsfilter.New(*m.Namespaces)
	}
	c.hub.subscribe(c, g, set)
}

func (c *client) reply(msg, field string) {
	b, _ := json.Marshal(ErrorMessage{Type: TypeError, Error: msg, Field: field})
	select {
	case c.replies <- b:
	default: // a client flooding us with bad messages loses some answers
	}
}

func (c *client) writeLoop() error {
	cfg := c.hub.cfg
	heartbeat := time.NewTicker(cfg.HeartbeatInterval)
	defer heartbeat.Stop()
	ping := time.NewTicker(cfg.PingInterval)
	defer ping.Stop()
	for {
		var item *queued
		select {
		case <-c.done:
			return nil
		case <-c.wake:
		case q := <-c.queue:
			item = &q
		case b := <-c.replies:
			if err := c.write(websocket.TextMessage, b, TypeError); err != nil {
				return err
			}
		case now := <-heartbeat.C:
			b, _ := json.Marshal(HeartbeatMessage{Type: TypeHeartbeat, Seq: c.lastSeq, Time: now.UTC()})
			if err := c.write(websocket.TextMessage, b, TypeHeartbeat); err != nil {
				return err
			}
		case <-ping.C:
			if err := c.conn.WriteControl(websocket.PingMessage, nil, time.Now().Add(cfg.WriteTimeout)); err != nil {
				return fmt.Errorf("ping: %w", err)
			}
		}
		// Clear the flag before reading the latest tick: a tick the pump
		// skipped for this client is then always in the snapshot.
		if c.resync.Swap(false) {
			if err := c.sendSnapshot(); err != nil {
				return err
			}
		}
		if item != nil {
			if err := c.deliver(*item); err != nil {
				return err
			}
		}
	}
}

// deliver writes a queued message if it still applies to the client's state.
func (c *client) deliver(q queued) error {
	if sub := c.sub.Load(); q.gen != sub.gen {
		return nil // queued for an older subscription
	}
	f := q.f
	switch {
	case f.seq <= c.lastSeq:
		return nil // the client's snapshot already has it
	case !f.snapshot && f.baseSeq != c.lastSeq:
		return c.sendSnapshot() // a gap: the delta does not apply
	}
	return c.send(f)
}

func (c *client) sendSnapshot() error {
	sub := c.sub.Load()
	p := c.hub.pumps[sub.g]
	f, err := p.snapshot(p.latest(), sub.set)
	if err != nil {
		return err
	}
	return c.send(f)
}

func (c *client) send(f *frame) error {
	_ = c.conn.SetWriteDeadline(time.Now().Add(c.hub.cfg.WriteTimeout))
	if err := c.conn.WritePreparedMessage(f.msg); err != nil {
		return fmt.Errorf("write seq %d: %w", f.seq, err)
	}
	c.lastSeq = f.seq
	c.hub.metrics.bytes.Add(float64(f.size))
	typ := TypeDelta
	if f.snapshot {
		typ = TypeSnapshot
	}
	c.hub.metrics.messages.WithLabelValues(typ).Inc()
	return nil
}

func (c *client) write(kind int, b []byte, typ string) error {
	_ = c.conn.SetWriteDeadline(time.Now().Add(c.hub.cfg.WriteTimeout))
	if err := c.conn.WriteMessage(kind, b); err != nil {
		return fmt.Errorf("write %s: %w", typ, err)
	}
	c.hub.metrics.messages.WithLabelValues(typ).Inc()
	return nil
}
