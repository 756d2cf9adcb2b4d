package query

import (
	"context"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/meshscope/meshscope/schema"
	"github.com/meshscope/meshscope/schema/chtest"
)

// Records grouped by pattern on a real ClickHouse: ids, addresses and
// numbers replaced, counts, services, severity, the latest body, the trend;
// the same pattern as a filter of the records and their volume.
func TestLogPatterns(t *testing.T) {
	st, _ := chtest.Store(t, "meshscope")
	at := testNow.Add(-30 * time.Minute)
	rec := func(svc string, sev uint8, text, body string, after time.Duration) schema.LogRow {
		return schema.LogRow{TimeUnixNano: ns(at.Add(after)), SeverityNumber: sev, SeverityText: text, ServiceName: svc, ServiceNamespace: "shop", Body: body}
	}
	logs := []schema.LogRow{
		rec("web", 9, "INFO", "GET /cart/4711 200 in 19.4 ms", 0),
		rec("web", 9, "INFO", "GET /cart/12 404 in 3 ms", time.Minute),
		rec("web", 9, "INFO", "GET /cart/7 200 in 0.5 ms", 2*time.Minute),
		rec("cart", 9, "INFO", "GET /cart/9 200 in 3 ms", 3*time.Minute),
		rec("cart", 17, "ERROR", "user 123e4567-e89b-12d3-a456-426614174000 from 10.1.2.3:8080 declined", 4*time.Minute),
		rec("cart", 13, "WARN", "user 00000000-0000-4000-8000-000000000001 from 192.168.0.7 declined", 5*time.Minute),
		rec("web", 9, "INFO", "trace 4bf92f3577b34da6a3ce929d0e0e4736 ok", 6*time.Minute),
		rec("web", 9, "INFO", "v2 api at s3 and -1 retries after 1.5s by web-7f9c", 7*time.Minute),
		rec("web", 5, "DEBUG", "GET /cart/1 200 in 1 ms", -3*time.Hour), // outside the last hour
	}
	require.NoError(t, st.Write(context.Background(), &schema.Batch{Logs: logs}))
	c := newTestAPI(t, Config{}, Deps{Store: st}).client.with(t)

	type pattern struct {
		Pattern      string
		Count        uint64
		Services     []string
		Severity     uint8  `json:"severity_number"`
		SeverityText string `json:"severity_text"`
		Sample       string
		FirstSeen    time.Time `json:"first_seen"`
		LastSeen     time.Time `json:"last_seen"`
		Trend        []uint64
	}
	var got struct {
		BucketSeconds float64 `json:"bucket_seconds"`
		Records       uint64
		Sample        float64
		Patterns      []pattern
	}
	get := func(query string) {
		got.Patterns = nil
		c.get("/api/v1/logs/patterns?"+query, &got)
	}
	names := func() []string {
		out := []string{}
		for _, p := range got.Patterns {
			out = append(out, p.Pattern)
		}
		return out
	}
	const getCart = "GET /cart/<n> <n> in <n> ms"
	const declined = "user <uuid> from <ip> declined"
	get("")
	require.Equal(t, uint64(8), got.Records, "the last hour's records")
	require.Equal(t, 120.0, got.BucketSeconds, "an hour in 30 buckets")
	require.Equal(t, []string{getCart, declined, "trace <hex> ok", "v2 api at s3 and <n> retries after <n>s by web-7f9c"}, names())
	p := got.Patterns[0]
	require.Equal(t, uint64(4), p.Count)
	require.Equal(t, []string{"shop/web", "shop/cart"}, p.Services, "the most records first")
	require.Equal(t, uint8(9), p.Severity)
	require.Equal(t, "GET /cart/9 200 in 3 ms", p.Sample, "the latest")
	require.True(t, p.FirstSeen.Equal(at), "%v", p.FirstSeen)
	require.True(t, p.LastSeen.Equal(at.Add(3*time.Minute)), "%v", p.LastSeen)
	require.Len(t, p.Trend, patternBuckets)
	var sum uint64
	for _, n := range p.Trend {
		sum += n
	}
	require.Equal(t, uint64(4), sum)
	require.Equal(t, uint64(2), p.Trend[15], "30 and 29 minutes ago: the middle of the hour")
	require.Equal(t, uint64(2), p.Trend[16], "28 and 27 minutes ago")
	d := got.Patterns[1]
	require.Equal(t, uint64(2), d.Count)
	require.Equal(t, uint8(17), d.Severity)
	require.Equal(t, "ERROR", d.SeverityText)
	require.Equal(t, []string{"shop/cart"}, d.Services)

	// The search's filters apply; the limit keeps the most common.
	get("service=cart")
	require.Equal(t, []string{declined, getCart}, names())
	require.Equal(t, uint64(3), got.Records)
	get("severity=warn")
	require.Equal(t, []string{declined}, names())
	get("limit=1")
	require.Equal(t, []string{getCart}, names())
	require.Equal(t, uint64(8), got.Records, "all the records searched, not only the patterns listed")
	get("from=now-4h&to=now-2h")
	require.Equal(t, []string{getCart}, names())
	require.Equal(t, uint8(5), got.Patterns[0].Severity)

	// A pattern is a filter of the records and of their volume.
	var l struct{ Logs []struct{ Body string } }
	c.get("/api/v1/logs?pattern="+url.QueryEscape(getCart), &l)
	require.Len(t, l.Logs, 4)
	c.get("/api/v1/logs?service=web&pattern="+url.QueryEscape(getCart), &l)
	require.Len(t, l.Logs, 3)
	var v struct{ Levels map[string][]uint64 }
	c.get("/api/v1/logs/volume?pattern="+url.QueryEscape(declined), &v)
	require.Equal(t, []string{"error", "warn"}, slices.Sorted(maps.Keys(v.Levels)))
	c.get("/api/v1/logs?pattern="+url.QueryEscape("GET /cart/4711 200 in 19.4 ms"), &l)
	require.Empty(t, l.Logs, "a body is not its pattern")

	require.Equal(t, 1.0, got.Sample, "every record")

	// A search past the sample's size groups a sample of its records and
	// scales their counts: here, 4 of 8 records.
	sampled := newTestAPI(t, Config{LogPatternSample: 4}, Deps{Store: st}).client.with(t)
	var s struct {
		Records  uint64
		Sample   float64
		Patterns []pattern
	}
	sampled.get("/api/v1/logs/patterns", &s)
	require.Equal(t, uint64(8), s.Records)
	require.Equal(t, 0.5, s.Sample)
	var est uint64
	for _, p := range s.Patterns {
		require.Zero(t, p.Count%2, "%s: counts scaled by two", p.Pattern)
		est += p.Count
	}
	require.InDelta(t, 8, float64(est), 6, "about the records searched")
	require.Less(t, len(s.Patterns), 4+1)

	// Go's LogPattern says what ClickHouse says, for every body above and
	// a few more.
	bodies := []string{"1 2 3", "a1 b2 3c 4", "took 12ms, 1.5s, 3 ms", "0x1f and 10.0.0.1 and 1.2.3", "uuid 123E4567-E89B-12D3-A456-426614174000!",
		"deadbeefdeadbeef00 and deadbeef", "-7 degrees", "über 5 €", strings.Repeat("x", 298) + " 42"}
	for _, l := range logs {
		bodies = append(bodies, l.Body)
	}
	var fromCH []string
	require.NoError(t, st.Conn().QueryRow(context.Background(), "SELECT groupArray(p) FROM (SELECT "+patternExpr+" AS p FROM (SELECT arrayJoin(?) AS body))", bodies).Scan(&fromCH))
	for i, b := range bodies {
		require.Equal(t, fromCH[i], LogPattern(b), "%q", b)
	}

	c.fail("/api/v1/logs/patterns?limit=0", http.StatusBadRequest, "limit")
	c.fail("/api/v1/logs/patterns?severity=loud", http.StatusBadRequest, "severity")
}
