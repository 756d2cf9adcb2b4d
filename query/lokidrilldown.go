package query

// The Loki endpoints Grafana's Logs Drilldown reads besides queries and
// patterns: log volume by label (index/volume, index/volume_range), the
// labels a selection's records have (detected_labels), and the fields its
// lines have (detected_fields, detected_field/{name}/values), with the
// parser that extracts each; Drilldown builds its field filters from them
// (| json | status >= 500), which the query endpoints run.

import (
	"cmp"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/meshscope/meshscope/query/logql"
)

const (
	// lokiVolumeDefaultLimit and lokiVolumeMaxLimit bound the volume's
	// series.
	lokiVolumeDefaultLimit = 100
	lokiVolumeMaxLimit     = 10_000
	// lokiSampleDefaultLines and lokiSampleMaxLines bound the lines whose
	// fields are detected, the newest first.
	lokiSampleDefaultLines = 1000
	lokiSampleMaxLines     = 20_000
)

// lokiTimeWhere is the SQL condition of records in [start, end].
func lokiTimeWhere(start, end time.Time) (string, []any) {
	return "timestamp >= toDateTime(?) AND timestamp <= toDateTime(?) AND time_unix_nano >= ? AND time_unix_nano <= ?",
		[]any{start.Unix(), end.Unix() + 1, uint64(max(start.UnixNano(), 0)), uint64(max(end.UnixNano(), 0))}
}

// lokiSelection reads the query parameter as a log query, and its range;
// notLog is the error's text when the query is a metric query.
func (s *Server) lokiSelection(c echo.Context, notLog string) (q logql.LogQuery, start, end time.Time, err error) {
	parsed, err := lokiParse(c)
	if err != nil {
		return q, start, end, err
	}
	if parsed.Log == nil {
		return q, start, end, badParam("query", "%s", notLog)
	}
	start, end, err = s.lokiRange(c)
	return *parsed.Log, start, end, err
}

// lokiTakesLogQuery is the error's text of an endpoint that reads a log
// query.
func lokiTakesLogQuery(what string) string {
	return what + " takes a log query (a stream selector and its pipeline), not a metric query"
}

// GET /loki/api/v1/index/volume and index/volume_range: the bytes of the
// lines a selector matches, by the labels it names (or targetLabels), as
// a vector at end or a matrix by step; aggregateBy=labels sums by label
// name instead (each series one label, its value empty).
func (s *Server) lokiVolume(c echo.Context) error {
	ranged := strings.HasSuffix(c.Path(), "_range")
	q, start, end, err := s.lokiSelection(c, lokiTakesLogQuery("the volume"))
	if err != nil {
		return err
	}
	limit, err := intParam(c, "limit", lokiVolumeDefaultLimit, 1, lokiVolumeMaxLimit)
	if err != nil {
		return err
	}
	byLabels := false
	switch c.FormValue("aggregateBy") {
	case "", "series":
	case "labels":
		byLabels = true
	default:
		return badParam("aggregateBy", "aggregateBy is series or labels, got %q", c.FormValue("aggregateBy"))
	}
	var names []string
	add := func(l string) {
		if !slices.Contains(names, l) {
			names = append(names, l)
		}
	}
	if v := c.FormValue("targetLabels"); v != "" {
		for _, l := range strings.Split(v, ",") {
			if l = strings.TrimSpace(l); !logql.IsLabelName(l) {
				return badParam("targetLabels", "invalid label name %q", l)
			}
			add(l)
		}
	} else {
		for _, m := range q.Matchers {
			add(m.Name)
		}
	}
	step := end.Sub(start) + time.Second // one bucket: the vector
	if ranged {
		if step, err = stepSecondsParam(c, max(end.Sub(start)/250, time.Second)); err != nil {
			return err
		}
	}
	if end.Sub(start)/step > lokiMaxBuckets {
		return badParam("step", "the range and step need more than %d buckets: give a larger step", lokiMaxBuckets)
	}

	// Each label's SQL, aliased so GROUP BY names it.
	var cols []string
	var args []any
	for i, n := range names {
		e, a := lokiLabelExpr(n)
		if byLabels {
			e = "sumIf(length(body), " + e + " != '')"
		}
		cols, args = append(cols, e+" AS l"+strconv.Itoa(i)), append(args, a...)
	}
	where, wargs := lokiWhere(q)
	tw, targs := lokiTimeWhere(start, end)
	group := "b"
	for i := range names {
		if !byLabels {
			group += ", l" + strconv.Itoa(i)
		}
	}
	total := "sum(length(body))"
	if byLabels {
		total = "0"
	}
	ctx, cancel, err := s.storeContext(c)
	if err != nil {
		return err
	}
	defer cancel()
	type series struct {
		labels map[string]string
		points map[int64]uint64
		total  uint64
	}
	byKey := map[string]*series{}
	addPoint := func(labels map[string]string, b int64, n uint64) {
		if n == 0 || len(labels) == 0 {
			return
		}
		k := lineKey(labels)
		sr := byKey[k]
		if sr == nil {
			sr = &series{labels: labels, points: map[int64]uint64{}}
			byKey[k] = sr
		}
		sr.points[b] += n
		sr.total += n
	}
	err = s.scanAll(ctx, func(scan func(...any) error) error {
		var b int64
		var n uint64
		dest := []any{&b, &n}
		svals, nvals := make([]string, len(names)), make([]uint64, len(names))
		for i := range names {
			if byLabels {
				dest = append(dest, &nvals[i])
			} else {
				dest = append(dest, &svals[i])
			}
		}
		if err := scan(dest...); err != nil {
			return err
		}
		if byLabels {
			for i, name := range names {
				addPoint(map[string]string{name: ""}, b, nvals[i])
			}
			return nil
		}
		labels := map[string]string{}
		for i, name := range names {
			if svals[i] != "" {
				labels[name] = svals[i]
			}
		}
		addPoint(labels, b, n)
		return nil
	}, `SELECT intDiv(toInt64(toUInt32(timestamp)) - ?, ?) AS b, toUInt64(`+total+`)`+strings.Repeat(", ", min(len(cols), 1))+strings.Join(cols, ", ")+`
FROM logs WHERE `+tw+` AND `+where+`
GROUP BY `+group, slices.Concat([]any{start.Unix(), int64(step / time.Second)}, args, targs, wargs)...)
	if err != nil {
		return err
	}
	all := slices.Collect(maps.Values(byKey))
	slices.SortFunc(all, func(a, b *series) int {
		return cmp.Or(cmp.Compare(b.total, a.total), cmp.Compare(lineKey(a.labels), lineKey(b.labels)))
	})
	all = all[:min(len(all), limit)]
	result := make([]map[string]any, 0, len(all))
	for _, sr := range all {
		if !ranged {
			result = append(result, map[string]any{"metric": sr.labels, "value": [2]any{float64(end.Unix()), strconv.FormatUint(sr.total, 10)}})
			continue
		}
		values := make([][2]any, 0, len(sr.points))
		for _, b := range slices.Sorted(maps.Keys(sr.points)) {
			values = append(values, [2]any{float64(start.Unix() + b*int64(step/time.Second)), strconv.FormatUint(sr.points[b], 10)})
		}
		result = append(result, map[string]any{"metric": sr.labels, "values": values})
	}
	if ranged {
		return lokiOK(c, "matrix", result)
	}
	return lokiOK(c, "vector", result)
}

// GET /loki/api/v1/detected_labels: the labels of the records a selector
// matches, besides those it pins (an = matcher), with how many values
// each has: the stream labels and the resources' attributes by label
// name.
func (s *Server) lokiDetectedLabels(c echo.Context) error {
	q, start, end, err := s.lokiSelection(c, lokiTakesLogQuery("detected labels"))
	if err != nil {
		return err
	}
	ctx, cancel, err := s.storeContext(c)
	if err != nil {
		return err
	}
	defer cancel()
	where, wargs := lokiWhere(q)
	tw, targs := lokiTimeWhere(start, end)
	card := map[string]uint64{}
	var svc, ns, lvl uint64
	err = s.deps.Store.Conn().QueryRow(ctx, `SELECT uniqExact(service_name), uniqExactIf(service_namespace, service_namespace != ''), uniqExact(`+lokiLevel+`)
FROM logs WHERE `+tw+` AND `+where, append(targs, wargs...)...).Scan(&svc, &ns, &lvl)
	if err != nil {
		return err
	}
	card["service_name"], card["service_namespace"], card["level"] = svc, ns, lvl
	err = s.scanAll(ctx, func(scan func(...any) error) error {
		var k string
		var n uint64
		if err := scan(&k, &n); err != nil {
			return err
		}
		if name := labelName(k); name != "" && name != "service_name" && name != "service_namespace" {
			card[name] = max(card[name], n)
		}
		return nil
	}, `SELECT k, uniqExact(v) FROM logs ARRAY JOIN resource_keys AS k, resource_values AS v
WHERE `+tw+` AND `+where+` GROUP BY k`, append(targs, wargs...)...)
	if err != nil {
		return err
	}
	for _, m := range q.Matchers {
		if m.Type == logql.Equal {
			delete(card, m.Name)
		}
	}
	type label struct {
		Label       string `json:"label"`
		Cardinality uint64 `json:"cardinality"`
	}
	out := []label{}
	for _, k := range slices.Sorted(maps.Keys(card)) {
		if card[k] > 0 {
			out = append(out, label{k, card[k]})
		}
	}
	return c.JSON(http.StatusOK, map[string]any{"detectedLabels": out})
}

// detectedField is what the sampled lines say of one field.
type detectedField struct {
	values  map[string]bool
	parsers map[string]bool
	kinds   map[string]bool // the kinds every value so far has
}

// fieldKinds are the types detected_fields reports, the narrowest first.
var fieldKinds = []string{"int", "float", "boolean", "duration", "bytes"}

// valueKinds are the kinds a value can be read as.
func valueKinds(v string) map[string]bool {
	k := map[string]bool{}
	if _, err := strconv.ParseInt(v, 10, 64); err == nil {
		k["int"] = true
	}
	if _, err := strconv.ParseFloat(v, 64); err == nil {
		k["float"] = true
	}
	if v == "true" || v == "false" {
		k["boolean"] = true
	}
	if _, err := time.ParseDuration(v); err == nil && strings.TrimLeft(v, "0123456789.-+") != "" {
		k["duration"] = true
	}
	if _, ok := logql.ParseBytes(v); ok {
		k["bytes"] = true
	}
	return k
}

func (f *detectedField) add(v, parser string) {
	if f.kinds == nil {
		f.kinds = valueKinds(v)
	} else {
		for k := range f.kinds {
			if !valueKinds(v)[k] {
				delete(f.kinds, k)
			}
		}
	}
	f.values[v] = true
	if parser != "" {
		f.parsers[parser] = true
	}
}

func (f *detectedField) kind() string {
	for _, k := range fieldKinds {
		if f.kinds[k] {
			return k
		}
	}
	return "string"
}

// lokiSampleFields reads the fields of the newest lines a log query
// matches: each record's attributes (Loki's structured metadata; no
// parser) and what json or logfmt extracts from its body (bodyFields).
func (s *Server) lokiSampleFields(c echo.Context) (map[string]*detectedField, int, error) {
	q, start, end, err := s.lokiSelection(c, lokiTakesLogQuery("detected fields"))
	if err != nil {
		return nil, 0, err
	}
	lines, err := intParam(c, "line_limit", lokiSampleDefaultLines, 1, lokiSampleMaxLines)
	if err != nil {
		return nil, 0, err
	}
	limit, err := intParam(c, "field_limit", 1000, 1, 10_000)
	if err != nil {
		return nil, 0, err
	}
	ctx, cancel, err := s.storeContext(c)
	if err != nil {
		return nil, 0, err
	}
	defer cancel()
	where, wargs := lokiWhere(q)
	tw, targs := lokiTimeWhere(start, end)
	fields := map[string]*detectedField{}
	field := func(name string) *detectedField {
		f := fields[name]
		if f == nil {
			f = &detectedField{values: map[string]bool{}, parsers: map[string]bool{}}
			fields[name] = f
		}
		return f
	}
	err = s.scanAll(ctx, func(scan func(...any) error) error {
		var body string
		var keys, values []string
		if err := scan(&body, &keys, &values); err != nil {
			return err
		}
		for i, k := range keys {
			if name := labelName(k); name != "" && i < len(values) {
				field(name).add(values[i], "")
			}
		}
		fields, parser := bodyFields(body)
		for k, v := range fields {
			field(k).add(v, parser)
		}
		return nil
	}, `SELECT body, attr_keys, attr_values FROM logs WHERE `+tw+` AND `+where+` ORDER BY time_unix_nano DESC LIMIT ?`,
		slices.Concat(targs, wargs, []any{lines})...)
	for _, l := range lokiStreamLabels {
		delete(fields, l.name)
	}
	return fields, limit, err
}

// GET /loki/api/v1/detected_fields: the fields of a log query's newest
// lines (line_limit, 1,000 by default), each with its type (int, float,
// boolean, duration, bytes or string), its number of values and the
// parsers that extract it (none for an attribute).
func (s *Server) lokiDetectedFields(c echo.Context) error {
	fields, limit, err := s.lokiSampleFields(c)
	if err != nil {
		return err
	}
	type field struct {
		Label       string   `json:"label"`
		Type        string   `json:"type"`
		Cardinality int      `json:"cardinality"`
		Parsers     []string `json:"parsers"`
	}
	out := []field{}
	for _, name := range slices.Sorted(maps.Keys(fields)) {
		f := fields[name]
		var ps []string
		if len(f.parsers) > 0 {
			ps = slices.Sorted(maps.Keys(f.parsers))
		}
		out = append(out, field{name, f.kind(), len(f.values), ps})
	}
	slices.SortStableFunc(out, func(a, b field) int { return cmp.Compare(b.Cardinality, a.Cardinality) })
	return c.JSON(http.StatusOK, map[string]any{"fields": out[:min(len(out), limit)], "limit": limit})
}

// GET /loki/api/v1/detected_field/{name}/values: the values a field has
// in a log query's newest lines.
func (s *Server) lokiDetectedFieldValues(c echo.Context) error {
	name := c.Param("name")
	if !logql.IsLabelName(name) {
		return badParam("name", "invalid field name %q", name)
	}
	fields, limit, err := s.lokiSampleFields(c)
	if err != nil {
		return err
	}
	values := []string{}
	if f := fields[name]; f != nil {
		values = slices.Sorted(maps.Keys(f.values))
	}
	return c.JSON(http.StatusOK, map[string]any{"values": values[:min(len(values), limit)], "limit": limit})
}
