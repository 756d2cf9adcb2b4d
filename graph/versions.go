package graph

import (
	"context"
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
