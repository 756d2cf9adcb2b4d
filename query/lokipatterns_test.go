package query

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/meshscope/meshscope/schema"
	"github.com/meshscope/meshscope/schema/chtest"
)

// lokiPatternsJSON is GET /loki/api/v1/patterns.
type lokiPatternsJSON struct {
	Status string
	Data   []struct {
		Pattern string
		Level   string
		Samples [][2]int64
	}
}

// Grafana's Logs Drilldown reads a service's patterns with their level and
// counts per step, then filters its records by one (|>) or without it
// (!>).
func TestLokiPatterns(t *testing.T) {
	st, _ := chtest.Store(t, "meshscope")
	start := testNow.Add(-30 * time.Minute)
	var rows []schema.LogRow
	add := func(at time.Time, sev uint8, body string) {
		rows = append(rows, schema.LogRow{TimeUnixNano: uint64(at.UnixNano()), SeverityNumber: sev, ServiceName: "cart", ServiceNamespace: "shop", Body: body})
	}
	// 20 requests in the first minute, 10 in the third; 5 failures in the
	// third, one with a % in its text; one long body.
	for i := range 20 {
		add(start.Add(time.Duration(i)*time.Second), 9, fmt.Sprintf("GET /cart/%d 200 in %d.%d ms", 4000+i, i, i))
	}
	for i := range 10 {
		add(start.Add(2*time.Minute+time.Duration(i)*time.Second), 9, fmt.Sprintf("GET /cart/%d 200 in %d ms", i, i))
	}
	for i := range 5 {
		add(start.Add(2*time.Minute+time.Duration(i)*time.Second), 17, fmt.Sprintf("charge failed for order %d: 100%% of retries_used", i))
	}
	add(start.Add(time.Minute), 13, "stack: "+strings.Repeat("frame ", 100))
	// Another service's records are not the query's.
	rows = append(rows, schema.LogRow{TimeUnixNano: uint64(start.UnixNano()), SeverityNumber: 9, ServiceName: "web", Body: "GET /cart/1 200 in 1 ms"})
	require.NoError(t, st.Write(context.Background(), &schema.Batch{Logs: rows}))
	api := newTestAPI(t, Config{}, Deps{Store: st})
	c := api.client.with(t)

	rng := fmt.Sprintf("&start=%d&end=%d", start.UnixNano(), testNow.UnixNano())
	var got lokiPatternsJSON
	c.get("/loki/api/v1/patterns?query="+url.QueryEscape(`{service_name="cart"}`)+rng+"&step=60s", &got)
	require.Equal(t, "success", got.Status)
	require.Len(t, got.Data, 3, "%+v", got.Data)
	req := got.Data[0]
	require.Equal(t, "GET /cart/<_> <_> in <_> ms", req.Pattern)
	require.Equal(t, "info", req.Level)
	require.Equal(t, [][2]int64{{start.Unix(), 20}, {start.Add(2 * time.Minute).Unix(), 10}}, req.Samples)
	fail := got.Data[1]
	require.Equal(t, "charge failed for order <_>: <_>% of retries_used", fail.Pattern)
	require.Equal(t, "error", fail.Level)
	require.Equal(t, [][2]int64{{start.Add(2 * time.Minute).Unix(), 5}}, fail.Samples)
	require.True(t, strings.HasSuffix(got.Data[2].Pattern, "<_>"), "a body longer than its pattern: %q", got.Data[2].Pattern)
	require.Equal(t, "warn", got.Data[2].Level)

	// A pattern selects its records, and only them; !> the others.
	lines := func(q string) []string {
		var a lokiAnswer
		c.get("/loki/api/v1/query_range?query="+url.QueryEscape(q)+rng+"&limit=1000", &a)
		return a.lines()
	}
	for _, p := range got.Data {
		n := 0
		for _, s := range p.Samples {
			n += int(s[1])
		}
		require.Len(t, lines(`{service_name="cart"} |> "`+strings.ReplaceAll(p.Pattern, `"`, `\"`)+`"`), n, p.Pattern)
	}
	require.Len(t, lines(`{service_name="cart"} !> "GET /cart/<_> <_> in <_> ms"`), 6)
	require.Empty(t, lines(`{service_name="cart"} |> "charge failed for order <_>: <_>%"`), "the line is matched whole")
	require.Empty(t, lines(`{service_name="cart"} |> "charge failed for order <_>: 100_ of retries_used"`), "_ is a character, not a wildcard")

	// Past the sample size the counts are an even sample's, scaled up.
	sampled := newTestAPI(t, Config{LogPatternSample: 10}, Deps{Store: st})
	sampled.client.with(t).get("/loki/api/v1/patterns?query="+url.QueryEscape(`{service_name="cart"}`)+rng+"&step=1h", &got)
	total := int64(0)
	for _, p := range got.Data {
		for _, s := range p.Samples {
			total += s[1]
		}
	}
	require.InDelta(t, 36, total, 18, "about the 36 records")

	// Errors are plain text, as Loki's.
	for _, bad := range []struct{ path, want string }{
		{"query=" + url.QueryEscape(`count_over_time({service_name="cart"}[1m])`), "patterns are of a log query"},
		{"query=" + url.QueryEscape(`{service_name="cart"}`) + "&step=0.1", "step must be at least 1s"},
		{"query=" + url.QueryEscape(`{service_name="cart"} |> ""`), "needs a pattern"},
	} {
		status, _, body := c.do(http.MethodGet, "/loki/api/v1/patterns?"+bad.path, nil)
		require.Equal(t, http.StatusBadRequest, status, bad.path)
		require.Contains(t, string(body), bad.want)
	}
}

// A pattern filter's LIKE: placeholders any text, LIKE's own characters
// and backslashes literal, a lone < or an unclosed placeholder as text.
func TestLokiPatternLike(t *testing.T) {
	for in, want := range map[string]string{
		"GET /cart/<_> <_> in <_> ms": "GET /cart/% % in % ms",
		"<_>":                         "%",
		"100% of retries_used <n>":    `100\% of retries\_used %`,
		`C:\tmp <path> done`:          `C:\\tmp % done`,
		"a < b <_ c <> d":             "a < b <\\_ c <> d",
		"":                            "",
	} {
		require.Equal(t, want, lokiPatternLike(in), in)
	}
	require.Equal(t, "GET /cart/<_> <_> from <_>", lokiPattern("GET /cart/<n> <n> from <ip>"))
}
