package demo

import (
	"log/slog"
	"sync/atomic"
	"time"
)

// Stats counts what a run generated and sent. Sent counts grow when the
// server accepted the batch (an OTLP or HTTP 2xx answer, a message written
// to an ALS stream).
type Stats struct {
	// Elapsed is the time since the run started.
	Elapsed time.Duration
	// Requests are the root requests that entered the gateway; Calls the
	// calls of every request tree (the unit of Config.Rate).
	Requests, Calls uint64
	// Spans sent, in TraceExports OTLP requests.
	Spans, TraceExports uint64
	// LogRecords sent, in LogExports OTLP requests.
	LogRecords, LogExports uint64
	// ALSEntries sent, in ALSMessages stream messages on ALSStreams
	// streams opened.
	ALSEntries, ALSMessages, ALSStreams uint64
	// TextLines sent, in TextPosts HTTP requests.
	TextLines, TextPosts uint64
	// MetricSamples sent, in RemoteWrites HTTP requests.
	MetricSamples, RemoteWrites uint64
	// MetricPoints (OpenTelemetry SDK histograms) sent, in MetricExports
	// OTLP requests.
	MetricPoints, MetricExports uint64
	// Retries counts attempts repeated after a retryable answer
	// (UNAVAILABLE, RESOURCE_EXHAUSTED, 429, 503...).
	Retries uint64
	// Errors counts batches the server refused or that failed after the
	// last retry; Dropped counts batches dropped because a sender fell
	// behind.
	Errors, Dropped uint64
}

// counters are the live counts of a run, safe for concurrent use.
type counters struct {
	requests, calls                     atomic.Uint64
	spans, traceExports                 atomic.Uint64
	logRecords, logExports              atomic.Uint64
	alsEntries, alsMessages, alsStreams atomic.Uint64
	textLines, textPosts                atomic.Uint64
	metricSamples, remoteWrites         atomic.Uint64
	metricPoints, metricExports         atomic.Uint64
	retries, errors, dropped            atomic.Uint64
	start                               time.Time
}

func (c *counters) snapshot() Stats {
	return Stats{
		Elapsed:  time.Since(c.start).Round(time.Millisecond),
		Requests: c.requests.Load(), Calls: c.calls.Load(),
		Spans: c.spans.Load(), TraceExports: c.traceExports.Load(),
		LogRecords: c.logRecords.Load(), LogExports: c.logExports.Load(),
		ALSEntries: c.alsEntries.Load(), ALSMessages: c.alsMessages.Load(), ALSStreams: c.alsStreams.Load(),
		TextLines: c.textLines.Load(), TextPosts: c.textPosts.Load(),
		MetricSamples: c.metricSamples.Load(), RemoteWrites: c.remoteWrites.Load(),
		MetricPoints: c.metricPoints.Load(), MetricExports: c.metricExports.Load(),
		Retries: c.retries.Load(), Errors: c.errors.Load(), Dropped: c.dropped.Load(),
	}
}

// log writes one progress line.
func (s Stats) log(l *slog.Logger, msg string) {
	l.Info(msg,
		"elapsed", s.Elapsed,
		"requests", s.Requests, "calls", s.Calls,
		"spans", s.Spans, "otlp_exports", s.TraceExports,
		"log_records", s.LogRecords, "log_exports", s.LogExports,
		"als_entries", s.ALSEntries, "als_messages", s.ALSMessages, "als_streams", s.ALSStreams,
		"text_lines", s.TextLines, "text_posts", s.TextPosts,
		"metric_samples", s.MetricSamples, "remote_writes", s.RemoteWrites,
		"metric_points", s.MetricPoints, "metric_exports", s.MetricExports,
		"retries", s.Retries, "errors", s.Errors, "dropped", s.Dropped)
}
