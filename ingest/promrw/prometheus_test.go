package promrw

import (
	"bytes"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/meshscope/meshscope/schema/chlocal"
)

// The end-to-end tests run a real Prometheus, built by `make tools` into
// bin/tools (MESHSCOPE_TOOLS_DIR) with
// `go install -tags remove_all_sd github.com/prometheus/prometheus/cmd/prometheus@VERSION`,
// the version go.mod requires; the binary on PATH is used otherwise.

// prometheusBinary finds the prometheus binary.
func prometheusBinary(t *testing.T) string {
	t.Helper()
	dirs := []string{os.Getenv("MESHSCOPE_TOOLS_DIR")}
	if root := goOutput(t, "env", "GOMOD"); root != "" {
		dirs = append(dirs, filepath.Join(filepath.Dir(root), "bin", "tools"))
	}
	for _, dir := range dirs {
		if dir == "" {
			continue
		}
		if p := filepath.Join(dir, "prometheus"); fileExists(p) {
			return p
		}
	}
	if p, err := exec.LookPath("prometheus"); err == nil {
		return p
	}
	t.Fatal("prometheus not found: run `make tools` (it builds the real clients the tests drive into bin/tools)")
	return ""
}

func goOutput(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command("go", args...).Output()
	if err != nil {
		t.Fatalf("go %s: %v", strings.Join(args, " "), err)
	}
	return strings.TrimSpace(string(out))
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir()
}

// prometheusProcess is a running Prometheus.
type prometheusProcess struct {
	// Addr is its web listen address.
	Addr string
	log  *syncBuffer
}

// startPrometheus runs Prometheus with config (prometheus.yml contents) on
// a fresh TSDB directory and a free loopback port, and stops it in
// t.Cleanup.
func startPrometheus(t *testing.T, bin, config string) *prometheusProcess {
	t.Helper()
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfgPath, []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	p := &prometheusProcess{Addr: freeAddr(t), log: &syncBuffer{}}
	cmd := exec.Command(bin,
		"--config.file="+cfgPath,
		"--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+p.Addr,
	)
	cmd.Stdout, cmd.Stderr = p.log, p.log
	if err := cmd.Start(); err != nil {
		t.Fatalf("start prometheus: %v", err)
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(done)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			t.Logf("prometheus log:\n%s", p.log.String())
		}
	})
	return p
}

// freeAddr returns a loopback address with a port free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	p, err := chlocal.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(p))
}

// syncBuffer is a bytes.Buffer safe for concurrent writes and reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
