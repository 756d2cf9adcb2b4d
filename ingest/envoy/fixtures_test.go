package envoy

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/meshscope/meshscope/graph"
	"github.com/meshscope/meshscope/ingest/envoy/accesslog"
	"github.com/meshscope/meshscope/schema"
)

const ms = int64(time.Millisecond)

func ts(s string) uint64 {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return uint64(t.UnixNano())
}

// readLines returns the lines of a testdata file.
func readLines(t testing.TB, name string) [][]byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	require.NoError(t, err)
	return bytes.Split(bytes.TrimSuffix(b, []byte("\n")), []byte("\n"))
}

// testClock is a settable clock for resolvers under test.
type testClock struct{ t time.Time }

func (c *testClock) now() time.Time          { return c.t }
func (c *testClock) advance(d time.Duration) { c.t = c.t.Add(d) }
func newClock() *testClock                   { return &testClock{t: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)} }
func newTestResolver(t testing.TB, c *testClock) *Resolver {
	t.Helper()
	r, err := NewResolver(Config{Now: c.now})
	require.NoError(t, err)
	return r
}

func mustEmitter(t testing.TB, s string, gateway bool) *Emitter {
	t.Helper()
	em, err := ParseEmitter(s)
	require.NoError(t, err)
	if gateway {
		e := *em
		e.Gateway = true
		em = NewEmitter(e)
	}
	return em
}

// fixtureLine is one fixture line with the proxy that wrote it and what it
// must become.
type fixtureLine struct {
	emitter string
	gateway bool
	row     schema.RequestRow
	// obs is the observation the line is counted by; nil when the other
	// side of the request counts it.
	obs *graph.Observation
}

const chromeUA = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 " +
	"(KHTML, like Gecko) Chrome/104.0.5112.102 Safari/537.36"

var (
	client     = graph.Party{Kind: graph.KindClient}
	sleepDef   = graph.Party{Kind: graph.KindService, Namespace: "default", Name: "sleep", Workload: "sleep", Version: "latest"}
	httpbinDef = graph.Party{Kind: graph.KindService, Namespace: "default", Name: "httpbin"}
	ingressGW  = graph.Party{Kind: graph.KindService, Namespace: "istio-system", Name: "istio-ingressgateway",
		Workload: "istio-ingressgateway", Version: "latest"}
	egressGW = graph.Party{Kind: graph.KindService, Namespace: "istio-system", Name: "istio-egressgateway",
		Workload: "istio-egressgateway", Version: "latest"}
	reviewsV2   = graph.Party{Kind: graph.KindService, Namespace: "default", Name: "reviews", Workload: "reviews-v2", Version: "v2"}
	reviewsV1   = graph.Party{Kind: graph.KindService, Namespace: "default", Name: "reviews", Workload: "reviews-v1", Version: "v1"}
	productpage = graph.Party{Kind: graph.KindService, Namespace: "default", Name: "productpage", Workload: "productpage-v1", Version: "v1"}
	sleepFoo    = graph.Party{Kind: graph.KindService, Namespace: "foo", Name: "sleep", Workload: "sleep", Version: "latest"}
	httpbinFoo  = graph.Party{Kind: graph.KindService, Namespace: "foo", Name: "httpbin", Workload: "httpbin", Version: "latest"}
	frontEnvoy  = graph.Party{Kind: graph.KindService, Namespace: "edge", Name: "front-envoy", Workload: "front-envoy", Version: "latest"}
)

func obs(start uint64, src, dst graph.Party, p graph.Protocol, errs uint64, dur int64, sent, recv uint64, mtls uint8, rep graph.Reporter) *graph.Observation {
	o := &graph.Observation{TimeUnixNano: int64(start), Source: src, Destination: dst, Protocol: p, Count: 1, Errors: errs,
		DurationNanos: dur, BytesSent: sent, BytesReceived: recv, Provenance: graph.FromAccessLog, Reporter: rep}
	switch mtls {
	case schema.SecurityMTLS:
		o.MTLS = 1
	case schema.SecurityPlaintext:
		o.Plaintext = 1
	}
	return o
}

var fixtures = map[string]struct {
	format string
	lines  []fixtureLine
}{
	"istio-text.log": {format: accesslog.PresetIstio, lines: []fixtureLine{
		{emitter: "default/sleep", row: schema.RequestRow{
			StartUnixNano: ts("2022-06-22T10:17:14.118Z"), DurationNanos: uint64(1 * ms), UpstreamServiceTimeNanos: -1,
			Reporter: "source", Emitter: "default/sleep", LogName: "istio",
			Source: "service:default/sleep", SourceNamespace: "default", SourceWorkload: "sleep", SourceApp: "sleep", SourceVersion: "latest",
			Destination: "service:default/httpbin", DestinationNamespace: "default", DestinationApp: "httpbin",
			Protocol: "HTTP/1.1", Method: "GET", Path: "/status/418", Authority: "httpbin:8000",
			ResponseCode: 503, GRPCStatus: -1, ResponseFlags: "UH", ResponseCodeDetails: "no_healthy_upstream",
			BytesSent: 19, UpstreamCluster: "outbound|8000||httpbin.default.svc.cluster.local",
			DownstreamLocalAddress: "10.99.37.119:8000", DownstreamRemoteAddress: "172.17.0.6:44690", RouteName: "default",
			RequestID: "5735b2d0-4949-9384-b082-9d4c368eb9dc", UserAgent: "curl/7.83.1-DEV",
		}, obs: obs(ts("2022-06-22T10:17:14.118Z"), sleepDef, httpbinDef, graph.ProtocolHTTP, 1, 1*ms, 0, 19, 0, graph.ReporterSource)},
		{emitter: "istio-system/istio-ingressgateway", gateway: true, row: schema.RequestRow{
			StartUnixNano: ts("2022-09-01T11:33:22.455Z"), UpstreamServiceTimeNanos: -1,
			Reporter: "gateway", Emitter: "istio-system/istio-ingressgateway", LogName: "istio", Source: "client:/",
			Destination: "service:istio-system/istio-ingressgateway", DestinationNamespace: "istio-system",
			DestinationWorkload: "istio-ingressgateway", DestinationApp: "istio-ingressgateway", DestinationVersion: "latest",
			Protocol: "HTTP/1.1", Method: "GET", Path: "/portal/redlion", Authority: "35.232.196.88",
			ResponseCode: 404, GRPCStatus: -1, ResponseFlags: "NR", ResponseCodeDetails: "route_not_found",
			DownstreamLocalAddress: "10.124.2.10:8080", DownstreamRemoteAddress: "10.124.2.1:46713",
			RequestID: "ae9ca454-2d21-956c-9cf4-813929267bb5", UserAgent: "Mozilla/5.0 zgrab/0.x", XForwardedFor: "10.124.2.1",
		}, obs: obs(ts("2022-09-01T11:33:22.455Z"), client, ingressGW, graph.ProtocolHTTP, 1, 0, 0, 0, 0, graph.ReporterDestination)},
		{emitter: "istio-system/istio-ingressgateway", gateway: true, row: schema.RequestRow{
			StartUnixNano: ts("2022-09-01T09:36:33.553Z"), DurationNanos: uint64(46 * ms), UpstreamServiceTimeNanos: -1,
			Reporter: "gateway", Emitter: "istio-system/istio-ingressgateway", LogName: "istio", Source: "client:/",
			Destination: "service:istio-system/istio-ingressgateway", DestinationNamespace: "istio-system",
			DestinationWorkload: "istio-ingressgateway", DestinationApp: "istio-ingressgateway", DestinationVersion: "latest",
			Protocol: "HTTP/1.1", ResponseCode: 400, GRPCStatus: -1, ResponseFlags: "DPE", ResponseCodeDetails: "http1.codec_error",
			BytesSent: 11, DownstreamLocalAddress: "10.124.2.10:8080", DownstreamRemoteAddress: "10.128.0.60:51643",
		}, obs: obs(ts("2022-09-01T09:36:33.553Z"), client, ingressGW, graph.ProtocolHTTP, 1, 46*ms, 0, 11, 0, graph.ReporterDestination)},
		{emitter: "default/reviews-v2", row: schema.RequestRow{
			StartUnixNano: ts("2022-09-01T13:15:09.085Z"), UpstreamServiceTimeNanos: -1,
			Reporter: "destination", Emitter: "default/reviews-v2", LogName: "istio", Source: "client:/",
			Destination: "service:default/reviews", DestinationNamespace: "default", DestinationWorkload: "reviews-v2",
			DestinationApp: "reviews", DestinationVersion: "v2",
			Protocol: "HTTP/1.1", Method: "GET", Path: "/reviews/0", Authority: "reviews:9080",
			ResponseCode: 503, GRPCStatus: -1, ResponseFlags: "UF",
			ResponseCodeDetails: "upstream_reset_before_response_started{connection_failure,delayed_connect_error:_111}",
			BytesSent:           145, UpstreamHost: "10.124.2.14:9080", UpstreamCluster: "inbound|9080||",
			DownstreamLocalAddress: "10.124.2.14:9080", DownstreamRemoteAddress: "10.124.1.6:48816",
			RequestedServerName: "outbound_.9080_._.reviews.default.svc.cluster.local", RouteName: "default",
			RequestID: "56446678-64f3-9fbf-9c4a-eca01fafba4d", UserAgent: chromeUA, MTLS: schema.SecurityMTLS,
		}, obs: obs(ts("2022-09-01T13:15:09.085Z"), client, reviewsV2, graph.ProtocolHTTP, 1, 0, 0, 145, schema.SecurityMTLS, graph.ReporterDestination)},
		{emitter: "default/productpage-v1", row: schema.RequestRow{
			StartUnixNano: ts("2022-09-01T13:08:55.358Z"), DurationNanos: uint64(746 * ms), UpstreamServiceTimeNanos: -1,
			Reporter: "destination", Emitter: "default/productpage-v1", LogName: "istio", Source: "client:/",
			Destination: "service:default/productpage", DestinationNamespace: "default", DestinationWorkload: "productpage-v1",
			DestinationApp: "productpage", DestinationVersion: "v1",
			Protocol: "HTTP/1.1", Method: "GET", Path: "/productpage", Authority: "35.232.196.88",
			ResponseCode: 0, GRPCStatus: -1, ResponseFlags: "DC", ResponseCodeDetails: "downstream_remote_disconnect",
			UpstreamHost: "10.124.1.6:9080", UpstreamCluster: "inbound|9080||", UpstreamLocalAddress: "127.0.0.6:38601",
			DownstreamLocalAddress: "10.124.1.6:9080", DownstreamRemoteAddress: "10.128.0.60:0",
			RequestedServerName: "outbound_.9080_._.productpage.default.svc.cluster.local", RouteName: "default",
			RequestID: "2dc64af2-bd13-9962-819e-0b72064e7909", UserAgent: chromeUA, XForwardedFor: "10.128.0.60",
			MTLS: schema.SecurityMTLS,
		}, obs: obs(ts("2022-09-01T13:08:55.358Z"), client, productpage, graph.ProtocolHTTP, 1, 746*ms, 0, 0, schema.SecurityMTLS, graph.ReporterDestination)},
		{emitter: "foo/sleep", row: schema.RequestRow{
			StartUnixNano: ts("2020-11-25T21:26:18.409Z"), DurationNanos: uint64(4 * ms), UpstreamServiceTimeNanos: 4 * ms,
			Reporter: "source", Emitter: "foo/sleep", LogName: "istio",
			Source: "service:foo/sleep", SourceNamespace: "foo", SourceWorkload: "sleep", SourceApp: "sleep", SourceVersion: "latest",
			Destination: "service:foo/httpbin", DestinationNamespace: "foo", DestinationApp: "httpbin",
			Protocol: "HTTP/1.1", Method: "GET", Path: "/status/418", Authority: "httpbin:8000",
			ResponseCode: 418, GRPCStatus: -1, ResponseCodeDetails: "via_upstream", BytesSent: 135,
			UpstreamHost: "10.44.1.27:80", UpstreamCluster: "outbound|8000||httpbin.foo.svc.cluster.local",
			UpstreamLocalAddress: "10.44.1.23:37652", DownstreamLocalAddress: "10.0.45.184:8000",
			DownstreamRemoteAddress: "10.44.1.23:46520", RouteName: "default",
			RequestID: "84961386-6d84-929d-98bd-c5aee93b5c88", UserAgent: "curl/7.73.0-DEV",
		}}, // counted by its destination side, the next line
		{emitter: "foo/httpbin", row: schema.RequestRow{
			StartUnixNano: ts("2020-11-25T21:26:18.409Z"), DurationNanos: uint64(3 * ms), UpstreamServiceTimeNanos: 1 * ms,
			Reporter: "destination", Emitter: "foo/httpbin", LogName: "istio",
			Source: "service:foo/sleep", SourceNamespace: "foo", SourceWorkload: "sleep", SourceApp: "sleep", SourceVersion: "latest",
			Destination: "service:foo/httpbin", DestinationNamespace: "foo", DestinationWorkload: "httpbin",
			DestinationApp: "httpbin", DestinationVersion: "latest",
			Protocol: "HTTP/1.1", Method: "GET", Path: "/status/418", Authority: "httpbin:8000",
			ResponseCode: 418, GRPCStatus: -1, ResponseCodeDetails: "via_upstream", BytesSent: 135,
			UpstreamHost: "127.0.0.1:80", UpstreamCluster: "inbound|8000||", UpstreamLocalAddress: "127.0.0.1:41854",
			DownstreamLocalAddress: "10.44.1.27:80", DownstreamRemoteAddress: "10.44.1.23:37652",
			RequestedServerName: "outbound_.8000_._.httpbin.foo.svc.cluster.local", RouteName: "default",
			RequestID: "84961386-6d84-929d-98bd-c5aee93b5c88", UserAgent: "curl/7.73.0-DEV", MTLS: schema.SecurityMTLS,
		}, obs: obs(ts("2020-11-25T21:26:18.409Z"), sleepFoo, httpbinFoo, graph.ProtocolHTTP, 0, 3*ms, 0, 135, schema.SecurityMTLS, graph.ReporterDestination)},
		{emitter: "istio-system/istio-egressgateway", gateway: true, row: schema.RequestRow{
			StartUnixNano: ts("2024-01-11T21:09:42.835Z"), DurationNanos: uint64(231 * ms), UpstreamServiceTimeNanos: -1,
			Reporter: "gateway", Emitter: "istio-system/istio-egressgateway", LogName: "istio",
			Source: "service:istio-system/istio-egressgateway", SourceNamespace: "istio-system",
			SourceWorkload: "istio-egressgateway", SourceApp: "istio-egressgateway", SourceVersion: "latest",
			Destination: "external:edition.cnn.com", Protocol: "tcp", GRPCStatus: -1,
			BytesReceived: 839, BytesSent: 2504306, UpstreamHost: "151.101.195.5:443",
			UpstreamCluster: "outbound|443||edition.cnn.com", UpstreamLocalAddress: "172.30.239.8:34470",
			DownstreamLocalAddress: "172.30.239.8:443", DownstreamRemoteAddress: "172.30.239.15:43956",
			RequestedServerName: "edition.cnn.com",
		}, obs: obs(ts("2024-01-11T21:09:42.835Z"), egressGW, graph.Party{Kind: graph.KindExternal, Name: "edition.cnn.com"},
			graph.ProtocolTCP, 0, 231*ms, 839, 2504306, 0, graph.ReporterSource)},
	}},
	"istio-json.log": {format: accesslog.PresetIstioJSON, lines: []fixtureLine{
		{emitter: "default/reviews-v1", row: schema.RequestRow{
			StartUnixNano: ts("2022-09-08T12:51:05.656Z"), DurationNanos: uint64(15 * ms), UpstreamServiceTimeNanos: 14 * ms,
			Reporter: "destination", Emitter: "default/reviews-v1", LogName: "istio-json", Source: "client:/",
			Destination: "service:default/reviews", DestinationNamespace: "default", DestinationWorkload: "reviews-v1",
			DestinationApp: "reviews", DestinationVersion: "v1",
			Protocol: "HTTP/1.1", Method: "GET", Path: "/reviews/0", Authority: "reviews:9080",
			ResponseCode: 200, GRPCStatus: -1, ResponseCodeDetails: "via_upstream", BytesSent: 358,
			UpstreamHost: "10.124.1.5:9080", UpstreamCluster: "inbound|9080||", UpstreamLocalAddress: "127.0.0.6:37685",
			DownstreamLocalAddress: "10.124.1.5:9080", DownstreamRemoteAddress: "10.124.0.13:43612",
			RequestedServerName: "outbound_.9080_._.reviews.default.svc.cluster.local", RouteName: "default",
			RequestID: "9fcc7101-13bd-9753-98d6-820806088d9d", UserAgent: "curl/7.79.1", MTLS: schema.SecurityMTLS,
		}, obs: obs(ts("2022-09-08T12:51:05.656Z"), client, reviewsV1, graph.ProtocolHTTP, 0, 15*ms, 0, 358, schema.SecurityMTLS, graph.ReporterDestination)},
	}},
	"envoy-default.log": {format: accesslog.PresetEnvoy, lines: []fixtureLine{
		{emitter: "edge/front-envoy", row: schema.RequestRow{
			StartUnixNano: ts("2016-04-15T20:17:00.310Z"), DurationNanos: uint64(226 * ms), UpstreamServiceTimeNanos: 100 * ms,
			Reporter: "source", Emitter: "edge/front-envoy", LogName: "envoy",
			Source: "service:edge/front-envoy", SourceNamespace: "edge", SourceWorkload: "front-envoy", SourceApp: "front-envoy",
			SourceVersion: "latest", Destination: "external:locations",
			Protocol: "HTTP/2", Method: "POST", Path: "/api/v1/locations", Authority: "locations",
			ResponseCode: 204, GRPCStatus: -1, BytesReceived: 154, UpstreamHost: "tcp://10.0.2.1:80",
			RequestID: "cc21d9b0-cf5c-432b-8c7e-98aeb7988cd2", UserAgent: "nsq2http", XForwardedFor: "10.0.35.28",
		}, obs: obs(ts("2016-04-15T20:17:00.310Z"), frontEnvoy, graph.Party{Kind: graph.KindExternal, Name: "locations"},
			graph.ProtocolHTTP, 0, 226*ms, 154, 0, 0, graph.ReporterSource)},
		{emitter: "edge/front-envoy", row: schema.RequestRow{
			StartUnixNano: ts("2018-11-23T04:51:00.281Z"), DurationNanos: uint64(4 * ms), UpstreamServiceTimeNanos: 1 * ms,
			Reporter: "source", Emitter: "edge/front-envoy", LogName: "envoy",
			Source: "service:edge/front-envoy", SourceNamespace: "edge", SourceWorkload: "front-envoy", SourceApp: "front-envoy",
			SourceVersion: "latest", Destination: "external:one.example.com",
			Protocol: "HTTP/1.1", Method: "GET", Path: "/", Authority: "one.example.com",
			ResponseCode: 200, GRPCStatus: -1, BytesSent: 58, UpstreamHost: "172.18.0.4:80",
			RequestID: "f21ebd42-6770-4aa5-88d4-e56118165a7d", UserAgent: "curl/7.47.0",
		}, obs: obs(ts("2018-11-23T04:51:00.281Z"), frontEnvoy, graph.Party{Kind: graph.KindExternal, Name: "one.example.com"},
			graph.ProtocolHTTP, 0, 4*ms, 0, 58, 0, graph.ReporterSource)},
	}},
	"envoy-default-with-details.log": {format: accesslog.PresetEnvoyDetails, lines: []fixtureLine{
		{emitter: "edge/front-envoy", row: schema.RequestRow{
			StartUnixNano: ts("2024-07-20T07:06:24.729Z"), UpstreamServiceTimeNanos: -1,
			Reporter: "source", Emitter: "edge/front-envoy", LogName: "envoy-details",
			Source: "service:edge/front-envoy", SourceNamespace: "edge", SourceWorkload: "front-envoy", SourceApp: "front-envoy",
			SourceVersion: "latest", Destination: "external:localhost",
			Protocol: "HTTP/1.1", Method: "GET", Path: "/no-healthy-upstream", Authority: "localhost:8000",
			ResponseCode: 503, GRPCStatus: -1, ResponseFlags: "UH", ResponseCodeDetails: "no_healthy_upstream", BytesSent: 19,
			RequestID: "2f22e5c6-2387-49b8-96c4-7b3a1678dbb0", UserAgent: "curl/8.4.0",
		}, obs: obs(ts("2024-07-20T07:06:24.729Z"), frontEnvoy, graph.Party{Kind: graph.KindExternal, Name: "localhost"},
			graph.ProtocolHTTP, 1, 0, 0, 19, 0, graph.ReporterSource)},
		{emitter: "edge/front-envoy", row: schema.RequestRow{
			StartUnixNano: ts("2024-07-20T07:45:34.828Z"), DurationNanos: uint64(59 * ms), UpstreamServiceTimeNanos: 59 * ms,
			Reporter: "source", Emitter: "edge/front-envoy", LogName: "envoy-details",
			Source: "service:edge/front-envoy", SourceNamespace: "edge", SourceWorkload: "front-envoy", SourceApp: "front-envoy",
			SourceVersion: "latest", Destination: "external:localhost",
			Protocol: "HTTP/1.1", Method: "GET", Path: "/upstream-retry-exceeds?statusCode=500", Authority: "localhost:8000",
			ResponseCode: 500, GRPCStatus: -1, ResponseFlags: "URX", ResponseCodeDetails: "via_upstream", BytesSent: 680,
			UpstreamHost: "192.168.48.2:8080", RequestID: "0df38f52-08eb-4b67-a097-ece7427c7238", UserAgent: "curl/8.4.0",
		}, obs: obs(ts("2024-07-20T07:45:34.828Z"), frontEnvoy, graph.Party{Kind: graph.KindExternal, Name: "localhost"},
			graph.ProtocolHTTP, 1, 59*ms, 0, 680, 0, graph.ReporterSource)},
	}},
}

// TestFixtures resolves every fixture line, in file order, each as it would
// arrive from its own proxy, and checks every column of its row and the
// observations: one per request (lines 6 and 7 of istio-text.log are one),
// the destination sides whose caller is unknown counted once their wait is
// over.
func TestFixtures(t *testing.T) {
	for file, fx := range fixtures {
		t.Run(file, func(t *testing.T) {
			lines := readLines(t, file)
			require.Len(t, lines, len(fx.lines))
			p, err := accesslog.ParserFor(fx.format)
			require.NoError(t, err)
			clock := newClock()
			r := newTestResolver(t, clock)
			var rec Record
			var got, want []graph.Observation
			for i, line := range lines {
				fl := fx.lines[i]
				rec.Reset()
				require.NoError(t, p.Parse(line, &rec.Entry), "line %d", i+1)
				rec.Emitter = mustEmitter(t, fl.emitter, fl.gateway)
				rec.LogName = fx.format
				var b Batch
				r.Add(&b, &rec)
				r.Settle(&b)
				require.Len(t, b.Rows.Requests, 1)
				require.Equal(t, fl.row, b.Rows.Requests[0], "line %d", i+1)
				got = append(got, b.Obs...)
				if fl.obs != nil {
					want = append(want, *fl.obs)
				}
				clock.advance(10 * time.Millisecond)
			}
			clock.advance(time.Minute)
			var b Batch
			r.Settle(&b)
			got = append(got, b.Obs...)
			require.ElementsMatch(t, want, got)
			require.Empty(t, r.Flush(nil))
		})
	}
}
