package demo

import (
	"fmt"
	"math"
	"strings"
	"time"
)

// SLOs returns example SLOs for the mesh cfg generates, as an SLO spec
// file (docs/slo.md) that `serve --demo` loads, so that the SLO page and
// the alerts have something to show: the availability and latency of the
// requests entering the mesh through the ingress gateway, and an SLO on
// the scenario's target that its change breaks (the failing service's
// availability, the slow database's latency, the canary's service's
// availability, the bad pod's service's availability). With the default
// alerting the failing-dependency scenario pages within a few evaluations
// of its start.
func SLOs(cfg Config) ([]byte, error) {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	t, err := NewTopology(cfg.Services, cfg.Seed, cfg.Scenario)
	if err != nil {
		return nil, err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "# Example SLOs on the demo mesh (scenario %s).\nslos:\n", cfg.Scenario)
	slo := func(name, desc, target, sli string, objective float64, labels string) {
		fmt.Fprintf(&b, "  - name: %s\n    description: %q\n    target: %s\n    sli: %s\n    objective: %g\n    window: 28d\n    labels: {%s}\n",
			name, desc, target, sli, objective, labels)
	}
	// The gateway's access log entries name it as the source of the
	// requests it forwards into the mesh: those are the users' requests.
	ingress := fmt.Sprintf("{filter: {source: %s}}", serviceRef(t.Gateway))
	slo("ingress-availability", "Requests the ingress gateway forwards into the mesh that succeed.",
		ingress, "availability", 99, "team: edge, demo: \"true\"")
	slo("ingress-latency", "Requests the ingress gateway forwards into the mesh answered within 500 ms.",
		ingress, "{latency: {threshold: 500ms}}", 99, "team: edge, demo: \"true\"")
	sc := t.Scenario
	if sc.Target == nil || sc.Name == ScenarioNewService {
		return []byte(b.String()), nil
	}
	target := fmt.Sprintf("{service: %s}", serviceRef(sc.Target))
	team := fmt.Sprintf("team: %s, demo: \"true\"", sc.Target.Namespace)
	switch sc.Name {
	case ScenarioFailingDependency, ScenarioCanaryBad, ScenarioBadPod:
		slo(sc.Target.Name+"-availability", "Calls into "+sc.Target.Name+" that succeed.",
			target, "availability", 99.5, team)
	case ScenarioSlowDatabase:
		th := latencyThreshold(sc.Target.Latency)
		slo(sc.Target.Name+"-latency", fmt.Sprintf("Queries to %s answered within %s.", sc.Target.Name, th),
			target, fmt.Sprintf("{latency: {threshold: %s}}", th), 99, team)
	}
	return []byte(b.String()), nil
}

// serviceRef is the NAMESPACE/NAME an SLO target names a service by.
func serviceRef(s *Service) string { return s.Namespace + "/" + s.Name }

// latencyThreshold is a threshold that about 99.9 % of a service's calls
// meet while it keeps its latency (three standard deviations of the
// log-normal above the median) and few meet once SlowFactor times slower:
// at most 8 times the median, in whole milliseconds.
func latencyThreshold(l Latency) time.Duration {
	f := min(math.Exp(3*l.Sigma), 8)
	ms := math.Ceil(float64(l.Median) * f / float64(time.Millisecond))
	return time.Duration(max(ms, 1)) * time.Millisecond
}
