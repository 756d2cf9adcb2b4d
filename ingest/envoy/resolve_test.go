package envoy

import (
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/meshscope/meshscope/graph"
	"github.com/meshscope/meshscope/ingest/envoy/accesslog"
	"github.com/meshscope/meshscope/schema"
)

// resolveOne resolves a single record with a fresh resolver.
func resolveOne(t *testing.T, rec Record) (schema.RequestRow, *Resolver) {
	t.Helper()
	r := newTestResolver(t, newClock())
	var b Batch
	r.Add(&b, &rec)
	r.Settle(&b)
	require.Len(t, b.Rows.Requests, 1)
	return b.Rows.Requests[0], r
}

// TestClusterResolution: who called whom, by the cluster naming scheme of
// each mesh.
func TestClusterResolution(t *testing.T) {
	const consulID = "e08fa6d6-e91e-dfe0-f6e1-ba097a828e31"
	tests := []struct {
		name      string
		emitter   string
		gateway   bool
		entry     accesslog.Entry
		src, dst  string
		reporter  string
		dstDetail [4]string // namespace, workload, app, version
		mtls      uint8
	}{
		{name: "istio outbound with subset", emitter: "shop/web-v1",
			entry: accesslog.Entry{UpstreamCluster: "outbound|9080|v2|reviews.default.svc.cluster.local", Authority: "reviews:9080"},
			src:   "service:shop/web", dst: "service:default/reviews", reporter: "source",
			dstDetail: [4]string{"default", "", "reviews", "v2"}},
		{name: "istio outbound, 1.24 cluster with ';'", emitter: "shop/web",
			entry: accesslog.Entry{UpstreamCluster: "outbound|9080||reviews.default.svc.cluster.local;"},
			src:   "service:shop/web", dst: "service:default/reviews", reporter: "source",
			dstDetail: [4]string{"default", "", "reviews", ""}},
		{name: "istio SNI cluster", emitter: "istio-system/istio-ingressgateway", gateway: true,
			entry: accesslog.Entry{UpstreamCluster: "outbound_.9080_.v1_.ratings.default.svc.cluster.local"},
			src:   "service:istio-system/istio-ingressgateway", dst: "service:default/ratings", reporter: "gateway",
			dstDetail: [4]string{"default", "", "ratings", "v1"}},
		{name: "istio inbound", emitter: "default/ratings-v1",
			entry: accesslog.Entry{UpstreamCluster: "inbound|9080||", RequestedServerName: "outbound_.9080_._.ratings.default.svc.cluster.local"},
			src:   "client:/", dst: "service:default/ratings", reporter: "destination",
			dstDetail: [4]string{"default", "ratings-v1", "ratings", "v1"}, mtls: schema.SecurityMTLS},
		{name: "istio inbound, plaintext", emitter: "default/ratings-v1",
			entry: accesslog.Entry{UpstreamCluster: "inbound|9080||"},
			src:   "client:/", dst: "service:default/ratings", reporter: "destination",
			dstDetail: [4]string{"default", "ratings-v1", "ratings", "v1"}, mtls: schema.SecurityPlaintext},
		{name: "istio inbound before 1.10", emitter: "default/ratings-v1",
			entry: accesslog.Entry{UpstreamCluster: "inbound|9080|http|ratings.default.svc.cluster.local"},
			src:   "client:/", dst: "service:default/ratings", reporter: "destination",
			dstDetail: [4]string{"default", "ratings-v1", "ratings", "v1"}, mtls: schema.SecurityPlaintext},
		{name: "istio inbound, emitter unknown: the SNI tells", emitter: "",
			entry: accesslog.Entry{UpstreamCluster: "inbound|9080||", RequestedServerName: "outbound_.9080_._.ratings.default.svc.cluster.local"},
			src:   "client:/", dst: "service:default/ratings", reporter: "destination",
			dstDetail: [4]string{"default", "", "ratings", ""}, mtls: schema.SecurityMTLS},
		{name: "istio InboundPassthroughCluster", emitter: "default/legacy",
			entry: accesslog.Entry{UpstreamCluster: "InboundPassthroughCluster"},
			src:   "client:/", dst: "service:default/legacy", reporter: "destination",
			dstDetail: [4]string{"default", "legacy", "legacy", "latest"}, mtls: schema.SecurityPlaintext},
		{name: "istio waypoint", emitter: "default/waypoint",
			entry: accesslog.Entry{UpstreamCluster: "inbound-vip|9080|http|reviews.default.svc.cluster.local"},
			src:   "client:/", dst: "service:default/reviews", reporter: "destination",
			dstDetail: [4]string{"default", "", "reviews", ""}, mtls: schema.SecurityPlaintext},
		{name: "istio PassthroughCluster HTTP", emitter: "shop/web",
			entry: accesslog.Entry{UpstreamCluster: "PassthroughCluster", Authority: "api.stripe.com", UpstreamHost: "3.18.12.63:443"},
			src:   "service:shop/web", dst: "external:api.stripe.com", reporter: "source"},
		{name: "istio PassthroughCluster TCP", emitter: "shop/web",
			entry: accesslog.Entry{UpstreamCluster: "PassthroughCluster", UpstreamHost: "3.18.12.63:443"},
			src:   "service:shop/web", dst: "external:3.18.12.63", reporter: "source"},
		{name: "istio BlackHoleCluster", emitter: "shop/web",
			entry: accesslog.Entry{UpstreamCluster: "BlackHoleCluster", Authority: "evil.example.com", Method: "GET", Protocol: "HTTP/1.1"},
			src:   "service:shop/web", dst: "external:BlackHoleCluster", reporter: "source"},
		{name: "istio ServiceEntry host", emitter: "shop/web",
			entry: accesslog.Entry{UpstreamCluster: "outbound|443||api.github.com", Authority: "api.github.com"},
			src:   "service:shop/web", dst: "external:api.github.com", reporter: "source"},
		{name: "consul upstream", emitter: "shop/web",
			entry: accesslog.Entry{UpstreamCluster: "db.default.dc1.internal." + consulID + ".consul"},
			src:   "service:shop/web", dst: "service:default/db", reporter: "source",
			dstDetail: [4]string{"default", "", "db", ""}},
		{name: "consul subset upstream", emitter: "shop/web",
			entry: accesslog.Entry{UpstreamCluster: "v2.db.default.dc1.internal." + consulID + ".consul"},
			src:   "service:shop/web", dst: "service:default/db", reporter: "source",
			dstDetail: [4]string{"default", "", "db", "v2"}},
		{name: "consul local_app", emitter: "default/db",
			entry: accesslog.Entry{UpstreamCluster: "local_app"},
			src:   "client:/", dst: "service:default/db", reporter: "destination",
			dstDetail: [4]string{"default", "db", "db", "latest"}},
		{name: "consul original-destination", emitter: "shop/web",
			entry: accesslog.Entry{UpstreamCluster: "original-destination", Authority: "example.org"},
			src:   "service:shop/web", dst: "external:example.org", reporter: "source"},
		{name: "app mesh egress", emitter: "howto/front",
			entry: accesslog.Entry{UpstreamCluster: "cds_egress_howto-k8s-connection-pools_green_howto-k8s-connection-pools_http_8080"},
			src:   "service:howto/front", dst: "service:howto-k8s-connection-pools/green", reporter: "source",
			dstDetail: [4]string{"howto-k8s-connection-pools", "", "green", ""}},
		{name: "app mesh ingress", emitter: "server/color",
			entry: accesslog.Entry{UpstreamCluster: "cds_ingress_howto-grpc-mesh_color_server_grpc_8080"},
			src:   "client:/", dst: "service:server/color", reporter: "destination",
			dstDetail: [4]string{"server", "color", "color", "latest"}},
		{name: "gloo upstream", emitter: "gloo-system/gateway-proxy", gateway: true,
			entry: accesslog.Entry{UpstreamCluster: "default-petstore-8080_gloo-system"},
			src:   "service:gloo-system/gateway-proxy", dst: "service:default/petstore", reporter: "gateway",
			dstDetail: [4]string{"default", "", "petstore", ""}},
		{name: "plain envoy cluster", emitter: "edge/front-envoy",
			entry: accesslog.Entry{UpstreamCluster: "service1", UpstreamHost: "172.18.0.3:8000"},
			src:   "service:edge/front-envoy", dst: "service:/service1", reporter: "source",
			dstDetail: [4]string{"", "", "service1", ""}},
		{name: "no cluster, kubernetes host", emitter: "shop/web",
			entry: accesslog.Entry{Authority: "cart.shop.svc.cluster.local:8080", Method: "GET", Protocol: "HTTP/1.1"},
			src:   "service:shop/web", dst: "service:shop/cart", reporter: "source",
			dstDetail: [4]string{"shop", "", "cart", ""}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := Record{Entry: tc.entry}
			if rec.Entry.Method == "" {
				rec.Entry.Method, rec.Entry.Protocol, rec.Entry.RequestID = "GET", "HTTP/2", "id-1"
			}
			if tc.emitter != "" {
				rec.Emitter = mustEmitter(t, tc.emitter, tc.gateway)
			}
			row, _ := resolveOne(t, rec)
			require.Equal(t, tc.src, row.Source)
			require.Equal(t, tc.dst, row.Destination)
			require.Equal(t, tc.reporter, row.Reporter)
			require.Equal(t, tc.dstDetail, [4]string{row.DestinationNamespace, row.DestinationWorkload, row.DestinationApp, row.DestinationVersion})
			require.Equal(t, tc.mtls, row.MTLS)
		})
	}
}

// TestLearnedAddresses: the caller of an inbound entry is the workload
// known to have its downstream address: productpage's own inbound entry
// (istio-text.log line 5) reveals its address, so reviews' inbound entry
// from it (line 4) names it; an address learned only from an outbound
// cluster names the service.
func TestLearnedAddresses(t *testing.T) {
	p, err := accesslog.ParserFor(accesslog.PresetIstio)
	require.NoError(t, err)
	lines := readLines(t, "istio-text.log")
	r := newTestResolver(t, newClock())
	var b Batch
	for _, l := range []struct {
		n       int
		emitter string
	}{{5, "default/productpage-v1"}, {4, "default/reviews-v2"}} {
		var rec Record
		require.NoError(t, p.Parse(lines[l.n-1], &rec.Entry))
		rec.Emitter = mustEmitter(t, l.emitter, false)
		r.Add(&b, &rec)
	}
	r.Settle(&b)
	row := b.Rows.Requests[1]
	require.Equal(t, "service:default/productpage", row.Source)
	require.Equal(t, [4]string{"default", "productpage-v1", "productpage", "v1"},
		[4]string{row.SourceNamespace, row.SourceWorkload, row.SourceApp, row.SourceVersion})

	// An outbound entry teaches its upstream host as the service.
	out := Record{Emitter: mustEmitter(t, "shop/web", false), Entry: accesslog.Entry{
		Method: "GET", Protocol: "HTTP/1.1", UpstreamCluster: "outbound|80||cart.shop.svc.cluster.local",
		UpstreamHost: "10.1.0.7:8080", UpstreamLocalAddress: "10.1.0.3:41000",
	}}
	in := Record{Emitter: mustEmitter(t, "other/job", false), Entry: accesslog.Entry{
		Method: "GET", Protocol: "HTTP/1.1", UpstreamCluster: "inbound|80||", DownstreamRemoteAddress: "10.1.0.7:50000",
	}}
	in2 := Record{Emitter: mustEmitter(t, "other/job", false), Entry: accesslog.Entry{
		Method: "GET", Protocol: "HTTP/1.1", UpstreamCluster: "inbound|80||", DownstreamRemoteAddress: "10.1.0.3:50001",
	}}
	b.Reset()
	r.Add(&b, &out)
	r.Add(&b, &in)
	r.Add(&b, &in2)
	require.Equal(t, "service:shop/cart", b.Rows.Requests[1].Source)
	require.Equal(t, "", b.Rows.Requests[1].SourceWorkload)
	require.Equal(t, "service:shop/web", b.Rows.Requests[2].Source, "the emitter's upstream local address")
	require.Equal(t, "web", b.Rows.Requests[2].SourceWorkload)
}

// TestPeerMetadata: ALS filter state names both ends, in each encoding.
func TestPeerMetadata(t *testing.T) {
	lower, err := structpb.NewStruct(map[string]any{
		"workload": "reviews-v2", "namespace": "default", "cluster": "Kubernetes", "service": "reviews",
		"revision": "v2", "app": "reviews", "version": "v2", "name": "reviews-v2-5b64f47978-rv5ls", "type": "deployment",
	})
	require.NoError(t, err)
	upper, err := structpb.NewStruct(map[string]any{
		"WORKLOAD_NAME": "reviews-v2", "NAMESPACE": "default", "CLUSTER_ID": "Kubernetes",
		"LABELS": map[string]any{"service.istio.io/canonical-name": "reviews", "service.istio.io/canonical-revision": "v2"},
	})
	require.NoError(t, err)
	want := graph.Party{Kind: graph.KindService, Cluster: "Kubernetes", Namespace: "default", Name: "reviews",
		Workload: "reviews-v2", Version: "v2"}
	pack := func(t *testing.T, m *structpb.Struct) *anypb.Any {
		a, err := anypb.New(m)
		require.NoError(t, err)
		return a
	}
	str, err := anypb.New(wrapperspb.String(`{"@type":"type.googleapis.com/google.protobuf.Struct","value":` +
		`{"workload":"reviews-v2","namespace":"default","cluster":"Kubernetes","service":"reviews","revision":"v2"}}`))
	require.NoError(t, err)
	tests := []struct {
		name string
		get  func() (graph.Party, bool)
	}{
		{"struct", func() (graph.Party, bool) { return PeerFromAny(pack(t, lower)) }},
		{"node metadata struct", func() (graph.Party, bool) { return PeerFromAny(pack(t, upper)) }},
		{"json string in any", func() (graph.Party, bool) { return PeerFromAny(str) }},
		{"json", func() (graph.Party, bool) {
			return PeerFromString(`{"workload":"reviews-v2","namespace":"default","cluster":"Kubernetes","app":"reviews","version":"v2"}`)
		}},
		{"pairs", func() (graph.Party, bool) {
			return PeerFromString("type=deployment,workload=reviews-v2,cluster=Kubernetes,namespace=default,service=reviews,revision=v2")
		}},
		{"cached", func() (graph.Party, bool) {
			c := NewPeerCache(4)
			c.Any(pack(t, lower))
			return c.Any(pack(t, lower))
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, ok := tc.get()
			require.True(t, ok)
			require.Equal(t, want, p)
		})
	}
	_, ok := PeerFromString("not metadata")
	require.False(t, ok)

	// Peers on an inbound and an outbound entry.
	in := Record{Emitter: mustEmitter(t, "default/ratings-v1", false), DownstreamPeer: want, Entry: accesslog.Entry{
		Method: "GET", Protocol: "HTTP/2", UpstreamCluster: "inbound|9080||"}}
	row, _ := resolveOne(t, in)
	require.Equal(t, "service:default/reviews", row.Source)
	require.Equal(t, "reviews-v2", row.SourceWorkload)
	out := Record{Emitter: mustEmitter(t, "default/productpage-v1", false), UpstreamPeer: want, Entry: accesslog.Entry{
		Method: "GET", Protocol: "HTTP/2", UpstreamCluster: "outbound|9080||reviews.default.svc.cluster.local"}}
	row, _ = resolveOne(t, out)
	require.Equal(t, [4]string{"default", "reviews-v2", "reviews", "v2"},
		[4]string{row.DestinationNamespace, row.DestinationWorkload, row.DestinationApp, row.DestinationVersion})
}

// TestSignals: gRPC status, content type, trace ids and the security
// policy read from extra commands of a custom format.
func TestSignals(t *testing.T) {
	p, err := accesslog.ParserFor(`[%START_TIME%] "%REQ(:METHOD)% %REQ(:PATH)% %PROTOCOL%" %RESPONSE_CODE% ` +
		`%GRPC_STATUS% "%REQ(TRACEPARENT)%" %UPSTREAM_CLUSTER% %DYNAMIC_METADATA(istio:connection_security_policy)%`)
	require.NoError(t, err)
	var rec Record
	require.NoError(t, p.Parse([]byte(`[2024-01-01T00:00:00.000Z] "POST /pkg.Svc/Get HTTP/2" 200 Unavailable `+
		`"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01" outbound|50051||api.shop.svc.cluster.local mutual_tls`), &rec.Entry))
	rec.Emitter = mustEmitter(t, "shop/web", false)
	r := newTestResolver(t, newClock())
	var b Batch
	r.Add(&b, &rec)
	row := b.Rows.Requests[0]
	require.Equal(t, "grpc", row.Protocol)
	require.Equal(t, int16(14), row.GRPCStatus)
	require.Equal(t, "4bf92f3577b34da6a3ce929d0e0e4736", hexID(row.TraceID[:]))
	require.Equal(t, schema.SecurityMTLS, row.MTLS)
	require.Equal(t, []string{"GRPC_STATUS", "REQ(TRACEPARENT)", "DYNAMIC_METADATA(istio:connection_security_policy)"}, row.AttrKeys)
	require.Equal(t, uint64(1), b.Obs[0].Errors, "gRPC Unavailable")
	require.Equal(t, graph.ProtocolGRPC, b.Obs[0].Protocol)

	for in, want := range map[string]int16{"0": 0, "OK": 0, "14": 14, "UNAVAILABLE": 14, "Cancelled": 1, "DeadlineExceeded": 4} {
		got, ok := ParseGRPCStatus(in)
		require.True(t, ok, in)
		require.Equal(t, want, got, in)
	}
	_, ok := ParseGRPCStatus("-")
	require.False(t, ok)
	id, ok := HexTraceID("a3ce929d0e0e4736")
	require.True(t, ok)
	require.Equal(t, "0000000000000000a3ce929d0e0e4736", hexID(id[:]))
}

func hexID(b []byte) string {
	const digits = "0123456789abcdef"
	out := make([]byte, 0, 2*len(b))
	for _, c := range b {
		out = append(out, digits[c>>4], digits[c&15])
	}
	return string(out)
}

// TestEmitters: emitters named by users and by Envoy nodes.
func TestEmitters(t *testing.T) {
	em, err := ParseEmitter("default/reviews-v2")
	require.NoError(t, err)
	require.Equal(t, "default/reviews-v2", em.Name())
	require.Equal(t, graph.Party{Kind: graph.KindService, Namespace: "default", Name: "reviews", Workload: "reviews-v2", Version: "v2"}, em.Party())
	for _, bad := range []string{"", "a/", "a/b/c", "ns/has space"} {
		_, err := ParseEmitter(bad)
		require.Error(t, err, bad)
	}

	tests := []struct {
		name string
		node NodeInfo
		want Emitter
	}{
		{"istio sidecar", NodeInfo{
			ID:        "sidecar~10.44.1.23~sleep-5fcd8fd6c8-2kq6z.foo~foo.svc.cluster.local",
			Namespace: "foo", WorkloadName: "sleep", InstanceIPs: "10.44.1.23,fe80::1", ClusterID: "Kubernetes",
			Labels: map[string]string{"app": "sleep", "service.istio.io/canonical-revision": "v1"},
		}, Emitter{Namespace: "foo", Workload: "sleep", App: "sleep", Version: "v1", Cluster: "Kubernetes",
			Pod: "sleep-5fcd8fd6c8-2kq6z", IPs: []string{"10.44.1.23", "fe80::1"}}},
		{"istio gateway without metadata", NodeInfo{
			ID: "router~10.0.0.5~istio-ingressgateway-7d4b8c9f5-x2kq6.istio-system~istio-system.svc.cluster.local",
		}, Emitter{Namespace: "istio-system", Workload: "istio-ingressgateway", App: "istio-ingressgateway", Version: "latest",
			Pod: "istio-ingressgateway-7d4b8c9f5-x2kq6", IPs: []string{"10.0.0.5"}, Gateway: true}},
		{"plain envoy", NodeInfo{ID: "front-envoy-1", Cluster: "front-proxy"},
			Emitter{Workload: "front-proxy", App: "front-proxy", Version: "latest", Pod: "front-envoy-1"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := NodeEmitter(tc.node)
			require.Equal(t, tc.want.Namespace, got.Namespace)
			require.Equal(t, tc.want.Workload, got.Workload)
			require.Equal(t, tc.want.App, got.App)
			require.Equal(t, tc.want.Version, got.Version)
			require.Equal(t, tc.want.Cluster, got.Cluster)
			require.Equal(t, tc.want.Pod, got.Pod)
			require.Equal(t, tc.want.IPs, got.IPs)
			require.Equal(t, tc.want.Gateway, got.Gateway)
		})
	}
}
