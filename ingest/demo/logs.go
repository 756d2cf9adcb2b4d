package demo

import (
	"strconv"
)

// Application logs, sent as OTLP log records beside the spans: a service
// logs an ERROR for every call it failed (the Java and Python services
// with the exception's attributes, as their log bridges write it) and the
// gateway an INFO line for one request in 16, each with the trace and span
// it belongs to, so that a trace's logs are a click away. Only sampled traces log (their spans tell
// the rest of the story), like an SDK whose log bridge follows the
// sampler.

// OpenTelemetry severity numbers.
const (
	severityInfo  = 9
	severityError = 17
)

// logOut is one log record being written.
type logOut struct {
	trace    *[16]byte
	span     *[8]byte
	time     int64
	severity uint64
	text     string // severity text
	body     []byte // in the generator's scratch buffer
	errType  string // error.type attribute, "" for none
	// exception is the logged exception's attributes, encoded; nil for none.
	exception []byte
}

// appendLogRecord appends r as ScopeLogs.log_records (field 2).
func appendLogRecord(b []byte, r *logOut) []byte {
	b, m := openField(b, 2)
	b = appendFixed64Field(b, 1, uint64(r.time))
	b = appendVarintField(b, 2, r.severity)
	b = appendStringField(b, 3, r.text)
	var v int
	b, v = openField(b, 5)             // body: AnyValue
	b = appendBytesField(b, 1, r.body) // string_value: the same wire form
	b = closeField(b, v)
	if r.errType != "" {
		b = appendKV(b, 6, "error.type", r.errType)
	}
	b = append(b, r.exception...)
	b = appendBytesField(b, 9, r.trace[:])
	b = appendBytesField(b, 10, r.span[:])
	b = appendFixed64Field(b, 11, uint64(r.time))
	return closeField(b, m)
}

// failureText says how a service failed a call, by outcome and protocol.
func failureText(p Protocol, o outcome) (text, errType string) {
	st := statusOf(p, o)
	if st.grpc >= 0 {
		errType = strconv.Itoa(st.grpc)
		switch o {
		case outUnavailable:
			return "UNAVAILABLE: dependency unavailable", errType
		default:
			return "INTERNAL: unexpected error", errType
		}
	}
	errType = strconv.Itoa(st.code)
	if o == outUnavailable {
		return "503 Service Unavailable: dependency unavailable", errType
	}
	return "500 Internal Server Error: unexpected error", errType
}

// addLog appends the log record in g.logScratch to the batch of pod p.
func (g *generator) addLog(p *Pod) {
	b := g.pendingLogs.buf(p.Index)
	*b = appendLogRecord(*b, &g.logScratch)
	if g.pendingLogs.n >= logBatch {
		g.flushLogs()
	}
}

// failureLog writes the ERROR record of a failed call its server span
// (g.scratch, just written) describes; canary for a degrading canary's own
// bug.
func (g *generator) failureLog(p *Pod, proto Protocol, o outcome, canary bool) {
	s := &g.scratch
	text, errType := failureText(proto, o)
	body := append(append(append(g.logBody[:0], s.static.name...), " failed: "...), text...)
	g.logBody = body
	exception := g.spans.exceptionLog[p.Workload.Service.Index][o]
	if canary {
		exception = g.spans.canaryExceptionLog[p.Workload.Service.Index]
	}
	g.logScratch = logOut{trace: s.trace, span: s.id, time: s.end, severity: severityError, text: "ERROR", body: body, errType: errType,
		exception: exception}
	g.addLog(p)
}

// accessLog writes the gateway's INFO record of one request in 16 (by its
// trace id, so that no random draw is taken) of the root span in g.scratch,
// in logfmt (method=GET path=/cart status=200 duration=12.3ms), as
// gateways' access logs often are: LogQL's | logfmt reads its fields.
func (g *generator) accessLog(p *Pod, path string, o outcome) {
	s := &g.scratch
	if s.trace[15]%16 != 0 {
		return
	}
	body := append(append(append(append(g.logBody[:0], "method=GET path="...), path...), " status="...), httpStatus[o].codeStr...)
	body = strconv.AppendFloat(append(body, " duration="...), float64(s.end-s.start)/1e6, 'f', 1, 64)
	g.logBody = append(body, "ms"...)
	g.logScratch = logOut{trace: s.trace, span: s.id, time: s.end, severity: severityInfo, text: "INFO", body: g.logBody}
	g.addLog(p)
}

// jobLog writes a job's record of the run whose span is in g.scratch: INFO
// when it finished, ERROR when a call it could not do without failed.
func (g *generator) jobLog(p *Pod, failed bool) {
	s := &g.scratch
	sev, text, body := uint64(severityInfo), "INFO", append(g.logBody[:0], "run finished in "...)
	if failed {
		sev, text, body = severityError, "ERROR", append(g.logBody[:0], "run failed after "...)
	}
	body = strconv.AppendFloat(body, float64(s.end-s.start)/1e6, 'f', 1, 64)
	body = append(body, " ms"...)
	if failed {
		body = append(body, ": a dependency failed"...)
	}
	g.logBody = body
	g.logScratch = logOut{trace: s.trace, span: s.id, time: s.end, severity: sev, text: text, body: body}
	g.addLog(p)
}

// flushLogs builds an ExportLogsServiceRequest of the pending records,
// grouped by pod (the same Resource and scope as the pod's spans).
func (g *generator) flushLogs() {
	if g.pendingLogs.n == 0 {
		return
	}
	req := getBigBuf()
	var n int
	*req, n = g.pendingLogs.take(*req, g.spans)
	g.out.logs(req, n)
}
