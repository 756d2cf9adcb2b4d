package edgestore

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestPlanUsesCoarsestAlignedTables(t *testing.T) {
	h := int64(1_795_000_000 / 3600 * 3600) // an hour boundary
	seg := func(t table, from, to int64) segment { return segment{t, h + from, h + to} }
	for _, tc := range []struct {
		name     string
		from, to int64
		maxStep  int64
		want     []segment
	}{
		{"within a minute", 10, 50, 3600, []segment{seg(t10s, 10, 50)}},
		{"minutes with fringes", 10, 130, 3600, []segment{seg(t10s, 10, 60), seg(t1m, 60, 120), seg(t10s, 120, 130)}},
		{"hours minutes buckets", -70, 7200 + 130, 3600, []segment{
			seg(t10s, -70, -60), seg(t1m, -60, 0), seg(t1h, 0, 7200), seg(t1m, 7200, 7320), seg(t10s, 7320, 7330)}},
		{"hours not allowed", 0, 7200, 60, []segment{seg(t1m, 0, 7200)}},
		{"only buckets allowed", 0, 120, 10, []segment{seg(t10s, 0, 120)}},
		{"empty", 50, 50, 3600, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, plan(h+tc.from, h+tc.to, tc.maxStep))
		})
	}
}

func TestResolutionByLength(t *testing.T) {
	require.EqualValues(t, 10, resolutionFor(15*time.Minute))
	require.EqualValues(t, 60, resolutionFor(6*time.Hour))
	require.EqualValues(t, 3600, resolutionFor(24*time.Hour))
}
