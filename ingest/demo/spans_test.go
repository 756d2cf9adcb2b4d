package demo

import (
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
)

type spanKey struct {
	trace pcommon.TraceID
	span  pcommon.SpanID
}

type decodedSpan struct {
	span     ptrace.Span
	resource pcommon.Map
}

func str(m pcommon.Map, key string) string {
	v, ok := m.Get(key)
	if !ok {
		return ""
	}
	return v.AsString()
}

// decodeSpans decodes span exports by trace and span id, checking their
// resources and scopes and that ids are unique.
func decodeSpans(t *testing.T, topo *Topology, exports [][]byte) map[spanKey]decodedSpan {
	t.Helper()
	spans := map[spanKey]decodedSpan{}
	for _, b := range exports {
		req := ptraceotlp.NewExportRequest()
		require.NoError(t, req.UnmarshalProto(b))
		rss := req.Traces().ResourceSpans()
		for i := range rss.Len() {
			rs := rss.At(i)
			res := rs.Resource().Attributes()
			s := topo.Service(str(res, "service.namespace"), str(res, "service.name"))
			require.NotNil(t, s, "resource names a service: %v", res.AsRaw())
			require.True(t, s.Traced)
			require.Equal(t, s.Namespace, str(res, "k8s.namespace.name"))
			require.NotEmpty(t, str(res, "k8s.pod.name"))
			require.NotEmpty(t, str(res, "service.version"))
			for j := range rs.ScopeSpans().Len() {
				ss := rs.ScopeSpans().At(j)
				require.Equal(t, scopeName, ss.Scope().Name())
				for k := range ss.Spans().Len() {
					sp := ss.Spans().At(k)
					key := spanKey{sp.TraceID(), sp.SpanID()}
					_, dup := spans[key]
					require.False(t, dup, "span ids are unique")
					spans[key] = decodedSpan{sp, res}
				}
			}
		}
	}
	return spans
}

func TestSpansDecode(t *testing.T) {
	cfg := testConfig()
	c := &capture{}
	g, topo := newTestGenerator(t, cfg, c)
	now := time.Now()
	generateAll(g, 400, now)
	require.NotEmpty(t, c.exports)
	spans := decodeSpans(t, topo, c.exports)

	kinds := map[ptrace.SpanKind]int{}
	var db, links, exceptions int
	for _, d := range spans {
		sp := d.span
		kinds[sp.Kind()]++
		require.False(t, sp.TraceID().IsEmpty())
		require.LessOrEqual(t, sp.StartTimestamp(), sp.EndTimestamp())
		require.LessOrEqual(t, sp.EndTimestamp().AsTime(), now.Add(time.Millisecond))
		attrs := sp.Attributes()
		if !sp.ParentSpanID().IsEmpty() {
			parent, ok := spans[spanKey{sp.TraceID(), sp.ParentSpanID()}]
			require.True(t, ok, "the parent of %s is in the same trace", sp.Name())
			switch sp.Kind() {
			case ptrace.SpanKindServer:
				require.Equal(t, ptrace.SpanKindClient, parent.span.Kind())
			case ptrace.SpanKindClient, ptrace.SpanKindProducer:
				require.Contains(t, []ptrace.SpanKind{ptrace.SpanKindServer, ptrace.SpanKindConsumer, ptrace.SpanKindInternal}, parent.span.Kind())
				require.Equal(t, str(parent.resource, "k8s.pod.name"), str(d.resource, "k8s.pod.name"), "a client span's parent is in the same pod")
			}
		}
		switch sp.Kind() {
		case ptrace.SpanKindClient:
			require.NotEmpty(t, str(attrs, "server.address"))
			if sys := str(attrs, "db.system"); sys != "" {
				db++
				if sys != "redis" {
					require.NotEmpty(t, str(attrs, "db.name"))
				}
			}
		case ptrace.SpanKindProducer:
			require.Equal(t, "kafka", str(attrs, "messaging.system"))
			require.NotEmpty(t, str(attrs, "messaging.destination.name"))
		case ptrace.SpanKindConsumer:
			require.True(t, sp.ParentSpanID().IsEmpty(), "a consumer starts its own trace")
			for l := range sp.Links().Len() {
				link := sp.Links().At(l)
				producer, ok := spans[spanKey{link.TraceID(), link.SpanID()}]
				require.True(t, ok, "the link names a span")
				require.Equal(t, ptrace.SpanKindProducer, producer.span.Kind())
				require.Equal(t, str(attrs, "messaging.destination.name"), str(producer.span.Attributes(), "messaging.destination.name"))
				links++
			}
		case ptrace.SpanKindServer:
			_, http := attrs.Get("http.response.status_code")
			_, grpc := attrs.Get("rpc.grpc.status_code")
			require.True(t, http || grpc)
			// A failed request's span records the exception the service
			// raised, in its language's shape.
			evs := sp.Events()
			if sp.Status().Code() != ptrace.StatusCodeError || sp.Name() == "ingress" {
				require.Zero(t, evs.Len(), sp.Name())
				break
			}
			require.Equal(t, 1, evs.Len())
			ev := evs.At(0)
			require.Equal(t, "exception", ev.Name())
			require.Equal(t, sp.EndTimestamp(), ev.Timestamp())
			require.NotEmpty(t, str(ev.Attributes(), "exception.type"))
			require.NotEmpty(t, str(ev.Attributes(), "exception.message"))
			stack := str(ev.Attributes(), "exception.stacktrace")
			frame := map[string]string{"go": "goroutine ", "java": "\tat com.example.", "python": "Traceback (most recent call last)", "nodejs": "    at handle ("}
			lang := str(d.resource, "telemetry.sdk.language")
			require.Contains(t, frame, lang)
			require.Contains(t, stack, frame[lang], "a %s stack trace", lang)
			exceptions++
		}
	}
	require.Positive(t, exceptions, "failed requests raised exceptions")
	for _, k := range []ptrace.SpanKind{ptrace.SpanKindServer, ptrace.SpanKindClient, ptrace.SpanKindProducer, ptrace.SpanKindConsumer} {
		require.Positive(t, kinds[k], "spans of kind %s", k)
	}
	require.Positive(t, db)
	require.Positive(t, links)
}

func TestSpansSampled(t *testing.T) {
	for _, tc := range []struct {
		sample   float64
		min, max int
	}{
		{0, 0, 0},
		{0.1, 20, 80},
		{1, 450, 500},
	} {
		t.Run("", func(t *testing.T) {
			cfg := testConfig()
			cfg.TraceSample = tc.sample
			c := &capture{}
			g, _ := newTestGenerator(t, cfg, c)
			generateAll(g, 500, time.Now())
			roots := 0
			for _, b := range c.exports {
				req := ptraceotlp.NewExportRequest()
				require.NoError(t, req.UnmarshalProto(b))
				rss := req.Traces().ResourceSpans()
				for i := range rss.Len() {
					ss := rss.At(i).ScopeSpans()
					for j := range ss.Len() {
						for k := range ss.At(j).Spans().Len() {
							if ss.At(j).Spans().At(k).Name() == "ingress" {
								roots++
							}
						}
					}
				}
			}
			require.True(t, roots >= tc.min && roots <= tc.max, "%d sampled request trees of 500", roots)
		})
	}
}

// In canary-bad, the degrading canary's application errors raise its own
// bug, a type the service never raised before; the stable version's do
// not.
func TestCanaryException(t *testing.T) {
	cfg := testConfig()
	cfg.Scenario = ScenarioCanaryBad
	c := &capture{}
	g, topo := newTestGenerator(t, cfg, c)
	g.setElapsed(100 * g.cfg.ScenarioPeriod) // fully degraded
	generateAll(g, 3000, time.Now())
	sc := topo.Scenario
	require.NotNil(t, sc.Target)
	canaryType := map[string]string{"go": "runtime.Error", "java": "java.lang.NullPointerException", "python": "KeyError", "nodejs": "RangeError"}[sdkLanguage(sc.Target)]
	byVersion := map[string]map[string]int{}
	for _, d := range decodeSpans(t, topo, c.exports) {
		if str(d.resource, "service.name") != sc.Target.Name || d.span.Kind() != ptrace.SpanKindServer {
			continue
		}
		for i := range d.span.Events().Len() {
			ev := d.span.Events().At(i)
			v := str(d.resource, "service.version")
			if byVersion[v] == nil {
				byVersion[v] = map[string]int{}
			}
			byVersion[v][str(ev.Attributes(), "exception.type")]++
		}
	}
	require.Positive(t, byVersion[sc.Version][canaryType], "the canary's own bug: %v", byVersion)
	for v, types := range byVersion {
		if v != sc.Version {
			require.Zero(t, types[canaryType], "version %s does not raise the canary's bug", v)
		}
	}
}

// In bad-pod, one pod of the target fails and answers slower once the
// change starts; its siblings keep the service's numbers, and before the
// change it is as well as they are.
func TestBadPodSpans(t *testing.T) {
	cfg := testConfig()
	cfg.Scenario = ScenarioBadPod
	for _, started := range []bool{false, true} {
		t.Run(map[bool]string{false: "before", true: "after"}[started], func(t *testing.T) {
			c := &capture{}
			g, topo := newTestGenerator(t, cfg, c)
			elapsed := g.cfg.ScenarioPeriod - time.Millisecond
			if started {
				elapsed = 3 * g.cfg.ScenarioPeriod
			}
			g.setElapsed(elapsed)
			generateAll(g, 6000, time.Now())
			sc := topo.Scenario
			require.NotNil(t, sc.Pod)
			type numbers struct {
				spans, errors int
				dur           []int64
			}
			byPod := map[string]*numbers{}
			for _, d := range decodeSpans(t, topo, c.exports) {
				if str(d.resource, "service.name") != sc.Target.Name || d.span.Kind() != ptrace.SpanKindServer ||
					str(d.resource, "service.version") != sc.Pod.Workload.Version {
					continue
				}
				pod := str(d.resource, "k8s.pod.name")
				if byPod[pod] == nil {
					byPod[pod] = &numbers{}
				}
				n := byPod[pod]
				n.spans++
				if d.span.Status().Code() == ptrace.StatusCodeError {
					n.errors++
				}
				n.dur = append(n.dur, int64(d.span.EndTimestamp()-d.span.StartTimestamp()))
			}
			require.Len(t, byPod, len(sc.Pod.Workload.Pods), "every pod of the version serves")
			median := func(n *numbers) int64 { slices.Sort(n.dur); return n.dur[len(n.dur)/2] }
			bad := byPod[sc.Pod.Name]
			require.NotNil(t, bad)
			require.Greater(t, bad.spans, 50)
			for name, n := range byPod {
				if name == sc.Pod.Name {
					continue
				}
				rate, badRate := float64(n.errors)/float64(n.spans), float64(bad.errors)/float64(bad.spans)
				if started {
					require.Greater(t, badRate, rate+0.15, "the bad pod fails: %d of %d against %d of %d", bad.errors, bad.spans, n.errors, n.spans)
					require.Greater(t, median(bad), 2*median(n), "the bad pod is slower")
				} else {
					require.Less(t, badRate, rate+0.1, "before the change the pod is as well as its siblings")
					require.Less(t, median(bad), 2*median(n))
				}
			}
		})
	}
}

// The canaries are deployed half a period in (in every scenario but
// steady): before, their service's first version takes every call, after
// it the canary takes its share.
func TestCanariesRolledOut(t *testing.T) {
	cfg := testConfig()
	cfg.Scenario = ScenarioCanaryBad
	for _, tc := range []struct {
		name     string
		elapsed  func(period time.Duration) time.Duration
		deployed bool
	}{
		{"before", func(p time.Duration) time.Duration { return p/2 - time.Millisecond }, false},
		{"after", func(p time.Duration) time.Duration { return p / 2 }, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := &capture{}
			g, topo := newTestGenerator(t, cfg, c)
			g.setElapsed(tc.elapsed(g.cfg.ScenarioPeriod))
			generateAll(g, 3000, time.Now())
			sc := topo.Scenario
			byVersion := map[string]int{}
			for _, d := range decodeSpans(t, topo, c.exports) {
				if str(d.resource, "service.name") == sc.Target.Name && d.span.Kind() == ptrace.SpanKindServer {
					byVersion[str(d.resource, "service.version")]++
				}
			}
			require.Len(t, byVersion, map[bool]int{false: 1, true: 2}[tc.deployed], "%v", byVersion)
			require.Equal(t, tc.deployed, byVersion[sc.Version] > 0, "%v", byVersion)
		})
	}
}

// A job's run is a trace of its own rooted at the job's INTERNAL span: its
// calls are the client spans under it, and nothing calls the job.
func TestJobRunSpans(t *testing.T) {
	c := &capture{}
	g, topo := newTestGenerator(t, testConfig(), c)
	require.Len(t, topo.Jobs, 1)
	job := topo.Jobs[0]
	generateAll(g, 1500, time.Now())
	spans := decodeSpans(t, topo, c.exports)
	var runs, calls int
	for _, d := range spans {
		if str(d.resource, "service.name") != job.Name {
			continue
		}
		sp := d.span
		switch sp.Kind() {
		case ptrace.SpanKindInternal:
			require.Equal(t, "run "+job.Name, sp.Name())
			require.True(t, sp.ParentSpanID().IsEmpty(), "a run is the root of its trace")
			runs++
		case ptrace.SpanKindClient:
			parent, ok := spans[spanKey{sp.TraceID(), sp.ParentSpanID()}]
			require.True(t, ok)
			require.Equal(t, ptrace.SpanKindInternal, parent.span.Kind(), "the job's calls are made by its run")
			calls++
		default:
			t.Fatalf("the job wrote a %s span", sp.Kind())
		}
	}
	// 1500 trees, JobShare of them runs.
	require.InDelta(t, 1500*topo.JobShare, runs, 1500*topo.JobShare/2, "runs of the job")
	require.Greater(t, calls, runs, "each run makes calls")
}
