package uitest

import (
	"fmt"
	"math/rand/v2"
)

// Node is a graph node as docs/api.md describes it.
type Node struct {
	ID          string  `json:"id"`
	Kind        string  `json:"kind"`
	Namespace   string  `json:"namespace"`
	Name        string  `json:"name"`
	Workload    string  `json:"workload"`
	Version     string  `json:"version"`
	Cluster     string  `json:"cluster"`
	Health      string  `json:"health"`
	RequestsIn  int64   `json:"requests_in"`
	ErrorsIn    int64   `json:"errors_in"`
	RPSIn       float64 `json:"rps_in"`
	ErrorRateIn float64 `json:"error_rate_in"`
	RequestsOut int64   `json:"requests_out"`
	ErrorsOut   int64   `json:"errors_out"`
	RPSOut      float64 `json:"rps_out"`
	Diff        string  `json:"diff,omitempty"`
}

// Edge is a graph edge as docs/api.md describes it.
type Edge struct {
	ID            string   `json:"id"`
	Source        string   `json:"source"`
	Target        string   `json:"target"`
	Protocol      string   `json:"protocol"`
	Protocols     []string `json:"protocols"`
	Requests      int64    `json:"requests"`
	Errors        int64    `json:"errors"`
	RPS           float64  `json:"rps"`
	ErrorRate     float64  `json:"error_rate"`
	P50           float64  `json:"p50_ms"`
	P90           float64  `json:"p90_ms"`
	P95           float64  `json:"p95_ms"`
	P99           float64  `json:"p99_ms"`
	Mean          float64  `json:"mean_ms"`
	BytesSent     int64    `json:"bytes_sent"`
	BytesReceived int64    `json:"bytes_received"`
	// BytesSentPerSecond and BytesReceivedPerSecond over the window.
	BytesSentPerSecond     float64  `json:"bytes_sent_per_second"`
	BytesReceivedPerSecond float64  `json:"bytes_received_per_second"`
	MTLSShare              float64  `json:"mtls_share"`
	Provenance             []string `json:"provenance"`
	Diff                   string   `json:"diff,omitempty"`
	Base                   *Edge    `json:"base,omitempty"`
}

// Graph is a whole graph (live window or range).
type Graph struct {
	Granularity   string `json:"granularity"`
	From          string `json:"from"`
	To            string `json:"to"`
	WindowSeconds int    `json:"window_seconds"`
	Nodes         []Node `json:"nodes"`
	Edges         []Edge `json:"edges"`
}

// Delta is a websocket delta message (docs/websocket.md).
type Delta struct {
	Type         string   `json:"type"`
	Seq          int64    `json:"seq"`
	BaseSeq      int64    `json:"base_seq"`
	Time         string   `json:"time"`
	NodesAdded   []Node   `json:"nodes_added"`
	NodesUpdated []Node   `json:"nodes_updated"`
	NodesRemoved []string `json:"nodes_removed"`
	EdgesAdded   []Edge   `json:"edges_added"`
	EdgesUpdated []Edge   `json:"edges_updated"`
	EdgesRemoved []string `json:"edges_removed"`
}

// Snapshot is a websocket snapshot message.
type Snapshot struct {
	Type  string `json:"type"`
	Seq   int64  `json:"seq"`
	Graph Graph  `json:"graph"`
}

// ServiceNode makes a service node with consistent numbers.
func ServiceNode(ns, name, health string, rpsIn, errRate float64) Node {
	kind := "service"
	id := "service:" + ns + "/" + name
	req := int64(rpsIn * 60)
	return Node{
		ID: id, Kind: kind, Namespace: ns, Name: name, Health: health,
		RequestsIn: req, ErrorsIn: int64(float64(req) * errRate), RPSIn: rpsIn, ErrorRateIn: errRate,
	}
}

// OtherNode makes a node of another kind (database, messaging, external, client).
func OtherNode(kind, id, name string) Node {
	return Node{ID: id, Kind: kind, Name: name, Health: "healthy"}
}

// MakeEdge makes an edge with latency numbers derived from p50.
func MakeEdge(src, dst, proto string, rps, errRate, p50 float64) Edge {
	req := int64(rps * 60)
	mtls := 1.0
	if proto == "tcp" {
		mtls = 0
	}
	return Edge{
		ID: src + "->" + dst, Source: src, Target: dst, Protocol: proto, Protocols: []string{proto},
		Requests: req, Errors: int64(float64(req) * errRate), RPS: rps, ErrorRate: errRate,
		P50: p50, P90: p50 * 2.2, P95: p50 * 3, P99: p50 * 6, Mean: p50 * 1.3,
		BytesSent: req * 800, BytesReceived: req * 4200, BytesSentPerSecond: rps * 800, BytesReceivedPerSecond: rps * 4200, MTLSShare: mtls,
		Provenance: []string{"span", "accesslog"},
	}
}

// DemoGraph is a small, readable shop mesh used by the tests and screenshots.
func DemoGraph() Graph {
	nodes := []Node{
		OtherNode("client", "client:/", "unknown client"),
		ServiceNode("shop", "web", "healthy", 120, 0.001),
		ServiceNode("shop", "cart", "healthy", 80, 0.002),
		ServiceNode("shop", "checkout", "degraded", 22, 0.031),
		ServiceNode("shop", "catalog", "healthy", 95, 0),
		ServiceNode("shop", "recommend", "healthy", 40, 0.004),
		ServiceNode("pay", "payments", "failing", 20, 0.12),
		ServiceNode("pay", "fraud", "healthy", 20, 0),
		ServiceNode("pay", "ledger", "healthy", 18, 0),
		ServiceNode("auth", "auth", "healthy", 150, 0.0005),
		ServiceNode("auth", "users", "healthy", 60, 0),
		ServiceNode("search", "search", "healthy", 35, 0.006),
		ServiceNode("search", "indexer", "idle", 0, 0),
		OtherNode("database", "database:postgresql/orders", "orders"),
		OtherNode("database", "database:redis/cart", "cart-cache"),
		OtherNode("database", "database:postgresql/users", "users-db"),
		OtherNode("messaging", "messaging:kafka/orders", "orders topic"),
		OtherNode("external", "external:api.stripe.com", "api.stripe.com"),
	}
	s := func(ns, n string) string { return "service:" + ns + "/" + n }
	edges := []Edge{
		MakeEdge("client:/", s("shop", "web"), "http", 120, 0.001, 12),
		MakeEdge(s("shop", "web"), s("shop", "cart"), "http", 80, 0.002, 4.1),
		MakeEdge(s("shop", "web"), s("shop", "catalog"), "grpc", 95, 0, 3.2),
		MakeEdge(s("shop", "web"), s("auth", "auth"), "grpc", 120, 0.0005, 1.8),
		MakeEdge(s("shop", "web"), s("search", "search"), "http", 35, 0.006, 22),
		MakeEdge(s("shop", "web"), s("shop", "recommend"), "grpc", 40, 0.004, 9),
		MakeEdge(s("shop", "cart"), s("shop", "checkout"), "http", 22, 0.031, 48),
		MakeEdge(s("shop", "cart"), "database:redis/cart", "tcp", 160, 0, 0.6),
		MakeEdge(s("shop", "checkout"), s("pay", "payments"), "grpc", 20, 0.12, 180),
		MakeEdge(s("shop", "checkout"), "database:postgresql/orders", "tcp", 25, 0, 2.5),
		MakeEdge(s("shop", "checkout"), "messaging:kafka/orders", "kafka", 22, 0, 1.1),
		MakeEdge(s("pay", "payments"), s("pay", "fraud"), "grpc", 20, 0, 14),
		MakeEdge(s("pay", "payments"), s("pay", "ledger"), "grpc", 18, 0, 6),
		MakeEdge(s("pay", "payments"), "external:api.stripe.com", "http", 19, 0.08, 240),
		MakeEdge(s("auth", "auth"), s("auth", "users"), "grpc", 60, 0, 2.2),
		MakeEdge(s("auth", "users"), "database:postgresql/users", "tcp", 60, 0, 1.4),
		MakeEdge(s("shop", "catalog"), s("search", "search"), "http", 10, 0.005, 25),
		MakeEdge(s("shop", "recommend"), s("shop", "catalog"), "grpc", 30, 0, 3),
		MakeEdge(s("search", "indexer"), "messaging:kafka/orders", "kafka", 0.2, 0, 2),
		MakeEdge(s("shop", "checkout"), s("auth", "auth"), "grpc", 22, 0, 1.7),
	}
	edges[7].Protocols = []string{"tcp", "db"} // the cache's connections, and queries from spans
	edges[13].Protocol = "http"
	edges[13].MTLSShare = 0
	edges[13].Provenance = []string{"accesslog"}
	edges[0].MTLSShare = 0
	edges[0].Provenance = []string{"accesslog", "metric"}
	return Graph{Granularity: "service", WindowSeconds: 60, Nodes: nodes, Edges: edges}
}

// GenGraph makes a large random mesh with n nodes and m edges, spread over
// namespaces, for the benchmarks. The same seed gives the same graph.
func GenGraph(n, m int, seed uint64) Graph {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	healths := []string{"healthy", "healthy", "healthy", "healthy", "degraded", "failing", "idle"}
	nsCount := max(1, n/60)
	g := Graph{Granularity: "service", WindowSeconds: 60}
	for i := range n {
		ns := fmt.Sprintf("ns%03d", i%nsCount)
		node := ServiceNode(ns, fmt.Sprintf("svc%05d", i), healths[r.IntN(len(healths))], r.Float64()*200, r.Float64()*0.05)
		switch i % 25 {
		case 3:
			node.Kind, node.ID, node.Namespace = "database", fmt.Sprintf("database:postgresql/db%05d", i), ""
		case 7:
			node.Kind, node.ID, node.Namespace = "external", fmt.Sprintf("external:host%05d.example.com", i), ""
		case 11:
			node.Kind, node.ID, node.Namespace = "messaging", fmt.Sprintf("messaging:kafka/topic%05d", i), ""
		}
		g.Nodes = append(g.Nodes, node)
	}
	seen := make(map[string]bool, m)
	protos := []string{"http", "grpc", "tcp"}
	for len(g.Edges) < m {
		a := r.IntN(n)
		// Mostly local calls within the namespace, some across.
		var b int
		if r.IntN(4) > 0 {
			b = (a/nsCount*nsCount + r.IntN(nsCount*3) - nsCount) % n
			if b < 0 {
				b += n
			}
			b = (b/nsCount)*nsCount + a%nsCount
			b = (b + r.IntN(5)*nsCount) % n
		} else {
			b = r.IntN(n)
		}
		if a == b {
			continue
		}
		e := MakeEdge(g.Nodes[a].ID, g.Nodes[b].ID, protos[r.IntN(len(protos))], r.Float64()*100, r.Float64()*0.03, 1+r.Float64()*50)
		if seen[e.ID] {
			continue
		}
		seen[e.ID] = true
		g.Edges = append(g.Edges, e)
	}
	return g
}
