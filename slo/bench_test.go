package slo

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/meshscope/meshscope/schema/chtest"
)

// BenchmarkEvaluate500SLOs measures one evaluation of 500 availability SLOs
// (28 day windows, the default page and ticket windows) over 30 days of
// data: one request every 30 seconds for each of 500 services (43.2M rows
// of requests) and the matching hourly edge aggregates, seeded with
// INSERT ... SELECT FROM numbers(). "raw" counts the SLO windows from
// requests; "edges" reads their whole hours from edges_1h and only the
// alerting windows (up to 3 days) from requests.
func BenchmarkEvaluate500SLOs(b *testing.B) {
	const (
		services = 500
		every    = 30 // seconds between requests of a service
		days     = 30
	)
	st, _ := chtest.Store(b, "meshscope")
	ctx := context.Background()
	end := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	start := end.Add(-days * 24 * time.Hour)
	rows := services * days * 86400 / every
	require.NoError(b, st.Conn().Exec(ctx, fmt.Sprintf(`INSERT INTO requests
    (timestamp, start_time_unix_nano, duration_ns, reporter, source, destination, protocol, response_code, grpc_status)
SELECT toDateTime(%d + intDiv(number, %d) * %d) AS ts, toUInt64(ts) * 1000000000, toUInt64(5000000), 'destination', 'service:shop/web',
    concat('service:shop/svc-', toString(number %% %d)), 'HTTP/1.1', toUInt16(if(number %% 2003 = 0, 503, 200)), toInt16(-1)
FROM numbers(%d)`, start.Unix(), services, every, services, rows)))
	hours := days * 24
	require.NoError(b, st.Conn().Exec(ctx, fmt.Sprintf(`INSERT INTO edges_10s
    (timestamp, source_kind, source_namespace, source_name, destination_kind, destination_namespace, destination_name, protocol, requests, errors)
SELECT toDateTime(%d + intDiv(number, %d) * 3600), 'service', 'shop', 'web', 'service', 'shop', concat('svc-', toString(number %% %d)), 'http',
    toUInt64(%d), toUInt64(0)
FROM numbers(%d)`, start.Unix(), services, services, 3600/every, services*hours)))

	var specs strings.Builder
	specs.WriteString("slos:\n")
	for i := range services {
		fmt.Fprintf(&specs, "  - {name: svc-%d, target: {service: shop/svc-%d}, sli: availability, objective: 99.9, window: 28d}\n", i, i)
	}
	dir := writeSpecs(b, "slos.yaml", specs.String())
	at := end.Add(-90 * time.Second)
	for _, mode := range []struct {
		name  string
		edges bool
	}{{"raw", false}, {"edges", true}} {
		// cold: a new engine, whose first evaluation reads every whole hour
		// of the 28 day windows (from requests, or from edges_1h).
		b.Run("cold/"+mode.name, func(b *testing.B) {
			b.ReportAllocs()
			n := 0
			for b.Loop() {
				e, _ := newEngine(b, Config{Path: dir, BudgetFromEdges: mode.edges}, st, &clock{t: end})
				require.NoError(b, e.Reload())
				require.NoError(b, e.EvaluateAt(ctx, at))
				n++
			}
			b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(n*services), "ms/slo")
		})
	}
	// warm: the steady state, one evaluation every 30 seconds, reading raw
	// rows for the alerting windows (up to 3 days) and the hour in progress.
	b.Run("warm", func(b *testing.B) {
		e, _ := newEngine(b, Config{Path: dir}, st, &clock{t: end})
		require.NoError(b, e.Reload())
		require.NoError(b, e.EvaluateAt(ctx, at.Add(-time.Hour)))
		b.ReportAllocs()
		n := 0
		for b.Loop() {
			require.NoError(b, e.EvaluateAt(ctx, at.Add(time.Duration(n%60)*30*time.Second-time.Hour/2)))
			n++
		}
		b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(n*services), "ms/slo")
		st, _ := e.Status("svc-7")
		require.Equal(b, uint64(28*86400/every), st.Budget.Total)
	})
}
