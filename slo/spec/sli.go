package spec

import (
	"fmt"
	"reflect"

	"gopkg.in/yaml.v3"
)

// SLI kinds.
const (
	// Availability counts a request as good unless it failed by the error
	// rule (meshscope's, or the SLO's Errors override).
	Availability = "availability"
	// Latency counts a request as good when it took at most Threshold.
	Latency = "latency"
)

// SLI is the service level indicator: which requests are good. It is
// written as `availability` or `{latency: {threshold: 300ms}}`.
type SLI struct {
	Kind string
	// Threshold is the latency SLI's bound: a request is good when its
	// duration is at or under it.
	Threshold Duration
}

type latencyForm struct {
	Threshold Duration `yaml:"threshold" json:"threshold"`
}

// UnmarshalYAML reads the scalar or mapping form.
func (s *SLI) UnmarshalYAML(n *yaml.Node) error {
	switch n.Kind {
	case yaml.ScalarNode:
		*s = SLI{Kind: n.Value}
		return nil
	case yaml.MappingNode:
		if len(n.Content) != 2 {
			return fmt.Errorf("line %d: want `availability` or `{latency: {threshold: 300ms}}`", n.Line)
		}
		kind := n.Content[0].Value
		switch kind {
		case Latency:
			var f latencyForm
			if err := n.Content[1].Decode(&f); err != nil {
				return err
			}
			*s = SLI{Kind: Latency, Threshold: f.Threshold}
		default:
			*s = SLI{Kind: kind}
		}
		return nil
	}
	return fmt.Errorf("line %d: want `availability` or `{latency: {threshold: 300ms}}`", n.Line)
}

func (s *SLI) checkKeys(n *yaml.Node, path string) *FieldError {
	if n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		switch key := n.Content[i].Value; key {
		case Latency:
			if err := checkKeys(n.Content[i+1], reflect.TypeOf(latencyForm{}), path+"."+key); err != nil {
				return err
			}
		case Availability:
		default:
			return &FieldError{Field: path + "." + key, Reason: "unknown SLI kind (want availability or latency)"}
		}
	}
	return nil
}

// MarshalYAML writes the short form.
func (s SLI) MarshalYAML() (any, error) {
	if s.Kind == Latency {
		return map[string]latencyForm{Latency: {Threshold: s.Threshold}}, nil
	}
	return s.Kind, nil
}

// MarshalJSON writes the same shape as MarshalYAML.
func (s SLI) MarshalJSON() ([]byte, error) {
	v, _ := s.MarshalYAML()
	return jsonMarshal(v)
}

// UnmarshalJSON reads the same shapes as UnmarshalYAML.
func (s *SLI) UnmarshalJSON(b []byte) error { return unmarshalJSONViaYAML(b, s) }
