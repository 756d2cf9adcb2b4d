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
	defer busy.Close()
	busyPort := busy.Addr().(*net.TCPAddr).Port

	picks := 0
	pickPort = func() (int, error) {
		picks++
		if picks == 2 {
			return busyPort, nil // the first HTTP port: taken
		}
		return freePort()
	}
	defer func() { pickPort = freePort }()
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
