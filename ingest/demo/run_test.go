package demo

import (
	"bufio"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	alsservice "github.com/envoyproxy/go-control-plane/envoy/service/accesslog/v3"
	"github.com/golang/snappy"
	"github.com/prometheus/prometheus/prompb"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/meshscope/meshscope/ingest/envoy/accesslog"
)

const testToken = "s3cret"

// fakeServer plays meshscope's endpoints on loopback: a real gRPC server
// with the OTLP trace service and the Envoy Access Log Service, and a real
// HTTP server for remote write and text lines. It checks what it receives
// and counts it; the first request of every channel but ALS is answered
// with a retryable error.
type fakeServer struct {
	ptraceotlp.UnimplementedGRPCServer
	alsservice.UnimplementedAccessLogServiceServer

	grpcAddr, httpURL string

	failStreams atomic.Int32 // ALS streams to end with UNAVAILABLE after their first message

	mu        sync.Mutex
	problems  []string
	spans     int
	exports   atomic.Int64
	streams   int
	entries   int
	identOnce map[string]bool // node ids that sent an identifier
	records   int
	points    int
	samples   int
	writes    atomic.Int64
	lines     int
	posts     atomic.Int64
	emitters  map[string]bool
}

func (f *fakeServer) problem(format string) {
	f.mu.Lock()
	f.problems = append(f.problems, format)
	f.mu.Unlock()
}

func authorized(ctx context.Context) bool {
	md, _ := metadata.FromIncomingContext(ctx)
	return len(md["authorization"]) == 1 && md["authorization"][0] == "Bearer "+testToken
}

func (f *fakeServer) Export(ctx context.Context, req ptraceotlp.ExportRequest) (ptraceotlp.ExportResponse, error) {
	if !authorized(ctx) {
		return ptraceotlp.NewExportResponse(), status.Error(codes.Unauthenticated, "token")
	}
	if f.exports.Add(1) == 1 {
		return ptraceotlp.NewExportResponse(), status.Error(codes.Unavailable, "starting")
	}
	n := req.Traces().SpanCount()
	if n == 0 || n > spanBatch+50 {
		f.problem("bad span count")
	}
	f.mu.Lock()
	f.spans += n
	f.mu.Unlock()
	return ptraceotlp.NewExportResponse(), nil
}

// fakeLogs is the fake's OTLP logs service (its Export would clash with
// the trace service's on one type).
type fakeLogs struct {
	plogotlp.UnimplementedGRPCServer
	f *fakeServer
}

func (l *fakeLogs) Export(ctx context.Context, req plogotlp.ExportRequest) (plogotlp.ExportResponse, error) {
	if !authorized(ctx) {
		return plogotlp.NewExportResponse(), status.Error(codes.Unauthenticated, "token")
	}
	n := req.Logs().LogRecordCount()
	if n == 0 || n > logBatch+50 {
		l.f.problem("bad log record count")
	}
	l.f.mu.Lock()
	l.f.records += n
	l.f.mu.Unlock()
	return plogotlp.NewExportResponse(), nil
}

// fakeMetrics is the fake's OTLP metrics service.
type fakeMetrics struct {
	pmetricotlp.UnimplementedGRPCServer
	f *fakeServer
}

func (m *fakeMetrics) Export(ctx context.Context, req pmetricotlp.ExportRequest) (pmetricotlp.ExportResponse, error) {
	if !authorized(ctx) {
		return pmetricotlp.NewExportResponse(), status.Error(codes.Unauthenticated, "token")
	}
	n := req.Metrics().DataPointCount()
	if n == 0 || n > sdkMetricsBatch {
		m.f.problem("bad data point count")
	}
	m.f.mu.Lock()
	m.f.points += n
	m.f.mu.Unlock()
	return pmetricotlp.NewExportResponse(), nil
}

func (f *fakeServer) StreamAccessLogs(stream alsservice.AccessLogService_StreamAccessLogsServer) error {
	if !authorized(stream.Context()) {
		return status.Error(codes.Unauthenticated, "token")
	}
	f.mu.Lock()
	f.streams++
	f.mu.Unlock()
	for i := 0; ; i++ {
		m, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return stream.SendAndClose(&alsservice.StreamAccessLogsResponse{})
		}
		if err != nil {
			return err
		}
		if err := m.ValidateAll(); err != nil {
			f.problem("invalid ALS message: " + err.Error())
		}
		if (i == 0) != (m.GetIdentifier() != nil) {
			f.problem("the identifier must come in the first message only")
		}
		if id := m.GetIdentifier(); id != nil {
			f.mu.Lock()
			f.identOnce[id.GetNode().GetId()+"|"+id.GetLogName()] = true
			f.mu.Unlock()
		}
		f.mu.Lock()
		f.entries += len(m.GetHttpLogs().GetLogEntry()) + len(m.GetTcpLogs().GetLogEntry())
		f.mu.Unlock()
		if i == 0 && f.failStreams.Add(-1) >= 0 {
			return status.Error(codes.Unavailable, "restarting")
		}
	}
}

func (f *fakeServer) remoteWrite(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Content-Encoding") != "snappy" || r.Header.Get("Content-Type") != "application/x-protobuf" ||
		r.Header.Get("X-Prometheus-Remote-Write-Version") != "0.1.0" {
		f.problem("remote write headers")
	}
	if f.writes.Add(1) == 1 {
		w.Header().Set("Retry-After", "0")
		http.Error(w, "wal full", http.StatusServiceUnavailable)
		return
	}
	body, _ := io.ReadAll(r.Body)
	raw, err := snappy.Decode(nil, body)
	var wr prompb.WriteRequest
	if err == nil {
		err = wr.Unmarshal(raw)
	}
	if err != nil || len(wr.Timeseries) == 0 {
		f.problem("bad remote write body")
		http.Error(w, "bad body", http.StatusBadRequest)
		return
	}
	f.mu.Lock()
	f.samples += len(wr.Timeseries)
	f.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

func (f *fakeServer) accessLogs(w http.ResponseWriter, r *http.Request) {
	if r.URL.Query().Get("format") != "istio" {
		f.problem("format")
	}
	emitter := r.URL.Query().Get("emitter")
	if f.posts.Add(1) == 1 {
		http.Error(w, "busy", http.StatusTooManyRequests)
		return
	}
	p, _ := accesslog.ParserFor(accesslog.PresetIstio)
	var e accesslog.Entry
	sc := bufio.NewScanner(r.Body)
	sc.Buffer(nil, 1<<20)
	n := 0
	for sc.Scan() {
		if err := p.Parse(sc.Bytes(), &e); err != nil {
			f.problem("unparsable line: " + err.Error())
		}
		n++
	}
	f.mu.Lock()
	f.lines += n
	f.emitters[emitter] = true
	f.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

// startFakeServer starts the fake endpoints and stops them with the test.
func startFakeServer(t *testing.T) *fakeServer {
	t.Helper()
	f := &fakeServer{identOnce: map[string]bool{}, emitters: map[string]bool{}}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	gs := grpc.NewServer()
	ptraceotlp.RegisterGRPCServer(gs, f)
	plogotlp.RegisterGRPCServer(gs, &fakeLogs{f: f})
	pmetricotlp.RegisterGRPCServer(gs, &fakeMetrics{f: f})
	alsservice.RegisterAccessLogServiceServer(gs, f)
	go func() { _ = gs.Serve(lis) }()
	t.Cleanup(gs.Stop)
	f.grpcAddr = lis.Addr().String()

	mux := http.NewServeMux()
	auth := func(h http.HandlerFunc) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if r.Method != http.MethodPost || r.Header.Get("Authorization") != "Bearer "+testToken {
				f.problem("HTTP method or token")
				http.Error(w, "unauthorized", http.StatusUnauthorized)
				return
			}
			h(w, r)
		}
	}
	mux.HandleFunc("/api/v1/write", auth(f.remoteWrite))
	mux.HandleFunc("/api/v1/accesslogs", auth(f.accessLogs))
	hs := httptest.NewServer(mux)
	t.Cleanup(hs.Close)
	f.httpURL = hs.URL
	return f
}

func TestRunAgainstFakeServers(t *testing.T) {
	f := startFakeServer(t)
	var final Stats
	cfg := Config{
		ServerHTTP: f.httpURL, ServerGRPC: f.grpcAddr, Token: testToken,
		Services: 30, Rate: 3000, Duration: 1500 * time.Millisecond,
		Scenario: ScenarioFailingDependency, ScenarioPeriod: 300 * time.Millisecond,
		Seed: 3, TraceSample: 0.5,
		MetricsInterval: 300 * time.Millisecond, FlushInterval: 100 * time.Millisecond, ProgressInterval: 500 * time.Millisecond,
		Logger:   slog.New(slog.DiscardHandler),
		Progress: func(s Stats) { final = s },
	}
	require.NoError(t, Run(context.Background(), cfg))

	f.mu.Lock()
	defer f.mu.Unlock()
	require.Empty(t, f.problems)
	require.Positive(t, f.spans)
	require.Positive(t, f.records)
	require.Positive(t, f.entries)
	require.Positive(t, f.samples)
	require.Positive(t, f.points)
	require.Positive(t, f.lines)
	require.NotEmpty(t, f.emitters)
	for e := range f.emitters {
		require.True(t, strings.Contains(e, "/"), "emitter %q is NAMESPACE/WORKLOAD", e)
	}
	require.LessOrEqual(t, f.streams, len(f.identOnce), "one stream per sidecar logger")

	require.EqualValues(t, f.spans, final.Spans)
	require.EqualValues(t, f.records, final.LogRecords)
	require.EqualValues(t, f.entries, final.ALSEntries)
	require.EqualValues(t, f.samples, final.MetricSamples)
	require.EqualValues(t, f.points, final.MetricPoints)
	require.EqualValues(t, f.lines, final.TextLines)
	require.EqualValues(t, f.streams, final.ALSStreams)
	require.GreaterOrEqual(t, final.Retries, uint64(3), "the first trace export, remote write and text post were retried")
	require.Zero(t, final.Errors)
	require.Zero(t, final.Dropped)
	require.Greater(t, final.Calls, uint64(2000))
}

func TestRunServerDown(t *testing.T) {
	// Addresses nobody listens on: Run waits for the server and still
	// ends cleanly on time.
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := lis.Addr().String()
	require.NoError(t, lis.Close())
	var final Stats
	cfg := Config{
		ServerHTTP: "http://" + addr, ServerGRPC: addr, Services: 20, Duration: 400 * time.Millisecond,
		Logger: slog.New(slog.DiscardHandler), Progress: func(s Stats) { final = s },
	}
	start := time.Now()
	require.NoError(t, Run(context.Background(), cfg))
	require.Less(t, time.Since(start), 3*time.Second)
	require.Zero(t, final.Calls+final.ALSEntries+final.Spans+final.MetricSamples+final.TextLines+final.Errors)
}

func TestRunStreamsReopen(t *testing.T) {
	f := startFakeServer(t)
	f.failStreams.Store(5)
	var final Stats
	cfg := Config{
		ServerHTTP: f.httpURL, ServerGRPC: f.grpcAddr, Token: testToken, Services: 20, Rate: 2000,
		Duration: time.Second, FlushInterval: 50 * time.Millisecond, Logger: slog.New(slog.DiscardHandler),
		Progress: func(s Stats) { final = s },
	}
	require.NoError(t, Run(context.Background(), cfg))
	f.mu.Lock()
	defer f.mu.Unlock()
	require.Empty(t, f.problems, "every stream, the reopened ones too, starts with the identifier")
	require.Greater(t, f.streams, len(f.identOnce), "broken streams were reopened")
	require.Positive(t, final.Retries)
	require.Positive(t, f.entries)
}

func TestRunStopsWithContext(t *testing.T) {
	f := startFakeServer(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, Config{ServerHTTP: f.httpURL, ServerGRPC: f.grpcAddr, Token: testToken, Services: 20,
			Logger: slog.New(slog.DiscardHandler)})
	}()
	time.Sleep(200 * time.Millisecond)
	cancel()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not stop")
	}
}

func TestRunBadConfig(t *testing.T) {
	err := Run(context.Background(), Config{Scenario: "nope", Logger: slog.New(slog.DiscardHandler)})
	require.ErrorContains(t, err, "--scenario")
}
