package main

import (
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"

	"github.com/meshscope/meshscope/graph"
)

// gcPercent is serve's garbage collection target, unless GOGC says
// otherwise: the heap may grow to four times what is live before a
// collection, where Go's default is twice. Ingest allocates much
// short-lived memory (decoded requests, rows); collecting it a third as
// often costs about 8 % less CPU a span for about 1.7 times the peak memory
// (BENCHMARKS.md), and the soft memory limit below makes the collector work
// harder instead of growing past the container's limit.
const gcPercent = 300

// memoryLimitShare is the part of the container's memory limit set as the
// Go runtime's soft limit, unless GOMEMLIMIT says otherwise: the rest is
// for memory the runtime does not count (the binary, stacks, fragmentation).
const memoryLimitShare = 0.8

// tuneGC sets the garbage collector's target and soft memory limit for
// serve, leaving those that GOGC and GOMEMLIMIT set alone, and logs them.
func tuneGC(log *slog.Logger) {
	var attrs []any
	if v := os.Getenv("GOGC"); v != "" {
		attrs = append(attrs, "gogc", v)
	} else {
		debug.SetGCPercent(gcPercent)
		attrs = append(attrs, "gogc", gcPercent)
	}
	if v := os.Getenv("GOMEMLIMIT"); v != "" {
		attrs = append(attrs, "gomemlimit", v)
	} else if limit, ok := cgroupMemoryLimit("/sys/fs/cgroup"); ok {
		soft := int64(float64(limit) * memoryLimitShare)
		debug.SetMemoryLimit(soft)
		attrs = append(attrs, "gomemlimit", soft, "container_memory_limit", limit)
	}
	log.Info("garbage collector", attrs...)
}

// cgroupMemoryLimit reads the memory limit of the process's cgroup under
// root: cgroup v2's memory.max, else v1's memory/memory.limit_in_bytes. No
// limit ("max", or v1's page-rounded maximum) is not ok.
func cgroupMemoryLimit(root string) (int64, bool) {
	for _, p := range []string{"memory.max", "memory/memory.limit_in_bytes"} {
		b, err := os.ReadFile(filepath.Join(root, p))
		if err != nil {
			continue
		}
		s := strings.TrimSpace(string(b))
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n <= 0 || n >= 1<<62 {
			return 0, false // "max", or no limit in v1
		}
		return n, true
	}
	return 0, false
}

// The span pairer's store, with --span-max-pending 0 (the default): a share
// of the Go runtime's soft memory limit (tuneGC sets it from the
// container's), at graph.PendingSpanBytes a waiting span, and never below
// minSpanStore, which is also its size without a limit.
const (
	spanStoreShare = 0.05
	minSpanStore   = 100_000
)

// spanStoreSize is the store's size for a soft memory limit of limit bytes
// (math.MaxInt64: none).
func spanStoreSize(limit int64) int {
	if limit <= 0 || limit == math.MaxInt64 {
		return minSpanStore
	}
	return max(minSpanStore, int(float64(limit)*spanStoreShare/graph.PendingSpanBytes))
}
