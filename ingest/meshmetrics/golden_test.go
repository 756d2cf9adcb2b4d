package meshmetrics_test

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/meshscope/meshscope/graph"
	"github.com/meshscope/meshscope/ingest/meshmetrics"
	"github.com/meshscope/meshscope/ingest/scrape"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// pod is one scraped endpoint of a scenario: its fixture files are
// testdata/<name>-1.prom and -2.prom, two scrapes 15 s apart.
type pod struct {
	name   string
	target scrape.Target
}

var t0 = time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)

// scenarios are the golden tests: testdata/<name>.golden holds the
// observations the second scrape of every pod yields.
var scenarios = map[string][]pod{
	"istio": {
		{"istio-productpage", scrape.Target{Job: "kubernetes-pods", URL: "http://10.244.0.7:15020/stats/prometheus", Labels: map[string]string{
			"namespace": "default", "pod": "productpage-v1-5f7b6d8c9b-x2kqv", "app": "productpage", "version": "v1"}}},
		{"istio-reviews", scrape.Target{Job: "kubernetes-pods", URL: "http://10.244.0.9:15020/stats/prometheus", Labels: map[string]string{
			"namespace": "default", "pod": "reviews-v2-7d79d5bd5d-4xw2t", "app": "reviews", "version": "v2"}}},
		{"istio-mongodb", scrape.Target{Job: "kubernetes-pods", URL: "http://10.244.0.12:15020/stats/prometheus", Labels: map[string]string{
			"namespace": "default", "pod": "mongodb-v1-6d5f7b8d4c-9hz2m", "app": "mongodb", "version": "v1"}}},
		{"istio-waypoint", scrape.Target{Job: "kubernetes-pods", URL: "http://10.244.0.15:15020/stats/prometheus", Labels: map[string]string{
			"namespace": "shop", "pod": "waypoint-6c9d8f7b5d-tq4wz"}}},
	},
	"linkerd": {
		{"linkerd-web", scrape.Target{Job: "linkerd-proxy", URL: "http://10.244.0.19:4191/metrics", Labels: map[string]string{
			"namespace": "emojivoto", "pod": "web-5f86686c4d-58p7k", "deployment": "web", "pod_template_hash": "5f86686c4d"}}},
	},
	"servicegraph": {
		{"servicegraph-tempo", scrape.Target{Job: "tempo-metrics-generator", URL: "http://10.244.0.30:3200/metrics"}},
	},
	"envoy": {
		{"envoy-productpage", scrape.Target{Job: "envoy-stats", URL: "http://10.244.0.7:15090/stats/prometheus", Labels: map[string]string{
			"namespace": "default", "pod": "productpage-v1-5f7b6d8c9b-x2kqv", "service_istio_io_canonical_name": "productpage",
			"service_istio_io_canonical_revision": "v1"}}},
	},
}

// derive runs both scrapes of a scenario through a fresh Deriver and
// returns the observations of the second.
func derive(t *testing.T, pods []pod) []graph.Observation {
	t.Helper()
	d, err := meshmetrics.New(meshmetrics.Config{})
	require.NoError(t, err)
	var out []graph.Observation
	for scrapeNo := 1; scrapeNo <= 2; scrapeNo++ {
		at := t0.Add(time.Duration(scrapeNo-1) * 15 * time.Second)
		for _, p := range pods {
			body, err := os.ReadFile(filepath.Join("testdata", fmt.Sprintf("%s-%d.prom", p.name, scrapeNo)))
			require.NoError(t, err)
			series, samples, err := scrape.Parse(body, "text/plain; version=0.0.4; charset=utf-8", at, p.target)
			require.NoError(t, err, p.name)
			obs := d.Derive(series, samples, nil)
			if scrapeNo == 1 {
				require.Empty(t, obs, "%s: the first scrape only sets baselines", p.name)
			}
			out = append(out, obs...)
		}
	}
	out = d.Flush(out)
	return out
}

func TestGolden(t *testing.T) {
	for name, pods := range scenarios {
		t.Run(name, func(t *testing.T) {
			got := formatAll(derive(t, pods))
			path := filepath.Join("testdata", name+".golden")
			if *update {
				require.NoError(t, os.WriteFile(path, []byte(got), 0o644))
			}
			want, err := os.ReadFile(path)
			require.NoError(t, err)
			require.Equal(t, string(want), got)
		})
	}
}

// formatAll prints observations one per line, sorted.
func formatAll(obs []graph.Observation) string {
	lines := make([]string, 0, len(obs))
	for _, o := range obs {
		lines = append(lines, format(o))
	}
	slices.Sort(lines)
	return strings.Join(lines, "\n") + "\n"
}

func format(o graph.Observation) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s -> %s %s reporter=%s at=%s count=%d errors=%d mtls=%d plaintext=%d sent=%d received=%d",
		party(o.Source), party(o.Destination), o.Protocol, [...]string{"unknown", "source", "destination"}[o.Reporter],
		time.Unix(0, o.TimeUnixNano).UTC().Format(time.TimeOnly), o.Count, o.Errors, o.MTLS, o.Plaintext,
		o.BytesSent, o.BytesReceived)
	if o.Provenance != graph.FromMetric {
		fmt.Fprintf(&b, " provenance=%v", o.Provenance.Names())
	}
	if o.DurationNanos != 0 {
		fmt.Fprintf(&b, " mean=%v", time.Duration(o.DurationNanos))
	}
	if o.Latency != nil {
		fmt.Fprintf(&b, " p50=%.1fms p99=%.1fms latency=[", o.Latency.Quantile(0.5)/1e6, o.Latency.Quantile(0.99)/1e6)
		sep := ""
		for i, c := range o.Latency {
			if c > 0 {
				fmt.Fprintf(&b, "%s%d:%d", sep, i, c)
				sep = " "
			}
		}
		b.WriteByte(']')
	}
	return b.String()
}

func party(p graph.Party) string {
	s := fmt.Sprintf("%s:%s/%s", p.Kind, p.Namespace, p.Name)
	if p.Workload != "" || p.Version != "" {
		s += fmt.Sprintf("(%s,%s)", p.Workload, p.Version)
	}
	if p.Cluster != "" {
		s += "@" + p.Cluster
	}
	return s
}

// TestScenarioNumbers checks the golden scenarios against the increases
// written into the fixtures, edge by edge.
func TestScenarioNumbers(t *testing.T) {
	type edge struct {
		src, dst                   string
		proto                      graph.Protocol
		reporter                   graph.Reporter
		count, errors, mtls, plain uint64
		sent, received             uint64
		latency                    bool
	}
	tests := map[string][]edge{
		"istio": {
			{"service:istio-system/istio-ingressgateway", "service:default/productpage", graph.ProtocolHTTP, graph.ReporterDestination, 120, 0, 120, 0, 120 * 412, 120 * 5120, true},
			{"service:istio-system/istio-ingressgateway", "service:default/productpage", graph.ProtocolHTTP, graph.ReporterDestination, 3, 3, 3, 0, 3 * 412, 3 * 210, true},
			{"service:default/productpage", "service:default/reviews", graph.ProtocolHTTP, graph.ReporterDestination, 90, 0, 90, 0, 90 * 310, 90 * 1840, true},
			{"service:default/productpage", "service:default/details", graph.ProtocolHTTP, graph.ReporterSource, 2, 2, 0, 0, 2 * 298, 2 * 91, true},
			{"service:default/productpage", "external:httpbin.org", graph.ProtocolHTTP, graph.ReporterSource, 5, 0, 0, 0, 5 * 220, 5 * 9100, true},
			{"service:default/ratings", "service:default/mongodb", graph.ProtocolTCP, graph.ReporterDestination, 2, 0, 2, 0, 11000, 52000, false},
			{"service:shop/cart", "service:shop/notifications", graph.ProtocolHTTP, graph.ReporterDestination, 40, 0, 40, 0, 40 * 150, 40 * 64, true},
		},
		"linkerd": {
			{"service:emojivoto/web", "service:emojivoto/emoji", graph.ProtocolGRPC, graph.ReporterSource, 150, 0, 150, 0, 0, 0, true},
			{"service:emojivoto/web", "service:emojivoto/voting", graph.ProtocolGRPC, graph.ReporterSource, 66, 6, 66, 0, 0, 0, true},
			{"service:emojivoto/web", "external:cdn.example.com", graph.ProtocolHTTP, graph.ReporterSource, 4, 0, 0, 4, 0, 0, true},
			{"client:/", "service:emojivoto/web", graph.ProtocolHTTP, graph.ReporterDestination, 20, 2, 0, 20, 0, 0, true},
			// Transport metrics: connections that carry requests add their
			// bytes to the request edges (also where the request names the
			// callee by authority, the transport series by address only);
			// the others are TCP edges.
			{"service:emojivoto/web", "service:emojivoto/emoji", graph.ProtocolGRPC, graph.ReporterSource, 0, 0, 0, 0, 37500, 150000, false},
			{"service:emojivoto/web", "service:emojivoto/voting", graph.ProtocolGRPC, graph.ReporterSource, 0, 0, 0, 0, 6600, 13200, false},
			{"service:emojivoto/web", "external:cdn.example.com", graph.ProtocolHTTP, graph.ReporterSource, 0, 0, 0, 0, 880, 36400, false},
			{"client:/", "service:emojivoto/web", graph.ProtocolHTTP, graph.ReporterDestination, 0, 0, 0, 0, 2580, 24400, false},
			// One connection to redis ended in an error (tcp_close_total,
			// classification failure); the one to emoji did too, but the
			// request edge counts requests, not connections.
			{"service:emojivoto/web", "service:emojivoto/redis", graph.ProtocolTCP, graph.ReporterSource, 3, 1, 3, 0, 2100, 8400, false},
		},
		"servicegraph": {
			// The server's histogram gives the calls and their latency (the
			// client's would count them again); failed requests are errors.
			{"service:shop/frontend", "service:shop/cart", graph.ProtocolUnknown, graph.ReporterUnknown, 300, 3, 0, 0, 0, 0, true},
			{"client:/", "service:shop/frontend", graph.ProtocolUnknown, graph.ReporterUnknown, 100, 0, 0, 0, 0, 0, true},
			{"service:shop/cart", "service:/orders", graph.ProtocolDB, graph.ReporterUnknown, 200, 1, 0, 0, 0, 0, false},
			{"service:shop/cart", "database:postgresql/carts", graph.ProtocolDB, graph.ReporterUnknown, 60, 0, 0, 0, 0, 0, false},
			{"service:shop/checkout", "service:shop/email", graph.ProtocolMessaging, graph.ReporterUnknown, 10, 0, 0, 0, 0, 0, false},
		},
		"envoy": {
			{"service:default/productpage", "service:default/reviews", graph.ProtocolHTTP, graph.ReporterSource, 100, 2, 0, 0, 191000, 964000, true},
			{"service:default/productpage", "service:default/details", graph.ProtocolHTTP, graph.ReporterSource, 30, 0, 0, 0, 61000, 152000, true},
			{"service:default/productpage", "external:PassthroughCluster", graph.ProtocolHTTP, graph.ReporterSource, 5, 0, 0, 0, 1100, 45500, true},
		},
	}
	for name, edges := range tests {
		t.Run(name, func(t *testing.T) {
			obs := derive(t, scenarios[name])
			require.Len(t, obs, len(edges), "one observation per edge, no duplicates")
			for _, e := range edges {
				var found []graph.Observation
				for _, o := range obs {
					if o.Source.NodeID(graph.GranularityService) == e.src && o.Destination.NodeID(graph.GranularityService) == e.dst &&
						o.Count == e.count {
						found = append(found, o)
					}
				}
				require.Len(t, found, 1, "%s -> %s (%d calls)", e.src, e.dst, e.count)
				o := found[0]
				require.Equal(t, e.proto, o.Protocol, "%s -> %s", e.src, e.dst)
				require.Equal(t, e.reporter, o.Reporter, "%s -> %s", e.src, e.dst)
				require.Equal(t, [4]uint64{e.errors, e.mtls, e.plain, e.sent}, [4]uint64{o.Errors, o.MTLS, o.Plaintext, o.BytesSent}, "%s -> %s", e.src, e.dst)
				require.Equal(t, e.received, o.BytesReceived, "%s -> %s", e.src, e.dst)
				require.Equal(t, graph.FromMetric, o.Provenance)
				require.Equal(t, e.latency, o.Latency != nil, "%s -> %s", e.src, e.dst)
				if o.Latency != nil {
					require.Equal(t, o.Count, o.Latency.Total())
				}
			}
		})
	}
}
