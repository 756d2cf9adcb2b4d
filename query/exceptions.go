package query

import (
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
)

// exceptionBuckets is how many counts a group's trend has over the range.
const exceptionBuckets = 30

// exceptionJSON is one entry of GET /api/v1/exceptions: the exceptions of
// one type that one service recorded (span events named "exception", as
// OpenTelemetry's semantic conventions record them), with the latest one's
// message, stack trace and span.
type exceptionJSON struct {
	Service    string    `json:"service"`
	Type       string    `json:"type"`
	Count      uint64    `json:"count"`
	Messages   uint64    `json:"messages"` // distinct messages
	FirstSeen  time.Time `json:"first_seen"`
	LastSeen   time.Time `json:"last_seen"`
	Message    string    `json:"message"`
	Stacktrace string    `json:"stacktrace"`
	Escaped    bool      `json:"escaped"`
	TraceID    string    `json:"trace_id"`
	SpanID     string    `json:"span_id"`
	SpanName   string    `json:"span_name"`
	Trend      []uint64  `json:"trend"`
}

// exceptionEvent is the attributes of an exception event that the list
// shows, decoded from the stored JSON object.
type exceptionEvent struct {
	Message    string `json:"exception.message"`
	Stacktrace string `json:"exception.stacktrace"`
	Escaped    any    `json:"exception.escaped"`
}

// exceptionsFrom is the FROM and WHERE of the exception events between
// from and to (seconds of the spans' start), with their arguments: one row
// per event (ARRAY JOIN over the span's parallel event arrays). has() on
// the whole array first skips spans without exceptions before the join.
func exceptionsFrom(c echo.Context, from, to time.Time) (string, []any) {
	where := []string{"timestamp >= toDateTime(?)", "timestamp <= toDateTime(?)",
		"has(event_names, 'exception')", "ev_name = 'exception'"}
	args := []any{from.Unix(), to.Unix()}
	if v := c.QueryParam("service"); v != "" {
		where, args = append(where, "service_name = ?"), append(args, v)
	}
	if v := c.QueryParam("namespace"); v != "" {
		where, args = append(where, "service_namespace = ?"), append(args, v)
	}
	if v := c.QueryParam("type"); v != "" {
		where, args = append(where, "ex_type = ?"), append(args, v)
	}
	if v := c.QueryParam("q"); v != "" {
		where, args = append(where, "positionCaseInsensitiveUTF8(ev_attrs, ?) > 0"), append(args, v)
	}
	return `
FROM spans
ARRAY JOIN event_names AS ev_name, event_attrs AS ev_attrs, event_time_unix_nano AS ev_time
WHERE ` + strings.Join(where, " AND "), args
}

// exType is an event's exception.type.
const exType = "visitParamExtractString(ev_attrs, 'exception.type') AS ex_type"

// GET /api/v1/exceptions: the exceptions spans recorded, grouped by
// service and exception type, the most frequent first; each group with its
// count, distinct messages, first and last time, a trend of counts over
// the range, and its latest occurrence's message, stack trace and span
// (whose trace the UI opens). Filters: service, namespace, type, and q
// (text in the event's attributes: type, message or stack trace).
func (s *Server) listExceptions(c echo.Context) error {
	from, to, limit, err := s.rowsParams(c)
	if err != nil {
		return err
	}
	fromSQL, args := exceptionsFrom(c, from, to)
	ctx, cancel, err := s.storeContext(c)
	if err != nil {
		return err
	}
	defer cancel()

	out := []*exceptionJSON{}
	byKey := map[[2]string]*exceptionJSON{}
	err = s.scanAll(ctx, func(scan func(...any) error) error {
		var (
			e                      exceptionJSON
			first, last            uint64
			attrs, traceID, spanID string
		)
		if err := scan(&e.Service, &e.Type, &e.Count, &e.Messages, &first, &last, &attrs, &traceID, &spanID, &e.SpanName); err != nil {
			return err
		}
		e.FirstSeen, e.LastSeen = time.Unix(0, int64(first)).UTC(), time.Unix(0, int64(last)).UTC()
		e.TraceID, e.SpanID = hexID(traceID), hexID(spanID)
		var ev exceptionEvent
		if json.Unmarshal([]byte(attrs), &ev) == nil {
			e.Message, e.Stacktrace = ev.Message, ev.Stacktrace
			e.Escaped = ev.Escaped == true || ev.Escaped == "true"
		}
		e.Trend = make([]uint64, exceptionBuckets)
		out = append(out, &e)
		byKey[[2]string{e.Service, e.Type}] = &e
		return nil
	}, `
SELECT service_name, `+exType+`, count() AS n,
       uniqExact(visitParamExtractString(ev_attrs, 'exception.message')),
       min(ev_time), max(ev_time), argMax(ev_attrs, ev_time), argMax(trace_id, ev_time), argMax(span_id, ev_time),
       argMax(name, ev_time)`+fromSQL+`
GROUP BY service_name, ex_type
ORDER BY n DESC, service_name, ex_type
LIMIT ?`, append(args, limit)...)
	if err != nil {
		return err
	}

	// The trends: counts by bucket of the range, for the groups listed.
	bucket := max(to.Sub(from)/exceptionBuckets, time.Second)
	if len(out) > 0 {
		err = s.scanAll(ctx, func(scan func(...any) error) error {
			var (
				svc, typ string
				b        int64
				n        uint64
			)
			if err := scan(&svc, &typ, &b, &n); err != nil {
				return err
			}
			if e := byKey[[2]string{svc, typ}]; e != nil && b >= 0 && b < exceptionBuckets {
				e.Trend[b] += n
			}
			return nil
		}, `
SELECT service_name, `+exType+`, intDiv(toInt64(intDiv(ev_time, 1000000)) - ?, ?) AS b, count()`+fromSQL+`
GROUP BY service_name, ex_type, b`, append([]any{from.UnixMilli(), bucket.Milliseconds()}, args...)...)
		if err != nil {
			return err
		}
	}
	return c.JSON(http.StatusOK, map[string]any{
		"exceptions": out, "from": from.UTC(), "to": to.UTC(), "bucket_seconds": bucket.Seconds(),
	})
}
