package demo

import (
	"fmt"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	alsdata "github.com/envoyproxy/go-control-plane/envoy/data/accesslog/v3"
	alsservice "github.com/envoyproxy/go-control-plane/envoy/service/accesslog/v3"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/structpb"
)

// Log names of Istio's Access Log Service providers (envoyHttpAls and
// envoyTcpAls); Envoy keeps one stream per log name.
const (
	alsHTTPLogName = "http_envoy_accesslog"
	alsTCPLogName  = "tcp_envoy_accesslog"
	// istioVersion is the proxy version the sidecars claim.
	istioVersion = "1.24.2"
)

// Field numbers of envoy.service.accesslog.v3.StreamAccessLogsMessage.
const (
	alsFieldIdentifier protowire.Number = 1
	alsFieldHTTPLogs   protowire.Number = 2
	alsFieldTCPLogs    protowire.Number = 3
)

// alsEncoder encodes Envoy access log entries as the ALS messages of
// envoy.data.accesslog.v3. The parts that depend only on a pod or a
// workload (the stream identifier with Istio's node metadata, the peer
// metadata in the filter state, the certificate identities) are encoded
// once; the rest is appended per entry.
type alsEncoder struct {
	ident     [][2][]byte // by pod: the identifier field for the HTTP and TCP log names
	upPeer    [][]byte    // by pod: filter_state_objects entry "upstream_peer"
	downPeer  [][]byte    // by pod: filter_state_objects entry "downstream_peer"
	localCert [][]byte    // by workload: TLSProperties.local_certificate_properties
	peerCert  [][]byte    // by workload: TLSProperties.peer_certificate_properties
	common    []byte      // scratch
}

func newALSEncoder(t *Topology) (*alsEncoder, error) {
	a := &alsEncoder{
		ident: make([][2][]byte, len(t.Pods)), upPeer: make([][]byte, len(t.Pods)), downPeer: make([][]byte, len(t.Pods)),
		localCert: make([][]byte, len(t.Workloads)), peerCert: make([][]byte, len(t.Workloads)),
	}
	det := proto.MarshalOptions{Deterministic: true}
	for _, p := range t.Pods {
		for i, name := range []string{alsHTTPLogName, alsTCPLogName} {
			b, err := det.Marshal(&alsservice.StreamAccessLogsMessage{Identifier: &alsservice.StreamAccessLogsMessage_Identifier{
				Node: istioNode(p), LogName: name}})
			if err != nil {
				return nil, fmt.Errorf("encode ALS identifier of %s: %w", p.Name, err)
			}
			a.ident[p.Index][i] = b
		}
		peer := new(anypb.Any)
		if err := anypb.MarshalFrom(peer, peerStruct(p), det); err != nil {
			return nil, fmt.Errorf("encode peer metadata of %s: %w", p.Name, err)
		}
		for _, key := range []string{"upstream_peer", "downstream_peer"} {
			b, err := det.Marshal(&alsdata.AccessLogCommon{FilterStateObjects: map[string]*anypb.Any{key: peer}})
			if err != nil {
				return nil, fmt.Errorf("encode peer metadata of %s: %w", p.Name, err)
			}
			if key == "upstream_peer" {
				a.upPeer[p.Index] = b
			} else {
				a.downPeer[p.Index] = b
			}
		}
	}
	for _, w := range t.Workloads {
		cert := &alsdata.TLSProperties_CertificateProperties{SubjectAltName: []*alsdata.TLSProperties_CertificateProperties_SubjectAltName{
			{San: &alsdata.TLSProperties_CertificateProperties_SubjectAltName_Uri{Uri: w.Principal()}}}}
		local, err := det.Marshal(&alsdata.TLSProperties{LocalCertificateProperties: cert})
		if err != nil {
			return nil, fmt.Errorf("encode certificate of %s: %w", w.Name, err)
		}
		peer, err := det.Marshal(&alsdata.TLSProperties{PeerCertificateProperties: cert})
		if err != nil {
			return nil, fmt.Errorf("encode certificate of %s: %w", w.Name, err)
		}
		a.localCert[w.Index], a.peerCert[w.Index] = local, peer
	}
	return a, nil
}

// istioNode is the Envoy node of a pod's sidecar with Istio's metadata.
func istioNode(p *Pod) *corev3.Node {
	w := p.Workload
	s := w.Service
	labels := map[string]any{
		"app":                                 s.Name,
		"service.istio.io/canonical-name":     s.Name,
		"service.istio.io/canonical-revision": w.Version,
		"security.istio.io/tlsMode":           "istio",
	}
	if w.Version != "latest" {
		labels["version"] = w.Version
	}
	meta, err := structpb.NewStruct(map[string]any{
		"NAMESPACE":       s.Namespace,
		"WORKLOAD_NAME":   w.Name,
		"NAME":            p.Name,
		"INSTANCE_IPS":    p.IP,
		"CLUSTER_ID":      clusterID,
		"MESH_ID":         meshDomain,
		"SERVICE_ACCOUNT": w.ServiceAccount,
		"ISTIO_VERSION":   istioVersion,
		"LABELS":          labels,
	})
	if err != nil {
		panic(err) // only strings and maps of strings: cannot fail
	}
	return &corev3.Node{Id: p.NodeID(), Cluster: s.Name + "." + s.Namespace, Metadata: meta, UserAgentName: "envoy"}
}

// peerStruct is Istio's peer metadata of a pod (WorkloadMetadataObject).
func peerStruct(p *Pod) *structpb.Struct {
	w := p.Workload
	s := w.Service
	kind := "deployment"
	if s.Kind == KindCache || s.Kind == KindDatabase || s.Kind == KindBroker {
		kind = "statefulset"
	}
	st, err := structpb.NewStruct(map[string]any{
		"workload": w.Name, "namespace": s.Namespace, "cluster": clusterID, "service": s.Name,
		"revision": w.Version, "app": s.Name, "version": w.Version, "name": p.Name, "type": kind,
	})
	if err != nil {
		panic(err)
	}
	return st
}

// Field numbers of envoy.data.accesslog.v3.AccessLogCommon.
const (
	fSampleRate        protowire.Number = 1
	fDownstreamRemote  protowire.Number = 2
	fDownstreamLocal   protowire.Number = 3
	fTLS               protowire.Number = 4
	fStartTime         protowire.Number = 5
	fLastRx            protowire.Number = 6
	fFirstUpstreamTx   protowire.Number = 7
	fFirstUpstreamRx   protowire.Number = 9
	fFirstDownstreamTx protowire.Number = 11
	fLastDownstreamTx  protowire.Number = 12
	fUpstreamRemote    protowire.Number = 13
	fUpstreamLocal     protowire.Number = 14
	fUpstreamCluster   protowire.Number = 15
	fResponseFlags     protowire.Number = 16
	fFailureReason     protowire.Number = 18
	fRouteName         protowire.Number = 19
	fDuration          protowire.Number = 23
	fAttemptCount      protowire.Number = 24
)

// appendAddressField appends an envoy.config.core.v3.Address with a
// socket address.
func appendAddressField(b []byte, num protowire.Number, a addr) []byte {
	if a.ip == "" {
		return b
	}
	b, m := openField(b, num)
	b, s := openField(b, 1) // socket_address
	b = appendStringField(b, 2, a.ip)
	b = appendVarintField(b, 3, uint64(a.port))
	b = closeField(b, s)
	return closeField(b, m)
}

// appendCommon appends the AccessLogCommon of e (without its field tag).
func (a *alsEncoder) appendCommon(b []byte, e *logEntry) []byte {
	b = appendDoubleField(b, fSampleRate, 1) // Envoy logs every request
	b = appendAddressField(b, fDownstreamRemote, e.dsRemote)
	b = appendAddressField(b, fDownstreamLocal, e.dsLocal)
	switch {
	case e.mtls:
		var m int
		b, m = openField(b, fTLS)
		b = appendVarintField(b, 1, uint64(alsdata.TLSProperties_TLSv1_3))
		b = appendStringField(b, 3, e.sni)
		b = append(b, a.localCert[e.dstWL.Index]...)
		b = append(b, a.peerCert[e.srcWL.Index]...)
		b = closeField(b, m)
	case e.sni != "":
		// TLS the sidecar passes through: current Envoy logs the SNI its
		// TLS inspector read, without the rest of the TLS properties.
		var m int
		b, m = openField(b, fTLS)
		b = appendStringField(b, 3, e.sni)
		b = closeField(b, m)
	}
	b = appendTimestampField(b, fStartTime, e.start)
	b = appendDurationField(b, fLastRx, min(e.dur, 80_000))
	if e.usLocal.ip != "" {
		b = appendDurationField(b, fFirstUpstreamTx, min(e.dur, 150_000))
		if e.upstreamTime >= 0 {
			b = appendDurationField(b, fFirstUpstreamRx, max(e.dur-60_000, 0))
		}
	}
	b = appendDurationField(b, fFirstDownstreamTx, max(e.dur-40_000, 0))
	b = appendDurationField(b, fLastDownstreamTx, e.dur)
	b = appendAddressField(b, fUpstreamRemote, e.usHost)
	b = appendAddressField(b, fUpstreamLocal, e.usLocal)
	b = appendStringField(b, fUpstreamCluster, e.cluster)
	if e.st.flags == "UF" && !e.tcp {
		var m int
		b, m = openField(b, fResponseFlags)
		b = appendVarintField(b, 6, 1) // upstream_connection_failure
		b = closeField(b, m)
	}
	if !e.tcp {
		b = appendStringField(b, fFailureReason, e.st.failReason)
	}
	b = appendStringField(b, fRouteName, e.route)
	if e.peer != nil {
		if e.inbound {
			b = append(b, a.downPeer[e.peer.Index]...)
		} else {
			b = append(b, a.upPeer[e.peer.Index]...)
		}
	}
	b = appendDurationField(b, fDuration, e.dur)
	if !e.tcp && e.usLocal.ip != "" {
		b = appendVarintField(b, fAttemptCount, 1)
	}
	return b
}

// appendHTTP appends e as a log_entry of HTTPAccessLogEntries.
func (a *alsEncoder) appendHTTP(b []byte, e *logEntry) []byte {
	a.common = a.appendCommon(a.common[:0], e)
	b, m := openField(b, 1)
	b = appendBytesField(b, 1, a.common)
	version := alsdata.HTTPAccessLogEntry_HTTP11
	if e.grpc {
		version = alsdata.HTTPAccessLogEntry_HTTP2
	}
	b = appendVarintField(b, 2, uint64(version))

	var r int
	b, r = openField(b, 3) // request
	b = appendVarintField(b, 1, uint64(methodEnum(e.method)))
	b = appendStringField(b, 2, "http")
	b = appendStringField(b, 3, e.authority)
	b = appendStringField(b, 5, e.path)
	b = appendStringField(b, 6, e.userAgent)
	b = appendStringField(b, 8, e.forwardedFor)
	if len(e.reqID) > 0 {
		b = protowire.AppendTag(b, 9, protowire.BytesType)
		b = protowire.AppendVarint(b, uint64(len(e.reqID)))
		b = append(b, e.reqID...)
	}
	b = appendVarintField(b, 11, 420)
	b = appendVarintField(b, 12, uint64(e.bytesIn))
	if len(e.traceparent) > 0 {
		var h int
		b, h = openField(b, 13) // request_headers
		b = appendStringField(b, 1, "traceparent")
		b = protowire.AppendTag(b, 2, protowire.BytesType)
		b = protowire.AppendVarint(b, uint64(len(e.traceparent)))
		b = append(b, e.traceparent...)
		b = closeField(b, h)
	}
	b = closeField(b, r)

	b, r = openField(b, 4) // response
	if e.st.code != 0 {
		var c int
		b, c = openField(b, 1)
		b = appendVarintField(b, 1, uint64(e.st.code))
		b = closeField(b, c)
	}
	b = appendVarintField(b, 2, 180)
	b = appendVarintField(b, 3, uint64(e.bytesOut))
	if e.grpc {
		var t int
		b, t = openField(b, 5) // response_trailers
		b = appendStringField(b, 1, "grpc-status")
		b = appendStringField(b, 2, e.st.grpcStr)
		b = closeField(b, t)
	}
	b = appendStringField(b, 6, e.st.details)
	b = closeField(b, r)
	return closeField(b, m)
}

// appendTCP appends e as a log_entry of TCPAccessLogEntries.
func (a *alsEncoder) appendTCP(b []byte, e *logEntry) []byte {
	a.common = a.appendCommon(a.common[:0], e)
	b, m := openField(b, 1)
	b = appendBytesField(b, 1, a.common)
	var c int
	b, c = openField(b, 2) // connection_properties
	b = appendVarintField(b, 1, uint64(e.bytesIn))
	b = appendVarintField(b, 2, uint64(e.bytesOut))
	b = closeField(b, c)
	return closeField(b, m)
}

func methodEnum(m string) corev3.RequestMethod {
	switch m {
	case "GET":
		return corev3.RequestMethod_GET
	case "POST":
		return corev3.RequestMethod_POST
	case "PUT":
		return corev3.RequestMethod_PUT
	case "DELETE":
		return corev3.RequestMethod_DELETE
	}
	return corev3.RequestMethod_METHOD_UNSPECIFIED
}

// alsMessage appends a StreamAccessLogsMessage carrying entries (log_entry
// fields appended by appendHTTP or appendTCP) and, when first, the
// stream's identifier.
func (a *alsEncoder) alsMessage(b []byte, pod *Pod, tcp, first bool, entries []byte) []byte {
	i, field := 0, alsFieldHTTPLogs
	if tcp {
		i, field = 1, alsFieldTCPLogs
	}
	if first {
		b = append(b, a.ident[pod.Index][i]...)
	}
	return appendBytesField(b, field, entries)
}
