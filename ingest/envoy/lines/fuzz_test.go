package lines

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/meshscope/meshscope/ingest/envoy/accesslog"
)

// fuzzFormats are the formats FuzzHandler picks from.
var fuzzFormats = []string{
	accesslog.PresetIstio, accesslog.PresetIstioJSON, accesslog.PresetEnvoy, accesslog.PresetEnvoyDetails,
	`%START_TIME% %UPSTREAM_CLUSTER% "%REQ(X-REQUEST-ID)%" %RESPONSE_CODE% %RESPONSE_FLAGS% %GRPC_STATUS% %DOWNSTREAM_REMOTE_ADDRESS%`,
}

// FuzzHandler posts arbitrary bodies through the handler, parser and
// resolver: the answer is 200 or 400 with a JSON body whose counts add up
// to the body's non-blank lines, and every accepted line is one row.
func FuzzHandler(f *testing.F) {
	for _, name := range []string{"istio-text.log", "istio-json.log", "envoy-default.log", "envoy-default-with-details.log"} {
		f.Add(fixture(f, name), uint8(0), "foo/sleep")
	}
	f.Add(badLines(f), uint8(0), "istio-system/istio-ingressgateway")
	rec := &recorder{}
	h, res, _ := newHandler(f, rec)
	f.Fuzz(func(t *testing.T, body []byte, format uint8, emitter string) {
		rec.mu.Lock()
		rec.rows, rec.obs = rec.rows[:0], rec.obs[:0]
		rec.mu.Unlock()
		v := url.Values{"format": {fuzzFormats[int(format)%len(fuzzFormats)]}}
		if emitter != "" {
			v.Set("emitter", emitter)
		}
		req := httptest.NewRequest(http.MethodPost, Path+"?"+v.Encode(), bytes.NewReader(body))
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		lines := 0
		for l := range bytes.SplitSeq(body, []byte("\n")) {
			if len(bytes.TrimSpace(l)) > 0 {
				lines++
			}
		}
		switch w.Code {
		case http.StatusOK:
			var resp Response
			if err := json.Unmarshal(w.Body.Bytes(), &resp); err != nil {
				t.Fatalf("200 with %q: %v", w.Body.String(), err)
			}
			if resp.Accepted+resp.Rejected != lines || resp.Accepted == 0 {
				t.Fatalf("accepted %d + rejected %d, want %d lines", resp.Accepted, resp.Rejected, lines)
			}
			if len(resp.Errors) != min(resp.Rejected, 20) {
				t.Fatalf("%d errors for %d rejected", len(resp.Errors), resp.Rejected)
			}
			for _, e := range resp.Errors {
				if e.Line < 1 || e.Column < 1 || e.Error == "" {
					t.Fatalf("bad line error %+v", e)
				}
			}
			rec.mu.Lock()
			n := len(rec.rows)
			rec.mu.Unlock()
			if n != resp.Accepted {
				t.Fatalf("%d rows for %d accepted lines", n, resp.Accepted)
			}
		case http.StatusBadRequest:
			var resp ErrorResponse
			if err := json.Unmarshal(w.Body.Bytes(), &resp); err != nil || resp.Error == "" || resp.Accepted != 0 {
				t.Fatalf("400 with %q: %v", w.Body.String(), err)
			}
		default:
			t.Fatalf("status %d: %s", w.Code, w.Body.String())
		}
		res.Flush(nil)
	})
}
