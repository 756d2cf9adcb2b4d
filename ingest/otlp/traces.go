package otlp

import (
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/meshscope/meshscope/schema"
)

// resourceInfo is what every row takes from its resource.
type resourceInfo struct {
	service, namespace, version, workload string
	keys, values                          []string
}

func readResource(res pcommon.Resource) (resourceInfo, string) {
	var ri resourceInfo
	var pod string
	attrs := res.Attributes()
	ri.keys = make([]string, 0, attrs.Len())
	ri.values = make([]string, 0, attrs.Len())
	var k8sNamespace, deployment string
	attrs.Range(func(k string, v pcommon.Value) bool {
		s := v.AsString()
		ri.keys = append(ri.keys, k)
		ri.values = append(ri.values, s)
		switch k {
		case "service.name":
			ri.service = s
		case "service.namespace":
			ri.namespace = s
		case "service.version":
			ri.version = s
		case "k8s.namespace.name":
			k8sNamespace = s
		case "k8s.deployment.name", "k8s.statefulset.name", "k8s.daemonset.name":
			deployment = s
		case "k8s.pod.name":
			pod = s
		}
		return true
	})
	if ri.namespace == "" {
		ri.namespace = k8sNamespace
	}
	ri.workload = deployment
	if ri.workload == "" && pod != "" {
		ri.workload = workloadFromPod(pod)
	}
	return ri, badUTF8(ri.keys, ri.values)
}

// workloadFromPod strips the ReplicaSet hash and pod suffix of a Deployment's
// pod name ("reviews-v2-5b64f47978-rv5ls" -> "reviews-v2"), or the ordinal of a
// StatefulSet's ("db-0" -> "db").
func workloadFromPod(pod string) string {
	parts := strings.Split(pod, "-")
	if n := len(parts); n >= 3 && len(parts[n-1]) == 5 && len(parts[n-2]) >= 8 && len(parts[n-2]) <= 10 {
		return strings.Join(parts[:n-2], "-")
	}
	if n := len(parts); n >= 2 {
		if _, err := strconv.Atoi(parts[n-1]); err == nil {
			return strings.Join(parts[:n-1], "-")
		}
	}
	return pod
}

// badUTF8 names the first key whose key or value is not valid UTF-8.
func badUTF8(keys, values []string) string {
	for i, k := range keys {
		if !utf8.ValidString(k) {
			return "attribute key " + strconv.Quote(k)
		}
		if !utf8.ValidString(values[i]) {
			return "attribute " + k
		}
	}
	return ""
}

// attrs returns m's keys and values as strings, in slices carved from a.
func attrs(m pcommon.Map, a *strArena) (keys, values []string) {
	if m.Len() == 0 {
		return nil, nil
	}
	keys, values = a.take(m.Len()), a.take(m.Len())
	m.Range(func(k string, v pcommon.Value) bool {
		keys = append(keys, k)
		values = append(values, valueString(v))
		return true
	})
	return keys, values
}

// valueString is v.AsString, without allocating for the small non-negative
// integers (status codes, ports below 1000) attributes hold most often.
func valueString(v pcommon.Value) string {
	if v.Type() == pcommon.ValueTypeInt {
		if n := v.Int(); n >= 0 && n < int64(len(smallInts)) {
			return smallInts[n]
		}
	}
	return v.AsString()
}

var smallInts = func() (s [1000]string) {
	for i := range s {
		s[i] = strconv.Itoa(i)
	}
	return s
}()

// strArena hands out empty string slices of a given capacity carved from
// larger chunks, so that the many short attribute lists of one request take
// a few allocations. The slices stay valid as long as they are referenced,
// and keep their whole chunk alive: for rows that live as long as their
// request. A nil arena allocates each list on its own.
type strArena struct{ chunk []string }

func (a *strArena) take(n int) []string {
	if a == nil {
		// Lists kept long after the request (a metric series'): their own.
		return make([]string, 0, n)
	}
	if n > cap(a.chunk)-len(a.chunk) {
		a.chunk = make([]string, 0, max(n, 4096))
	}
	from := len(a.chunk)
	a.chunk = a.chunk[:from+n]
	return a.chunk[from : from : from+n]
}

// rejections collects per-item refusals for OTLP partial success.
type rejections struct {
	n     int64
	first string
	// reasons counts refusals by metric reason label.
	reasons map[string]int
}

func (r *rejections) add(reason, msg string) {
	r.n++
	if r.first == "" {
		r.first = msg
	}
	if r.reasons == nil {
		r.reasons = map[string]int{}
	}
	r.reasons[reason]++
}

// TracesToRows converts spans into rows appended to b. Spans that cannot be
// stored (invalid UTF-8, absurd timestamps) are skipped and reported.
func (c *Converter) TracesToRows(td ptrace.Traces, b *schema.Batch) rejections {
	var rej rejections
	var arena strArena
	latest := c.latest()
	// Room for every span at once: a batch fresh from the pool would
	// otherwise grow (and copy its large rows) several times.
	b.Spans = slices.Grow(b.Spans, td.SpanCount())
	rss := td.ResourceSpans()
	for i := 0; i < rss.Len(); i++ {
		rs := rss.At(i)
		ri, bad := readResource(rs.Resource())
		sss := rs.ScopeSpans()
		for j := 0; j < sss.Len(); j++ {
			ss := sss.At(j)
			scope := ss.Scope()
			spans := ss.Spans()
			for k := 0; k < spans.Len(); k++ {
				sp := spans.At(k)
				if bad != "" {
					rej.add("invalid_utf8", "resource "+bad+": invalid UTF-8")
					continue
				}
				keys, values := attrs(sp.Attributes(), &arena)
				if reason, msg := checkSpan(sp, keys, values, latest); reason != "" {
					rej.add(reason, msg)
					continue
				}
				b.Spans = append(b.Spans, schema.SpanRow{})
				fillSpanRow(&b.Spans[len(b.Spans)-1], sp, &ri, scope, keys, values)
			}
		}
	}
	return rej
}

// checkSpan says why sp cannot be stored, if it cannot; latest is the latest
// start time accepted.
func checkSpan(sp ptrace.Span, keys, values []string, latest uint64) (reason, msg string) {
	where := func() string { return "span " + strconv.Quote(sp.Name()) }
	if sp.TraceID().IsEmpty() {
		return "invalid_id", where() + ": trace_id is empty"
	}
	if sp.SpanID().IsEmpty() {
		return "invalid_id", where() + ": span_id is empty"
	}
	if !utf8.ValidString(sp.Name()) {
		return "invalid_utf8", "span name: invalid UTF-8"
	}
	start, end := uint64(sp.StartTimestamp()), uint64(sp.EndTimestamp())
	if r, m := checkTimeBefore(start, latest, "start_time_unix_nano"); r != "" {
		return r, where() + ": " + m
	}
	if end < start {
		return "invalid_timestamp", where() + ": end_time_unix_nano is before start_time_unix_nano"
	}
	if end-start > uint64(maxSpanDuration) {
		return "invalid_timestamp", where() + ": duration over 24h"
	}
	if f := badUTF8(keys, values); f != "" {
		return "invalid_utf8", where() + ": " + f + ": invalid UTF-8"
	}
	return "", ""
}

// fillSpanRow fills r (a zero row in place, to avoid copying the large
// struct) from sp, with the span's attributes already read.
func fillSpanRow(r *schema.SpanRow, sp ptrace.Span, ri *resourceInfo, scope pcommon.InstrumentationScope, keys, values []string) {
	start := uint64(sp.StartTimestamp())
	*r = schema.SpanRow{
		StartUnixNano:    start,
		DurationNanos:    uint64(sp.EndTimestamp()) - start,
		TraceID:          schema.TraceID(sp.TraceID()),
		SpanID:           schema.SpanID(sp.SpanID()),
		ParentSpanID:     schema.SpanID(sp.ParentSpanID()),
		TraceState:       sp.TraceState().AsRaw(),
		Name:             sp.Name(),
		Kind:             uint8(sp.Kind()),
		StatusCode:       uint8(sp.Status().Code()),
		StatusMessage:    sp.Status().Message(),
		ServiceName:      ri.service,
		ServiceNamespace: ri.namespace,
		ServiceVersion:   ri.version,
		Workload:         ri.workload,
		ScopeName:        scope.Name(),
		ScopeVersion:     scope.Version(),
		GRPCStatusCode:   -1,
		ResourceKeys:     ri.keys,
		ResourceValues:   ri.values,
		AttrKeys:         keys,
		AttrValues:       values,
	}
	for i, k := range r.AttrKeys {
		v := r.AttrValues[i]
		switch k {
		case "http.request.method", "http.method":
			r.HTTPMethod = v
		case "http.route":
			r.HTTPRoute = v
		case "http.response.status_code", "http.status_code":
			if n, err := strconv.Atoi(v); err == nil && n >= 0 && n < 1000 {
				r.HTTPStatusCode = uint16(n)
			}
		case "rpc.grpc.status_code":
			if n, err := strconv.Atoi(v); err == nil && n >= 0 && n < 100 {
				r.GRPCStatusCode = int16(n)
			}
		case "peer.service":
			r.PeerService = v
		case "server.address", "net.peer.name":
			if r.ServerAddress == "" || k == "server.address" {
				r.ServerAddress = v
			}
		case "db.system", "db.system.name":
			r.DBSystem = v
		case "db.namespace", "db.name":
			if r.DBName == "" || k == "db.namespace" {
				r.DBName = v
			}
		case "messaging.system":
			r.MessagingSystem = v
		case "messaging.destination.name", "messaging.destination":
			if r.MessagingDestination == "" || k == "messaging.destination.name" {
				r.MessagingDestination = v
			}
		}
	}
	if evs := sp.Events(); evs.Len() > 0 {
		r.EventTimes = make([]uint64, evs.Len())
		r.EventNames = make([]string, evs.Len())
		r.EventAttrs = make([]string, evs.Len())
		for i := 0; i < evs.Len(); i++ {
			ev := evs.At(i)
			r.EventTimes[i] = uint64(ev.Timestamp())
			r.EventNames[i] = ev.Name()
			r.EventAttrs[i] = mapJSON(ev.Attributes())
		}
	}
	if links := sp.Links(); links.Len() > 0 {
		r.LinkTraceIDs = make([]schema.TraceID, links.Len())
		r.LinkSpanIDs = make([]schema.SpanID, links.Len())
		r.LinkAttrs = make([]string, links.Len())
		for i := 0; i < links.Len(); i++ {
			l := links.At(i)
			r.LinkTraceIDs[i] = schema.TraceID(l.TraceID())
			r.LinkSpanIDs[i] = schema.SpanID(l.SpanID())
			r.LinkAttrs[i] = mapJSON(l.Attributes())
		}
	}
}

func mapJSON(m pcommon.Map) string {
	if m.Len() == 0 {
		return "{}"
	}
	v := pcommon.NewValueMap()
	m.CopyTo(v.Map())
	return v.AsString()
}
