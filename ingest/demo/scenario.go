package demo

import (
	"fmt"
	"slices"
	"sort"
	"time"
)

// Scenario is what changes in the mesh during a run, and where. Every
// change starts one scenario period after the run starts (Start) and then
// lasts until the run ends; canary-bad's canary degrades gradually over
// four more periods, its application errors raising an exception type of
// their own (a new bug, which the Exceptions page shows new, in that
// version only). In every scenario but steady the canaries (each service's
// versions but its first) are deployed half a period in, before the
// change: they take no calls before (Rollout), so the Deployments page
// lists them and the node panels mark them.
type Scenario struct {
	// Name is one of Scenarios().
	Name string
	// Target is the service that changes: the failing service, the slow
	// database, the service whose canary degrades, or the new service;
	// nil for steady.
	Target *Service
	// Version is the degrading version (canary-bad).
	Version string
	// Pod is the failing pod of Target (bad-pod): the first pod of its
	// first version.
	Pod *Pod
	// Calls are the calls whose picture changes: the calls into Target,
	// or, for new-service, the calls that appear.
	Calls []*Call
}

// FailShare is the share of calls into the failing-dependency target that
// fail once the scenario has started: ConnFailureShare of them as
// connection failures seen only by the caller's sidecar (503 UF), the rest
// as 503 answered by the target.
const (
	FailShare        = 0.75
	ConnFailureShare = 0.5
	// SlowFactor multiplies the latency of the slow-database target.
	SlowFactor = 20
	// CanaryErrorRate is the error rate the canary-bad version reaches at
	// the end of its ramp; its latency grows up to CanaryLatencyFactor
	// times.
	CanaryErrorRate     = 0.4
	CanaryLatencyFactor = 5
	// RampPeriods is how many periods canary-bad takes to degrade fully.
	RampPeriods = 4
	// BadPodErrorRate is the extra error rate of bad-pod's pod, whose
	// latency is BadPodLatencyFactor times its siblings'.
	BadPodErrorRate     = 0.3
	BadPodLatencyFactor = 4
)

// Start is when the scenario's change begins in a run with the given
// scenario period.
func (s Scenario) Start(period time.Duration) time.Duration { return period }

// Rollout is when the canaries are deployed (0 for steady: there from the
// start).
func (s Scenario) Rollout(period time.Duration) time.Duration {
	if s.Name == ScenarioSteady {
		return 0
	}
	return period / 2
}

// Edges returns the ids (SOURCE->TARGET, as meshscope's API spells them)
// of the edges whose picture changes.
func (s Scenario) Edges() []string {
	out := make([]string, 0, len(s.Calls))
	seen := map[string]bool{}
	for _, c := range s.Calls {
		if id := c.String(); !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

// effect is what the scenario does at one moment.
type effect struct {
	failShare    float64 // calls into Target that fail
	latency      float64 // latency factor of Target, or of its Version's workload
	canaryErrors float64 // extra error rate of the Version's workload
	// canariesDeployed: every service's versions but its first take calls.
	canariesDeployed bool
	newActive        bool // the new service and its calls are live
	badPod           bool // bad-pod's pod fails and is slow
}

// effectAt returns the scenario's effect at elapsed time of a run.
func (s *Scenario) effectAt(elapsed, period time.Duration) effect {
	e := effect{latency: 1, canariesDeployed: elapsed >= s.Rollout(period)}
	start := s.Start(period)
	if elapsed < start {
		return e
	}
	switch s.Name {
	case ScenarioFailingDependency:
		e.failShare = FailShare
	case ScenarioSlowDatabase:
		e.latency = SlowFactor
	case ScenarioCanaryBad:
		ramp := min(float64(elapsed-start)/float64(RampPeriods*period), 1)
		e.canaryErrors = CanaryErrorRate * ramp
		e.latency = 1 + (CanaryLatencyFactor-1)*ramp
	case ScenarioNewService:
		e.newActive = true
	case ScenarioBadPod:
		e.badPod = true
	}
	return e
}

// chooseScenario picks the scenario's target in t.
func chooseScenario(t *Topology, name string) (Scenario, error) {
	sc := Scenario{Name: name}
	switch name {
	case ScenarioSteady:
		return sc, nil
	case ScenarioFailingDependency:
		var cands []*Service
		for _, s := range t.ServicesOf(KindMidTier) {
			if s.Protocol == ProtocolHTTP && !s.New && hasCaller(s) {
				cands = append(cands, s)
			}
		}
		if len(cands) == 0 {
			cands = t.ServicesOf(KindMidTier)
		}
		sort.SliceStable(cands, func(i, j int) bool { return len(cands[i].Callers) > len(cands[j].Callers) })
		// The second busiest, so that the biggest hub stays up.
		sc.Target = cands[min(1, len(cands)-1)]
	case ScenarioSlowDatabase:
		sc.Target = busiest(t.ServicesOf(KindDatabase))
	case ScenarioCanaryBad:
		sc.Target = busiest(t.Canaries())
		sc.Version = "v2"
	case ScenarioBadPod:
		sc.Target = badPodTarget(t)
		if sc.Target != nil {
			sc.Pod = sc.Target.Workloads[0].Pods[0]
		}
	case ScenarioNewService:
		for _, s := range t.Services {
			if s.New {
				sc.Target = s
			}
		}
		for _, c := range t.Calls {
			if c.New {
				sc.Calls = append(sc.Calls, c)
			}
		}
		return sc, nil
	}
	if sc.Target == nil {
		return sc, fmt.Errorf("scenario %s: the mesh has no service to apply it to", name)
	}
	sc.Calls = append(sc.Calls, sc.Target.Callers...)
	return sc, nil
}

// badPodTarget is the service of bad-pod: a service whose first version
// runs two pods or more, preferring traced HTTP services (their spans name
// their pods), then mid-tier ones (as failing-dependency), then those with
// the most pods, then the busiest.
func badPodTarget(t *Topology) *Service {
	rank := func(s *Service) []int {
		b := func(v bool) int {
			if v {
				return 1
			}
			return 0
		}
		return []int{b(s.Traced && s.Protocol == ProtocolHTTP), b(s.Kind == KindMidTier), len(s.Workloads[0].Pods), len(s.Callers)}
	}
	var best *Service
	for _, s := range t.Services {
		if s.New || s.Kind == KindGateway || s.Kind == KindJob || len(s.Workloads) == 0 || !hasCaller(s) || len(s.Workloads[0].Pods) < 2 {
			continue
		}
		if best == nil || slices.Compare(rank(s), rank(best)) > 0 {
			best = s
		}
	}
	return best
}
