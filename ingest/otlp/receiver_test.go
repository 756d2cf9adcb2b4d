package otlp

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/meshscope/meshscope/graph"
	"github.com/meshscope/meshscope/ingest"
	"github.com/meshscope/meshscope/schema"
)

// memAppender records what the receiver appends. The durable pipeline is
// tested on its own; here the receiver's handling of input is under test.
type memAppender struct {
	mu    sync.Mutex
	spans []schema.SpanRow
	err   error
}

func (m *memAppender) Append(_ context.Context, b *schema.Batch, _ []graph.Observation) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.err != nil {
		return m.err
	}
	m.spans = append(m.spans, b.Spans...)
	return nil
}

type fixture struct {
	app     *memAppender
	metrics *ingest.Metrics
	http    *httptest.Server
	grpc    ptraceotlp.GRPCClient
	conn    *grpc.ClientConn
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{app: &memAppender{}, metrics: ingest.NewMetrics(prometheus.NewRegistry())}
	r := NewReceiver(NewConverter(1000), f.app, f.metrics, Config{MaxRequestBytes: 64 << 10})
	f.http = httptest.NewServer(r.HTTPHandler())
	t.Cleanup(f.http.Close)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	s := grpc.NewServer(ServerOption())
	r.RegisterGRPC(s)
	go func() { _ = s.Serve(l) }()
	t.Cleanup(s.Stop)
	conn, err := grpc.NewClient(l.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	f.grpc, f.conn = ptraceotlp.NewGRPCClient(conn), conn
	return f
}

func (f *fixture) rejected(receiver, reason string) float64 {
	return testutil.ToFloat64(f.metrics.Rejected.WithLabelValues(receiver, reason))
}

func traces(mut func(sp ptrace.Span)) ptrace.Traces {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "svc")
	sp := rs.ScopeSpans().AppendEmpty().Spans().AppendEmpty()
	sp.SetTraceID(pcommon.TraceID{1})
	sp.SetSpanID(pcommon.SpanID{2})
	sp.SetName("op")
	now := time.Now()
	sp.SetStartTimestamp(pcommon.NewTimestampFromTime(now))
	sp.SetEndTimestamp(pcommon.NewTimestampFromTime(now.Add(time.Millisecond)))
	if mut != nil {
		mut(sp)
	}
	return td
}

func protoBody(t *testing.T, td ptrace.Traces) []byte {
	b, err := ptraceotlp.NewExportRequestFromTraces(td).MarshalProto()
	require.NoError(t, err)
	return b
}

func gz(t *testing.T, b []byte) []byte {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	_, err := w.Write(b)
	require.NoError(t, err)
	require.NoError(t, w.Close())
	return buf.Bytes()
}

func TestHTTPBadInput(t *testing.T) {
	f := newFixture(t)
	bomb := gz(t, bytes.Repeat([]byte{0}, 10<<20))
	future := traces(func(sp ptrace.Span) {
		sp.SetStartTimestamp(pcommon.NewTimestampFromTime(time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC)))
		sp.SetEndTimestamp(sp.StartTimestamp() + 1)
	})
	backwards := traces(func(sp ptrace.Span) { sp.SetEndTimestamp(sp.StartTimestamp() - 1) })
	badUTF8 := traces(func(sp ptrace.Span) { sp.Attributes().PutStr("k", "\xff\xfe") })
	cases := []struct {
		name, method, ctype, encoding string
		body                          []byte
		code                          int
		reason, msg                   string
	}{
		{"malformed protobuf", "POST", "application/x-protobuf", "", []byte{0x0a, 0xff, 0xff, 0xff}, 400, "bad_protobuf", "decode traces export request"},
		{"malformed json", "POST", "application/json", "", []byte(`{"resourceSpans": [`), 400, "bad_json", "decode traces export request"},
		{"wrong content type", "POST", "text/plain", "", []byte("hi"), 415, "bad_content_type", `Content-Type "text/plain" not supported`},
		{"wrong method", "GET", "application/x-protobuf", "", nil, 405, "bad_method", "method GET not allowed"},
		{"unknown encoding", "POST", "application/x-protobuf", "br", []byte("x"), 415, "bad_content_encoding", `Content-Encoding "br" not supported`},
		{"broken gzip", "POST", "application/x-protobuf", "gzip", []byte("not gzip"), 400, "bad_gzip", "gzip body"},
		{"oversize body", "POST", "application/x-protobuf", "", make([]byte, 65<<10), 413, "too_large", "body exceeds 65536 bytes"},
		{"gzip bomb", "POST", "application/x-protobuf", "gzip", bomb, 413, "too_large", "decompressed body exceeds 65536 bytes"},
		{"timestamp in the year 3000", "POST", "application/x-protobuf", "", protoBody(t, future), 400, "invalid_timestamp", "start_time_unix_nano is more than 24h in the future"},
		{"end before start", "POST", "application/x-protobuf", "", protoBody(t, backwards), 400, "invalid_timestamp", "end_time_unix_nano is before start_time_unix_nano"},
		{"invalid utf-8 attribute", "POST", "application/x-protobuf", "", protoBody(t, badUTF8), 400, "invalid_utf8", "attribute k: invalid UTF-8"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := f.rejected("otlp_http", tc.reason)
			req, err := http.NewRequest(tc.method, f.http.URL+"/v1/traces", bytes.NewReader(tc.body))
			require.NoError(t, err)
			req.Header.Set("Content-Type", tc.ctype)
			if tc.encoding != "" {
				req.Header.Set("Content-Encoding", tc.encoding)
			}
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			var body bytes.Buffer
			_, _ = body.ReadFrom(resp.Body)
			resp.Body.Close()
			require.Equal(t, tc.code, resp.StatusCode, body.String())
			require.Contains(t, body.String(), tc.msg)
			require.Equal(t, before+1, f.rejected("otlp_http", tc.reason), "counted under %s", tc.reason)
		})
	}
	require.Empty(t, f.app.spans)
}

func TestPartialSuccessKeepsGoodSpans(t *testing.T) {
	f := newFixture(t)
	td := traces(nil)
	bad := td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().AppendEmpty()
	bad.SetName("no ids")
	resp, err := f.grpc.Export(context.Background(), ptraceotlp.NewExportRequestFromTraces(td))
	require.NoError(t, err)
	require.EqualValues(t, 1, resp.PartialSuccess().RejectedSpans())
	require.Contains(t, resp.PartialSuccess().ErrorMessage(), `span "no ids": trace_id is empty`)
	require.Len(t, f.app.spans, 1)
	require.Equal(t, 1.0, f.rejected("otlp_grpc", "invalid_id"))

	// Same over HTTP with JSON in and out.
	body, err := ptraceotlp.NewExportRequestFromTraces(td).MarshalJSON()
	require.NoError(t, err)
	hresp, err := http.Post(f.http.URL+"/v1/traces", "application/json", bytes.NewReader(body))
	require.NoError(t, err)
	defer hresp.Body.Close()
	require.Equal(t, 200, hresp.StatusCode)
	out := ptraceotlp.NewExportResponse()
	var buf bytes.Buffer
	_, _ = buf.ReadFrom(hresp.Body)
	require.NoError(t, out.UnmarshalJSON(buf.Bytes()))
	require.EqualValues(t, 1, out.PartialSuccess().RejectedSpans())
}

func TestGRPCBadInput(t *testing.T) {
	f := newFixture(t)
	// Bytes that are not a valid request, sent with the raw codec.
	err := f.conn.Invoke(context.Background(), "/opentelemetry.proto.collector.trace.v1.TraceService/Export",
		NewRawMessage([]byte{0x0a, 0xff, 0xff, 0xff, 0x0f}), NewRawMessage(nil), ClientCodec())
	require.Equal(t, codes.InvalidArgument, status.Code(err), "%v", err)
	require.Contains(t, status.Convert(err).Message(), "decode trace export request")
	require.Equal(t, 1.0, f.rejected("otlp_grpc", "bad_protobuf"))

	_, err = f.grpc.Export(context.Background(), ptraceotlp.NewExportRequestFromTraces(traces(func(sp ptrace.Span) {
		sp.SetStartTimestamp(0)
	})))
	require.Equal(t, codes.InvalidArgument, status.Code(err), "%v", err)
	require.Contains(t, status.Convert(err).Message(), "start_time_unix_nano is zero")

	f.app.err = fmt.Errorf("%w (test)", ingest.ErrBackpressure)
	_, err = f.grpc.Export(context.Background(), ptraceotlp.NewExportRequestFromTraces(traces(nil)))
	require.Equal(t, codes.Unavailable, status.Code(err))
	require.Equal(t, 1.0, f.rejected("otlp_grpc", "backpressure"))
}

// TestAttrsFromArena: attribute strings read as pdata's AsString gives them
// (small integers from a table), and lists carved from one arena chunk do
// not run into each other.
func TestAttrsFromArena(t *testing.T) {
	m := pcommon.NewMap()
	m.PutInt("http.response.status_code", 503)
	m.PutInt("big", 12345)
	m.PutInt("negative", -7)
	m.PutBool("ok", true)
	m.PutDouble("ratio", 0.5)
	m.PutStr("s", "x")
	var a strArena
	keys, values := attrs(m, &a)
	other, _ := attrs(m, &a)
	var want []string
	m.Range(func(_ string, v pcommon.Value) bool { want = append(want, v.AsString()); return true })
	require.Equal(t, want, values)
	keys = append(keys, "appended past the list's end")
	require.Equal(t, want, values, "the list after it in the chunk is untouched")
	require.Equal(t, "http.response.status_code", other[0])
	nk, nv := attrs(m, nil)
	require.Equal(t, want, nv)
	require.Len(t, nk, m.Len())
	require.Len(t, keys, m.Len()+1)
}
