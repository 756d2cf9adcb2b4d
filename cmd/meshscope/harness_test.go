package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/meshscope/meshscope/schema/chlocal"
	"github.com/meshscope/meshscope/schema/chstore"
)

// The test binary doubles as the meshscope binary: with MESHSCOPE_TEST_MAIN
// set it runs main(), so end-to-end tests start real `meshscope serve`
// processes (which they can kill -9) without a separate build.
func TestMain(m *testing.M) {
	if os.Getenv("MESHSCOPE_TEST_MAIN") == "1" {
		os.Args = append([]string{"meshscope"}, os.Args[1:]...)
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func freeAddr(t testing.TB) string {
	t.Helper()
	p, err := chlocal.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(p))
}

// server is a `meshscope serve` process under test.
type server struct {
	t                            testing.TB
	cmd                          *exec.Cmd
	dataDir                      string
	httpAddr, grpcAddr, otlpHTTP string
	args                         []string
	logFile                      string
	exited                       chan struct{}
	// scheme of the HTTP listener: http (default) or https.
	scheme string
}

// startServer runs `meshscope serve` on free loopback ports with dataDir
// and extra flags, and waits until it is ready (or, with wantReady false,
// until it answers /healthz).
func startServer(t testing.TB, dataDir string, wantReady bool, extra ...string) *server {
	t.Helper()
	s := &server{t: t, dataDir: dataDir}
	// A port picked free can be taken by another process (packages test in
	// parallel) before serve binds it: then serve exits saying so, and
	// other ports are picked.
	for attempt := 1; ; attempt++ {
		s.httpAddr, s.grpcAddr, s.otlpHTTP = freeAddr(t), freeAddr(t), freeAddr(t)
		s.args = append([]string{"serve", "--data-dir", dataDir, "--http-addr", s.httpAddr,
			"--otlp-grpc-addr", s.grpcAddr, "--otlp-http-addr", s.otlpHTTP, "--flush-interval", "200ms"}, extra...)
		err := s.tryStart(wantReady)
		if err == nil {
			break
		}
		if attempt == 3 || !strings.Contains(err.Error(), "address already in use") {
			t.Fatal(err)
		}
		t.Logf("ports taken meanwhile; picking others: %v", err)
	}
	t.Cleanup(s.stop)
	return s
}

func (s *server) start(wantReady bool) {
	s.t.Helper()
	if err := s.tryStart(wantReady); err != nil {
		s.t.Fatal(err)
	}
}

// tryStart starts the process and waits until it is ready (or, with
// wantReady false, answers /healthz); it says why not when it is not.
func (s *server) tryStart(wantReady bool) error {
	t := s.t
	t.Helper()
	s.logFile = filepath.Join(s.dataDir, fmt.Sprintf("serve-%d.log", time.Now().UnixNano()))
	if err := os.MkdirAll(s.dataDir, 0o755); err != nil {
		t.Fatal(err)
	}
	logf, err := os.Create(s.logFile)
	if err != nil {
		t.Fatal(err)
	}
	s.cmd = exec.Command(os.Args[0], s.args...)
	s.cmd.Env = append(os.Environ(), "MESHSCOPE_TEST_MAIN=1")
	s.cmd.Stdout, s.cmd.Stderr = logf, logf
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s.exited = make(chan struct{})
	go func() { _ = s.cmd.Wait(); logf.Close(); close(s.exited) }()
	path := "/healthz"
	if wantReady {
		path = "/readyz"
	}
	scheme := s.scheme
	if scheme == "" {
		scheme = "http"
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(scheme + "://" + s.httpAddr + path)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return nil
			}
		}
		select {
		case <-s.exited:
			return fmt.Errorf("meshscope serve exited during start:\n%s", s.logs())
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("meshscope serve not ready within 60s:\n%s", s.logs())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (s *server) logs() string {
	b, _ := os.ReadFile(s.logFile)
	return string(b)
}

// kill ends the process with SIGKILL, as a crash would.
func (s *server) kill() {
	_ = s.cmd.Process.Signal(syscall.SIGKILL)
	<-s.exited
}

// stop asks the process to stop (SIGTERM) and waits for it.
func (s *server) stop() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	select {
	case <-s.exited:
		return
	default:
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(30 * time.Second):
		_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
		<-s.exited
	}
}

// storeDSN is the DSN of the managed ClickHouse of a server started without
// --clickhouse.
func storeDSN(t testing.TB, s *server) string {
	t.Helper()
	st, err := chlocal.ReadState(filepath.Join(s.dataDir, "clickhouse"))
	if err != nil {
		t.Fatal(err)
	}
	return "clickhouse://default@" + st.Addr + "/meshscope"
}

// store opens the managed ClickHouse of a server started without --clickhouse.
func (s *server) store() *chstore.Store {
	t := s.t
	t.Helper()
	store, err := chstore.Open(context.Background(), chstore.Config{DSN: storeDSN(t, s)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	return store
}

// metric returns the value of a /metrics line starting with prefix (0 if absent).
func (s *server) metric(prefix string) float64 {
	resp, err := http.Get("http://" + s.httpAddr + "/metrics")
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	all, _ := io.ReadAll(resp.Body)
	var total float64
	for _, line := range strings.Split(string(all), "\n") {
		if strings.HasPrefix(line, prefix) {
			var v float64
			fields := strings.Fields(line)
			if _, err := fmt.Sscan(fields[len(fields)-1], &v); err == nil {
				total += v
			}
		}
	}
	return total
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t testing.TB, what string, timeout time.Duration, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var last string
	for time.Now().Before(deadline) {
		ok, msg := cond()
		if ok {
			return
		}
		last = msg
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s: not reached within %s (last: %s)", what, timeout, last)
}

func countRows(t testing.TB, st *chstore.Store, query string, args ...any) uint64 {
	t.Helper()
	var n uint64
	if err := st.Conn().QueryRow(context.Background(), query, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}
