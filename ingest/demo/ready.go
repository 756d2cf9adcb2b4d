package demo

import (
	"context"
	"net"
	"net/http"
	"time"
)

// waitReady waits until meshscope answers: its HTTP listener with
// anything but a 5xx on /readyz (a 404 from a server without it will do)
// and its gRPC listener accepting connections. `serve --demo` starts the
// demo while the server is still starting its ClickHouse; waiting spares
// a burst of failed sends. It reports false when ctx ended first.
func waitReady(ctx context.Context, cfg Config, base string) bool {
	client := &http.Client{Timeout: 2 * time.Second, Transport: httpTransport(cfg)}
	defer client.CloseIdleConnections()
	ready := func() bool {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/readyz", nil)
		if err != nil {
			return false
		}
		resp, err := client.Do(req)
		if err != nil {
			return false
		}
		resp.Body.Close()
		if resp.StatusCode >= 500 {
			return false
		}
		d := net.Dialer{Timeout: 2 * time.Second}
		conn, err := d.DialContext(ctx, "tcp", cfg.ServerGRPC)
		if err != nil {
			return false
		}
		conn.Close()
		return true
	}
	var logged time.Time
	for {
		if ready() {
			return true
		}
		if time.Since(logged) >= cfg.ProgressInterval {
			cfg.Logger.Info("demo: waiting for meshscope", "server_http", base, "server_grpc", cfg.ServerGRPC)
			logged = time.Now()
		}
		if !sleep(ctx, 250*time.Millisecond) {
			return false
		}
	}
}
