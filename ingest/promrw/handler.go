// Package promrw receives Prometheus remote write (1.0 and 2.0) on
// POST /api/v1/write: it decodes snappy-compressed protobuf requests,
// checks every series, turns samples and native histograms into
// metric_series and metric_samples rows, derives service-mesh observations
// from them (meshmetrics) and hands both to the ingest Appender, answering
// only once they are durable. It also holds the Prometheus-to-rows
// conversion the scraper shares. It never imports query/, graph builder
// internals or Prometheus' storage engine.
package promrw

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/meshscope/meshscope/graph"
	"github.com/meshscope/meshscope/ingest"
	"github.com/meshscope/meshscope/ingest/meshmetrics"
)

// Response headers of remote write 2.0: without them a 2.0 sender takes a
// 2xx for a receiver that wrote nothing.
const (
	HeaderSamplesWritten    = "X-Prometheus-Remote-Write-Samples-Written"
	HeaderHistogramsWritten = "X-Prometheus-Remote-Write-Histograms-Written"
	HeaderExemplarsWritten  = "X-Prometheus-Remote-Write-Exemplars-Written"
)

// receiver is the name of this receiver in ingest.Metrics.
const receiver = "remote_write"

type handler struct {
	cfg     Config
	app     ingest.Appender
	deriver *meshmetrics.Deriver
	metrics *ingest.Metrics
	logger  *slog.Logger
	seen    *SeenSet
	meta    *metadataCache
	pool    sync.Pool // *work
}

// work is the reusable state of one request.
type work struct {
	body bytes.Buffer
	dec  decoder
	conv converter
	rej  rejects
	rb   *RowBuilder
	obs  []graph.Observation
}

// NewHandler returns the handler of POST /api/v1/write; the caller mounts
// it. cfg should have passed Validate; its zero fields take defaults.
// deriver may be nil (no observations), metrics and logger too.
//
// Answers: 204 once the rows and observations are durable (2.0 requests
// also get the X-Prometheus-Remote-Write-*-Written headers); 400 with the
// reason for bad input, which senders do not retry (refused series are
// named, the others written); 413 above the size limits; 415 for other
// content types or encodings; 503 with Retry-After when the write-ahead
// log is full, because Prometheus retries 5xx by default but 429 only with
// retry_on_http_429; 500 when the Appender fails otherwise.
// ingest.Metrics.Rejected counts, by reason, one per request refused whole
// and one per sample of a refused series or of a batch the Appender
// refused; Accepted counts the samples and histograms written.
//
// Values are stored as sent, NaN and infinities included; Prometheus'
// staleness marker (a NaN) is also flagged (metric_samples.flags 1) so
// that readers and the Deriver skip it.
func NewHandler(cfg Config, app ingest.Appender, deriver *meshmetrics.Deriver, metrics *ingest.Metrics, logger *slog.Logger) http.Handler {
	cfg = cfg.withDefaults()
	if metrics == nil {
		metrics = ingest.NewMetrics(nil)
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	h := &handler{
		cfg:     cfg,
		app:     app,
		deriver: deriver,
		metrics: metrics,
		logger:  logger,
		seen:    NewSeenSet(cfg.MaxSeenSeries),
		meta:    newMetadataCache(),
	}
	h.pool.New = func() any {
		return &work{
			conv: converter{lim: cfg.limits(), maxBuckets: cfg.MaxNativeHistogramBuckets, meta: h.meta},
			rb:   NewRowBuilder(SourceRemoteWrite, h.seen, deriver),
		}
	}
	return h
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "remote write takes POST", http.StatusMethodNotAllowed)
		return
	}
	v2, err := parseContentType(r.Header.Get("Content-Type"))
	if err == nil {
		if enc := r.Header.Get("Content-Encoding"); enc != "" && enc != "snappy" {
			err = &statusError{http.StatusUnsupportedMediaType, ReasonBadEncoding,
				fmt.Errorf("Content-Encoding %q: only snappy is accepted", enc)}
		}
	}
	wk := h.pool.Get().(*work)
	defer h.pool.Put(wk)
	var body []byte
	if err == nil {
		body, err = readBody(r, &wk.body, h.cfg.MaxRequestBytes)
	}
	if err == nil {
		err = wk.dec.decode(body, v2, h.cfg.MaxDecodedBytes)
	}
	if err != nil {
		status, reason := errStatus(err)
		h.metrics.Rejected.WithLabelValues(receiver, reason).Inc()
		h.logger.Debug("remote write request refused", "status", status, "reason", reason, "err", err)
		http.Error(w, err.Error(), status)
		return
	}
	h.write(r.Context(), w, wk, v2)
}

// write converts a decoded request, appends it and answers.
func (h *handler) write(ctx context.Context, w http.ResponseWriter, wk *work, v2 bool) {
	wk.rb.Reset(time.Now())
	wk.conv.reset()
	wk.rej.reset()
	if v2 {
		wk.conv.v2(&wk.dec.v2, wk.rb, &wk.rej)
	} else {
		wk.conv.v1(&wk.dec.v1, wk.rb, &wk.rej)
	}
	for _, rc := range wk.rej.counts {
		h.metrics.Rejected.WithLabelValues(receiver, rc.reason).Add(float64(rc.items))
	}

	obs := wk.obs[:0]
	if h.deriver != nil {
		obs = h.deriver.Derive(wk.rb.Derive, wk.rb.Batch.MetricSamples, obs)
	}
	defer func() {
		clear(obs)
		wk.obs = obs[:0]
	}()
	if wk.rb.Batch.Len() > 0 || len(obs) > 0 {
		if err := h.app.Append(ctx, &wk.rb.Batch, obs); err != nil {
			if h.deriver != nil {
				h.deriver.Requeue(obs)
			}
			h.appendFailed(w, err, len(wk.rb.Batch.MetricSamples))
			return
		}
		wk.rb.Commit()
	}
	accepted := wk.conv.samples + wk.conv.histograms
	if accepted > 0 {
		h.metrics.Accepted.WithLabelValues(receiver, "samples").Add(float64(accepted))
	}
	if v2 {
		hd := w.Header()
		hd.Set(HeaderSamplesWritten, strconv.Itoa(wk.conv.samples))
		hd.Set(HeaderHistogramsWritten, strconv.Itoa(wk.conv.histograms))
		hd.Set(HeaderExemplarsWritten, "0")
	}
	if wk.rej.series > 0 {
		msg := rejectMessage(&wk.rej)
		h.logger.Debug("remote write series refused", "series", wk.rej.series, "err", msg)
		http.Error(w, msg, http.StatusBadRequest)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// appendFailed answers a request the Appender refused.
func (h *handler) appendFailed(w http.ResponseWriter, err error, items int) {
	items = max(items, 1)
	var ie *ingest.InputError
	switch {
	case errors.Is(err, ingest.ErrBackpressure):
		h.metrics.Rejected.WithLabelValues(receiver, ReasonBackpressure).Add(float64(items))
		w.Header().Set("Retry-After", strconv.Itoa(int(max(h.cfg.RetryAfter.Seconds(), 1))))
		http.Error(w, err.Error(), http.StatusServiceUnavailable)
	case errors.As(err, &ie):
		h.metrics.Rejected.WithLabelValues(receiver, ie.Reason).Add(float64(items))
		http.Error(w, ie.Error(), http.StatusBadRequest)
	default:
		h.metrics.Rejected.WithLabelValues(receiver, ReasonAppendFailed).Add(float64(items))
		h.logger.Error("remote write append failed", "err", err)
		http.Error(w, "append: "+err.Error(), http.StatusInternalServerError)
	}
}

// rejectMessage says which series were refused and why.
func rejectMessage(rej *rejects) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d series refused, the others written", rej.series)
	for _, e := range rej.first {
		b.WriteString("; ")
		b.WriteString(e.Error())
	}
	if rej.series > len(rej.first) {
		fmt.Fprintf(&b, "; and %d more", rej.series-len(rej.first))
	}
	return b.String()
}
