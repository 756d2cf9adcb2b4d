package accesslog

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestDecodeCluster(t *testing.T) {
	const consulID = "e5b08d03-bfc3-c870-1833-baddb116e648"
	out, in := DirectionOutbound, DirectionInbound
	tests := []struct {
		name string
		want Cluster
	}{
		// No cluster.
		{"", Cluster{}},
		{"-", Cluster{Name: "-"}},

		// Istio.
		{"outbound|9080|v1|reviews.default.svc.cluster.local", Cluster{
			Mesh: MeshIstio, Kind: KindService, Direction: out, Port: 9080, Subset: "v1",
			Host: "reviews.default.svc.cluster.local", Service: "reviews", Namespace: "default"}},
		{"outbound|8000||httpbin.foo.svc.cluster.local", Cluster{
			Mesh: MeshIstio, Kind: KindService, Direction: out, Port: 8000,
			Host: "httpbin.foo.svc.cluster.local", Service: "httpbin", Namespace: "foo"}},
		{"outbound|9080|v2|reviews.bookinfo.svc.mycluster.example;", Cluster{
			Name: "outbound|9080|v2|reviews.bookinfo.svc.mycluster.example",
			Mesh: MeshIstio, Kind: KindService, Direction: out, Port: 9080, Subset: "v2",
			Host: "reviews.bookinfo.svc.mycluster.example", Service: "reviews", Namespace: "bookinfo"}},
		{"outbound|443||edition.cnn.com", Cluster{
			Mesh: MeshIstio, Kind: KindService, Direction: out, Port: 443,
			Host: "edition.cnn.com", Service: "edition.cnn.com"}},
		{"outbound|9080||reviews.default.global", Cluster{
			Mesh: MeshIstio, Kind: KindService, Direction: out, Port: 9080,
			Host: "reviews.default.global", Service: "reviews", Namespace: "default"}},
		{"outbound|15008||waypoint.default.svc.cluster.local", Cluster{
			Mesh: MeshIstio, Kind: KindService, Direction: out, Port: 15008,
			Host: "waypoint.default.svc.cluster.local", Service: "waypoint", Namespace: "default"}},
		{"inbound|9080||", Cluster{Mesh: MeshIstio, Kind: KindService, Direction: in, Port: 9080}},
		{"inbound|9080|http|reviews.default.svc.cluster.local", Cluster{
			Mesh: MeshIstio, Kind: KindService, Direction: in, Port: 9080, Subset: "http",
			Host: "reviews.default.svc.cluster.local", Service: "reviews", Namespace: "default"}},
		{"inbound-vip|8080|http|handson.default.svc.cluster.local;", Cluster{
			Name: "inbound-vip|8080|http|handson.default.svc.cluster.local",
			Mesh: MeshIstio, Kind: KindService, Direction: in, Port: 8080, Protocol: "http",
			Host: "handson.default.svc.cluster.local", Service: "handson", Namespace: "default"}},
		{"inbound-vip|9080|http/v1|reviews.default.svc.cluster.local", Cluster{
			Mesh: MeshIstio, Kind: KindService, Direction: in, Port: 9080, Protocol: "http", Subset: "v1",
			Host: "reviews.default.svc.cluster.local", Service: "reviews", Namespace: "default"}},
		{"inbound-vip|http|service.default.svc.cluster.local", Cluster{
			Mesh: MeshIstio, Kind: KindService, Direction: in, Protocol: "http",
			Host: "service.default.svc.cluster.local", Service: "service", Namespace: "default"}},
		{"inbound-vip|80|http|*.domain.com", Cluster{
			Mesh: MeshIstio, Kind: KindService, Direction: in, Port: 80, Protocol: "http",
			Host: "*.domain.com", Service: "*.domain.com"}},
		{"outbound_.9080_._.reviews.default.svc.cluster.local", Cluster{
			Mesh: MeshIstio, Kind: KindService, Direction: out, Port: 9080,
			Host: "reviews.default.svc.cluster.local", Service: "reviews", Namespace: "default"}},
		{"outbound_.9080_.v2_.reviews.default.svc.cluster.local", Cluster{
			Mesh: MeshIstio, Kind: KindService, Direction: out, Port: 9080, Subset: "v2",
			Host: "reviews.default.svc.cluster.local", Service: "reviews", Namespace: "default"}},
		{"PassthroughCluster", Cluster{Mesh: MeshIstio, Kind: KindPassthrough, Direction: out}},
		{"BlackHoleCluster", Cluster{Mesh: MeshIstio, Kind: KindBlackHole, Direction: out}},
		{"InboundPassthroughCluster", Cluster{Mesh: MeshIstio, Kind: KindInboundPassthrough, Direction: in}},
		{"InboundPassthroughClusterIpv4", Cluster{Mesh: MeshIstio, Kind: KindInboundPassthrough, Direction: in}},
		{"xds-grpc", Cluster{Mesh: MeshIstio, Kind: KindInternal}},
		{"prometheus_stats", Cluster{Mesh: MeshIstio, Kind: KindInternal}},

		// Consul.
		{"local_app", Cluster{Mesh: MeshConsul, Kind: KindService, Direction: in}},
		{"local_agent", Cluster{Mesh: MeshConsul, Kind: KindInternal}},
		{"original-destination", Cluster{Mesh: MeshConsul, Kind: KindPassthrough, Direction: out}},
		{"exposed_cluster_9090", Cluster{Mesh: MeshConsul, Kind: KindService, Direction: in, Port: 9090}},
		{"backend.default.dc1.internal.e08fa6d6-e91e-dfe0-f6e1-ba097a828e31.consul", Cluster{
			Mesh: MeshConsul, Kind: KindService, Direction: out,
			Host:    "backend.default.dc1.internal.e08fa6d6-e91e-dfe0-f6e1-ba097a828e31.consul",
			Service: "backend", Namespace: "default", Datacenter: "dc1"}},
		{"v2.db.default.dc1.internal." + consulID + ".consul", Cluster{
			Mesh: MeshConsul, Kind: KindService, Direction: out, Host: "v2.db.default.dc1.internal." + consulID + ".consul",
			Subset: "v2", Service: "db", Namespace: "default", Datacenter: "dc1"}},
		{"db.team-a.ap1.dc2.internal-v1." + consulID + ".consul", Cluster{
			Mesh: MeshConsul, Kind: KindService, Direction: out, Host: "db.team-a.ap1.dc2.internal-v1." + consulID + ".consul",
			Service: "db", Namespace: "team-a", Partition: "ap1", Datacenter: "dc2"}},
		{"canary.db.team-a.ap1.dc2.internal-v1." + consulID + ".consul", Cluster{
			Mesh: MeshConsul, Kind: KindService, Direction: out, Host: "canary.db.team-a.ap1.dc2.internal-v1." + consulID + ".consul",
			Subset: "canary", Service: "db", Namespace: "team-a", Partition: "ap1", Datacenter: "dc2"}},
		{"payments.default.default.cluster-02.external." + consulID + ".consul", Cluster{
			Mesh: MeshConsul, Kind: KindService, Direction: out, Host: "payments.default.default.cluster-02.external." + consulID + ".consul",
			Service: "payments", Namespace: "default", Partition: "default", Peer: "cluster-02"}},
		{"geo-db.default.dc1.query." + consulID + ".consul", Cluster{
			Mesh: MeshConsul, Kind: KindService, Direction: out, Host: "geo-db.default.dc1.query." + consulID + ".consul",
			Service: "geo-db", Namespace: "default", Datacenter: "dc1"}},
		{"dc2.internal." + consulID + ".consul", Cluster{
			Mesh: MeshConsul, Kind: KindService, Direction: out, Host: "dc2.internal." + consulID + ".consul",
			Datacenter: "dc2"}},
		{"passthrough~db.default.dc1.internal." + consulID + ".consul", Cluster{
			Mesh: MeshConsul, Kind: KindService, Direction: out, Host: "db.default.dc1.internal." + consulID + ".consul",
			Service: "db", Namespace: "default", Datacenter: "dc1"}},
		{"failover-target~0~db.default.dc2.internal." + consulID + ".consul", Cluster{
			Mesh: MeshConsul, Kind: KindService, Direction: out, Host: "db.default.dc2.internal." + consulID + ".consul",
			Service: "db", Namespace: "default", Datacenter: "dc2"}},
		{"db?peer=cluster-01", Cluster{Mesh: MeshConsul, Kind: KindService, Direction: out, Service: "db", Peer: "cluster-01"}},
		{"db?dc=dc2", Cluster{Mesh: MeshConsul, Kind: KindService, Direction: out, Service: "db", Datacenter: "dc2"}},
		{"prepared_query:geo-db?dc=dc3", Cluster{Mesh: MeshConsul, Kind: KindService, Direction: out, Service: "geo-db", Datacenter: "dc3"}},
		{"ap1/team-a/db?peer=p1", Cluster{
			Mesh: MeshConsul, Kind: KindService, Direction: out, Service: "db", Partition: "ap1", Namespace: "team-a", Peer: "p1"}},

		// AWS App Mesh.
		{"cds_egress_prod_virtual-node-a_http_3000", Cluster{
			Mesh: MeshAppMesh, Kind: KindService, Direction: out, MeshName: "prod", Host: "virtual-node-a",
			Service: "virtual-node-a", Protocol: "http", Port: 3000}},
		{"cds_egress_ecommerce-demo-mesh_gateway-vn_tcp_8080", Cluster{
			Mesh: MeshAppMesh, Kind: KindService, Direction: out, MeshName: "ecommerce-demo-mesh", Host: "gateway-vn",
			Service: "gateway-vn", Protocol: "tcp", Port: 8080}},
		{"cds_egress_howto-k8s-connection-pools_green_howto-k8s-connection-pools_http_8080", Cluster{
			Mesh: MeshAppMesh, Kind: KindService, Direction: out, MeshName: "howto-k8s-connection-pools",
			Host: "green_howto-k8s-connection-pools", Service: "green", Namespace: "howto-k8s-connection-pools",
			Protocol: "http", Port: 8080}},
		{"cds_ingress_howto-grpc-mesh_color_server_grpc_8080", Cluster{
			Mesh: MeshAppMesh, Kind: KindService, Direction: in, MeshName: "howto-grpc-mesh",
			Host: "color_server", Service: "color", Namespace: "server", Protocol: "grpc", Port: 8080}},

		// Gloo.
		{"default-petstore-8080_gloo-system", Cluster{
			Mesh: MeshGloo, Kind: KindService, Direction: out, Host: "default-petstore-8080",
			Service: "petstore", Namespace: "default", Port: 8080}},
		{"ops-admin-api-9000_ops", Cluster{
			Mesh: MeshGloo, Kind: KindService, Direction: out, Host: "ops-admin-api-9000",
			Service: "admin-api", Namespace: "ops", Port: 9000}},
		{"gloo-system-gateway-proxy-8080_gloo-system", Cluster{
			Mesh: MeshGloo, Kind: KindService, Direction: out, Host: "gloo-system-gateway-proxy-8080",
			Service: "gateway-proxy", Namespace: "gloo-system", Port: 8080}},
		{"kube-upstream:petstore_gloo-system_default_petstore_8080", Cluster{
			Mesh: MeshGloo, Kind: KindService, Direction: out, Host: "petstore",
			Service: "petstore", Namespace: "default", Port: 8080}},
		{"kube-svc:default-petstore-8080_default_default_petstore_8080", Cluster{
			Mesh: MeshGloo, Kind: KindService, Direction: out, Host: "default-petstore-8080",
			Service: "petstore", Namespace: "default", Port: 8080}},

		// Plain Envoy.
		{"service_foo", Cluster{Mesh: MeshEnvoy, Kind: KindService, Service: "service_foo"}},
		{"locations", Cluster{Mesh: MeshEnvoy, Kind: KindService, Service: "locations"}},
		{"some_service", Cluster{Mesh: MeshEnvoy, Kind: KindService, Service: "some_service"}},
		{"backend|x", Cluster{Mesh: MeshEnvoy, Kind: KindService, Service: "backend|x"}},
		{"cds_egress_broken", Cluster{Mesh: MeshEnvoy, Kind: KindService, Service: "cds_egress_broken"}},
		{"kube-svc:broken", Cluster{Mesh: MeshEnvoy, Kind: KindService, Service: "kube-svc:broken"}},
		{"db?foo=bar", Cluster{Mesh: MeshEnvoy, Kind: KindService, Service: "db?foo=bar"}},
		{"web.service.consul", Cluster{Mesh: MeshEnvoy, Kind: KindService, Service: "web.service.consul"}},
		{"a.b.c.d.e.internal.id.consul", Cluster{Mesh: MeshEnvoy, Kind: KindService, Service: "a.b.c.d.e.internal.id.consul"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			want := tc.want
			if want.Name == "" && tc.name != "" {
				want.Name = tc.name
			}
			require.Equal(t, want, DecodeCluster(tc.name))
		})
	}
}

func TestDecodeClusterFixtures(t *testing.T) {
	want := []string{
		"istio/service/outbound httpbin.default :8000",
		"unknown/none/unknown . :0",
		"unknown/none/unknown . :0",
		"istio/service/inbound . :9080",
		"istio/service/inbound . :9080",
		"istio/service/outbound httpbin.foo :8000",
		"istio/service/inbound . :8000",
		"istio/service/outbound edition.cnn.com. :443",
	}
	p, err := ParserFor(PresetIstio)
	require.NoError(t, err)
	for i, line := range readLines(t, "istio-text.log") {
		var e Entry
		require.NoError(t, p.Parse(line, &e))
		c := DecodeCluster(e.UpstreamCluster)
		got := c.Mesh.String() + "/" + c.Kind.String() + "/" + c.Direction.String() + " " +
			c.Service + "." + c.Namespace + " :" + itoa(c.Port)
		require.Equal(t, want[i], got, "line %d", i+1)
	}
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for ; n > 0; n /= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
	}
	return string(b)
}

func TestClusterEnumStrings(t *testing.T) {
	require.Equal(t, "unknown", Direction(9).String())
	require.Equal(t, "unknown", Mesh(9).String())
	require.Equal(t, "none", ClusterKind(9).String())
	for m, s := range map[Mesh]string{MeshIstio: "istio", MeshConsul: "consul", MeshAppMesh: "appmesh", MeshGloo: "gloo", MeshEnvoy: "envoy"} {
		require.Equal(t, s, m.String())
	}
	for k, s := range map[ClusterKind]string{KindService: "service", KindPassthrough: "passthrough", KindBlackHole: "blackhole",
		KindInboundPassthrough: "inbound-passthrough", KindInternal: "internal"} {
		require.Equal(t, s, k.String())
	}
}
