package query

import (
	"encoding/hex"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/meshscope/meshscope/query/logql"
)

// severityLevels are the OpenTelemetry severity ranges by the name of their
// first number (TRACE 1-4, DEBUG 5-8, INFO 9-12, WARN 13-16, ERROR 17-20,
// FATAL 21-24).
var severityLevels = map[string]uint8{"trace": 1, "debug": 5, "info": 9, "warn": 13, "warning": 13, "error": 17, "fatal": 21}

// severityParam reads a minimum severity: a level name or a number 1-24.
func severityParam(v string) (uint8, error) {
	if n, ok := severityLevels[strings.ToLower(v)]; ok {
		return n, nil
	}
	n, err := strconv.ParseUint(v, 10, 8)
	if err != nil || n < 1 || n > 24 {
		return 0, badParam("severity", "severity is a level (trace, debug, info, warn, error, fatal) or a severity number 1-24, got %q", v)
	}
	return uint8(n), nil
}

// hexIDParam reads a hex id of size bytes (a trace id 16, a span id 8). A
// trace id may have 16 digits (a 64-bit id, as Zipkin and Jaeger clients
// send), left-padded with zeros.
func hexIDParam(name, v string, size int) (string, error) {
	v = strings.ToLower(v)
	if size == 16 && len(v) == 16 {
		v = strings.Repeat("0", 16) + v
	}
	if _, err := hex.DecodeString(v); err != nil || len(v) != 2*size {
		return "", badParam(name, "%s is %d hex digits, got %q", name, 2*size, v)
	}
	return v, nil
}

// logJSON is one entry of GET /api/v1/logs.
type logJSON struct {
	Timestamp      time.Time         `json:"timestamp"`
	TimeUnixNano   uint64            `json:"time_unix_nano"`
	Service        string            `json:"service"`
	Namespace      string            `json:"namespace"`
	SeverityNumber uint8             `json:"severity_number"`
	SeverityText   string            `json:"severity_text"`
	Body           string            `json:"body"`
	TraceID        string            `json:"trace_id"`
	SpanID         string            `json:"span_id"`
	Scope          string            `json:"scope"`
	EventName      string            `json:"event_name"`
	Attributes     map[string]string `json:"attributes"`
	Resource       map[string]string `json:"resource"`
	// Fields are what the body holds as JSON or logfmt, named as LogQL's
	// parsers name them (the fields filter reads them by those names).
	Fields map[string]string `json:"fields,omitempty"`
}

// likeLiteral escapes LIKE's special characters.
var likeLiteral = strings.NewReplacer(`\`, `\\`, "%", `\%`, "_", `\_`)

// logFieldParsers read a record's body for the fields filter and its
// fields: JSON, else logfmt.
var logFieldParsers = []logql.Parser{{Name: "json"}, {Name: "logfmt"}}

// logFilters are the WHERE conditions (and arguments) of a log search over
// [from, to]: by service, namespace, minimum severity, text in the body,
// the body's pattern, record or resource attributes, fields, trace or span.
func logFilters(c echo.Context, from, to time.Time) ([]string, []any, error) {
	where := []string{"timestamp >= toDateTime(?)", "timestamp <= toDateTime(?)"}
	args := []any{from.Unix(), to.Unix()}
	add := func(cond string, a any) {
		where = append(where, cond)
		args = append(args, a)
	}
	if v := c.QueryParam("service"); v != "" {
		add("service_name = ?", v)
	}
	if v := c.QueryParam("namespace"); v != "" {
		add("service_namespace = ?", v)
	}
	if v := c.QueryParam("severity"); v != "" {
		n, err := severityParam(v)
		if err != nil {
			return nil, nil, err
		}
		add("severity_number >= ?", n)
	}
	if v := c.QueryParam("q"); v != "" {
		// Case-insensitive as a LIKE over the lower-cased body, which the
		// schema's n-gram index on lowerUTF8(body) answers on servers with
		// skip indexes (migration 6); the text is a pattern's literal part.
		add("lowerUTF8(body) LIKE ?", "%"+likeLiteral.Replace(strings.ToLower(v))+"%")
	}
	if v := c.QueryParam("pattern"); v != "" {
		add(patternExpr+" = ?", v) // a pattern of GET /api/v1/logs/patterns
	}
	// attr=k:v and resource=k:v (repeatable): a record attribute's or a
	// resource attribute's value (resource=k8s.pod.name:cart-7d9f, one
	// pod's records, as a record's context asks).
	for _, f := range []struct{ param, keys, values string }{{"attr", "attr_keys", "attr_values"}, {"resource", "resource_keys", "resource_values"}} {
		for _, v := range c.QueryParams()[f.param] {
			k, val, ok := strings.Cut(v, ":")
			if !ok || k == "" {
				return nil, nil, badParam(f.param, "%s is key:value, got %q", f.param, v)
			}
			where = append(where, fmt.Sprintf("has(%s, ?) AND %s[indexOf(%s, ?)] = ?", f.keys, f.values, f.keys))
			args = append(args, k, k, val)
		}
	}
	// fields: a LogQL label filter over the record's attributes and the
	// fields of its body, JSON or logfmt (status >= 500 and duration > 1s).
	if v := c.QueryParam("fields"); v != "" {
		f, err := logql.ParseLabelFilter(v, logFieldParsers)
		if err != nil {
			return nil, nil, badParam("fields", "fields: %v", err)
		}
		cond, a := lokiLabelFilter(f)
		where, args = append(where, cond), append(args, a...)
	}
	for _, f := range []struct {
		name string
		size int
	}{{"trace_id", 16}, {"span_id", 8}} {
		if v := c.QueryParam(f.name); v != "" {
			id, err := hexIDParam(f.name, v, f.size)
			if err != nil {
				return nil, nil, err
			}
			add(f.name+" = unhex(?)", id)
		}
	}
	return where, args, nil
}

// directionParam is the order of log records Loki's direction names:
// backward (the default) newest first, forward oldest first.
func directionParam(c echo.Context) (string, error) {
	switch strings.ToLower(c.FormValue("direction")) {
	case "", "backward":
		return "DESC", nil
	case "forward":
		return "ASC", nil
	}
	return "", badParam("direction", "direction is forward or backward, got %q", c.FormValue("direction"))
}

// GET /api/v1/logs: log records, newest first (or, direction=forward,
// oldest first: the records just after a time, for a record's context), by
// service, minimum severity, text in the body, trace or span. The table's
// key starts with (service_name, timestamp), so a service's search reads
// its rows only.
func (s *Server) searchLogs(c echo.Context) error {
	from, to, limit, err := s.rowsParams(c)
	if err != nil {
		return err
	}
	order, err := directionParam(c)
	if err != nil {
		return err
	}
	where, args, err := logFilters(c, from, to)
	if err != nil {
		return err
	}
	ctx, cancel, err := s.storeContext(c)
	if err != nil {
		return err
	}
	defer cancel()
	rows, err := s.deps.Store.Conn().Query(ctx, `
SELECT timestamp, time_unix_nano, service_name, service_namespace, severity_number, severity_text, body,
       trace_id, span_id, scope_name, event_name, attr_keys, attr_values, resource_keys, resource_values
FROM logs
WHERE `+strings.Join(where, " AND ")+`
ORDER BY timestamp `+order+`, time_unix_nano `+order+`
LIMIT ?`, append(args, limit)...)
	if err != nil {
		return err
	}
	defer rows.Close()
	out := []logJSON{}
	for rows.Next() {
		var (
			l                        logJSON
			traceID, spanID          string
			attrK, attrV, resK, resV []string
		)
		if err := rows.Scan(&l.Timestamp, &l.TimeUnixNano, &l.Service, &l.Namespace, &l.SeverityNumber, &l.SeverityText, &l.Body,
			&traceID, &spanID, &l.Scope, &l.EventName, &attrK, &attrV, &resK, &resV); err != nil {
			return err
		}
		l.Timestamp = l.Timestamp.UTC()
		l.TraceID, l.SpanID = hexID(traceID), hexID(spanID)
		l.Attributes, l.Resource = attrMap(attrK, attrV), attrMap(resK, resV)
		l.Fields, _ = bodyFields(l.Body)
		out = append(out, l)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"logs": out})
}

// volumeBuckets is how many counts a class has over a volume's range.
const volumeBuckets = 60

// severityBand names OpenTelemetry's severity numbers by level (0 is
// unset), for the volume chart.
const severityBand = "multiIf(severity_number >= 21, 'fatal', severity_number >= 17, 'error', severity_number >= 13, 'warn', " +
	"severity_number >= 9, 'info', severity_number >= 5, 'debug', severity_number >= 1, 'trace', 'unset')"

// GET /api/v1/logs/volume: how many records the search (the filters of GET
// /api/v1/logs) matches, by level and bucket of the range (60 buckets): the
// chart above the Logs page's records, as Grafana's logs volume.
func (s *Server) logVolume(c echo.Context) error {
	from, to, _, err := s.rangeOrDefault(c)
	if err != nil {
		return err
	}
	where, args, err := logFilters(c, from, to)
	if err != nil {
		return err
	}
	return s.volume(c, "logs", severityBand, "levels", where, args, from, to)
}

// volume answers how many rows of table match where (over timestamp, in
// seconds) by class (an expression naming each row's) and by bucket of
// [from, to]: {"from", "to", "bucket_seconds", key: {class: [counts]}},
// only the classes with rows.
func (s *Server) volume(c echo.Context, table, class, key string, where []string, args []any, from, to time.Time) error {
	bucket := max(to.Sub(from)/volumeBuckets, time.Second).Truncate(time.Second)
	ctx, cancel, err := s.storeContext(c)
	if err != nil {
		return err
	}
	defer cancel()
	series := map[string][]uint64{}
	err = s.scanAll(ctx, func(scan func(...any) error) error {
		var b int64
		var name string
		var n uint64
		if err := scan(&b, &name, &n); err != nil {
			return err
		}
		if series[name] == nil {
			series[name] = make([]uint64, volumeBuckets)
		}
		// Rows stamped in to's last partial second count in the last
		// bucket.
		series[name][min(max(b, 0), volumeBuckets-1)] += n
		return nil
	}, `SELECT intDiv(toInt64(toUInt32(timestamp)) - ?, ?) AS b, `+class+` AS class, count()
FROM `+table+`
WHERE `+strings.Join(where, " AND ")+`
GROUP BY b, class`, append([]any{from.Unix(), int64(bucket.Seconds())}, args...)...)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"from": from.UTC(), "to": to.UTC(), "bucket_seconds": bucket.Seconds(), key: series})
}
