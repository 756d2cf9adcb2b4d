package accesslog

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

const envoyLine = `[2018-11-23T04:51:00.281Z] "GET / HTTP/1.1" 200 - 0 58 4 1 "-" "curl/7.47.0" ` +
	`"f21ebd42-6770-4aa5-88d4-e56118165a7d" "one.example.com" "172.18.0.4:80"`

const istioTCPLine = `[2024-01-11T21:09:42.835Z] "- - -" 0 - - - "-" 839 2504306 231 - "-" "-" "-" "-" ` +
	`"151.101.195.5:443" outbound|443||edition.cnn.com 172.30.239.8:34470 172.30.239.8:443 ` +
	`172.30.239.15:43956 edition.cnn.com -`

func TestParseErrorsText(t *testing.T) {
	envoy := MustCompile(FormatEnvoy)
	istio := MustCompile(FormatIstio)
	tests := []struct {
		name   string
		p      LineParser
		line   string
		column int
		msg    string
	}{
		{"empty line", envoy, "", 1, `column 1: expected '[' before %START_TIME%`},
		{"no bracket", envoy, envoyLine[1:], 1, `column 1: expected '[' before %START_TIME%`},
		{"bad month", envoy, strings.Replace(envoyLine, "2018-11", "2018-13", 1), 7,
			`column 7: expected timestamp in %START_TIME%`},
		{"bad status", envoy, strings.Replace(envoyLine, " 200 ", " 2x0 ", 1), 46,
			`column 46: expected integer in %RESPONSE_CODE%`},
		{"negative bytes", envoy, strings.Replace(envoyLine, " 58 ", " -58 ", 1), 53,
			`column 53: expected integer in %BYTES_SENT%`},
		{"bad duration", envoy, strings.Replace(envoyLine, " 4 1 ", " 4.x 1 ", 1), 58,
			`column 58: expected milliseconds in %DURATION%`},
		{"user agent not quoted", envoy, envoyLine[:63] + `x`, 64,
			`column 64: expected '"' before %REQ(USER-AGENT)%`},
		{"truncated in user agent", envoy, envoyLine[:70], 71,
			`column 71: expected '" "' before %REQ(X-REQUEST-ID)%`},
		{"text after the last quote", envoy, envoyLine + " x", len(envoyLine) + 2,
			`column 151: expected '"' after %UPSTREAM_HOST%`},
		{"missing route name", istio, strings.TrimSuffix(istioTCPLine, " -"), len(istioTCPLine) - 1,
			`column 203: expected ' ' before %ROUTE_NAME%`},
		{"not a line", istioPreset(), "hello", 1, `column 1: expected '[' before %START_TIME%`},
		// The variant without details fields gets furthest: to the end.
		{"envoy line for istio", istioPreset(), envoyLine, 150,
			`column 150: expected ' ' before %UPSTREAM_CLUSTER%`},
		{"istio line for envoy", envoyPreset(false), istioTCPLine, 44,
			`column 44: expected milliseconds in %DURATION%`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var e Entry
			err := tc.p.Parse([]byte(tc.line), &e)
			var pe *ParseError
			require.ErrorAs(t, err, &pe)
			require.Equal(t, tc.column, pe.Column)
			require.Equal(t, tc.msg, pe.Error())
		})
	}
}

func TestParseErrorsJSON(t *testing.T) {
	tests := []struct {
		name   string
		line   string
		column int
		msg    string
	}{
		{"empty line", ``, 1, `column 1: expected '{'`},
		{"not an object", `[1]`, 1, `column 1: expected '{'`},
		{"unclosed object", `{"method":"GET"`, 16, `column 16: expected ',' or '}' after "method"`},
		{"missing colon", `{"method" "GET"}`, 11, `column 11: expected ':' after "method"`},
		{"key not a string", `{method:"GET"}`, 2, `column 2: expected '"'`},
		{"string for a number", `{"response_code":"abc"}`, 19, `column 19: expected integer in "response_code"`},
		{"negative number", `{"bytes_sent":-1}`, 15, `column 15: expected integer in "bytes_sent"`},
		{"fraction for an integer", `{"bytes_sent":1.5}`, 16, `column 16: expected integer in "bytes_sent"`},
		{"object for a string", `{"method":{}}`, 11, `column 11: expected string in "method"`},
		{"bad literal", `{"x":[1,{"a":tru}]}`, 14, `column 14: expected value in "x"`},
		{"bad number", `{"duration":01}`, 13, `column 13: expected milliseconds in "duration"`},
		{"unterminated string", `{"method":"GET`, 15, `column 15: expected '"' in "method"`},
		{"bad escape", `{"method":"G\x"}`, 13, `column 13: expected escape in "method"`},
		{"bad unicode escape", `{"method":"\u12"}`, 12, `column 12: expected \u and 4 hex digits in "method"`},
		{"bad time", `{"start_time":"2022-09-08 12:51:05.656X"}`, 39, `column 39: expected timestamp in "start_time"`},
		{"number for a time", `{"start_time":1}`, 15, `column 15: expected timestamp in "start_time"`},
		{"text after", `{"method":"GET"} x`, 18, `column 18: expected end of line`},
		{"too deep", `{"x":` + strings.Repeat("[", 100), 71, `column 71: expected less deeply nested value in "x"`},
	}
	p := NewJSONParser()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var e Entry
			err := p.Parse([]byte(tc.line), &e)
			var pe *ParseError
			require.ErrorAs(t, err, &pe)
			require.Equal(t, tc.msg, pe.Error())
			require.Equal(t, tc.column, pe.Column)
		})
	}
}

func TestParseErrorMessageDoesNotAliasLine(t *testing.T) {
	line := []byte(`{"weird_key" "x"}`)
	var e Entry
	err := NewJSONParser().Parse(line, &e)
	require.Error(t, err)
	msg := err.Error()
	for i := range line {
		line[i] = '#'
	}
	require.Equal(t, msg, err.Error())
}

func TestCompileErrors(t *testing.T) {
	tests := []struct {
		format string
		msg    string
	}{
		{"", `compile format "": no commands or text`},
		{"\n", `compile format "\n": no commands or text`},
		{"%", `compile format: column 2: expected a command name (A-Z, 0-9, _) after '%'`},
		{"[%START_TIME", `compile format: column 13: expected '%' to close %START_TIME`},
		{"%REQ(:PATH%", `compile format: column 1: %REQ( has no ')'`},
		{"%REQ(:PATH):x%", `compile format: column 12: %REQ(:PATH): expected a positive length after ':'`},
		{"%REQ(:PATH):0%", `compile format: column 12: %REQ(:PATH): expected a positive length after ':'`},
		{"%PROTOCOL%%DURATION%", `compile format: column 11: %DURATION% follows %PROTOCOL% with no text between them, so their values cannot be told apart`},
		{"%start_time%", `compile format: column 2: expected a command name (A-Z, 0-9, _) after '%'`},
		{"%A%\n%B%\n", `compile format: column 4: a newline before the end; entries spanning lines are not supported`},
		{"%START_TIME(%Q)%", `compile format: column 1: %START_TIME%: time layout "%Q": unsupported directive %Q`},
		{"%START_TIME(%E5Q)%", `compile format: column 1: %START_TIME%: time layout "%E5Q": unsupported directive %E5Q`},
	}
	for _, tc := range tests {
		t.Run(tc.format, func(t *testing.T) {
			_, err := Compile(tc.format)
			require.EqualError(t, err, tc.msg)
		})
	}
}

func TestParserForErrors(t *testing.T) {
	_, err := ParserFor("nginx")
	require.EqualError(t, err, `access log format "nginx": not a preset (envoy, envoy-details, istio, istio-json) and not a format string`)
	_, err = ParserFor("%BAD")
	require.EqualError(t, err, `access log format: compile format: column 5: expected '%' to close %BAD`)
}
