package lines

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/meshscope/meshscope/graph"
	"github.com/meshscope/meshscope/ingest"
	"github.com/meshscope/meshscope/ingest/envoy"
	"github.com/meshscope/meshscope/ingest/pipeline"
	"github.com/meshscope/meshscope/ingest/wal"
	"github.com/meshscope/meshscope/schema"
	"github.com/meshscope/meshscope/schema/chtest"
)

// benchFiles writes two access logs of n lines each: sleep's sidecar
// calling httpbin (istio-text.log line 6) and httpbin's sidecar logging the
// same requests (line 7), each request with its own x-request-id.
func benchFiles(b *testing.B, n int) (src, dst string) {
	b.Helper()
	lines := bytes.Split(fixture(b, "istio-text.log"), []byte("\n"))
	const id = "84961386-6d84-929d-98bd-c5aee93b5c88"
	dir := b.TempDir()
	write := func(name string, line []byte) string {
		i := bytes.Index(line, []byte(id))
		var buf bytes.Buffer
		buf.Grow(n * (len(line) + 1))
		for k := range n {
			buf.Write(line[:i])
			fmt.Fprintf(&buf, "84961386-6d84-929d-98bd-%012x", k)
			buf.Write(line[i+len(id):])
			buf.WriteByte('\n')
		}
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
			b.Fatal(err)
		}
		return p
	}
	return write("sleep.log", lines[5]), write("httpbin.log", lines[6])
}

// BenchmarkImport measures lines per second from `meshscope import`-style
// batched, gzip POSTs of Istio text lines (the Importer reading two files
// concurrently, 5,000 lines per batch) through the handler, the resolver,
// the write-ahead log (fsync on) and the flusher into a real ClickHouse,
// counted until the last row is in the requests table. Lines per file:
// $MESHSCOPE_BENCH_LINES, default 500,000. Run with -benchtime 1x.
// MESHSCOPE_BENCH_NOSYNC=1 skips the log's fsync; MESHSCOPE_BENCH_NOFLUSH=1
// runs no flusher (only the acknowledged rate is measured).
func BenchmarkImport(b *testing.B) {
	n := 500_000
	if s := os.Getenv("MESHSCOPE_BENCH_LINES"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil {
			b.Fatal(err)
		}
		n = v
	}
	src, dst := benchFiles(b, n)
	st, chSrv := chtest.Store(b, "meshscope")
	noFlush := os.Getenv("MESHSCOPE_BENCH_NOFLUSH") == "1"
	w, err := wal.Open(b.TempDir(), wal.Options{NoSync: os.Getenv("MESHSCOPE_BENCH_NOSYNC") == "1", MaxBytes: 8 << 30})
	if err != nil {
		b.Fatal(err)
	}
	p := pipeline.New(w, st, nil, pipeline.Config{})
	res, err := envoy.NewResolver(envoy.Config{})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); _ = res.Run(ctx, p) }()
	if !noFlush {
		wg.Add(1)
		go func() { defer wg.Done(); _ = p.Run(ctx) }()
	}
	mux := http.NewServeMux()
	mux.Handle(Path, NewHandler(res, p, ingest.NewMetrics(nil), Config{}))
	srv := httptest.NewServer(mux)
	defer func() {
		srv.Close()
		cancel()
		wg.Wait()
		_ = w.Close()
	}()

	count := func() uint64 {
		var c uint64
		if err := st.Conn().QueryRow(context.Background(), "SELECT count() FROM requests").Scan(&c); err != nil {
			b.Fatal(err)
		}
		return c
	}
	var want uint64
	var acked, stored time.Duration
	b.ReportAllocs()
	cpu0, chCPU0 := processCPU(), pidCPU(chSrv.PID())
	for b.Loop() {
		start := time.Now()
		var iwg sync.WaitGroup
		for _, f := range []struct{ path, emitter string }{{src, "foo/sleep"}, {dst, "foo/httpbin"}} {
			iwg.Add(1)
			go func() {
				defer iwg.Done()
				im := &Importer{Client: &Client{Server: srv.URL, Format: "istio", Emitter: f.emitter}, BatchLines: 5000}
				if err := im.Import(context.Background(), f.path, time.Minute); err != nil {
					b.Error(err)
				}
			}()
		}
		iwg.Wait()
		acked += time.Since(start)
		want += uint64(2 * n)
		for !noFlush && count() < want {
			time.Sleep(20 * time.Millisecond)
		}
		stored += time.Since(start)
	}
	cpu, chCPU := processCPU()-cpu0, pidCPU(chSrv.PID())-chCPU0
	lines := float64(2 * n * b.N)
	b.ReportMetric(lines/acked.Seconds(), "lines/s-acked")
	if !noFlush {
		b.ReportMetric(lines/stored.Seconds(), "lines/s-stored")
	}
	// This process runs the importers (reading files, POSTing) as well as
	// the handler, the write-ahead log and the flusher.
	b.ReportMetric(cpu.Seconds()/lines*1e6, "cpu-µs/line")
	b.ReportMetric(chCPU.Seconds()/lines*1e6, "clickhouse-cpu-µs/line")
}

// processCPU is the user and system CPU time used by this process so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// pidCPU is the user and system CPU time of another process (ClickHouse).
func pidCPU(pid int) time.Duration {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	s := string(data)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * time.Second / 100 // USER_HZ
}

// nopAppender takes batches and does nothing.
type nopAppender struct{}

func (nopAppender) Append(context.Context, *schema.Batch, []graph.Observation) error { return nil }

// BenchmarkHandler measures the handler alone: a gzip batch of 5,000 Istio
// text lines (both sides of 2,500 requests) unzipped, parsed, resolved and
// settled, with an Appender that does nothing.
func BenchmarkHandler(b *testing.B) {
	src, dst := benchFiles(b, 2500)
	var body bytes.Buffer
	for _, f := range []string{src, dst} {
		data, err := os.ReadFile(f)
		if err != nil {
			b.Fatal(err)
		}
		body.Write(data)
	}
	raw := body.Bytes()
	gzBody := gz(b, raw)
	res, err := envoy.NewResolver(envoy.Config{})
	if err != nil {
		b.Fatal(err)
	}
	h := NewHandler(res, nopAppender{}, ingest.NewMetrics(nil), Config{})
	target := Path + "?format=istio"
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		req := httptest.NewRequest(http.MethodPost, target, bytes.NewReader(gzBody))
		req.Header.Set("Content-Encoding", "gzip")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			b.Fatal(w.Code, w.Body.String())
		}
	}
	b.ReportMetric(float64(5000*b.N)/b.Elapsed().Seconds(), "lines/s")
}
