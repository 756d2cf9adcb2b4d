package main

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"

	"github.com/meshscope/meshscope/schema/chtest"
)

// Two meshscope replicas writing to one ClickHouse give one graph: each
// flushes its partial buckets, and with --live-from-clickhouse each live
// view follows the sum.
func TestTwoReplicasOneGraph(t *testing.T) {
	ch := chtest.Server(t)
	args := []string{"--clickhouse", ch.DSN("meshscope"), "--span-wait", "1s", "--edge-flush-delay", "2s",
		"--live-from-clickhouse", "--live-poll", "1s"}
	a := startServer(t, t.TempDir(), true, args...)
	b := startServer(t, t.TempDir(), true, args...)
	// Whole traces go to one replica each, as the Collector's load
	// balancing by trace id does: 30 calls to a, 50 to b.
	_, err := grpcTraceClient(t, a.grpcAddr).Export(context.Background(), ptraceotlp.NewExportRequestFromTraces(callTraces(30, 3)))
	require.NoError(t, err)
	bt := callTraces(50, 5)
	for i := 0; i < bt.ResourceSpans().Len(); i++ { // other trace ids than a's
		spans := bt.ResourceSpans().At(i).ScopeSpans().At(0).Spans()
		for j := 0; j < spans.Len(); j++ {
			tid := spans.At(j).TraceID()
			tid[15] = 0xbb
			spans.At(j).SetTraceID(tid)
		}
	}
	_, err = grpcTraceClient(t, b.grpcAddr).Export(context.Background(), ptraceotlp.NewExportRequestFromTraces(bt))
	require.NoError(t, err)

	const id = "service:shop/web->service:shop/cart"
	for _, srv := range []*server{a, b} {
		eventually(t, "the live view of each replica shows both replicas' calls", 60*time.Second, func() (bool, string) {
			e := findEdge(getGraph(t, "http://"+srv.httpAddr+"/api/v1/graph"), id)
			if e == nil {
				return false, "no edge yet"
			}
			return e.Requests == 80 && e.Errors == 8, fmt.Sprintf("requests %d errors %d", e.Requests, e.Errors)
		})
	}
}
