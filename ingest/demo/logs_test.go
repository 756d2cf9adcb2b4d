package demo

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
)

// The log records decode as OTLP, and each belongs to a span of the same
// run: an ERROR record to a failed server span of its service, an INFO one
// to the gateway's span of a root request, a job's to its run's span.
func TestLogsDecode(t *testing.T) {
	cfg := testConfig()
	cfg.Scenario = ScenarioFailingDependency
	c := &capture{}
	g, topo := newTestGenerator(t, cfg, c)
	now := time.Now()
	generateAll(g, 2000, now)
	require.NotEmpty(t, c.logExports)

	spans := map[spanKey]decodedSpan{}
	for _, b := range c.exports {
		req := ptraceotlp.NewExportRequest()
		require.NoError(t, req.UnmarshalProto(b))
		for _, rs := range req.Traces().ResourceSpans().All() {
			for _, ss := range rs.ScopeSpans().All() {
				for _, sp := range ss.Spans().All() {
					spans[spanKey{sp.TraceID(), sp.SpanID()}] = decodedSpan{sp, rs.Resource().Attributes()}
				}
			}
		}
	}
	gateway := topo.Gateway.Name
	counts := map[plog.SeverityNumber]int{}
	jobRecords := map[plog.SeverityNumber]int{}
	exceptions := 0
	for _, b := range c.logExports {
		req := plogotlp.NewExportRequest()
		require.NoError(t, req.UnmarshalProto(b))
		for _, rl := range req.Logs().ResourceLogs().All() {
			res := rl.Resource().Attributes()
			require.NotEmpty(t, str(res, "k8s.pod.name"))
			for _, sl := range rl.ScopeLogs().All() {
				require.Equal(t, scopeName, sl.Scope().Name())
				for _, r := range sl.LogRecords().All() {
					sp, ok := spans[spanKey{r.TraceID(), r.SpanID()}]
					require.True(t, ok, "record %q belongs to a span of the run", r.Body().Str())
					require.Equal(t, str(sp.resource, "k8s.pod.name"), str(res, "k8s.pod.name"), "logged by the span's pod")
					require.Equal(t, sp.span.EndTimestamp(), r.Timestamp(), "logged when the span ends")
					if sp.span.Kind() == ptrace.SpanKindInternal {
						// A job's record of its run.
						require.Equal(t, topo.Jobs[0].Name, str(res, "service.name"))
						if sp.span.Status().Code() == ptrace.StatusCodeError {
							require.Equal(t, plog.SeverityNumberError, r.SeverityNumber())
							require.Regexp(t, `^run failed after \d+\.\d ms: a dependency failed$`, r.Body().Str())
						} else {
							require.Equal(t, plog.SeverityNumberInfo, r.SeverityNumber())
							require.Regexp(t, `^run finished in \d+\.\d ms$`, r.Body().Str())
						}
						jobRecords[r.SeverityNumber()]++
						continue
					}
					require.Equal(t, ptrace.SpanKindServer, sp.span.Kind())
					counts[r.SeverityNumber()]++
					switch r.SeverityNumber() {
					case plog.SeverityNumberError:
						require.Equal(t, "ERROR", r.SeverityText())
						require.Equal(t, ptrace.StatusCodeError, sp.span.Status().Code())
						require.True(t, strings.HasPrefix(r.Body().Str(), sp.span.Name()+" failed: "), r.Body().Str())
						errType, ok := r.Attributes().Get("error.type")
						require.True(t, ok)
						require.NotEmpty(t, errType.Str())
						// Java and Python services log the exception too.
						lang := str(sp.resource, "telemetry.sdk.language")
						_, logged := r.Attributes().Get("exception.type")
						require.Equal(t, lang == "java" || lang == "python", logged, "a %s service", lang)
						if logged {
							exceptions++
							ev := sp.span.Events().At(0)
							for _, k := range []string{"exception.type", "exception.message", "exception.stacktrace"} {
								require.Equal(t, str(ev.Attributes(), k), str(r.Attributes(), k), "the span's exception, logged: %s", k)
							}
						}
					case plog.SeverityNumberInfo:
						require.Equal(t, gateway, str(res, "service.name"))
						require.True(t, sp.span.ParentSpanID().IsEmpty(), "the root request's span")
						require.Regexp(t, `^method=GET path=/\S* status=\d{3} duration=\d+\.\dms$`, r.Body().Str())
					default:
						t.Fatalf("unexpected severity %v", r.SeverityNumber())
					}
				}
			}
		}
	}
	require.Positive(t, counts[plog.SeverityNumberError])
	require.Positive(t, exceptions)
	require.Positive(t, counts[plog.SeverityNumberInfo])
	require.Positive(t, jobRecords[plog.SeverityNumberInfo], "the job's runs")

	// Every failed server span but the gateway's (whose log is its access
	// log) has its ERROR record.
	failed := 0
	for _, sp := range spans {
		if sp.span.Kind() == ptrace.SpanKindServer && sp.span.Status().Code() == ptrace.StatusCodeError && str(sp.resource, "service.name") != gateway {
			failed++
		}
	}
	require.Equal(t, failed, counts[plog.SeverityNumberError])
}
