package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// The fixture's Istio text lines, restamped to now so that retention keeps
// them, go through `meshscope import` into the requests table; the request
// logged by both sidecars is one call on the live graph.
func TestImportIstioLines(t *testing.T) {
	raw, err := os.ReadFile("../../ingest/envoy/accesslog/testdata/istio-text.log")
	require.NoError(t, err)
	now := time.Now().UTC().Format("2006-01-02T15:04:05.000Z")
	var lines []string
	for _, l := range strings.Split(strings.TrimSpace(string(raw)), "\n") {
		end := strings.IndexByte(l, ']')
		lines = append(lines, "["+now+l[end:])
	}
	file := filepath.Join(t.TempDir(), "access.log")
	require.NoError(t, os.WriteFile(file, []byte(strings.Join(lines, "\n")+"\n"), 0o644))

	srv := startServer(t, t.TempDir(), true)
	out, stderr, err := meshscope(t, "import", "--format", "istio", "--emitter", "default/productpage-v1",
		"--server", "http://"+srv.httpAddr, "--progress", "none", file)
	require.NoError(t, err, "%s%s", out, stderr)
	require.Contains(t, out+stderr, "8 accepted")
	st := srv.store()
	eventually(t, "requests stored", 30*time.Second, func() (bool, string) {
		n := countRows(t, st, "SELECT count() FROM requests")
		return n == uint64(len(lines)), itoa(n)
	})
	require.EqualValues(t, 1, countRows(t, st, "SELECT count() FROM requests WHERE response_flags = 'UH' AND upstream_cluster = 'outbound|8000||httpbin.default.svc.cluster.local'"))
	require.EqualValues(t, 8, countRows(t, st, "SELECT count() FROM requests WHERE emitter = 'default/productpage-v1'"))
}
