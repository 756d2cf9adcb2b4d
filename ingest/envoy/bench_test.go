package envoy

import (
	"fmt"
	"testing"
	"time"

	"github.com/meshscope/meshscope/ingest/envoy/accesslog"
)

// benchRecords returns n parsed records: pairs of one request logged by
// both sidecars (istio-text.log lines 6 and 7, each pair its own request
// id), with every eighth record an egress TCP connection (line 8).
func benchRecords(b *testing.B, n int) []Record {
	b.Helper()
	p, err := accesslog.ParserFor(accesslog.PresetIstio)
	if err != nil {
		b.Fatal(err)
	}
	lines := readLines(b, "istio-text.log")
	parse := func(line []byte) accesslog.Entry {
		var e accesslog.Entry
		if err := p.Parse(line, &e); err != nil {
			b.Fatal(err)
		}
		return e.Clone()
	}
	src, dst, tcp := parse(lines[5]), parse(lines[6]), parse(lines[7])
	sleep, httpbin, egress := mustEmitter(b, "foo/sleep", false), mustEmitter(b, "foo/httpbin", false),
		mustEmitter(b, "istio-system/istio-egressgateway", true)
	out := make([]Record, 0, n)
	for i := 0; len(out) < n; i++ {
		id := fmt.Sprintf("84961386-6d84-929d-98bd-%012x", i)
		s, d := src, dst
		s.RequestID, d.RequestID = id, id
		out = append(out, Record{Entry: s, Emitter: sleep, LogName: "istio"}, Record{Entry: d, Emitter: httpbin, LogName: "istio"})
		if i%4 == 3 {
			out = append(out, Record{Entry: tcp, Emitter: egress, LogName: "istio"})
		}
	}
	return out[:n]
}

// BenchmarkResolve measures a parsed entry becoming a row and an
// observation, de-duplication included (batches of 512 entries): every
// source side waits and is cancelled by its destination side. The wait is
// short so that the 65,536 recurring requests are new again at each cycle.
func BenchmarkResolve(b *testing.B) {
	recs := benchRecords(b, 1<<16)
	r, err := NewResolver(Config{Wait: time.Millisecond})
	if err != nil {
		b.Fatal(err)
	}
	const batch = 512
	var bt Batch
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		bt.Reset()
		for range batch {
			r.Add(&bt, &recs[i])
			if i++; i == len(recs) {
				i = 0
			}
		}
		r.Settle(&bt)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*batch), "ns/entry")
	b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "entries/s")
}
