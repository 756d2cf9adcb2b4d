// Package lines receives Envoy access log lines over HTTP
// (POST /api/v1/accesslogs?format=NAME&emitter=NAMESPACE/WORKLOAD), the way
// `meshscope import` sends files: each line is parsed with the named format
// (a preset or an Envoy format string), resolved into a request row and an
// observation (package envoy), and the lines that parse are appended as one
// batch; the others are reported by line and column. It never imports
// query/.
package lines

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/klauspost/compress/gzip"

	"github.com/meshscope/meshscope/ingest"
	"github.com/meshscope/meshscope/ingest/envoy"
	"github.com/meshscope/meshscope/ingest/envoy/accesslog"
)

// receiver is the metrics label of this receiver.
const receiver = "accesslog_http"

// Path is where cmd/ mounts the handler.
const Path = "/api/v1/accesslogs"

// Config tunes the handler.
type Config struct {
	// MaxBodyBytes bounds a request body, compressed and decompressed.
	// Default 64 MiB.
	MaxBodyBytes int64
	// MaxErrors is how many bad lines a response details. Default 20.
	MaxErrors int
	// RetryAfter is what 503 answers ask clients to wait. Default 5s.
	RetryAfter time.Duration
	// Logger may be nil.
	Logger *slog.Logger
}

// Validate reports a setting out of range, naming its key.
func (c *Config) Validate() error {
	switch {
	case c.MaxBodyBytes < 0:
		return fmt.Errorf("max_body_bytes %d: must not be negative", c.MaxBodyBytes)
	case c.MaxErrors < 0:
		return fmt.Errorf("max_errors %d: must not be negative", c.MaxErrors)
	case c.RetryAfter < 0:
		return fmt.Errorf("retry_after %s: must not be negative", c.RetryAfter)
	}
	return nil
}

// Response is the answer to a batch with at least one good line (200).
type Response struct {
	// Accepted is the number of lines stored.
	Accepted int `json:"accepted"`
	// Rejected is the number of lines that did not parse.
	Rejected int `json:"rejected"`
	// Errors details the first bad lines.
	Errors []LineError `json:"errors"`
}

// LineError is why one line was rejected.
type LineError struct {
	// Line is the 1-based line number in the request body.
	Line int `json:"line"`
	// Column is the 1-based byte column where the line stopped matching
	// its format.
	Column int `json:"column"`
	// Error says what the parser expected there.
	Error string `json:"error"`
}

// ErrorResponse is the answer to a request refused as a whole (400, 405,
// 413, 415, 503). When no line of the body parsed, it also holds the
// counts and the first bad lines.
type ErrorResponse struct {
	Error string `json:"error"`
	// Field names the parameter at fault: format, emitter, gateway, body.
	Field    string      `json:"field,omitempty"`
	Accepted int         `json:"accepted"`
	Rejected int         `json:"rejected"`
	Errors   []LineError `json:"errors,omitempty"`
}

// Handler serves POST /api/v1/accesslogs. Parameters:
//
//	format   required: a preset (envoy, envoy-details, istio, istio-json)
//	         or an Envoy format string
//	emitter  NAMESPACE/WORKLOAD of the proxy that wrote the lines, such as
//	         default/reviews-v2 (app reviews, version v2); optional
//	gateway  true when that proxy is a gateway; default: true when the
//	         workload's name contains "gateway"
//
// The body holds lines (gzip with Content-Encoding: gzip). It is safe for
// concurrent use.
type Handler struct {
	res     *envoy.Resolver
	app     ingest.Appender
	metrics *ingest.Metrics
	cfg     Config

	mu       sync.Mutex
	parsers  map[string]accesslog.LineParser
	emitters map[string]*envoy.Emitter
	// Bodies and batches are kept between requests in bounded free lists
	// rather than sync.Pools, which let go of everything at each garbage
	// collection: at high rates that is every few requests, and each batch
	// would regrow its rows.
	bufs    freeList[*bytes.Buffer]
	batches freeList[*envoy.Batch]
}

// freeList keeps up to its capacity of values for reuse.
type freeList[T any] struct {
	c     chan T
	fresh func() T
}

func newFreeList[T any](n int, fresh func() T) freeList[T] {
	return freeList[T]{c: make(chan T, n), fresh: fresh}
}

func (f *freeList[T]) get() T {
	select {
	case v := <-f.c:
		return v
	default:
		return f.fresh()
	}
}

func (f *freeList[T]) put(v T) {
	select {
	case f.c <- v:
	default:
	}
}

// NewHandler returns the handler; res resolves the lines (share it with
// the other access log receivers), app stores them.
func NewHandler(res *envoy.Resolver, app ingest.Appender, metrics *ingest.Metrics, cfg Config) *Handler {
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = 64 << 20
	}
	if cfg.MaxErrors <= 0 {
		cfg.MaxErrors = 20
	}
	if cfg.RetryAfter <= 0 {
		cfg.RetryAfter = 5 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	h := &Handler{res: res, app: app, metrics: metrics, cfg: cfg,
		parsers: make(map[string]accesslog.LineParser), emitters: make(map[string]*envoy.Emitter)}
	h.bufs = newFreeList(16, func() *bytes.Buffer { return new(bytes.Buffer) })
	h.batches = newFreeList(16, func() *envoy.Batch { return new(envoy.Batch) })
	return h
}

// params are a request's parsed parameters.
type params struct {
	parser  accesslog.LineParser
	logName string
	emitter *envoy.Emitter
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if req.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		h.fail(w, http.StatusMethodNotAllowed, "bad_method", ErrorResponse{Error: "method " + req.Method + " not allowed: use POST"})
		return
	}
	p, perr := h.params(req)
	if perr != nil {
		h.fail(w, http.StatusBadRequest, "bad_parameter", *perr)
		return
	}
	buf := h.bufs.get()
	defer h.putBuf(buf)
	code, reason, berr := h.readBody(w, req, buf)
	if berr != "" {
		h.fail(w, code, reason, ErrorResponse{Error: berr, Field: "body"})
		return
	}
	b := h.batches.get()
	defer h.putBatch(b)
	resp := h.parse(buf.Bytes(), p, b)
	if resp.Accepted == 0 {
		e := ErrorResponse{Error: "empty body: no lines", Field: "body", Rejected: resp.Rejected, Errors: resp.Errors}
		if resp.Rejected > 0 {
			first := resp.Errors[0]
			e.Error = fmt.Sprintf("no line could be parsed as %s; line %d, column %d: %s", p.logName, first.Line, first.Column, first.Error)
		}
		h.fail(w, http.StatusBadRequest, "bad_body", e)
		return
	}
	h.res.Settle(b)
	if err := h.app.Append(req.Context(), &b.Rows, b.Obs); err != nil {
		reason := "internal"
		if errors.Is(err, ingest.ErrBackpressure) {
			reason = "backpressure"
		} else {
			h.cfg.Logger.Error("access log lines: append failed", "err", err)
		}
		h.metrics.Rejected.WithLabelValues(receiver, reason).Add(float64(resp.Accepted))
		w.Header().Set("Retry-After", strconv.Itoa(int((h.cfg.RetryAfter+time.Second-1)/time.Second)))
		writeJSON(w, http.StatusServiceUnavailable, ErrorResponse{Error: "store access logs: " + err.Error()})
		return
	}
	h.metrics.Accepted.WithLabelValues(receiver, "requests").Add(float64(resp.Accepted))
	writeJSON(w, http.StatusOK, resp)
}

// parse reads every line of body into b.
func (h *Handler) parse(body []byte, p params, b *envoy.Batch) Response {
	resp := Response{Errors: []LineError{}}
	var rec envoy.Record
	n := 0
	for len(body) > 0 {
		n++
		line := body
		if i := bytes.IndexByte(body, '\n'); i >= 0 {
			line, body = body[:i], body[i+1:]
		} else {
			body = nil
		}
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		rec.Reset()
		if err := p.parser.Parse(line, &rec.Entry); err != nil {
			resp.Rejected++
			if len(resp.Errors) < h.cfg.MaxErrors {
				resp.Errors = append(resp.Errors, lineError(n, err))
			}
			continue
		}
		rec.Emitter, rec.LogName = p.emitter, p.logName
		h.res.Add(b, &rec)
		resp.Accepted++
	}
	if resp.Rejected > 0 {
		h.metrics.Rejected.WithLabelValues(receiver, "bad_line").Add(float64(resp.Rejected))
	}
	return resp
}

func lineError(n int, err error) LineError {
	var pe *accesslog.ParseError
	if errors.As(err, &pe) {
		msg := pe.Error()
		if _, rest, ok := strings.Cut(msg, ": "); ok && strings.HasPrefix(msg, "column ") {
			msg = rest
		}
		return LineError{Line: n, Column: pe.Column, Error: msg}
	}
	return LineError{Line: n, Error: err.Error()}
}

// params reads and checks the query parameters.
func (h *Handler) params(req *http.Request) (params, *ErrorResponse) {
	q := req.URL.Query()
	format := q.Get("format")
	if format == "" {
		return params{}, &ErrorResponse{Error: "format is required: a preset (" + strings.Join(accesslog.Presets(), ", ") +
			") or an Envoy format string", Field: "format"}
	}
	parser, err := h.parser(format)
	if err != nil {
		return params{}, &ErrorResponse{Error: err.Error(), Field: "format"}
	}
	logName := format
	if strings.IndexByte(format, '%') >= 0 {
		logName = "custom"
	}
	p := params{parser: parser, logName: logName}
	gw := q.Get("gateway")
	var gateway, gatewaySet bool
	if gw != "" {
		v, err := strconv.ParseBool(gw)
		if err != nil {
			return params{}, &ErrorResponse{Error: fmt.Sprintf("gateway %q: want true or false", gw), Field: "gateway"}
		}
		gateway, gatewaySet = v, true
	}
	if s := q.Get("emitter"); s != "" {
		em, err := h.emitter(s, gateway, gatewaySet)
		if err != nil {
			return params{}, &ErrorResponse{Error: err.Error(), Field: "emitter"}
		}
		p.emitter = em
	}
	return p, nil
}

const maxCached = 256

// parser returns the (cached) parser of a format.
func (h *Handler) parser(format string) (accesslog.LineParser, error) {
	h.mu.Lock()
	p, ok := h.parsers[format]
	h.mu.Unlock()
	if ok {
		return p, nil
	}
	p, err := accesslog.ParserFor(format)
	if err != nil {
		return nil, err
	}
	h.mu.Lock()
	if len(h.parsers) >= maxCached {
		clear(h.parsers)
	}
	h.parsers[format] = p
	h.mu.Unlock()
	return p, nil
}

// emitter returns the (cached) emitter a parameter names.
func (h *Handler) emitter(s string, gateway, gatewaySet bool) (*envoy.Emitter, error) {
	key := s + "|" + strconv.FormatBool(gateway) + strconv.FormatBool(gatewaySet)
	h.mu.Lock()
	em, ok := h.emitters[key]
	h.mu.Unlock()
	if ok {
		return em, nil
	}
	em, err := envoy.ParseEmitter(s)
	if err != nil {
		return nil, err
	}
	if !gatewaySet {
		gateway = strings.Contains(em.Workload, "gateway")
	}
	if gateway {
		e := *em
		e.Gateway = true
		em = envoy.NewEmitter(e)
	}
	h.mu.Lock()
	if len(h.emitters) >= maxCached {
		clear(h.emitters)
	}
	h.emitters[key] = em
	h.mu.Unlock()
	return em, nil
}

// readBody reads the (possibly gzip) body into buf, bounded.
func (h *Handler) readBody(w http.ResponseWriter, req *http.Request, buf *bytes.Buffer) (code int, reason, msg string) {
	max := h.cfg.MaxBodyBytes
	var src io.Reader = http.MaxBytesReader(w, req.Body, max)
	switch enc := req.Header.Get("Content-Encoding"); enc {
	case "", "identity":
	case "gzip":
		gz, err := gzip.NewReader(src)
		if err != nil {
			return http.StatusBadRequest, "bad_gzip", "gzip body: " + err.Error()
		}
		defer gz.Close()
		src = gz
	default:
		return http.StatusUnsupportedMediaType, "bad_content_encoding",
			"Content-Encoding " + strconv.Quote(enc) + " not supported: use gzip or none"
	}
	if req.ContentLength > 0 && req.ContentLength <= max {
		buf.Grow(int(req.ContentLength))
	}
	n, err := buf.ReadFrom(io.LimitReader(src, max+1))
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		return http.StatusRequestEntityTooLarge, "too_large", fmt.Sprintf("body exceeds %d bytes", max)
	case err != nil:
		return http.StatusBadRequest, "bad_body", "read body: " + err.Error()
	case n > max:
		return http.StatusRequestEntityTooLarge, "too_large", fmt.Sprintf("decompressed body exceeds %d bytes", max)
	}
	return 0, "", ""
}

func (h *Handler) putBuf(buf *bytes.Buffer) {
	if buf.Cap() <= 64<<20 {
		buf.Reset()
		h.bufs.put(buf)
	}
}

func (h *Handler) putBatch(b *envoy.Batch) {
	if b.Len() <= 1<<16 {
		b.Reset()
		h.batches.put(b)
	}
}

func (h *Handler) fail(w http.ResponseWriter, code int, reason string, e ErrorResponse) {
	h.metrics.Rejected.WithLabelValues(receiver, reason).Inc()
	writeJSON(w, code, e)
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}
