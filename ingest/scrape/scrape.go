// Package scrape pulls Prometheus exposition text (Envoy's
// /stats/prometheus, Linkerd proxies' /metrics, any exporter) for users
// without a Prometheus, and feeds it to the same path as remote_write:
// metric_series and metric_samples rows, service-mesh observations
// (meshmetrics), the ingest Appender. Parsing is Prometheus' own
// (model/textparse). It never imports query/, graph builder internals or
// Prometheus' storage engine.
package scrape

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/meshscope/meshscope/graph"
	"github.com/meshscope/meshscope/ingest"
	"github.com/meshscope/meshscope/ingest/meshmetrics"
	"github.com/meshscope/meshscope/ingest/promrw"
)

// receiver is the name of the scraper in ingest.Metrics.
const receiver = "scrape"

// acceptHeader asks for the Prometheus text format, which Envoy and
// Linkerd serve, and takes OpenMetrics too.
const acceptHeader = "text/plain;version=0.0.4;q=0.9,application/openmetrics-text;version=1.0.0;q=0.5,*/*;q=0.1"

// Run scrapes every target of cfg at its interval until ctx ends, then
// returns nil; it fails at once when cfg does not validate. Each scrape is
// appended as one batch with its observations; a scrape the Appender
// refuses is dropped (the next one carries the counters on) and counted.
// Besides the target's series, each scrape writes up (1 or 0) and
// scrape_duration_seconds, as Prometheus does. d may be nil (no
// observations), metrics and logger too.
func Run(ctx context.Context, cfg Config, app ingest.Appender, d *meshmetrics.Deriver, metrics *ingest.Metrics, logger *slog.Logger) error {
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("scrape config: %w", err)
	}
	cfg = cfg.withDefaults()
	if metrics == nil {
		metrics = ingest.NewMetrics(nil)
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	seen := promrw.NewSeenSet(cfg.MaxSeenSeries)
	client := &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
	defer client.CloseIdleConnections()
	var wg sync.WaitGroup
	for _, t := range cfg.Targets {
		l := &loop{
			target:  t,
			max:     cfg.MaxBodyBytes,
			client:  client,
			app:     app,
			deriver: d,
			metrics: metrics,
			logger:  logger.With("target", t.URL),
			rb:      promrw.NewRowBuilder(promrw.SourceScrape, seen, d),
			parser:  parser{lim: cfg.limits(), target: targetLabels(t, instanceOf(t.URL))},
		}
		wg.Go(func() { l.run(ctx) })
	}
	wg.Wait()
	return nil
}

// instanceOf is the instance label of a target: its host:port.
func instanceOf(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return rawURL
	}
	return u.Host
}

// loop scrapes one target.
type loop struct {
	target  Target
	max     int64
	client  *http.Client
	app     ingest.Appender
	deriver *meshmetrics.Deriver
	metrics *ingest.Metrics
	logger  *slog.Logger
	rb      *promrw.RowBuilder
	parser  parser
	body    bytes.Buffer
	obs     []graph.Observation
}

// run scrapes at the target's interval, starting at an offset derived
// from the URL so that targets spread over the interval.
func (l *loop) run(ctx context.Context) {
	h := fnv.New64a()
	_, _ = h.Write([]byte(l.target.URL))
	offset := time.Duration(h.Sum64() % uint64(l.target.Interval))
	timer := time.NewTimer(offset)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return
	case <-timer.C:
	}
	tick := time.NewTicker(l.target.Interval)
	defer tick.Stop()
	for {
		l.scrape(ctx, time.Now())
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// scrape takes one scrape and appends it.
func (l *loop) scrape(ctx context.Context, start time.Time) {
	l.rb.Reset(start)
	tsMs := start.UnixMilli()
	clear(l.parser.rejected)
	l.parser.first = nil
	n, err := l.fetch(ctx, tsMs)
	if ctx.Err() != nil {
		return
	}
	up := 1.0
	if err != nil {
		// A failed scrape keeps nothing of what it read, as in Prometheus.
		l.rb.Reset(start)
		up = 0
		l.metrics.Rejected.WithLabelValues(receiver, "scrape_failed").Inc()
		l.logger.Warn("scrape failed", "err", err)
	}
	for reason, k := range l.parser.rejected {
		l.metrics.Rejected.WithLabelValues(receiver, reason).Add(float64(k))
	}
	if l.parser.first != nil {
		l.logger.Warn("scraped series refused", "err", l.parser.first)
	}
	l.addReport("up", tsMs, up)
	l.addReport("scrape_duration_seconds", tsMs, time.Since(start).Seconds())

	obs := l.obs[:0]
	if l.deriver != nil {
		obs = l.deriver.Derive(l.rb.Derive, l.rb.Batch.MetricSamples, obs)
	}
	defer func() {
		clear(obs)
		l.obs = obs[:0]
	}()
	if err := l.app.Append(ctx, &l.rb.Batch, obs); err != nil {
		if l.deriver != nil {
			l.deriver.Requeue(obs)
		}
		reason := "append_failed"
		if errors.Is(err, ingest.ErrBackpressure) {
			reason = "backpressure"
		}
		l.metrics.Rejected.WithLabelValues(receiver, reason).Add(float64(len(l.rb.Batch.MetricSamples)))
		l.logger.Warn("scrape not appended", "err", err)
		return
	}
	l.rb.Commit()
	l.metrics.Accepted.WithLabelValues(receiver, "samples").Add(float64(n))
}

// fetch gets the target's body and parses it into the row builder.
func (l *loop) fetch(ctx context.Context, tsMs int64) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, l.target.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, l.target.URL, nil)
	if err != nil {
		return 0, fmt.Errorf("request: %w", err)
	}
	req.Header.Set("Accept", acceptHeader)
	req.Header.Set("X-Prometheus-Scrape-Timeout-Seconds", strconv.FormatFloat(l.target.Timeout.Seconds(), 'f', -1, 64))
	resp, err := l.client.Do(req)
	if err != nil {
		return 0, fmt.Errorf("get: %w", err)
	}
	defer func() {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
		_ = resp.Body.Close()
	}()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("get: status %s", resp.Status)
	}
	l.body.Reset()
	if _, err := l.body.ReadFrom(io.LimitReader(resp.Body, l.max+1)); err != nil {
		return 0, fmt.Errorf("read body: %w", err)
	}
	if int64(l.body.Len()) > l.max {
		return 0, fmt.Errorf("body is larger than max_body_bytes (%d)", l.max)
	}
	n, err := l.parser.parse(l.body.Bytes(), resp.Header.Get("Content-Type"), tsMs, l.rb)
	if err != nil {
		return n, fmt.Errorf("body: %w", err)
	}
	return n, nil
}

// addReport adds a sample of a series about the scrape itself (up,
// scrape_duration_seconds), labelled with the target's labels.
func (l *loop) addReport(name string, tsMs int64, v float64) {
	ls := append([]labels.Label{{Name: labels.MetricName, Value: name}}, l.parser.target...)
	ls = promrw.NormalizeLabels(ls)
	id := l.rb.AddSeries(ls, promrw.Metadata{Type: model.MetricTypeGauge})
	l.rb.AddSample(id, name, tsMs, 0, v)
}
