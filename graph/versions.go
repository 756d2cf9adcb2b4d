package graph

import (
	"context"
	"math"
	"slices"
	"time"
)

// Versions first seen: a service's version that took no calls in the
// VersionLookback before a range and took its first calls in it was
// deployed there (or is a canary's first calls), as far as the calls tell.
// The node panel marks such versions on a service's RED charts
// (SeriesQuery.ByVersion) and the deployments list shows every one of a
// range (DeploymentReader).

// VersionLookback is how far before a range a version's earlier calls are
// looked for.
const VersionLookback = 24 * time.Hour

// VersionSeen is what the calls of a range say about one version of a
// callee.
type VersionSeen struct {
	Version string
	// FirstSeen is when (Unix seconds) the version's first calls in the
	// range were, to the precision of the buckets read.
	FirstSeen int64
	// Before: the version took calls in the VersionLookback before the range.
	Before bool
}

// NewVersion reports whether v was deployed within the range: it took no
// calls in the lookback, while its service took calls then (serviceBefore)
// or earlier in the range than v (serviceFirst, the first calls of any of
// its versions). The versions a service started with are no deploy to mark,
// nor are calls of no known version.
func NewVersion(v VersionSeen, serviceBefore bool, serviceFirst int64) bool {
	return v.Version != "" && !v.Before && (serviceBefore || v.FirstSeen > serviceFirst)
}

// Deployment is a version of a service deployed within a range.
type Deployment struct {
	Namespace string
	Service   string
	Version   string
	// FirstSeen is when (Unix seconds) its first calls were.
	FirstSeen int64
}

// DeploymentsQuery asks for the versions deployed within [From, To).
type DeploymentsQuery struct {
	From, To time.Time
	// Namespaces, when not empty, keeps the services in one of them.
	Namespaces []string
}

// DeploymentReader lists the versions deployed within a range from the
// edges_* tables.
type DeploymentReader interface {
	Deployments(ctx context.Context, q DeploymentsQuery) ([]Deployment, error)
}

// VersionCalls are a version's (or versions') calls over a period.
type VersionCalls struct {
	Requests, Errors uint64
	// P99Ms is the highest p99 of the inbound edges.
	P99Ms float64
}

// ErrorRate is Errors over Requests (0 without requests).
func (c VersionCalls) ErrorRate() float64 {
	if c.Requests == 0 {
		return 0
	}
	return float64(c.Errors) / float64(c.Requests)
}

// The rule by which a deployed version reads worse than its service's
// other versions over the same period.
const (
	// RegressionMinRequests: fewer calls on either side say nothing.
	RegressionMinRequests = 20
	// RegressionErrorPoints: an error rate more than this share above the
	// others' is "errors", when the difference is also significant:
	RegressionErrorPoints = 0.01
	// RegressionErrorZ is the least z score of the two error rates'
	// difference (a two-proportion z-test) that counts: 3 is about one
	// chance in 700 that calls alike read this far apart.
	RegressionErrorZ = 3
	// RegressionP99Factor: a p99 more than this many times the others' is
	// "latency", when each side took RegressionP99MinRequests calls (the
	// p99 of fewer is little more than their slowest).
	RegressionP99Factor      = 1.5
	RegressionP99MinRequests = 100
)

// Regressions lists what reads worse in a version's calls than in its
// service's other versions' (baseline): "errors", "latency"; none when
// either took fewer than RegressionMinRequests calls.
func Regressions(version, baseline VersionCalls) []string {
	out := []string{}
	if version.Requests < RegressionMinRequests || baseline.Requests < RegressionMinRequests {
		return out
	}
	if version.ErrorRate() > baseline.ErrorRate()+RegressionErrorPoints && errorRatesZ(version, baseline) >= RegressionErrorZ {
		out = append(out, "errors")
	}
	if version.Requests >= RegressionP99MinRequests && baseline.Requests >= RegressionP99MinRequests &&
		baseline.P99Ms > 0 && version.P99Ms > baseline.P99Ms*RegressionP99Factor {
		out = append(out, "latency")
	}
	return out
}

// errorRatesZ is the z score of a's error rate above b's: their difference
// over its standard error under the pooled rate (0 when both are 0 or 1).
func errorRatesZ(a, b VersionCalls) float64 {
	n1, n2 := float64(a.Requests), float64(b.Requests)
	p := float64(a.Errors+b.Errors) / (n1 + n2)
	se := math.Sqrt(p * (1 - p) * (1/n1 + 1/n2))
	if se == 0 {
		return 0
	}
	return (a.ErrorRate() - b.ErrorRate()) / se
}

// VersionsCalls splits a graph by version's inbound calls to a service's
// versions into the version's and the others' (its baseline, with their
// versions' names, sorted).
func VersionsCalls(g *Graph, namespace, service, version string) (own, baseline VersionCalls, others []string, node *Node) {
	p99 := map[string]float64{}
	for _, e := range g.Edges {
		if e.Target != "" {
			p99[e.Target] = max(p99[e.Target], e.P99Ms)
		}
	}
	others = []string{}
	for i := range g.Nodes {
		n := &g.Nodes[i]
		if n.Kind != KindVersion || n.Namespace != namespace || n.Name != service {
			continue
		}
		c := VersionCalls{Requests: n.RequestsIn, Errors: n.ErrorsIn, P99Ms: p99[n.ID]}
		if n.Version == version {
			own, node = c, n
			continue
		}
		others = append(others, n.Version)
		baseline.Requests += c.Requests
		baseline.Errors += c.Errors
		baseline.P99Ms = max(baseline.P99Ms, c.P99Ms)
	}
	slices.Sort(others)
	return own, baseline, others, node
}
