package als

import (
	"context"
	"net"
	"sync"
	"testing"
	"time"

	dataal "github.com/envoyproxy/go-control-plane/envoy/data/accesslog/v3"
	svcal "github.com/envoyproxy/go-control-plane/envoy/service/accesslog/v3"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/meshscope/meshscope/graph"
	"github.com/meshscope/meshscope/ingest"
	"github.com/meshscope/meshscope/ingest/envoy"
	"github.com/meshscope/meshscope/ingest/otlp"
	"github.com/meshscope/meshscope/ingest/pipeline"
	"github.com/meshscope/meshscope/ingest/wal"
	"github.com/meshscope/meshscope/schema"
	"github.com/meshscope/meshscope/schema/chtest"
)

// sink records what the pipeline hands the live graph.
type sink struct {
	mu  sync.Mutex
	obs []graph.Observation
}

func (s *sink) ObserveSpans([]schema.SpanRow) {}
func (s *sink) Observe(obs []graph.Observation) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, o := range obs {
		o.Source, o.Destination = clone(o.Source), clone(o.Destination)
		s.obs = append(s.obs, o)
	}
}

func (s *sink) snapshot() []graph.Observation {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]graph.Observation(nil), s.obs...)
}

// TestALSToClickHouse streams ALS messages from a real gRPC client built
// on go-control-plane types through the durable pipeline (write-ahead log,
// flusher) into a real ClickHouse, and reads the rows back from the
// requests table.
func TestALSToClickHouse(t *testing.T) {
	st, _ := chtest.Store(t, "meshscope")
	w, err := wal.Open(t.TempDir(), wal.Options{})
	require.NoError(t, err)
	live := &sink{}
	p := pipeline.New(w, st, live, pipeline.Config{FlushInterval: 100 * time.Millisecond})
	res, err := envoy.NewResolver(envoy.Config{Wait: time.Second})
	require.NoError(t, err)

	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); _ = p.Run(ctx) }()
	go func() { defer wg.Done(); _ = res.Run(ctx, p) }()

	g := grpc.NewServer(otlp.ServerOption())
	NewService(res, p, ingest.NewMetrics(nil), Config{}).Register(g)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	wg.Add(1)
	go func() { defer wg.Done(); _ = g.Serve(l) }()
	conn, err := grpc.NewClient(l.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	t.Cleanup(func() {
		conn.Close()
		g.Stop()
		cancel()
		wg.Wait()
		require.NoError(t, w.Close())
	})

	sleepNode := istioNode(t, "sidecar", "10.44.1.23", "sleep-5fcd8fd6c8-2kq6z", "foo", "sleep", sleepLabels)
	httpbinNode := istioNode(t, "sidecar", "10.44.1.27", "httpbin-74fb669cc6-x2kq6", "foo", "httpbin", httpbinLabels)
	require.NoError(t, send(t, conn, &svcal.StreamAccessLogsMessage{
		Identifier: &svcal.StreamAccessLogsMessage_Identifier{Node: sleepNode, LogName: "http_envoy_accesslog"},
		LogEntries: httpLogs(outboundEntry(t, "req-1")),
	}, &svcal.StreamAccessLogsMessage{
		LogEntries: &svcal.StreamAccessLogsMessage_TcpLogs{TcpLogs: &svcal.StreamAccessLogsMessage_TCPAccessLogEntries{
			LogEntry: []*dataal.TCPAccessLogEntry{tcpEntry()}}},
	}))
	require.NoError(t, send(t, conn, &svcal.StreamAccessLogsMessage{
		Identifier: &svcal.StreamAccessLogsMessage_Identifier{Node: httpbinNode, LogName: "http_envoy_accesslog"},
		LogEntries: httpLogs(inboundEntry(t, "req-1")),
	}))

	qctx, qcancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer qcancel()
	require.Eventually(t, func() bool {
		var n uint64
		return st.Conn().QueryRow(qctx, "SELECT count() FROM requests").Scan(&n) == nil && n == 3
	}, 30*time.Second, 50*time.Millisecond)

	type row struct {
		reporter, emitter, logName, source, srcWorkload, destination, dstWorkload, dstVersion, protocol string
		code                                                                                            uint16
		grpc                                                                                            int16
		mtls                                                                                            uint8
		reqID                                                                                           string
		dur                                                                                             uint64
		ust                                                                                             int64
		ts                                                                                              time.Time
	}
	rs, err := st.Conn().Query(qctx, `SELECT reporter, emitter, log_name, source, source_workload, destination,
		destination_workload, destination_version, protocol, response_code, grpc_status, mtls, request_id,
		duration_ns, upstream_service_time_ns, timestamp
		FROM requests ORDER BY reporter, protocol`)
	require.NoError(t, err)
	var got []row
	for rs.Next() {
		var r row
		require.NoError(t, rs.Scan(&r.reporter, &r.emitter, &r.logName, &r.source, &r.srcWorkload, &r.destination,
			&r.dstWorkload, &r.dstVersion, &r.protocol, &r.code, &r.grpc, &r.mtls, &r.reqID, &r.dur, &r.ust, &r.ts))
		got = append(got, r)
	}
	require.NoError(t, rs.Err())
	require.NoError(t, rs.Close())
	require.Equal(t, []row{
		{"destination", "foo/httpbin", "http_envoy_accesslog", "service:foo/sleep", "sleep", "service:foo/httpbin", "httpbin", "v1",
			"HTTP/1.1", 418, -1, schema.SecurityMTLS, "req-1", uint64(3 * time.Millisecond), int64(time.Millisecond),
			start.Add(time.Millisecond).Truncate(time.Second)},
		{"source", "foo/sleep", "http_envoy_accesslog", "service:foo/sleep", "sleep", "service:foo/httpbin", "httpbin", "v1",
			"HTTP/1.1", 418, -1, schema.SecurityUnknown, "req-1", uint64(4 * time.Millisecond), int64(3 * time.Millisecond),
			start.Truncate(time.Second)},
		{"source", "foo/sleep", "http_envoy_accesslog", "service:foo/sleep", "sleep", "external:edition.cnn.com", "", "",
			"tcp", 0, -1, schema.SecurityUnknown, "", uint64(231 * time.Millisecond), -1, start.Truncate(time.Second)},
	}, normalize(got, func(r *row) { r.ts = r.ts.UTC() }))

	// The live graph got one call per request: the destination's for the
	// request both sidecars logged, the source's for the connection out of
	// the mesh.
	require.Eventually(t, func() bool { return len(live.snapshot()) == 2 }, 10*time.Second, 10*time.Millisecond)
	obs := live.snapshot()
	reps := map[graph.Reporter]string{}
	for _, o := range obs {
		reps[o.Reporter] = o.Destination.NodeID(graph.GranularityService)
	}
	require.Equal(t, map[graph.Reporter]string{
		graph.ReporterDestination: "service:foo/httpbin", graph.ReporterSource: "external:edition.cnn.com",
	}, reps)
}

func normalize[T any](rows []T, f func(*T)) []T {
	for i := range rows {
		f(&rows[i])
	}
	return rows
}
