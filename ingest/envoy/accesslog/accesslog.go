// Package accesslog turns Envoy access log lines (text lines written with an
// Envoy format string, the Envoy and Istio defaults, and Istio's JSON
// encoding) into Entry values, and decodes the names those lines carry:
// upstream cluster names of Istio, Consul, AWS App Mesh, Gloo and plain Envoy,
// and Kubernetes workload and pod names. Parsing is byte scanning over a
// compiled list of tokens with no regular expressions and no allocation per
// line, so that receivers can call it on every line they ingest. It is a leaf
// of the ingest path: it must never import query/ or graph/ code, and of
// meshscope it may import nothing but schema/.
package accesslog

import (
	"fmt"
	"strings"
)

// LineParser parses one access log line into e.
//
// Parse resets e before filling it. A trailing "\n" or "\r\n" is ignored. On
// success the string fields of e may alias line and e's own scratch buffer:
// they stay valid only while line is not modified and until the next Parse
// into the same Entry. Callers that keep an entry beyond that use
// [Entry.Clone]. On failure Parse returns a *[ParseError] and the contents
// of e are unspecified.
//
// Implementations are safe for concurrent use by several goroutines, each
// with its own Entry.
type LineParser interface {
	Parse(line []byte, e *Entry) error
}

// Preset names accepted by [ParserFor].
const (
	// PresetEnvoy is Envoy's default text format; lines that carry
	// %RESPONSE_CODE_DETAILS% after the flags are accepted too.
	PresetEnvoy = "envoy"
	// PresetEnvoyDetails is Envoy's default text format with
	// %RESPONSE_CODE_DETAILS% after the flags; plain default lines are
	// accepted too.
	PresetEnvoyDetails = "envoy-details"
	// PresetIstio is Istio's default text format: 1.24 and later
	// (%UPSTREAM_CLUSTER_RAW%), 1.9 to 1.23 and custom formats that kept
	// %UPSTREAM_CLUSTER% (whose value 1.24 and later end with ';', which
	// is dropped), and older lines: with the Mixer status (1.3 to 1.8) or
	// without any details fields.
	PresetIstio = "istio"
	// PresetIstioJSON is Istio's JSON encoding (accessLogEncoding: JSON).
	PresetIstioJSON = "istio-json"
)

// Presets returns the preset names accepted by [ParserFor].
func Presets() []string {
	return []string{PresetEnvoy, PresetEnvoyDetails, PresetIstio, PresetIstioJSON}
}

// ParserFor returns the parser for a preset name (see [Presets]) or, when
// name is not a preset and contains a '%', for name read as an Envoy format
// string (see [Compile]).
func ParserFor(name string) (LineParser, error) {
	switch name {
	case PresetEnvoy:
		return envoyPreset(false), nil
	case PresetEnvoyDetails:
		return envoyPreset(true), nil
	case PresetIstio:
		return istioPreset(), nil
	case PresetIstioJSON:
		return NewJSONParser(), nil
	}
	if strings.IndexByte(name, '%') < 0 {
		return nil, fmt.Errorf("access log format %q: not a preset (%s) and not a format string",
			name, strings.Join(Presets(), ", "))
	}
	p, err := Compile(name)
	if err != nil {
		return nil, fmt.Errorf("access log format: %w", err)
	}
	return p, nil
}

// trimEOL drops one trailing "\n" or "\r\n" and any further '\r'.
func trimEOL(line []byte) []byte {
	n := len(line)
	if n > 0 && line[n-1] == '\n' {
		n--
	}
	for n > 0 && line[n-1] == '\r' {
		n--
	}
	return line[:n]
}
