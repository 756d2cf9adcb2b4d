package main

import (
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestCgroupMemoryLimit reads the limits cgroup v2 and v1 write, and no
// limit as none.
func TestCgroupMemoryLimit(t *testing.T) {
	for _, tc := range []struct {
		file, content string
		want          int64
		ok            bool
	}{
		{"memory.max", "2147483648\n", 2147483648, true},
		{"memory.max", "max\n", 0, false},
		{"memory/memory.limit_in_bytes", "1073741824\n", 1073741824, true},
		{"memory/memory.limit_in_bytes", "9223372036854771712\n", 0, false}, // v1 without a limit
		{"", "", 0, false}, // no cgroup files
	} {
		root := t.TempDir()
		if tc.file != "" {
			require.NoError(t, os.MkdirAll(filepath.Dir(filepath.Join(root, tc.file)), 0o755))
			require.NoError(t, os.WriteFile(filepath.Join(root, tc.file), []byte(tc.content), 0o644))
		}
		got, ok := cgroupMemoryLimit(root)
		require.Equal(t, tc.ok, ok, "%s %q", tc.file, tc.content)
		require.Equal(t, tc.want, got, "%s %q", tc.file, tc.content)
	}
}

// TestSpanStoreSize: without --span-max-pending the span store takes 5 % of
// the soft memory limit at graph.PendingSpanBytes (420) a span, never fewer than 100,000
// spans, which is also its size without a limit.
func TestSpanStoreSize(t *testing.T) {
	for _, tc := range []struct {
		limit int64
		want  int
	}{
		{math.MaxInt64, 100_000},        // no limit
		{0, 100_000},                    // none known
		{256 << 20, 100_000},            // a small container: the floor
		{(2 << 30) * 4 / 5, 204_522},    // 80 % of 2 GiB: 85 MB of store
		{(16 << 30) * 4 / 5, 1_636_178}, // 80 % of 16 GiB
	} {
		require.Equal(t, tc.want, spanStoreSize(tc.limit), "limit %d", tc.limit)
	}
}
