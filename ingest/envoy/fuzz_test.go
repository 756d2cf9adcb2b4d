package envoy

import (
	"testing"

	"github.com/meshscope/meshscope/graph"
	"github.com/meshscope/meshscope/ingest/envoy/accesslog"
)

// FuzzResolve resolves entries with arbitrary names and addresses: every
// row gets parseable source and destination node ids, and every
// observation counts one call.
func FuzzResolve(f *testing.F) {
	f.Add("outbound|8000||httpbin.foo.svc.cluster.local", "httpbin:8000", "10.44.1.27:80", "10.44.1.23:37652",
		"10.0.45.184:8000", "", "84961386", "", 418, "foo/sleep", false, false)
	f.Add("inbound|8000||", "httpbin:8000", "127.0.0.1:80", "10.44.1.23:37652", "10.44.1.27:80",
		"outbound_.8000_._.httpbin.foo.svc.cluster.local", "84961386", "-", 418, "foo/httpbin", false, false)
	f.Add("PassthroughCluster", ":80", "[::1]:443", "", "", "", "", "UF,URX", 0, "", false, true)
	f.Add("", "", "tcp://", "", "", "outbound_.x", "id", "NR", 404, "istio-system/istio-ingressgateway", true, false)
	f.Add("inbound-vip|9080|http|reviews.default.svc.cluster.local", "r", "", "1.2.3.4:5", "", "", "i", "", 200, "a/b", false, false)
	f.Add("db.default.dc1.internal.e08fa6d6-e91e-dfe0-f6e1-ba097a828e31.consul", "", "", "", "", "", "", "", 0, "x", false, true)
	r, err := NewResolver(Config{})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, cluster, authority, upstreamHost, downstreamRemote, downstreamLocal, sni, requestID,
		flags string, code int, emitter string, gateway, tcp bool) {
		rec := Record{TCP: tcp, Entry: accesslog.Entry{
			Method: "GET", Protocol: "HTTP/1.1", UpstreamCluster: cluster, Authority: authority,
			UpstreamHost: upstreamHost, UpstreamLocalAddress: downstreamRemote, DownstreamRemoteAddress: downstreamRemote,
			DownstreamLocalAddress: downstreamLocal, RequestedServerName: sni, RequestID: requestID,
			ResponseFlags: flags, Flags: accesslog.ParseFlags(flags), ResponseCode: code, Duration: -1, UpstreamServiceTime: -1,
		}}
		if em, err := ParseEmitter(emitter); err == nil {
			if gateway {
				e := *em
				e.Gateway = true
				em = NewEmitter(e)
			}
			rec.Emitter = em
		}
		var b Batch
		r.Add(&b, &rec)
		r.Add(&b, &rec)
		r.Settle(&b)
		for _, row := range b.Rows.Requests {
			for _, id := range []string{row.Source, row.Destination} {
				if _, err := graph.ParseNodeID(id); err != nil {
					t.Fatalf("node id %q: %v", id, err)
				}
			}
		}
		for _, o := range append(b.Obs, r.Flush(nil)...) {
			if o.Count != 1 || o.Errors > 1 {
				t.Fatalf("observation %+v", o)
			}
		}
	})
}
