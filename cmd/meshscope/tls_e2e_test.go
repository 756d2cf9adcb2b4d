package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/meshscope/meshscope/graph"
	"github.com/meshscope/meshscope/slo"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// selfSigned writes a certificate for 127.0.0.1 and its key under dir.
func selfSigned(t *testing.T, dir string) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "meshscope test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	keyDER, err := x509.MarshalECPrivateKey(key)
	require.NoError(t, err)
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	require.NoError(t, os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600))
	require.NoError(t, os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600))
	cert, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

// With TLS and bearer tokens on every listener: TLS clients with a token
// get in, clients without one are refused, health stays open.
func TestTLSAndTokensOnEveryListener(t *testing.T) {
	dir := t.TempDir()
	cert, key, pool := selfSigned(t, dir)
	tokens := filepath.Join(dir, "tokens")
	require.NoError(t, os.WriteFile(tokens, []byte("# ops\ns3cret\n"), 0o600))
	args := []string{"--auth-token-file", tokens}
	for _, name := range listenerNames {
		args = append(args, "--"+name+"-tls-cert-file", cert, "--"+name+"-tls-key-file", key)
	}
	srv := startServerTLS(t, t.TempDir(), pool, args...)
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	get := func(url, token string) int {
		req, err := http.NewRequest("GET", url, nil)
		require.NoError(t, err)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := client.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		return resp.StatusCode
	}
	base := "https://" + srv.httpAddr
	require.Equal(t, 200, get(base+"/healthz", ""))
	require.Equal(t, 401, get(base+"/api/v1/graph", ""))
	require.Equal(t, 401, get(base+"/api/v1/graph", "wrong"))
	require.Equal(t, 200, get(base+"/api/v1/graph", "s3cret"))
	require.Equal(t, 401, get(base+"/metrics", ""))

	body, err := ptraceotlp.NewExportRequestFromTraces(traceBatch(0, 2, 0)).MarshalProto()
	require.NoError(t, err)
	post := func(token string) int {
		req, err := http.NewRequest("POST", "https://"+srv.otlpHTTP+"/v1/traces", bytes.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/x-protobuf")
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := client.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		return resp.StatusCode
	}
	require.Equal(t, 401, post(""))
	require.Equal(t, 200, post("s3cret"))

	conn, err := grpc.NewClient(srv.grpcAddr, grpc.WithTransportCredentials(credentials.NewTLS(&tls.Config{RootCAs: pool})))
	require.NoError(t, err)
	defer conn.Close()
	grpcClient := ptraceotlp.NewGRPCClient(conn)
	req := ptraceotlp.NewExportRequestFromTraces(traceBatch(10, 2, 0))
	_, err = grpcClient.Export(context.Background(), req)
	require.Equal(t, codes.Unauthenticated, status.Code(err), "%v", err)
	ctx := metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer s3cret")
	_, err = grpcClient.Export(ctx, req)
	require.NoError(t, err)
}

// startServerTLS is startServer for a server whose HTTP listener speaks TLS.
func startServerTLS(t *testing.T, dataDir string, pool *x509.CertPool, extra ...string) *server {
	t.Helper()
	old := http.DefaultTransport
	http.DefaultTransport = &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}
	defer func() { http.DefaultTransport = old }()
	srv := &server{t: t, dataDir: dataDir, httpAddr: freeAddr(t), grpcAddr: freeAddr(t), otlpHTTP: freeAddr(t), scheme: "https"}
	srv.args = append([]string{"serve", "--data-dir", dataDir, "--http-addr", srv.httpAddr,
		"--otlp-grpc-addr", srv.grpcAddr, "--otlp-http-addr", srv.otlpHTTP}, extra...)
	srv.start(true)
	t.Cleanup(srv.stop)
	return srv
}

// serve --demo reaches its own TLS listeners (trusting exactly their
// certificate) with the configured token: the graph fills, and the demo's
// example SLOs are defined and evaluated.
func TestDemoWithTLSListeners(t *testing.T) {
	dir := t.TempDir()
	cert, key, pool := selfSigned(t, dir)
	tokens := filepath.Join(dir, "tokens")
	require.NoError(t, os.WriteFile(tokens, []byte("s3cret\n"), 0o600))
	args := []string{"--auth-token-file", tokens, "--demo", "--demo-services", "15", "--demo-rate", "200", "--slo-interval", "2s"}
	for _, name := range listenerNames {
		args = append(args, "--"+name+"-tls-cert-file", cert, "--"+name+"-tls-key-file", key)
	}
	srv := startServerTLS(t, t.TempDir(), pool, args...)
	eventually(t, "the demo's calls on the graph", 40*time.Second, func() (bool, string) {
		g, seen := graphOverTLS(t, pool, "https://"+srv.httpAddr+"/api/v1/graph", "s3cret")
		return len(g.Edges) > 10 && seen["span"] && seen["accesslog"], fmt.Sprintf("%d edges, provenance %v", len(g.Edges), seen)
	})

	var list struct {
		SLOs []slo.SLOView `json:"slos"`
	}
	getOverTLS(t, pool, "https://"+srv.httpAddr+"/api/v1/slos", "s3cret", &list)
	var names []string
	for _, s := range list.SLOs {
		names = append(names, s.Spec.Name)
		require.Equal(t, "memory", s.Source)
	}
	// The default scenario, failing-dependency, adds an SLO on its target.
	require.Len(t, names, 3, "%v", names)
	require.Subset(t, names, []string{"ingress-availability", "ingress-latency"})
	eventually(t, "the ingress SLO evaluated over the demo's requests", 40*time.Second, func() (bool, string) {
		var st slo.Status
		getOverTLS(t, pool, "https://"+srv.httpAddr+"/api/v1/slos/ingress-availability/status", "s3cret", &st)
		return st.SLI != nil && st.Source == "requests", fmt.Sprintf("state %s, source %q, error %q", st.State, st.Source, st.Error)
	})
}

// `meshscope demo` and `meshscope import` reach a server whose listeners
// all speak TLS, trusting the certificate given by --server-ca-file: every
// ingest path gets through (spans and ALS over gRPC, remote_write and text
// lines over HTTPS).
func TestCommandsWithTLSListeners(t *testing.T) {
	dir := t.TempDir()
	cert, key, pool := selfSigned(t, dir)
	tokens := filepath.Join(dir, "tokens")
	require.NoError(t, os.WriteFile(tokens, []byte("s3cret\n"), 0o600))
	args := []string{"--auth-token-file", tokens, "--span-wait", "2s", "--edge-flush-delay", "3s"}
	for _, name := range listenerNames {
		args = append(args, "--"+name+"-tls-cert-file", cert, "--"+name+"-tls-key-file", key)
	}
	srv := startServerTLS(t, t.TempDir(), pool, args...)

	out, stderr, err := meshscope(t, "demo", "--server-http", "https://"+srv.httpAddr, "--server-grpc", srv.grpcAddr,
		"--server-grpc-tls", "--server-ca-file", cert, "--token", "s3cret",
		"--services", "15", "--rate", "300", "--duration", "8s", "--trace-sample", "1", "--metrics-interval", "2s")
	require.NoError(t, err, "%s%s", out, stderr)
	eventually(t, "the demo's calls of every provenance on the graph", 30*time.Second, func() (bool, string) {
		g, seen := graphOverTLS(t, pool, "https://"+srv.httpAddr+"/api/v1/graph?window=5m", "s3cret")
		return seen["span"] && seen["accesslog"] && seen["metric"], fmt.Sprintf("%d edges, provenance %v", len(g.Edges), seen)
	})

	log := filepath.Join(dir, "access.log")
	line := `[` + time.Now().UTC().Format("2006-01-02T15:04:05.000Z") + `] "GET /cart HTTP/1.1" 200 - via_upstream - "-" 0 12 3 2 "-" "curl" "id-1" "cart" "10.0.0.9:8080" outbound|8080||cart.shop.svc.cluster.local 10.0.0.5:40000 10.96.0.9:8080 10.0.0.5:39999 - default` + "\n"
	require.NoError(t, os.WriteFile(log, []byte(line), 0o644))
	out, stderr, err = meshscope(t, "import", "--format", "istio", "--emitter", "shop/web",
		"--server", "https://"+srv.httpAddr, "--server-ca-file", cert, "--token", "s3cret", "--progress", "none", log)
	require.NoError(t, err, "%s%s", out, stderr)
	require.Contains(t, out+stderr, "1 accepted")
}

// graphOverTLS gets the graph at url from a TLS listener signed by pool,
// with a bearer token, and the provenances its edges show.
func graphOverTLS(t *testing.T, pool *x509.CertPool, url, token string) (*graph.Graph, map[string]bool) {
	t.Helper()
	var g graph.Graph
	getOverTLS(t, pool, url, token, &g)
	seen := map[string]bool{}
	for _, e := range g.Edges {
		for _, p := range e.Provenance {
			seen[p] = true
		}
	}
	return &g, seen
}

// getOverTLS decodes the JSON at url, from a TLS listener signed by pool,
// into v, with a bearer token.
func getOverTLS(t *testing.T, pool *x509.CertPool, url, token string, v any) {
	t.Helper()
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	req, err := http.NewRequest("GET", url, nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := client.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, url)
	require.NoError(t, json.NewDecoder(resp.Body).Decode(v))
}
