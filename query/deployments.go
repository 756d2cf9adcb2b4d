package query

import (
	"context"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
	"golang.org/x/sync/errgroup"

	"github.com/meshscope/meshscope/graph"
	"github.com/meshscope/meshscope/query/nsfilter"
	"github.com/meshscope/meshscope/schema/chstore"
)

// deployment is one entry of GET /api/v1/deployments: a version deployed
// within the range, with its numbers since its first calls beside those of
// its service's other versions over the same time (the baseline), as
// canary analysis compares them, and what reads worse in it by
// graph.Regressions (the rule of the deployment alerts).
type deployment struct {
	deployedVersion
	// Calls says which calls the numbers count: "inbound", those the
	// versions took, or "outbound", those they made, when the version
	// took none (graph.VersionComparison).
	Calls string `json:"calls"`
	versionNumbers
	Health   string   `json:"health,omitempty"`
	Baseline baseline `json:"baseline"`
	// Regressions: "errors", "latency" (graph.Regressions).
	Regressions []string `json:"regressions"`
	// NewExceptions are the exception types the service (any version of
	// it) showed for the first time since the version's first calls, from
	// the exception history; null while the history is incomplete.
	NewExceptions []deploymentException `json:"new_exceptions"`
}

// deployedVersion is which version was deployed when: all that
// GET /api/v1/deployments?numbers=false answers of a deployment.
type deployedVersion struct {
	Namespace string    `json:"namespace"`
	Service   string    `json:"service"`
	Version   string    `json:"version"`
	FirstSeen time.Time `json:"first_seen"`
	// Node is the version's node id in the graph by version.
	Node string `json:"node"`
}

func deployedVersionOf(d graph.Deployment) deployedVersion {
	return deployedVersion{Namespace: d.Namespace, Service: d.Service, Version: d.Version, FirstSeen: time.Unix(d.FirstSeen, 0).UTC(),
		Node: graph.Party{Kind: graph.KindService, Namespace: d.Namespace, Name: d.Service, Version: d.Version}.NodeID(graph.GranularityVersion)}
}

// deploymentException is an exception type first seen since a deploy.
type deploymentException struct {
	Type      string    `json:"type"`
	Source    string    `json:"source"`
	FirstSeen time.Time `json:"first_seen"`
}

// versionNumbers are a version's (or versions') calls since its first.
type versionNumbers struct {
	Requests  uint64  `json:"requests"`
	Errors    uint64  `json:"errors"`
	RPS       float64 `json:"rps"`
	ErrorRate float64 `json:"error_rate"`
	// P99Ms is the highest p99 of the inbound (or outbound) edges
	// (quantiles of different edges cannot be merged exactly).
	P99Ms float64 `json:"p99_ms"`
}

func numbersOf(c graph.VersionCalls, seconds float64) versionNumbers {
	n := versionNumbers{Requests: c.Requests, Errors: c.Errors, ErrorRate: c.ErrorRate(), P99Ms: c.P99Ms}
	if seconds > 0 {
		n.RPS = float64(c.Requests) / seconds
	}
	return n
}

// baseline are the service's other versions that took calls since then.
type baseline struct {
	Versions []string `json:"versions"`
	versionNumbers
}

// GET /api/v1/deployments
func (s *Server) getDeployments(c echo.Context) error {
	if s.deps.Deployments == nil {
		return unavailable("deployments")
	}
	from, to, limit, err := s.rowsParams(c)
	if err != nil {
		return err
	}
	numbers := true
	if c.QueryParam("numbers") != "" {
		if numbers, err = boolParam(c, "numbers"); err != nil {
			return err
		}
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
	// The newest limit: each costs a graph by version to compare.
	more := len(found) > limit
	found = found[:min(len(found), limit)]
	if !numbers {
		// Which versions were deployed when, as the graph marks them:
		// the one reading that finds them, nothing compared.
		out := make([]deployedVersion, 0, len(found))
		for _, d := range found {
			out = append(out, deployedVersionOf(d))
		}
		return c.JSON(http.StatusOK, map[string]any{"from": from, "to": to, "deployments": out, "more": more})
	}
	out, err := s.deploymentNumbers(ctx, found, to)
	if err != nil {
		return err
	}
	if err := s.deploymentExceptions(ctx, out, to); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"from": from, "to": to, "deployments": out, "more": more})
}

// deploymentQueries bounds the range graphs read at once for one list.
const deploymentQueries = 4

// deploymentNumbers adds to each deployment its version's numbers since
// its first calls, and its baseline's over the same time, from the graph
// by version of its namespace over that time: one graph per namespace and
// deploy time, a few read at once.
func (s *Server) deploymentNumbers(ctx context.Context, found []graph.Deployment, to time.Time) ([]deployment, error) {
	type window struct {
		namespace string
		from      int64
	}
	var windows []window
	index := map[window]int{}
	for _, d := range found {
		w := window{d.Namespace, d.FirstSeen}
		if _, ok := index[w]; !ok {
			index[w] = len(windows)
			windows = append(windows, w)
		}
	}
	graphs := make([]*graph.Graph, len(windows))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(deploymentQueries)
	for i, w := range windows {
		g.Go(func() error {
			var err error
			graphs[i], err = s.rangeGraph(gctx, time.Unix(w.from, 0), to, graph.GranularityVersion, nsfilter.New([]string{w.namespace}))
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	out := make([]deployment, 0, len(found))
	for _, d := range found {
		vg := graphs[index[window{d.Namespace, d.FirstSeen}]]
		c := graph.VersionsCalls(vg, d.Namespace, d.Service, d.Version)
		dep := deployment{deployedVersion: deployedVersionOf(d),
			Calls:          "inbound",
			versionNumbers: numbersOf(c.Own, vg.WindowSeconds),
			Baseline:       baseline{Versions: c.Others, versionNumbers: numbersOf(c.Baseline, vg.WindowSeconds)},
			Regressions:    graph.Regressions(c.Own, c.Baseline)}
		if c.Outbound {
			dep.Calls = "outbound"
		}
		if c.Node != nil {
			dep.Health = c.Node.Health
		}
		out = append(out, dep)
	}
	return out, nil
}

// deploymentExceptions adds to each deployment the exception types its
// service showed for the first time since the version's first calls (a new
// bug that came with it, as Sentry's release health tells), from one read
// of the exception history; nothing while that history is incomplete.
func (s *Server) deploymentExceptions(ctx context.Context, out []deployment, to time.Time) error {
	if s.deps.Store == nil || len(out) == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.RequestTimeout)
	defer cancel()
	complete, _, err := s.deps.Store.ExceptionHistoryComplete(ctx)
	if err != nil || !complete {
		return err
	}
	from := out[0].FirstSeen
	for _, d := range out {
		if d.FirstSeen.Before(from) {
			from = d.FirstSeen
		}
	}
	types, err := s.deps.Store.NewExceptionTypes(ctx, chstore.NewExceptionsQuery{From: from, To: to, Limit: 10_000})
	if err != nil {
		return err
	}
	for i := range out {
		d := &out[i]
		d.NewExceptions = []deploymentException{}
		for _, e := range types {
			if e.Namespace == d.Namespace && e.Service == d.Service && !e.FirstSeen.Before(d.FirstSeen) {
				d.NewExceptions = append(d.NewExceptions, deploymentException{Type: e.Type, Source: e.Source, FirstSeen: e.FirstSeen})
			}
		}
	}
	return nil
}
