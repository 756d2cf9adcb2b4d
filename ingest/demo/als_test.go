package demo

import (
	"strings"
	"testing"
	"time"

	alsdata "github.com/envoyproxy/go-control-plane/envoy/data/accesslog/v3"
	alsservice "github.com/envoyproxy/go-control-plane/envoy/service/accesslog/v3"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/meshscope/meshscope/ingest/envoy/accesslog"
)

// decodeALS decodes a captured batch as the first message of a stream.
func decodeALS(t *testing.T, enc *alsEncoder, a capturedALS) *alsservice.StreamAccessLogsMessage {
	t.Helper()
	var m alsservice.StreamAccessLogsMessage
	require.NoError(t, proto.Unmarshal(enc.alsMessage(nil, a.pod, a.tcp, true, a.entries), &m))
	require.NoError(t, m.ValidateAll())
	return &m
}

// peerOf reads the workload of Istio's peer metadata in the filter state.
func peerOf(t *testing.T, c *alsdata.AccessLogCommon, key string) string {
	t.Helper()
	a := c.GetFilterStateObjects()[key]
	if a == nil {
		return ""
	}
	var s structpb.Struct
	require.NoError(t, a.UnmarshalTo(&s))
	return s.Fields["namespace"].GetStringValue() + "/" + s.Fields["workload"].GetStringValue()
}

func TestALSDecodes(t *testing.T) {
	cfg := testConfig()
	cfg.Scenario = ScenarioFailingDependency
	c := &capture{}
	g, topo := newTestGenerator(t, cfg, c)
	g.setElapsed(cfg.ScenarioPeriod) // the dependency fails: UF entries
	generateAll(g, 300, time.Now())
	require.NotEmpty(t, c.alsBatches)

	type sides struct{ out, in *alsdata.HTTPAccessLogEntry }
	byID := map[string]*sides{}
	var tcpOut, tcpIn, mtls, uf int
	for _, a := range c.alsBatches {
		m := decodeALS(t, g.als, a)
		node := m.GetIdentifier().GetNode()
		require.Equal(t, a.pod.NodeID(), node.GetId())
		meta := node.GetMetadata().GetFields()
		w := a.pod.Workload
		require.Equal(t, w.Service.Namespace, meta["NAMESPACE"].GetStringValue())
		require.Equal(t, w.Name, meta["WORKLOAD_NAME"].GetStringValue())
		require.Equal(t, a.pod.IP, meta["INSTANCE_IPS"].GetStringValue())
		require.Equal(t, w.Service.Name, meta["LABELS"].GetStructValue().GetFields()["app"].GetStringValue())
		require.NotEqual(t, topo.TextNamespace, w.Service.Namespace, "the text namespace does not stream")

		if a.tcp {
			require.Equal(t, alsTCPLogName, m.GetIdentifier().GetLogName())
			require.Len(t, m.GetTcpLogs().GetLogEntry(), a.n)
			for _, e := range m.GetTcpLogs().GetLogEntry() {
				cl := accesslog.DecodeCluster(e.GetCommonProperties().GetUpstreamCluster())
				if cl.Direction == accesslog.DirectionInbound {
					tcpIn++
					require.NotEmpty(t, peerOf(t, e.GetCommonProperties(), "downstream_peer"))
				} else {
					tcpOut++
				}
			}
			continue
		}
		require.Equal(t, alsHTTPLogName, m.GetIdentifier().GetLogName())
		require.Len(t, m.GetHttpLogs().GetLogEntry(), a.n)
		for _, e := range m.GetHttpLogs().GetLogEntry() {
			cp := e.GetCommonProperties()
			id := e.GetRequest().GetRequestId()
			require.Len(t, id, 36)
			s := byID[id]
			if s == nil {
				s = &sides{}
				byID[id] = s
			}
			cl := accesslog.DecodeCluster(cp.GetUpstreamCluster())
			require.Equal(t, accesslog.MeshIstio, cl.Mesh, "cluster %q", cp.GetUpstreamCluster())
			if cl.Direction == accesslog.DirectionInbound {
				require.Nil(t, s.in, "one inbound entry per request id")
				s.in = e
				require.Equal(t, w.Service.Port, cl.Port)
				require.NotEmpty(t, peerOf(t, cp, "downstream_peer"))
				if w.Service.MTLS {
					mtls++
					tls := cp.GetTlsProperties()
					require.Equal(t, alsdata.TLSProperties_TLSv1_3, tls.GetTlsVersion())
					require.True(t, strings.HasPrefix(tls.GetTlsSniHostname(), "outbound_."))
					require.Equal(t, w.Principal(), tls.GetLocalCertificateProperties().GetSubjectAltName()[0].GetUri())
				} else {
					require.Nil(t, cp.GetTlsProperties())
				}
				continue
			}
			require.Nil(t, s.out, "one outbound entry per request id")
			s.out = e
			require.NotNil(t, topo.Service(cl.Namespace, cl.Service), "cluster %q names a service", cp.GetUpstreamCluster())
			if cp.GetResponseFlags().GetUpstreamConnectionFailure() {
				uf++
				require.Empty(t, peerOf(t, cp, "upstream_peer"))
				require.Equal(t, "upstream_reset_before_response_started{connection_failure}", e.GetResponse().GetResponseCodeDetails())
			} else {
				require.NotEmpty(t, peerOf(t, cp, "upstream_peer"))
			}
		}
	}
	require.Positive(t, tcpOut)
	require.Positive(t, tcpIn)
	require.Positive(t, mtls)
	require.Positive(t, uf, "the failing dependency's callers log UF")

	paired, traced := 0, 0
	for id, s := range byID {
		if s.out == nil || s.in == nil {
			continue // the other side is in the text namespace, or never reached
		}
		paired++
		require.Equal(t, s.out.GetRequest().GetAuthority(), s.in.GetRequest().GetAuthority(), id)
		require.Equal(t, s.out.GetRequest().GetRequestMethod(), s.in.GetRequest().GetRequestMethod(), id)
		require.Equal(t, s.out.GetResponse().GetResponseCode().GetValue(), s.in.GetResponse().GetResponseCode().GetValue(), id)
		tp := s.out.GetRequest().GetRequestHeaders()["traceparent"]
		require.Equal(t, tp, s.in.GetRequest().GetRequestHeaders()["traceparent"], id)
		if tp != "" {
			traced++
			require.Len(t, tp, 55)
			require.True(t, strings.HasPrefix(tp, "00-") && strings.HasSuffix(tp, "-01"), tp)
		}
		require.True(t, proto.Equal(s.out.GetCommonProperties().GetUpstreamLocalAddress(), s.in.GetCommonProperties().GetDownstreamRemoteAddress()),
			"the caller's connection is the callee's downstream: %s", id)
		require.LessOrEqual(t, s.in.GetCommonProperties().GetDuration().AsDuration(), s.out.GetCommonProperties().GetDuration().AsDuration())
	}
	require.Positive(t, paired)
	require.Positive(t, traced, "calls of sampled traces carry their traceparent")
}

func TestALSMessageIdentifierOnlyFirst(t *testing.T) {
	c := &capture{}
	g, _ := newTestGenerator(t, testConfig(), c)
	generateAll(g, 20, time.Now())
	a := c.alsBatches[0]
	var m alsservice.StreamAccessLogsMessage
	require.NoError(t, proto.Unmarshal(g.als.alsMessage(nil, a.pod, a.tcp, false, a.entries), &m))
	require.Nil(t, m.GetIdentifier())
	require.Equal(t, a.n, len(m.GetHttpLogs().GetLogEntry())+len(m.GetTcpLogs().GetLogEntry()))
}
