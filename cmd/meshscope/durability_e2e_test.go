package main

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/meshscope/meshscope/schema/chstore"
	"github.com/meshscope/meshscope/schema/chtest"
)

// traceBatch builds n spans of one trace, numbered from first, with random
// bytes in an attribute so that batches do not compress to nothing.
func traceBatch(first, n int, pad int) ptrace.Traces {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "durable")
	spans := rs.ScopeSpans().AppendEmpty().Spans()
	now := time.Now()
	for i := first; i < first+n; i++ {
		sp := spans.AppendEmpty()
		sp.SetTraceID(pcommon.TraceID{1, byte(i >> 16), byte(i >> 8), byte(i)})
		sp.SetSpanID(pcommon.SpanID{2, byte(i >> 16), byte(i >> 8), byte(i)})
		sp.SetName(fmt.Sprintf("op-%d", i))
		sp.SetKind(ptrace.SpanKindServer)
		sp.SetStartTimestamp(pcommon.NewTimestampFromTime(now))
		sp.SetEndTimestamp(pcommon.NewTimestampFromTime(now.Add(time.Millisecond)))
		if pad > 0 {
			b := make([]byte, pad)
			for j := range b {
				b[j] = byte(rand.IntN(256))
			}
			sp.Attributes().PutStr("pad", fmt.Sprintf("%x", b))
		}
	}
	return td
}

func grpcTraceClient(t *testing.T, addr string) ptraceotlp.GRPCClient {
	t.Helper()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	return ptraceotlp.NewGRPCClient(conn)
}

func openStore(t *testing.T, dsn string) *chstore.Store {
	t.Helper()
	st, err := chstore.Open(context.Background(), chstore.Config{DSN: dsn})
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	return st
}

// While ClickHouse is down, acknowledged spans wait in the write-ahead log;
// past --wal-max-bytes receivers answer retryable errors; after ClickHouse
// returns every acknowledged span is stored. The inserts go through the
// HTTP interface (--clickhouse-http); TestKill9LosesNothingAcknowledged's
// over the DSN.
func TestClickHouseOutageBackpressureAndRecovery(t *testing.T) {
	ch := chtest.Server(t)
	dsn := ch.DSN("meshscope")
	srv := startServer(t, t.TempDir(), true, "--clickhouse", dsn, "--clickhouse-http", ch.HTTPURL(), "--wal-max-bytes", "1MiB")
	client := grpcTraceClient(t, srv.grpcAddr)
	ctx := context.Background()

	ch.Pause()
	acked := 0
	var refused error
	for batch := 0; batch < 200 && refused == nil; batch++ {
		_, err := client.Export(ctx, ptraceotlp.NewExportRequestFromTraces(traceBatch(batch*100, 100, 64)))
		if err != nil {
			refused = err
			break
		}
		acked += 100
	}
	require.Error(t, refused, "the log must fill up while ClickHouse is down")
	require.Equal(t, codes.Unavailable, status.Code(refused), "retryable: %v", refused)
	require.Greater(t, acked, 0)

	// OTLP/HTTP answers 503 with Retry-After.
	body, err := ptraceotlp.NewExportRequestFromTraces(traceBatch(1_000_000, 10, 0)).MarshalProto()
	require.NoError(t, err)
	resp, err := http.Post("http://"+srv.otlpHTTP+"/v1/traces", "application/x-protobuf", bytes.NewReader(body))
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
	require.NotEmpty(t, resp.Header.Get("Retry-After"))
	require.Positive(t, srv.metric(`meshscope_ingest_rejected_total{reason="backpressure"`))

	require.NoError(t, ch.Resume(ctx))
	st := openStore(t, dsn)
	eventually(t, "acknowledged spans stored after the outage", 60*time.Second, func() (bool, string) {
		n := countRows(t, st, "SELECT uniqExact(span_id) FROM spans")
		return n == uint64(acked), fmt.Sprintf("%d of %d", n, acked)
	})
	// And the receivers accept again.
	_, err = client.Export(ctx, ptraceotlp.NewExportRequestFromTraces(traceBatch(2_000_000, 10, 0)))
	require.NoError(t, err)
}

// kill -9 while ClickHouse is down: after ClickHouse and meshscope restart,
// everything acknowledged before the kill reaches ClickHouse. The log's
// records are zstd-compressed here (--wal-compression), snappy elsewhere.
func TestKill9LosesNothingAcknowledged(t *testing.T) {
	ch := chtest.Server(t)
	dsn := ch.DSN("meshscope")
	dataDir := t.TempDir()
	srv := startServer(t, dataDir, true, "--clickhouse", dsn, "--wal-compression", "zstd")
	ctx := context.Background()
	st := openStore(t, dsn)

	// Some spans reach ClickHouse before the outage...
	client := grpcTraceClient(t, srv.grpcAddr)
	_, err := client.Export(ctx, ptraceotlp.NewExportRequestFromTraces(traceBatch(0, 500, 0)))
	require.NoError(t, err)
	eventually(t, "first spans stored", 30*time.Second, func() (bool, string) {
		n := countRows(t, st, "SELECT count() FROM spans")
		return n == 500, itoa(n)
	})
	// ...the rest only into the log.
	ch.Pause()
	for batch := 1; batch <= 20; batch++ {
		_, err := client.Export(ctx, ptraceotlp.NewExportRequestFromTraces(traceBatch(batch*500, 500, 16)))
		require.NoError(t, err)
	}
	srv.kill()

	require.NoError(t, ch.Resume(ctx))
	srv.start(true)
	eventually(t, "all acknowledged spans stored after kill -9", 60*time.Second, func() (bool, string) {
		n := countRows(t, st, "SELECT uniqExact(span_id) FROM spans")
		return n == 21*500, fmt.Sprintf("%d of %d", n, 21*500)
	})
}
