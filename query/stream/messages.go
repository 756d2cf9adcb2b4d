package stream

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/gorilla/websocket"

	"github.com/meshscope/meshscope/graph"
	"github.com/meshscope/meshscope/query/nsfilter"
)

// Message types of the protocol (docs/websocket.md).
const (
	TypeSubscribe = "subscribe"
	TypeSnapshot  = "snapshot"
	TypeDelta     = "delta"
	TypeHeartbeat = "heartbeat"
	TypeError     = "error"
)

// SnapshotMessage is a whole graph; the client replaces its state with it.
type SnapshotMessage struct {
	Type string `json:"type"`
	Seq  uint64 `json:"seq"`
	// Granularity and Namespaces repeat the subscription the snapshot
	// answers (Namespaces empty: all).
	Granularity graph.Granularity `json:"granularity"`
	Namespaces  []string          `json:"namespaces"`
	Graph       *graph.Graph      `json:"graph"`
}

// DeltaMessage changes the state at BaseSeq into the state at Seq.
type DeltaMessage struct {
	Type string `json:"type"`
	*graph.Delta
}

// HeartbeatMessage tells an idle client that the stream is alive and which
// sequence number it should be at.
type HeartbeatMessage struct {
	Type string    `json:"type"`
	Seq  uint64    `json:"seq"`
	Time time.Time `json:"time"`
}

// ErrorMessage answers a client message the server cannot follow.
type ErrorMessage struct {
	Type  string `json:"type"`
	Error string `json:"error"`
	Field string `json:"field,omitempty"`
}

// ClientMessage is what a client sends. A subscribe message changes the
// subscription: a field left out keeps its current value, and an empty
// namespaces list means every namespace.
type ClientMessage struct {
	Type        string    `json:"type"`
	Granularity string    `json:"granularity,omitempty"`
	Namespaces  *[]string `json:"namespaces,omitempty"`
}

// frame is one encoded server message, shared by every client that gets it.
type frame struct {
	seq, baseSeq uint64
	snapshot     bool
	msg          *websocket.PreparedMessage
	size         int
}

func newFrame(v any, seq, baseSeq uint64, snapshot bool) (*frame, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encode %T: %w", v, err)
	}
	pm, err := websocket.NewPreparedMessage(websocket.TextMessage, b)
	if err != nil {
		return nil, fmt.Errorf("prepare %T: %w", v, err)
	}
	return &frame{seq: seq, baseSeq: baseSeq, snapshot: snapshot, msg: pm, size: len(b)}, nil
}

// snapshotFrame encodes the graph of t (nil: before the first tick, an
// empty graph at seq 0) restricted to set.
func snapshotFrame(g graph.Granularity, t *graph.Tick, set nsfilter.Set) (*frame, error) {
	msg := SnapshotMessage{Type: TypeSnapshot, Granularity: g, Namespaces: set.Names()}
	if msg.Namespaces == nil {
		msg.Namespaces = []string{}
	}
	if t != nil {
		msg.Seq = t.Seq
		msg.Graph = NonNil(set.Graph(t.Graph))
	}
	if msg.Graph == nil {
		msg.Graph = &graph.Graph{Granularity: g, Nodes: []graph.Node{}, Edges: []graph.Edge{}}
	}
	return newFrame(msg, msg.Seq, msg.Seq, true)
}

// deltaFrame encodes t's delta from prev restricted to set.
func deltaFrame(prev *graph.Graph, t *graph.Tick, set nsfilter.Set) (*frame, error) {
	d := nonNilDelta(set.Delta(prev, t.Graph, t.Delta))
	return newFrame(DeltaMessage{Type: TypeDelta, Delta: d}, d.Seq, d.BaseSeq, false)
}

// NonNil returns g with nil node and edge lists replaced by empty ones, so
// that they encode as [] rather than null; g itself when nothing is nil.
func NonNil(g *graph.Graph) *graph.Graph {
	if g == nil || g.Nodes != nil && g.Edges != nil {
		return g
	}
	c := *g
	if c.Nodes == nil {
		c.Nodes = []graph.Node{}
	}
	if c.Edges == nil {
		c.Edges = []graph.Edge{}
	}
	return &c
}

func nonNilDelta(d *graph.Delta) *graph.Delta {
	if d.NodesAdded != nil && d.NodesUpdated != nil && d.NodesRemoved != nil &&
		d.EdgesAdded != nil && d.EdgesUpdated != nil && d.EdgesRemoved != nil {
		return d
	}
	c := *d
	if c.NodesAdded == nil {
		c.NodesAdded = []graph.Node{}
	}
	if c.NodesUpdated == nil {
		c.NodesUpdated = []graph.Node{}
	}
	if c.NodesRemoved == nil {
		c.NodesRemoved = []string{}
	}
	if c.EdgesAdded == nil {
		c.EdgesAdded = []graph.Edge{}
	}
	if c.EdgesUpdated == nil {
		c.EdgesUpdated = []graph.Edge{}
	}
	if c.EdgesRemoved == nil {
		c.EdgesRemoved = []string{}
	}
	return &c
}
