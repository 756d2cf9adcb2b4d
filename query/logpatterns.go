package query

import (
	"cmp"
	"context"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
)

// Log patterns: a record's body with what varies from one record of a kind
// to the next (ids, addresses, numbers) replaced by placeholders, so that
// "GET /cart/4711 200 in 19.4 ms" and "GET /cart/9 200 in 3 ms" are one
// pattern, "GET /cart/<n> <n> in <n> ms". Grouping a search's records by
// pattern shows what a service logs and how often, as the log pattern views
// of Grafana and Datadog do. ClickHouse computes the pattern (RE2, since
// its first releases), so a pattern is also a filter (pattern=).

// patternRules are the replacements, in order: the earlier ones take what
// the later ones would cut apart (a UUID's digits, an address's numbers).
var patternRules = []struct{ re, with string }{
	{`[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}`, "<uuid>"},
	{`\b[0-9a-fA-F]{16,}\b`, "<hex>"},
	{`\b[0-9]{1,3}(\.[0-9]{1,3}){3}(:[0-9]+)?\b`, "<ip>"},
	// A number standing alone, with perhaps a unit after it ("19.4ms"), but
	// not in a word ("v2", "s3") or a hash ("7f9c"): the characters around
	// it are kept (\1, \3, \4). A character between two numbers serves
	// the first's match only, so the rule runs twice.
	{numberRule, numberWith},
	{numberRule, numberWith},
}

const (
	numberRule = `(^|[^A-Za-z0-9_.<])-?[0-9]+(\.[0-9]+)?([A-Za-z]*)([^A-Za-z0-9_]|$)`
	numberWith = `\1<n>\3\4`
)

// patternBodyBytes is how much of a body its pattern is made of: long
// bodies (stack traces, payloads) are told apart by their start.
const patternBodyBytes = 300

// patternExpr is the SQL expression of a record's pattern.
var patternExpr = func() string {
	e := "substring(body, 1, " + strconv.Itoa(patternBodyBytes) + ")"
	for _, r := range patternRules {
		e = "replaceRegexpAll(" + e + ", " + sqlString(r.re) + ", " + sqlString(r.with) + ")"
	}
	return e
}()

// goRule is a rule of patternRules for Go's regexp (RE2 as well), whose
// replacements name groups ${1} where ClickHouse's write \1.
type goRule struct {
	re   *regexp.Regexp
	with string
}

var goPatternRules = func() []goRule {
	group := regexp.MustCompile(`\\([0-9])`)
	out := make([]goRule, len(patternRules))
	for i, r := range patternRules {
		out[i] = goRule{regexp.MustCompile(r.re), group.ReplaceAllString(r.with, "$${$1}")}
	}
	return out
}()

// LogPattern is body's pattern as GET /api/v1/logs/patterns computes it in
// ClickHouse, computed in Go: for records read from elsewhere, and to check
// that both agree.
func LogPattern(body string) string {
	if len(body) > patternBodyBytes {
		body = body[:patternBodyBytes]
	}
	for _, r := range goPatternRules {
		body = r.re.ReplaceAllString(body, r.with)
	}
	return body
}

// sqlString is s as a ClickHouse string literal.
func sqlString(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}

// patternBuckets is how many counts a pattern's trend has over the range.
const patternBuckets = 30

// patternJSON is one entry of GET /api/v1/logs/patterns.
type patternJSON struct {
	Pattern string `json:"pattern"`
	Count   uint64 `json:"count"`
	// Services are the services (namespace/name) whose records have the
	// pattern, the most first (at most five).
	Services []string `json:"services"`
	// Severity is the highest severity number of its records and
	// SeverityText that record's text.
	Severity     uint8     `json:"severity_number"`
	SeverityText string    `json:"severity_text"`
	Sample       string    `json:"sample"` // the latest record's body
	FirstSeen    time.Time `json:"first_seen"`
	LastSeen     time.Time `json:"last_seen"`
	Trend        []uint64  `json:"trend"`
}

// GET /api/v1/logs/patterns: the records the search matches (the filters
// of GET /api/v1/logs), grouped by pattern, the most records first, with
// the total of records searched and each pattern's trend over the range
// (30 buckets). Past Config.LogPatternSample records it groups an even
// sample of them (about that many, chosen by a hash of their time; sample
// in the answer, its share, below 1) and scales the counts up, as
// Datadog's log patterns do: the replacements cost about 2 µs a record on
// ClickHouse 18.16 (BENCHMARKS.md), a million records would take seconds.
func (s *Server) logPatterns(c echo.Context) error {
	from, to, limit, err := s.rowsParams(c)
	if err != nil {
		return err
	}
	where, args, err := logFilters(c, from, to)
	if err != nil {
		return err
	}
	bucket := max(to.Sub(from)/patternBuckets, time.Second).Truncate(time.Second)
	ctx, cancel, err := s.storeContext(c)
	if err != nil {
		return err
	}
	defer cancel()
	cond, args, total, share, err := s.patternSample(ctx, strings.Join(where, " AND "), args)
	if err != nil {
		return err
	}
	scale := func(n uint64) uint64 { return uint64(float64(n)/share + 0.5) }
	out := []patternJSON{}
	err = s.scanAll(ctx, func(scan func(...any) error) error {
		var (
			p             patternJSON
			first, last   uint64
			services      []string
			serviceCounts []uint64
			buckets       []int32
			counts        []uint64
		)
		if err := scan(&p.Pattern, &p.Count, &first, &last, &p.Sample, &p.Severity, &p.SeverityText, &services, &serviceCounts, &buckets, &counts); err != nil {
			return err
		}
		p.FirstSeen, p.LastSeen = time.Unix(0, int64(first)).UTC(), time.Unix(0, int64(last)).UTC()
		p.Services = topServices(services, serviceCounts, 5)
		p.Count = scale(p.Count)
		p.Trend = make([]uint64, patternBuckets)
		for i, b := range buckets {
			if i < len(counts) {
				p.Trend[min(max(int(b), 0), patternBuckets-1)] += counts[i]
			}
		}
		for i, n := range p.Trend {
			p.Trend[i] = scale(n)
		}
		out = append(out, p)
		return nil
	}, `SELECT pattern, total, first_seen, last_seen, latest, severity, severity_text, services, service_counts, tr.1, tr.2
FROM (
  SELECT pattern, sum(n) AS total, min(first) AS first_seen, max(last) AS last_seen, argMax(sample, last) AS latest, max(sev) AS severity,
         argMax(sev_text, sev) AS severity_text, groupArray(service) AS services, groupArray(n) AS service_counts, sumMap(trend.1, trend.2) AS tr
  FROM (
    SELECT `+patternExpr+` AS pattern, concat(service_namespace, '/', service_name) AS service, count() AS n,
           min(time_unix_nano) AS first, max(time_unix_nano) AS last, argMax(body, time_unix_nano) AS sample,
           max(severity_number) AS sev, argMax(severity_text, severity_number) AS sev_text,
           sumMap([toInt32(intDiv(toInt64(toUInt32(timestamp)) - ?, ?))], [toUInt64(1)]) AS trend
    FROM logs
    WHERE `+cond+`
    GROUP BY pattern, service
  )
  GROUP BY pattern
  ORDER BY total DESC, pattern
  LIMIT ?
)`, append(append([]any{from.Unix(), int64(bucket.Seconds())}, args...), limit)...)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"from": from.UTC(), "to": to.UTC(), "bucket_seconds": bucket.Seconds(), "records": total,
		"sample": share, "patterns": out})
}

// patternSample counts the log records that meet cond and, past
// Config.LogPatternSample of them, narrows cond to an even sample of them
// (chosen by a hash of their time): the condition and arguments to group,
// the records counted, and the sample's share of them (1 when whole).
func (s *Server) patternSample(ctx context.Context, cond string, args []any) (string, []any, uint64, float64, error) {
	var total uint64
	if err := s.deps.Store.Conn().QueryRow(ctx, "SELECT count() FROM logs WHERE "+cond, args...).Scan(&total); err != nil {
		return "", nil, 0, 0, err
	}
	if limit := uint64(s.cfg.LogPatternSample); total > limit {
		return cond + " AND cityHash64(time_unix_nano) % ? < ?", append(args, total, limit), total, float64(limit) / float64(total), nil
	}
	return cond, args, total, 1, nil
}

// topServices are the first n services by their counts, the most first
// (ties by name).
func topServices(services []string, counts []uint64, n int) []string {
	idx := make([]int, min(len(services), len(counts)))
	for i := range idx {
		idx[i] = i
	}
	slices.SortFunc(idx, func(a, b int) int {
		return cmp.Or(cmp.Compare(counts[b], counts[a]), strings.Compare(services[a], services[b]))
	})
	out := []string{}
	for _, i := range idx[:min(n, len(idx))] {
		out = append(out, services[i])
	}
	return out
}
