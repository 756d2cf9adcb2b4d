package demo

import (
	"bytes"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/meshscope/meshscope/ingest/envoy/accesslog"
)

func TestIstioLine(t *testing.T) {
	start := time.Date(2020, 11, 25, 21, 26, 18, 409_000_000, time.UTC).UnixNano()
	reqID := []byte("84961386-6d84-929d-98bd-c5aee93b5c88")
	for _, tc := range []struct {
		name string
		e    logEntry
		want string
	}{
		{
			name: "http outbound", // FORMATS.md's line 6
			e: logEntry{start: start, dur: 4e6, upstreamTime: 4e6, st: &respStatus{code: 418, codeStr: "418", flags: "-", details: "via_upstream"},
				method: "GET", path: "/status/418", authority: "httpbin:8000", userAgent: "curl/7.73.0-DEV", reqID: reqID,
				bytesOut: 135, usHost: addr{"10.44.1.27", 80}, cluster: "outbound|8000||httpbin.foo.svc.cluster.local",
				usLocal: addr{"10.44.1.23", 37652}, dsLocal: addr{"10.0.45.184", 8000}, dsRemote: addr{"10.44.1.23", 46520}, route: "default"},
			want: `[2020-11-25T21:26:18.409Z] "GET /status/418 HTTP/1.1" 418 - via_upstream - "-" 0 135 4 4 "-" "curl/7.73.0-DEV" "84961386-6d84-929d-98bd-c5aee93b5c88" "httpbin:8000" "10.44.1.27:80" outbound|8000||httpbin.foo.svc.cluster.local 10.44.1.23:37652 10.0.45.184:8000 10.44.1.23:46520 - default` + "\n",
		},
		{
			name: "tcp", // FORMATS.md's line 8
			e: logEntry{tcp: true, start: start, dur: 231e6, upstreamTime: -1, st: &httpStatus[outOK], bytesIn: 839, bytesOut: 2504306,
				usHost: addr{"151.101.195.5", 443}, cluster: "outbound|443||edition.cnn.com", usLocal: addr{"172.30.239.8", 34470},
				dsLocal: addr{"172.30.239.8", 443}, dsRemote: addr{"172.30.239.15", 43956}, sni: "edition.cnn.com"},
			want: `[2020-11-25T21:26:18.409Z] "- - -" 0 - - - "-" 839 2504306 231 - "-" "-" "-" "-" "151.101.195.5:443" outbound|443||edition.cnn.com 172.30.239.8:34470 172.30.239.8:443 172.30.239.15:43956 edition.cnn.com -` + "\n",
		},
		{
			name: "connection failure",
			e: logEntry{start: start, dur: 1e6, upstreamTime: -1, st: &httpStatus[outConnFailure], method: "POST", path: "/api/v1/x",
				authority: "x.ns:8080", userAgent: "Go-http-client/1.1", reqID: reqID, bytesOut: 91, usHost: addr{"10.1.0.9", 8080},
				cluster: "outbound|8080||x.ns.svc.cluster.local", dsLocal: addr{"10.96.0.3", 8080}, dsRemote: addr{"10.1.0.4", 40000}, route: "default"},
			want: `[2020-11-25T21:26:18.409Z] "POST /api/v1/x HTTP/1.1" 503 UF upstream_reset_before_response_started{connection_failure} - "delayed_connect_error:_111" 0 91 1 - "-" "Go-http-client/1.1" "84961386-6d84-929d-98bd-c5aee93b5c88" "x.ns:8080" "10.1.0.9:8080" outbound|8080||x.ns.svc.cluster.local - 10.96.0.3:8080 10.1.0.4:40000 - default` + "\n",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var tc2 timeCache
			got := appendIstioLine(nil, &tc.e, &tc2)
			require.Equal(t, tc.want, string(got))
		})
	}
}

func TestIstioLinesParse(t *testing.T) {
	cfg := testConfig()
	cfg.Scenario = ScenarioFailingDependency
	c := &capture{}
	g, topo := newTestGenerator(t, cfg, c)
	g.setElapsed(cfg.ScenarioPeriod)
	generateAll(g, 300, time.Now())
	require.NotEmpty(t, c.lineBatches)
	p, err := accesslog.ParserFor(accesslog.PresetIstio)
	require.NoError(t, err)

	var e accesslog.Entry
	var in, out, tcp int
	for _, lb := range c.lineBatches {
		require.Equal(t, topo.TextNamespace, lb.w.Service.Namespace)
		lines := bytes.SplitAfter(lb.body, []byte("\n"))
		require.Empty(t, lines[len(lines)-1])
		lines = lines[:len(lines)-1]
		require.Len(t, lines, lb.n)
		for _, line := range lines {
			require.NoError(t, p.Parse(line, &e), "%s", line)
			require.Positive(t, e.StartTime)
			require.GreaterOrEqual(t, e.Duration, int64(0))
			cl := accesslog.DecodeCluster(e.UpstreamCluster)
			if e.Method == "" {
				tcp++
				require.Zero(t, e.ResponseCode)
				require.Empty(t, e.RequestID)
			} else {
				require.Len(t, e.RequestID, 36)
				require.NotZero(t, e.ResponseCode)
				require.NotEmpty(t, e.Authority)
			}
			switch cl.Direction {
			case accesslog.DirectionInbound:
				in++
				require.Equal(t, lb.w.Service.Port, cl.Port)
				ip, _, _ := bytes.Cut([]byte(e.DownstreamLocalAddress), []byte(":"))
				require.True(t, podOf(lb.w, string(ip)), "the inbound line's local address is the emitter's pod")
			case accesslog.DirectionOutbound:
				out++
				if cl.Kind == accesslog.KindService && cl.Namespace != "" {
					require.NotNil(t, topo.Service(cl.Namespace, cl.Service))
				}
			default:
				t.Fatalf("line without a direction: %s", line)
			}
			if e.Flags.Has(accesslog.FlagUF) {
				require.Equal(t, 503, e.ResponseCode)
			}
		}
	}
	require.Positive(t, in)
	require.Positive(t, out)
	require.Positive(t, tcp)
}

func podOf(w *Workload, ip string) bool {
	for _, p := range w.Pods {
		if p.IP == ip {
			return true
		}
	}
	return false
}
