package otlp

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"

	"github.com/meshscope/meshscope/schema"
)

// randomTraces is an export of spans with every kind of attribute value,
// events, links and statuses, all ids distinct.
func randomTraces(r *rand.Rand, spans int) ptrace.Traces {
	td := ptrace.NewTraces()
	now := time.Now()
	for range 1 + r.IntN(3) {
		rs := td.ResourceSpans().AppendEmpty()
		rs.Resource().Attributes().PutStr("service.name", fmt.Sprint("svc-", r.IntN(1000)))
		rs.Resource().Attributes().PutStr("k8s.pod.name", fmt.Sprint("pod-", r.Uint64()))
		ss := rs.ScopeSpans().AppendEmpty()
		ss.Scope().SetName(fmt.Sprint("scope-", r.IntN(10)))
		for range spans {
			sp := ss.Spans().AppendEmpty()
			var tid pcommon.TraceID
			var sid pcommon.SpanID
			for i := range tid {
				tid[i] = byte(r.Uint32())
			}
			for i := range sid {
				sid[i] = byte(r.Uint32())
			}
			sp.SetTraceID(tid)
			sp.SetSpanID(sid)
			sp.SetName(fmt.Sprint("op-", r.Uint64()))
			sp.SetKind(ptrace.SpanKind(1 + r.IntN(5)))
			sp.TraceState().FromRaw(fmt.Sprint("k=", r.IntN(100)))
			t0 := now.Add(-time.Duration(r.IntN(1e9)))
			sp.SetStartTimestamp(pcommon.NewTimestampFromTime(t0))
			sp.SetEndTimestamp(pcommon.NewTimestampFromTime(t0.Add(time.Duration(r.IntN(1e8)))))
			sp.Status().SetCode(ptrace.StatusCode(r.IntN(3)))
			sp.Status().SetMessage(fmt.Sprint("status ", r.Uint64()))
			a := sp.Attributes()
			a.PutStr("http.route", fmt.Sprint("/r/", r.Uint64()))
			a.PutInt("http.response.status_code", int64(200+r.IntN(400)))
			a.PutInt("big", r.Int64())
			a.PutBool("flag", r.IntN(2) == 0)
			a.PutDouble("ratio", r.Float64())
			a.PutEmptyBytes("raw").FromRaw([]byte(fmt.Sprint(r.Uint64())))
			a.PutEmptySlice("list").AppendEmpty().SetStr(fmt.Sprint(r.Uint64()))
			a.PutEmptyMap("map").PutStr("inner", fmt.Sprint(r.Uint64()))
			for range r.IntN(3) {
				ev := sp.Events().AppendEmpty()
				ev.SetName(fmt.Sprint("event-", r.Uint64()))
				ev.SetTimestamp(pcommon.NewTimestampFromTime(t0))
				ev.Attributes().PutStr("e", fmt.Sprint(r.Uint64()))
			}
			for range r.IntN(3) {
				l := sp.Links().AppendEmpty()
				l.SetTraceID(tid)
				l.SetSpanID(pcommon.SpanID{byte(r.Uint32()), 1})
				l.Attributes().PutStr("l", fmt.Sprint(r.Uint64()))
			}
		}
	}
	return td
}

// TestPooledDecodingKeepsNothing: with pdata's pooled decoding on, the rows
// of requests exported over gRPC and HTTP (protobuf and JSON), several at
// once, are those of the same spans converted without the receiver: no row
// holds memory that a later request's decoding reuses.
func TestPooledDecodingKeepsNothing(t *testing.T) {
	require.NoError(t, PoolDecoding(true))
	t.Cleanup(func() { require.NoError(t, PoolDecoding(false)) })
	f := newFixture(t)
	r := rand.New(rand.NewPCG(11, 12))
	conv := NewConverter(1000)
	var want []schema.SpanRow
	var requests []ptrace.Traces
	for i := range 90 {
		// The last 30, sent over gRPC by all three senders at once, span
		// several HTTP/2 frames, which the gRPC path gathers into buffers
		// of requestBuffers, reused with what they held.
		large := i >= 60
		n := 1 + r.IntN(20)
		if large {
			n = 60 + r.IntN(20)
		}
		td := randomTraces(r, n)
		if large {
			body, err := ptraceotlp.NewExportRequestFromTraces(td).MarshalProto()
			require.NoError(t, err)
			require.Greater(t, len(body), 16384, "request %d spans several frames", i)
		}
		var b schema.Batch
		require.Zero(t, conv.TracesToRows(td, &b).n)
		want = append(want, b.Spans...)
		requests = append(requests, td)
	}
	var wg sync.WaitGroup
	errs := make(chan error, len(requests))
	for w := range 3 {
		wg.Go(func() {
			for i := w; i < len(requests); i += 3 {
				req := ptraceotlp.NewExportRequestFromTraces(requests[i])
				switch {
				case i%3 == 0 || i >= 60:
					_, err := f.grpc.Export(context.Background(), req)
					errs <- err
				default:
					marshal, ct := req.MarshalProto, "application/x-protobuf"
					if i%3 == 2 {
						marshal, ct = req.MarshalJSON, "application/json"
					}
					body, err := marshal()
					if err != nil {
						errs <- err
						continue
					}
					resp, err := http.Post(f.http.URL+"/v1/traces", ct, bytes.NewReader(body))
					if err == nil {
						resp.Body.Close()
						if resp.StatusCode != 200 {
							err = fmt.Errorf("HTTP %d", resp.StatusCode)
						}
					}
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	bySpan := func(a, b schema.SpanRow) int { return bytes.Compare(a.SpanID[:], b.SpanID[:]) }
	got := slices.Clone(f.app.spans)
	slices.SortFunc(got, bySpan)
	slices.SortFunc(want, bySpan)
	require.Equal(t, len(want), len(got))
	for i := range want {
		require.Equal(t, want[i], got[i], "span %d", i)
	}
}

func TestDirtyPool(t *testing.T) {
	var p dirtyPool
	for _, n := range []int{0, 1, 4095, 4096, 4097, 100_000, 1 << 26, 1<<26 + 1} {
		b := p.Get(n)
		require.Len(t, *b, n)
		c := cap(*b)
		if n <= 1<<26 {
			require.Zero(t, c&(c-1), "capacity %d for %d is a power of two", c, n)
			require.GreaterOrEqual(t, c, max(n, 4096))
			require.Less(t, c, max(2*n, 4097))
		}
		p.Put(b)
	}
	// A buffer whose capacity is no tier's is not kept: it would come
	// back from a tier of buffers of another size.
	for range 100 {
		odd := make([]byte, 5000)
		p.Put(&odd)
		b := p.Get(4096)
		require.Equal(t, 4096, cap(*b))
		p.Put(b)
	}
}
