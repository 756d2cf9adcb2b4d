package query

import (
	"cmp"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
)

// GET /loki/api/v1/patterns: a log query's records grouped by pattern, as
// Loki's pattern ingesters answer Grafana's Logs Drilldown. A pattern is
// the one GET /api/v1/logs/patterns computes (ids, addresses and numbers
// replaced), written as Loki writes them: every placeholder <_>, and a
// trailing <_> where the body went on past what the pattern is made of.
// Each pattern comes with its level and its count in each step of the
// range; the pattern line filters (|> and !>) select its records.

// lokiPatternsMax bounds the patterns answered, the most frequent first.
const lokiPatternsMax = 500

// lokiPlaceholder is a placeholder of a Loki pattern: <_>, or a named
// capture, which a pattern filter reads as <_>.
var lokiPlaceholder = regexp.MustCompile(`<[A-Za-z_][A-Za-z0-9_]*>`)

// lokiPattern is a pattern of LogPattern as Loki writes it.
func lokiPattern(p string) string {
	return lokiPlaceholder.ReplaceAllString(p, "<_>")
}

// lokiPatternLike is the LIKE pattern of a pattern filter (|>, !>): the
// text between placeholders as it is, each placeholder any text, the line
// matched whole.
func lokiPatternLike(p string) string {
	var b strings.Builder
	last := 0
	esc := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	for _, m := range lokiPlaceholder.FindAllStringIndex(p, -1) {
		b.WriteString(esc.Replace(p[last:m[0]]))
		b.WriteByte('%')
		last = m[1]
	}
	b.WriteString(esc.Replace(p[last:]))
	return b.String()
}

// lokiPatternSeries is one entry of the answer.
type lokiPatternSeries struct {
	Pattern string     `json:"pattern"`
	Level   string     `json:"level"`
	Samples [][2]int64 `json:"samples"`
	total   uint64
}

func (s *Server) lokiPatterns(c echo.Context) error {
	q, start, end, err := s.lokiSelection(c, "patterns are of a log query: a stream selector and line filters")
	if err != nil {
		return err
	}
	step, err := stepSecondsParam(c, max(end.Sub(start)/100, 10*time.Second))
	if err != nil {
		return err
	}
	where, args := lokiWhere(q)
	tw, targs := lokiTimeWhere(start, end)
	cond := tw + " AND " + where
	args = append(targs, args...)
	ctx, cancel, err := s.storeContext(c)
	if err != nil {
		return err
	}
	defer cancel()
	// Past LogPatternSample records an even sample is grouped, its counts
	// scaled up (as GET /api/v1/logs/patterns does).
	cond, args, _, share, err := s.patternSample(ctx, cond, args)
	if err != nil {
		return err
	}
	byKey := map[[2]string]*lokiPatternSeries{}
	var out []*lokiPatternSeries
	err = s.scanAll(ctx, func(scan func(...any) error) error {
		var (
			pattern, level string
			buckets        []int64
			counts         []uint64
		)
		if err := scan(&pattern, &level, &buckets, &counts); err != nil {
			return err
		}
		k := [2]string{lokiPattern(pattern), level}
		p := byKey[k]
		if p == nil {
			p = &lokiPatternSeries{Pattern: k[0], Level: level}
			byKey[k] = p
			out = append(out, p)
		}
		for i, b := range buckets {
			n := uint64(float64(counts[i])/share + 0.5)
			p.total += n
			p.Samples = append(p.Samples, [2]int64{start.Unix() + b*int64(step.Seconds()), int64(n)})
		}
		return nil
	}, `
SELECT pattern, level, tr.1, tr.2
FROM (
  SELECT concat(`+patternExpr+`, if(length(body) > `+strconv.Itoa(patternBodyBytes)+`, '<_>', '')) AS pattern, `+lokiLevel+` AS level,
         sumMap([intDiv(toInt64(toUInt32(timestamp)) - ?, ?)], [toUInt64(1)]) AS tr
  FROM logs
  WHERE `+cond+`
  GROUP BY pattern, level
)`, append([]any{start.Unix(), int64(step.Seconds())}, args...)...)
	if err != nil {
		return err
	}
	slices.SortFunc(out, func(a, b *lokiPatternSeries) int {
		return cmp.Or(cmp.Compare(b.total, a.total), cmp.Compare(a.Pattern, b.Pattern), cmp.Compare(a.Level, b.Level))
	})
	data := make([]*lokiPatternSeries, 0, min(len(out), lokiPatternsMax))
	for _, p := range out[:min(len(out), lokiPatternsMax)] {
		// Two of meshscope's patterns can be one of Loki's (<n> and <ip>
		// both <_>): their samples merge by time.
		slices.SortStableFunc(p.Samples, func(a, b [2]int64) int { return cmp.Compare(a[0], b[0]) })
		merged := p.Samples[:0]
		for _, sm := range p.Samples {
			if n := len(merged); n > 0 && merged[n-1][0] == sm[0] {
				merged[n-1][1] += sm[1]
			} else {
				merged = append(merged, sm)
			}
		}
		p.Samples = merged
		data = append(data, p)
	}
	return c.JSON(http.StatusOK, map[string]any{"status": "success", "data": data})
}
