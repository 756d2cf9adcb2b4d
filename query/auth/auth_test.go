package auth

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"
)

func TestValid(t *testing.T) {
	a := New([]string{"alpha", " beta ", ""})
	require.True(t, a.Enabled())
	for _, tc := range []struct {
		token string
		ok    bool
	}{
		{"alpha", true},
		{"beta", true},
		{"", false},
		{"alph", false},
		{"alphaa", false},
		{"ALPHA", false},
		{" beta ", false},
	} {
		t.Run(tc.token, func(t *testing.T) { require.Equal(t, tc.ok, a.Valid(tc.token)) })
	}
	for _, tc := range []struct {
		header string
		ok     bool
	}{
		{"Bearer alpha", true},
		{"bearer alpha", true},
		{"BEARER   beta", true},
		{"Bearer", false},
		{"Basic alpha", false},
		{"alpha", false},
		{"", false},
	} {
		t.Run(tc.header, func(t *testing.T) { require.Equal(t, tc.ok, a.ValidHeader(tc.header)) })
	}
}

func TestDisabled(t *testing.T) {
	for _, a := range []*Authorizer{nil, New(nil), New([]string{" ", ""})} {
		require.False(t, a.Enabled())
		require.True(t, a.Valid(""))
		require.True(t, a.ValidHeader(""))
		require.NoError(t, a.Context(context.Background()))
	}
}

func TestLoadTokenFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "tokens")
	require.NoError(t, os.WriteFile(path, []byte("# ops team\nalpha\n\n  beta  \n#old\n"), 0o600))
	tokens, err := LoadTokenFile(path)
	require.NoError(t, err)
	require.Equal(t, []string{"alpha", "beta"}, tokens)

	empty := filepath.Join(dir, "empty")
	require.NoError(t, os.WriteFile(empty, []byte("# nothing\n\n"), 0o600))
	_, err = LoadTokenFile(empty)
	require.ErrorContains(t, err, "holds no token")

	_, err = LoadTokenFile(filepath.Join(dir, "missing"))
	require.Error(t, err)
}

func TestMiddleware(t *testing.T) {
	a := New([]string{"alpha"})
	srv := httptest.NewServer(a.Middleware(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("ok"))
	})))
	defer srv.Close()
	for _, tc := range []struct {
		header, query string
		status        int
	}{
		{"", "", http.StatusUnauthorized},
		{"Bearer nope", "", http.StatusUnauthorized},
		{"", "?token=alpha", http.StatusUnauthorized},
		{"Bearer alpha", "", http.StatusOK},
	} {
		req, err := http.NewRequest(http.MethodGet, srv.URL+tc.query, nil)
		require.NoError(t, err)
		if tc.header != "" {
			req.Header.Set("Authorization", tc.header)
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		_ = resp.Body.Close()
		require.Equal(t, tc.status, resp.StatusCode, "%+v", tc)
		if tc.status == http.StatusUnauthorized {
			require.Equal(t, "application/json", resp.Header.Get("Content-Type"))
			require.NotEmpty(t, resp.Header.Get("WWW-Authenticate"))
		}
	}

	r := httptest.NewRequest(http.MethodGet, "/stream?token=alpha", nil)
	require.True(t, a.Request(r, true), "query tokens where allowed")
	require.False(t, a.Request(r, false))
}

func TestGRPCInterceptors(t *testing.T) {
	a := New([]string{"alpha"})
	lis := bufconn.Listen(1 << 20)
	srv := grpc.NewServer(grpc.UnaryInterceptor(a.UnaryServerInterceptor()), grpc.StreamInterceptor(a.StreamServerInterceptor()))
	healthpb.RegisterHealthServer(srv, health.NewServer())
	go func() { _ = srv.Serve(lis) }()
	defer srv.Stop()
	conn, err := grpc.NewClient("passthrough:///bufnet",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	defer conn.Close()
	client := healthpb.NewHealthClient(conn)

	for _, tc := range []struct {
		name string
		md   []string
		code codes.Code
	}{
		{"no metadata", nil, codes.Unauthenticated},
		{"wrong token", []string{"authorization", "Bearer nope"}, codes.Unauthenticated},
		{"token", []string{"authorization", "Bearer alpha"}, codes.OK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			if tc.md != nil {
				ctx = metadata.AppendToOutgoingContext(ctx, tc.md...)
			}
			_, err := client.Check(ctx, &healthpb.HealthCheckRequest{})
			require.Equal(t, tc.code, status.Code(err), "unary: %v", err)

			ctx, cancel := context.WithCancel(ctx)
			defer cancel()
			stream, err := client.Watch(ctx, &healthpb.HealthCheckRequest{})
			require.NoError(t, err)
			_, err = stream.Recv()
			require.Equal(t, tc.code, status.Code(err), "stream: %v", err)
		})
	}
}
