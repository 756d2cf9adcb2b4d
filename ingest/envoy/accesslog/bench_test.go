package accesslog

import (
	"fmt"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// benchParse parses the lines of a fixture file round robin.
func benchParse(b *testing.B, p LineParser, file string) {
	lines := readLines(b, file)
	var e Entry
	total := 0
	for _, line := range lines {
		total += len(line)
		if err := p.Parse(line, &e); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(total / len(lines)))
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if err := p.Parse(lines[i], &e); err != nil {
			b.Fatal(err)
		}
		if i++; i == len(lines) {
			i = 0
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lines/s")
}

func BenchmarkParseIstioText(b *testing.B) {
	p, err := ParserFor(PresetIstio)
	if err != nil {
		b.Fatal(err)
	}
	benchParse(b, p, "istio-text.log")
}

func BenchmarkParseIstioJSON(b *testing.B) {
	benchParse(b, NewJSONParser(), "istio-json.log")
}

func BenchmarkParseEnvoyDefault(b *testing.B) {
	p, err := ParserFor(PresetEnvoy)
	if err != nil {
		b.Fatal(err)
	}
	benchParse(b, p, "envoy-default.log")
}

// istioRegexp is the Istio default text format written as a regular
// expression, the way a log shipper would match it.
var istioRegexp = regexp.MustCompile(`^\[([^\]]*)\] "(\S+) (\S+) (\S+)" (\d+) (\S+) (\S+) (\S+) "([^"]*)" ` +
	`(\d+) (\d+) (\d+) (\S+) "([^"]*)" "([^"]*)" "([^"]*)" "([^"]*)" "([^"]*)" ` +
	`(\S+) (\S+) (\S+) (\S+) (\S+) (\S+)$`)

// regexpParseIstio fills e from line with istioRegexp, as a baseline.
func regexpParseIstio(line []byte, e *Entry) error {
	m := istioRegexp.FindSubmatch(line)
	if m == nil {
		return fmt.Errorf("line does not match")
	}
	str := func(i int) string {
		if s := string(m[i]); s != "-" {
			return s
		}
		return ""
	}
	num := func(i int) int64 {
		n, err := strconv.ParseInt(string(m[i]), 10, 64)
		if err != nil {
			return -1
		}
		return n
	}
	t, err := time.Parse(time.RFC3339Nano, string(m[1]))
	if err != nil {
		return err
	}
	*e = Entry{
		StartTime: t.UnixNano(), Method: str(2), Path: str(3), Protocol: str(4),
		ResponseCode: int(num(5)), ResponseFlags: str(6), Flags: ParseFlags(str(6)),
		Details: str(7), TerminationDetails: str(8), TransportFailureReason: str(9),
		BytesReceived: num(10), BytesSent: num(11), Duration: num(12) * ms, UpstreamServiceTime: num(13) * ms,
		ForwardedFor: str(14), UserAgent: str(15), RequestID: str(16), Authority: str(17),
		UpstreamHost: str(18), UpstreamCluster: str(19), UpstreamLocalAddress: str(20),
		DownstreamLocalAddress: str(21), DownstreamRemoteAddress: str(22),
		RequestedServerName: str(23), RouteName: str(24),
	}
	return nil
}

type regexpParser struct{}

func (regexpParser) Parse(line []byte, e *Entry) error { return regexpParseIstio(line, e) }

func BenchmarkRegexpIstioText(b *testing.B) {
	benchParse(b, regexpParser{}, "istio-text.log")
}

// TestRegexpBaselineAgrees keeps the baseline honest: it must read the
// fixture as the parser does, apart from the unknown times it cannot tell.
func TestRegexpBaselineAgrees(t *testing.T) {
	for i, line := range readLines(t, "istio-text.log") {
		var e Entry
		require.NoError(t, regexpParseIstio(line, &e), "line %d", i+1)
		want := fixtureWant["istio-text.log"][i]
		if e.UpstreamServiceTime < 0 {
			e.UpstreamServiceTime = -1
		}
		require.Equal(t, want, comparable(e), "line %d", i+1)
	}
}

func BenchmarkDecodeCluster(b *testing.B) {
	names := []string{
		"outbound|9080|v1|reviews.default.svc.cluster.local", "inbound|9080||",
		"db.default.dc1.internal.e5b08d03-bfc3-c870-1833-baddb116e648.consul",
		"cds_egress_prod_virtual-node-a_http_3000", "default-petstore-8080_gloo-system", "service_foo",
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		_ = DecodeCluster(names[i%len(names)])
		i++
	}
}
