package accesslog

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestCompileTokens(t *testing.T) {
	p, err := Compile(`[%START_TIME%] "%REQ(:METHOD)% %REQ(USER-AGENT):10%" 100%% %DURATION%` + "\n")
	require.NoError(t, err)
	type tok struct {
		kind      fieldKind
		text      string
		name      string
		maxLen    int
		term      string
		termAtEnd bool
		spaceStop bool
	}
	var got []tok
	for _, t := range p.tokens {
		got = append(got, tok{t.kind, t.text, t.name, t.maxLen, t.term, t.termAtEnd, t.spaceStop})
	}
	require.Equal(t, []tok{
		{kind: kindLiteral, text: "["},
		{kind: kindStartTime, text: "%START_TIME%", name: "START_TIME", term: `] "`},
		{kind: kindLiteral, text: `] "`},
		{kind: kindMethod, text: "%REQ(:METHOD)%", name: "REQ(:METHOD)", term: " ", spaceStop: true},
		{kind: kindLiteral, text: " "},
		{kind: kindUserAgent, text: "%REQ(USER-AGENT):10%", name: "REQ(USER-AGENT)", maxLen: 10, term: `" 100% `},
		{kind: kindLiteral, text: `" 100% `},
		{kind: kindDuration, text: "%DURATION%", name: "DURATION"},
	}, got)
	require.Equal(t, `[%START_TIME%] "%REQ(:METHOD)% %REQ(USER-AGENT):10%" 100%% %DURATION%`+"\n", p.Format())
}

func TestClassify(t *testing.T) {
	tests := []struct {
		command string
		want    fieldKind
	}{
		{"%REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%", kindPath},
		{"%REQ(:PATH)%", kindPath},
		{"%REQ(:path)%", kindPath},
		{"%REQ(X-Envoy-Original-Path)%", kindPath},
		{"%REQ(X-ENVOY-ORIGINAL-HOST?:AUTHORITY)%", kindAuthority},
		{"%REQ(HOST)%", kindAuthority},
		{"%REQ(x-forwarded-for)%", kindForwardedFor},
		{"%REQ(User-Agent):64%", kindUserAgent},
		{"%REQ(X-REQUEST-ID)%", kindRequestID},
		{"%REQ(X-B3-TRACEID)%", kindExtra},
		{"%RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)%", kindUpstreamServiceTime},
		{"%RESP(CONTENT-TYPE)%", kindExtra},
		{"%START_TIME(%s)%", kindStartTime},
		{"%PROTOCOL%", kindProtocol},
		{"%PROTOCOL(X)%", kindExtra},
		{"%RESPONSE_CODE%", kindResponseCode},
		{"%RESPONSE_FLAGS%", kindResponseFlags},
		{"%RESPONSE_FLAGS_LONG%", kindExtra},
		{"%RESPONSE_CODE_DETAILS%", kindDetails},
		{"%CONNECTION_TERMINATION_DETAILS%", kindTerminationDetails},
		{"%UPSTREAM_TRANSPORT_FAILURE_REASON%", kindTransportFailureReason},
		{"%BYTES_RECEIVED%", kindBytesReceived},
		{"%BYTES_SENT%", kindBytesSent},
		{"%DURATION%", kindDuration},
		{"%UPSTREAM_HOST%", kindUpstreamHost},
		{"%UPSTREAM_CLUSTER%", kindUpstreamCluster},
		{"%UPSTREAM_CLUSTER_RAW%", kindUpstreamClusterRaw},
		{"%UPSTREAM_LOCAL_ADDRESS%", kindUpstreamLocalAddress},
		{"%DOWNSTREAM_LOCAL_ADDRESS%", kindDownstreamLocalAddress},
		{"%DOWNSTREAM_REMOTE_ADDRESS%", kindDownstreamRemoteAddress},
		{"%DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT%", kindExtra},
		{"%REQUESTED_SERVER_NAME%", kindRequestedServerName},
		{"%ROUTE_NAME%", kindRouteName},
		{"%DYNAMIC_METADATA(istio.mixer:status)%", kindExtra},
	}
	for _, tc := range tests {
		t.Run(tc.command, func(t *testing.T) {
			p, err := Compile(tc.command)
			require.NoError(t, err)
			require.Len(t, p.tokens, 1)
			require.Equal(t, tc.want, p.tokens[0].kind)
		})
	}
}

func TestCustomFormats(t *testing.T) {
	tests := []struct {
		name   string
		format string
		line   string
		want   Entry
	}{
		{
			name:   "start time layout, extras, length limit",
			format: `%START_TIME(%Y-%m-%dT%H:%M:%S.%3fZ)% %REQ(X-B3-TRACEID)% "%REQ(USER-AGENT):10%" %RESPONSE_FLAGS% %UPSTREAM_CLUSTER%`,
			line:   `2024-07-20T07:06:24.729Z 80f198ee56343ba864fe8b2a57d3eff7 "curl/8.4.0" UF,URX outbound|9080|v1|reviews.default.svc.cluster.local;`,
			want: Entry{
				StartTime: ts("2024-07-20T07:06:24.729Z"), Duration: -1, UpstreamServiceTime: -1,
				UserAgent: "curl/8.4.0", ResponseFlags: "UF,URX", Flags: FlagUF | FlagURX,
				UpstreamCluster: "outbound|9080|v1|reviews.default.svc.cluster.local",
				Extra:           []Field{{Name: "REQ(X-B3-TRACEID)", Value: "80f198ee56343ba864fe8b2a57d3eff7"}},
			},
		},
		{
			name:   "epoch seconds with millis, unquoted last field with spaces",
			format: `%START_TIME(%s.%3f)% %RESPONSE_CODE% %REQ(USER-AGENT)%`,
			line:   `1721459184.729 200 Mozilla/5.0 (X11; Linux x86_64)`,
			want: Entry{
				StartTime: ts("2024-07-20T07:06:24.729Z"), ResponseCode: 200, Duration: -1, UpstreamServiceTime: -1,
				UserAgent: "Mozilla/5.0 (X11; Linux x86_64)",
			},
		},
		{
			name:   "percent literal and quoted value with spaces",
			format: `%% "%REQ(:AUTHORITY)%" %DURATION%ms %UPSTREAM_CLUSTER_RAW%`,
			line:   `% "a b c" 12.5ms outbound|80||x;`,
			want: Entry{
				Authority: "a b c", Duration: 12500000, UpstreamServiceTime: -1, UpstreamCluster: "outbound|80||x;",
			},
		},
		{
			name:   "dashes are unset, extras too",
			format: `%RESPONSE_CODE% %BYTES_RECEIVED% %BYTES_SENT% %DURATION% %RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% %START_TIME% %REQ(X-B3-SPANID)% %UPSTREAM_CLUSTER%`,
			line:   `- - - - - - - -`,
			want: Entry{
				Duration: -1, UpstreamServiceTime: -1,
				Extra: []Field{{Name: "REQ(X-B3-SPANID)", Value: ""}},
			},
		},
		{
			name:   "malformed upstream service time is unknown",
			format: `%RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% %DURATION%`,
			line:   `abc 7`,
			want:   Entry{Duration: 7 * ms, UpstreamServiceTime: -1},
		},
		{
			name:   "separator that is not a space",
			format: `%REQ(:METHOD)%,%REQ(:PATH)%,%RESPONSE_CODE%`,
			line:   `GET,/a b,201`,
			want:   Entry{Method: "GET", Path: "/a b", ResponseCode: 201, Duration: -1, UpstreamServiceTime: -1},
		},
		{
			name:   "text only",
			format: "health\n",
			line:   "health\n",
			want:   Entry{Duration: -1, UpstreamServiceTime: -1},
		},
		{
			name:   "unknown flags",
			format: `%RESPONSE_FLAGS%`,
			line:   `UH,XYZ`,
			want:   Entry{ResponseFlags: "UH,XYZ", Flags: FlagUH | FlagUnknown, Duration: -1, UpstreamServiceTime: -1},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := Compile(tc.format)
			require.NoError(t, err)
			var e Entry
			require.NoError(t, p.Parse([]byte(tc.line), &e))
			require.Equal(t, tc.want, comparable(e))
		})
	}
}

func TestTextOnlyFormat(t *testing.T) {
	p := MustCompile("health\n")
	var e Entry
	require.NoError(t, p.Parse([]byte("health"), &e))
	require.EqualError(t, p.Parse([]byte("healthy"), &e), "column 7: expected end of line")
	require.EqualError(t, p.Parse([]byte("heal"), &e), "column 5: expected 'th'")
}

func TestExtraValue(t *testing.T) {
	p := MustCompile(`%REQ(X-B3-TRACEID)% %REQ(X-B3-SPANID)%`)
	var e Entry
	require.NoError(t, p.Parse([]byte("abc def"), &e))
	v, ok := e.ExtraValue("REQ(X-B3-SPANID)")
	require.True(t, ok)
	require.Equal(t, "def", v)
	_, ok = e.ExtraValue("REQ(X-B3-SAMPLED)")
	require.False(t, ok)
}

func TestMustCompilePanics(t *testing.T) {
	require.Panics(t, func() { MustCompile("%") })
}

func TestPresets(t *testing.T) {
	for _, name := range Presets() {
		p, err := ParserFor(name)
		require.NoError(t, err, name)
		require.NotNil(t, p)
	}
	var e Entry
	err := NewVariantParser().Parse([]byte("x"), &e)
	require.EqualError(t, err, "column 1: expected a format to parse with")
}
