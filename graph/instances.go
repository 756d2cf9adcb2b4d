package graph

// A service's calls by the instance (pod) that served them, and the rule
// that marks the instances that fail or answer slower than their siblings:
// the one bad replica (a node with a failing disk, a pod with a poisoned
// cache) that a service's own numbers average away. The query API lists
// them (GET /api/v1/services/{ns}/{name}/instances); the SLO engine alerts
// on them (--instance-alerts).

import (
	"cmp"
	"fmt"
	"slices"
	"time"
)

// Instance is one instance's part of a service's calls.
type Instance struct {
	// Instance is the pod name (spans) or address (access logs).
	Instance string `json:"instance"`
	// Key is what names it: the resource attribute (k8s.pod.name,
	// service.instance.id or host.name) or "address".
	Key       string    `json:"key"`
	Version   string    `json:"version"`
	Workload  string    `json:"workload"`
	Requests  uint64    `json:"requests"`
	Errors    uint64    `json:"errors"`
	RPS       float64   `json:"rps"`
	ErrorRate float64   `json:"error_rate"`
	P50Ms     float64   `json:"p50_ms"`
	P99Ms     float64   `json:"p99_ms"`
	FirstSeen time.Time `json:"first_seen"`
	LastSeen  time.Time `json:"last_seen"`
	// Share is the instance's part of the service's requests.
	Share float64 `json:"share"`
	// Outlier names how the instance stands out from the others ("errors",
	// "latency"); empty when it does not. Why says it in words.
	Outlier []string `json:"outlier"`
	Why     []string `json:"why,omitempty"`
}

// Outlier rules. An instance fails more than the others when it has at
// least minOutlierErrors errors, an error rate at least outlierFactor
// times theirs and a tenth of a percentage point above it, and a two-proportion z
// score above outlierZ (one-sided p < 0.0005): a replica that is merely
// unlucky over a few requests is not marked. It is slower when its median
// is outlierFactor times the median of the others' medians, over at least
// minOutlierRequests requests.
const (
	minOutlierErrors   = 5
	minOutlierRequests = 20
	outlierFactor      = 2
	outlierZ           = 3.3
)

// FinishInstances fills the rates and shares of instances seen over span
// and marks their outliers.
func FinishInstances(list []Instance, span time.Duration) {
	seconds := max(span.Seconds(), 1)
	var total uint64
	for i := range list {
		in := &list[i]
		total += in.Requests
		in.RPS = float64(in.Requests) / seconds
		if in.Requests > 0 {
			in.ErrorRate = float64(in.Errors) / float64(in.Requests)
		}
		in.Outlier = []string{}
	}
	for i := range list {
		if total > 0 {
			list[i].Share = float64(list[i].Requests) / float64(total)
		}
	}
	MarkOutliers(list)
}

// MarkOutliers marks the instances that fail more often or answer slower
// than the others of their service's version, by the rules above
// (minOutlierErrors and the rest). An instance is compared with its
// siblings pooled, so one bad replica of three stands out, a service whose
// every replica fails marks none, and the one pod of a canary is compared
// with nothing here.
func MarkOutliers(list []Instance) {
	if len(list) < 2 {
		return
	}
	for i := range list {
		in := &list[i]
		if in.Requests == 0 {
			continue
		}
		// Its siblings: the other instances of its version (a canary is
		// compared with the service's other versions by the deployments'
		// analysis, not here).
		var restN, restE uint64
		var peers int
		var medians []float64
		for j, o := range list {
			if j == i || o.Version != in.Version {
				continue
			}
			peers++
			restN, restE = restN+o.Requests, restE+o.Errors
			if o.Requests >= minOutlierRequests {
				medians = append(medians, o.P50Ms)
			}
		}
		if restN == 0 {
			continue
		}
		others := fmt.Sprintf("the other %d instances", peers)
		if peers == 1 {
			others = "the other instance"
		}
		if in.Version != "" {
			others += " of " + in.Version
		}
		restRate := float64(restE) / float64(restN)
		if in.Errors >= minOutlierErrors && in.ErrorRate >= outlierFactor*restRate && in.ErrorRate >= restRate+0.001 &&
			ErrorRatesZ(VersionCalls{Requests: in.Requests, Errors: in.Errors}, VersionCalls{Requests: restN, Errors: restE}) > outlierZ {
			in.Outlier = append(in.Outlier, "errors")
			in.Why = append(in.Why, fmt.Sprintf("fails %.1f%% of its requests against %.1f%% for %s", 100*in.ErrorRate, 100*restRate, others))
		}
		if in.Requests < minOutlierRequests || len(medians) == 0 {
			continue
		}
		slices.Sort(medians)
		typical := medians[len(medians)/2]
		if len(medians)%2 == 0 {
			typical = (medians[len(medians)/2-1] + typical) / 2
		}
		if typical > 0 && in.P50Ms >= outlierFactor*typical {
			in.Outlier = append(in.Outlier, "latency")
			in.Why = append(in.Why, fmt.Sprintf("median %s against %s for %s (%.1f times)", formatMs(in.P50Ms), formatMs(typical), others, in.P50Ms/typical))
		}
	}
	// Outliers first, then the busiest.
	slices.SortStableFunc(list, func(a, b Instance) int {
		if c := cmp.Compare(len(b.Outlier), len(a.Outlier)); c != 0 {
			return c
		}
		return cmp.Compare(b.Requests, a.Requests)
	})
}

// formatMs prints a duration in milliseconds for people.
func formatMs(ms float64) string {
	switch {
	case ms >= 1000:
		return fmt.Sprintf("%.2f s", ms/1000)
	case ms >= 10:
		return fmt.Sprintf("%.0f ms", ms)
	}
	return fmt.Sprintf("%.2f ms", ms)
}
