package accesslog

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestParseRFC3339(t *testing.T) {
	tests := []struct {
		in   string
		want string // RFC 3339 for time.Parse; "" for an error
		bad  int
	}{
		{"2016-04-15T20:17:00.310Z", "2016-04-15T20:17:00.310Z", 0},
		{"2016-04-15T20:17:00Z", "2016-04-15T20:17:00Z", 0},
		{"2016-04-15T20:17:00", "2016-04-15T20:17:00Z", 0},
		{"2016-04-15 20:17:00.1", "2016-04-15T20:17:00.1Z", 0},
		{"2016-04-15t20:17:00.123456789z", "2016-04-15T20:17:00.123456789Z", 0},
		{"2016-04-15T20:17:00.1234567891Z", "2016-04-15T20:17:00.123456789Z", 0},
		{"2016-04-15T22:17:00.310+02:00", "2016-04-15T20:17:00.310Z", 0},
		{"2016-04-15T18:17:00.310-0200", "2016-04-15T20:17:00.310Z", 0},
		{"2024-02-29T00:00:00Z", "2024-02-29T00:00:00Z", 0},
		{"1970-01-01T00:00:00Z", "1970-01-01T00:00:00Z", 0},
		{"1969-12-31T23:59:59.5Z", "1969-12-31T23:59:59.5Z", 0},
		{"2262-04-11T23:47:15Z", "2262-04-11T23:47:15Z", 0},
		{"2262-04-11T23:47:16Z", "", 0}, // past int64 nanoseconds (rounded to the second)
		{"2023-02-29T00:00:00Z", "", 8},
		{"2016-04-15T24:00:00Z", "", 11},
		{"2016-04-15T20:17:00.Z", "", 20},
		{"2016-04-15T20:17:00.310Q", "", 23},
		{"2016-04-15T20:17:00.310+2", "", 24},
		{"2016-04-15T20:17", "", 16},
		{"2016/04/15T20:17:00Z", "", 4},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			ns, bad, ok := parseRFC3339([]byte(tc.in))
			if tc.want == "" {
				require.False(t, ok)
				require.Equal(t, tc.bad, bad)
				return
			}
			require.True(t, ok)
			require.Equal(t, ts(tc.want), ns)
		})
	}
}

func TestParseRFC3339MatchesTimePackage(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 10000 {
		sec := r.Int64N(7e9) - 2e9
		tm := time.Unix(sec, r.Int64N(1e9)).UTC()
		s := tm.Format("2006-01-02T15:04:05.000000000Z07:00")
		ns, _, ok := parseRFC3339([]byte(s))
		require.True(t, ok, s)
		require.Equal(t, tm.UnixNano(), ns, s)
	}
}

func TestTimeLayouts(t *testing.T) {
	tests := []struct {
		layout string
		in     string
		want   string
	}{
		{"%Y-%m-%dT%H:%M:%S.%3fZ", "2024-07-20T07:06:24.729Z", "2024-07-20T07:06:24.729Z"},
		{"%Y-%m-%dT%H:%M:%E3SZ", "2024-07-20T07:06:24.729Z", "2024-07-20T07:06:24.729Z"},
		{"%FT%T%Ez", "2024-07-20T09:06:24+02:00", "2024-07-20T07:06:24Z"},
		{"%F %T %z", "2024-07-20 01:06:24 -0600", "2024-07-20T07:06:24Z"},
		{"%F %T%E*z", "2024-07-20 07:36:54+00:30:30", "2024-07-20T07:06:24Z"},
		{"%s", "1721459184", "2024-07-20T07:06:24Z"},
		{"%s.%6f", "1721459184.729001", "2024-07-20T07:06:24.729001Z"},
		{"%s %f", "1721459184 000000001", "2024-07-20T07:06:24.000000001Z"},
		{"%E*S", "24.5", "1970-01-01T00:00:24.5Z"},
		{"%E*S", "24", "1970-01-01T00:00:24Z"},
		{"%E0S|%E*f|", "24|123|", "1970-01-01T00:00:24.123Z"},
		{"%d/%b/%Y:%H:%M:%S %z", "20/Jul/2024:07:06:24 +0000", "2024-07-20T07:06:24Z"},
		{"%A, %B %e %Y %I:%M:%S %p %Z", "Saturday, July 20 2024 07:06:24 PM UTC", "2024-07-20T19:06:24Z"},
		{"%a %b %e %k:%M:%S %Y", "Sat Jul  2  7:06:24 2024", "2024-07-02T07:06:24Z"},
		{"%D %R", "07/20/24 07:06", "2024-07-20T07:06:00Z"},
		{"%y-%j %H", "70-032 01", "1970-02-01T01:00:00Z"},
		{"%E4Y%m%d%u%%%n%t", "202407206%\n\t", "2024-07-20T00:00:00Z"},
		{"%I %p", "12 AM", "1970-01-01T00:00:00Z"},
	}
	for _, tc := range tests {
		t.Run(tc.layout, func(t *testing.T) {
			l, err := compileTimeLayout(tc.layout)
			require.NoError(t, err)
			ns, bad, ok := l.parse([]byte(tc.in))
			require.True(t, ok, "bad byte at %d", bad)
			require.Equal(t, ts(tc.want), ns)
		})
	}
}

func TestTimeLayoutMismatch(t *testing.T) {
	tests := []struct {
		layout, in string
		bad        int
	}{
		{"%Y-%m-%d", "2024-7-20", 5},
		{"%Y-%m-%d", "2024-02-30", 0},
		{"%H:%M", "25:00", 0},
		{"%3f", "12", 2},
		{"%b", "Foo", 0},
		{"%p", "XM", 0},
		{"%E3S", "24", 2},
		{"%Y", "2024x", 4},
		{"%s", "99999999999", 0},
		{"%z", "", 0},
		{"%E*z", "+01:00", 6},
		{"%A", "1", 0},
		{"%u", "x", 0},
		{"%e", "x", 0},
	}
	for _, tc := range tests {
		t.Run(tc.layout+" "+tc.in, func(t *testing.T) {
			l, err := compileTimeLayout(tc.layout)
			require.NoError(t, err)
			_, bad, ok := l.parse([]byte(tc.in))
			require.False(t, ok)
			require.Equal(t, tc.bad, bad)
		})
	}
}

func TestTimeLayoutErrors(t *testing.T) {
	for _, layout := range []string{"%", "%Q", "%c", "%x", "%0f", "%1", "%E", "%E3", "%E3Q", "%E0f", "%E3z", "%E3Y", "%EQ"} {
		_, err := compileTimeLayout(layout)
		require.Error(t, err, layout)
	}
}
