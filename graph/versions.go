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
	if version.ErrorRate() > baseline.ErrorRate()+RegressionErrorPoints && ErrorRatesZ(version, baseline) >= RegressionErrorZ {
		out = append(out, "errors")
	}
	if version.Requests >= RegressionP99MinRequests && baseline.Requests >= RegressionP99MinRequests &&
		baseline.P99Ms > 0 && version.P99Ms > baseline.P99Ms*RegressionP99Factor {
		out = append(out, "latency")
	}
	return out
}

// ErrorRatesZ is the z score of a's error rate above b's (a
// two-proportion z-test): their difference over its standard error under
// the pooled rate (0 when both are 0 or 1).
func ErrorRatesZ(a, b VersionCalls) float64 {
	n1, n2 := float64(a.Requests), float64(b.Requests)
	p := float64(a.Errors+b.Errors) / (n1 + n2)
	se := math.Sqrt(p * (1 - p) * (1/n1 + 1/n2))
	if se == 0 {
		return 0
	}
	return (a.ErrorRate() - b.ErrorRate()) / se
}

// VersionComparison is a version's calls beside its service's other
// versions' over the same period.
type VersionComparison struct {
	Own, Baseline VersionCalls
	// Others names the other versions (the baseline's), sorted.
	Others []string
	// Node is the version's node (nil when the graph has none).
	Node *Node
	// Outbound: the numbers are of the calls the versions made, their
	// p99s the highest of their outbound edges, as the version took no
	// calls (a worker or a job that only calls out: a new version sending
	// bad requests fails more of them than the others do); else of the
	// calls they took.
	Outbound bool
}

// VersionsCalls compares, in a graph by version, a service's version with
// its other versions: their inbound calls, or their outbound ones when the
// version took none and made some.
func VersionsCalls(g *Graph, namespace, service, version string) VersionComparison {
	var versions []*Node
	c := VersionComparison{Others: []string{}}
	for i := range g.Nodes {
		n := &g.Nodes[i]
		if n.Kind != KindVersion || n.Namespace != namespace || n.Name != service {
			continue
		}
		versions = append(versions, n)
		if n.Version == version {
			c.Node = n
		}
	}
	c.Outbound = c.Node != nil && c.Node.RequestsIn == 0 && c.Node.RequestsOut > 0
	p99 := map[string]float64{}
	for _, e := range g.Edges {
		end := e.Target
		if c.Outbound {
			end = e.Source
		}
		if end != "" {
			p99[end] = max(p99[end], e.P99Ms)
		}
	}
	for _, n := range versions {
		calls := VersionCalls{Requests: n.RequestsIn, Errors: n.ErrorsIn, P99Ms: p99[n.ID]}
		if c.Outbound {
			calls.Requests, calls.Errors = n.RequestsOut, n.ErrorsOut
		}
		if n == c.Node {
			c.Own = calls
			continue
		}
		c.Others = append(c.Others, n.Version)
		c.Baseline.Requests += calls.Requests
		c.Baseline.Errors += calls.Errors
		c.Baseline.P99Ms = max(c.Baseline.P99Ms, calls.P99Ms)
	}
	slices.Sort(c.Others)
	return c
}
