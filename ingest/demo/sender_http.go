package demo

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"
)

// httpWorker posts remote write requests and text access log lines. A
// body is recycled once the transport has closed it after the last
// attempt: net/http may still be writing a request body when the response
// has arrived.
func (s *sender) httpWorker() {
	defer s.wg.Done()
	for j := range s.httpQ {
		recycle := true
		for attempt := 0; ; attempt++ {
			retry, floor, closed, err := s.post(j)
			if !closed {
				recycle = false
			}
			var partial *partialError
			if errors.As(err, &partial) {
				s.cnt.textLines.Add(uint64(max(j.n-partial.rejected, 0)))
				s.cnt.textPosts.Add(1)
				s.cnt.errors.Add(1)
				s.errs.log(j.channel, "lines rejected", err)
				break
			}
			if err == nil {
				if j.channel == "remote_write" {
					s.cnt.metricSamples.Add(uint64(j.n))
					s.cnt.remoteWrites.Add(1)
				} else {
					s.cnt.textLines.Add(uint64(j.n))
					s.cnt.textPosts.Add(1)
				}
				break
			}
			if !retry || attempt+1 >= maxAttempts || s.ctx.Err() != nil {
				s.cnt.errors.Add(1)
				s.errs.log(j.channel, "post failed", err)
				break
			}
			s.cnt.retries.Add(1)
			if !sleep(s.ctx, backoff(attempt, floor)) {
				break
			}
		}
		if recycle {
			putBuf(j.body)
		}
	}
}

// reqBody is a request body that tells when the transport closed it.
type reqBody struct {
	*bytes.Reader
	once   sync.Once
	closed chan struct{}
}

func (r *reqBody) Close() error {
	r.once.Do(func() { close(r.closed) })
	return nil
}

// post sends one request; it returns nil on a 2xx answer, else whether
// to retry and how long the server asked to wait. closed tells whether the
// transport is done with the body.
func (s *sender) post(j httpJob) (retry bool, floor time.Duration, closed bool, err error) {
	ctx, cancel := context.WithCancel(s.ctx)
	defer cancel()
	body := &reqBody{Reader: bytes.NewReader(*j.body), closed: make(chan struct{})}
	defer func() {
		t := time.NewTimer(5 * time.Second)
		defer t.Stop()
		select {
		case <-body.closed:
			closed = true
		case <-t.C:
		}
	}()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, j.url, body)
	if err != nil {
		body.Close()
		return false, 0, false, err
	}
	req.ContentLength = int64(len(*j.body))
	if j.channel == "remote_write" {
		req.Header.Set("Content-Encoding", "snappy")
		req.Header.Set("Content-Type", "application/x-protobuf")
		req.Header.Set("X-Prometheus-Remote-Write-Version", "0.1.0")
		req.Header.Set("User-Agent", "Prometheus/3.5.0")
	} else {
		req.Header.Set("Content-Type", "text/plain; charset=utf-8")
		req.Header.Set("User-Agent", "meshscope-demo")
	}
	if s.cfg.Token != "" {
		req.Header.Set("Authorization", "Bearer "+s.cfg.Token)
	}
	resp, err := s.http.Do(req)
	if err != nil {
		return true, 0, false, err // the server is not up yet, or went away
	}
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 2048))
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode/100 == 2 {
		if j.channel == "text" {
			return false, 0, false, rejectedLines(msg)
		}
		return false, 0, false, nil
	}
	retry, floor = httpRetry(resp)
	return retry, floor, false, fmt.Errorf("%s: %s: %s", req.URL.Path, resp.Status, strings.TrimSpace(string(msg)))
}

// rejectedLines reads the answer to a batch of lines, which may accept
// some lines and reject others: a *partialError when it rejected any.
func rejectedLines(body []byte) error {
	var r struct {
		Rejected int `json:"rejected"`
		Errors   []struct {
			Line  int    `json:"line"`
			Error string `json:"error"`
		} `json:"errors"`
	}
	if json.Unmarshal(body, &r) != nil || r.Rejected == 0 {
		return nil
	}
	pe := &partialError{rejected: r.Rejected}
	if len(r.Errors) > 0 {
		pe.first = fmt.Sprintf("line %d: %s", r.Errors[0].Line, r.Errors[0].Error)
	}
	return pe
}

// partialError is an answer that stored a batch only in part; it is not
// worth a retry.
type partialError struct {
	rejected int
	first    string
}

func (e *partialError) Error() string {
	return fmt.Sprintf("%d lines rejected: %s", e.rejected, e.first)
}
