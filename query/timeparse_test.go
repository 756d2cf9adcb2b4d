package query

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestParseTime(t *testing.T) {
	now := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		in   string
		want time.Time
		err  bool
	}{
		{in: "2026-11-27T10:00:00Z", want: now},
		{in: "2026-11-27T11:30:00+01:30", want: now},
		{in: "2026-11-27T10:00:00.250Z", want: now.Add(250 * time.Millisecond)},
		{in: "1795000000", want: time.Unix(1795000000, 0).UTC()},
		{in: "1795000000.5", want: time.Unix(1795000000, 5e8).UTC()},
		{in: "0", want: time.Unix(0, 0).UTC()},
		{in: " now ", want: now},
		{in: "now", want: now},
		{in: "now-15m", want: now.Add(-15 * time.Minute)},
		{in: "now-2h", want: now.Add(-2 * time.Hour)},
		{in: "now-7d", want: now.Add(-7 * 24 * time.Hour)},
		{in: "now-1w", want: now.Add(-7 * 24 * time.Hour)},
		{in: "now+1h", want: now.Add(time.Hour)},
		{in: "now-1h30m", want: now.Add(-90 * time.Minute)},
		{in: "now-1d12h", want: now.Add(-36 * time.Hour)},
		{in: "now-500ms", want: now.Add(-500 * time.Millisecond)},
		{in: "now-1.5h", want: now.Add(-90 * time.Minute)},
		{in: "", err: true},
		{in: "now-", err: true},
		{in: "now-15", err: true},
		{in: "now-15x", err: true},
		{in: "now*2", err: true},
		{in: "yesterday", err: true},
		{in: "2026-11-27", err: true},
		{in: "2026-11-27 10:00:00", err: true},
		{in: "-5", err: true},
		{in: "1795000000000", err: true},
		{in: "1.2.3", err: true},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseTime(tc.in, now)
			if tc.err {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			require.True(t, tc.want.Equal(got), "got %s, want %s", got, tc.want)
		})
	}
}

func TestParseDuration(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
		err  bool
	}{
		{in: "250ms", want: 250 * time.Millisecond},
		{in: "1.5s", want: 1500 * time.Millisecond},
		{in: "2d", want: 48 * time.Hour},
		{in: "1w1d", want: 8 * 24 * time.Hour},
		{in: "10us", want: 10 * time.Microsecond},
		{in: "", err: true},
		{in: "10", err: true},
		{in: "-1s", err: true},
		{in: "ms", err: true},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseDuration(tc.in)
			if tc.err {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
}

func FuzzParseTime(f *testing.F) {
	for _, s := range []string{"now-15m", "1795000000", "2026-11-27T10:00:00Z", "now+1d2h"} {
		f.Add(s)
	}
	now := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, s string) {
		_, _ = ParseTime(s, now)
	})
}
