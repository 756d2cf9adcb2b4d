package query

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/meshscope/meshscope/schema"
	"github.com/meshscope/meshscope/schema/chstore"
	"github.com/meshscope/meshscope/schema/chtest"
)

// exceptionAttrs encodes an exception event's attributes as the OTLP
// receiver stores them (pdata's JSON of the attribute map).
func exceptionAttrs(typ, msg, stack string, escaped bool) string {
	v := pcommon.NewValueMap()
	if typ != "" {
		v.Map().PutStr("exception.type", typ)
	}
	v.Map().PutStr("exception.message", msg)
	if stack != "" {
		v.Map().PutStr("exception.stacktrace", stack)
	}
	if escaped {
		v.Map().PutBool("exception.escaped", true)
	}
	return v.AsString()
}

// exceptionsAt is when seedExceptions' first exception happened.
var exceptionsAt = testNow.Add(-30 * time.Minute)

const (
	timeoutType  = "java.net.SocketTimeoutException"
	timeoutStack = "java.net.SocketTimeoutException: Read timed out\n\tat java.net.SocketInputStream.<init>(SocketInputStream.java:61)"
)

// seedExceptions writes spans with exception events and log records with
// exception attributes: 6 spans and 3 records.
func seedExceptions(t *testing.T, st *chstore.Store) {
	t.Helper()
	at := exceptionsAt
	type event struct {
		after time.Duration
		name  string
		attrs string
	}
	span := func(svc string, trace byte, start time.Time, evs ...event) schema.SpanRow {
		r := schema.SpanRow{StartUnixNano: ns(start), DurationNanos: uint64(time.Second), TraceID: schema.TraceID{trace},
			SpanID: schema.SpanID{trace, 1}, Name: "GET /" + svc, Kind: schema.SpanKindServer, StatusCode: schema.StatusError,
			ServiceName: svc, ServiceNamespace: "shop", ServiceVersion: fmt.Sprintf("v%d", trace), GRPCStatusCode: -1}
		for _, e := range evs {
			r.EventTimes = append(r.EventTimes, ns(start.Add(e.after)))
			r.EventNames = append(r.EventNames, e.name)
			r.EventAttrs = append(r.EventAttrs, e.attrs)
		}
		return r
	}
	timeout, stack := timeoutType, timeoutStack
	spans := []schema.SpanRow{
		span("cart", 1, at, event{0, "exception", exceptionAttrs(timeout, "Read timed out", stack, false)}),
		// Two attempts on one span, and an event that is not an exception.
		span("cart", 2, at.Add(5*time.Minute),
			event{0, "retry", `{"attempt":1}`},
			event{time.Millisecond, "exception", exceptionAttrs(timeout, "Connect timed out", "", false)},
			event{2 * time.Millisecond, "exception", exceptionAttrs(timeout, "Read timed out", stack, true)}),
		span("web", 3, at.Add(10*time.Minute), event{0, "exception", exceptionAttrs("TypeError", "cart is undefined", "", true)}),
		span("web", 4, at.Add(11*time.Minute), event{0, "exception", exceptionAttrs("", "no type", "", false)}),
		span("pay", 5, testNow.Add(-3*time.Hour), event{0, "exception", exceptionAttrs("Boom", "old", "", false)}),
		span("pay", 6, at), // no events
	}
	// Log records: two exceptions logged (one without exception.message:
	// its body is the message), an error without exception attributes.
	logRow := func(svc string, at time.Time, body string, kv ...string) schema.LogRow {
		r := schema.LogRow{TimeUnixNano: ns(at), TraceID: schema.TraceID{9}, SpanID: schema.SpanID{9, 1}, SeverityNumber: 17, SeverityText: "ERROR",
			ServiceName: svc, ServiceNamespace: "shop", Body: body}
		for i := 0; i+1 < len(kv); i += 2 {
			r.AttrKeys, r.AttrValues = append(r.AttrKeys, kv[i]), append(r.AttrValues, kv[i+1])
		}
		return r
	}
	withVersion := func(r schema.LogRow, v string) schema.LogRow {
		r.ResourceKeys, r.ResourceValues = []string{"service.version"}, []string{v}
		return r
	}
	logs := []schema.LogRow{
		withVersion(logRow("cart", at.Add(time.Minute), "request failed", "exception.type", timeout, "exception.message", "Read timed out", "exception.stacktrace", stack), "2.1"),
		logRow("cart", at.Add(2*time.Minute), "payment call failed", "exception.type", timeout, "exception.stacktrace", stack),
		logRow("cart", at.Add(3*time.Minute), "plain error", "code.function", "pay"),
	}
	require.NoError(t, st.Write(context.Background(), &schema.Batch{Spans: spans, Logs: logs}))
}

func TestExceptions(t *testing.T) {
	st, _ := chtest.Store(t, "meshscope")
	seedExceptions(t, st)
	api := newTestAPI(t, Config{}, Deps{Store: st})
	c := api.client.with(t)
	testExceptions(t, c)
	// The same from the spans' events and the logs, as a range from before
	// the exceptions table existed reads them.
	api.srv.exceptionsFromSources.Store(true)
	t.Run("from spans and logs", func(t *testing.T) { testExceptions(t, c.with(t)) })
	api.srv.exceptionsFromSources.Store(false)

	// Upgraded to exception history today, exceptions of today stored
	// before it: which are new is not known.
	chtest.Upgraded(t, st, schema.ExceptionGroupsMigration, time.Now())
	var got struct {
		Exceptions []exceptionJSON
		NewKnown   bool `json:"new_known"`
	}
	c.get("/api/v1/exceptions", &got)
	require.False(t, got.NewKnown)
	require.Len(t, got.Exceptions, 4)
	for _, e := range got.Exceptions {
		require.False(t, e.New)
		require.Nil(t, e.EverSeen)
	}
	c.fail("/api/v1/exceptions?new=true", http.StatusBadRequest, "new")
	var fresh struct {
		Exceptions []newExceptionJSON
		NewKnown   bool `json:"new_known"`
	}
	c.get("/api/v1/exceptions/new", &fresh)
	require.False(t, fresh.NewKnown)
	require.Empty(t, fresh.Exceptions, "not claimed new while the history is incomplete")

	// Upgraded to the exceptions table 40 minutes ago, its rows gone: a
	// range that starts before reads the spans and logs, one after it the
	// table.
	chtest.Upgraded(t, st, schema.ExceptionsMigration, testNow.Add(-40*time.Minute))
	require.NoError(t, st.Conn().Exec(context.Background(), "TRUNCATE TABLE "+schema.ExceptionsTable.Name))
	var listed struct{ Exceptions []exceptionJSON }
	c.get("/api/v1/exceptions", &listed)
	require.Len(t, listed.Exceptions, 4, "from the spans and logs")
	c.get("/api/v1/exceptions?from=now-35m", &listed)
	require.Empty(t, listed.Exceptions, "from the table, emptied")
	api.srv.exceptionsFromSources.Store(true)
	c.get("/api/v1/exceptions?from=now-35m", &listed)
	require.Len(t, listed.Exceptions, 4, "the spans and logs have them")
}

// TestExceptionsOnCluster groups the exceptions of a two-shard cluster
// through either node.
func TestExceptionsOnCluster(t *testing.T) {
	stores := chtest.Cluster(t)
	seedExceptions(t, stores[0])
	// The Distributed tables forward the rows to their shard in the
	// background.
	require.Eventually(t, func() bool {
		var spans, logs uint64
		err := stores[1].Conn().QueryRow(context.Background(), "SELECT count() FROM spans").Scan(&spans)
		if err == nil {
			err = stores[1].Conn().QueryRow(context.Background(), "SELECT count() FROM logs").Scan(&logs)
		}
		return err == nil && spans == 6 && logs == 3
	}, time.Minute, 20*time.Millisecond)
	for i, st := range stores {
		t.Run(fmt.Sprintf("node-%d", i+1), func(t *testing.T) {
			api := newTestAPI(t, Config{}, Deps{Store: st})
			testExceptions(t, api.client.with(t))
			api.srv.exceptionsFromSources.Store(true)
			t.Run("from spans and logs", func(t *testing.T) { testExceptions(t, api.client.with(t)) })
		})
	}
}

func testExceptions(t *testing.T, c client) {
	at, timeout, stack := exceptionsAt, timeoutType, timeoutStack

	var got struct {
		Exceptions    []exceptionJSON
		BucketSeconds float64 `json:"bucket_seconds"`
	}
	c.get("/api/v1/exceptions", &got)
	require.Equal(t, 120.0, got.BucketSeconds, "the last hour in 30 buckets")
	require.Len(t, got.Exceptions, 4, "the last hour: the old one left out")
	e := got.Exceptions[0]
	require.Equal(t, "cart", e.Service)
	require.Equal(t, timeout, e.Type)
	require.Equal(t, "span", e.Source)
	require.EqualValues(t, 3, e.Count)
	require.EqualValues(t, 2, e.Messages)
	require.Equal(t, at, e.FirstSeen)
	require.Equal(t, at.Add(5*time.Minute+2*time.Millisecond), e.LastSeen)
	// The latest occurrence: its message, stack trace and span.
	require.Equal(t, "Read timed out", e.Message)
	require.Equal(t, stack, e.Stacktrace)
	require.True(t, e.Escaped)
	require.Equal(t, "02000000000000000000000000000000", e.TraceID)
	require.Equal(t, "0201000000000000", e.SpanID)
	require.Equal(t, "GET /cart", e.SpanName)
	require.Equal(t, []exceptionVersion{{"v2", 2}, {"v1", 1}}, e.Versions, "by the spans' service.version, the most first")
	require.Len(t, e.Trend, exceptionBuckets)
	require.EqualValues(t, 1, e.Trend[15], "30 minutes ago")
	require.EqualValues(t, 2, e.Trend[17], "25 minutes ago")
	var sum uint64
	for _, n := range e.Trend {
		sum += n
	}
	require.Equal(t, e.Count, sum)
	// The same type logged: a group of its own, the latest record's body
	// its message where it has no exception.message.
	l := got.Exceptions[1]
	require.Equal(t, []string{"cart", timeout, "log"}, []string{l.Service, l.Type, l.Source})
	require.EqualValues(t, 2, l.Count)
	require.EqualValues(t, 2, l.Messages)
	require.Equal(t, "payment call failed", l.Message)
	require.Equal(t, stack, l.Stacktrace)
	require.Equal(t, "09000000000000000000000000000000", l.TraceID)
	require.Equal(t, at.Add(2*time.Minute), l.LastSeen)
	require.EqualValues(t, []uint64{1, 1}, l.Trend[15:17], "29 and 28 minutes ago, in 2-minute buckets from an hour ago")
	require.Equal(t, []exceptionVersion{{"2.1", 1}}, l.Versions, "by the records' resource service.version; one without")
	// web's two groups of one, one of them without a type: by count, then
	// service and type.
	require.Equal(t, []string{"", "TypeError"}, []string{got.Exceptions[2].Type, got.Exceptions[3].Type})
	require.Equal(t, "cart is undefined", got.Exceptions[3].Message)

	// Filters: the groups each answers, as service/type/source, and the
	// first group's count.
	for _, f := range []struct {
		query string
		want  []string
		count uint64
	}{
		{"service=web", []string{"web//span", "web/TypeError/span"}, 1},
		{"type=TypeError", []string{"web/TypeError/span"}, 1},
		// A version: the spans' of trace 1 (v1), the record's 2.1.
		{"version=v1", []string{"cart/" + timeout + "/span"}, 1},
		{"version=2.1", []string{"cart/" + timeout + "/log"}, 1},
		{"source=log", []string{"cart/" + timeout + "/log"}, 2},
		{"source=span&service=cart", []string{"cart/" + timeout + "/span"}, 3},
		{"q=payment+CALL", []string{"cart/" + timeout + "/log"}, 1},
		// Text in a stack trace as written, though the stored JSON
		// escapes its newline and tab.
		{"source=span&q=" + url.QueryEscape("SocketInputStream.<init>"), []string{"cart/" + timeout + "/span"}, 2},
		{"q=" + url.QueryEscape("read TIMED out\n\tat java.net"), []string{"cart/" + timeout + "/log", "cart/" + timeout + "/span"}, 2},
		{"q=CONNECT", []string{"cart/" + timeout + "/span"}, 1},
		{"from=now-4h&service=pay", []string{"pay/Boom/span"}, 1},
		// First seen within the range: cart's recorded timeouts were
		// first seen 30 minutes ago.
		{"from=now-27m", []string{"cart/" + timeout + "/span", "web//span", "web/TypeError/span"}, 2},
		{"from=now-27m&new=true", []string{"web//span", "web/TypeError/span"}, 1},
		{"new=true&source=log", []string{"cart/" + timeout + "/log"}, 2},
		{"limit=1", []string{"cart/" + timeout + "/span"}, 3},
	} {
		c.get("/api/v1/exceptions?"+f.query, &got)
		var groups []string
		for _, e := range got.Exceptions {
			groups = append(groups, e.Service+"/"+e.Type+"/"+e.Source)
		}
		require.Equal(t, f.want, groups, f.query)
		require.Equal(t, f.count, got.Exceptions[0].Count, f.query)
	}
	// Which are new: every group of the last hour, none of them seen
	// before it; over the last 27 minutes, cart's timeouts are not.
	var marks struct {
		Exceptions []exceptionJSON
		NewKnown   bool `json:"new_known"`
	}
	c.get("/api/v1/exceptions", &marks)
	require.True(t, marks.NewKnown)
	for _, e := range marks.Exceptions {
		require.True(t, e.New, "%s/%s/%s", e.Service, e.Type, e.Source)
		require.NotNil(t, e.EverSeen)
		require.Equal(t, e.FirstSeen, *e.EverSeen, "%s/%s/%s: all of its history in the range", e.Service, e.Type, e.Source)
	}
	c.get("/api/v1/exceptions?from=now-27m&service=cart", &marks)
	require.Len(t, marks.Exceptions, 1)
	require.False(t, marks.Exceptions[0].New)
	require.Equal(t, at, *marks.Exceptions[0].EverSeen)
	require.Equal(t, at.Add(5*time.Minute+time.Millisecond), marks.Exceptions[0].FirstSeen, "the first within the range")

	// The types first seen in a range, from the history alone, the newest
	// first: web's two (20 and 19 minutes ago) since 21 minutes ago, then
	// cart's (30 and 29 minutes ago) too over the hour; pay's Boom, three
	// hours ago, not.
	var fresh struct {
		Exceptions []newExceptionJSON
		NewKnown   bool `json:"new_known"`
	}
	groups := func() []string {
		var out []string
		for _, e := range fresh.Exceptions {
			out = append(out, e.Service+"/"+e.Type+"/"+e.Source)
		}
		return out
	}
	c.get("/api/v1/exceptions/new?from=now-21m", &fresh)
	require.True(t, fresh.NewKnown)
	require.Equal(t, []string{"web//span", "web/TypeError/span"}, groups())
	require.Equal(t, "shop", fresh.Exceptions[0].Namespace)
	require.Equal(t, at.Add(11*time.Minute), fresh.Exceptions[0].FirstSeen)
	c.get("/api/v1/exceptions/new", &fresh)
	require.Equal(t, []string{"web//span", "web/TypeError/span", "cart/" + timeout + "/log", "cart/" + timeout + "/span"}, groups())
	last := fresh.Exceptions[3]
	require.EqualValues(t, 3, last.Count)
	require.Equal(t, at, last.FirstSeen)
	require.Equal(t, at.Add(5*time.Minute+2*time.Millisecond), last.LastSeen)
	c.get("/api/v1/exceptions/new?service=cart&limit=1", &fresh)
	require.Equal(t, []string{"cart/" + timeout + "/log"}, groups())
	c.get("/api/v1/exceptions/new?namespace=elsewhere", &fresh)
	require.Empty(t, fresh.Exceptions)

	// A group's latest occurrences, the newest first, each with its own
	// message, version and span.
	var occ struct{ Occurrences []exceptionOccurrence }
	c.get("/api/v1/exceptions/occurrences?service=cart&namespace=shop&source=span&type="+url.QueryEscape(timeout), &occ)
	require.Len(t, occ.Occurrences, 3)
	var seen []string
	for _, o := range occ.Occurrences {
		seen = append(seen, fmt.Sprintf("%s %s %s %v %s", o.Time.Sub(at), o.Message, o.Version, o.Escaped, o.TraceID[:2]))
	}
	require.Equal(t, []string{"5m0.002s Read timed out v2 true 02", "5m0.001s Connect timed out v2 false 02", "0s Read timed out v1 false 01"}, seen)
	require.Equal(t, "0201000000000000", occ.Occurrences[0].SpanID)
	require.Equal(t, "GET /cart", occ.Occurrences[0].SpanName)
	c.get("/api/v1/exceptions/occurrences?service=cart&source=log&type="+url.QueryEscape(timeout)+"&limit=1", &occ)
	require.Len(t, occ.Occurrences, 1, "the limit")
	require.Equal(t, "payment call failed", occ.Occurrences[0].Message, "a record's body where it has no exception.message")
	require.Equal(t, at.Add(2*time.Minute), occ.Occurrences[0].Time)
	c.get("/api/v1/exceptions/occurrences?service=web&source=span&type=", &occ)
	require.Len(t, occ.Occurrences, 1, "the group without a type")
	require.Equal(t, "no type", occ.Occurrences[0].Message)
	c.get("/api/v1/exceptions/occurrences?service=cart&namespace=elsewhere&source=span&type="+url.QueryEscape(timeout), &occ)
	require.Empty(t, occ.Occurrences)
	c.fail("/api/v1/exceptions/occurrences?source=span&type=x", http.StatusBadRequest, "service")
	c.fail("/api/v1/exceptions/occurrences?service=cart&type=x", http.StatusBadRequest, "source")
	c.fail("/api/v1/exceptions/occurrences?service=cart&source=span", http.StatusBadRequest, "type")

	c.get("/api/v1/exceptions?q=CONNECT", &got)
	require.Equal(t, "Connect timed out", got.Exceptions[0].Message, "the message of the latest that matched")
	c.get("/api/v1/exceptions?service=nobody", &got)
	require.NotNil(t, got.Exceptions)
	require.Empty(t, got.Exceptions)
	c.fail("/api/v1/exceptions?limit=x", http.StatusBadRequest, "limit")
	c.fail("/api/v1/exceptions?source=metrics", http.StatusBadRequest, "source")
	c.fail("/api/v1/exceptions?from=later", http.StatusBadRequest, "from")
}

// Services of one name in two namespaces are two groups, each new or not
// by its own history: staging's cart raising shop's cart's old exception
// for the first time is new.
func TestExceptionsByNamespace(t *testing.T) {
	st, _ := chtest.Store(t, "meshscope")
	now := testNow // the API's clock
	require.NoError(t, st.Write(context.Background(), &schema.Batch{Spans: []schema.SpanRow{
		chtest.ExceptionSpan(now.Add(-50*time.Minute), "shop", "cart", timeoutType),
		chtest.ExceptionSpan(now.Add(-10*time.Minute), "shop", "cart", timeoutType),
		chtest.ExceptionSpan(now.Add(-5*time.Minute), "staging", "cart", timeoutType),
	}}))
	c := newTestAPI(t, Config{}, Deps{Store: st}).client.with(t)
	var got struct{ Exceptions []exceptionJSON }
	groups := func() []string {
		var out []string
		for _, e := range got.Exceptions {
			out = append(out, fmt.Sprintf("%s/%s/%d/%v", e.Namespace, e.Service, e.Count, e.New))
		}
		return out
	}
	c.get("/api/v1/exceptions?from=now-30m", &got)
	require.Equal(t, []string{"shop/cart/1/false", "staging/cart/1/true"}, groups())
	c.get("/api/v1/exceptions?from=now-30m&new=true", &got)
	require.Equal(t, []string{"staging/cart/1/true"}, groups())
	c.get("/api/v1/exceptions?namespace=shop", &got)
	require.Equal(t, []string{"shop/cart/2/true"}, groups())
}

// A group's latest exception recorded long after its span started (the
// exceptions table is stamped by the span's start) still comes with its
// stack trace.
func TestExceptionStackOfALongSpan(t *testing.T) {
	st, _ := chtest.Store(t, "meshscope")
	start := testNow.Add(-20 * time.Minute)
	stack := "java.lang.IllegalStateException: late\n\tat com.example.Batch.run(Batch.java:7)"
	span := schema.SpanRow{StartUnixNano: ns(start), DurationNanos: uint64(2 * time.Minute), TraceID: schema.TraceID{7}, SpanID: schema.SpanID{7, 1},
		Name: "run batch", Kind: schema.SpanKindInternal, StatusCode: schema.StatusError, ServiceName: "batch", ServiceNamespace: "shop", GRPCStatusCode: -1,
		EventTimes: []uint64{ns(start.Add(90 * time.Second))}, EventNames: []string{"exception"},
		EventAttrs: []string{exceptionAttrs("java.lang.IllegalStateException", "late", stack, true)}}
	require.NoError(t, st.Write(context.Background(), &schema.Batch{Spans: []schema.SpanRow{span}}))
	c := newTestAPI(t, Config{}, Deps{Store: st}).client.with(t)
	var got struct{ Exceptions []exceptionJSON }
	c.get("/api/v1/exceptions", &got)
	require.Len(t, got.Exceptions, 1)
	e := got.Exceptions[0]
	require.Equal(t, start.Add(90*time.Second), e.LastSeen)
	require.Equal(t, stack, e.Stacktrace)
	require.True(t, e.Escaped)
}
