package main

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/golang/snappy"
	"github.com/klauspost/compress/s2"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/meshscope/meshscope/ingest/otlp"
	"github.com/meshscope/meshscope/schema"
	"github.com/meshscope/meshscope/schema/chstore"
)

// benchTraces builds a realistic export of n spans: traces of 8 spans across
// 12 services, HTTP attributes, random ids.
func benchTraces(r *rand.Rand, n int, start time.Time) ptrace.Traces {
	td := ptrace.NewTraces()
	services := []string{"frontend", "cart", "checkout", "payment", "shipping", "catalog", "ads", "recommend", "email", "currency", "auth", "search"}
	routes := []string{"/api/cart", "/api/checkout", "/api/products/{id}", "/api/search", "/health"}
	byService := map[string]ptrace.SpanSlice{}
	for _, s := range services {
		rs := td.ResourceSpans().AppendEmpty()
		rs.Resource().Attributes().PutStr("service.name", s)
		rs.Resource().Attributes().PutStr("k8s.namespace.name", "shop")
		rs.Resource().Attributes().PutStr("k8s.pod.name", s+"-7d9f8b6c5d-x2x4z")
		ss := rs.ScopeSpans().AppendEmpty()
		ss.Scope().SetName("io.opentelemetry.http")
		byService[s] = ss.Spans()
	}
	var traceID pcommon.TraceID
	var parent pcommon.SpanID
	for i := range n {
		if i%8 == 0 {
			for j := range traceID {
				traceID[j] = byte(r.Uint32())
			}
			parent = pcommon.SpanID{}
		}
		svc := services[r.IntN(len(services))]
		sp := byService[svc].AppendEmpty()
		var id pcommon.SpanID
		for j := range id {
			id[j] = byte(r.Uint32())
		}
		sp.SetTraceID(traceID)
		sp.SetSpanID(id)
		sp.SetParentSpanID(parent)
		parent = id
		route := routes[r.IntN(len(routes))]
		sp.SetName("GET " + route)
		sp.SetKind(ptrace.SpanKind(2 + i%2))
		t0 := start.Add(time.Duration(i) * time.Microsecond)
		sp.SetStartTimestamp(pcommon.NewTimestampFromTime(t0))
		sp.SetEndTimestamp(pcommon.NewTimestampFromTime(t0.Add(time.Duration(200+r.IntN(50_000)) * time.Microsecond)))
		a := sp.Attributes()
		a.PutStr("http.request.method", "GET")
		a.PutStr("http.route", route)
		code := int64(200)
		if r.IntN(100) == 0 {
			code = 503
		}
		a.PutInt("http.response.status_code", code)
		a.PutStr("server.address", services[r.IntN(len(services))])
	}
	return td
}

// procCPU returns the user+system CPU time of pid.
func procCPU(pid int) time.Duration {
	f := procStat(pid)
	return time.Duration(f.at(11)+f.at(12)) * time.Second / 100 // USER_HZ
}

// procMinorFaults returns the minor page faults of pid so far: memory the
// process touched for the first time since the kernel gave or took it back.
func procMinorFaults(pid int) int64 { return procStat(pid).at(7) }

// statFields are the fields of /proc/PID/stat after the process state (7:
// minor faults, 11 and 12: user and system time).
type statFields []string

func procStat(pid int) statFields {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return nil
	}
	return strings.Fields(string(b)[strings.LastIndexByte(string(b), ')')+2:])
}

// at is field i as a number, 0 when it is not there.
func (f statFields) at(i int) int64 {
	if i >= len(f) {
		return 0
	}
	n, _ := strconv.ParseInt(f[i], 10, 64)
	return n
}

// procPeakRSS is the peak resident memory of process pid (VmHWM), in MiB.
func procPeakRSS(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			return kb / 1024
		}
	}
	return 0
}

// BenchmarkServeOTLPSpans drives `meshscope serve` and its managed ClickHouse
// over OTLP gRPC with pre-marshalled requests and reports spans/s stored,
// meshscope CPU per span, bytes on disk per span, and, as the ceiling, the
// rate at which the same rows go into ClickHouse directly through the
// native protocol in the same run. Size with MESHSCOPE_BENCH_SPANS.
//
// The measured passes run on a warm server: one pass of as many requests
// goes first (its figures are reported as cold-*), so that what is measured
// is ingestion, not the process's first growth to its working size (the
// kernel handing it some 450-550 MB of fresh pages, 0.1-0.3 µs a span over
// a million spans). MESHSCOPE_BENCH_WARMUP=0 measures the cold pass alone;
// MESHSCOPE_BENCH_ARGS adds flags to serve's (to compare settings).
func BenchmarkServeOTLPSpans(b *testing.B) {
	// Spans stamped as the requests are built, so that the live graph
	// counts their calls as it does live traffic's (its per-second buckets
	// reach back a minute); MESHSCOPE_BENCH_LIVE=0 stamps them an hour
	// back, as runs up to 131 did: the graph then pairs them but drops the
	// calls as too old, which leaves its aggregation out.
	stamp := func() time.Time {
		if os.Getenv("MESHSCOPE_BENCH_LIVE") == "0" {
			return time.Now().Add(-time.Hour)
		}
		return time.Now()
	}
	// A span store large enough for every client span that waits (one
	// in eight is never answered, as calls out of the mesh are): with
	// serve's default the burst fills it and such spans are dropped, which
	// costs less than keeping them.
	args := append([]string{"--wal-no-sync", "--pprof", "--span-max-pending", "1000000"},
		strings.Fields(os.Getenv("MESHSCOPE_BENCH_ARGS"))...)
	srv := startServer(b, b.TempDir(), true, args...)
	st := srv.store()
	ctx := context.Background()
	lowCard := os.Getenv("MESHSCOPE_BENCH_LOWCARD") != ""
	if lowCard {
		lowCardSpans(b, st)
	}
	truncate := func() {
		if err := st.Conn().Exec(ctx, "TRUNCATE TABLE spans"); err != nil {
			b.Fatal(err)
		}
	}
	var cold *ingestPass
	if os.Getenv("MESHSCOPE_BENCH_WARMUP") != "0" {
		// Spans of their own: the measured ones are new to the server.
		total, reqs, _ := benchRequests(b, 8, stamp(), false)
		p := runIngestPass(b, srv, st, reqs, total)
		cold = &p
		b.Logf("warm-up pass: %.0f spans/s stored, %.3f cpu-µs/span, %d page faults",
			p.rate(), p.cpuPerSpan(), p.faults)
		truncate()
		if p := os.Getenv("MESHSCOPE_BENCH_ALLOCS"); p != "" {
			// What the warm-up allocated: the base to compare the
			// measured pass's allocations with (pprof -diff_base).
			fetchProfile(b, "http://"+srv.httpAddr+"/debug/pprof/allocs", p+".warm-up")
		}
	}
	total, reqs, rows := benchRequests(b, 7, stamp(), true)
	if p := os.Getenv("MESHSCOPE_BENCH_PROFILE"); p != "" {
		// A CPU profile of the server while it ingests.
		go fetchProfile(b, "http://"+srv.httpAddr+"/debug/pprof/profile?seconds=8", p)
	}

	pass := 0
	for b.Loop() {
		p := runIngestPass(b, srv, st, reqs, total)
		elapsed, cpu, pid := p.elapsed, p.cpu, srv.cmd.Process.Pid

		var bytesOnDisk uint64
		if err := st.Conn().QueryRow(ctx, "SELECT sum(bytes_on_disk) FROM system.parts WHERE database = ? AND table = 'spans' AND active", st.Database()).Scan(&bytesOnDisk); err != nil {
			b.Fatal(err)
		}
		_ = st.Conn().Exec(ctx, "OPTIMIZE TABLE spans FINAL")
		var merged uint64
		_ = st.Conn().QueryRow(ctx, "SELECT sum(bytes_on_disk) FROM system.parts WHERE database = ? AND table = 'spans' AND active", st.Database()).Scan(&merged)
		// The trace search's summaries (schema/traces.go), merged, beside
		// the spans: they are an index over them, reported on their own.
		_ = st.Conn().Exec(ctx, "OPTIMIZE TABLE trace_summaries FINAL")
		var summaries uint64
		_ = st.Conn().QueryRow(ctx, "SELECT sum(bytes_on_disk) FROM system.parts WHERE database = ? AND table = 'trace_summaries' AND active", st.Database()).Scan(&summaries)

		if os.Getenv("MESHSCOPE_BENCH_COLUMNS") != "" {
			// Where the bytes on disk go, column by column.
			rows, err := st.Conn().Query(ctx, `SELECT name, data_compressed_bytes FROM system.columns
				WHERE database = ? AND table = 'spans' ORDER BY data_compressed_bytes DESC`, st.Database())
			if err != nil {
				b.Fatal(err)
			}
			for rows.Next() {
				var name string
				var n uint64
				if err := rows.Scan(&name, &n); err != nil {
					b.Fatal(err)
				}
				b.Logf("%-28s %6.2f B/span", name, float64(n)/float64(total))
			}
			rows.Close()
		}
		if p := os.Getenv("MESHSCOPE_BENCH_ALLOCS"); p != "" {
			// What the server allocated, from its start to here.
			fetchProfile(b, "http://"+srv.httpAddr+"/debug/pprof/allocs", p)
		}

		// The ceiling: the same rows inserted straight into ClickHouse.
		ceiling := directInsertRate(b, srv, rows, lowCard)

		rate := float64(total) / elapsed.Seconds()
		b.ReportMetric(rate, "spans/s")
		b.ReportMetric(float64(total)/p.acked.Seconds(), "acked-spans/s")
		b.ReportMetric(cpu.Seconds()/float64(total)*1e6, "cpu-µs/span")
		b.ReportMetric(float64(bytesOnDisk)/float64(total), "disk-B/span")
		b.ReportMetric(float64(merged)/float64(total), "merged-disk-B/span")
		b.ReportMetric(float64(summaries)/float64(total), "summary-disk-B/span")
		b.ReportMetric(ceiling, "ceiling-spans/s")
		b.ReportMetric(rate/ceiling, "ratio-to-ceiling")
		b.ReportMetric(procPeakRSS(pid), "peak-rss-MiB")
		b.ReportMetric(float64(p.faults)/float64(total)*1e3, "page-faults/kspan")
		if cold != nil {
			b.ReportMetric(cold.rate(), "cold-spans/s")
			b.ReportMetric(cold.cpuPerSpan(), "cold-cpu-µs/span")
		}
		pass++
		b.Logf("the live graph took %.0f calls, dropped %.0f as late; the span pairer dropped %.0f spans, its store full",
			srv.metric("meshscope_graph_observations_total"), srv.metric(`meshscope_graph_observations_dropped_total{reason="late"}`),
			srv.metric(`meshscope_graph_span_store_dropped_total{reason="store_full"}`))
		b.Logf("pass %d: %.0f spans/s stored, %.3f cpu-µs/span, %d page faults, ceiling %.0f spans/s",
			pass, rate, p.cpuPerSpan(), p.faults, ceiling)
		b.StopTimer()
		truncate()
		b.StartTimer()
	}
}

// ingestPass is what one pass of the benchmark's requests cost the server.
type ingestPass struct {
	spans          int
	acked, elapsed time.Duration // until every request was answered, every span stored
	cpu            time.Duration // the server's user and system CPU
	faults         int64         // the server's minor page faults
}

func (p ingestPass) rate() float64       { return float64(p.spans) / p.elapsed.Seconds() }
func (p ingestPass) cpuPerSpan() float64 { return p.cpu.Seconds() / float64(p.spans) * 1e6 }

// runIngestPass sends reqs, total spans, to srv and waits until st holds
// them all.
func runIngestPass(b *testing.B, srv *server, st *chstore.Store, reqs [][]byte, total int) ingestPass {
	conn, err := grpc.NewClient(srv.grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(otlp.ClientCodec()))
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	pid := srv.cmd.Process.Pid
	cpu0, faults0, t0 := procCPU(pid), procMinorFaults(pid), time.Now()
	sendRequests(b, conn, reqs)
	acked := time.Since(t0)
	for countRows(b, st, "SELECT count() FROM spans") < uint64(total) {
		time.Sleep(20 * time.Millisecond)
	}
	return ingestPass{spans: total, acked: acked, elapsed: time.Since(t0),
		cpu: procCPU(pid) - cpu0, faults: procMinorFaults(pid) - faults0}
}

// benchRequests builds the benchmark's requests, pre-marshalled, of
// MESHSCOPE_BENCH_SPANS spans (1,000,000 by default) in requests of 1,000,
// with ids drawn from seed and times from start on, and, withRows, the
// rows they convert to.
func benchRequests(b *testing.B, seed uint64, start time.Time, withRows bool) (total int, reqs [][]byte, rows *schema.Batch) {
	total = 1_000_000
	if s := os.Getenv("MESHSCOPE_BENCH_SPANS"); s != "" {
		total, _ = strconv.Atoi(s)
	}
	const perRequest = 1000
	r := rand.New(rand.NewPCG(seed, 7))
	rows = new(schema.Batch)
	conv := otlp.NewConverter(1000)
	for i := 0; i < total/perRequest; i++ {
		td := benchTraces(r, perRequest, start.Add(time.Duration(i)*time.Millisecond))
		body, err := ptraceotlp.NewExportRequestFromTraces(td).MarshalProto()
		if err != nil {
			b.Fatal(err)
		}
		reqs = append(reqs, body)
		if withRows {
			conv.TracesToRows(td, rows)
		}
	}
	return total, reqs, rows
}

// sendRequests sends reqs over conn from 8 clients at once.
func sendRequests(b *testing.B, conn *grpc.ClientConn, reqs [][]byte) {
	const clients = 8
	var next atomic.Int64
	var wg sync.WaitGroup
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if int(i) >= len(reqs) {
					return
				}
				if err := conn.Invoke(context.Background(), "/opentelemetry.proto.collector.trace.v1.TraceService/Export", otlp.NewRawMessage(reqs[i]), otlp.NewRawMessage(nil)); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
}

// BenchmarkWALBytesPerSpan sends the same requests to a serve whose
// ClickHouse cannot be reached and reports what its write-ahead log holds
// per span, with each --wal-compression: on disk (compressed segments, what
// --wal-max-bytes bounds) and before compression, and the CPU of receiving
// and logging them.
func BenchmarkWALBytesPerSpan(b *testing.B) {
	total, reqs, _ := benchRequests(b, 7, time.Now().Add(-time.Hour), false)
	for _, c := range []string{"s2", "snappy", "zstd"} {
		b.Run(c, func(b *testing.B) {
			for b.Loop() {
				srv := startServer(b, b.TempDir(), false, "--wal-no-sync", "--wal-max-bytes", "16GiB",
					"--wal-compression", c, "--clickhouse", "clickhouse://127.0.0.1:1/meshscope")
				conn, err := grpc.NewClient(srv.grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()),
					grpc.WithDefaultCallOptions(otlp.ClientCodec()))
				if err != nil {
					b.Fatal(err)
				}
				pid := srv.cmd.Process.Pid
				cpu0 := procCPU(pid)
				sendRequests(b, conn, reqs)
				cpu := procCPU(pid) - cpu0
				conn.Close()
				b.ReportMetric(srv.metric("meshscope_wal_pending_bytes")/float64(total), "wal-disk-B/span")
				b.ReportMetric(srv.metric("meshscope_wal_written_bytes_total")/float64(total), "wal-record-B/span")
				// Receiving and logging alone: nothing is flushed.
				b.ReportMetric(cpu.Seconds()/float64(total)*1e6, "cpu-µs/span")
				srv.stop()
			}
		})
	}
}

// lowCardSpans replaces st's empty spans table by the table servers from
// 19.3 have, its LowCard columns LowCardinality(String) (MESHSCOPE_BENCH_LOWCARD;
// ClickHouse 18.16 has the type behind a setting).
func lowCardSpans(b *testing.B, st *chstore.Store) {
	ctx := clickhouse.Context(context.Background(), clickhouse.WithSettings(clickhouse.Settings{"allow_experimental_low_cardinality_type": 1}))
	ddl := schema.SpansTable.Statements(schema.RenderOptions{Version: schema.Version{Major: 18, Minor: 16}, Database: st.Database()})[0]
	n := 0
	for _, c := range schema.SpansTable.Columns {
		if c.LowCard {
			ddl = strings.Replace(ddl, "`"+c.Name+"` "+c.Type+",", "`"+c.Name+"` LowCardinality("+c.Type+"),", 1)
			n++
		}
	}
	if got := strings.Count(ddl, "LowCardinality("); got != n {
		b.Fatalf("%d LowCardinality columns in the DDL, want %d", got, n)
	}
	for _, q := range []string{"DROP TABLE spans", ddl} {
		if err := st.Conn().Exec(ctx, q); err != nil {
			b.Fatal(err)
		}
	}
}

// fetchProfile saves the profile at url to the file path.
func fetchProfile(b *testing.B, url, path string) {
	resp, err := http.Get(url)
	if err != nil {
		b.Log(err)
		return
	}
	defer resp.Body.Close()
	f, err := os.Create(path)
	if err != nil {
		b.Log(err)
		return
	}
	defer f.Close()
	_, _ = io.Copy(f, resp.Body)
}

// directInsertRate inserts rows into a scratch database of the same server
// with the columnar batch API, 100,000 rows per insert, and returns rows/s.
func directInsertRate(b *testing.B, srv *server, rows *schema.Batch, lowCard bool) float64 {
	b.Helper()
	ctx := context.Background()
	st, err := chstore.Open(ctx, chstore.Config{DSN: strings.Replace(storeDSN(b, srv), "/meshscope", "/ceiling", 1)})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	if _, err := st.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	if lowCard {
		lowCardSpans(b, st)
	}
	t0 := time.Now()
	const chunk = 100_000
	for i := 0; i < len(rows.Spans); i += chunk {
		part := &schema.Batch{Spans: rows.Spans[i:min(i+chunk, len(rows.Spans))]}
		if err := st.Write(ctx, part); err != nil {
			b.Fatal(err)
		}
	}
	rate := float64(len(rows.Spans)) / time.Since(t0).Seconds()
	_ = st.Conn().Exec(ctx, "DROP DATABASE ceiling")
	return rate
}

// BenchmarkWALRecordCompression compresses and decompresses one write-ahead
// log record of the end-to-end benchmark's requests (1,000 spans) with
// wlog's Snappy and with S2, which the log uses itself by default.
func BenchmarkWALRecordCompression(b *testing.B) {
	rows := benchRecordRows()
	cols := chstore.NewRecordColumns()
	cols.Add(rows)
	rec := cols.AppendRecord(nil)
	codecs := []struct {
		name   string
		encode func(dst, src []byte) []byte
		decode func(dst, src []byte) ([]byte, error)
	}{
		{"snappy", snappy.Encode, snappy.Decode},
		{"s2", s2.Encode, s2.Decode},
	}
	for _, c := range codecs {
		enc := c.encode(nil, rec)
		b.Run(c.name+"/compress", func(b *testing.B) {
			dst := make([]byte, 2*len(rec))
			for b.Loop() {
				c.encode(dst, rec)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*1000), "ns/span")
			b.ReportMetric(float64(len(enc))/1000, "B/span")
		})
		b.Run(c.name+"/decompress", func(b *testing.B) {
			dst := make([]byte, len(rec))
			for b.Loop() {
				if _, err := c.decode(dst, enc); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*1000), "ns/span")
		})
	}
}

// benchRecordRows are the rows of one of the end-to-end benchmark's
// requests.
func benchRecordRows() *schema.Batch {
	var rows schema.Batch
	otlp.NewConverter(1000).TracesToRows(benchTraces(rand.New(rand.NewPCG(7, 7)), 1000, time.Now()), &rows)
	return &rows
}

// BenchmarkRecordTrip: the way of one of the end-to-end benchmark's
// requests (1,000 spans) through the write-ahead log, less the disk: its
// rows made into a record, compressed with S2, decompressed and appended
// to a flush batch's columns (reset every 100 records). "plain" is the
// record of version 2, "runs" that of version 3, which serve writes.
func BenchmarkRecordTrip(b *testing.B) {
	rows := benchRecordRows()
	for _, form := range []string{"plain", "runs"} {
		b.Run(form, func(b *testing.B) {
			cols, batch := chstore.NewColumns(), chstore.NewColumns()
			add := batch.AddEncoded
			if form == "runs" {
				cols, add = chstore.NewRecordColumns(), batch.AddRecord
			}
			var rec, enc, dec []byte
			n := 0
			for b.Loop() {
				cols.Reset()
				cols.Add(rows)
				if form == "runs" {
					rec = cols.AppendRecord(rec[:0])
				} else {
					rec = cols.AppendEncoded(rec[:0])
				}
				enc = s2.Encode(enc[:cap(enc)], rec)
				var err error
				if dec, err = s2.Decode(dec[:cap(dec)], enc); err != nil {
					b.Fatal(err)
				}
				if n++; n%100 == 0 {
					batch.Reset()
				}
				if err := add(dec); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*1000), "ns/span")
			b.ReportMetric(float64(len(rec))/1000, "record-B/span")
			b.ReportMetric(float64(len(enc))/1000, "s2-B/span")
		})
	}
}
