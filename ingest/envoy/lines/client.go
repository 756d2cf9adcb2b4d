package lines

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/klauspost/compress/gzip"
)

// Client sends batches of lines to a meshscope server's access log
// endpoint: the client side of Handler. It is safe for concurrent use.
type Client struct {
	// Server is the server's base URL, such as http://127.0.0.1:8080.
	Server string
	// Format, Emitter and Gateway are the request parameters (see
	// Handler); Gateway is "", "true" or "false".
	Format, Emitter, Gateway string
	// Token, when set, is sent as a bearer token.
	Token string
	// UserAgent identifies the client.
	UserAgent string
	// HTTP is the client to use; nil means http.DefaultClient.
	HTTP *http.Client
	// MaxAttempts bounds the attempts of a batch that fails for another
	// reason than backpressure (connection errors, 5xx). Default 8.
	MaxAttempts int
	// MaxWait caps the wait between attempts. Default 30s.
	MaxWait time.Duration
	// OnRetry, when set, is told about every wait before a new attempt.
	OnRetry func(reason string, wait time.Duration)
}

// RefusedError is a refusal that no retry changes: a bad parameter, a
// missing or wrong token, a server without the endpoint.
type RefusedError struct {
	// Status is the HTTP status.
	Status int
	// Field is the parameter at fault, when the server named one.
	Field string
	// Message is the server's reason.
	Message string
}

func (e *RefusedError) Error() string {
	switch {
	case e.Field != "":
		return fmt.Sprintf("server refused --%s: %s", e.Field, e.Message)
	case e.Status == http.StatusUnauthorized || e.Status == http.StatusForbidden:
		return fmt.Sprintf("server refused the request (%d %s): give a valid token with --token or MESHSCOPE_AUTH_TOKEN",
			e.Status, http.StatusText(e.Status))
	}
	return fmt.Sprintf("server refused the request (%d %s): %s", e.Status, http.StatusText(e.Status), e.Message)
}

// endpoint is the URL batches go to.
func (c *Client) endpoint() (string, error) {
	u, err := url.Parse(strings.TrimSuffix(c.Server, "/") + Path)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return "", fmt.Errorf("server %q: want a URL such as http://127.0.0.1:8080", c.Server)
	}
	q := url.Values{"format": {c.Format}}
	if c.Emitter != "" {
		q.Set("emitter", c.Emitter)
	}
	if c.Gateway != "" {
		q.Set("gateway", c.Gateway)
	}
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// gzipWriters keeps compressors between batches: each holds about a
// megabyte of tables.
var gzipWriters = sync.Pool{New: func() any {
	zw, _ := gzip.NewWriterLevel(nil, gzip.BestSpeed)
	return zw
}}

// Send posts body (whole lines), gzip-compressed. It retries 429 and 503
// for as long as ctx lasts, waiting what Retry-After asks, and other
// transient failures up to MaxAttempts; a body too large for the server is
// split in two. The Response counts every line: a batch none of whose
// lines parsed comes back as all rejected, not as an error. Errors are a
// *RefusedError, ctx's error, or the last transient failure.
func (c *Client) Send(ctx context.Context, body []byte) (Response, error) {
	target, err := c.endpoint()
	if err != nil {
		return Response{}, err
	}
	var zbuf bytes.Buffer
	zbuf.Grow(len(body) / 4)
	zw := gzipWriters.Get().(*gzip.Writer)
	zw.Reset(&zbuf)
	_, err = zw.Write(body)
	if err == nil {
		err = zw.Close()
	}
	gzipWriters.Put(zw)
	if err != nil {
		return Response{}, fmt.Errorf("compress batch: %w", err)
	}
	maxAttempts, maxWait := c.MaxAttempts, c.MaxWait
	if maxAttempts <= 0 {
		maxAttempts = 8
	}
	if maxWait <= 0 {
		maxWait = 30 * time.Second
	}
	backoff := 250 * time.Millisecond
	for attempt := 1; ; attempt++ {
		status, resp, eresp, err := c.post(ctx, target, zbuf.Bytes())
		var wait time.Duration
		reason := ""
		switch {
		case err != nil:
			if ctx.Err() != nil {
				return Response{}, ctx.Err()
			}
			if attempt >= maxAttempts {
				return Response{}, fmt.Errorf("send batch: %w", err)
			}
			reason, wait = err.Error(), backoff
		case status == http.StatusOK:
			return resp, nil
		case status == http.StatusBadRequest && eresp.Field == "body":
			// No line parsed: every line is rejected, the import goes on.
			return Response{Rejected: eresp.Rejected, Errors: eresp.Errors}, nil
		case status == http.StatusRequestEntityTooLarge:
			return c.split(ctx, body, eresp)
		case status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable:
			reason, wait = fmt.Sprintf("%d %s: %s", status, http.StatusText(status), eresp.Error), retryAfter(eresp.retryAfter, backoff)
			attempt = 0 // backpressure: retry as long as ctx lasts
		case status >= 500:
			if attempt >= maxAttempts {
				return Response{}, fmt.Errorf("send batch: %d %s: %s", status, http.StatusText(status), eresp.Error)
			}
			reason, wait = fmt.Sprintf("%d %s", status, http.StatusText(status)), backoff
		default:
			return Response{}, &RefusedError{Status: status, Field: eresp.Field, Message: eresp.Error}
		}
		wait = min(wait, maxWait)
		if c.OnRetry != nil {
			c.OnRetry(reason, wait)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return Response{}, ctx.Err()
		case <-t.C:
		}
		backoff = min(backoff*2, maxWait)
	}
}

// split sends the two halves of a body the server found too large.
func (c *Client) split(ctx context.Context, body []byte, eresp errorAnswer) (Response, error) {
	n := bytes.Count(body, []byte("\n"))
	if n < 2 {
		return Response{}, &RefusedError{Status: http.StatusRequestEntityTooLarge, Message: eresp.Error + " (a single line; the server's --max-request-bytes is too small)"}
	}
	cut := 0
	for i := 0; i < n/2; i++ {
		cut += bytes.IndexByte(body[cut:], '\n') + 1
	}
	a, err := c.Send(ctx, body[:cut])
	if err != nil {
		return Response{}, err
	}
	b, err := c.Send(ctx, body[cut:])
	if err != nil {
		return Response{}, err
	}
	for i := range b.Errors {
		b.Errors[i].Line += n / 2
	}
	return Response{Accepted: a.Accepted + b.Accepted, Rejected: a.Rejected + b.Rejected, Errors: append(a.Errors, b.Errors...)}, nil
}

// errorAnswer is an ErrorResponse with the Retry-After it came with.
type errorAnswer struct {
	ErrorResponse
	retryAfter string
}

func (c *Client) post(ctx context.Context, target string, gz []byte) (int, Response, errorAnswer, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(gz))
	if err != nil {
		return 0, Response{}, errorAnswer{}, err
	}
	req.Header.Set("Content-Type", "text/plain; charset=utf-8")
	req.Header.Set("Content-Encoding", "gzip")
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	if c.UserAgent != "" {
		req.Header.Set("User-Agent", c.UserAgent)
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	res, err := hc.Do(req)
	if err != nil {
		return 0, Response{}, errorAnswer{}, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if err != nil {
		return 0, Response{}, errorAnswer{}, fmt.Errorf("read answer: %w", err)
	}
	if res.StatusCode == http.StatusOK {
		var r Response
		if err := json.Unmarshal(b, &r); err != nil {
			return 0, Response{}, errorAnswer{}, fmt.Errorf("answer %q: %w", truncate(b), err)
		}
		return res.StatusCode, r, errorAnswer{}, nil
	}
	e := errorAnswer{retryAfter: res.Header.Get("Retry-After")}
	if json.Unmarshal(b, &e.ErrorResponse) != nil || e.Error == "" {
		e.Error = strings.TrimSpace(truncate(b))
	}
	return res.StatusCode, Response{}, e, nil
}

// retryAfter reads a Retry-After header: seconds or an HTTP date.
func retryAfter(h string, def time.Duration) time.Duration {
	if h == "" {
		return def
	}
	if s, err := strconv.Atoi(h); err == nil && s >= 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(h); err == nil {
		return max(time.Until(t), 0)
	}
	return def
}

func truncate(b []byte) string {
	if len(b) > 200 {
		b = b[:200]
	}
	return string(b)
}

// ErrNothingAccepted is returned by an import whose lines were all
// rejected.
var ErrNothingAccepted = errors.New("no line was accepted")
