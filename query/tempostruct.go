package query

// Structural TraceQL ({ A } >> { B }: B's spans that descend from an A
// span; > children, << ancestors, < parents, ~ siblings). ClickHouse 18.16
// has no recursive queries, so ClickHouse finds the traces that hold spans
// of both sets, newest first, a page at a time, and Go walks each one's
// tree; the spans that answer are the right set's that stand so.

import (
	"context"
	"encoding/hex"
	"slices"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/meshscope/meshscope/query/traceql"
)

const (
	// tempoStructPage is how many candidate traces one page reads.
	tempoStructPage = 200
	// tempoStructMaxSpans bounds the spans read of a page's traces.
	tempoStructMaxSpans = 200_000
	// tempoStructMaxPages bounds the pages read for one search.
	tempoStructMaxPages = 50
	// tempoStructMaxIDs bounds the traces a structural query gives the
	// trace search as ids.
	tempoStructMaxIDs = 10_000
)

// structSpan is a span of a candidate trace: its place in the tree,
// which sets it matches, and what the answer shows of it.
type structSpan struct {
	id, parent   string
	left, right  bool
	name, svc    string
	start, dur   uint64
	kind, status uint8
	ak, av       []string
	rk, rv       []string
}

// structMatched are the right set's spans of a trace that stand to a left
// span as op says.
func structMatched(op string, spans []structSpan) []int {
	byID := make(map[string]int, len(spans))
	for i, s := range spans {
		byID[s.id] = i
	}
	// descends says whether an ancestor of span i matches the left set.
	descends := func(i int) bool {
		seen := 0
		for p := spans[i].parent; p != "" && seen < len(spans); seen++ {
			j, ok := byID[p]
			if !ok {
				return false
			}
			if spans[j].left {
				return true
			}
			p = spans[j].parent
		}
		return false
	}
	// ancestorOfLeft marks every ancestor of a left span.
	ancestorOfLeft := map[string]bool{}
	parentOfLeft := map[string]bool{}
	childrenOf := map[string][]int{}
	for i, s := range spans {
		childrenOf[s.parent] = append(childrenOf[s.parent], i)
		if !s.left {
			continue
		}
		parentOfLeft[s.parent] = true
		seen := 0
		for p := s.parent; p != "" && seen < len(spans) && !ancestorOfLeft[p]; seen++ {
			ancestorOfLeft[p] = true
			j, ok := byID[p]
			if !ok {
				break
			}
			p = spans[j].parent
		}
	}
	var out []int
	for i, s := range spans {
		if !s.right {
			continue
		}
		var ok bool
		switch op {
		case ">":
			j, has := byID[s.parent]
			ok = has && spans[j].left
		case ">>":
			ok = descends(i)
		case "<":
			ok = parentOfLeft[s.id]
		case "<<":
			ok = ancestorOfLeft[s.id]
		case "~":
			if s.parent != "" {
				ok = slices.ContainsFunc(childrenOf[s.parent], func(j int) bool { return j != i && spans[j].left })
			}
		}
		if ok {
			out = append(out, i)
		}
	}
	return out
}

// tempoStructural finds up to limit traces a structural query answers in
// [start, end], newest first, with their answering spans.
func (s *Server) tempoStructural(ctx context.Context, q *traceql.Query, start, end time.Time, limit int) ([]*tempoTrace, map[string][]structSpan, map[string][]int, error) {
	left, right := tempoCond(q.Sets[0]), tempoCond(q.Sets[1])
	var (
		found   []*tempoTrace
		spansOf = map[string][]structSpan{}
		matched = map[string][]int{}
	)
	for page := 0; page < tempoStructMaxPages && len(found) < limit; page++ {
		var ids []any
		newest := map[string]uint64{}
		err := s.scanAll(ctx, func(scan func(...any) error) error {
			var id string
			var n uint64
			if err := scan(&id, &n); err != nil {
				return err
			}
			h := hex.EncodeToString([]byte(id))
			ids, newest[h] = append(ids, h), n
			return nil
		}, `SELECT trace_id, max(start_time_unix_nano) AS newest FROM spans
WHERE timestamp >= toDateTime(?) AND timestamp <= toDateTime(?) AND (`+left.sql+` OR `+right.sql+`)
GROUP BY trace_id HAVING countIf(`+left.sql+`) > 0 AND countIf(`+right.sql+`) > 0
ORDER BY newest DESC, trace_id LIMIT ? OFFSET ?`,
			slices.Concat([]any{start.Unix(), end.Unix()}, left.args, right.args, left.args, right.args, []any{tempoStructPage, page * tempoStructPage})...)
		if err != nil {
			return nil, nil, nil, err
		}
		if len(ids) == 0 {
			break
		}
		// Every span of those traces (of the hour either side): the tree
		// runs through spans of neither set.
		inIDs := "trace_id IN (" + strings.TrimSuffix(strings.Repeat("unhex(?), ", len(ids)), ", ") + ")"
		trees := map[string][]structSpan{}
		err = s.scanAll(ctx, func(scan func(...any) error) error {
			var (
				id, spanID, parent string
				sp                 structSpan
				l, r               uint8
			)
			if err := scan(&id, &spanID, &parent, &l, &r, &sp.name, &sp.svc, &sp.start, &sp.dur, &sp.kind, &sp.status, &sp.ak, &sp.av, &sp.rk, &sp.rv); err != nil {
				return err
			}
			sp.id, sp.left, sp.right = spanID, l == 1, r == 1
			if strings.Trim(parent, "\x00") != "" { // a root's is zero bytes
				sp.parent = parent
			}
			h := hex.EncodeToString([]byte(id))
			trees[h] = append(trees[h], sp)
			return nil
		}, `SELECT trace_id, span_id, parent_span_id, `+left.sql+`, `+right.sql+`, name, service_name, start_time_unix_nano, duration_ns, kind, status_code,
       attr_keys, attr_values, resource_keys, resource_values
FROM spans WHERE timestamp >= toDateTime(?) AND timestamp <= toDateTime(?) AND `+inIDs+`
ORDER BY start_time_unix_nano LIMIT ?`,
			slices.Concat(left.args, right.args, []any{start.Add(-jaegerTraceMargin).Unix(), end.Add(jaegerTraceMargin).Unix()}, ids, []any{tempoStructMaxSpans})...)
		if err != nil {
			return nil, nil, nil, err
		}
		for _, v := range ids {
			id := v.(string)
			m := structMatched(q.Op, trees[id])
			if len(m) == 0 {
				continue
			}
			found = append(found, &tempoTrace{TraceID: id, newest: newest[id], SpanSets: []tempoSpanSet{{Spans: []tempoSpan{}, Matched: len(m)}}})
			spansOf[id], matched[id] = trees[id], m
			if len(found) == limit {
				break
			}
		}
		if len(ids) < tempoStructPage {
			break
		}
	}
	return found, spansOf, matched, nil
}

// tempoStructuralSearch answers a search of a structural query: the
// traces found, described, each with its first spss answering spans.
func (s *Server) tempoStructuralSearch(ctx context.Context, c echo.Context, q *traceql.Query, start, end time.Time, limit, spss int) error {
	traces, spansOf, matched, err := s.tempoStructural(ctx, q, start, end, limit)
	if err != nil {
		return err
	}
	s.metrics.traceSearch.WithLabelValues("tempo").Inc()
	if len(traces) > 0 {
		byID := map[string]*tempoTrace{}
		ids := make([]any, len(traces))
		for i, t := range traces {
			id, _ := hex.DecodeString(t.TraceID)
			byID[string(id)], ids[i] = t, t.TraceID
		}
		inIDs := "trace_id IN (" + strings.TrimSuffix(strings.Repeat("unhex(?), ", len(ids)), ", ") + ")"
		if err := s.tempoDescribe(ctx, byID, inIDs, ids, start, end); err != nil {
			return err
		}
		fields := tempoFields(q)
		for _, t := range traces {
			for _, i := range matched[t.TraceID][:min(spss, len(matched[t.TraceID]))] {
				t.SpanSets[0].Spans = append(t.SpanSets[0].Spans, tempoAnswerSpan(&spansOf[t.TraceID][i], fields))
			}
		}
	}
	return tempoAnswer(c, traces)
}
