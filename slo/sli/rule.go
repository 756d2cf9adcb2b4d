package sli

// Counting rules:
//
//   - Requests are Envoy access log rows. A request seen by both sidecars
//     has two rows; as in the graph, the destination reporter's row wins: for
//     every (source, destination) pair that has destination-reported rows in
//     the queried range (or hour, for hourly counts), source-side rows are
//     dropped unless the request never reached the destination (response
//     flags UH, UF, UO, NR, URX, NC, DF, or no response on HTTP).
//   - Spans count only for service targets (and filters on a destination
//     service without a source), as the target's SERVER spans, and only when
//     the target has no request row in the queried range: a service with
//     access logs is measured by them, a span-only service by its spans, so
//     nothing is counted twice.
//   - Availability uses meshscope's error rule (graph/errors.go) unless the
//     SLO overrides it; latency counts a request as bad when duration_ns is
//     over the threshold, exactly, from raw rows.

import (
	"fmt"
	"strings"

	"github.com/meshscope/meshscope/schema"
	"github.com/meshscope/meshscope/slo/spec"
)

// NotReachedFlags are the response flags with which the source side gave up
// before the destination saw the request: schema's (which the ingest side's
// accesslog.NotReached is held equal to by the parity tests).
var NotReachedFlags = schema.RequestNotReachedFlags

// flagsAny is true for a row with any of flags (validated: upper case
// letters only).
func flagsAny(flags []string) string { return schema.RequestFlagsAnySQL(flags) }

// duplicateExpr is true for a source-side row of a request that reached its
// destination: the destination's row of the same request, when the pair
// has destination-reported rows, counts instead (schema's rule, shared with
// the API's edge detail).
func duplicateExpr() string { return schema.RequestDuplicateSQL() }

// requestsBad is the SQL condition of a bad row of the requests table.
func requestsBad(s *spec.SLO) string {
	if s.SLI.Kind == spec.Latency {
		return fmt.Sprintf("duration_ns > %d", s.SLI.Threshold.D().Nanoseconds())
	}
	codes, flags := spec.DefaultCodes(), spec.DefaultFailureFlags
	if s.Errors != nil {
		codes, flags = s.Errors.Resolved()
	}
	var or, http []string
	for _, c := range codes {
		switch {
		case c.IsGRPC && c.GRPCAny:
			or = append(or, "grpc_status > 0")
		case c.IsGRPC:
			or = append(or, fmt.Sprintf("grpc_status = %d", c.GRPC))
		case c.HTTPFrom == c.HTTPTo:
			http = append(http, fmt.Sprintf("response_code = %d", c.HTTPFrom))
		default:
			http = append(http, fmt.Sprintf("response_code BETWEEN %d AND %d", c.HTTPFrom, c.HTTPTo))
		}
	}
	if len(http) > 0 {
		// HTTP codes mean nothing on TCP rows (their code is 0).
		or = append([]string{"(lower(protocol) != 'tcp' AND (" + strings.Join(http, " OR ") + "))"}, or...)
	}
	if len(flags) > 0 {
		or = append(or, flagsAny(flags))
	}
	if len(or) == 0 {
		return "0"
	}
	return strings.Join(or, " OR ")
}

// spansBad is the SQL condition of a bad server span. A span with status
// ERROR is always bad for availability; HTTP code 0 means unknown on spans.
func spansBad(s *spec.SLO) string {
	if s.SLI.Kind == spec.Latency {
		return fmt.Sprintf("duration_ns > %d", s.SLI.Threshold.D().Nanoseconds())
	}
	codes := spec.DefaultCodes()
	if s.Errors != nil {
		codes, _ = s.Errors.Resolved()
	}
	or := []string{"status_code = 2"}
	for _, c := range codes {
		switch {
		case c.IsGRPC && c.GRPCAny:
			or = append(or, "rpc_grpc_status_code > 0")
		case c.IsGRPC:
			or = append(or, fmt.Sprintf("rpc_grpc_status_code = %d", c.GRPC))
		case c.HTTPFrom == 0:
		case c.HTTPFrom == c.HTTPTo:
			or = append(or, fmt.Sprintf("http_status_code = %d", c.HTTPFrom))
		default:
			or = append(or, fmt.Sprintf("http_status_code BETWEEN %d AND %d", c.HTTPFrom, c.HTTPTo))
		}
	}
	return strings.Join(or, " OR ")
}

// edgesUsable reports whether the edges_* aggregates measure the SLO: an
// availability SLI with meshscope's error rule on a service or an edge.
func edgesUsable(s *spec.SLO) bool {
	_, ok := edgesTarget(s.Target)
	return ok && s.SLI.Kind == spec.Availability && s.Errors == nil
}

// RequestsBadSQL is the SQL condition, over the columns of the requests
// table, that makes a request bad for the SLO's SLI. It is the error rule
// of graph/errors.go (or the SLO's override) for availability, and
// duration_ns over the threshold for latency.
func RequestsBadSQL(s *spec.SLO) string { return requestsBad(s) }

// SpansBadSQL is the same over the columns of the spans table.
func SpansBadSQL(s *spec.SLO) string { return spansBad(s) }
