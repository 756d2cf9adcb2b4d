package demo

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
)

// Retries follow what the OTLP specification and Prometheus do: retry
// UNAVAILABLE, RESOURCE_EXHAUSTED (and the other transient gRPC codes) and
// HTTP 429 and 5xx with exponential backoff and jitter, waiting at least
// what the server asks (gRPC RetryInfo, HTTP Retry-After); give up after
// maxAttempts and count an error. Nothing the server answers ends the run.

const (
	maxAttempts  = 6
	backoffBase  = 250 * time.Millisecond
	backoffMax   = 10 * time.Second
	retryAfterUp = time.Minute // longest Retry-After honoured
)

// backoff is the wait before attempt n+1 (n from 0), at least floor.
func backoff(n int, floor time.Duration) time.Duration {
	d := backoffBase << min(n, 10)
	d = min(d, backoffMax)
	d = d/2 + time.Duration(rand.Int64N(int64(d/2)+1))
	return max(d, min(floor, retryAfterUp))
}

// sleep waits d or until ctx ends, and reports whether the wait completed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// grpcRetry tells whether a gRPC error is worth retrying, and the delay the
// server asked for.
func grpcRetry(err error) (bool, time.Duration) {
	st, ok := status.FromError(err)
	if !ok {
		return !errors.Is(err, context.Canceled), 0
	}
	var delay time.Duration
	for _, d := range st.Proto().GetDetails() {
		if d.GetTypeUrl() == retryInfoType {
			delay = retryDelay(d.GetValue())
		}
	}
	switch st.Code() {
	case codes.Unavailable, codes.DeadlineExceeded, codes.Aborted, codes.OutOfRange, codes.DataLoss, codes.Canceled:
		return true, delay
	case codes.ResourceExhausted:
		return true, max(delay, time.Second)
	}
	return false, 0
}

// retryInfoType is the type URL of google.rpc.RetryInfo, which servers
// attach to a status to say when to retry.
const retryInfoType = "type.googleapis.com/google.rpc.RetryInfo"

// retryDelay reads RetryInfo.retry_delay (field 1, a Duration).
func retryDelay(b []byte) time.Duration {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return 0
		}
		b = b[n:]
		if num == 1 && typ == protowire.BytesType {
			v, n := protowire.ConsumeBytes(b)
			var d durationpb.Duration
			if n < 0 || proto.Unmarshal(v, &d) != nil {
				return 0
			}
			return d.AsDuration()
		}
		n = protowire.ConsumeFieldValue(num, typ, b)
		if n < 0 {
			return 0
		}
		b = b[n:]
	}
	return 0
}

// httpRetry tells whether an HTTP answer is worth retrying, and the delay
// its Retry-After asks for.
func httpRetry(resp *http.Response) (bool, time.Duration) {
	if resp.StatusCode != http.StatusTooManyRequests && resp.StatusCode < 500 {
		return false, 0
	}
	return true, retryAfter(resp.Header.Get("Retry-After"), time.Now())
}

// retryAfter reads a Retry-After value: seconds or an HTTP date.
func retryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil && s >= 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// errLog logs failures of one channel at most once per interval, with the
// number left unlogged.
type errLog struct {
	mu       sync.Mutex
	logger   *slog.Logger
	every    time.Duration
	last     map[string]time.Time
	suppress map[string]int
}

func newErrLog(l *slog.Logger, every time.Duration) *errLog {
	return &errLog{logger: l, every: every, last: map[string]time.Time{}, suppress: map[string]int{}}
}

func (e *errLog) log(channel, msg string, err error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	now := time.Now()
	if now.Sub(e.last[channel]) < e.every {
		e.suppress[channel]++
		return
	}
	e.logger.Warn("demo: "+msg, "channel", channel, "err", err, "suppressed", e.suppress[channel])
	e.last[channel], e.suppress[channel] = now, 0
}
