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
// per event (ARRAY JOIN over the span's parallel event arrays; spans
// without events give none).
func exceptionsFrom(c echo.Context, from, to time.Time) (string, []any) {
	where := []string{"timestamp >= toDateTime(?)", "timestamp <= toDateTime(?)", "ev_name = 'exception'"}
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

// GET /api/v1/exceptions: the exceptions spans recorded, grouped by
// service and exception type, the most frequent first; each group with its
// count, distinct messages, first and last time, a trend of counts over
// the range (sumMap of the events' buckets: at most exceptionBuckets
// entries a group, whatever its count), and its latest occurrence's
// message, stack trace and span (whose trace the UI opens). Filters:
// service, namespace, type, and q (text in the event's attributes: type,
// message or stack trace).
func (s *Server) listExceptions(c echo.Context) error {
	from, to, limit, err := s.rowsParams(c)
	if err != nil {
		return err
	}
	fromSQL, args := exceptionsFrom(c, from, to)
	bucket := max(to.Sub(from)/exceptionBuckets, time.Millisecond)
	ctx, cancel, err := s.storeContext(c)
	if err != nil {
		return err
	}
	defer cancel()

	out := []exceptionJSON{}
	err = s.scanAll(ctx, func(scan func(...any) error) error {
		var (
			e                      exceptionJSON
			first, last            uint64
			attrs, traceID, spanID string
			buckets                []int32
			counts                 []uint64
		)
		if err := scan(&e.Service, &e.Type, &e.Count, &e.Messages, &first, &last, &attrs, &traceID, &spanID, &e.SpanName,
			&buckets, &counts); err != nil {
			return err
		}
		e.FirstSeen, e.LastSeen = time.Unix(0, int64(first)).UTC(), time.Unix(0, int64(last)).UTC()
		e.TraceID, e.SpanID = hexID(traceID), hexID(spanID)
		var ev exceptionEvent
		if json.Unmarshal([]byte(attrs), &ev) == nil {
			e.Message, e.Stacktrace = ev.Message, ev.Stacktrace
			e.Escaped = ev.Escaped == true || ev.Escaped == "true"
		}
		// Events stamped after to (spans started before it) count in the
		// last bucket.
		e.Trend = make([]uint64, exceptionBuckets)
		for i, b := range buckets {
			if i < len(counts) {
				e.Trend[min(max(b, 0), exceptionBuckets-1)] += counts[i]
			}
		}
		out = append(out, e)
		return nil
	}, `
SELECT service_name, ex_type, n, messages, first, last, attrs, trace, span, span_name, trend.1, trend.2
FROM (
  SELECT service_name, visitParamExtractString(ev_attrs, 'exception.type') AS ex_type, count() AS n,
         uniqExact(visitParamExtractString(ev_attrs, 'exception.message')) AS messages,
         min(ev_time) AS first, max(ev_time) AS last, argMax(ev_attrs, ev_time) AS attrs,
         argMax(trace_id, ev_time) AS trace, argMax(span_id, ev_time) AS span, argMax(name, ev_time) AS span_name,
         sumMap([toInt32(intDiv(toInt64(intDiv(ev_time, 1000000)) - ?, ?))], [toUInt64(1)]) AS trend`+fromSQL+`
  GROUP BY service_name, ex_type
  ORDER BY n DESC, service_name, ex_type
  LIMIT ?
)`, append(append([]any{from.UnixMilli(), bucket.Milliseconds()}, args...), limit)...)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{
		"exceptions": out, "from": from.UTC(), "to": to.UTC(), "bucket_seconds": bucket.Seconds(),
	})
}
