package query

import (
	"context"
	"net/http"
	"slices"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/meshscope/meshscope/graph"
	"github.com/meshscope/meshscope/query/nsfilter"
)

// deployment is one entry of GET /api/v1/deployments: a version deployed
// within the range, with its numbers over the range beside those of its
// service's other versions (the baseline), as canary analysis compares
// them.
type deployment struct {
	Namespace string    `json:"namespace"`
	Service   string    `json:"service"`
	Version   string    `json:"version"`
	FirstSeen time.Time `json:"first_seen"`
	// Node is the version's node id in the graph by version.
	Node string `json:"node"`
	versionNumbers
	Baseline baseline `json:"baseline"`
}

// versionNumbers are a version's (or versions') calls over the range.
type versionNumbers struct {
	Requests  uint64  `json:"requests"`
	Errors    uint64  `json:"errors"`
	RPS       float64 `json:"rps"`
	ErrorRate float64 `json:"error_rate"`
	// P99Ms is the highest p99 of the inbound edges (quantiles of
	// different edges cannot be merged exactly).
	P99Ms  float64 `json:"p99_ms"`
	Health string  `json:"health,omitempty"`
}

// baseline are the service's other versions that took calls in the range.
type baseline struct {
	Versions []string `json:"versions"`
	versionNumbers
}

// GET /api/v1/deployments
func (s *Server) getDeployments(c echo.Context) error {
	if s.deps.Deployments == nil {
		return unavailable("deployments")
	}
	from, to, _, err := s.rangeOrDefault(c)
	if err != nil {
		return err
	}
	set := namespacesParam(c)
	ctx := c.Request().Context()
	found, err := func() ([]graph.Deployment, error) {
		ctx, cancel := context.WithTimeout(ctx, s.cfg.RequestTimeout)
		defer cancel()
		return s.deps.Deployments.Deployments(ctx, graph.DeploymentsQuery{From: from, To: to, Namespaces: set.Names()})
	}()
	if err != nil {
		return err
	}
	out := []deployment{}
	if len(found) > 0 {
		// Only the deployed services' namespaces' graph: their versions'
		// numbers are all it is read for.
		var names []string
		for _, d := range found {
			names = append(names, d.Namespace)
		}
		g, err := s.rangeGraph(ctx, from, to, graph.GranularityVersion, nsfilter.New(names))
		if err != nil {
			return err
		}
		out = deploymentNumbers(found, g)
	}
	return c.JSON(http.StatusOK, map[string]any{"from": from, "to": to, "deployments": out})
}

// deploymentNumbers adds to each deployment its version's numbers and its
// baseline's from the range graph by version.
func deploymentNumbers(found []graph.Deployment, g *graph.Graph) []deployment {
	p99 := map[string]float64{}
	for _, e := range g.Edges {
		p99[e.Target] = max(p99[e.Target], e.P99Ms)
	}
	type service struct{ ns, name string }
	versions := map[service][]*graph.Node{}
	for i := range g.Nodes {
		n := &g.Nodes[i]
		if n.Kind == graph.KindVersion {
			k := service{n.Namespace, n.Name}
			versions[k] = append(versions[k], n)
		}
	}
	out := make([]deployment, 0, len(found))
	for _, d := range found {
		id := graph.Party{Kind: graph.KindService, Namespace: d.Namespace, Name: d.Service, Version: d.Version}.NodeID(graph.GranularityVersion)
		dep := deployment{Namespace: d.Namespace, Service: d.Service, Version: d.Version, FirstSeen: time.Unix(d.FirstSeen, 0).UTC(), Node: id,
			Baseline: baseline{Versions: []string{}}}
		var base versionNumbers
		for _, n := range versions[service{d.Namespace, d.Service}] {
			if n.ID == id {
				dep.versionNumbers = versionNumbers{Requests: n.RequestsIn, Errors: n.ErrorsIn, RPS: n.RPSIn, ErrorRate: n.ErrorRateIn, P99Ms: p99[n.ID], Health: n.Health}
				continue
			}
			dep.Baseline.Versions = append(dep.Baseline.Versions, n.Version)
			base.Requests += n.RequestsIn
			base.Errors += n.ErrorsIn
			base.RPS += n.RPSIn
			base.P99Ms = max(base.P99Ms, p99[n.ID])
		}
		if base.Requests > 0 {
			base.ErrorRate = float64(base.Errors) / float64(base.Requests)
		}
		slices.Sort(dep.Baseline.Versions)
		dep.Baseline.versionNumbers = base
		out = append(out, dep)
	}
	return out
}
