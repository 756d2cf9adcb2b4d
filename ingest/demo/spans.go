package demo

import (
	"strconv"
	"strings"

	"google.golang.org/protobuf/encoding/protowire"
)

// OTLP spans, encoded by hand as opentelemetry.proto.trace.v1 messages.
// Every instrumented service writes, per call, the spans its SDK would:
// a CLIENT span around an outgoing HTTP or gRPC call (with server.address,
// or db.system and db.name for database calls), a SERVER span around the
// handling of a request (with an exception event when it failed), a PRODUCER span per published message and a
// CONSUMER span per processed message, linked to the producer's span. The
// resource names the pod: service.name, service.namespace,
// k8s.namespace.name, service.version, k8s.pod.name, k8s.deployment.name.
// Spans are batched per pod, as a Collector in gateway mode batches what
// the SDKs export.

// OTLP span kinds and status codes.
const (
	spanKindInternal = 1
	spanKindServer   = 2
	spanKindClient   = 3
	spanKindProducer = 4
	spanKindConsumer = 5
	statusCodeError  = 2
)

// scopeName is the instrumentation scope of the spans.
const scopeName = "github.com/meshscope/meshscope/ingest/demo"

// appendKV appends a KeyValue with a string value as field num.
func appendKV(b []byte, num protowire.Number, key, value string) []byte {
	b, m := openField(b, num)
	b = appendStringField(b, 1, key)
	var v int
	b, v = openField(b, 2)
	b = protowire.AppendTag(b, 1, protowire.BytesType)
	b = protowire.AppendVarint(b, uint64(len(value)))
	b = append(b, value...)
	b = closeField(b, v)
	return closeField(b, m)
}

// appendKVInt appends a KeyValue with an int value as field num.
func appendKVInt(b []byte, num protowire.Number, key string, value int64) []byte {
	b, m := openField(b, num)
	b = appendStringField(b, 1, key)
	var v int
	b, v = openField(b, 2)
	b = protowire.AppendTag(b, 3, protowire.VarintType)
	b = protowire.AppendVarint(b, uint64(value))
	b = closeField(b, v)
	return closeField(b, m)
}

// spanStatic is what never changes in a kind of span: its name and
// attributes (as KeyValue fields of a Span).
type spanStatic struct {
	name  string
	attrs []byte
}

// spanTables holds the static parts of every span the mesh can write.
type spanTables struct {
	resource [][]byte       // by pod: the Resource field of ResourceSpans
	scope    []byte         // the InstrumentationScope field of ScopeSpans
	client   [][]spanStatic // by call, by endpoint of the callee: CLIENT or PRODUCER span
	server   [][]spanStatic // by service, by endpoint: SERVER span
	consumer []spanStatic   // by call (consume): CONSUMER span
	root     spanStatic     // the gateway's SERVER span of a root request
	jobRun   []spanStatic   // by service: a job's INTERNAL span of a run
	// exception is, by service and outcome, the exception event a failed
	// SERVER span records (its name and attributes; nil for outcomes that
	// do not fail); exceptionLog the same as its ERROR log record's
	// attributes, for services that log their exceptions.
	exception, exceptionLog [][numOutcomes][]byte
	// canaryException and canaryExceptionLog are, by service, the
	// exception of the bug a degrading canary (canary-bad) ships: its
	// application errors raise a type the service never raised before.
	canaryException, canaryExceptionLog [][]byte
}

const attrs protowire.Number = 9 // Span.attributes

func newSpanTables(t *Topology) *spanTables {
	st := &spanTables{resource: make([][]byte, len(t.Pods)), client: make([][]spanStatic, len(t.Calls)),
		server: make([][]spanStatic, len(t.Services)), consumer: make([]spanStatic, len(t.Calls)),
		exception: make([][numOutcomes][]byte, len(t.Services)), exceptionLog: make([][numOutcomes][]byte, len(t.Services)),
		canaryException: make([][]byte, len(t.Services)), canaryExceptionLog: make([][]byte, len(t.Services)),
		jobRun: make([]spanStatic, len(t.Services))}
	for _, p := range t.Pods {
		var r []byte
		for _, kv := range podResource(p) {
			r = appendKV(r, 1, kv.name, kv.value)
		}
		st.resource[p.Index] = appendBytesField(nil, 1, r)
	}
	var scope []byte
	scope = appendStringField(scope, 1, scopeName)
	scope = appendStringField(scope, 2, "1.0.0")
	st.scope = appendBytesField(nil, 1, scope)
	st.root = spanStatic{name: "ingress", attrs: appendKV(appendKV(nil, attrs, "http.request.method", "GET"), attrs, "url.scheme", "https")}

	for _, j := range t.Jobs {
		st.jobRun[j.Index] = spanStatic{name: "run " + j.Name, attrs: appendKV(nil, attrs, "code.function.name", "run")}
	}
	for _, s := range t.Services {
		for _, ep := range s.Endpoints {
			var a []byte
			name := ep.Method + " " + ep.Route
			if s.Protocol == ProtocolGRPC {
				name = ep.RPCService + "/" + ep.RPCMethod
				a = appendKV(a, attrs, "rpc.system", "grpc")
				a = appendKV(a, attrs, "rpc.service", ep.RPCService)
				a = appendKV(a, attrs, "rpc.method", ep.RPCMethod)
			} else {
				a = appendKV(a, attrs, "http.request.method", ep.Method)
				a = appendKV(a, attrs, "http.route", ep.Route)
				a = appendKV(a, attrs, "url.scheme", "http")
			}
			a = appendKVInt(a, attrs, "server.port", int64(s.Port))
			st.server[s.Index] = append(st.server[s.Index], spanStatic{name: name, attrs: a})
		}
		for _, o := range []outcome{outAppError, outUnavailable} {
			st.exception[s.Index][o] = exceptionEvent(s, o, false)
			st.exceptionLog[s.Index][o] = exceptionLog(s, o, false)
		}
		st.canaryException[s.Index] = exceptionEvent(s, outAppError, true)
		st.canaryExceptionLog[s.Index] = exceptionLog(s, outAppError, true)
	}
	for _, c := range t.Calls {
		st.client[c.Index], st.consumer[c.Index] = clientStatics(c)
	}
	return st
}

// sdkLanguages are the languages of the services' SDKs, by service index.
var sdkLanguages = [...]string{"go", "java", "python", "nodejs"}

func sdkLanguage(s *Service) string { return sdkLanguages[s.Index%len(sdkLanguages)] }

// podResource is the resource of the telemetry pod p's SDK sends.
func podResource(p *Pod) []label {
	w := p.Workload
	s := w.Service
	return []label{
		{"service.name", s.Name},
		{"service.namespace", s.Namespace},
		{"service.version", w.Version},
		{"k8s.namespace.name", s.Namespace},
		{"k8s.pod.name", p.Name},
		{"k8s.deployment.name", w.Name},
		{"telemetry.sdk.name", "opentelemetry"},
		{"telemetry.sdk.language", sdkLanguage(s)},
	}
}

// clientStatics returns the static parts of the spans a call makes its
// caller write: by endpoint of the callee, and the consumer's.
func clientStatics(c *Call) ([]spanStatic, spanStatic) {
	to := c.To
	server := func(a []byte) []byte {
		a = appendKV(a, attrs, "server.address", to.Host)
		return appendKVInt(a, attrs, "server.port", int64(to.Port))
	}
	var out []spanStatic
	switch c.Kind {
	case CallRequest:
		for _, ep := range to.Endpoints {
			var a []byte
			name := ep.Method
			if to.Protocol == ProtocolGRPC {
				name = ep.RPCService + "/" + ep.RPCMethod
				a = appendKV(a, attrs, "rpc.system", "grpc")
				a = appendKV(a, attrs, "rpc.service", ep.RPCService)
				a = appendKV(a, attrs, "rpc.method", ep.RPCMethod)
			} else {
				a = appendKV(a, attrs, "http.request.method", ep.Method)
				a = appendKV(a, attrs, "network.protocol.version", "1.1")
			}
			out = append(out, spanStatic{name: name, attrs: server(a)})
		}
	case CallDatabase:
		table := strings.SplitN(to.DBName, "_", 2)[0] + "s"
		a := appendKV(nil, attrs, "db.system", to.System)
		a = appendKV(a, attrs, "db.name", to.DBName)
		a = appendKV(a, attrs, "db.namespace", to.DBName)
		a = appendKV(a, attrs, "db.operation.name", "SELECT")
		a = appendKV(a, attrs, "db.query.text", "SELECT * FROM "+table+" WHERE id = $1")
		a = appendKV(a, attrs, "peer.service", to.Name)
		out = []spanStatic{{name: "SELECT " + to.DBName + "." + table, attrs: server(a)}}
	case CallCache:
		a := appendKV(nil, attrs, "db.system", to.System)
		a = appendKV(a, attrs, "db.operation.name", "GET")
		a = appendKV(a, attrs, "peer.service", to.Name)
		out = []spanStatic{{name: "GET", attrs: server(a)}}
	case CallExternal:
		ep := to.Endpoints[0]
		a := appendKV(nil, attrs, "http.request.method", ep.Method)
		a = appendKV(a, attrs, "url.full", "https://"+to.Host+ep.Route)
		out = []spanStatic{{name: ep.Method, attrs: server(a)}}
	case CallProduce:
		a := appendKV(nil, attrs, "messaging.system", "kafka")
		a = appendKV(a, attrs, "messaging.destination.name", c.Topic.Name)
		a = appendKV(a, attrs, "messaging.operation.type", "publish")
		a = appendKV(a, attrs, "peer.service", to.Name)
		out = []spanStatic{{name: "publish " + c.Topic.Name, attrs: server(a)}}
	case CallConsume:
		a := appendKV(nil, attrs, "messaging.system", "kafka")
		a = appendKV(a, attrs, "messaging.destination.name", c.Topic.Name)
		a = appendKV(a, attrs, "messaging.operation.type", "process")
		a = appendKV(a, attrs, "messaging.consumer.group.name", c.From.Name)
		return nil, spanStatic{name: "process " + c.Topic.Name, attrs: a}
	}
	return out, spanStatic{}
}

// spanOut is one span to append.
type spanOut struct {
	static     *spanStatic
	kind       uint64
	trace      *[16]byte
	id, parent *[8]byte // parent nil for a root span
	start, end int64
	status     *respStatus // response status attributes; nil for none
	urlPath    string
	failed     bool
	link       *[16]byte // consumer: the producer's trace and span
	linkSpan   *[8]byte
	exception  []byte // an exception event's name and attributes, recorded at the end; nil for none
}

// appendSpan appends s as a Span field (ScopeSpans.spans).
func appendSpan(b []byte, s *spanOut) []byte {
	b, m := openField(b, 2)
	b = appendBytesField(b, 1, s.trace[:])
	b = appendBytesField(b, 2, s.id[:])
	if s.parent != nil {
		b = appendBytesField(b, 4, s.parent[:])
	}
	b = appendStringField(b, 5, s.static.name)
	b = appendVarintField(b, 6, s.kind)
	b = appendFixed64Field(b, 7, uint64(s.start))
	b = appendFixed64Field(b, 8, uint64(s.end))
	b = append(b, s.static.attrs...)
	if s.urlPath != "" {
		b = appendKV(b, attrs, "url.path", s.urlPath)
	}
	if st := s.status; st != nil {
		if st.grpc >= 0 {
			b = appendKVInt(b, attrs, "rpc.grpc.status_code", int64(st.grpc))
		} else {
			b = appendKVInt(b, attrs, "http.response.status_code", int64(st.code))
		}
		if st.flags != "-" {
			b = appendKV(b, attrs, "error.type", strconv.Itoa(st.code))
		}
	}
	if s.exception != nil {
		var e int
		b, e = openField(b, 11) // Span.events
		b = appendFixed64Field(b, 1, uint64(s.end))
		b = append(b, s.exception...)
		b = closeField(b, e)
	}
	if s.link != nil {
		var l int
		b, l = openField(b, 13)
		b = appendBytesField(b, 1, s.link[:])
		b = appendBytesField(b, 2, s.linkSpan[:])
		b = closeField(b, l)
	}
	if s.failed {
		var st int
		b, st = openField(b, 15)
		b = appendVarintField(b, 3, statusCodeError)
		b = closeField(b, st)
	}
	return closeField(b, m)
}

// exceptionEvent is the name and attributes (Span.Event fields) of the
// exception a failing request raises in service s (a degrading canary's
// own bug with canary), as its SDK records it.
func exceptionEvent(s *Service, o outcome, canary bool) []byte {
	typ, msg, stack := exceptionOf(s, o, canary)
	b := appendStringField(nil, 2, "exception") // Event.name
	b = appendKV(b, 3, "exception.type", typ)
	b = appendKV(b, 3, "exception.message", msg)
	return appendKV(b, 3, "exception.stacktrace", stack)
}

// exceptionLog is the same exception as attributes of a log record
// (LogRecord.attributes), as a log bridge writes a logged exception; only
// the Java and Python services log their exceptions (logback's and
// logging's exc_info), nil for the others.
func exceptionLog(s *Service, o outcome, canary bool) []byte {
	if lang := sdkLanguage(s); lang != "java" && lang != "python" {
		return nil
	}
	typ, msg, stack := exceptionOf(s, o, canary)
	b := appendKV(nil, 6, "exception.type", typ)
	b = appendKV(b, 6, "exception.message", msg)
	return appendKV(b, 6, "exception.stacktrace", stack)
}

// exceptionOf is the exception a failing request raises in service s:
// its exception.type, exception.message and exception.stacktrace, in the
// shape of its language's traces. canary asks for the bug a degrading
// canary ships instead, a type of its own.
func exceptionOf(s *Service, o outcome, canary bool) (typ, msg, stack string) {
	pkg := strings.ReplaceAll(s.Name, "-", "")
	unavailable := o == outUnavailable
	switch sdkLanguage(s) {
	case "go":
		typ, msg = "*errors.errorString", "unexpected error"
		if unavailable {
			typ, msg = "*fmt.wrapError", "dependency unavailable: upstream connect error or disconnect/reset before headers"
		}
		if canary {
			typ, msg = "runtime.Error", "runtime error: invalid memory address or nil pointer dereference"
		}
		stack = "goroutine 1 [running]:\nmain.(*server).handle(...)\n\t/app/" + pkg + "/server.go:88\n" +
			"net/http.HandlerFunc.ServeHTTP(...)\n\t/usr/local/go/src/net/http/server.go:2294"
	case "java":
		typ, msg = "java.lang.IllegalStateException", "unexpected error"
		if unavailable {
			typ, msg = "org.springframework.web.client.HttpServerErrorException$ServiceUnavailable", "503 Service Unavailable: dependency unavailable"
		}
		if canary {
			typ, msg = "java.lang.NullPointerException", `Cannot invoke "com.example.Order.getId()" because "order" is null`
		}
		stack = typ + ": " + msg + "\n\tat com.example." + pkg + ".Handler.handle(Handler.java:42)\n" +
			"\tat com.example." + pkg + ".Handler.<init>(Handler.java:17)\n" +
			"\tat org.springframework.web.servlet.FrameworkServlet.service(FrameworkServlet.java:885)"
	case "python":
		typ, msg = "ValueError", "unexpected error"
		if unavailable {
			typ, msg = "requests.exceptions.HTTPError", "503 Server Error: Service Unavailable"
		}
		if canary {
			typ, msg = "KeyError", "'customer_id'"
		}
		stack = "Traceback (most recent call last):\n  File \"/app/" + pkg + "/views.py\", line 57, in handle\n" +
			"    return service.run(request)\n" + typ + ": " + msg
	default: // nodejs
		typ, msg = "TypeError", "Cannot read properties of undefined (reading 'id')"
		if unavailable {
			typ, msg = "FetchError", "request failed, reason: dependency unavailable"
		}
		if canary {
			typ, msg = "RangeError", "Invalid array length"
		}
		stack = typ + ": " + msg + "\n    at handle (/app/" + pkg + "/src/handler.js:31:17)\n" +
			"    at Layer.handle (/app/node_modules/express/lib/router/layer.js:95:5)"
	}
	return typ, msg, stack
}
