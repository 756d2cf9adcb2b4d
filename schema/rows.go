package schema

// Row types: the contract between writers (ingest/, graph/) and readers
// (query/, slo/). Field order follows the table's column order; the store's
// insert code maps each field to the column of the same name.

// TraceID and SpanID are binary OpenTelemetry ids.
type (
	TraceID [16]byte
	SpanID  [8]byte
)

// Span kinds, as in OTLP.
const (
	SpanKindUnspecified uint8 = iota
	SpanKindInternal
	SpanKindServer
	SpanKindClient
	SpanKindProducer
	SpanKindConsumer
)

// Span status codes, as in OTLP.
const (
	StatusUnset uint8 = iota
	StatusOK
	StatusError
)

// SpanRow is one row of the spans table.
type SpanRow struct {
	StartUnixNano        uint64
	DurationNanos        uint64
	TraceID              TraceID
	SpanID               SpanID
	ParentSpanID         SpanID
	TraceState           string
	Name                 string
	Kind                 uint8
	StatusCode           uint8
	StatusMessage        string
	ServiceName          string
	ServiceNamespace     string
	ServiceVersion       string
	Workload             string
	ScopeName            string
	ScopeVersion         string
	HTTPMethod           string
	HTTPRoute            string
	HTTPStatusCode       uint16
	GRPCStatusCode       int16
	PeerService          string
	ServerAddress        string
	DBSystem             string
	DBName               string
	MessagingSystem      string
	MessagingDestination string
	ResourceKeys         []string
	ResourceValues       []string
	AttrKeys             []string
	AttrValues           []string
	EventTimes           []uint64
	EventNames           []string
	EventAttrs           []string
	LinkTraceIDs         []TraceID
	LinkSpanIDs          []SpanID
	LinkAttrs            []string
}

// Attr returns the value of span attribute key, or "".
func (s *SpanRow) Attr(key string) string {
	for i, k := range s.AttrKeys {
		if k == key {
			return s.AttrValues[i]
		}
	}
	return ""
}

// LogRow is one row of the logs table.
type LogRow struct {
	TimeUnixNano         uint64
	ObservedTimeUnixNano uint64
	TraceID              TraceID
	SpanID               SpanID
	Flags                uint32
	SeverityNumber       uint8
	SeverityText         string
	ServiceName          string
	ServiceNamespace     string
	ScopeName            string
	EventName            string
	Body                 string
	ResourceKeys         []string
	ResourceValues       []string
	AttrKeys             []string
	AttrValues           []string
}

// Metric types stored in metric_series.type.
const (
	MetricGauge uint8 = iota + 1
	MetricSum
	MetricHistogram
	MetricExponentialHistogram
	MetricSummary
)

// MetricSeriesRow is one row of metric_series.
type MetricSeriesRow struct {
	SeriesID       uint64
	MetricName     string
	Type           uint8
	Unit           string
	Description    string
	Temporality    uint8
	Monotonic      bool
	ServiceName    string
	Source         string
	FirstSeenUnix  uint32
	ResourceKeys   []string
	ResourceValues []string
	LabelKeys      []string
	LabelValues    []string
}

// MetricSampleRow is one row of metric_samples.
type MetricSampleRow struct {
	SeriesID          uint64
	MetricName        string
	TimeUnixNano      uint64
	StartTimeUnixNano uint64
	Value             float64
	Count             uint64
	Sum               float64
	Min               float64
	Max               float64
	BucketBounds      []float64
	BucketCounts      []uint64
	ExpScale          int32
	ExpZeroCount      uint64
	ExpPositiveOffset int32
	ExpPositiveCounts []uint64
	ExpNegativeOffset int32
	ExpNegativeCounts []uint64
	Quantiles         []float64
	QuantileValues    []float64
	Flags             uint32
}

// Security of a connection, as stored in requests.mtls.
const (
	SecurityUnknown uint8 = iota
	SecurityMTLS
	SecurityPlaintext
)

// RequestPodAttr is the attribute of a requests row (AttrKeys) naming the
// pod of the proxy that wrote it, when known.
const RequestPodAttr = "k8s.pod.name"

// RequestRow is one row of the requests table: one Envoy access log entry.
type RequestRow struct {
	StartUnixNano                  uint64
	DurationNanos                  uint64
	UpstreamServiceTimeNanos       int64
	Reporter                       string
	Emitter                        string
	LogName                        string
	Source                         string
	SourceNamespace                string
	SourceWorkload                 string
	SourceApp                      string
	SourceVersion                  string
	Destination                    string
	DestinationNamespace           string
	DestinationWorkload            string
	DestinationApp                 string
	DestinationVersion             string
	Protocol                       string
	Method                         string
	Path                           string
	Authority                      string
	ResponseCode                   uint16
	GRPCStatus                     int16
	ResponseFlags                  string
	ResponseCodeDetails            string
	ConnectionTerminationDetails   string
	UpstreamTransportFailureReason string
	BytesReceived                  uint64
	BytesSent                      uint64
	UpstreamHost                   string
	UpstreamCluster                string
	UpstreamLocalAddress           string
	DownstreamLocalAddress         string
	DownstreamRemoteAddress        string
	RequestedServerName            string
	RouteName                      string
	RequestID                      string
	UserAgent                      string
	XForwardedFor                  string
	TraceID                        TraceID
	MTLS                           uint8
	AttrKeys                       []string
	AttrValues                     []string
}

// Batch is a set of rows bound for the store in one write. Writers hand a
// Batch to a Writer and must not touch it until Write returns.
type Batch struct {
	Spans         []SpanRow
	Logs          []LogRow
	MetricSeries  []MetricSeriesRow
	MetricSamples []MetricSampleRow
	Requests      []RequestRow
}

// Len is the number of rows in the batch.
func (b *Batch) Len() int {
	return len(b.Spans) + len(b.Logs) + len(b.MetricSeries) + len(b.MetricSamples) + len(b.Requests)
}

// Reset empties the batch, keeping its capacity.
func (b *Batch) Reset() {
	b.Spans = b.Spans[:0]
	b.Logs = b.Logs[:0]
	b.MetricSeries = b.MetricSeries[:0]
	b.MetricSamples = b.MetricSamples[:0]
	b.Requests = b.Requests[:0]
}

// Append adds every row of o to b.
func (b *Batch) Append(o *Batch) {
	b.Spans = append(b.Spans, o.Spans...)
	b.Logs = append(b.Logs, o.Logs...)
	b.MetricSeries = append(b.MetricSeries, o.MetricSeries...)
	b.MetricSamples = append(b.MetricSamples, o.MetricSamples...)
	b.Requests = append(b.Requests, o.Requests...)
}
