package otelals

import (
	"testing"

	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/meshscope/meshscope/graph"
	"github.com/meshscope/meshscope/schema"
)

// FuzzAccessLog sends Envoy OpenTelemetry access log records (a body, the
// peer metadata attributes, the node name of the resource) through the
// OTLP log conversion that recognises them: nothing may panic, whatever the
// strings.
func FuzzAccessLog(f *testing.F) {
	peer := `{"@type":"type.googleapis.com/google.protobuf.Struct","value":{"workload":"sleep","namespace":"foo","service":"sleep","revision":"v1","cluster":"Kubernetes"}}`
	node := "sidecar~10.44.1.27~httpbin-74fb669cc6-x2kq6.foo~foo.svc.cluster.local"
	for _, file := range []string{"istio-text.log", "istio-json.log"} {
		for _, l := range fixtureLines(f, file) {
			f.Add(l, peer, node, "httpbin.foo", true)
		}
	}
	f.Add(`{"start_time":"2025-01-01T00:00:00Z","response_code":200}`, `{"value":{}}`, "router~10.0.0.1~gw.istio-system~x", "", false)
	f.Fuzz(func(t *testing.T, body, peer, node, cluster string, downstream bool) {
		conv, _ := newConverter(t)
		ld := plog.NewLogs()
		rl := ld.ResourceLogs().AppendEmpty()
		envoyResource(rl, node, cluster)
		lr := rl.ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
		lr.Body().SetStr(body)
		key := "upstream_peer"
		if downstream {
			key = "downstream_peer"
		}
		lr.Attributes().PutStr(key, peer)
		lr.Attributes().PutStr("connection_security_policy", cluster)
		var b schema.Batch
		var obs []graph.Observation
		conv.LogsToRows(ld, &b, &obs)
	})
}
