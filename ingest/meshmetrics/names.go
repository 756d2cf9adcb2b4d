package meshmetrics

// family is the mesh whose metric naming and labels a series follows.
type family uint8

const (
	famIstio family = iota + 1
	famLinkerd
	// famLinkerdTCP is Linkerd's transport metrics (tcp_*), which count
	// every connection, HTTP ones included.
	famLinkerdTCP
	famEnvoy
	// famServiceGraph is the service graph metrics of the OpenTelemetry
	// Collector's servicegraph connector and Tempo's metrics-generator.
	famServiceGraph
	// famOTelClient is the client request metrics of OpenTelemetry SDKs
	// (HTTP and RPC client durations and body sizes), the caller's view of
	// every call it made, traced or not.
	famOTelClient
)

// role is what a series contributes to the observation of its call group.
type role uint8

const (
	// roleCounter counts requests (or TCP connections); rank says which
	// counter wins when a group has several that count the same calls.
	roleCounter role = iota + 1
	// roleHistCount is the _count of a latency histogram.
	roleHistCount
	// roleHistSum is the _sum of a latency histogram.
	roleHistSum
	// roleHistBucket is one _bucket (one le) of a latency histogram.
	roleHistBucket
	// roleHistRow is a whole latency histogram in one sample row: OTLP
	// explicit-bucket and exponential histograms, Prometheus native
	// histograms (exponential schemas and custom buckets); each gives the
	// distribution.
	roleHistRow
	// roleBytesSent is bytes from the caller to the callee: a counter, the
	// _sum of a size histogram, or the Sum of a histogram row.
	roleBytesSent
	// roleBytesReceived is bytes from the callee back to the caller.
	roleBytesReceived
	// roleFailures counts failed calls that another series counts (Linkerd's
	// tcp_close_total with classification="failure": connections that
	// ended in an error; the service graph's request_failed_total); it adds
	// to Errors, not to Count.
	roleFailures
)

// spec is what a metric name means.
type spec struct {
	fam  family
	role role
	// rank orders request counters of one group: the highest rank present
	// gives Count (and Errors) when the group has no latency histogram.
	rank uint8
	// unitNanos converts a latency histogram's unit to nanoseconds.
	unitNanos float64
}

const msNanos = 1e6

// specOf returns the meaning of a metric name. Names of cumulative counters
// are accepted with and without "_total", as OTLP pipelines often drop it,
// and histograms both as classic _bucket/_count/_sum series and as one row.
func specOf(name string) (spec, bool) {
	switch name {
	// Istio standard metrics.
	case "istio_requests_total", "istio_requests":
		return spec{fam: famIstio, role: roleCounter, rank: 1}, true
	case "istio_request_duration_milliseconds_bucket":
		return spec{fam: famIstio, role: roleHistBucket, unitNanos: msNanos}, true
	case "istio_request_duration_milliseconds_count":
		return spec{fam: famIstio, role: roleHistCount, unitNanos: msNanos}, true
	case "istio_request_duration_milliseconds_sum":
		return spec{fam: famIstio, role: roleHistSum, unitNanos: msNanos}, true
	case "istio_request_duration_milliseconds":
		return spec{fam: famIstio, role: roleHistRow, unitNanos: msNanos}, true
	case "istio_request_bytes_sum", "istio_request_bytes":
		return spec{fam: famIstio, role: roleBytesSent}, true
	case "istio_response_bytes_sum", "istio_response_bytes":
		return spec{fam: famIstio, role: roleBytesReceived}, true
	// Istio's TCP metrics are named from the server's side: "received" is
	// what the caller sent, "sent" what it got back.
	case "istio_tcp_received_bytes_total", "istio_tcp_received_bytes":
		return spec{fam: famIstio, role: roleBytesSent}, true
	case "istio_tcp_sent_bytes_total", "istio_tcp_sent_bytes":
		return spec{fam: famIstio, role: roleBytesReceived}, true
	case "istio_tcp_connections_opened_total", "istio_tcp_connections_opened":
		return spec{fam: famIstio, role: roleCounter, rank: 1}, true

	// Linkerd proxy metrics.
	case "request_total":
		return spec{fam: famLinkerd, role: roleCounter, rank: 1}, true
	case "response_total":
		return spec{fam: famLinkerd, role: roleCounter, rank: 2}, true
	case "response_latency_ms_bucket":
		return spec{fam: famLinkerd, role: roleHistBucket, unitNanos: msNanos}, true
	case "response_latency_ms_count":
		return spec{fam: famLinkerd, role: roleHistCount, unitNanos: msNanos}, true
	case "response_latency_ms_sum":
		return spec{fam: famLinkerd, role: roleHistSum, unitNanos: msNanos}, true
	case "response_latency_ms":
		return spec{fam: famLinkerd, role: roleHistRow, unitNanos: msNanos}, true
	// Linkerd transport metrics, named as the outbound side sees them:
	// written is what the caller sent (track swaps the two for inbound
	// series, whose peer is the caller).
	case "tcp_open_total", "tcp_open":
		return spec{fam: famLinkerdTCP, role: roleCounter, rank: 1}, true
	case "tcp_write_bytes_total", "tcp_write_bytes":
		return spec{fam: famLinkerdTCP, role: roleBytesSent}, true
	case "tcp_read_bytes_total", "tcp_read_bytes":
		return spec{fam: famLinkerdTCP, role: roleBytesReceived}, true
	case "tcp_close_total", "tcp_close":
		return spec{fam: famLinkerdTCP, role: roleFailures}, true

	// Envoy cluster statistics (/stats/prometheus, tags extracted).
	case "envoy_cluster_upstream_rq_total":
		return spec{fam: famEnvoy, role: roleCounter, rank: 1}, true
	case "envoy_cluster_upstream_rq":
		return spec{fam: famEnvoy, role: roleCounter, rank: 2}, true
	case "envoy_cluster_upstream_rq_xx":
		return spec{fam: famEnvoy, role: roleCounter, rank: 3}, true
	case "envoy_cluster_upstream_rq_time_bucket":
		return spec{fam: famEnvoy, role: roleHistBucket, unitNanos: msNanos}, true
	case "envoy_cluster_upstream_rq_time_count":
		return spec{fam: famEnvoy, role: roleHistCount, unitNanos: msNanos}, true
	case "envoy_cluster_upstream_rq_time_sum":
		return spec{fam: famEnvoy, role: roleHistSum, unitNanos: msNanos}, true
	case "envoy_cluster_upstream_rq_time":
		return spec{fam: famEnvoy, role: roleHistRow, unitNanos: msNanos}, true
	case "envoy_cluster_upstream_cx_tx_bytes_total":
		return spec{fam: famEnvoy, role: roleBytesSent}, true
	case "envoy_cluster_upstream_cx_rx_bytes_total":
		return spec{fam: famEnvoy, role: roleBytesReceived}, true

	// Service graph metrics, as Prometheus names them (Tempo, the
	// connector's metrics through a Prometheus exporter) and as OTLP does.
	// The server's latency histogram gives Count and latency; the client's
	// would count the same calls again and is not read.
	case "traces_service_graph_request_total", "traces_service_graph_request":
		return spec{fam: famServiceGraph, role: roleCounter, rank: 1}, true
	case "traces_service_graph_request_failed_total", "traces_service_graph_request_failed":
		return spec{fam: famServiceGraph, role: roleFailures}, true
	case "traces_service_graph_request_server_seconds_bucket":
		return spec{fam: famServiceGraph, role: roleHistBucket, unitNanos: 1e9}, true
	case "traces_service_graph_request_server_seconds_count":
		return spec{fam: famServiceGraph, role: roleHistCount, unitNanos: 1e9}, true
	case "traces_service_graph_request_server_seconds_sum":
		return spec{fam: famServiceGraph, role: roleHistSum, unitNanos: 1e9}, true
	case "traces_service_graph_request_server_seconds", "traces_service_graph_request_server":
		return spec{fam: famServiceGraph, role: roleHistRow, unitNanos: 1e9}, true

	// OpenTelemetry SDK client metrics, as OTLP names them and as
	// Prometheus does (the Collector's Prometheus exporters, remote_write):
	// the semantic conventions' current names (seconds) and the earlier
	// http.client.duration and rpc.client.duration (milliseconds).
	case "http.client.request.duration", "rpc.client.call.duration":
		return spec{fam: famOTelClient, role: roleHistRow, unitNanos: 1e9}, true
	case "http_client_request_duration_seconds_bucket", "rpc_client_call_duration_seconds_bucket":
		return spec{fam: famOTelClient, role: roleHistBucket, unitNanos: 1e9}, true
	case "http_client_request_duration_seconds_count", "rpc_client_call_duration_seconds_count":
		return spec{fam: famOTelClient, role: roleHistCount, unitNanos: 1e9}, true
	case "http_client_request_duration_seconds_sum", "rpc_client_call_duration_seconds_sum":
		return spec{fam: famOTelClient, role: roleHistSum, unitNanos: 1e9}, true
	case "http.client.duration", "rpc.client.duration":
		return spec{fam: famOTelClient, role: roleHistRow, unitNanos: msNanos}, true
	case "http_client_duration_milliseconds_bucket", "rpc_client_duration_milliseconds_bucket":
		return spec{fam: famOTelClient, role: roleHistBucket, unitNanos: msNanos}, true
	case "http_client_duration_milliseconds_count", "rpc_client_duration_milliseconds_count":
		return spec{fam: famOTelClient, role: roleHistCount, unitNanos: msNanos}, true
	case "http_client_duration_milliseconds_sum", "rpc_client_duration_milliseconds_sum":
		return spec{fam: famOTelClient, role: roleHistSum, unitNanos: msNanos}, true
	case "http.client.request.body.size", "http_client_request_body_size_bytes_sum":
		return spec{fam: famOTelClient, role: roleBytesSent}, true
	case "http.client.response.body.size", "http_client_response_body_size_bytes_sum":
		return spec{fam: famOTelClient, role: roleBytesReceived}, true
	}
	return spec{}, false
}

// groupIgnores reports whether a label is left out of the call group key of
// a family: labels that tell series of one group apart (bucket bound,
// status class) rather than calls apart.
func (f family) groupIgnores(name string) bool {
	switch name {
	case "le":
		return true
	}
	switch f {
	case famLinkerd:
		switch name {
		case "status_code", "classification", "grpc_status", "error":
			return true
		}
	case famLinkerdTCP:
		switch name {
		case "classification", "errno":
			return true
		}
	case famEnvoy:
		switch name {
		case "envoy_response_code_class", "envoy_response_code":
			return true
		}
	}
	return false
}
