// Package chlocal starts and supervises a private clickhouse-server process:
// data under a directory of ours, listening on loopback on a free port, the way
// an embedded database is used. `meshscope serve` uses it when no DSN is given,
// and tests use it (through Start with a temporary directory) to get a real,
// throwaway server. It imports nothing of meshscope.
package chlocal

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// ErrNoServer is returned when no clickhouse-server binary can be found.
var ErrNoServer = errors.New("no clickhouse-server binary found on PATH or in /usr/sbin: " +
	"install one (Debian/Ubuntu: apt-get install -y clickhouse-server) " +
	"or give the DSN of an existing server with --clickhouse clickhouse://user:pass@host:9000/meshscope")

// FindBinary returns the path of a clickhouse-server executable, looking on
// PATH, then in /usr/sbin and /usr/bin. A single-binary "clickhouse" is used
// as "clickhouse server".
func FindBinary() (path string, args []string, err error) {
	if p, err := exec.LookPath("clickhouse-server"); err == nil {
		return p, nil, nil
	}
	for _, p := range []string{"/usr/sbin/clickhouse-server", "/usr/bin/clickhouse-server"} {
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p, nil, nil
		}
	}
	if p, err := exec.LookPath("clickhouse"); err == nil {
		return p, []string{"server"}, nil
	}
	return "", nil, ErrNoServer
}

// Options configure a private server.
type Options struct {
	// Dir holds config, data, logs and the state file. Created if missing.
	Dir string
	// Port for the native protocol; 0 picks a free loopback port.
	Port int
	// Logger receives lifecycle events; nil discards them.
	Logger *slog.Logger
	// StartTimeout bounds the wait for the server to accept connections.
	StartTimeout time.Duration
	// Users are users besides the password-less default one, by name, with
	// their passwords; like it they connect from loopback only.
	Users map[string]string
}

// Server is a running private clickhouse-server.
type Server struct {
	opts   Options
	bin    string
	args   []string
	port   int
	http   int // HTTP interface port
	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{}
	stop   chan struct{}
	done   chan struct{}
	// Restarts counts how often the supervisor restarted the process.
	restarts int
}

// State is written to Dir/server.json while the server runs, so that other
// commands (meshscope sql --data-dir) can find it.
type State struct {
	PID  int    `json:"pid"`
	Port int    `json:"port"`
	Addr string `json:"addr"`
}

// StateFile is the path of the state file under dir.
func StateFile(dir string) string { return filepath.Join(dir, "server.json") }

// ReadState reads the state file of a server started under dir and checks
// that its process is still alive.
func ReadState(dir string) (State, error) {
	var st State
	b, err := os.ReadFile(StateFile(dir))
	if err != nil {
		return st, fmt.Errorf("no managed clickhouse under %s (is `meshscope serve` running with this data dir?): %w", dir, err)
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return st, fmt.Errorf("read %s: %w", StateFile(dir), err)
	}
	if st.PID <= 0 || syscall.Kill(st.PID, 0) != nil {
		return st, fmt.Errorf("managed clickhouse under %s is not running (pid %d)", dir, st.PID)
	}
	return st, nil
}

// Start writes a configuration under opts.Dir, starts clickhouse-server and
// waits until it accepts connections. Call Stop to end it.
func Start(ctx context.Context, opts Options) (*Server, error) {
	bin, args, err := FindBinary()
	if err != nil {
		return nil, err
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.StartTimeout == 0 {
		opts.StartTimeout = 30 * time.Second
	}
	dir, err := filepath.Abs(opts.Dir)
	if err != nil {
		return nil, err
	}
	opts.Dir = dir
	for _, d := range []string{"data", "tmp", "user_files", "format_schemas", "log"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return nil, fmt.Errorf("create clickhouse dir: %w", err)
		}
	}
	// A port picked free can be taken by another process before the server
	// binds it: the server then exits during start, and new ports are
	// picked (ports given in opts are not).
	for attempt := 1; ; attempt++ {
		port := opts.Port
		if port == 0 {
			if port, err = pickPort(); err != nil {
				return nil, err
			}
		}
		httpPort, err := pickPort()
		if err != nil {
			return nil, err
		}
		s := &Server{opts: opts, bin: bin, args: args, port: port, http: httpPort, stop: make(chan struct{}), done: make(chan struct{})}
		if err := s.writeConfig(); err != nil {
			return nil, err
		}
		err = s.launch(ctx)
		if err == nil {
			go s.supervise()
			return s, nil
		}
		if attempt == 3 || !errors.Is(err, errPortTaken) {
			return nil, err
		}
		opts.Logger.Info("clickhouse ports taken meanwhile; picking others", "err", err)
	}
}

// pickPort is FreePort; tests replace it.
var pickPort = FreePort

// FreePort returns a loopback port free at the moment, for a server another
// process starts (tests give it to the servers they launch), chosen below the
// kernel's ephemeral range where it can: a port from that range (what
// listening on port 0 gives) is also the source port of the next outgoing
// connection of any process on the machine, which can take it before the
// server binds it. Ports below the range are taken only by listeners.
func FreePort() (int, error) {
	if lo, hi, ok := quietPorts(); ok {
		for range 64 {
			p := lo + rand.IntN(hi-lo)
			l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
			if err != nil {
				continue
			}
			l.Close()
			return p, nil
		}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("pick a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// quietPorts is the range [lo, hi) of ports FreePort picks from: from 20000
// up to the start of the ephemeral range (Linux's
// net.ipv4.ip_local_port_range), when that leaves at least 1,000.
func quietPorts() (lo, hi int, ok bool) {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return 0, 0, false
	}
	f := strings.Fields(string(b))
	if len(f) != 2 {
		return 0, 0, false
	}
	start, err := strconv.Atoi(f[0])
	if err != nil || start-20000 < 1000 {
		return 0, 0, false
	}
	return 20000, start, true
}

// pingOK reports whether the HTTP interface at base answers /ping with
// "Ok.".
func pingOK(client *http.Client, base string) bool {
	resp, err := client.Get(base + "/ping")
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64))
	return resp.StatusCode == http.StatusOK && strings.TrimSpace(string(b)) == "Ok."
}

// Addr is host:port of the native protocol.
func (s *Server) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port)) }

// Port is the native protocol port.
func (s *Server) Port() int { return s.port }

// HTTPURL is the base URL of the server's HTTP interface, on a free
// loopback port: the store inserts through it (chstore.Config.HTTPURL).
func (s *Server) HTTPURL() string {
	return "http://" + net.JoinHostPort("127.0.0.1", strconv.Itoa(s.http))
}

// DSN returns a clickhouse-go DSN for database db.
func (s *Server) DSN(db string) string { return "clickhouse://default@" + s.Addr() + "/" + db }

// Restarts is how many times the supervisor restarted a dead server.
func (s *Server) Restarts() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.restarts
}

// PID of the current server process.
func (s *Server) PID() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil || s.cmd.Process == nil {
		return 0
	}
	return s.cmd.Process.Pid
}

func (s *Server) launch(ctx context.Context) error {
	args := append(append([]string{}, s.args...), "--config-file="+filepath.Join(s.opts.Dir, "config.xml"))
	cmd := exec.Command(s.bin, args...)
	cmd.Dir = s.opts.Dir
	logf, err := os.OpenFile(filepath.Join(s.opts.Dir, "log", "stderr.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	// Own process group: a Ctrl+C on our terminal reaches us, and we stop it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("start %s: %w", s.bin, err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); logf.Close(); close(exited) }()
	s.mu.Lock()
	s.cmd, s.exited = cmd, exited
	s.mu.Unlock()
	if err := s.waitReady(ctx, exited); err != nil {
		_ = cmd.Process.Kill()
		<-exited
		return err
	}
	st := State{PID: cmd.Process.Pid, Port: s.port, Addr: s.Addr()}
	b, _ := json.Marshal(st)
	if err := os.WriteFile(StateFile(s.opts.Dir), b, 0o644); err != nil {
		return fmt.Errorf("write clickhouse state: %w", err)
	}
	s.opts.Logger.Info("clickhouse started", "pid", st.PID, "addr", st.Addr, "dir", s.opts.Dir)
	return nil
}

// errPortTaken is wrapped by the error of a server that exited during start
// because one of its ports was taken.
var errPortTaken = errors.New("a port of the server is taken")

// waitReady waits until the server answers on both ports: its HTTP
// interface's /ping says "Ok." (which tells the server from another process
// that took the port) and the native port accepts connections.
func (s *Server) waitReady(ctx context.Context, exited <-chan struct{}) error {
	deadline := time.Now().Add(s.opts.StartTimeout)
	// No kept-alive connection: the server would wait for it when it stops.
	client := &http.Client{Timeout: 500 * time.Millisecond, Transport: &http.Transport{DisableKeepAlives: true}}
	for {
		if pingOK(client, s.HTTPURL()) {
			c, err := net.DialTimeout("tcp", s.Addr(), 200*time.Millisecond)
			if err == nil {
				c.Close()
				return nil
			}
		}
		select {
		case <-exited:
			var tail []byte
			for _, f := range []string{"stderr.log", "clickhouse.err.log"} {
				b, _ := os.ReadFile(filepath.Join(s.opts.Dir, "log", f))
				tail = append(tail, b...)
			}
			if len(tail) > 2000 {
				tail = tail[len(tail)-2000:]
			}
			if bytes.Contains(tail, []byte("Address already in use")) {
				return fmt.Errorf("clickhouse-server exited during start: %w: %s", errPortTaken, tail)
			}
			return fmt.Errorf("clickhouse-server exited during start: %s", tail)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("clickhouse-server did not accept connections on %s within %s", s.Addr(), s.opts.StartTimeout)
		}
	}
}

// supervise restarts the server when it dies, with a growing pause.
func (s *Server) supervise() {
	defer close(s.done)
	backoff := 100 * time.Millisecond
	for {
		s.mu.Lock()
		exited := s.exited
		s.mu.Unlock()
		select {
		case <-s.stop:
			return
		case <-exited:
		}
		s.opts.Logger.Warn("clickhouse exited; restarting", "backoff", backoff)
		select {
		case <-s.stop:
			return
		case <-time.After(backoff):
		}
		if err := s.launch(context.Background()); err != nil {
			s.opts.Logger.Error("clickhouse restart failed", "err", err)
			backoff = min(backoff*2, 10*time.Second)
			// launch failed: make the loop wait on a closed channel and retry.
			ch := make(chan struct{})
			close(ch)
			s.mu.Lock()
			s.exited = ch
			s.mu.Unlock()
			continue
		}
		s.mu.Lock()
		s.restarts++
		s.mu.Unlock()
		backoff = 100 * time.Millisecond
	}
}

// Kill ends the server process abruptly (SIGKILL) without stopping the
// supervisor, which restarts it: tests use it to simulate a crash.
func (s *Server) Kill() {
	s.mu.Lock()
	cmd := s.cmd
	s.mu.Unlock()
	if cmd != nil && cmd.Process != nil {
		_ = cmd.Process.Kill()
	}
}

// Pause stops the supervisor from restarting and ends the process, so that
// the server stays down until Resume: tests use it for outages.
func (s *Server) Pause() {
	close(s.stop)
	<-s.done
	s.terminate()
}

// Resume starts the server again after Pause, on the same port and data.
func (s *Server) Resume(ctx context.Context) error {
	s.stop = make(chan struct{})
	s.done = make(chan struct{})
	if err := s.launch(ctx); err != nil {
		close(s.done)
		return err
	}
	go s.supervise()
	return nil
}

func (s *Server) terminate() {
	s.mu.Lock()
	cmd, exited := s.cmd, s.exited
	s.mu.Unlock()
	if cmd == nil || cmd.Process == nil {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(10 * time.Second):
		_ = cmd.Process.Kill()
		<-exited
	}
}

// Stop ends the supervisor and the server, and removes the state file.
func (s *Server) Stop() error {
	select {
	case <-s.stop:
	default:
		close(s.stop)
		<-s.done
	}
	s.terminate()
	_ = os.Remove(StateFile(s.opts.Dir))
	s.opts.Logger.Info("clickhouse stopped")
	return nil
}
