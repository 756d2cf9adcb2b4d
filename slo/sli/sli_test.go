package sli_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/meshscope/meshscope/schema"
	"github.com/meshscope/meshscope/schema/chstore"
	"github.com/meshscope/meshscope/schema/chtest"
	"github.com/meshscope/meshscope/slo/alert"
	"github.com/meshscope/meshscope/slo/sli"
	"github.com/meshscope/meshscope/slo/spec"
)

// t0 is the end of every window in these tests.
var t0 = time.Date(2025, 1, 10, 12, 0, 0, 0, time.UTC)

func resolved(t *testing.T, yaml string) *spec.SLO {
	t.Helper()
	p, err := spec.ParseOne([]byte(yaml), spec.DefaultAlerting())
	require.NoError(t, err)
	return &p.Resolved
}

func req(at time.Time, src, dst, reporter string, code uint16, flags string) schema.RequestRow {
	return schema.RequestRow{
		StartUnixNano: uint64(at.UnixNano()), Source: src, Destination: dst, Reporter: reporter,
		Protocol: "HTTP/1.1", ResponseCode: code, GRPCStatus: -1, ResponseFlags: flags, DurationNanos: uint64(time.Millisecond),
	}
}

// windows queries the SLO's windows at at; with cache, the whole hours of
// the SLO window come from sli.Hours (from edges_1h when edges is set).
func windows(t *testing.T, st *chstore.Store, s *spec.SLO, at time.Time, cache, edges bool) *alert.Sample {
	t.Helper()
	ctx := context.Background()
	q := sli.WindowsQuery{SLO: s, At: at, Windows: s.Windows(), BudgetStart: s.Window.Start(at)}
	if cache {
		q.CachedFrom, q.CachedTo = q.BudgetStart.Truncate(time.Hour).Add(time.Hour), at.Truncate(time.Hour)
		hours, err := sli.Hours(ctx, st.Conn(), s, q.CachedFrom, q.CachedTo, edges)
		require.NoError(t, err)
		for _, h := range hours {
			q.Cached = q.Cached.Add(h)
		}
		q.CachedEdges = edges && sli.EdgesUsable(s)
	}
	smp, err := sli.Windows(ctx, st.Conn(), q)
	require.NoError(t, err)
	return smp
}

func TestWindows(t *testing.T) {
	st, _ := chtest.Store(t, "meshscope")
	ctx := context.Background()
	var b schema.Batch
	web, checkout, legacy := "service:shop/web", "service:shop/checkout", "service:shop/legacy"
	// web -> checkout, both sidecars log: 100 requests in the last 5
	// minutes, every 10th a 503 seen by both; 7 more that never reached
	// checkout (UH at the source only).
	for i := range 100 {
		at := t0.Add(-time.Duration(i+1) * time.Second)
		code := uint16(200)
		if i%10 == 0 {
			code = 503
		}
		b.Requests = append(b.Requests, req(at, web, checkout, "destination", code, ""), req(at, web, checkout, "source", code, ""))
	}
	for i := range 7 {
		b.Requests = append(b.Requests, req(t0.Add(-time.Duration(i+1)*time.Minute), web, checkout, "source", 503, "UH"))
	}
	// legacy -> checkout is logged by the source only: all its rows count.
	for i := range 20 {
		code := uint16(200)
		if i < 5 {
			code = 500
		}
		b.Requests = append(b.Requests, req(t0.Add(-2*time.Hour-time.Duration(i)*time.Second), legacy, checkout, "source", code, ""))
	}
	// An hour outside every window but the SLO window's.
	b.Requests = append(b.Requests, req(t0.Add(-10*24*time.Hour), web, checkout, "destination", 500, ""))
	// Spans of checkout are ignored: it has access logs.
	b.Spans = append(b.Spans, schema.SpanRow{StartUnixNano: uint64(t0.Add(-time.Minute).UnixNano()), Kind: schema.SpanKindServer,
		StatusCode: schema.StatusError, ServiceName: "checkout", ServiceNamespace: "shop"})
	// ledger has spans only: 40 server spans in the last hour, 4 errors,
	// plus client spans that do not count.
	for i := range 40 {
		status := schema.StatusOK
		if i%10 == 0 {
			status = schema.StatusError
		}
		b.Spans = append(b.Spans,
			schema.SpanRow{StartUnixNano: uint64(t0.Add(-time.Duration(i+1) * time.Minute).UnixNano()), Kind: schema.SpanKindServer,
				StatusCode: status, ServiceName: "ledger", ServiceNamespace: "shop", HTTPMethod: "GET", HTTPRoute: "/api/x", DurationNanos: uint64(i) * 1e7},
			schema.SpanRow{StartUnixNano: uint64(t0.Add(-time.Duration(i+1) * time.Minute).UnixNano()), Kind: schema.SpanKindClient,
				StatusCode: schema.StatusError, ServiceName: "ledger", ServiceNamespace: "shop"})
	}
	require.NoError(t, st.Write(ctx, &b))

	t.Run("service de-duplicates both sidecars", func(t *testing.T) {
		s := resolved(t, "{name: c, target: {service: shop/checkout}, sli: availability, objective: 99, window: 28d}")
		smp := windows(t, st, s, t0, false, false)
		require.Equal(t, smp, windows(t, st, s, t0, true, false), "whole hours from sli.Hours")
		require.Equal(t, sli.FromRequests, smp.Source)
		require.Equal(t, alert.Counts{Total: 100 + 5, Bad: 10 + 5}, smp.Window(5*time.Minute))
		require.Equal(t, alert.Counts{Total: 107, Bad: 17}, smp.Window(time.Hour))
		require.Equal(t, alert.Counts{Total: 127, Bad: 22}, smp.Window(6*time.Hour))
		require.Equal(t, alert.Counts{Total: 128, Bad: 23}, smp.Budget)
	})
	t.Run("edge", func(t *testing.T) {
		s := resolved(t, "{name: c, target: {edge: {source: shop/legacy, destination: shop/checkout}}, sli: availability, objective: 99, window: 28d}")
		smp := windows(t, st, s, t0, false, false)
		require.Equal(t, alert.Counts{Total: 20, Bad: 5}, smp.Window(6*time.Hour))
		require.Equal(t, alert.Counts{}, smp.Window(time.Hour))
	})
	t.Run("error override", func(t *testing.T) {
		s := resolved(t, "{name: c, target: {service: shop/checkout}, sli: availability, objective: 99, window: 28d, errors: {codes: [\"500\"]}}")
		smp := windows(t, st, s, t0, false, false)
		require.Equal(t, alert.Counts{Total: 128, Bad: 6}, smp.Budget, "only the 500s count: 5 from legacy, 1 old")
	})
	t.Run("latency is exact at the threshold", func(t *testing.T) {
		s := resolved(t, "{name: c, target: {service: shop/ledger}, sli: {latency: {threshold: 200ms}}, objective: 99, window: 28d}")
		smp := windows(t, st, s, t0, false, false)
		require.Equal(t, sli.FromSpans, smp.Source)
		// durations are 0, 10ms, ... 390ms: 21 at or under 200ms.
		require.Equal(t, alert.Counts{Total: 40, Bad: 19}, smp.Window(time.Hour))
	})
	t.Run("span-only service", func(t *testing.T) {
		s := resolved(t, "{name: c, target: {service: shop/ledger}, sli: availability, objective: 99, window: 28d}")
		smp := windows(t, st, s, t0, false, false)
		require.Equal(t, smp, windows(t, st, s, t0, true, false), "whole hours from sli.Hours")
		require.Equal(t, sli.FromSpans, smp.Source)
		require.Equal(t, alert.Counts{Total: 5, Bad: 1}, smp.Window(5*time.Minute))
		require.Equal(t, alert.Counts{Total: 40, Bad: 4}, smp.Window(time.Hour))
	})
	t.Run("filter on spans", func(t *testing.T) {
		s := resolved(t, "{name: c, target: {filter: {destination: shop/ledger, method: GET, path_prefix: /api}}, sli: availability, objective: 99, window: 28d}")
		require.Equal(t, alert.Counts{Total: 40, Bad: 4}, windows(t, st, s, t0, false, false).Window(time.Hour))
		s = resolved(t, "{name: c, target: {filter: {destination: shop/ledger, path_prefix: /other}}, sli: availability, objective: 99, window: 28d}")
		require.Equal(t, alert.Counts{}, windows(t, st, s, t0, false, false).Window(time.Hour))
	})
	t.Run("no data", func(t *testing.T) {
		s := resolved(t, "{name: c, target: {service: shop/nothing}, sli: availability, objective: 99, window: 28d}")
		smp := windows(t, st, s, t0, false, false)
		require.Equal(t, alert.Counts{}, smp.Budget)
		_, noData := alert.Judge(s, smp)
		require.True(t, noData)
	})
	t.Run("series sums equal the windows", func(t *testing.T) {
		s := resolved(t, "{name: c, target: {service: shop/checkout}, sli: availability, objective: 99, window: 28d}")
		ws := s.Windows()
		series, err := sli.ReadSeries(ctx, st.Conn(), sli.SeriesQuery{SLO: s, From: t0.Add(-4 * 24 * time.Hour), To: t0, Step: 30 * time.Second})
		require.NoError(t, err)
		samples, err := series.Samples(ws, t0.Add(-time.Hour), t0)
		require.NoError(t, err)
		n := 0
		for smp := range samples {
			if smp.At.Minute()%20 == 0 && smp.At.Second() == 0 {
				live := windows(t, st, s, smp.At, false, false)
				require.Equal(t, live.Counts, smp.Counts, "at %s", smp.At)
			}
			n++
		}
		require.Equal(t, 121, n)
	})
	t.Run("failing edges and traces", func(t *testing.T) {
		s := resolved(t, "{name: c, target: {service: shop/checkout}, sli: availability, objective: 99, window: 28d}")
		got, err := sli.TopCulprits(ctx, st.Conn(), s, sli.FromRequests, t0.Add(-6*time.Hour), t0, 5)
		require.NoError(t, err)
		require.Equal(t, []sli.Culprit{
			{Edge: "service:shop/web -> service:shop/checkout", Bad: 17, Total: 107},
			{Edge: "service:shop/legacy -> service:shop/checkout", Bad: 5, Total: 20},
		}, got)
		got, err = sli.TopCulprits(ctx, st.Conn(), resolved(t, "{name: l, target: {service: shop/ledger}, sli: availability, objective: 99, window: 28d}"), sli.FromSpans, t0.Add(-time.Hour), t0, 5)
		require.NoError(t, err)
		require.Equal(t, []sli.Culprit{{Edge: "", Bad: 4, Total: 40}}, got)
	})
}

func TestExampleTraces(t *testing.T) {
	st, _ := chtest.Store(t, "meshscope")
	ctx := context.Background()
	var b schema.Batch
	for i := range 8 {
		r := req(t0.Add(-time.Duration(i+1)*time.Second), "service:shop/web", "service:shop/checkout", "destination", 200, "")
		if i%2 == 0 {
			r.ResponseCode = 503
			r.TraceID[0], r.TraceID[15] = 0xab, byte(i)
		}
		b.Requests = append(b.Requests, r)
	}
	b.Requests = append(b.Requests, req(t0.Add(-time.Second), "service:shop/web", "service:shop/checkout", "destination", 500, ""))
	require.NoError(t, st.Write(ctx, &b))
	s := resolved(t, "{name: c, target: {service: shop/checkout}, sli: availability, objective: 99, window: 28d}")
	got, err := sli.ExampleTraces(ctx, st.Conn(), s, t0.Add(-time.Hour), t0, 3)
	require.NoError(t, err)
	var want []string
	for _, i := range []int{0, 2, 4} {
		want = append(want, fmt.Sprintf("ab%028x%02x", 0, i))
	}
	require.Equal(t, want, got, "newest first, rows without a trace id left out")
}

func TestBudgetFromEdges(t *testing.T) {
	st, _ := chtest.Store(t, "meshscope")
	ctx := context.Background()
	at := t0.Add(30 * time.Minute) // 12:30: the SLO window starts at 12:30 a day back
	// Raw rows: 3 in the partial first hour (11:30-12:00 the day before,
	// bad 1), 4 in the current hour (bad 2), and one in a whole hour that
	// edges_1h answers instead.
	var b schema.Batch
	start := at.Add(-24 * time.Hour)
	for _, r := range []struct {
		at   time.Time
		code uint16
	}{{start, 503}, {start.Add(10 * time.Minute), 200}, {start.Add(29 * time.Minute), 200},
		{t0, 500}, {t0.Add(time.Minute), 503}, {t0.Add(2 * time.Minute), 200}, {t0.Add(3 * time.Minute), 200},
		{t0.Add(-5 * time.Hour), 500}} {
		b.Requests = append(b.Requests, req(r.at, "service:shop/web", "service:shop/checkout", "destination", r.code, ""))
	}
	require.NoError(t, st.Write(ctx, &b))
	// edges_10s rows (rolled up into edges_1h by the materialized view):
	// 1000 calls and 7 errors in whole hours, 50 in the current hour (not read).
	for _, e := range []struct {
		at        time.Time
		req, errs int
	}{{t0.Add(-3 * time.Hour), 600, 5}, {t0.Add(-20 * time.Hour), 400, 2}, {t0.Add(10 * time.Minute), 50, 50}} {
		require.NoError(t, st.Conn().Exec(ctx, fmt.Sprintf(`INSERT INTO edges_10s (timestamp, source_kind, source_namespace, source_name,
			destination_kind, destination_namespace, destination_name, protocol, requests, errors)
			SELECT toDateTime(%d), 'service', 'shop', 'web', 'service', 'shop', 'checkout', 'http', toUInt64(%d), toUInt64(%d)`, e.at.Unix(), e.req, e.errs)))
	}
	s := resolved(t, "{name: c, target: {service: shop/checkout}, sli: availability, objective: 99, window: 1d, alerting: {ticket: []}}")
	got := windows(t, st, s, at, true, true)
	require.Equal(t, alert.Counts{Total: 3 + 4 + 1000, Bad: 1 + 2 + 7}, got.Budget)
	require.Equal(t, alert.Counts{Total: 4, Bad: 2}, got.Window(time.Hour), "alerting windows stay exact from raw rows")
	raw := windows(t, st, s, at, false, false)
	require.Equal(t, alert.Counts{Total: 8, Bad: 4}, raw.Budget)
	require.Equal(t, raw, windows(t, st, s, at, true, false))

	s = resolved(t, "{name: c, target: {service: shop/checkout}, sli: {latency: {threshold: 1s}}, objective: 99, window: 1d, alerting: {ticket: []}}")
	require.False(t, sli.EdgesUsable(s))
	require.Equal(t, uint64(8), windows(t, st, s, at, true, true).Budget.Total, "latency SLIs never read the aggregates")
}
