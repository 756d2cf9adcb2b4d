// Package ingest holds the contract between meshscope's receivers (OTLP,
// Envoy access logs, Prometheus remote_write, scraping) and its durable
// pipeline: receivers decode and normalise their input into schema rows and
// graph observations and hand them to an Appender, which acknowledges only
// once they are in the write-ahead log. ingest/ never imports query/.
package ingest

import (
	"context"
	"errors"
	"fmt"

	"github.com/meshscope/meshscope/graph"
	"github.com/meshscope/meshscope/schema"
)

// Appender takes normalised input. Append returns nil only after the batch and
// the observations are durable in the write-ahead log; then, and only then,
// may the receiver acknowledge its client. The Appender copies what it needs:
// the caller may reuse b and obs after Append returns.
type Appender interface {
	Append(ctx context.Context, b *schema.Batch, obs []graph.Observation) error
}

// ErrBackpressure is returned (wrapped) by Append when the write-ahead log is
// at its bound: the client should retry later (gRPC RESOURCE_EXHAUSTED or
// UNAVAILABLE, HTTP 429/503 with Retry-After).
var ErrBackpressure = errors.New("write-ahead log is full; retry later")

// InputError is bad input: receivers answer gRPC InvalidArgument or HTTP 400
// with its message, and count it under Reason.
type InputError struct {
	// Reason is a short, fixed label for metrics (e.g. "bad_protobuf").
	Reason string
	// Field names the offending field or parameter, when there is one.
	Field string
	// Err says what is wrong.
	Err error
}

func (e *InputError) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("%s: %v", e.Field, e.Err)
	}
	return e.Err.Error()
}

func (e *InputError) Unwrap() error { return e.Err }

// BadInput builds an *InputError.
func BadInput(reason, field string, format string, args ...any) *InputError {
	return &InputError{Reason: reason, Field: field, Err: fmt.Errorf(format, args...)}
}

// Atoi parses a non-negative decimal number of at most nine digits, as
// status codes, ports and counts in access logs and metric labels are,
// without allocating; unlike strconv.Atoi it takes no sign.
func Atoi(s string) (int, bool) {
	if s == "" || len(s) > 9 {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}
