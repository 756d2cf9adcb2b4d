package otlp

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/meshscope/meshscope/ingest"
)

// FuzzHTTPExport feeds arbitrary bodies to every OTLP/HTTP endpoint in both
// encodings: the handler must answer 200, 400 or 413 and never panic.
func FuzzHTTPExport(f *testing.F) {
	f.Add(uint8(0), false, []byte{})
	f.Add(uint8(0), true, []byte(`{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"0102030405060708090a0b0c0d0e0f10","spanId":"0102030405060708","name":"x","startTimeUnixNano":"1795000000000000000","endTimeUnixNano":"1795000000000000001"}]}]}]}`))
	f.Add(uint8(1), true, []byte(`{"resourceMetrics":[{"scopeMetrics":[{"metrics":[{"name":"m","gauge":{"dataPoints":[{"asDouble":1,"timeUnixNano":"1795000000000000000"}]}}]}]}]}`))
	f.Add(uint8(2), true, []byte(`{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"timeUnixNano":"1795000000000000000","body":{"stringValue":"hi"}}]}]}]}`))
	f.Add(uint8(0), false, []byte{0x0a, 0x02, 0x0a, 0x00})
	r := NewReceiver(NewConverter(1000), &memAppender{}, ingest.NewMetrics(prometheus.NewRegistry()), Config{MaxRequestBytes: 1 << 20})
	h := r.HTTPHandler()
	paths := []string{"/v1/traces", "/v1/metrics", "/v1/logs"}
	f.Fuzz(func(t *testing.T, which uint8, asJSON bool, body []byte) {
		ct := "application/x-protobuf"
		if asJSON {
			ct = "application/json"
		}
		req := httptest.NewRequest(http.MethodPost, paths[int(which)%len(paths)], bytes.NewReader(body))
		req.Header.Set("Content-Type", ct)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		switch rec.Code {
		case 200, 400, 413:
		default:
			t.Fatalf("status %d for %q: %s", rec.Code, body, rec.Body.String())
		}
	})
}
