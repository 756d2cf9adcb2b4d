package spec

import (
	"fmt"
	"strconv"
	"strings"
)

// ErrorRule overrides which requests an availability SLI counts as bad. It
// replaces meshscope's error rule as a whole: a request is bad when its
// status matches one of Codes or its Envoy response flags include one of
// Flags. The token "default" stands for the error rule's own codes or flags,
// so `codes: [default, "429"]` adds 429 to them.
type ErrorRule struct {
	// Codes are HTTP status classes ("5xx"), HTTP codes ("503"), "0" (no
	// response), gRPC statuses ("grpc:14", "grpc:UNAVAILABLE", "grpc:*" for
	// any non-OK status) or "default" (5xx, 0 and grpc:*).
	Codes []string `yaml:"codes,omitempty" json:"codes,omitempty"`
	// Flags are Envoy response flags ("UH", "UF", "URX" ...) or "default"
	// (the flags meshscope's error rule counts as failures).
	Flags []string `yaml:"flags,omitempty" json:"flags,omitempty"`
}

// DefaultFailureFlags are the Envoy response flags that meshscope's error
// rule counts as failures whatever the status code (graph/errors.go).
var DefaultFailureFlags = []string{
	"UH", "UF", "UO", "NR", "URX", "NC", "DT", "LH", "UT", "LR", "UR", "UC", "FI",
	"RL", "UAEX", "RLSE", "IH", "SI", "DPE", "UPE", "UMSDR", "OM", "DF", "NFCF",
}

// envoyFlags are every Envoy response flag short name, failures or not.
var envoyFlags = func() map[string]bool {
	m := map[string]bool{"DC": true, "DI": true, "DO": true}
	for _, f := range DefaultFailureFlags {
		m[f] = true
	}
	return m
}()

var grpcNames = map[string]int{
	"CANCELLED": 1, "UNKNOWN": 2, "INVALID_ARGUMENT": 3, "DEADLINE_EXCEEDED": 4, "NOT_FOUND": 5,
	"ALREADY_EXISTS": 6, "PERMISSION_DENIED": 7, "RESOURCE_EXHAUSTED": 8, "FAILED_PRECONDITION": 9,
	"ABORTED": 10, "OUT_OF_RANGE": 11, "UNIMPLEMENTED": 12, "INTERNAL": 13, "UNAVAILABLE": 14,
	"DATA_LOSS": 15, "UNAUTHENTICATED": 16,
}

// CodeMatch is one parsed entry of ErrorRule.Codes.
type CodeMatch struct {
	// HTTPFrom and HTTPTo bound matching HTTP codes (inclusive); both 0 and
	// HTTP set means "no response" (code 0).
	HTTPFrom, HTTPTo int
	HTTP             bool
	// GRPC is a gRPC status; -1 with GRPCAny means any non-OK status.
	GRPC    int
	GRPCAny bool
	IsGRPC  bool
}

// ParseCode parses one entry of ErrorRule.Codes (not "default").
func ParseCode(c string) (CodeMatch, error) {
	c = strings.TrimSpace(c)
	if g, ok := strings.CutPrefix(strings.ToLower(c), "grpc:"); ok {
		if g == "*" {
			return CodeMatch{IsGRPC: true, GRPCAny: true, GRPC: -1}, nil
		}
		if n, err := strconv.Atoi(g); err == nil {
			if n < 1 || n > 16 {
				return CodeMatch{}, fmt.Errorf("gRPC status %d: want 1-16 (0 is OK)", n)
			}
			return CodeMatch{IsGRPC: true, GRPC: n}, nil
		}
		if n, ok := grpcNames[strings.ToUpper(g)]; ok {
			return CodeMatch{IsGRPC: true, GRPC: n}, nil
		}
		return CodeMatch{}, fmt.Errorf("unknown gRPC status %q", c)
	}
	if len(c) == 3 && strings.HasSuffix(strings.ToLower(c), "xx") && c[0] >= '1' && c[0] <= '5' {
		from := int(c[0]-'0') * 100
		return CodeMatch{HTTP: true, HTTPFrom: from, HTTPTo: from + 99}, nil
	}
	n, err := strconv.Atoi(c)
	if err != nil || (n != 0 && (n < 100 || n > 599)) {
		return CodeMatch{}, fmt.Errorf("want an HTTP code (100-599), a class such as 5xx, 0 for no response, or grpc:STATUS (got %q)", c)
	}
	return CodeMatch{HTTP: true, HTTPFrom: n, HTTPTo: n}, nil
}

// Resolved expands "default" tokens and returns the code matches and flags.
// It assumes the rule is valid.
func (r *ErrorRule) Resolved() (codes []CodeMatch, flags []string) {
	seen := map[string]bool{}
	for _, f := range r.Flags {
		list := []string{strings.ToUpper(strings.TrimSpace(f))}
		if list[0] == "DEFAULT" {
			list = DefaultFailureFlags
		}
		for _, x := range list {
			if !seen[x] {
				seen[x] = true
				flags = append(flags, x)
			}
		}
	}
	for _, c := range r.Codes {
		if strings.EqualFold(strings.TrimSpace(c), "default") {
			codes = append(codes, DefaultCodes()...)
			continue
		}
		if m, err := ParseCode(c); err == nil {
			codes = append(codes, m)
		}
	}
	return codes, flags
}

// DefaultCodes are the statuses meshscope's error rule counts as failures:
// 500 and above, no response (0) and any non-OK gRPC status.
func DefaultCodes() []CodeMatch {
	return []CodeMatch{
		{HTTP: true, HTTPFrom: 500, HTTPTo: 999},
		{HTTP: true},
		{IsGRPC: true, GRPCAny: true, GRPC: -1},
	}
}

func (r *ErrorRule) validate(path string) *FieldError {
	for i, c := range r.Codes {
		if strings.EqualFold(strings.TrimSpace(c), "default") {
			continue
		}
		if _, err := ParseCode(c); err != nil {
			return &FieldError{Field: fmt.Sprintf("%s.codes[%d]", path, i), Reason: err.Error()}
		}
	}
	for i, f := range r.Flags {
		u := strings.ToUpper(strings.TrimSpace(f))
		if u != "DEFAULT" && !envoyFlags[u] {
			return &FieldError{Field: fmt.Sprintf("%s.flags[%d]", path, i), Reason: fmt.Sprintf("unknown Envoy response flag %q", f)}
		}
	}
	if len(r.Codes) == 0 && len(r.Flags) == 0 {
		return &FieldError{Field: path, Reason: "give codes, flags or both (leave errors out for meshscope's error rule)"}
	}
	return nil
}
