// Package spec defines service level objectives as users write them: the
// meshscope short form (a `slos:` list) and an OpenSLO v1 subset, parsed from
// YAML or JSON, checked field by field (errors name the field path and the
// reason) and resolved against engine defaults. It is pure: it imports
// nothing of meshscope and does no I/O beyond the bytes it is given.
package spec

// SLO is one service level objective in meshscope's short form, as written.
// Optional parts left out are filled from the engine's defaults by Resolve;
// a resolved SLO is what the evaluator uses.
type SLO struct {
	// Name identifies the SLO: lower case letters, digits, '-', '_' and '.',
	// at most 128 characters. It is the `slo` label of alerts and metrics.
	Name string `yaml:"name" json:"name"`
	// Description is free text shown in the UI and in alert annotations.
	Description string `yaml:"description,omitempty" json:"description,omitempty"`
	// Target says which requests the SLO is about: a service, an edge or a filter.
	Target Target `yaml:"target" json:"target"`
	// SLI says which requests are good: availability or latency.
	SLI SLI `yaml:"sli" json:"sli"`
	// Objective is the share of good requests aimed at, in percent (99.9).
	Objective float64 `yaml:"objective" json:"objective"`
	// Window is the SLO window over which the error budget is counted.
	Window Window `yaml:"window" json:"window"`
	// Errors overrides which requests count as bad for availability SLIs;
	// nil means meshscope's one error rule.
	Errors *ErrorRule `yaml:"errors,omitempty" json:"errors,omitempty"`
	// Alerting overrides the engine's alerting defaults; nil keeps them all.
	Alerting *Alerting `yaml:"alerting,omitempty" json:"alerting,omitempty"`
	// Labels are added to every alert of the SLO.
	Labels map[string]string `yaml:"labels,omitempty" json:"labels,omitempty"`
}

// File is the short form of a spec file.
type File struct {
	SLOs []SLO `yaml:"slos" json:"slos"`
}

// Service is the namespace/name of the service the SLO belongs to, for the
// `service` label: the target service, else the destination of the edge or
// filter when it is a service, else "".
func (s *SLO) Service() string {
	id := s.Target.Service
	switch {
	case s.Target.Edge != nil:
		id = s.Target.Edge.Destination
	case s.Target.Filter != nil:
		id = s.Target.Filter.Destination
	}
	if ns, name, ok := ServiceParts(id); ok {
		return ns + "/" + name
	}
	return ""
}
