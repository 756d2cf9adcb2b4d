package query

import (
	"context"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/meshscope/meshscope/graph"
	"github.com/meshscope/meshscope/query/nsfilter"
)

// deployment is one entry of GET /api/v1/deployments: a version deployed
// within the range, with its numbers over the range beside those of its
// service's other versions (the baseline), as canary analysis compares
// them, and what reads worse in it by graph.Regressions.
type deployment struct {
	Namespace string    `json:"namespace"`
	Service   string    `json:"service"`
	Version   string    `json:"version"`
	FirstSeen time.Time `json:"first_seen"`
	// Node is the version's node id in the graph by version.
	Node string `json:"node"`
	versionNumbers
	Health   string   `json:"health,omitempty"`
	Baseline baseline `json:"baseline"`
	// Regressions: "errors", "latency" (graph.Regressions).
	Regressions []string `json:"regressions"`
}

// versionNumbers are a version's (or versions') calls over the range.
type versionNumbers struct {
	Requests  uint64  `json:"requests"`
	Errors    uint64  `json:"errors"`
	RPS       float64 `json:"rps"`
	ErrorRate float64 `json:"error_rate"`
	// P99Ms is the highest p99 of the inbound edges (quantiles of
	// different edges cannot be merged exactly).
	P99Ms float64 `json:"p99_ms"`
}

func numbersOf(c graph.VersionCalls, seconds float64) versionNumbers {
	n := versionNumbers{Requests: c.Requests, Errors: c.Errors, ErrorRate: c.ErrorRate(), P99Ms: c.P99Ms}
	if seconds > 0 {
		n.RPS = float64(c.Requests) / seconds
	}
	return n
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
	out := make([]deployment, 0, len(found))
	for _, d := range found {
		own, base, others, node := graph.VersionsCalls(g, d.Namespace, d.Service, d.Version)
		dep := deployment{Namespace: d.Namespace, Service: d.Service, Version: d.Version, FirstSeen: time.Unix(d.FirstSeen, 0).UTC(),
			Node:           graph.Party{Kind: graph.KindService, Namespace: d.Namespace, Name: d.Service, Version: d.Version}.NodeID(graph.GranularityVersion),
			versionNumbers: numbersOf(own, g.WindowSeconds),
			Baseline:       baseline{Versions: others, versionNumbers: numbersOf(base, g.WindowSeconds)},
			Regressions:    graph.Regressions(own, base)}
		if node != nil {
			dep.Health = node.Health
		}
		out = append(out, dep)
	}
	return out
}
