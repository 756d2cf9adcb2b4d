package uitest

import (
	"maps"
	"net/http"
	"slices"
	"time"
)

// The fake's versions: the graph by version, the services' series by
// version and the deployments, all of payments' canary v2 (and of a worker
// that only calls out).

// versionGraph is g by version: every service one node of version v1 with
// its numbers, but payments, whose canary v2 takes a tenth of its calls
// and fails most of them, and a service that took no calls and made some,
// whose canary v2 makes a tenth of its calls (edges left out).
func versionGraph(g Graph) Graph {
	out := Graph{Granularity: "version", WindowSeconds: g.WindowSeconds, From: g.From, To: g.To, Nodes: []Node{}, Edges: []Edge{}}
	for _, n := range g.Nodes {
		if n.Kind != "service" {
			continue
		}
		v := n
		v.Kind, v.Version, v.ID = "version", "v1", "version:"+n.Namespace+"/"+n.Name+"/v1"
		if n.RequestsIn == 0 && n.RequestsOut > 0 {
			// A worker that only calls out: its canary v2 makes a tenth
			// of its calls, half of them failing.
			canary := v
			canary.Version, canary.ID = "v2", "version:"+n.Namespace+"/"+n.Name+"/v2"
			canary.RequestsOut, canary.RPSOut = n.RequestsOut/10, n.RPSOut/10
			canary.ErrorsOut = canary.RequestsOut / 2
			v.RequestsOut, v.RPSOut, v.ErrorsOut = n.RequestsOut-canary.RequestsOut, n.RPSOut-canary.RPSOut, 0
			out.Nodes = append(out.Nodes, v, canary)
			continue
		}
		if n.Name != "payments" {
			out.Nodes = append(out.Nodes, v)
			continue
		}
		canary := v
		canary.Version, canary.ID, canary.Health = "v2", "version:"+n.Namespace+"/"+n.Name+"/v2", "failing"
		canary.RPSIn, canary.ErrorRateIn = n.RPSIn/10, 0.9
		v.RPSIn, v.ErrorRateIn, v.Health = n.RPSIn-canary.RPSIn, 0.02, "healthy"
		out.Nodes = append(out.Nodes, v, canary)
	}
	return out
}

// deployments lists payments' canary v2 (versionGraph's) as deployed 20
// minutes ago, failing beside v1, when the range holds that time; the from
// parameter is required.
func (f *FakeServer) deployments(w http.ResponseWriter, r *http.Request) {
	if r.URL.Query().Get("from") == "" {
		writeErr(w, http.StatusBadRequest, "from is required", "from")
		return
	}
	f.mu.Lock()
	g := versionGraph(f.graphLocked(nil))
	f.deploymentRanges = append(f.deploymentRanges, r.URL.Query().Get("from"))
	f.mu.Unlock()
	out := []map[string]any{}
	var stable, canary *Node
	for i := range g.Nodes {
		switch g.Nodes[i].ID {
		case "version:pay/payments/v1":
			stable = &g.Nodes[i]
		case "version:pay/payments/v2":
			canary = &g.Nodes[i]
		}
	}
	if stable != nil && canary != nil {
		numbers := func(n *Node, p99 float64) map[string]any {
			return map[string]any{"requests": int(n.RPSIn * 3600), "errors": int(n.RPSIn * 3600 * n.ErrorRateIn), "rps": n.RPSIn, "error_rate": n.ErrorRateIn, "p99_ms": p99, "health": n.Health}
		}
		d := numbers(canary, 180)
		maps.Copy(d, map[string]any{"namespace": "pay", "service": "payments", "version": "v2", "node": canary.ID,
			"first_seen": time.Now().Add(-20 * time.Minute).UTC().Format(time.RFC3339)})
		base := numbers(stable, 45)
		base["versions"] = []string{"v1"}
		d["baseline"] = base
		d["regressions"] = []string{"errors", "latency"}
		d["calls"] = "inbound"
		if f.outboundDeployments {
			d["calls"] = "outbound"
		}
		d["new_exceptions"] = []map[string]any{{"type": "java.lang.IllegalStateException", "source": "span", "first_seen": d["first_seen"]},
			{"type": "java.lang.IllegalStateException", "source": "log", "first_seen": d["first_seen"]}}
		// Within the range asked for, when its ends are times.
		from, errFrom := time.Parse(time.RFC3339, r.URL.Query().Get("from"))
		to, errTo := time.Parse(time.RFC3339, r.URL.Query().Get("to"))
		first := time.Now().Add(-20 * time.Minute)
		if (errFrom != nil || !first.Before(from)) && (errTo != nil || !first.After(to)) {
			out = append(out, d)
		}
	}
	writeJSON(w, map[string]any{"deployments": out})
}

// versionSeries splits a service's series s by version as versionGraph
// does: v1 takes every call, but payments' canary v2, deployed 20 minutes
// ago, takes a tenth of its calls from then and fails most of them.
func versionSeries(n Node, s map[string]any) []map[string]any {
	t, rps := s["time"].([]int64), s["rps"].([]float64)
	v1 := map[string]any{"version": "v1", "first_seen": t[0], "new": false, "time": t, "rps": rps, "error_rate": s["error_rate"]}
	if n.Name != "payments" {
		return []map[string]any{v1}
	}
	const deployed = 40
	stable, canary := make([]float64, len(t)), make([]float64, len(t))
	canaryErrs := make([]float64, len(t))
	for i, r := range rps {
		stable[i] = r
		if i >= deployed {
			canary[i], stable[i], canaryErrs[i] = r/10, r-r/10, 0.9
		}
	}
	v1["rps"] = stable
	return []map[string]any{v1, {"version": "v2", "first_seen": t[deployed], "new": true, "time": t, "rps": canary, "error_rate": canaryErrs}}
}

// SetDeploymentsOutbound makes the deployments answer the canary's
// numbers, and the services their series, as those of the calls they made,
// as the server does for a version (a service) that took none.
func (f *FakeServer) SetDeploymentsOutbound() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.outboundDeployments = true
}

// AskedDeploymentsFrom reports whether the deployments starting at from were
// asked for.
func (f *FakeServer) AskedDeploymentsFrom(from string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Contains(f.deploymentRanges, from)
}
