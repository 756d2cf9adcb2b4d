package query

// Loki's HTTP query API under /loki/api/v1, over the OpenTelemetry log
// records meshscope stores, so that Grafana's Loki data source (URL
// http://HOST:8080/loki) shows them, with its log volume, and Grafana's
// trace view links to them. The queries are the LogQL subset of
// query/logql, run by ClickHouse. A record's stream labels are
// service_name, service_namespace, level (its severity: trace, debug, info,
// warn, error, fatal, unknown) and trace_id (when it has one); any other
// label a selector names is read from the record's resource (k8s_pod_name
// matches k8s.pod.name too); label filters and sum by read the record's
// attributes and the parsers' fields too (lokifields.go). Shapes and
// errors are Loki's (plain-text errors).

import (
	"context"
	"errors"
	"maps"
	"net/http"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"text/template"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"

	"github.com/meshscope/meshscope/query/logql"
)

// lokiPrefix is where the Loki API is mounted.
const lokiPrefix = "/loki/api/v1"

// lokiVersion is the Loki release whose API this follows: Grafana picks
// features by it (3.x: the volume, patterns and detected fields Logs
// Drilldown reads).
const lokiVersion = "3.5.0"

const (
	lokiDefaultLimit = 100
	lokiMaxLimit     = 5000
	// lokiMaxBuckets bounds the counting buckets of a metric query.
	lokiMaxBuckets = 100_000
)

// lokiLevel is a record's level label, from its severity number.
const lokiLevel = "multiIf(severity_number >= 21, 'fatal', severity_number >= 17, 'error', severity_number >= 13, 'warn', " +
	"severity_number >= 9, 'info', severity_number >= 5, 'debug', severity_number >= 1, 'trace', 'unknown')"

// lokiTraceID is a record's trace_id label: hex, empty without a trace.
const lokiTraceID = "replaceRegexpAll(lower(hex(trace_id)), '^0+$', '')"

// lokiStreamLabels are the labels of a record's stream, in order, with
// their SQL; metric queries leave trace_id out.
var lokiStreamLabels = []struct{ name, expr string }{
	{"service_name", "service_name"},
	{"service_namespace", "service_namespace"},
	{"level", lokiLevel},
	{"trace_id", lokiTraceID},
}

// lokiLabelExpr is the SQL value of a label of a record.
func lokiLabelExpr(name string) (string, []any) {
	switch name {
	case "service_name":
		return "service_name", nil
	case "service_namespace", "namespace":
		return "service_namespace", nil
	case "level", "detected_level":
		return lokiLevel, nil
	case "trace_id", "traceID":
		return lokiTraceID, nil
	}
	// A resource attribute: by its key, else by its key made a label name
	// (k8s_pod_name reads k8s.pod.name).
	has, value := lokiAttr("resource", name)
	return "if(" + has.sql + ", " + value.sql + ", '')", append(has.args, value.args...)
}

// lokiSanitizedKey is a lambda that says whether an attribute key, made a
// label name (each character outside [a-zA-Z0-9_] a _), is the one bound.
const lokiSanitizedKey = "k -> replaceRegexpAll(k, '[^a-zA-Z0-9_]', '_') = ?"

// lokiWhere is the SQL condition of a log query's matchers and filters.
func lokiWhere(q logql.LogQuery) (string, []any) {
	where, args := []string{}, []any{}
	for _, m := range q.Matchers {
		expr, a := lokiLabelExpr(m.Name)
		args = append(args, a...)
		switch m.Type {
		case logql.Equal:
			where, args = append(where, expr+" = ?"), append(args, m.Value)
		case logql.NotEqual:
			where, args = append(where, expr+" != ?"), append(args, m.Value)
		case logql.Regexp:
			where, args = append(where, "match("+expr+", ?)"), append(args, "^(?:"+m.Value+")$")
		case logql.NotRegexp:
			where, args = append(where, "NOT match("+expr+", ?)"), append(args, "^(?:"+m.Value+")$")
		}
	}
	for _, f := range q.Filters {
		switch f.Op {
		case "|=":
			where, args = append(where, "position(body, ?) > 0"), append(args, f.Value)
		case "!=":
			where, args = append(where, "position(body, ?) = 0"), append(args, f.Value)
		case "|~":
			where, args = append(where, "match(body, ?)"), append(args, f.Value)
		case "!~":
			where, args = append(where, "NOT match(body, ?)"), append(args, f.Value)
		case "|>":
			where, args = append(where, "body LIKE ?"), append(args, lokiPatternLike(f.Value))
		case "!>":
			where, args = append(where, "NOT body LIKE ?"), append(args, lokiPatternLike(f.Value))
		}
	}
	for _, f := range q.LabelFilters {
		cond, a := lokiLabelFilter(f)
		where, args = append(where, cond), append(args, a...)
	}
	if len(where) == 0 {
		return "1", args
	}
	return strings.Join(where, " AND "), args
}

func (s *Server) lokiRoutes() {
	g := s.e.Group(lokiPrefix)
	for _, m := range []string{http.MethodGet, http.MethodPost} {
		g.Add(m, "/query_range", s.lokiQueryRange)
		g.Add(m, "/query", s.lokiQuery)
		g.Add(m, "/series", s.lokiSeries)
	}
	g.GET("/labels", s.lokiLabels)
	g.GET("/label/:name/values", s.lokiLabelValues)
	g.GET("/index/stats", s.lokiIndexStats)
	g.GET("/patterns", s.lokiPatterns)
	g.GET("/index/volume", s.lokiVolume)
	g.GET("/index/volume_range", s.lokiVolume)
	g.GET("/detected_labels", s.lokiDetectedLabels)
	g.GET("/detected_fields", s.lokiDetectedFields)
	g.GET("/detected_field/:name/values", s.lokiDetectedFieldValues)
	g.GET("/status/buildinfo", func(c echo.Context) error {
		// The release whose API this follows (Grafana picks features by it).
		return c.JSON(http.StatusOK, map[string]string{"version": lokiVersion, "revision": "", "branch": "", "buildUser": "", "buildDate": "", "goVersion": runtime.Version()})
	})
}

// lokiTime reads a time: Unix nanoseconds (Loki's own form), or what
// ParseTime reads (RFC 3339, Unix seconds, relative).
func (s *Server) lokiTime(c echo.Context, name string, def time.Time) (time.Time, error) {
	v := c.FormValue(name)
	if v == "" {
		return def, nil
	}
	if len(v) >= 16 && strings.Trim(v, "0123456789") == "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err == nil {
			return time.Unix(0, n), nil
		}
	}
	t, err := ParseTime(v, s.now())
	if err != nil {
		return t, badParam(name, "invalid %s: %v", name, err)
	}
	return t, nil
}

// lokiRange reads start and end (default: the hour before end, or since).
func (s *Server) lokiRange(c echo.Context) (time.Time, time.Time, error) {
	end, err := s.lokiTime(c, "end", s.now())
	if err != nil {
		return end, end, err
	}
	since := time.Hour
	if v := c.FormValue("since"); v != "" {
		if since, err = ParseDuration(v); err != nil {
			return end, end, badParam("since", "invalid since: %v", err)
		}
	}
	start, err := s.lokiTime(c, "start", end.Add(-since))
	if err != nil {
		return start, end, err
	}
	if end.Before(start) {
		return start, end, badParam("end", "end timestamp must not be before start time")
	}
	return start, end, nil
}

func lokiParse(c echo.Context) (logql.Query, error) {
	v := c.FormValue("query")
	if v == "" {
		return logql.Query{}, badParam("query", "query is required")
	}
	q, err := logql.Parse(v)
	if err != nil {
		return q, badParam("query", "%v", err)
	}
	return q, nil
}

// lokiOK answers Loki's envelope.
func lokiOK(c echo.Context, resultType string, result any) error {
	return c.JSON(http.StatusOK, map[string]any{"status": "success", "data": map[string]any{"resultType": resultType, "result": result, "stats": map[string]any{}}})
}

// GET|POST /loki/api/v1/query_range
func (s *Server) lokiQueryRange(c echo.Context) error {
	q, err := lokiParse(c)
	if err != nil {
		return err
	}
	start, end, err := s.lokiRange(c)
	if err != nil {
		return err
	}
	if q.Log != nil {
		return s.lokiLogs(c, *q.Log, start, end)
	}
	if q.Vector != nil {
		return badParam("query", "a constant vector is answered by the instant query only")
	}
	step, err := stepSecondsParam(c, max(end.Sub(start)/250, time.Second)) // Loki's default resolution
	if err != nil {
		return err
	}
	series, err := s.lokiCount(c.Request().Context(), *q.Metric, start, end, step)
	if err != nil {
		return err
	}
	result := make([]map[string]any, 0, len(series))
	for _, sr := range series {
		values := make([][2]any, 0, len(sr.points))
		for _, p := range sr.points {
			if q.Metric.Keeps(p.v) {
				values = append(values, [2]any{float64(p.t), promFloat(p.v)})
			}
		}
		if len(values) > 0 {
			result = append(result, map[string]any{"metric": sr.labels, "values": values})
		}
	}
	return lokiOK(c, "matrix", result)
}

// GET|POST /loki/api/v1/query: a metric query at one time (a vector), or
// a log query over the hour (or since) before it.
func (s *Server) lokiQuery(c echo.Context) error {
	q, err := lokiParse(c)
	if err != nil {
		return err
	}
	at, err := s.lokiTime(c, "time", s.now())
	if err != nil {
		return err
	}
	if q.Vector != nil {
		return lokiOK(c, "vector", []map[string]any{{"metric": map[string]string{}, "value": [2]any{float64(at.Unix()), promFloat(*q.Vector)}}})
	}
	if q.Log != nil {
		since := time.Hour
		if v := c.FormValue("since"); v != "" {
			if since, err = ParseDuration(v); err != nil {
				return badParam("since", "invalid since: %v", err)
			}
		}
		return s.lokiLogs(c, *q.Log, at.Add(-since), at)
	}
	vec, err := s.lokiInstant(c.Request().Context(), *q.Metric, at)
	if err != nil {
		return err
	}
	result := make([]map[string]any, 0, len(vec))
	for _, sr := range vec {
		p := sr.points[0]
		result = append(result, map[string]any{"metric": sr.labels, "value": [2]any{float64(p.t), promFloat(p.v)}})
	}
	return lokiOK(c, "vector", result)
}

// lokiInstant evaluates a metric query at one time: each series' value at
// at (its one point), those its comparison keeps.
func (s *Server) lokiInstant(ctx context.Context, q logql.MetricQuery, at time.Time) ([]lokiSeries, error) {
	at = at.Truncate(time.Second)
	series, err := s.lokiCount(ctx, q, at, at, q.Range)
	if err != nil {
		return nil, err
	}
	out := series[:0]
	for _, sr := range series {
		if len(sr.points) > 0 && q.Keeps(sr.points[len(sr.points)-1].v) {
			sr.points = sr.points[len(sr.points)-1:]
			out = append(out, sr)
		}
	}
	return out, nil
}

// LogQLVector evaluates a LogQL metric query (count_over_time or rate,
// perhaps summed, perhaps compared with a number) at one time, as
// Prometheus' engine answers an instant query: what alerting rules over
// log records read (serve --log-rule-files).
func (s *Server) LogQLVector(ctx context.Context, expr string, at time.Time) (promql.Vector, error) {
	q, err := logql.Parse(expr)
	if err != nil {
		return nil, err
	}
	switch {
	case q.Vector != nil:
		return promql.Vector{{T: at.UnixMilli(), F: *q.Vector, Metric: labels.EmptyLabels()}}, nil
	case q.Log != nil:
		return nil, errors.New("a log query selects lines, not numbers: count them (count_over_time or rate)")
	}
	series, err := s.lokiInstant(ctx, *q.Metric, at)
	if err != nil {
		return nil, err
	}
	out := make(promql.Vector, 0, len(series))
	for _, sr := range series {
		out = append(out, promql.Sample{T: sr.points[0].t * 1000, F: sr.points[0].v, Metric: labels.FromMap(sr.labels)})
	}
	return out, nil
}

// lokiLogs answers a log query's records as streams, newest first
// (direction=backward, the default) or oldest first.
func (s *Server) lokiLogs(c echo.Context, q logql.LogQuery, start, end time.Time) error {
	limit := lokiDefaultLimit
	if v := c.FormValue("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > lokiMaxLimit {
			return badParam("limit", "limit is a number of lines from 1 to %d, got %q", lokiMaxLimit, v)
		}
		limit = n
	}
	order, err := directionParam(c)
	if err != nil {
		return err
	}
	where, args := lokiWhere(q)
	tw, targs := lokiTimeWhere(start, end)
	var format *template.Template
	if q.LineFormat != "" {
		if format, err = logql.LineTemplate(q.LineFormat); err != nil {
			return badParam("query", "line_format: %v", err)
		}
	}
	ctx, cancel, err := s.storeContext(c)
	if err != nil {
		return err
	}
	defer cancel()
	type stream struct {
		labels map[string]string
		values [][2]string
	}
	var streams []*stream
	byKey := map[string]*stream{}
	err = s.scanAll(ctx, func(scan func(...any) error) error {
		var (
			ns         uint64
			body       string
			lvals      [4]string
			keys, vals []string
		)
		if err := scan(&ns, &body, &lvals[0], &lvals[1], &lvals[2], &lvals[3], &keys, &vals); err != nil {
			return err
		}
		labels := map[string]string{}
		for i, l := range lokiStreamLabels {
			if lvals[i] != "" {
				labels[l.name] = lvals[i]
			}
		}
		// The record's attributes, as Loki answers structured metadata:
		// labels by their keys made label names.
		for i, k := range keys {
			if name := labelName(k); name != "" && i < len(vals) {
				if _, ok := labels[name]; !ok {
					labels[name] = vals[i]
				}
			}
		}
		parsedLabels(labels, q.Parsers, body)
		if format != nil {
			body = formatLine(format, labels, body, ns)
		}
		for l := range labels {
			if !q.Answers(l) {
				delete(labels, l)
			}
		}
		key := lineKey(labels)
		st := byKey[key]
		if st == nil {
			st = &stream{labels: labels}
			byKey[key] = st
			streams = append(streams, st)
		}
		st.values = append(st.values, [2]string{strconv.FormatUint(ns, 10), body})
		return nil
	}, `
SELECT time_unix_nano, body, service_name, service_namespace, `+lokiLevel+`, `+lokiTraceID+`, attr_keys, attr_values
FROM logs
WHERE `+tw+` AND `+where+`
ORDER BY time_unix_nano `+order+`
LIMIT ?`, slices.Concat(targs, args, []any{limit})...)
	if err != nil {
		return err
	}
	result := make([]map[string]any, 0, len(streams))
	for _, st := range streams {
		result = append(result, map[string]any{"stream": st.labels, "values": st.values})
	}
	return lokiOK(c, "streams", result)
}

// lokiSeries is one series of a metric query.
type lokiSeries struct {
	labels map[string]string
	points []lokiPoint
}

type lokiPoint struct {
	t int64 // Unix seconds
	v float64
}

// lokiCount evaluates a metric query at every step from start to end: the
// lines in (t - range, t], per second for rate, by stream (or summed by
// the labels asked); an unwrapped aggregation is lokiUnwrapped's. Lines are counted in buckets of g seconds, the
// greatest common divisor of range and step, ending at the steps' times:
// bucket b holds (o + b*g, o + (b+1)*g], o being start modulo g, so each
// step's window is range/g whole buckets.
func (s *Server) lokiCount(ctx context.Context, q logql.MetricQuery, start, end time.Time, step time.Duration) ([]lokiSeries, error) {
	if q.Log.Unwrap != nil {
		return s.lokiUnwrapped(ctx, q, start, end, step)
	}
	rng, st := int64(q.Range/time.Second), int64(step/time.Second)
	g := gcd(rng, st)
	o := start.Unix() % g
	from, to := start.Unix()-rng, end.Unix()
	if (to-from)/g > lokiMaxBuckets {
		return nil, badParam("step", "the range and step need %d counting buckets, more than the %d allowed: give a larger step or range", (to-from)/g, lokiMaxBuckets)
	}
	var names, exprs []string
	var args []any
	if q.Sum {
		for _, l := range q.By {
			e, a := lokiField(l, q.Log.Parsers)
			names, exprs, args = append(names, l), append(exprs, e), append(args, a...)
		}
	} else {
		for _, l := range lokiStreamLabels[:3] {
			if q.Log.Answers(l.name) {
				names, exprs = append(names, l.name), append(exprs, l.expr)
			}
		}
	}
	where, wargs := lokiWhere(q.Log)
	// Aliased, so that GROUP BY names them (their bound values once).
	cols, group := "'' AS l0", "l0"
	if len(exprs) > 0 {
		aliased, as := make([]string, len(exprs)), make([]string, len(exprs))
		for i, e := range exprs {
			as[i] = "l" + strconv.Itoa(i)
			aliased[i] = e + " AS " + as[i]
		}
		cols, group = strings.Join(aliased, ", "), strings.Join(as, ", ")
	}
	if err := s.store(); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.RequestTimeout)
	defer cancel()
	type key = string
	counts := map[key]map[int64]uint64{}
	labelsOf := map[key]map[string]string{}
	err := s.scanAll(ctx, func(scan func(...any) error) error {
		vals := make([]string, max(len(exprs), 1))
		var (
			b int64
			n uint64
		)
		dest := []any{}
		for i := range vals {
			dest = append(dest, &vals[i])
		}
		if err := scan(append(dest, &b, &n)...); err != nil {
			return err
		}
		labels := map[string]string{}
		for i, name := range names {
			if vals[i] != "" {
				labels[name] = vals[i]
			}
		}
		k := lineKey(labels)
		if counts[k] == nil {
			counts[k], labelsOf[k] = map[int64]uint64{}, labels
		}
		counts[k][b] += n
		return nil
	}, `
SELECT `+cols+`, intDiv(toInt64(toUInt32(timestamp)) - ? - 1, ?) AS b, count()
FROM logs
WHERE timestamp > toDateTime(?) AND timestamp <= toDateTime(?) AND `+where+`
GROUP BY `+group+`, b`, append(append(args, o, g, from, to), wargs...)...)
	if err != nil {
		return nil, err
	}
	out := make([]lokiSeries, 0, len(counts))
	for _, k := range slices.Sorted(maps.Keys(counts)) {
		sr := lokiSeries{labels: labelsOf[k]}
		for t := start.Unix(); t <= end.Unix(); t += st {
			var n uint64
			for b := (t - rng - o) / g; b < (t-o)/g; b++ {
				n += counts[k][b]
			}
			if n == 0 {
				continue
			}
			v := float64(n)
			if q.Rate {
				v /= float64(rng)
			}
			sr.points = append(sr.points, lokiPoint{t: t, v: v})
		}
		if len(sr.points) > 0 {
			out = append(out, sr)
		}
	}
	return out, nil
}

func gcd(a, b int64) int64 {
	for b != 0 {
		a, b = b, a%b
	}
	return max(a, 1)
}

// GET|POST /loki/api/v1/series?match[]=: the streams' label sets.
func (s *Server) lokiSeries(c echo.Context) error {
	if err := c.Request().ParseForm(); err != nil {
		return badParam("match[]", "invalid form: %v", err)
	}
	start, end, err := s.lokiRange(c)
	if err != nil {
		return err
	}
	selectors := c.Request().Form["match[]"]
	if len(selectors) == 0 {
		selectors = []string{`{service_name=~".+"}`}
	}
	ctx, cancel, err := s.storeContext(c)
	if err != nil {
		return err
	}
	defer cancel()
	seen := map[string]bool{}
	out := []map[string]string{}
	for _, sel := range selectors {
		q, err := logql.Parse(sel)
		if err != nil || q.Log == nil {
			return badParam("match[]", "invalid selector %q: %v", sel, err)
		}
		where, args := lokiWhere(*q.Log)
		err = s.scanAll(ctx, func(scan func(...any) error) error {
			var svc, ns, level string
			if err := scan(&svc, &ns, &level); err != nil {
				return err
			}
			labels := map[string]string{"service_name": svc, "level": level}
			if ns != "" {
				labels["service_namespace"] = ns
			}
			if k := lineKey(labels); !seen[k] {
				seen[k] = true
				out = append(out, labels)
			}
			return nil
		}, `SELECT service_name, service_namespace, `+lokiLevel+` AS level FROM logs
WHERE timestamp >= toDateTime(?) AND timestamp <= toDateTime(?) AND `+where+`
GROUP BY service_name, service_namespace, level ORDER BY service_name, service_namespace, level LIMIT 10000`,
			append([]any{start.Unix(), end.Unix()}, args...)...)
		if err != nil {
			return err
		}
	}
	return c.JSON(http.StatusOK, map[string]any{"status": "success", "data": out})
}

// GET /loki/api/v1/labels: the label names a selector may name over the
// range.
func (s *Server) lokiLabels(c echo.Context) error {
	start, end, err := s.lokiRange(c)
	if err != nil {
		return err
	}
	ctx, cancel, err := s.storeContext(c)
	if err != nil {
		return err
	}
	defer cancel()
	// The stream labels, and the resources' attributes of the range's
	// records by label name (a selector may name them: k8s_pod_name).
	names := slices.Clone(logql.Labels)
	err = s.scanAll(ctx, func(scan func(...any) error) error {
		var k string
		if err := scan(&k); err != nil {
			return err
		}
		if n := labelName(k); n != "" && !slices.Contains(names, n) {
			names = append(names, n)
		}
		return nil
	}, `SELECT DISTINCT arrayJoin(resource_keys) AS k FROM logs WHERE timestamp >= toDateTime(?) AND timestamp <= toDateTime(?) LIMIT 10000`,
		start.Unix(), end.Unix())
	if err != nil {
		return err
	}
	slices.Sort(names)
	return c.JSON(http.StatusOK, map[string]any{"status": "success", "data": names})
}

// GET /loki/api/v1/label/{name}/values: the values over the range (none
// for trace_id, one per trace).
func (s *Server) lokiLabelValues(c echo.Context) error {
	name := c.Param("name")
	if !logql.IsLabelName(name) {
		return badParam("name", "invalid label name %q", name)
	}
	start, end, err := s.lokiRange(c)
	if err != nil {
		return err
	}
	values := []string{}
	if name == "trace_id" {
		return c.JSON(http.StatusOK, map[string]any{"status": "success", "data": values})
	}
	ctx, cancel, err := s.storeContext(c)
	if err != nil {
		return err
	}
	defer cancel()
	expr, args := lokiLabelExpr(name)
	err = s.scanAll(ctx, func(scan func(...any) error) error {
		var v string
		if err := scan(&v); err != nil {
			return err
		}
		values = append(values, v)
		return nil
	}, `SELECT DISTINCT `+expr+` AS v FROM logs WHERE timestamp >= toDateTime(?) AND timestamp <= toDateTime(?) AND v != '' ORDER BY v LIMIT 10000`,
		append(args, start.Unix(), end.Unix())...)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"status": "success", "data": values})
}

// GET /loki/api/v1/index/stats: how much a query's selector reads.
func (s *Server) lokiIndexStats(c echo.Context) error {
	q, start, end, err := s.lokiSelection(c, "index stats take a stream selector")
	if err != nil {
		return err
	}
	ctx, cancel, err := s.storeContext(c)
	if err != nil {
		return err
	}
	defer cancel()
	where, args := lokiWhere(q)
	var streams, entries, bytes uint64
	err = s.deps.Store.Conn().QueryRow(ctx, `SELECT uniqExact(service_name, service_namespace, `+lokiLevel+`), count(), sum(length(body)) FROM logs
WHERE timestamp >= toDateTime(?) AND timestamp <= toDateTime(?) AND `+where, append([]any{start.Unix(), end.Unix()}, args...)...).Scan(&streams, &entries, &bytes)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"streams": streams, "chunks": 0, "entries": entries, "bytes": bytes})
}

// lokiError answers an error as Loki does: its message as plain text.
func lokiError(c echo.Context, status int, msg string) {
	_ = c.String(status, msg)
}
