package lines

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/meshscope/meshscope/ingest"
)

// importServer serves the handler over real HTTP, behind wrap.
func importServer(t *testing.T, rec *recorder, cfg Config, wrap func(http.Handler) http.Handler) *httptest.Server {
	t.Helper()
	h, _, _ := newHandler(t, rec)
	h.cfg.MaxBodyBytes = cfg.MaxBodyBytes
	if h.cfg.MaxBodyBytes == 0 {
		h.cfg.MaxBodyBytes = 1 << 20
	}
	var handler http.Handler = h
	if wrap != nil {
		handler = wrap(h)
	}
	mux := http.NewServeMux()
	mux.Handle(Path, handler)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func writeFile(t *testing.T, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "access.log")
	require.NoError(t, os.WriteFile(p, data, 0o644))
	return p
}

// TestImport sends a file with bad lines in small batches: counts add up
// and rejected lines are reported by their line in the file.
func TestImport(t *testing.T) {
	rec := &recorder{}
	srv := importServer(t, rec, Config{}, nil)
	im := &Importer{Client: &Client{Server: srv.URL, Format: "istio", Emitter: "foo/sleep"}, BatchLines: 3, Concurrency: 2}
	path := writeFile(t, badLines(t))
	require.NoError(t, im.Import(context.Background(), path, time.Second))
	s := im.Stats()
	require.Equal(t, int64(6), s.Accepted)
	require.Equal(t, int64(2), s.Rejected)
	require.Equal(t, int64(3), s.Batches)
	require.Equal(t, int64(8), s.Lines)
	require.Len(t, s.Errors, 2)
	lines := map[int]int{}
	for _, e := range s.Errors {
		require.Equal(t, path, e.File)
		lines[e.Line] = e.Column
	}
	require.Equal(t, map[int]int{3: 43, 5: 61}, lines)
	require.Len(t, rec.rows, 6)
}

// TestImportRetries: 503 and 429 are retried after Retry-After, other
// refusals stop the import, an oversized batch is split, the token is
// sent.
func TestImportRetries(t *testing.T) {
	t.Run("backpressure", func(t *testing.T) {
		var calls atomic.Int32
		rec := &recorder{}
		srv := importServer(t, rec, Config{}, func(h http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				switch calls.Add(1) {
				case 1:
					w.Header().Set("Retry-After", "0")
					http.Error(w, `{"error":"write-ahead log is full"}`, http.StatusServiceUnavailable)
				case 2:
					w.Header().Set("Retry-After", "0")
					http.Error(w, "slow down", http.StatusTooManyRequests)
				default:
					h.ServeHTTP(w, r)
				}
			})
		})
		var waits []time.Duration
		var mu sync.Mutex
		im := &Importer{Client: &Client{Server: srv.URL, Format: "istio", OnRetry: func(_ string, d time.Duration) {
			mu.Lock()
			waits = append(waits, d)
			mu.Unlock()
		}}, Concurrency: 1}
		require.NoError(t, im.Import(context.Background(), writeFile(t, fixture(t, "istio-text.log")), time.Second))
		require.Equal(t, int64(8), im.Stats().Accepted)
		require.Equal(t, int64(2), im.Stats().Retries)
		require.Equal(t, []time.Duration{0, 0}, waits)
	})
	t.Run("bad format", func(t *testing.T) {
		srv := importServer(t, &recorder{}, Config{}, nil)
		im := &Importer{Client: &Client{Server: srv.URL, Format: "nginx"}}
		err := im.Import(context.Background(), writeFile(t, fixture(t, "istio-text.log")), time.Second)
		var refused *RefusedError
		require.ErrorAs(t, err, &refused)
		require.Equal(t, "format", refused.Field)
	})
	t.Run("token", func(t *testing.T) {
		srv := importServer(t, &recorder{}, Config{}, func(h http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.Header.Get("Authorization") != "Bearer s3cret" {
					http.Error(w, `{"error":"unauthorized"}`, http.StatusUnauthorized)
					return
				}
				h.ServeHTTP(w, r)
			})
		})
		path := writeFile(t, fixture(t, "istio-text.log"))
		im := &Importer{Client: &Client{Server: srv.URL, Format: "istio"}}
		err := im.Import(context.Background(), path, time.Second)
		var refused *RefusedError
		require.ErrorAs(t, err, &refused)
		require.Equal(t, http.StatusUnauthorized, refused.Status)
		require.Contains(t, err.Error(), "MESHSCOPE_AUTH_TOKEN")
		im = &Importer{Client: &Client{Server: srv.URL, Format: "istio", Token: "s3cret"}}
		require.NoError(t, im.Import(context.Background(), path, time.Second))
	})
	t.Run("split", func(t *testing.T) {
		rec := &recorder{}
		srv := importServer(t, rec, Config{MaxBodyBytes: 1500}, nil)
		im := &Importer{Client: &Client{Server: srv.URL, Format: "istio"}}
		require.NoError(t, im.Import(context.Background(), writeFile(t, badLines(t)), time.Second))
		s := im.Stats()
		require.Equal(t, [2]int64{6, 2}, [2]int64{s.Accepted, s.Rejected})
		require.ElementsMatch(t, []int{3, 5}, []int{s.Errors[0].Line, s.Errors[1].Line})
	})
	t.Run("nothing accepted", func(t *testing.T) {
		srv := importServer(t, &recorder{}, Config{}, nil)
		im := &Importer{Client: &Client{Server: srv.URL, Format: "istio-json"}}
		err := im.Import(context.Background(), writeFile(t, fixture(t, "istio-text.log")), time.Second)
		require.ErrorIs(t, err, ErrNothingAccepted)
		require.Equal(t, int64(8), im.Stats().Rejected)
	})
	t.Run("server down", func(t *testing.T) {
		srv := importServer(t, &recorder{}, Config{}, nil)
		srv.Close()
		im := &Importer{Client: &Client{Server: srv.URL, Format: "istio", MaxAttempts: 2, MaxWait: time.Millisecond}}
		err := im.Import(context.Background(), writeFile(t, fixture(t, "istio-text.log")), time.Second)
		require.Error(t, err)
		require.False(t, errors.Is(err, ErrNothingAccepted))
	})
	_ = ingest.ErrBackpressure
}

// TestFollow tails a file that grows, is truncated, and is rotated.
func TestFollow(t *testing.T) {
	rec := &recorder{}
	srv := importServer(t, rec, Config{}, nil)
	dir := t.TempDir()
	path := filepath.Join(dir, "access.log")
	lines := fixture(t, "istio-text.log")
	require.NoError(t, os.WriteFile(path, lines, 0o644))

	im := &Importer{Client: &Client{Server: srv.URL, Format: "istio"}, Follow: true, Poll: 5 * time.Millisecond}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- im.Import(ctx, path, time.Second) }()
	accepted := func(n int64) func() bool { return func() bool { return im.Stats().Accepted == n } }
	require.Eventually(t, accepted(8), 5*time.Second, time.Millisecond)

	// Growth, with a line written in two pieces; a last line without its
	// end waits for it.
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	require.NoError(t, err)
	first := lines[:len(lines)/3] // three lines and the start of a fourth
	_, err = f.Write(lines)
	require.NoError(t, err)
	_, err = f.Write(first[:100])
	require.NoError(t, err)
	require.Eventually(t, accepted(16), 5*time.Second, time.Millisecond)
	_, err = f.Write(first[100:])
	require.NoError(t, err)
	require.NoError(t, f.Close())
	require.Eventually(t, accepted(19), 5*time.Second, time.Millisecond)

	// Truncation (copytruncate), then new lines: read from the start.
	require.NoError(t, os.Truncate(path, 0))
	half := lines[:len(lines)/2] // four lines and the start of a fifth
	require.NoError(t, os.WriteFile(path, half, 0o644))
	require.Eventually(t, accepted(23), 5*time.Second, time.Millisecond)

	// Rotation: the old file renamed, a new one created. The old file's
	// unfinished last line is sent as it is (and rejected).
	require.NoError(t, os.Rename(path, path+".1"))
	require.NoError(t, os.WriteFile(path, lines, 0o644))
	require.Eventually(t, accepted(31), 5*time.Second, time.Millisecond)
	cancel()
	require.NoError(t, <-done)
	require.Equal(t, int64(1), im.Stats().Rejected)
}

func countLines(b []byte) int {
	n := 0
	for _, c := range b {
		if c == '\n' {
			n++
		}
	}
	return n
}
