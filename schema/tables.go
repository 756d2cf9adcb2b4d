package schema

// The logical schema. Column names here are the public interface that users'
// SQL, Grafana dashboards and the insert path rely on: add columns in new
// migrations, never rename.

var attrColumns = func(prefix, what string) []Column {
	return []Column{
		{Name: prefix + "_keys", Type: "Array(String)", Doc: what + " attribute keys, parallel to " + prefix + "_values"},
		{Name: prefix + "_values", Type: "Array(String)", Doc: what + " attribute values (stringified)"},
	}
}

func cols(groups ...[]Column) []Column {
	var out []Column
	for _, g := range groups {
		out = append(out, g...)
	}
	return out
}

// SpansTable holds one row per span.
var SpansTable = Table{
	Name: "spans",
	Doc:  "One row per OpenTelemetry span.",
	Columns: cols([]Column{
		{Name: "timestamp", Type: "DateTime", Codec: "Delta, ZSTD(1)", Doc: "span start, seconds"},
		{Name: "start_time_unix_nano", Type: "UInt64", Codec: "Delta, ZSTD(1)", Doc: "span start, nanoseconds since the epoch"},
		{Name: "duration_ns", Type: "UInt64", Codec: "T64, ZSTD(1)", Doc: "end minus start, nanoseconds"},
		{Name: "trace_id", Type: "FixedString(16)", Doc: "binary trace id (hex(trace_id) to print)"},
		{Name: "span_id", Type: "FixedString(8)", Doc: "binary span id"},
		{Name: "parent_span_id", Type: "FixedString(8)", Doc: "binary parent span id, zero bytes for a root span"},
		{Name: "trace_state", Type: "String", Doc: "W3C tracestate"},
		{Name: "name", Type: "String", LowCard: true, Doc: "span name"},
		{Name: "kind", Type: "UInt8", Doc: "0 unspecified, 1 internal, 2 server, 3 client, 4 producer, 5 consumer"},
		{Name: "status_code", Type: "UInt8", Doc: "0 unset, 1 ok, 2 error"},
		{Name: "status_message", Type: "String", Doc: "status description"},
		{Name: "service_name", Type: "String", LowCard: true, Doc: "resource service.name"},
		{Name: "service_namespace", Type: "String", LowCard: true, Doc: "resource service.namespace, else k8s.namespace.name"},
		{Name: "service_version", Type: "String", LowCard: true, Doc: "resource service.version"},
		{Name: "workload", Type: "String", LowCard: true, Doc: "k8s.deployment.name / statefulset / daemonset, else derived from k8s.pod.name"},
		{Name: "scope_name", Type: "String", LowCard: true, Doc: "instrumentation scope name"},
		{Name: "scope_version", Type: "String", LowCard: true, Doc: "instrumentation scope version"},
		{Name: "http_method", Type: "String", LowCard: true, Doc: "http.request.method / http.method"},
		{Name: "http_route", Type: "String", LowCard: true, Doc: "http.route"},
		{Name: "http_status_code", Type: "UInt16", Doc: "http.response.status_code / http.status_code, 0 unknown"},
		{Name: "rpc_grpc_status_code", Type: "Int16", Doc: "rpc.grpc.status_code, -1 unknown"},
		{Name: "peer_service", Type: "String", LowCard: true, Doc: "peer.service"},
		{Name: "server_address", Type: "String", LowCard: true, Doc: "server.address / net.peer.name"},
		{Name: "db_system", Type: "String", LowCard: true, Doc: "db.system"},
		{Name: "db_name", Type: "String", LowCard: true, Doc: "db.namespace / db.name"},
		{Name: "messaging_system", Type: "String", LowCard: true, Doc: "messaging.system"},
		{Name: "messaging_destination", Type: "String", LowCard: true, Doc: "messaging.destination.name / messaging.destination"},
	}, attrColumns("resource", "Resource"), attrColumns("attr", "Span"), []Column{
		{Name: "event_time_unix_nano", Type: "Array(UInt64)", Doc: "span event times"},
		{Name: "event_names", Type: "Array(String)", Doc: "span event names"},
		{Name: "event_attrs", Type: "Array(String)", Doc: "span event attributes, one JSON object per event"},
		{Name: "link_trace_ids", Type: "Array(FixedString(16))", Doc: "span link trace ids"},
		{Name: "link_span_ids", Type: "Array(FixedString(8))", Doc: "span link span ids"},
		{Name: "link_attrs", Type: "Array(String)", Doc: "span link attributes, one JSON object per link"},
	}),
	Engine:      "MergeTree",
	PartitionBy: "toDate(timestamp)",
	OrderBy:     "(service_name, name, timestamp, trace_id)",
	ShardKey:    "cityHash64(trace_id)",
	Indexes:     []SkipIndex{{Name: "idx_trace_id", Expr: "trace_id", Type: "bloom_filter(0.001)", Granularity: 1}},
	Settings:    "index_granularity = 8192",
}

// LogsTable holds one row per OpenTelemetry log record.
var LogsTable = Table{
	Name: "logs",
	Doc:  "One row per OpenTelemetry log record (Envoy access logs go to requests instead).",
	Columns: cols([]Column{
		{Name: "timestamp", Type: "DateTime", Codec: "Delta, ZSTD(1)", Doc: "record time (observed time when unset), seconds"},
		{Name: "time_unix_nano", Type: "UInt64", Codec: "Delta, ZSTD(1)", Doc: "record time, nanoseconds"},
		{Name: "observed_time_unix_nano", Type: "UInt64", Codec: "Delta, ZSTD(1)", Doc: "time the record was observed, nanoseconds"},
		{Name: "trace_id", Type: "FixedString(16)", Doc: "binary trace id, zero bytes when absent"},
		{Name: "span_id", Type: "FixedString(8)", Doc: "binary span id, zero bytes when absent"},
		{Name: "flags", Type: "UInt32", Doc: "W3C trace flags"},
		{Name: "severity_number", Type: "UInt8", Doc: "OpenTelemetry severity number 0-24"},
		{Name: "severity_text", Type: "String", LowCard: true, Doc: "severity text as sent"},
		{Name: "service_name", Type: "String", LowCard: true, Doc: "resource service.name"},
		{Name: "service_namespace", Type: "String", LowCard: true, Doc: "resource service.namespace, else k8s.namespace.name"},
		{Name: "scope_name", Type: "String", LowCard: true, Doc: "instrumentation scope name"},
		{Name: "event_name", Type: "String", LowCard: true, Doc: "log record event name"},
		{Name: "body", Type: "String", Codec: "ZSTD(1)", Doc: "body; non-string bodies as JSON"},
	}, attrColumns("resource", "Resource"), attrColumns("attr", "Log record")),
	Engine:      "MergeTree",
	PartitionBy: "toDate(timestamp)",
	OrderBy:     "(service_name, timestamp)",
	ShardKey:    "cityHash64(trace_id)",
}

// MetricSeriesTable describes every metric series once.
var MetricSeriesTable = Table{
	Name: "metric_series",
	Doc:  "One row per metric series (name + labels); samples refer to it by series_id.",
	Columns: cols([]Column{
		{Name: "series_id", Type: "UInt64", Doc: "hash of metric name, resource and labels"},
		{Name: "metric_name", Type: "String", LowCard: true, Doc: "metric name (Prometheus __name__)"},
		{Name: "type", Type: "UInt8", Doc: "1 gauge, 2 sum/counter, 3 histogram, 4 exponential/native histogram, 5 summary"},
		{Name: "unit", Type: "String", LowCard: true, Doc: "unit"},
		{Name: "description", Type: "String", Doc: "description / HELP"},
		{Name: "temporality", Type: "UInt8", Doc: "0 unspecified, 1 delta, 2 cumulative"},
		{Name: "monotonic", Type: "UInt8", Doc: "1 for monotonic sums (counters)"},
		{Name: "service_name", Type: "String", LowCard: true, Doc: "resource service.name, else Prometheus job"},
		{Name: "source", Type: "String", LowCard: true, Doc: "otlp, remote_write or scrape"},
		{Name: "first_seen", Type: "DateTime", Doc: "time the series was first written"},
	}, attrColumns("resource", "Resource"), attrColumns("label", "Series")),
	Engine:      "ReplacingMergeTree(first_seen)",
	PartitionBy: "",
	OrderBy:     "(metric_name, series_id)",
	ShardKey:    "series_id",
}

// MetricSamplesTable holds metric points; histogram and summary fields are
// empty for plain gauges and sums.
var MetricSamplesTable = Table{
	Name: "metric_samples",
	Doc:  "One row per metric point. Histograms keep bounds and counts; exponential/native histograms keep scale, offsets and counts; summaries keep quantiles.",
	Columns: []Column{
		{Name: "series_id", Type: "UInt64", Doc: "metric_series.series_id"},
		{Name: "metric_name", Type: "String", LowCard: true, Doc: "metric name, repeated for filtering without a join"},
		{Name: "timestamp", Type: "DateTime", Codec: "Delta, ZSTD(1)", Doc: "point time, seconds"},
		{Name: "time_unix_nano", Type: "UInt64", Codec: "Delta, ZSTD(1)", Doc: "point time, nanoseconds"},
		{Name: "start_time_unix_nano", Type: "UInt64", Codec: "Delta, ZSTD(1)", Doc: "start of the cumulative/delta interval, 0 unknown"},
		{Name: "value", Type: "Float64", Codec: "Gorilla, ZSTD(1)", Doc: "gauge or sum value (NaN for histograms/summaries)"},
		{Name: "count", Type: "UInt64", Doc: "histogram/summary count"},
		{Name: "sum", Type: "Float64", Doc: "histogram/summary sum"},
		{Name: "min", Type: "Float64", Doc: "histogram min when sent, else NaN"},
		{Name: "max", Type: "Float64", Doc: "histogram max when sent, else NaN"},
		{Name: "bucket_bounds", Type: "Array(Float64)", Doc: "explicit histogram upper bounds"},
		{Name: "bucket_counts", Type: "Array(UInt64)", Doc: "explicit histogram counts (len(bounds)+1, not cumulative)"},
		{Name: "exp_scale", Type: "Int32", Doc: "exponential/native histogram scale (schema)"},
		{Name: "exp_zero_count", Type: "UInt64", Doc: "exponential/native histogram zero bucket count"},
		{Name: "exp_positive_offset", Type: "Int32", Doc: "index of the first positive bucket"},
		{Name: "exp_positive_counts", Type: "Array(UInt64)", Doc: "positive bucket counts"},
		{Name: "exp_negative_offset", Type: "Int32", Doc: "index of the first negative bucket"},
		{Name: "exp_negative_counts", Type: "Array(UInt64)", Doc: "negative bucket counts"},
		{Name: "quantiles", Type: "Array(Float64)", Doc: "summary quantiles"},
		{Name: "quantile_values", Type: "Array(Float64)", Doc: "summary values at those quantiles"},
		{Name: "flags", Type: "UInt32", Doc: "OTLP data point flags (1 = no recorded value / stale)"},
	},
	Engine:      "MergeTree",
	PartitionBy: "toDate(timestamp)",
	OrderBy:     "(metric_name, series_id, time_unix_nano)",
	ShardKey:    "series_id",
}

// RequestsTable holds one row per Envoy access log entry.
var RequestsTable = Table{
	Name: "requests",
	Doc:  "One row per Envoy access log entry (ALS, OpenTelemetry access logs, text and JSON lines).",
	Columns: cols([]Column{
		{Name: "timestamp", Type: "DateTime", Codec: "Delta, ZSTD(1)", Doc: "request start, seconds"},
		{Name: "start_time_unix_nano", Type: "UInt64", Codec: "Delta, ZSTD(1)", Doc: "request start, nanoseconds"},
		{Name: "duration_ns", Type: "UInt64", Doc: "total duration, nanoseconds"},
		{Name: "upstream_service_time_ns", Type: "Int64", Doc: "x-envoy-upstream-service-time, nanoseconds, -1 unknown"},
		{Name: "reporter", Type: "String", LowCard: true, Doc: "source (outbound sidecar), destination (inbound sidecar), gateway or unknown"},
		{Name: "emitter", Type: "String", LowCard: true, Doc: "NAMESPACE/WORKLOAD of the proxy that wrote the entry"},
		{Name: "log_name", Type: "String", LowCard: true, Doc: "ALS log_name, OTLP log name, or the import format"},
		{Name: "source", Type: "String", LowCard: true, Doc: "resolved caller node id (service:NS/NAME ...)"},
		{Name: "source_namespace", Type: "String", LowCard: true, Doc: "caller namespace"},
		{Name: "source_workload", Type: "String", LowCard: true, Doc: "caller workload"},
		{Name: "source_app", Type: "String", LowCard: true, Doc: "caller app / canonical service"},
		{Name: "source_version", Type: "String", LowCard: true, Doc: "caller version / canonical revision"},
		{Name: "destination", Type: "String", LowCard: true, Doc: "resolved callee node id"},
		{Name: "destination_namespace", Type: "String", LowCard: true, Doc: "callee namespace"},
		{Name: "destination_workload", Type: "String", LowCard: true, Doc: "callee workload"},
		{Name: "destination_app", Type: "String", LowCard: true, Doc: "callee app / canonical service"},
		{Name: "destination_version", Type: "String", LowCard: true, Doc: "callee version / canonical revision"},
		{Name: "protocol", Type: "String", LowCard: true, Doc: "HTTP/1.1, HTTP/2, grpc, tcp ..."},
		{Name: "method", Type: "String", LowCard: true, Doc: ":method"},
		{Name: "path", Type: "String", Doc: "x-envoy-original-path or :path"},
		{Name: "authority", Type: "String", LowCard: true, Doc: ":authority"},
		{Name: "response_code", Type: "UInt16", Doc: "HTTP status, 0 when no response was sent"},
		{Name: "grpc_status", Type: "Int16", Doc: "grpc-status, -1 unknown"},
		{Name: "response_flags", Type: "String", LowCard: true, Doc: "Envoy response flags, comma separated, empty for none"},
		{Name: "response_code_details", Type: "String", LowCard: true, Doc: "%RESPONSE_CODE_DETAILS%"},
		{Name: "connection_termination_details", Type: "String", LowCard: true, Doc: "%CONNECTION_TERMINATION_DETAILS%"},
		{Name: "upstream_transport_failure_reason", Type: "String", Doc: "%UPSTREAM_TRANSPORT_FAILURE_REASON%"},
		{Name: "bytes_received", Type: "UInt64", Doc: "request body bytes received from downstream"},
		{Name: "bytes_sent", Type: "UInt64", Doc: "response body bytes sent to downstream"},
		{Name: "upstream_host", Type: "String", LowCard: true, Doc: "upstream host address"},
		{Name: "upstream_cluster", Type: "String", LowCard: true, Doc: "upstream cluster name"},
		{Name: "upstream_local_address", Type: "String", Doc: "upstream local address"},
		{Name: "downstream_local_address", Type: "String", LowCard: true, Doc: "downstream local address"},
		{Name: "downstream_remote_address", Type: "String", Doc: "downstream remote address"},
		{Name: "requested_server_name", Type: "String", LowCard: true, Doc: "SNI"},
		{Name: "route_name", Type: "String", LowCard: true, Doc: "route name"},
		{Name: "request_id", Type: "String", Doc: "x-request-id"},
		{Name: "user_agent", Type: "String", LowCard: true, Doc: "user-agent"},
		{Name: "x_forwarded_for", Type: "String", Doc: "x-forwarded-for"},
		{Name: "trace_id", Type: "FixedString(16)", Doc: "trace id when the entry carries one"},
		{Name: "mtls", Type: "UInt8", Doc: "0 unknown, 1 mutual TLS, 2 plaintext"},
	}, attrColumns("attr", "Extra (the writing proxy's k8s.pod.name, ALS tags, OpenTelemetry access log attributes)")),
	Engine:      "MergeTree",
	PartitionBy: "toDate(timestamp)",
	OrderBy:     "(destination, source, timestamp)",
	ShardKey:    "cityHash64(request_id)",
}

// MigrationsTable records applied migrations.
var MigrationsTable = Table{
	Name: "schema_migrations",
	Doc:  "One row per applied migration.",
	Columns: []Column{
		{Name: "id", Type: "UInt32", Doc: "migration id"},
		{Name: "name", Type: "String", Doc: "migration name"},
		{Name: "applied_at", Type: "DateTime", Doc: "when it was applied"},
	},
	Engine:  "ReplacingMergeTree(applied_at)",
	OrderBy: "id",
}
