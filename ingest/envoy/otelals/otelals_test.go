package otelals

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/meshscope/meshscope/graph"
	"github.com/meshscope/meshscope/ingest/envoy"
	"github.com/meshscope/meshscope/ingest/otlp"
	"github.com/meshscope/meshscope/schema"
)

func fixtureLines(t testing.TB, name string) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "testdata", name))
	require.NoError(t, err)
	var out []string
	for _, l := range bytes.Split(bytes.TrimSuffix(b, []byte("\n")), []byte("\n")) {
		out = append(out, string(l))
	}
	return out
}

// envoyResource sets the labels Envoy's OpenTelemetry access logger puts
// on its resource, for an Istio sidecar.
func envoyResource(rl plog.ResourceLogs, nodeID, cluster string) {
	a := rl.Resource().Attributes()
	a.PutStr("log_name", IstioLogName)
	a.PutStr("zone_name", "")
	a.PutStr("cluster_name", cluster)
	a.PutStr("node_name", nodeID)
}

func newConverter(t testing.TB) (*otlp.Converter, *envoy.Resolver) {
	t.Helper()
	res, err := envoy.NewResolver(envoy.Config{})
	require.NoError(t, err)
	r, err := New(res, Config{})
	require.NoError(t, err)
	conv := otlp.NewConverter(1000)
	conv.Now = func() time.Time { return time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC) }
	conv.AccessLog = r.AccessLog
	return conv, res
}

// TestIstioOtelAccessLogs: istio-text.log lines 6 and 7 sent by the two
// sidecars as Istio's envoyOtelAls does become two request rows and one
// observation; other records stay logs; a body no format reads is
// rejected.
func TestIstioOtelAccessLogs(t *testing.T) {
	lines := fixtureLines(t, "istio-text.log")
	conv, res := newConverter(t)
	ld := plog.NewLogs()

	sleep := ld.ResourceLogs().AppendEmpty()
	envoyResource(sleep, "sidecar~10.44.1.23~sleep-5fcd8fd6c8-2kq6z.foo~foo.svc.cluster.local", "sleep.foo")
	lr := sleep.ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
	lr.Body().SetStr(lines[5])
	lr.SetTimestamp(pcommon.NewTimestampFromTime(time.Now()))

	httpbin := ld.ResourceLogs().AppendEmpty()
	envoyResource(httpbin, "sidecar~10.44.1.27~httpbin-74fb669cc6-x2kq6.foo~foo.svc.cluster.local", "httpbin.foo")
	records := httpbin.ScopeLogs().AppendEmpty().LogRecords()
	lr = records.AppendEmpty()
	lr.Body().SetStr(lines[6])
	lr.Attributes().PutStr("downstream_peer", `{"@type":"type.googleapis.com/google.protobuf.Struct",`+
		`"value":{"workload":"sleep","namespace":"foo","service":"sleep","revision":"v1","cluster":"Kubernetes"}}`)
	lr.Attributes().PutStr("route", "default")
	bad := records.AppendEmpty()
	bad.Body().SetStr("not an access log line")

	app := ld.ResourceLogs().AppendEmpty()
	app.Resource().Attributes().PutStr("service.name", "cart")
	plain := app.ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
	plain.Body().SetStr("hello")
	plain.SetTimestamp(pcommon.NewTimestampFromTime(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)))

	var b schema.Batch
	var obs []graph.Observation
	rej := conv.LogsToRows(ld, &b, &obs)
	require.Len(t, b.Requests, 2)
	require.Len(t, b.Logs, 1, "other records stay logs")
	require.Equal(t, "hello", b.Logs[0].Body)
	_ = rej

	src, dst := b.Requests[0], b.Requests[1]
	require.Equal(t, "source", src.Reporter)
	require.Equal(t, "foo/sleep", src.Emitter)
	require.Equal(t, IstioLogName, src.LogName)
	require.Equal(t, "service:foo/httpbin", src.Destination)
	require.Equal(t, "destination", dst.Reporter)
	require.Equal(t, "foo/httpbin", dst.Emitter)
	require.Equal(t, "service:foo/sleep", dst.Source)
	require.Equal(t, "v1", dst.SourceVersion, "from the peer metadata")
	require.Equal(t, []string{"route", "k8s.pod.name"}, dst.AttrKeys, "the sidecar's pod from its resource last")
	require.Equal(t, "httpbin-74fb669cc6-x2kq6", dst.AttrValues[1])
	require.Equal(t, schema.SecurityMTLS, dst.MTLS)

	require.Len(t, obs, 1, "one request, logged by both sidecars")
	require.Equal(t, graph.ReporterDestination, obs[0].Reporter)
	require.Equal(t, "version:foo/sleep/v1", obs[0].Source.NodeID(graph.GranularityVersion))
	require.Empty(t, res.Flush(nil))
}

// TestBodies: JSON lines and map bodies are read too, and records that
// are not Envoy's are not taken.
func TestBodies(t *testing.T) {
	json := fixtureLines(t, "istio-json.log")[0]
	tests := []struct {
		name string
		set  func(plog.ResourceLogs, plog.LogRecord)
		ok   bool
		err  bool
	}{
		{"json string", func(rl plog.ResourceLogs, lr plog.LogRecord) {
			envoyResource(rl, "sidecar~10.124.1.5~reviews-v1-545db77b95-x2kq6.default~default.svc.cluster.local", "reviews.default")
			lr.Body().SetStr(json)
		}, true, false},
		{"map body", func(rl plog.ResourceLogs, lr plog.LogRecord) {
			envoyResource(rl, "sidecar~10.124.1.5~reviews-v1-545db77b95-x2kq6.default~default.svc.cluster.local", "reviews.default")
			m := lr.Body().SetEmptyMap()
			m.PutStr("upstream_cluster", "inbound|9080||")
			m.PutStr("method", "GET")
			m.PutStr("protocol", "HTTP/1.1")
			m.PutInt("response_code", 200)
			m.PutStr("start_time", "2022-09-08T12:51:05.656Z")
		}, true, false},
		{"labelled record without builtin labels", func(rl plog.ResourceLogs, lr plog.LogRecord) {
			rl.Resource().Attributes().PutStr("k8s.pod.name", "reviews-v1-545db77b95-x2kq6")
			rl.Resource().Attributes().PutStr("k8s.namespace.name", "default")
			lr.Attributes().PutStr("log_name", IstioLogName)
			lr.Body().SetStr(json)
		}, true, false},
		{"bad body", func(rl plog.ResourceLogs, lr plog.LogRecord) {
			envoyResource(rl, "x", "y")
			lr.Body().SetStr("{not json")
		}, true, true},
		{"empty body", func(rl plog.ResourceLogs, lr plog.LogRecord) {
			envoyResource(rl, "x", "y")
		}, true, true},
		{"not envoy", func(rl plog.ResourceLogs, lr plog.LogRecord) {
			rl.Resource().Attributes().PutStr("log_name", "my-app")
			lr.Body().SetStr(json)
		}, false, false},
	}
	res, err := envoy.NewResolver(envoy.Config{})
	require.NoError(t, err)
	r, err := New(res, Config{})
	require.NoError(t, err)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ld := plog.NewLogs()
			rl := ld.ResourceLogs().AppendEmpty()
			sl := rl.ScopeLogs().AppendEmpty()
			lr := sl.LogRecords().AppendEmpty()
			tc.set(rl, lr)
			var b schema.Batch
			var obs []graph.Observation
			ok, err := r.AccessLog(rl.Resource(), sl.Scope(), lr, &b, &obs)
			require.Equal(t, tc.ok, ok)
			if tc.err {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			if !tc.ok {
				require.Empty(t, b.Requests)
				return
			}
			require.Len(t, b.Requests, 1)
			require.Equal(t, "service:default/reviews", b.Requests[0].Destination)
			require.Equal(t, "default/reviews-v1", b.Requests[0].Emitter)
			require.Equal(t, "destination", b.Requests[0].Reporter)
		})
	}
}
