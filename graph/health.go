package graph

import "fmt"

// Node health values.
const (
	HealthHealthy  = "healthy"
	HealthDegraded = "degraded"
	HealthFailing  = "failing"
	HealthIdle     = "idle"
)

// HealthThresholds are error rates (0..1) at which a node turns degraded and
// failing.
type HealthThresholds struct {
	// Degraded is the error rate from which a node is degraded (default 0.001, 0.1 %).
	Degraded float64 `yaml:"degraded"`
	// Failing is the error rate from which a node is failing (default 0.1, 10 %).
	Failing float64 `yaml:"failing"`
}

// HealthRule overrides the thresholds for a namespace, or for one service of
// a namespace.
type HealthRule struct {
	// Namespace the rule applies to.
	Namespace string `yaml:"namespace"`
	// Service, when set, restricts the rule to that service (node name).
	Service string `yaml:"service"`
	// Thresholds for the matching nodes.
	HealthThresholds `yaml:",inline"`
}

// HealthConfig says how node health is derived from error rates, as Kiali
// does: the node's error rate is the larger of its inbound and outbound error
// rates; a node without traffic is idle.
type HealthConfig struct {
	// Default thresholds (zero: Kiali's, degraded at 0.1 %, failing at 10 %).
	Default HealthThresholds `yaml:"default"`
	// Rules override Default; a rule naming the service wins over one that
	// names only the namespace.
	Rules []HealthRule `yaml:"rules"`
}

// DefaultHealthThresholds are Kiali's defaults.
var DefaultHealthThresholds = HealthThresholds{Degraded: 0.001, Failing: 0.1}

func (t HealthThresholds) validate(key string) error {
	if t.Degraded < 0 || t.Degraded > 1 || t.Failing < 0 || t.Failing > 1 {
		return fmt.Errorf("%s: thresholds must be error rates between 0 and 1", key)
	}
	if t.Failing != 0 && t.Degraded > t.Failing {
		return fmt.Errorf("%s: degraded (%g) above failing (%g)", key, t.Degraded, t.Failing)
	}
	return nil
}

// Validate checks the thresholds.
func (c HealthConfig) Validate() error {
	if err := c.Default.validate("health.default"); err != nil {
		return err
	}
	for i, r := range c.Rules {
		if r.Namespace == "" {
			return fmt.Errorf("health.rules[%d].namespace: required", i)
		}
		if err := r.validate(fmt.Sprintf("health.rules[%d]", i)); err != nil {
			return err
		}
	}
	return nil
}

// Thresholds returns the thresholds that apply to a node.
func (c *HealthConfig) Thresholds(namespace, name string) HealthThresholds {
	t := c.Default
	if t == (HealthThresholds{}) {
		t = DefaultHealthThresholds
	}
	nsMatch := -1
	for i := range c.Rules {
		r := &c.Rules[i]
		if r.Namespace != namespace {
			continue
		}
		if r.Service == name && name != "" {
			return r.HealthThresholds
		}
		if r.Service == "" && nsMatch < 0 {
			nsMatch = i
		}
	}
	if nsMatch >= 0 {
		return c.Rules[nsMatch].HealthThresholds
	}
	return t
}

// Health classifies a node from its inbound and outbound totals.
func (c *HealthConfig) Health(namespace, name string, reqIn, errIn, reqOut, errOut uint64) string {
	if reqIn == 0 && reqOut == 0 {
		return HealthIdle
	}
	rate := 0.0
	if reqIn > 0 {
		rate = float64(errIn) / float64(reqIn)
	}
	if reqOut > 0 {
		rate = max(rate, float64(errOut)/float64(reqOut))
	}
	t := c.Thresholds(namespace, name)
	switch {
	case t.Failing > 0 && rate >= t.Failing:
		return HealthFailing
	case t.Degraded > 0 && rate >= t.Degraded:
		return HealthDegraded
	}
	return HealthHealthy
}
