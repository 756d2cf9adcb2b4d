package demo

import (
	"strconv"
	"syscall"
	"testing"
	"time"
)

// BenchmarkGenerate measures the generator alone: simulating request
// trees and encoding every channel (ALS entries, text lines, spans at the
// default 10 % sample, Istio metrics) into batches that a discarding
// output drops. Batches are flushed every 20,000 calls and metrics pushed
// every 200,000, as a run at 20,000 calls/s does every second and every
// 10 seconds. calls/s is per wall-clock second of the one goroutine the
// generator runs on; calls/cpu-s divides by the CPU time the process used
// (garbage collection included), which is what "per core" means when the
// machine is shared.
func BenchmarkGenerate(b *testing.B) {
	for _, services := range []int{60, 1000} {
		b.Run(strconv.Itoa(services)+"-services", func(b *testing.B) {
			cfg := testConfig()
			cfg.Services = services
			cfg.TraceSample = 0.1
			g, _ := newTestGenerator(b, cfg, discard{})
			now := time.Now()
			// Warm up: a pod's encoders and caches are made on its first
			// call, which at 1,000 services takes thousands of request
			// trees to reach every pod; the steady state is what a run
			// costs.
			for calls := 0; calls < 20*services*services/10; {
				calls += g.request(now.UnixNano())
			}
			g.flush()
			g.pushMetrics(now)
			var calls, sinceFlush, sinceMetrics int
			b.ReportAllocs()
			cpu0 := cpuTime()
			start := time.Now()
			for b.Loop() {
				n := g.request(now.UnixNano())
				calls += n
				sinceFlush += n
				sinceMetrics += n
				if sinceFlush >= 20_000 {
					g.flush()
					sinceFlush = 0
				}
				if sinceMetrics >= 200_000 {
					g.pushMetrics(now)
					sinceMetrics = 0
				}
			}
			elapsed := time.Since(start)
			cpu := cpuTime() - cpu0
			b.ReportMetric(float64(calls)/cpu.Seconds(), "calls/cpu-s")
			b.ReportMetric(float64(calls)/elapsed.Seconds(), "calls/s")
			b.ReportMetric(float64(elapsed.Nanoseconds())/float64(calls), "ns/call")
			b.ReportMetric(float64(calls)/float64(b.N), "calls/op")
		})
	}
}

// cpuTime is the CPU time the process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
