package uitest

// The fake server's telemetry answers: trace search, operations, traces,
// log records and access log entries.

import (
	"cmp"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/meshscope/meshscope/graph"
	"github.com/meshscope/meshscope/query"
)

// HeldTraceID is the trace whose answer HoldTrace holds back.
const HeldTraceID = "eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee"

// HoldTrace makes GET /api/v1/traces/HeldTraceID wait for release, which
// lets the answer go (it arrives after whatever the test did meanwhile).
func (f *FakeServer) HoldTrace() (release func()) {
	ch := make(chan struct{})
	f.mu.Lock()
	f.heldTrace = ch
	f.mu.Unlock()
	return sync.OnceFunc(func() { close(ch) })
}

func (f *FakeServer) traces(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.traceSearch = r.URL.Query()
	f.mu.Unlock()
	now := time.Now().UnixNano()
	out := []map[string]any{}
	for _, t := range []map[string]any{
		{"trace_id": "4bf92f3577b34da6a3ce929d0e0e4736", "root_service": "web", "root_name": "GET /checkout", "start_unix_nano": now - 5e9, "duration_ns": 230e6, "spans": 4, "errors": 1},
		{"trace_id": "00f067aa0ba902b7a3ce929d0e0e4736", "root_service": "web", "root_name": "GET /cart", "start_unix_nano": now - 9e9, "duration_ns": 12e6, "spans": 2, "errors": 0},
	} {
		// The fake's traces have one operation each, their root's.
		if op := r.URL.Query().Get("operation"); op == "" || op == t["root_name"] {
			out = append(out, t)
		}
	}
	writeJSON(w, map[string]any{"traces": out})
}

// traceOperations answers the operations of web (any kind, for the trace
// search) and the calls cart serves (kind=server,consumer, for its panel).
func (f *FakeServer) traceOperations(w http.ResponseWriter, r *http.Request) {
	op := func(name string, spans int, errors int, p50, p99 float64) map[string]any {
		return map[string]any{"name": name, "spans": spans, "rps": float64(spans) / 3600, "errors": errors, "error_rate": float64(errors) / float64(spans),
			"p50_ns": p50 * 1e6, "p95_ns": (p50 + p99) / 2 * 1e6, "p99_ns": p99 * 1e6}
	}
	q := r.URL.Query()
	ops := []map[string]any{}
	switch {
	case q.Get("service") == "web":
		ops = append(ops, op("GET /checkout", 12, 0, 40, 90), op("GET /cart", 7, 0, 10, 30))
	case q.Get("service") == "cart" && q.Get("namespace") == "shop" && q.Get("kind") == "server,consumer":
		ops = append(ops, op("GET /cart", 36000, 72, 4.2, 48), op("POST /cart/items", 7200, 360, 12, 230))
	case q.Get("kind") == "server,consumer":
		svc := q.Get("service")
		ops = append(ops, op("POST /"+svc, 18000, 90, 8, 120), op("GET /"+svc+"/{id}", 9000, 9, 3.1, 41), op("GET /healthz", 720, 0, 0.4, 1.2))
	}
	writeJSON(w, map[string]any{"operations": ops})
}

// instances answers cart's four pods, one of its v1's three failing and
// slow, and its canary v2's one pod, and
// payments' one instance (its panel lists none); others have none.
func (f *FakeServer) instances(w http.ResponseWriter, r *http.Request) {
	pod := func(name, version string, requests, errors int, p50, p99 float64, outlier []string, why []string) map[string]any {
		return map[string]any{"instance": name, "key": "k8s.pod.name", "version": version, "workload": "cart-" + version,
			"requests": requests, "errors": errors, "rps": float64(requests) / 3600, "error_rate": float64(errors) / float64(requests),
			"p50_ms": p50, "p99_ms": p99, "share": float64(requests) / 36000, "outlier": outlier, "why": why}
	}
	list := []map[string]any{}
	switch r.PathValue("ns") + "/" + r.PathValue("name") {
	case "shop/cart":
		list = append(list,
			pod("cart-7d9f-c", "v1", 12000, 3600, 18, 240, []string{"errors", "latency"},
				[]string{"fails 30.0% of its requests, the other 2 instances 0.3%", "median 18 ms, 4.2 times the other instances' 4.30 ms"}),
			pod("cart-7d9f-a", "v1", 12100, 40, 4.2, 48, []string{}, nil),
			pod("cart-7d9f-b", "v1", 11900, 32, 4.4, 47, []string{}, nil),
			pod("cart-9f1a-d", "v2", 2000, 4, 4.1, 45, []string{}, nil))
	case "pay/payments":
		list = append(list, pod("payments-0", "v1", 100, 1, 3, 9, []string{}, nil))
	}
	writeJSON(w, map[string]any{"source": "spans", "instances": list})
}

// ChangedFrom and ChangedTo are the range before the one asked in the
// fake's answers of what changed.
const (
	ChangedFrom = "2026-11-27T09:00:00Z"
	ChangedTo   = "2026-11-27T09:30:00Z"
)

// spanDifferences answers what cart's failing calls share (its pod c,
// their status code), what its slow ones share (a route) and what changed
// in its calls since the range before (v2 came, v1's share fell); other
// services have no calls to compare. select=all wants baseline=previous,
// as the API does.
func (f *FakeServer) spanDifferences(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	diff := func(key, value string, sel, base uint64, selN, baseN uint64) map[string]any {
		ss, bs := float64(sel)/float64(selN), float64(base)/float64(baseN)
		return map[string]any{"key": key, "value": value, "selected": sel, "baseline": base, "selected_share": ss, "baseline_share": bs, "difference": ss - bs}
	}
	out := map[string]any{"select": q.Get("select"), "baseline": "rest", "selected_total": 0, "baseline_total": 0, "selected_sample": 0, "baseline_sample": 0, "differences": []any{}}
	if q.Get("baseline") == "previous" {
		out["baseline"], out["baseline_from"], out["baseline_to"], out["shrunk"] = "previous", ChangedFrom, ChangedTo, []any{}
	} else if q.Get("select") == "all" {
		writeErr(w, http.StatusBadRequest, "select all would leave no other calls to compare with: give baseline=previous", "select")
		return
	}
	if q.Get("service") == "cart" {
		switch q.Get("select") {
		case "all":
			out["selected_total"], out["baseline_total"], out["selected_sample"], out["baseline_sample"] = 4000, 3000, 4000, 3000
			out["differences"] = []any{diff("service.version", "v2", 1000, 0, 4000, 3000), diff("k8s.pod.name", "cart-9f1a-d", 1000, 0, 4000, 3000)}
			out["shrunk"] = []any{diff("service.version", "v1", 3000, 3000, 4000, 3000), diff("http.route", "/cart/legacy", 0, 600, 4000, 3000)}
		case "errors":
			out["selected_total"], out["baseline_total"], out["selected_sample"], out["baseline_sample"] = 320, 120_000, 320, 50_000
			out["differences"] = []any{
				diff("http.response.status_code", "503", 320, 0, 320, 50_000),
				diff("k8s.pod.name", "cart-7d9f-c", 300, 16_500, 320, 50_000),
				diff("span.name", "POST /cart/items", 200, 9_000, 320, 50_000),
			}
		case "slow":
			out["slow_ns"], out["selected_total"], out["baseline_total"], out["selected_sample"], out["baseline_sample"] = 80e6, 60, 240, 60, 240
			out["differences"] = []any{diff("http.route", "/cart/checkout", 60, 0, 60, 240)}
		}
	}
	writeJSON(w, out)
}

// requestDifferences answers what the failing requests to web share: the
// upstream host that refuses them, their flags; anything else has none.
func (f *FakeServer) requestDifferences(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	out := map[string]any{"select": q.Get("select"), "selected_total": 0, "baseline_total": 0, "selected_sample": 0, "baseline_sample": 0, "differences": []any{}}
	if q.Get("destination") == "service:shop/web" && q.Get("select") == "errors" {
		d := func(key, value string, ss, bs float64) map[string]any {
			return map[string]any{"key": key, "value": value, "selected": int(ss * 40), "baseline": int(bs * 960), "selected_share": ss, "baseline_share": bs, "difference": ss - bs}
		}
		out["selected_total"], out["baseline_total"], out["selected_sample"], out["baseline_sample"] = 40, 960, 40, 960
		out["differences"] = []any{d("upstream_host", "10.0.0.4:8080", 1, 0.3), d("response_flags", "UF", 0.9, 0), d("user_agent", "curl/8.5", 0.5, 0.1)}
	}
	writeJSON(w, out)
}

// logDifferences answers what the error records of a search share: a pod
// (a resource attribute), a tenant (a record attribute) and the service;
// it refuses a severity unless the records are compared with the range
// before, as the API does.
func (f *FakeServer) logDifferences(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	previous := q.Get("baseline") == "previous"
	if q.Get("severity") != "" && !previous {
		writeErr(w, http.StatusBadRequest, "severity would leave one side empty", "severity")
		return
	}
	d := func(key, value string, ss, bs float64) map[string]any {
		return map[string]any{"key": key, "value": value, "selected": int(ss * 21), "baseline": int(bs * 279), "selected_share": ss, "baseline_share": bs, "difference": ss - bs}
	}
	out := map[string]any{"select": cmp.Or(q.Get("select"), "errors"), "baseline": "rest", "selected_total": 21, "baseline_total": 279, "selected_sample": 21, "baseline_sample": 279,
		"differences": []any{d("k8s.pod.name", "cart-7d9f-c", 0.95, 0.3), d("tenant", "acme", 0.9, 0.5), d("service.name", "cart", 1, 0.74)}}
	if previous {
		out["baseline"], out["baseline_from"], out["baseline_to"], out["shrunk"] = "previous", ChangedFrom, ChangedTo, []any{}
	}
	writeJSON(w, out)
}

// MalformedTraceID is the trace the fake answers with spans that break the
// tree (an id used twice, a span its own parent), as buggy SDKs send.
const MalformedTraceID = "dddddddddddddddddddddddddddddddd"

// RetriedTraceID is the fake's usual trace with the charge made twice and
// no order stored, for comparing with it.
const RetriedTraceID = "abababababababababababababababab"

// ParallelTraceID is the trace the fake answers with two calls made side
// by side, one of them with a call of its own.
const ParallelTraceID = "cccccccccccccccccccccccccccccccc"

// BigTraceID is a trace of BigTraceSpans spans: a root whose spans each
// call up to four others, the first two side by side, the others one after
// the other, as deep as that makes it.
const (
	BigTraceID    = "b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1"
	BigTraceSpans = 10000
)

// bigTrace returns the spans of BigTraceID, starting at start.
func bigTrace(start int64) []map[string]any {
	type sp struct {
		parent     int
		start, dur int64
	}
	spans := []sp{{parent: -1, start: 0, dur: 1e9}}
	for i := 0; len(spans) < BigTraceSpans; i++ {
		p := spans[i]
		slot := p.dur / 4
		for k := range int64(4) {
			if len(spans) == BigTraceSpans {
				break
			}
			off := k * slot
			if k == 1 {
				off = 0 // side by side with the first
			}
			spans = append(spans, sp{parent: i, start: p.start + off + slot/10, dur: slot * 8 / 10})
		}
	}
	out := make([]map[string]any, len(spans))
	for i, s := range spans {
		parent := ""
		if s.parent >= 0 {
			parent = fmt.Sprintf("%016x", s.parent+1)
		}
		svc := fmt.Sprintf("svc%02d", i%23)
		out[i] = map[string]any{"trace_id": BigTraceID, "span_id": fmt.Sprintf("%016x", i+1), "parent_span_id": parent, "name": "GET /item", "kind": "server",
			"service": svc, "start_unix_nano": start + s.start, "duration_ns": s.dur, "status_code": "ok", "status_message": "",
			"attributes": map[string]any{"http.method": "GET"}, "resource": map[string]any{"service.name": svc}}
	}
	return out
}

func (f *FakeServer) trace(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	f.mu.Lock()
	held := f.heldTrace
	f.mu.Unlock()
	if id == HeldTraceID && held != nil {
		select {
		case <-held:
		case <-r.Context().Done():
			return
		}
	}
	start := time.Now().Add(-5 * time.Second).UnixNano()
	span := func(sid, parent, svc, name string, off, dur int64, status string) map[string]any {
		return map[string]any{"trace_id": id, "span_id": sid, "parent_span_id": parent, "name": name, "kind": "server", "service": svc,
			"start_unix_nano": start + off, "duration_ns": dur, "status_code": status, "status_message": "", "attributes": map[string]any{"http.method": "GET"}, "resource": map[string]any{"service.name": svc}}
	}
	special := map[string][]map[string]any{
		ParallelTraceID: {
			span("r", "", "web", "GET /", 0, 100e6, "ok"),
			span("x", "r", "cart", "GET /cart", 10e6, 50e6, "ok"),
			span("y", "r", "search", "GET /search", 20e6, 70e6, "ok"),
			span("z", "x", "cart-db", "SELECT", 30e6, 10e6, "ok"),
		},
		// A span id used twice, once by a span whose parent is itself.
		MalformedTraceID: {
			span("a1", "", "web", "GET /", 0, 10e6, "ok"),
			span("a1", "a1", "web", "GET / again", 1e6, 5e6, "ok"),
			span("b2", "a1", "cart", "GET /cart", 2e6, 3e6, "ok"),
		},
		RetriedTraceID: {
			span("a1", "", "web", "GET /checkout", 0, 230e6, "ok"),
			span("b2", "a1", "checkout", "POST /orders", 10e6, 200e6, "ok"),
			span("c3", "b2", "payments", "Charge", 20e6, 80e6, "error"),
			span("c4", "b2", "payments", "Charge", 105e6, 100e6, "ok"),
		},
	}
	if id == BigTraceID {
		writeJSON(w, map[string]any{"trace_id": id, "spans": bigTrace(start)})
		return
	}
	if spans, ok := special[id]; ok {
		writeJSON(w, map[string]any{"trace_id": id, "spans": spans})
		return
	}
	charge := span("c3", "b2", "payments", "Charge", 30e6, 170e6, "error")
	charge["events"] = []map[string]any{
		{"time_unix_nano": start + 195e6, "name": "retry", "attributes": map[string]any{"attempt": 2}},
		{"time_unix_nano": start + 199e6, "name": "exception", "attributes": map[string]any{"exception.type": "java.lang.IllegalStateException",
			"exception.message": "card declined", "exception.stacktrace": "java.lang.IllegalStateException: card declined\n\tat com.example.payments.Charge.run(Charge.java:42)"}},
	}
	writeJSON(w, map[string]any{"trace_id": id, "spans": []map[string]any{
		span("a1", "", "web", "GET /checkout", 0, 230e6, "ok"),
		span("b2", "a1", "checkout", "POST /orders", 10e6, 200e6, "ok"),
		charge,
		span("d4", "b2", "orders-db", "INSERT orders", 205e6, 4e6, "ok"),
	}})
}

// logs answers matchingLogs, counting the searches.
func (f *FakeServer) logs(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.logSearches++
	f.mu.Unlock()
	writeJSON(w, map[string]any{"logs": matchingLogs(r, f.logsAt)})
}

// logVolume counts the records logs answers by level, in the last of 60
// one-minute buckets (they are seconds old), as the API counts them.
func (f *FakeServer) logVolume(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.logVolumes++
	f.mu.Unlock()
	levels := map[string][]int{}
	for _, l := range matchingLogs(r, f.logsAt) {
		name := strings.ToLower(l["severity_text"].(string))
		if levels[name] == nil {
			levels[name] = make([]int, 60)
		}
		levels[name][59]++
	}
	writeJSON(w, map[string]any{"bucket_seconds": 60, "levels": levels})
}

// logPatterns groups the records logs answers by pattern, as the API
// does (query.LogPattern), the most records first.
func (f *FakeServer) logPatterns(w http.ResponseWriter, r *http.Request) {
	recs := matchingLogs(r, f.logsAt)
	byPattern := map[string]map[string]any{}
	var order []string
	for _, l := range recs {
		p := query.LogPattern(l["body"].(string))
		g := byPattern[p]
		if g == nil {
			trend := make([]int, 30)
			g = map[string]any{"pattern": p, "count": 0, "services": []string{"shop/" + l["service"].(string)}, "severity_number": l["severity_number"],
				"severity_text": l["severity_text"], "sample": l["body"], "first_seen": l["timestamp"], "last_seen": l["timestamp"], "trend": trend}
			byPattern[p] = g
			order = append(order, p)
		}
		g["count"] = g["count"].(int) + 1
		g["trend"].([]int)[29]++
	}
	out := []map[string]any{}
	for _, p := range order {
		out = append(out, byPattern[p])
	}
	slices.SortStableFunc(out, func(a, b map[string]any) int { return cmp.Compare(b["count"].(int), a["count"].(int)) })
	writeJSON(w, map[string]any{"bucket_seconds": 120, "records": len(recs), "sample": 1, "patterns": out})
}

// matchingLogs are the fake's three records, two of them of its trace,
// filtered by trace_id, span_id, service, minimum severity (a level name),
// body text and resource attributes, as the API filters them.
func matchingLogs(r *http.Request, now time.Time) []map[string]any {
	rec := func(ago time.Duration, svc string, sev int, text, body, trace, span string) map[string]any {
		t := now.Add(-ago)
		return map[string]any{"timestamp": t.Truncate(time.Second).Format(time.RFC3339), "time_unix_nano": t.UnixNano(), "service": svc, "namespace": "shop",
			"severity_number": sev, "severity_text": text, "body": body, "trace_id": trace, "span_id": span, "scope": "app", "event_name": "",
			"attributes": map[string]string{"code.function": "handle", "order.id": "42"}, "resource": map[string]string{"service.name": svc}}
	}
	all := []map[string]any{
		// Inside their spans of the fake's trace (which starts 5 s ago).
		rec(5*time.Second-150*time.Millisecond, "payments", 17, "ERROR", "charge failed: card declined", "4bf92f3577b34da6a3ce929d0e0e4736", "c3"),
		rec(5*time.Second-20*time.Millisecond, "checkout", 9, "INFO", "placing order 42", "4bf92f3577b34da6a3ce929d0e0e4736", "b2"),
		rec(6*time.Second, "cart", 13, "WARN", "cart cache slow", "", ""),
	}
	// The cart record's body has fields (as a JSON or logfmt body would).
	all[2]["fields"] = map[string]string{"cache": "redis", "took": "1.2s"}
	q := r.URL.Query()
	// Payments' records around its error, which only a search naming its
	// direction (a record's context) sees, so that the other searches keep
	// their three records.
	if q.Has("direction") {
		for i := 1; i <= 12; i++ {
			all = append(all, rec(5*time.Second-150*time.Millisecond+time.Duration(i)*100*time.Millisecond, "payments", 9, "INFO", fmt.Sprintf("before %02d", i), "", ""),
				rec(5*time.Second-150*time.Millisecond-time.Duration(i)*100*time.Millisecond, "payments", 9, "INFO", fmt.Sprintf("after %02d", i), "", ""))
		}
		// Another pod of payments logs in between.
		for i := 1; i <= 3; i++ {
			other := rec(5*time.Second-150*time.Millisecond+time.Duration(i)*100*time.Millisecond-50*time.Millisecond, "payments", 9, "INFO", fmt.Sprintf("other pod %02d", i), "", "")
			other["resource"] = map[string]string{"service.name": "payments", "k8s.pod.name": "payments-5d2b"}
			all = append(all, other)
		}
	}
	// Payments' records (but the other pod's) name their pod.
	for _, l := range all {
		if res := l["resource"].(map[string]string); l["service"] == "payments" && res["k8s.pod.name"] == "" {
			res["k8s.pod.name"] = "payments-7f9c"
		}
	}
	minSev := map[string]int{"": 0, "debug": 5, "info": 9, "warn": 13, "error": 17, "fatal": 21}[q.Get("severity")]
	out := []map[string]any{}
	for _, l := range all {
		if (q.Get("trace_id") == "" || q.Get("trace_id") == l["trace_id"]) && (q.Get("span_id") == "" || q.Get("span_id") == l["span_id"]) &&
			(q.Get("service") == "" || q.Get("service") == l["service"]) && l["severity_number"].(int) >= minSev &&
			strings.Contains(strings.ToLower(l["body"].(string)), strings.ToLower(q.Get("q"))) && hasResource(l, q["resource"]) &&
			(q.Get("pattern") == "" || q.Get("pattern") == query.LogPattern(l["body"].(string))) && hasFields(l, q.Get("fields")) {
			out = append(out, l)
		}
	}
	// Newest first, or oldest first forward, as many as the limit.
	slices.SortFunc(out, func(a, b map[string]any) int {
		c := cmp.Compare(b["time_unix_nano"].(int64), a["time_unix_nano"].(int64))
		if q.Get("direction") == "forward" {
			c = -c
		}
		return c
	})
	if n, err := strconv.Atoi(q.Get("limit")); err == nil && n < len(out) {
		out = out[:n]
	}
	return out
}

// hasResource reports whether a record has every resource attribute of
// the key:value pairs asked.
func hasResource(l map[string]any, pairs []string) bool {
	res := l["resource"].(map[string]string)
	for _, p := range pairs {
		k, v, _ := strings.Cut(p, ":")
		if got, ok := res[k]; !ok || got != v {
			return false
		}
	}
	return true
}

// TraceSearch is the parameters of the last trace search (nil before one).
func (f *FakeServer) TraceSearch() url.Values {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.traceSearch
}

// hasVersion reports whether an exception group of the fake has a version.
func hasVersion(e map[string]any, v string) bool {
	for _, x := range e["versions"].([]map[string]any) {
		if x["version"] == v {
			return true
		}
	}
	return false
}

// LogVolumes is how many log volume searches the fake has answered.
func (f *FakeServer) LogVolumes() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.logVolumes
}

// LogSearches is how many log searches the fake has answered.
func (f *FakeServer) LogSearches() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.logSearches
}

// exceptions answers two groups, one of them in the fake's trace, the
// other new, filtered by service, source, text and newness as the API
// filters them.
func (f *FakeServer) exceptions(w http.ResponseWriter, r *http.Request) {
	now := time.Now().UTC()
	group := func(ns, svc, typ, msg, stack, trace string, count int, trend []int) map[string]any {
		return map[string]any{"service": svc, "namespace": ns, "type": typ, "source": "span", "count": count, "messages": 1,
			"first_seen": now.Add(-50 * time.Minute).Format(time.RFC3339Nano), "last_seen": now.Add(-5 * time.Second).Format(time.RFC3339Nano),
			"message": msg, "stacktrace": stack, "escaped": true, "trace_id": trace, "span_id": "c3", "span_name": "POST /charge", "trend": trend,
			"new": false, "first_seen_ever": now.Add(-72 * time.Hour).Format(time.RFC3339Nano),
			"versions": []map[string]any{{"version": "v2", "count": count - 1}, {"version": "v1", "count": 1}}}
	}
	trend := make([]int, 30)
	trend[29] = 7
	trend[10] = 2
	all := []map[string]any{
		group("pay", "payments", "java.lang.IllegalStateException", "card declined",
			"java.lang.IllegalStateException: card declined\n\tat com.example.payments.Charge.run(Charge.java:42)", "4bf92f3577b34da6a3ce929d0e0e4736", 9, trend),
		group("shop", "cart", "TypeError", "Cannot read properties of undefined (reading 'id')", "", "", 1, make([]int, 30)),
	}
	all[1]["source"] = "log"
	all[1]["new"], all[1]["first_seen_ever"] = true, all[1]["first_seen"]
	all[1]["versions"] = []map[string]any{}
	q := r.URL.Query()
	out := []map[string]any{}
	for _, e := range all {
		if (q.Get("service") == "" || q.Get("service") == e["service"]) && (q.Get("namespace") == "" || q.Get("namespace") == e["namespace"]) &&
			(q.Get("source") == "" || q.Get("source") == e["source"]) &&
			strings.Contains(strings.ToLower(e["type"].(string)+" "+e["message"].(string)), strings.ToLower(q.Get("q"))) &&
			(q.Get("new") != "true" || e["new"] == true) && (q.Get("version") == "" || hasVersion(e, q.Get("version"))) {
			out = append(out, e)
		}
	}
	writeJSON(w, map[string]any{"exceptions": out, "bucket_seconds": 120, "new_known": true})
}

// newExceptions answers the exception group the fake's list marks new.
func (f *FakeServer) newExceptions(w http.ResponseWriter, r *http.Request) {
	at := time.Now().UTC().Add(-50 * time.Minute)
	writeJSON(w, map[string]any{"new_known": true, "exceptions": []map[string]any{{"service": "cart", "namespace": "shop", "type": "TypeError",
		"source": "log", "first_seen": at.Format(time.RFC3339Nano), "last_seen": at.Format(time.RFC3339Nano), "count": 1}}})
}

func (f *FakeServer) requests(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, map[string]any{"requests": matchingRequests(r)})
}

// requestVolume counts the entries requests answers by outcome (failed,
// else the code's class), in the last of 60 one-minute buckets.
func (f *FakeServer) requestVolume(w http.ResponseWriter, r *http.Request) {
	outcomes := map[string][]int{}
	for _, e := range matchingRequests(r) {
		name := fmt.Sprintf("%dxx", e["response_code"].(int)/100)
		if e["failed"] == 1 {
			name = "failed"
		}
		if outcomes[name] == nil {
			outcomes[name] = make([]int, 60)
		}
		outcomes[name][59]++
	}
	writeJSON(w, map[string]any{"bucket_seconds": 60, "outcomes": outcomes})
}

// matchingRequests are the fake's three access log entries, filtered by
// failure as the API filters them.
func matchingRequests(r *http.Request) []map[string]any {
	now := time.Now().UTC()
	// Rows as the requests table holds them (a subset of its columns).
	row := func(ago time.Duration, reporter, src, dst, method, authority, path string, code, grpc int, flags string, dur int64, in, out int, mtls int, trace string) map[string]any {
		t := now.Add(-ago)
		return map[string]any{"timestamp": t.Format(time.RFC3339), "start_time_unix_nano": t.UnixNano(), "duration_ns": dur,
			"reporter": reporter, "source": src, "destination": dst, "protocol": "http", "method": method, "authority": authority, "path": path,
			"response_code": code, "grpc_status": grpc, "response_flags": flags, "bytes_received": in, "bytes_sent": out, "mtls": mtls, "trace_id": trace}
	}
	rows := []map[string]any{
		row(2*time.Second, "destination", "service:shop/web", "service:shop/cart", "GET", "cart:8080", "/cart", 200, -1, "-", 4_200_000, 0, 1830, 2, "00000000000000000000000000000000"),
		row(3*time.Second, "source", "service:shop/checkout", "service:pay/payments", "POST", "payments.pay:8080", "/charge", 503, -1, "UH", 180_500_000, 412, 19, 0, "4bf92f3577b34da6a3ce929d0e0e4736"),
		// DC (the caller closed its connection) is no failure by the rule.
		row(4*time.Second, "destination", "service:shop/web", "service:shop/cart", "GET", "cart:8080", "/cart", 200, -1, "DC", 9_000_000, 0, 0, 1, "00000000000000000000000000000000"),
	}
	// The server's "failed" (graph.IsError), as the API adds it.
	for _, e := range rows {
		st := graph.Status{HTTPCode: e["response_code"].(int), HTTPKnown: true, GRPCCode: e["grpc_status"].(int), EnvoyFlags: e["response_flags"].(string)}
		e["failed"] = 0
		if graph.IsError(st) {
			e["failed"] = 1
		}
	}
	if want := r.URL.Query().Get("failed"); want != "" {
		var kept []map[string]any
		for _, row := range rows {
			if (row["failed"] == 1) == (want == "true") {
				kept = append(kept, row)
			}
		}
		rows = kept
	}
	return rows
}

// metrics lists two metrics, filtered by q and service as the API does.
func (f *FakeServer) metrics(w http.ResponseWriter, r *http.Request) {
	all := []map[string]any{
		{"name": "istio_requests_total", "type": "sum", "unit": "", "description": "Total requests.", "temporality": "cumulative", "monotonic": true, "series": 3, "sources": []string{"remote_write"}, "service": "istio-mesh"},
		{"name": "process_resident_memory_bytes", "type": "gauge", "unit": "By", "description": "Resident memory.", "temporality": "", "monotonic": false, "series": 1, "sources": []string{"otlp"}, "service": "payments"},
	}
	out := []map[string]any{}
	for _, m := range all {
		if svc := r.URL.Query().Get("service"); svc != "" && m["service"] != svc {
			continue
		}
		if strings.Contains(m["name"].(string), strings.ToLower(r.URL.Query().Get("q"))) {
			out = append(out, m)
		}
	}
	writeJSON(w, map[string]any{"metrics": out})
}

// metricQuery answers istio_requests_total as three series at constant
// rates (cart 5/s and pay 3/s answering 200, web 1/s answering 503) over
// the last ten minutes, filtered by match and combined by group_by and agg
// as the API does (a quantile asked only renames the values).
func (f *FakeServer) metricQuery(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("name") != "istio_requests_total" {
		writeErr(w, http.StatusNotFound, fmt.Sprintf("no series of metric %q match", q.Get("name")), "name")
		return
	}
	type series struct {
		labels map[string]string
		rate   float64
	}
	all := []series{
		{map[string]string{"destination_service": "cart", "response_code": "200"}, 5},
		{map[string]string{"destination_service": "pay", "response_code": "200"}, 3},
		{map[string]string{"destination_service": "web", "response_code": "503"}, 1},
	}
	var kept []series
outer:
	for _, s := range all {
		for _, m := range q["match"] {
			k, v, _ := strings.Cut(m, "=")
			if s.labels[k] != v {
				continue outer
			}
		}
		kept = append(kept, s)
	}
	type line struct {
		labels map[string]string
		values []float64
	}
	var (
		lines []*line
		byKey = map[string]*line{}
	)
	for _, s := range kept {
		labels, key := s.labels, fmt.Sprint(s.labels)
		if g := q.Get("group_by"); g != "" {
			labels = map[string]string{}
			for k := range strings.SplitSeq(g, ",") {
				labels[k] = s.labels[k]
			}
			key = fmt.Sprint(labels)
		}
		l := byKey[key]
		if l == nil {
			l = &line{labels: labels}
			byKey[key] = l
			lines = append(lines, l)
		}
		l.values = append(l.values, s.rate)
	}
	now := time.Now().Unix() / 60 * 60
	out := []map[string]any{}
	for _, l := range lines {
		v := 0.0
		for _, x := range l.values {
			v += x
		}
		if q.Get("agg") == "avg" {
			v /= float64(len(l.values))
		}
		var points [][2]float64
		for i := range 10 {
			points = append(points, [2]float64{float64(now - int64(10-i)*60), v})
		}
		out = append(out, map[string]any{"labels": l.labels, "points": points})
	}
	value, quantile := "per_second", 0.0
	if v := q.Get("quantile"); v != "" {
		value = "quantile"
		quantile, _ = strconv.ParseFloat(v, 64)
	}
	writeJSON(w, map[string]any{"name": "istio_requests_total", "type": "sum", "unit": "", "description": "Total requests.",
		"value": value, "quantile": quantile, "step_seconds": 60, "label_keys": []string{"destination_service", "response_code"},
		"lines_total": len(out), "series_read": len(kept), "series_truncated": false, "series": out})
}

// exceptionOccurrences answers payments' IllegalStateException group (of
// exceptions) with its two latest, one per version, when the query names
// that group and a range; none otherwise.
func (f *FakeServer) exceptionOccurrences(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	out := []map[string]any{}
	if q.Get("service") == "payments" && q.Get("namespace") == "pay" && q.Get("source") == "span" &&
		q.Get("type") == "java.lang.IllegalStateException" && q.Get("from") != "" && q.Get("to") != "" {
		now := time.Now().UTC()
		out = append(out,
			map[string]any{"time": now.Add(-5 * time.Second).Format(time.RFC3339Nano), "version": "v2", "message": "card declined", "escaped": true,
				"trace_id": "4bf92f3577b34da6a3ce929d0e0e4736", "span_id": "c3", "span_name": "POST /charge"},
			map[string]any{"time": now.Add(-40 * time.Minute).Format(time.RFC3339Nano), "version": "v1", "message": "card expired", "escaped": false,
				"trace_id": "5bf92f3577b34da6a3ce929d0e0e4737", "span_id": "c4", "span_name": "POST /charge"})
	}
	writeJSON(w, map[string]any{"occurrences": out})
}

// hasFields says whether a record's fields hold every name="value" of a
// fields filter joined by and (the only form the fake reads).
func hasFields(l map[string]any, filter string) bool {
	if filter == "" {
		return true
	}
	fields, _ := l["fields"].(map[string]string)
	for _, cond := range strings.Split(filter, " and ") {
		k, v, ok := strings.Cut(cond, "=")
		if uv, err := strconv.Unquote(v); !ok || err != nil || fields[k] != uv {
			return false
		}
	}
	return true
}
