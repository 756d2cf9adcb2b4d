package als

import (
	"context"
	"net"
	"sync"
	"testing"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	dataal "github.com/envoyproxy/go-control-plane/envoy/data/accesslog/v3"
	svcal "github.com/envoyproxy/go-control-plane/envoy/service/accesslog/v3"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/mem"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/meshscope/meshscope/graph"
	"github.com/meshscope/meshscope/ingest"
	"github.com/meshscope/meshscope/ingest/envoy"
	"github.com/meshscope/meshscope/ingest/otlp"
	"github.com/meshscope/meshscope/ingest/pipeline"
	"github.com/meshscope/meshscope/schema"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// recorder is an Appender that keeps copies of what it gets.
type recorder struct {
	mu   sync.Mutex
	rows []schema.RequestRow
	obs  []graph.Observation
	err  error
}

func (r *recorder) Append(_ context.Context, b *schema.Batch, obs []graph.Observation) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err != nil {
		return r.err
	}
	// A round trip through the write-ahead log encoding copies the rows.
	var c schema.Batch
	if err := pipeline.DecodeBatch(pipeline.EncodeBatch(nil, b), &c); err != nil {
		return err
	}
	r.rows = append(r.rows, c.Requests...)
	for _, o := range obs {
		o.Source, o.Destination = clone(o.Source), clone(o.Destination)
		r.obs = append(r.obs, o)
	}
	return nil
}

func clone(p graph.Party) graph.Party {
	return graph.Party{Kind: p.Kind, Cluster: string([]byte(p.Cluster)), Namespace: string([]byte(p.Namespace)),
		Name: string([]byte(p.Name)), Workload: string([]byte(p.Workload)), Version: string([]byte(p.Version))}
}

func (r *recorder) snapshot() ([]schema.RequestRow, []graph.Observation) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]schema.RequestRow(nil), r.rows...), append([]graph.Observation(nil), r.obs...)
}

// server runs the service on a real gRPC server on loopback, with the
// codec cmd/ gives it (otlp.ServerOption), and returns a client
// connection.
func server(t *testing.T, app ingest.Appender) (*grpc.ClientConn, *envoy.Resolver, *ingest.Metrics) {
	t.Helper()
	res, err := envoy.NewResolver(envoy.Config{Wait: 200 * time.Millisecond})
	require.NoError(t, err)
	metrics := ingest.NewMetrics(nil)
	svc := NewService(res, app, metrics, Config{})
	g := grpc.NewServer(otlp.ServerOption())
	svc.Register(g)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	done := make(chan struct{})
	go func() { defer close(done); _ = g.Serve(l) }()
	conn, err := grpc.NewClient(l.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	t.Cleanup(func() {
		conn.Close()
		g.Stop()
		<-done
	})
	return conn, res, metrics
}

func mustStruct(t testing.TB, m map[string]any) *structpb.Struct {
	t.Helper()
	s, err := structpb.NewStruct(m)
	require.NoError(t, err)
	return s
}

// istioNode is a sidecar's node as Istio's proxy sets it.
func istioNode(t testing.TB, typ, ip, pod, ns, workload string, labels map[string]any) *corev3.Node {
	return &corev3.Node{
		Id:      typ + "~" + ip + "~" + pod + "." + ns + "~" + ns + ".svc.cluster.local",
		Cluster: workload + "." + ns,
		Metadata: mustStruct(t, map[string]any{
			"NAMESPACE": ns, "WORKLOAD_NAME": workload, "INSTANCE_IPS": ip, "CLUSTER_ID": "Kubernetes", "NAME": pod,
			"LABELS": labels,
		}),
	}
}

func sock(ip string, port uint32) *corev3.Address {
	return &corev3.Address{Address: &corev3.Address_SocketAddress{SocketAddress: &corev3.SocketAddress{
		Address: ip, PortSpecifier: &corev3.SocketAddress_PortValue{PortValue: port}}}}
}

func peerAny(t testing.TB, fields map[string]any) *anypb.Any {
	t.Helper()
	a, err := anypb.New(mustStruct(t, fields))
	require.NoError(t, err)
	return a
}

var start = time.Date(2025, 3, 1, 12, 0, 0, 123_000_000, time.UTC)

// outboundEntry is sleep calling httpbin, as sleep's sidecar logs it.
func outboundEntry(t testing.TB, id string) *dataal.HTTPAccessLogEntry {
	return &dataal.HTTPAccessLogEntry{
		CommonProperties: &dataal.AccessLogCommon{
			StartTime:                 timestamppb.New(start),
			Duration:                  durationpb.New(4 * time.Millisecond),
			TimeToFirstUpstreamTxByte: durationpb.New(1 * time.Millisecond),
			TimeToFirstUpstreamRxByte: durationpb.New(4 * time.Millisecond),
			DownstreamRemoteAddress:   sock("10.44.1.23", 46520),
			DownstreamLocalAddress:    sock("10.0.45.184", 8000),
			UpstreamRemoteAddress:     sock("10.44.1.27", 80),
			UpstreamLocalAddress:      sock("10.44.1.23", 37652),
			UpstreamCluster:           "outbound|8000||httpbin.foo.svc.cluster.local",
			RouteName:                 "default",
			FilterStateObjects: map[string]*anypb.Any{
				"upstream_peer": peerAny(t, map[string]any{"workload": "httpbin", "namespace": "foo", "cluster": "Kubernetes",
					"service": "httpbin", "revision": "v1", "type": "deployment"}),
			},
		},
		ProtocolVersion: dataal.HTTPAccessLogEntry_HTTP11,
		Request: &dataal.HTTPRequestProperties{
			RequestMethod: corev3.RequestMethod_GET, Authority: "httpbin:8000", Path: "/status/418",
			UserAgent: "curl/7.73.0-DEV", RequestId: id,
			RequestHeaders: map[string]string{"traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"},
		},
		Response: &dataal.HTTPResponseProperties{
			ResponseCode: wrapperspb.UInt32(418), ResponseBodyBytes: 135, ResponseCodeDetails: "via_upstream",
		},
	}
}

// inboundEntry is the same request as httpbin's sidecar logs it.
func inboundEntry(t testing.TB, id string) *dataal.HTTPAccessLogEntry {
	return &dataal.HTTPAccessLogEntry{
		CommonProperties: &dataal.AccessLogCommon{
			StartTime:               timestamppb.New(start.Add(time.Millisecond)),
			Duration:                durationpb.New(3 * time.Millisecond),
			DownstreamRemoteAddress: sock("10.44.1.23", 37652),
			DownstreamLocalAddress:  sock("10.44.1.27", 80),
			UpstreamRemoteAddress:   sock("127.0.0.1", 80),
			UpstreamLocalAddress:    sock("127.0.0.1", 41854),
			UpstreamCluster:         "inbound|8000||",
			RouteName:               "default",
			TlsProperties: &dataal.TLSProperties{
				TlsVersion: dataal.TLSProperties_TLSv1_3, TlsSniHostname: "outbound_.8000_._.httpbin.foo.svc.cluster.local",
				PeerCertificateProperties: &dataal.TLSProperties_CertificateProperties{
					SubjectAltName: []*dataal.TLSProperties_CertificateProperties_SubjectAltName{{
						San: &dataal.TLSProperties_CertificateProperties_SubjectAltName_Uri{Uri: "spiffe://cluster.local/ns/foo/sa/sleep"}}},
				},
			},
			FilterStateObjects: map[string]*anypb.Any{
				"downstream_peer": peerAny(t, map[string]any{"workload": "sleep", "namespace": "foo", "cluster": "Kubernetes",
					"service": "sleep", "revision": "latest", "type": "deployment"}),
			},
		},
		ProtocolVersion: dataal.HTTPAccessLogEntry_HTTP11,
		Request: &dataal.HTTPRequestProperties{
			RequestMethod: corev3.RequestMethod_GET, Authority: "httpbin:8000", Path: "/status/418",
			UserAgent: "curl/7.73.0-DEV", RequestId: id,
		},
		Response: &dataal.HTTPResponseProperties{
			ResponseCode: wrapperspb.UInt32(418), ResponseBodyBytes: 135, ResponseCodeDetails: "via_upstream",
			ResponseHeaders: map[string]string{"x-envoy-upstream-service-time": "1"},
		},
	}
}

// tcpEntry is a connection from sleep to a database outside the mesh.
func tcpEntry() *dataal.TCPAccessLogEntry {
	return &dataal.TCPAccessLogEntry{
		CommonProperties: &dataal.AccessLogCommon{
			StartTime:               timestamppb.New(start),
			Duration:                durationpb.New(231 * time.Millisecond),
			DownstreamRemoteAddress: sock("10.44.1.23", 43956),
			DownstreamLocalAddress:  sock("151.101.195.5", 443),
			UpstreamRemoteAddress:   sock("151.101.195.5", 443),
			UpstreamLocalAddress:    sock("10.44.1.23", 34470),
			UpstreamCluster:         "outbound|443||edition.cnn.com",
			TlsProperties:           &dataal.TLSProperties{TlsSniHostname: "edition.cnn.com"},
			ResponseFlags:           &dataal.ResponseFlags{},
		},
		ConnectionProperties: &dataal.ConnectionProperties{ReceivedBytes: 839, SentBytes: 2504306},
	}
}

var sleepLabels = map[string]any{"app": "sleep", "service.istio.io/canonical-name": "sleep"}
var httpbinLabels = map[string]any{"app": "httpbin", "version": "v1"}

// send streams msgs on one StreamAccessLogs call and closes it.
func send(t *testing.T, conn *grpc.ClientConn, msgs ...*svcal.StreamAccessLogsMessage) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	stream, err := svcal.NewAccessLogServiceClient(conn).StreamAccessLogs(ctx)
	require.NoError(t, err)
	for _, m := range msgs {
		if err := stream.Send(m); err != nil {
			break // the server ended the stream; CloseAndRecv says why
		}
	}
	_, err = stream.CloseAndRecv()
	return err
}

func httpLogs(entries ...*dataal.HTTPAccessLogEntry) *svcal.StreamAccessLogsMessage_HttpLogs {
	return &svcal.StreamAccessLogsMessage_HttpLogs{HttpLogs: &svcal.StreamAccessLogsMessage_HTTPAccessLogEntries{LogEntry: entries}}
}

// TestStreamEndToEnd streams HTTP and TCP entries from two sidecars, with
// Istio's node metadata and peer filter state, over a real gRPC client, and
// checks the rows and the one observation per request.
func TestStreamEndToEnd(t *testing.T) {
	rec := &recorder{}
	conn, res, metrics := server(t, rec)

	sleepNode := istioNode(t, "sidecar", "10.44.1.23", "sleep-5fcd8fd6c8-2kq6z", "foo", "sleep", sleepLabels)
	httpbinNode := istioNode(t, "sidecar", "10.44.1.27", "httpbin-74fb669cc6-x2kq6", "foo", "httpbin", httpbinLabels)

	// sleep's sidecar: the identifier only in the first message.
	require.NoError(t, send(t, conn,
		&svcal.StreamAccessLogsMessage{
			Identifier: &svcal.StreamAccessLogsMessage_Identifier{Node: sleepNode, LogName: "http_envoy_accesslog"},
			LogEntries: httpLogs(outboundEntry(t, "req-1")),
		},
		&svcal.StreamAccessLogsMessage{LogEntries: httpLogs(outboundEntry(t, "req-2"))},
	))
	// httpbin's sidecar logs both requests.
	require.NoError(t, send(t, conn, &svcal.StreamAccessLogsMessage{
		Identifier: &svcal.StreamAccessLogsMessage_Identifier{Node: httpbinNode, LogName: "http_envoy_accesslog"},
		LogEntries: httpLogs(inboundEntry(t, "req-1"), inboundEntry(t, "req-2")),
	}))
	// sleep's TCP log.
	require.NoError(t, send(t, conn, &svcal.StreamAccessLogsMessage{
		Identifier: &svcal.StreamAccessLogsMessage_Identifier{Node: sleepNode, LogName: "tcp_envoy_accesslog"},
		LogEntries: &svcal.StreamAccessLogsMessage_TcpLogs{TcpLogs: &svcal.StreamAccessLogsMessage_TCPAccessLogEntries{
			LogEntry: []*dataal.TCPAccessLogEntry{tcpEntry()}}},
	}))

	rows, obs := rec.snapshot()
	require.Len(t, rows, 5)
	require.Equal(t, 5.0, testutil.ToFloat64(metrics.Accepted.WithLabelValues("als", "requests")))

	out := rows[0]
	require.Equal(t, schema.RequestRow{
		StartUnixNano: uint64(start.UnixNano()), DurationNanos: uint64(4 * time.Millisecond),
		UpstreamServiceTimeNanos: int64(3 * time.Millisecond),
		Reporter:                 "source", Emitter: "foo/sleep", LogName: "http_envoy_accesslog",
		Source: "service:foo/sleep", SourceNamespace: "foo", SourceWorkload: "sleep", SourceApp: "sleep", SourceVersion: "latest",
		Destination: "service:foo/httpbin", DestinationNamespace: "foo", DestinationWorkload: "httpbin",
		DestinationApp: "httpbin", DestinationVersion: "v1",
		Protocol: "HTTP/1.1", Method: "GET", Path: "/status/418", Authority: "httpbin:8000",
		ResponseCode: 418, GRPCStatus: -1, ResponseCodeDetails: "via_upstream", BytesSent: 135,
		UpstreamHost: "10.44.1.27:80", UpstreamCluster: "outbound|8000||httpbin.foo.svc.cluster.local",
		UpstreamLocalAddress: "10.44.1.23:37652", DownstreamLocalAddress: "10.0.45.184:8000",
		DownstreamRemoteAddress: "10.44.1.23:46520", RouteName: "default", RequestID: "req-1", UserAgent: "curl/7.73.0-DEV",
		TraceID: schema.TraceID{0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6, 0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36},
		// The sidecar's pod, from its node.
		AttrKeys: []string{"k8s.pod.name"}, AttrValues: []string{"sleep-5fcd8fd6c8-2kq6z"},
	}, out)
	require.Equal(t, "req-2", rows[1].RequestID)
	require.Equal(t, "foo/sleep", rows[1].Emitter, "the identifier is remembered for the stream")

	in := rows[2]
	require.Equal(t, "destination", in.Reporter)
	require.Equal(t, "foo/httpbin", in.Emitter)
	require.Equal(t, [5]string{"service:foo/sleep", "foo", "sleep", "sleep", "latest"},
		[5]string{in.Source, in.SourceNamespace, in.SourceWorkload, in.SourceApp, in.SourceVersion})
	require.Equal(t, [5]string{"service:foo/httpbin", "foo", "httpbin", "httpbin", "v1"},
		[5]string{in.Destination, in.DestinationNamespace, in.DestinationWorkload, in.DestinationApp, in.DestinationVersion})
	require.Equal(t, schema.SecurityMTLS, in.MTLS)
	require.Equal(t, int64(time.Millisecond), in.UpstreamServiceTimeNanos)
	require.Equal(t, "outbound_.8000_._.httpbin.foo.svc.cluster.local", in.RequestedServerName)
	require.Equal(t, []string{"httpbin-74fb669cc6-x2kq6"}, in.AttrValues, "the pod that served it")

	tcp := rows[4]
	require.Equal(t, "tcp", tcp.Protocol)
	require.Equal(t, "tcp_envoy_accesslog", tcp.LogName)
	require.Equal(t, "external:edition.cnn.com", tcp.Destination)
	require.Equal(t, [2]uint64{839, 2504306}, [2]uint64{tcp.BytesReceived, tcp.BytesSent})

	// Two requests, each logged twice, and one connection: three calls.
	require.Len(t, obs, 3)
	for _, o := range obs[:2] {
		require.Equal(t, graph.ReporterDestination, o.Reporter)
		require.Equal(t, "service:foo/sleep", o.Source.NodeID(graph.GranularityService))
		require.Equal(t, "version:foo/httpbin/v1", o.Destination.NodeID(graph.GranularityVersion))
		require.Equal(t, uint64(1), o.MTLS)
	}
	require.Equal(t, graph.ProtocolTCP, obs[2].Protocol)
	require.Empty(t, res.Flush(nil))
}

// TestBackpressure: a full write-ahead log ends the stream with
// UNAVAILABLE.
func TestBackpressure(t *testing.T) {
	rec := &recorder{err: ingest.ErrBackpressure}
	conn, _, metrics := server(t, rec)
	err := send(t, conn, &svcal.StreamAccessLogsMessage{
		Identifier: &svcal.StreamAccessLogsMessage_Identifier{Node: &corev3.Node{Id: "front-envoy-1", Cluster: "front-proxy"}, LogName: "als"},
		LogEntries: httpLogs(outboundEntry(t, "req-1")),
	}, &svcal.StreamAccessLogsMessage{LogEntries: httpLogs(outboundEntry(t, "req-2"))})
	require.Equal(t, codes.Unavailable, status.Code(err), "%v", err)
	require.Equal(t, 1.0, testutil.ToFloat64(metrics.Rejected.WithLabelValues("als", "backpressure")))
}

// rawCodec sends pre-encoded messages, to put bytes on the wire that
// protobuf would refuse to marshal.
type rawCodec struct{}

func (rawCodec) Marshal(v any) (mem.BufferSlice, error) {
	return mem.BufferSlice{mem.SliceBuffer(v.([]byte))}, nil
}
func (rawCodec) Unmarshal(data mem.BufferSlice, v any) error {
	return encoding.GetCodecV2("proto").Unmarshal(data, v)
}
func (rawCodec) Name() string { return "proto" }

// TestBadEntrySkipped: an entry that does not decode (a string that is not
// UTF-8) is counted and skipped; the stream and the other entries go on.
func TestBadEntrySkipped(t *testing.T) {
	rec := &recorder{}
	conn, _, metrics := server(t, rec)
	good := func(id string) []byte {
		b, err := proto.Marshal(outboundEntry(t, id))
		require.NoError(t, err)
		return b
	}
	bad := good("req-bad")
	i := indexOf(bad, []byte("req-bad"))
	require.Positive(t, i)
	bad[i] = 0xff // no longer UTF-8

	ident, err := proto.Marshal(&svcal.StreamAccessLogsMessage_Identifier{
		Node: istioNode(t, "sidecar", "10.44.1.23", "sleep-5fcd8fd6c8-2kq6z", "foo", "sleep", sleepLabels), LogName: "http_envoy_accesslog"})
	require.NoError(t, err)
	var entries []byte
	for _, e := range [][]byte{good("req-1"), bad, good("req-2")} {
		entries = protowire.AppendTag(entries, fieldLogEntry, protowire.BytesType)
		entries = protowire.AppendBytes(entries, e)
	}
	var msg []byte
	msg = protowire.AppendTag(msg, fieldIdentifier, protowire.BytesType)
	msg = protowire.AppendBytes(msg, ident)
	msg = protowire.AppendTag(msg, fieldHTTPLogs, protowire.BytesType)
	msg = protowire.AppendBytes(msg, entries)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	stream, err := conn.NewStream(ctx, &svcal.AccessLogService_ServiceDesc.Streams[0],
		svcal.AccessLogService_StreamAccessLogs_FullMethodName, grpc.ForceCodecV2(rawCodec{}))
	require.NoError(t, err)
	require.NoError(t, stream.SendMsg(msg))
	var second []byte
	second = protowire.AppendTag(second, fieldHTTPLogs, protowire.BytesType)
	second = protowire.AppendBytes(second, protowire.AppendBytes(protowire.AppendTag(nil, fieldLogEntry, protowire.BytesType), good("req-3")))
	require.NoError(t, stream.SendMsg(second))
	require.NoError(t, stream.CloseSend())
	require.NoError(t, stream.RecvMsg(new(svcal.StreamAccessLogsResponse)))

	rows, _ := rec.snapshot()
	require.Len(t, rows, 3)
	require.Equal(t, []string{"req-1", "req-2", "req-3"}, []string{rows[0].RequestID, rows[1].RequestID, rows[2].RequestID})
	require.Equal(t, "foo/sleep", rows[2].Emitter)
	require.Equal(t, 1.0, testutil.ToFloat64(metrics.Rejected.WithLabelValues("als", "bad_entry")))
}

func indexOf(b, sub []byte) int {
	for i := 0; i+len(sub) <= len(b); i++ {
		if string(b[i:i+len(sub)]) == string(sub) {
			return i
		}
	}
	return -1
}

// TestTypedRegistration: the service also works registered with the
// generated function.
func TestTypedRegistration(t *testing.T) {
	res, err := envoy.NewResolver(envoy.Config{})
	require.NoError(t, err)
	rec := &recorder{}
	svc := NewService(res, rec, ingest.NewMetrics(nil), Config{})
	g := grpc.NewServer()
	svcal.RegisterAccessLogServiceServer(g, svc)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	done := make(chan struct{})
	go func() { defer close(done); _ = g.Serve(l) }()
	defer func() { g.Stop(); <-done }()
	conn, err := grpc.NewClient(l.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	defer conn.Close()
	require.NoError(t, send(t, conn, &svcal.StreamAccessLogsMessage{
		Identifier: &svcal.StreamAccessLogsMessage_Identifier{Node: &corev3.Node{Id: "front-envoy-1", Cluster: "front-proxy"}},
		LogEntries: httpLogs(outboundEntry(t, "req-1")),
	}))
	rows, _ := rec.snapshot()
	require.Len(t, rows, 1)
	require.Equal(t, "service:/front-proxy", rows[0].Source)
	require.Equal(t, "/front-proxy", rows[0].Emitter)
}
