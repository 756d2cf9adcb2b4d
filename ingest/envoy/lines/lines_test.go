package lines

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/klauspost/compress/gzip"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/meshscope/meshscope/graph"
	"github.com/meshscope/meshscope/ingest"
	"github.com/meshscope/meshscope/ingest/envoy"
	"github.com/meshscope/meshscope/ingest/pipeline"
	"github.com/meshscope/meshscope/schema"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// recorder is an Appender that keeps copies of what it gets.
type recorder struct {
	mu   sync.Mutex
	rows []schema.RequestRow
	obs  []graph.Observation
	err  error
}

func (r *recorder) Append(_ context.Context, b *schema.Batch, obs []graph.Observation) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err != nil {
		return r.err
	}
	var c schema.Batch // a round trip through the log encoding copies the rows
	if err := pipeline.DecodeBatch(pipeline.EncodeBatch(nil, b), &c); err != nil {
		return err
	}
	r.rows = append(r.rows, c.Requests...)
	for _, o := range obs {
		o.Source.Name, o.Destination.Name = strings.Clone(o.Source.Name), strings.Clone(o.Destination.Name)
		o.Source.Namespace, o.Destination.Namespace = strings.Clone(o.Source.Namespace), strings.Clone(o.Destination.Namespace)
		o.Source.Workload, o.Destination.Workload = strings.Clone(o.Source.Workload), strings.Clone(o.Destination.Workload)
		o.Source.Version, o.Destination.Version = strings.Clone(o.Source.Version), strings.Clone(o.Destination.Version)
		r.obs = append(r.obs, o)
	}
	return nil
}

func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "testdata", name))
	require.NoError(t, err)
	return b
}

func newHandler(t testing.TB, app ingest.Appender) (*Handler, *envoy.Resolver, *ingest.Metrics) {
	t.Helper()
	res, err := envoy.NewResolver(envoy.Config{})
	require.NoError(t, err)
	m := ingest.NewMetrics(nil)
	return NewHandler(res, app, m, Config{MaxBodyBytes: 1 << 20}), res, m
}

// post sends body with the query q and returns the status and the decoded
// answer.
func post(t testing.TB, h http.Handler, q url.Values, body []byte, header map[string]string) (int, http.Header, map[string]any) {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, Path+"?"+q.Encode(), bytes.NewReader(body))
	for k, v := range header {
		req.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	var out map[string]any
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &out), w.Body.String())
	return w.Code, w.Header(), out
}

func q(kv ...string) url.Values {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Set(kv[i], kv[i+1])
	}
	return v
}

func gz(t testing.TB, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	_, err := w.Write(b)
	require.NoError(t, err)
	require.NoError(t, w.Close())
	return buf.Bytes()
}

// badLines is istio-text.log with line 3 broken (its response code is not
// a number) and line 5 cut short.
func badLines(t testing.TB) []byte {
	lines := strings.Split(strings.TrimSuffix(string(fixture(t, "istio-text.log")), "\n"), "\n")
	lines[2] = strings.Replace(lines[2], `HTTP/1.1" 400 DPE`, `HTTP/1.1" four DPE`, 1)
	lines[4] = lines[4][:60]
	return []byte(strings.Join(lines, "\n") + "\n")
}

func TestHandler(t *testing.T) {
	tests := []struct {
		name     string
		q        url.Values
		body     []byte
		header   map[string]string
		appErr   error
		code     int
		want     map[string]any
		rows     int
		emitter  string
		reporter string
	}{
		{name: "istio text", q: q("format", "istio", "emitter", "foo/sleep"), body: fixture(t, "istio-text.log"),
			code: 200, want: map[string]any{"accepted": 8.0, "rejected": 0.0, "errors": []any{}}, rows: 8, emitter: "foo/sleep"},
		{name: "gzip", q: q("format", "istio-json", "emitter", "default/reviews-v2"), body: gz(t, fixture(t, "istio-json.log")),
			header: map[string]string{"Content-Encoding": "gzip"},
			code:   200, want: map[string]any{"accepted": 1.0, "rejected": 0.0, "errors": []any{}}, rows: 1, emitter: "default/reviews-v2"},
		{name: "format string", q: q("format", `[%START_TIME%] "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%" `+
			`%RESPONSE_CODE% %RESPONSE_FLAGS% %BYTES_RECEIVED% %BYTES_SENT% %DURATION% %RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% `+
			`"%REQ(X-FORWARDED-FOR)%" "%REQ(USER-AGENT)%" "%REQ(X-REQUEST-ID)%" "%REQ(:AUTHORITY)%" "%UPSTREAM_HOST%"`+"\n"),
			body: fixture(t, "envoy-default.log"),
			code: 200, want: map[string]any{"accepted": 2.0, "rejected": 0.0, "errors": []any{}}, rows: 2},
		{name: "bad lines are reported, the rest kept", q: q("format", "istio", "emitter", "foo/sleep"), body: badLines(t),
			code: 200, want: map[string]any{"accepted": 6.0, "rejected": 2.0, "errors": []any{
				map[string]any{"line": 3.0, "column": 43.0, "error": "expected integer in %RESPONSE_CODE%"},
				map[string]any{"line": 5.0, "column": 61.0, "error": "expected ' ' before %CONNECTION_TERMINATION_DETAILS%"},
			}}, rows: 6},
		{name: "nothing parses", q: q("format", "istio-json"), body: fixture(t, "istio-text.log"),
			code: 400, rows: 0},
		{name: "empty body", q: q("format", "istio"), body: []byte("\n\n"), code: 400,
			want: map[string]any{"error": "empty body: no lines", "field": "body", "accepted": 0.0, "rejected": 0.0}},
		{name: "no format", q: q("emitter", "foo/sleep"), body: fixture(t, "istio-text.log"), code: 400},
		{name: "unknown format", q: q("format", "nginx"), body: fixture(t, "istio-text.log"), code: 400},
		{name: "bad emitter", q: q("format", "istio", "emitter", "a/b/c"), body: fixture(t, "istio-text.log"), code: 400},
		{name: "bad gateway", q: q("format", "istio", "gateway", "maybe"), body: fixture(t, "istio-text.log"), code: 400},
		{name: "bad gzip", q: q("format", "istio"), body: []byte("not gzip"), header: map[string]string{"Content-Encoding": "gzip"}, code: 400},
		{name: "brotli", q: q("format", "istio"), body: []byte("x"), header: map[string]string{"Content-Encoding": "br"}, code: 415},
		{name: "too large", q: q("format", "istio"), body: bytes.Repeat(fixture(t, "istio-text.log"), 1000), code: 413},
		{name: "gzip bomb", q: q("format", "istio"), body: gz(t, bytes.Repeat([]byte("x"), 4<<20)),
			header: map[string]string{"Content-Encoding": "gzip"}, code: 413},
		{name: "backpressure", q: q("format", "istio"), body: fixture(t, "istio-text.log"), appErr: ingest.ErrBackpressure, code: 503},
		{name: "gateway named by the workload", q: q("format", "istio", "emitter", "istio-system/istio-ingressgateway"),
			body: fixture(t, "istio-text.log"), code: 200, rows: 8, emitter: "istio-system/istio-ingressgateway", reporter: "gateway"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := &recorder{err: tc.appErr}
			h, _, _ := newHandler(t, rec)
			code, header, got := post(t, h, tc.q, tc.body, tc.header)
			require.Equal(t, tc.code, code, "%v", got)
			if tc.want != nil {
				require.Equal(t, tc.want, got)
			}
			if code != 200 {
				require.NotEmpty(t, got["error"])
			}
			if code == 400 && tc.name != "nothing parses" && tc.name != "empty body" && !strings.Contains(tc.name, "gzip") {
				require.Contains(t, []any{"format", "emitter", "gateway"}, got["field"])
			}
			if code == 503 {
				require.Equal(t, "5", header.Get("Retry-After"))
			}
			require.Len(t, rec.rows, tc.rows)
			if tc.emitter != "" {
				for _, r := range rec.rows {
					require.Equal(t, tc.emitter, r.Emitter)
				}
			}
			if tc.reporter != "" {
				require.Equal(t, tc.reporter, rec.rows[0].Reporter)
			}
		})
	}
}

// TestNothingParses: 400 with the counts and the reasons.
func TestNothingParses(t *testing.T) {
	h, _, m := newHandler(t, &recorder{})
	code, _, got := post(t, h, q("format", "istio-json"), fixture(t, "istio-text.log"), nil)
	require.Equal(t, 400, code)
	require.Equal(t, "body", got["field"])
	require.Equal(t, 8.0, got["rejected"])
	require.Len(t, got["errors"], 8)
	require.Equal(t, map[string]any{"line": 1.0, "column": 1.0, "error": "expected '{'"}, got["errors"].([]any)[0])
	require.Equal(t, "no line could be parsed as istio-json; line 1, column 1: expected '{'", got["error"])
	require.Equal(t, 8.0, testutil.ToFloat64(m.Rejected.WithLabelValues(receiver, "bad_line")))
}

// TestEmitterApp: the emitter workload names the app and version.
func TestEmitterApp(t *testing.T) {
	rec := &recorder{}
	h, _, m := newHandler(t, rec)
	code, _, _ := post(t, h, q("format", "istio-json", "emitter", "default/reviews-v2"), fixture(t, "istio-json.log"), nil)
	require.Equal(t, 200, code)
	r := rec.rows[0]
	require.Equal(t, [4]string{"default", "reviews-v2", "reviews", "v2"},
		[4]string{r.DestinationNamespace, r.DestinationWorkload, r.DestinationApp, r.DestinationVersion})
	require.Equal(t, "istio-json", r.LogName)
	require.Equal(t, 1.0, testutil.ToFloat64(m.Accepted.WithLabelValues(receiver, "requests")))
}

// TestBothSidesImported: the two sides of a request imported by two
// concurrent imports, one per proxy, are one call.
func TestBothSidesImported(t *testing.T) {
	rec := &recorder{}
	h, res, _ := newHandler(t, rec)
	lines := bytes.Split(fixture(t, "istio-text.log"), []byte("\n"))
	var wg sync.WaitGroup
	for _, s := range []struct {
		emitter string
		line    []byte
	}{{"foo/sleep", lines[5]}, {"foo/httpbin", lines[6]}} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			code, _, _ := post(t, h, q("format", "istio", "emitter", s.emitter), s.line, nil)
			require.Equal(t, 200, code)
		}()
	}
	wg.Wait()
	require.Len(t, rec.rows, 2)
	obs := append(rec.obs, res.Flush(nil)...)
	require.Len(t, obs, 1)
	require.Equal(t, graph.ReporterDestination, obs[0].Reporter)
	require.Equal(t, "service:foo/httpbin", obs[0].Destination.NodeID(graph.GranularityService))
}

func TestMethodNotAllowed(t *testing.T) {
	h, _, _ := newHandler(t, &recorder{})
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, Path+"?format=istio", nil))
	require.Equal(t, http.StatusMethodNotAllowed, w.Code)
	require.Equal(t, "POST", w.Header().Get("Allow"))
}
