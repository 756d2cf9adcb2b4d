package accesslog

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParseJSON(t *testing.T) {
	unset := Entry{Duration: -1, UpstreamServiceTime: -1}
	with := func(f func(e *Entry)) Entry {
		e := unset
		f(&e)
		return e
	}
	tests := []struct {
		name string
		line string
		want Entry
	}{
		{"empty object", `{}`, unset},
		{"whitespace", " { \"method\" :\t\"GET\" , \"path\":\"/\" }\r\n", with(func(e *Entry) { e.Method, e.Path = "GET", "/" })},
		{"null and dash are unset", `{"method":null,"path":"-","response_code":null,"bytes_sent":"-","duration":null,"upstream_service_time":"-","start_time":null}`, unset},
		{"numbers as strings (Istio before typed JSON)", `{"response_code":"503","bytes_received":"12","bytes_sent":"34","duration":"5","upstream_service_time":"4"}`,
			with(func(e *Entry) {
				e.ResponseCode, e.BytesReceived, e.BytesSent, e.Duration, e.UpstreamServiceTime = 503, 12, 34, 5*ms, 4*ms
			})},
		{"fractional milliseconds", `{"duration":1.5,"upstream_service_time":"0.25"}`,
			with(func(e *Entry) { e.Duration, e.UpstreamServiceTime = 1500000, 250000 })},
		{"malformed upstream service time is unknown", `{"upstream_service_time":"14, 15"}`, unset},
		{"escapes", `{"path":"/a\"b\\c\/d\u00e9\ud83d\ude00\n","user_agent":"x\ty"}`,
			with(func(e *Entry) { e.Path, e.UserAgent = "/a\"b\\c/d\u00e9\U0001F600\n", "x\ty" })},
		{"lone surrogates become U+FFFD", `{"path":"\ud83d-\ude00-\ud83d\u0041"}`,
			with(func(e *Entry) { e.Path = "\uFFFD-\uFFFD-\uFFFDA" })},
		{"unknown keys of any type are skipped", `{"a":{"b":[1,2.5e3,-0.5,{"c":"}"}],"d":true},"e":[],"f":null,"g":false,"h":"x\"y","method":"PUT"}`,
			with(func(e *Entry) { e.Method = "PUT" })},
		{"escaped known key", `{"meth\u006fd":"GET"}`, with(func(e *Entry) { e.Method = "GET" })},
		{"keys in any order", `{"x_forwarded_for":"a","authority":"b","route_name":"c","bytes_sent":1,"bytes_received":2,"user_agent":"d"}`,
			with(func(e *Entry) {
				e.ForwardedFor, e.Authority, e.RouteName, e.BytesSent, e.BytesReceived, e.UserAgent = "a", "b", "c", 1, 2, "d"
			})},
		{"prefix of a known key", `{"path_x":"no","pat":"no","path":"yes"}`, with(func(e *Entry) { e.Path = "yes" })},
		{"later key wins", `{"method":"GET","method":"POST"}`, with(func(e *Entry) { e.Method = "POST" })},
		{"cluster with ; from Istio 1.24", `{"upstream_cluster":"inbound-vip|8080|http|handson.default.svc.cluster.local;"}`,
			with(func(e *Entry) { e.UpstreamCluster = "inbound-vip|8080|http|handson.default.svc.cluster.local" })},
		{"flags", `{"response_flags":"UF,URX"}`, with(func(e *Entry) { e.ResponseFlags, e.Flags = "UF,URX", FlagUF|FlagURX })},
		{"number in a string field", `{"route_name":42}`, with(func(e *Entry) { e.RouteName = "42" })},
		{"start time with offset", `{"start_time":"2022-09-08T14:51:05.656+02:00"}`,
			with(func(e *Entry) { e.StartTime = ts("2022-09-08T12:51:05.656Z") })},
		{"every key", `{"start_time":"2022-09-08T12:51:05.656Z","route_name":"r","method":"GET","path":"/p",` +
			`"protocol":"HTTP/2","response_code":200,"response_flags":"-","response_code_details":"via_upstream",` +
			`"connection_termination_details":"ctd","bytes_received":1,"bytes_sent":2,"duration":3,` +
			`"upstream_service_time":"4","x_forwarded_for":"1.2.3.4","user_agent":"ua","request_id":"id",` +
			`"authority":"a:80","upstream_host":"10.0.0.1:80","upstream_cluster":"outbound|80||a.b.svc.cluster.local",` +
			`"upstream_local_address":"10.0.0.2:1","downstream_local_address":"10.0.0.3:2",` +
			`"downstream_remote_address":"10.0.0.4:3","requested_server_name":"sni",` +
			`"upstream_transport_failure_reason":"tfr"}`,
			Entry{
				StartTime: ts("2022-09-08T12:51:05.656Z"), RouteName: "r", Method: "GET", Path: "/p", Protocol: "HTTP/2",
				ResponseCode: 200, Details: "via_upstream", TerminationDetails: "ctd",
				BytesReceived: 1, BytesSent: 2, Duration: 3 * ms, UpstreamServiceTime: 4 * ms,
				ForwardedFor: "1.2.3.4", UserAgent: "ua", RequestID: "id", Authority: "a:80",
				UpstreamHost: "10.0.0.1:80", UpstreamCluster: "outbound|80||a.b.svc.cluster.local",
				UpstreamLocalAddress: "10.0.0.2:1", DownstreamLocalAddress: "10.0.0.3:2",
				DownstreamRemoteAddress: "10.0.0.4:3", RequestedServerName: "sni", TransportFailureReason: "tfr",
			}},
	}
	p := NewJSONParser()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var e Entry
			require.NoError(t, p.Parse([]byte(tc.line), &e))
			require.Equal(t, tc.want, comparable(e))
		})
	}
}

// TestParseJSONEscapedStringsSurviveGrowth checks that strings unescaped
// early in a line stay intact when the entry's buffer grows later.
func TestParseJSONEscapedStringsSurviveGrowth(t *testing.T) {
	long := make([]byte, 0, 5000)
	for range 1000 {
		long = append(long, `\u0041`...)
	}
	line := `{"method":"G\u0045T","path":"` + string(long) + `","user_agent":"\"ua\""}`
	var e Entry
	require.NoError(t, NewJSONParser().Parse([]byte(line), &e))
	require.Equal(t, "GET", e.Method)
	require.Len(t, e.Path, 1000)
	require.Equal(t, `"ua"`, e.UserAgent)
	c := e.Clone()
	require.NoError(t, NewJSONParser().Parse([]byte(`{"method":"\u0058"}`), &e))
	require.Equal(t, "GET", c.Method)
	require.Equal(t, `"ua"`, c.UserAgent)
	require.Equal(t, "X", e.Method)
}
