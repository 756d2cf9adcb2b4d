package accesslog

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

const ms = int64(time.Millisecond)

// ts returns an RFC 3339 time in Unix nanoseconds.
func ts(s string) int64 {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t.UnixNano()
}

// readLines returns the lines of a testdata file, without line ends.
func readLines(t testing.TB, name string) [][]byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	require.NoError(t, err)
	lines := bytes.Split(bytes.TrimSuffix(b, []byte("\n")), []byte("\n"))
	require.NotEmpty(t, lines)
	return lines
}

// comparable returns e without parser scratch state, for require.Equal.
func comparable(e Entry) Entry {
	e.buf = nil
	if len(e.Extra) == 0 {
		e.Extra = nil
	}
	return e
}

const (
	chromeUA = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 " +
		"(KHTML, like Gecko) Chrome/104.0.5112.102 Safari/537.36"
)

// fixtureWant holds the expected entry of every fixture line, by file.
var fixtureWant = map[string][]Entry{
	"istio-text.log": {
		{
			StartTime: ts("2022-06-22T10:17:14.118Z"), Method: "GET", Path: "/status/418", Protocol: "HTTP/1.1",
			ResponseCode: 503, ResponseFlags: "UH", Flags: FlagUH, Details: "no_healthy_upstream",
			BytesReceived: 0, BytesSent: 19, Duration: 1 * ms, UpstreamServiceTime: -1,
			UserAgent: "curl/7.83.1-DEV", RequestID: "5735b2d0-4949-9384-b082-9d4c368eb9dc", Authority: "httpbin:8000",
			UpstreamCluster:        "outbound|8000||httpbin.default.svc.cluster.local",
			DownstreamLocalAddress: "10.99.37.119:8000", DownstreamRemoteAddress: "172.17.0.6:44690",
			RouteName: "default",
		},
		{
			StartTime: ts("2022-09-01T11:33:22.455Z"), Method: "GET", Path: "/portal/redlion", Protocol: "HTTP/1.1",
			ResponseCode: 404, ResponseFlags: "NR", Flags: FlagNR, Details: "route_not_found",
			Duration: 0, UpstreamServiceTime: -1,
			ForwardedFor: "10.124.2.1", UserAgent: "Mozilla/5.0 zgrab/0.x",
			RequestID: "ae9ca454-2d21-956c-9cf4-813929267bb5", Authority: "35.232.196.88",
			DownstreamLocalAddress: "10.124.2.10:8080", DownstreamRemoteAddress: "10.124.2.1:46713",
		},
		{
			StartTime: ts("2022-09-01T09:36:33.553Z"), Protocol: "HTTP/1.1",
			ResponseCode: 400, ResponseFlags: "DPE", Flags: FlagDPE, Details: "http1.codec_error",
			BytesSent: 11, Duration: 46 * ms, UpstreamServiceTime: -1,
			DownstreamLocalAddress: "10.124.2.10:8080", DownstreamRemoteAddress: "10.128.0.60:51643",
		},
		{
			StartTime: ts("2022-09-01T13:15:09.085Z"), Method: "GET", Path: "/reviews/0", Protocol: "HTTP/1.1",
			ResponseCode: 503, ResponseFlags: "UF", Flags: FlagUF,
			Details:   "upstream_reset_before_response_started{connection_failure,delayed_connect_error:_111}",
			BytesSent: 145, Duration: 0, UpstreamServiceTime: -1,
			UserAgent: chromeUA, RequestID: "56446678-64f3-9fbf-9c4a-eca01fafba4d", Authority: "reviews:9080",
			UpstreamHost: "10.124.2.14:9080", UpstreamCluster: "inbound|9080||",
			DownstreamLocalAddress: "10.124.2.14:9080", DownstreamRemoteAddress: "10.124.1.6:48816",
			RequestedServerName: "outbound_.9080_._.reviews.default.svc.cluster.local", RouteName: "default",
		},
		{
			StartTime: ts("2022-09-01T13:08:55.358Z"), Method: "GET", Path: "/productpage", Protocol: "HTTP/1.1",
			ResponseCode: 0, ResponseFlags: "DC", Flags: FlagDC, Details: "downstream_remote_disconnect",
			Duration: 746 * ms, UpstreamServiceTime: -1,
			ForwardedFor: "10.128.0.60", UserAgent: chromeUA,
			RequestID: "2dc64af2-bd13-9962-819e-0b72064e7909", Authority: "35.232.196.88",
			UpstreamHost: "10.124.1.6:9080", UpstreamCluster: "inbound|9080||", UpstreamLocalAddress: "127.0.0.6:38601",
			DownstreamLocalAddress: "10.124.1.6:9080", DownstreamRemoteAddress: "10.128.0.60:0",
			RequestedServerName: "outbound_.9080_._.productpage.default.svc.cluster.local", RouteName: "default",
		},
		{
			StartTime: ts("2020-11-25T21:26:18.409Z"), Method: "GET", Path: "/status/418", Protocol: "HTTP/1.1",
			ResponseCode: 418, Details: "via_upstream",
			BytesSent: 135, Duration: 4 * ms, UpstreamServiceTime: 4 * ms,
			UserAgent: "curl/7.73.0-DEV", RequestID: "84961386-6d84-929d-98bd-c5aee93b5c88", Authority: "httpbin:8000",
			UpstreamHost: "10.44.1.27:80", UpstreamCluster: "outbound|8000||httpbin.foo.svc.cluster.local",
			UpstreamLocalAddress:   "10.44.1.23:37652",
			DownstreamLocalAddress: "10.0.45.184:8000", DownstreamRemoteAddress: "10.44.1.23:46520",
			RouteName: "default",
		},
		{
			StartTime: ts("2020-11-25T21:26:18.409Z"), Method: "GET", Path: "/status/418", Protocol: "HTTP/1.1",
			ResponseCode: 418, Details: "via_upstream",
			BytesSent: 135, Duration: 3 * ms, UpstreamServiceTime: 1 * ms,
			UserAgent: "curl/7.73.0-DEV", RequestID: "84961386-6d84-929d-98bd-c5aee93b5c88", Authority: "httpbin:8000",
			UpstreamHost: "127.0.0.1:80", UpstreamCluster: "inbound|8000||", UpstreamLocalAddress: "127.0.0.1:41854",
			DownstreamLocalAddress: "10.44.1.27:80", DownstreamRemoteAddress: "10.44.1.23:37652",
			RequestedServerName: "outbound_.8000_._.httpbin.foo.svc.cluster.local", RouteName: "default",
		},
		{
			StartTime:     ts("2024-01-11T21:09:42.835Z"),
			BytesReceived: 839, BytesSent: 2504306, Duration: 231 * ms, UpstreamServiceTime: -1,
			UpstreamHost: "151.101.195.5:443", UpstreamCluster: "outbound|443||edition.cnn.com",
			UpstreamLocalAddress:   "172.30.239.8:34470",
			DownstreamLocalAddress: "172.30.239.8:443", DownstreamRemoteAddress: "172.30.239.15:43956",
			RequestedServerName: "edition.cnn.com",
		},
	},
	"istio-json.log": {
		{
			StartTime: ts("2022-09-08T12:51:05.656Z"), Method: "GET", Path: "/reviews/0", Protocol: "HTTP/1.1",
			ResponseCode: 200, Details: "via_upstream",
			BytesReceived: 0, BytesSent: 358, Duration: 15 * ms, UpstreamServiceTime: 14 * ms,
			UserAgent: "curl/7.79.1", RequestID: "9fcc7101-13bd-9753-98d6-820806088d9d", Authority: "reviews:9080",
			UpstreamHost: "10.124.1.5:9080", UpstreamCluster: "inbound|9080||", UpstreamLocalAddress: "127.0.0.6:37685",
			DownstreamLocalAddress: "10.124.1.5:9080", DownstreamRemoteAddress: "10.124.0.13:43612",
			RequestedServerName: "outbound_.9080_._.reviews.default.svc.cluster.local", RouteName: "default",
		},
	},
	"envoy-default.log": {
		{
			StartTime: ts("2016-04-15T20:17:00.310Z"), Method: "POST", Path: "/api/v1/locations", Protocol: "HTTP/2",
			ResponseCode: 204, BytesReceived: 154, BytesSent: 0, Duration: 226 * ms, UpstreamServiceTime: 100 * ms,
			ForwardedFor: "10.0.35.28", UserAgent: "nsq2http", RequestID: "cc21d9b0-cf5c-432b-8c7e-98aeb7988cd2",
			Authority: "locations", UpstreamHost: "tcp://10.0.2.1:80",
		},
		{
			StartTime: ts("2018-11-23T04:51:00.281Z"), Method: "GET", Path: "/", Protocol: "HTTP/1.1",
			ResponseCode: 200, BytesSent: 58, Duration: 4 * ms, UpstreamServiceTime: 1 * ms,
			UserAgent: "curl/7.47.0", RequestID: "f21ebd42-6770-4aa5-88d4-e56118165a7d",
			Authority: "one.example.com", UpstreamHost: "172.18.0.4:80",
		},
	},
	"envoy-default-with-details.log": {
		{
			StartTime: ts("2024-07-20T07:06:24.729Z"), Method: "GET", Path: "/no-healthy-upstream", Protocol: "HTTP/1.1",
			ResponseCode: 503, ResponseFlags: "UH", Flags: FlagUH, Details: "no_healthy_upstream",
			BytesSent: 19, Duration: 0, UpstreamServiceTime: -1,
			UserAgent: "curl/8.4.0", RequestID: "2f22e5c6-2387-49b8-96c4-7b3a1678dbb0", Authority: "localhost:8000",
		},
		{
			StartTime: ts("2024-07-20T07:45:34.828Z"), Method: "GET", Path: "/upstream-retry-exceeds?statusCode=500",
			Protocol: "HTTP/1.1", ResponseCode: 500, ResponseFlags: "URX", Flags: FlagURX, Details: "via_upstream",
			BytesSent: 680, Duration: 59 * ms, UpstreamServiceTime: 59 * ms,
			UserAgent: "curl/8.4.0", RequestID: "0df38f52-08eb-4b67-a097-ece7427c7238", Authority: "localhost:8000",
			UpstreamHost: "192.168.48.2:8080",
		},
	},
}

// fixtureParsers lists, per fixture file, every parser that must read it:
// the preset, the exact format compiled, and that format given to ParserFor.
func fixtureParsers(t *testing.T, file string) map[string]LineParser {
	t.Helper()
	byFormat := func(f string) LineParser {
		p, err := ParserFor(f)
		require.NoError(t, err)
		return p
	}
	preset := func(name string) LineParser {
		p, err := ParserFor(name)
		require.NoError(t, err)
		return p
	}
	switch file {
	case "istio-text.log":
		return map[string]LineParser{
			"preset":   preset(PresetIstio),
			"1.24":     MustCompile(FormatIstio),
			"1.9":      byFormat(FormatIstio19),
			"listed":   byFormat(FormatIstio),
			"variants": NewVariantParser(MustCompile(FormatIstioNoDetails), MustCompile(FormatIstio)),
		}
	case "istio-json.log":
		return map[string]LineParser{"preset": preset(PresetIstioJSON), "new": NewJSONParser()}
	case "envoy-default.log":
		return map[string]LineParser{
			"preset": preset(PresetEnvoy), "details-preset": preset(PresetEnvoyDetails),
			"format": byFormat(FormatEnvoy),
		}
	case "envoy-default-with-details.log":
		return map[string]LineParser{
			"preset": preset(PresetEnvoyDetails), "envoy-preset": preset(PresetEnvoy),
			"format": byFormat(FormatEnvoyDetails),
		}
	}
	t.Fatalf("no parsers for %s", file)
	return nil
}

func TestFixturesEveryLine(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.log"))
	require.NoError(t, err)
	require.Len(t, files, len(fixtureWant), "every fixture file has expectations")
	for _, path := range files {
		file := filepath.Base(path)
		want, ok := fixtureWant[file]
		require.True(t, ok, "expectations for %s", file)
		lines := readLines(t, file)
		require.Len(t, lines, len(want), "%s: one expectation per line", file)
		for name, p := range fixtureParsers(t, file) {
			for i, line := range lines {
				t.Run(fmt.Sprintf("%s/%s/line%d", file, name, i+1), func(t *testing.T) {
					var e Entry
					require.NoError(t, p.Parse(line, &e))
					require.Equal(t, want[i], comparable(e))

					// With the line end, and after another line into the same entry.
					withEOL := append(append([]byte{}, line...), '\r', '\n')
					require.NoError(t, p.Parse(lines[(i+1)%len(lines)], &e))
					require.NoError(t, p.Parse(withEOL, &e))
					require.Equal(t, want[i], comparable(e))
				})
			}
		}
	}
}

// TestFixturesCloneOwnsMemory checks that a clone survives the reuse of
// the line buffer and of the entry.
func TestFixturesCloneOwnsMemory(t *testing.T) {
	for file, want := range fixtureWant {
		p := fixtureParsers(t, file)["preset"]
		for i, line := range readLines(t, file) {
			buf := append([]byte{}, line...)
			var e Entry
			require.NoError(t, p.Parse(buf, &e))
			c := e.Clone()
			for j := range buf {
				buf[j] = 'x'
			}
			require.NoError(t, p.Parse(readLines(t, file)[(i+1)%len(want)], &e))
			require.Equal(t, want[i], comparable(c), "%s line %d", file, i+1)
		}
	}
}

// TestIstioPresetOlderLines feeds the Istio preset the fixture's line 6 as
// older proxies and formats write it.
func TestIstioPresetOlderLines(t *testing.T) {
	want := fixtureWant["istio-text.log"][5]
	noDetails := want
	noDetails.Details = ""
	mixer := noDetails
	mixer.Extra = []Field{{Name: "DYNAMIC_METADATA(istio.mixer:status)", Value: ""}}

	head := `[2020-11-25T21:26:18.409Z] "GET /status/418 HTTP/1.1" 418 - `
	tail := `0 135 4 4 "-" "curl/7.73.0-DEV" "84961386-6d84-929d-98bd-c5aee93b5c88" "httpbin:8000" "10.44.1.27:80" `
	tcp := `outbound|8000||httpbin.foo.svc.cluster.local 10.44.1.23:37652 10.0.45.184:8000 10.44.1.23:46520 - default`
	tests := []struct {
		name string
		line string
		want Entry
	}{
		{"1.24 raw cluster", head + `via_upstream - "-" ` + tail + tcp, want},
		{"1.24 cluster with ;", head + `via_upstream - "-" ` + tail +
			`outbound|8000||httpbin.foo.svc.cluster.local; 10.44.1.23:37652 10.0.45.184:8000 10.44.1.23:46520 - default`, want},
		{"1.3 to 1.8 mixer status", head + `"-" "-" ` + tail + tcp, mixer},
		{"without details", head + tail + tcp, noDetails},
	}
	p, err := ParserFor(PresetIstio)
	require.NoError(t, err)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var e Entry
			// Twice, so that the second run starts with this variant.
			for range 2 {
				require.NoError(t, p.Parse([]byte(tc.line), &e))
				require.Equal(t, tc.want, comparable(e))
			}
		})
	}
}

// TestFixtureFormatsDiffer checks that each exact format rejects the other
// fixtures' lines rather than misreading them.
func TestFixtureFormatsDiffer(t *testing.T) {
	formats := map[string]string{
		"istio-text.log":                 FormatIstio,
		"envoy-default.log":              FormatEnvoy,
		"envoy-default-with-details.log": FormatEnvoyDetails,
	}
	for file, format := range formats {
		p := MustCompile(format)
		for other := range formats {
			if other == file {
				continue
			}
			for i, line := range readLines(t, other) {
				var e Entry
				err := p.Parse(line, &e)
				var pe *ParseError
				require.ErrorAs(t, err, &pe, "%s format on %s line %d", file, other, i+1)
			}
		}
	}
}
