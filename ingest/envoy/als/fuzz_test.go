package als

import (
	"context"
	"testing"
	"time"

	dataal "github.com/envoyproxy/go-control-plane/envoy/data/accesslog/v3"
	svcal "github.com/envoyproxy/go-control-plane/envoy/service/accesslog/v3"
	"google.golang.org/protobuf/proto"

	"github.com/meshscope/meshscope/ingest"
	"github.com/meshscope/meshscope/ingest/envoy"
)

// FuzzAddMessage feeds StreamAccessLogsMessage wire bytes, real ones (an
// identifier with Istio's node metadata, inbound and outbound HTTP entries
// with peer metadata, a TCP entry) and their mutations, through the
// message reader, the entry conversion and the resolver, as a stream does:
// nothing may panic, whatever the bytes.
func FuzzAddMessage(f *testing.F) {
	node := istioNode(f, "sidecar", "10.244.0.9", "productpage-v1-6b746f74dc-9stvs", "default", "productpage-v1",
		map[string]any{"app": "productpage", "version": "v1"})
	for _, msg := range []*svcal.StreamAccessLogsMessage{
		{Identifier: &svcal.StreamAccessLogsMessage_Identifier{Node: node, LogName: "envoyHttpAls"},
			LogEntries: httpLogs(outboundEntry(f, "req-1"), inboundEntry(f, "req-2"))},
		{LogEntries: httpLogs(inboundEntry(f, "req-3"))},
		{Identifier: &svcal.StreamAccessLogsMessage_Identifier{Node: node, LogName: "envoyTcpAls"},
			LogEntries: &svcal.StreamAccessLogsMessage_TcpLogs{TcpLogs: &svcal.StreamAccessLogsMessage_TCPAccessLogEntries{
				LogEntry: []*dataal.TCPAccessLogEntry{tcpEntry()}}}},
	} {
		b, err := proto.Marshal(msg)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		res, err := envoy.NewResolver(envoy.Config{Wait: time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		app := &recorder{}
		st := NewService(res, app, ingest.NewMetrics(nil), Config{}).newStream()
		st.addMessage(b)
		st.addMessage(b) // a second message on the same stream
		if err := st.flush(context.Background()); err != nil {
			t.Fatal(err)
		}
	})
}
