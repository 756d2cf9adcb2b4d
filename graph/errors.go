package graph

import (
	"slices"
	"strings"
)

// envoyFailureFlags are the Envoy response flags that mean the request failed
// whatever the status code says.
var envoyFailureFlags = map[string]bool{
	"UH": true, "UF": true, "UO": true, "NR": true, "URX": true, "NC": true, "DT": true,
	"LH": true, "UT": true, "LR": true, "UR": true, "UC": true, "FI": true,
	"RL": true, "UAEX": true, "RLSE": true, "IH": true, "SI": true, "DPE": true, "UPE": true,
	"UMSDR": true, "OM": true, "DF": true, "NFCF": true,
}

// EnvoyFailureFlags returns the Envoy response flags that fail a request
// whatever its status code says, sorted: for rules written elsewhere (SQL)
// that must agree with IsError.
func EnvoyFailureFlags() []string {
	out := make([]string, 0, len(envoyFailureFlags))
	for f := range envoyFailureFlags {
		out = append(out, f)
	}
	slices.Sort(out)
	return out
}

// Status is what a call returned, in the terms of whichever input saw it.
type Status struct {
	Protocol Protocol
	// HTTPCode is the HTTP status; 0 means no response was sent (an error)
	// when HTTPKnown is set.
	HTTPCode  int
	HTTPKnown bool
	// GRPCCode is the gRPC status, -1 unknown.
	GRPCCode int
	// SpanError is an OpenTelemetry span status of ERROR.
	SpanError bool
	// EnvoyFlags are Envoy response flags, comma separated ("-" or "" none).
	EnvoyFlags string
}

// IsError is the one error rule of meshscope, used by the graph, the health
// of nodes and the availability SLIs: a 5xx or no response (code 0), a
// non-OK gRPC status other than the client-side ones, a span with status
// ERROR, or an Envoy response flag that means failure.
func IsError(s Status) bool {
	if s.SpanError {
		return true
	}
	if s.HTTPKnown && (s.HTTPCode >= 500 || s.HTTPCode == 0) {
		return true
	}
	if s.GRPCCode > 0 {
		return true
	}
	if s.EnvoyFlags != "" && s.EnvoyFlags != "-" {
		for f := range strings.SplitSeq(s.EnvoyFlags, ",") {
			if envoyFailureFlags[strings.TrimSpace(f)] {
				return true
			}
		}
	}
	return false
}
