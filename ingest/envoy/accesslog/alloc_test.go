//go:build !race

package accesslog

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// TestParseDoesNotAllocate checks the steady state of every preset: once
// an entry has been used, parsing into it allocates nothing.
func TestParseDoesNotAllocate(t *testing.T) {
	cases := map[string]string{
		PresetIstio:        "istio-text.log",
		PresetIstioJSON:    "istio-json.log",
		PresetEnvoy:        "envoy-default.log",
		PresetEnvoyDetails: "envoy-default-with-details.log",
	}
	for preset, file := range cases {
		p, err := ParserFor(preset)
		require.NoError(t, err)
		lines := readLines(t, file)
		var e Entry
		for _, line := range lines {
			require.NoError(t, p.Parse(line, &e))
		}
		i := 0
		allocs := testing.AllocsPerRun(1000, func() {
			_ = p.Parse(lines[i%len(lines)], &e)
			i++
		})
		require.Zero(t, allocs, preset)
	}

	custom := MustCompile(`%START_TIME(%Y-%m-%dT%H:%M:%S.%3fZ)% %REQ(X-B3-TRACEID)% %UPSTREAM_CLUSTER%`)
	line := []byte(`2024-07-20T07:06:24.729Z 80f198ee56343ba8 outbound|9080|v1|reviews.default.svc.cluster.local;`)
	var e Entry
	require.NoError(t, custom.Parse(line, &e))
	require.Zero(t, testing.AllocsPerRun(1000, func() { _ = custom.Parse(line, &e) }), "custom format")

	escaped := []byte(`{"method":"G\u0045T","user_agent":"a \"b\"","bytes_sent":1}`)
	require.NoError(t, NewJSONParser().Parse(escaped, &e))
	require.Zero(t, testing.AllocsPerRun(1000, func() { _ = NewJSONParser().Parse(escaped, &e) }), "JSON escapes")

	names := []string{
		"outbound|9080|v1|reviews.default.svc.cluster.local", "inbound|9080||",
		"db.default.dc1.internal.e5b08d03-bfc3-c870-1833-baddb116e648.consul",
		"cds_egress_prod_virtual-node-a_http_3000", "default-petstore-8080_gloo-system", "service_foo",
	}
	require.Zero(t, testing.AllocsPerRun(100, func() {
		for _, n := range names {
			_ = DecodeCluster(n)
		}
	}), "DecodeCluster")
}
