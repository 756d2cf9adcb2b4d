package chlocal

import (
	"context"
	"net"
	"os"
	"strings"
	"testing"
	"time"
)

// The ports picked for a server can be taken by another process before the
// server binds them: the server exits during start, Start picks new ports
// and the server runs. A port given in Options that another process holds
// is an error, not a server that looks ready (the holder answers TCP, not
// ClickHouse's /ping).
func TestPortsTakenMeanwhile(t *testing.T) {
	busyPort := takenPort(t)

	picks := 0
	pickPort = func() (int, error) {
		picks++
		if picks == 2 {
			return busyPort, nil // the first HTTP port: taken
		}
		return FreePort()
	}
	defer func() { pickPort = FreePort }()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	srv, err := Start(ctx, Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatalf("start after a taken port: %v", err)
	}
	defer srv.Stop()
	if picks != 4 {
		t.Errorf("%d ports picked, want 4 (two attempts)", picks)
	}
	if srv.http == busyPort {
		t.Error("the server kept the taken port")
	}

	_, err = Start(ctx, Options{Dir: t.TempDir(), Port: busyPort})
	if err == nil || !strings.Contains(err.Error(), "exited during start") {
		t.Fatalf("a given port held by another process: %v, want the server's exit", err)
	}
}

// A cluster's shards name each other's ports in their configurations: a port
// taken before its shard binds it starts the whole cluster again on new
// ports.
func TestClusterPortsTakenMeanwhile(t *testing.T) {
	busyPort := takenPort(t)

	picks := 0
	pickPort = func() (int, error) {
		picks++
		if picks == 1 {
			return busyPort, nil // shard 1's native port: taken
		}
		return FreePort()
	}
	defer func() { pickPort = FreePort }()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	servers, err := StartCluster(ctx, "c", 2, Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatalf("start a cluster after a taken port: %v", err)
	}
	for _, s := range servers {
		defer s.Stop()
		if s.Port() == busyPort {
			t.Errorf("shard on the taken port %d", busyPort)
		}
	}
	if len(servers) != 2 {
		t.Fatalf("%d servers, want 2", len(servers))
	}
}

// Ports are picked below the ephemeral range, where outgoing connections
// cannot take them, when the kernel says where that range starts.
func TestFreePortBelowEphemeralRange(t *testing.T) {
	lo, hi, ok := quietPorts()
	if !ok {
		t.Skip("no ip_local_port_range with room below it")
	}
	for range 20 {
		p, err := FreePort()
		if err != nil {
			t.Fatal(err)
		}
		if p < lo || p >= hi {
			t.Fatalf("port %d outside [%d, %d)", p, lo, hi)
		}
	}
}

// takenPort returns a port another listener holds until the test ends,
// after checking that a server binary exists.
func takenPort(t *testing.T) int {
	t.Helper()
	if _, _, err := FindBinary(); err != nil {
		if os.Getenv("MESHSCOPE_SKIP_CLICKHOUSE") == "1" {
			t.Skip(err)
		}
		t.Fatal(err)
	}
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { busy.Close() })
	return busy.Addr().(*net.TCPAddr).Port
}
