package promrw

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/snappy"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/value"
	"github.com/prometheus/prometheus/prompb"
	writev2 "github.com/prometheus/prometheus/prompb/io/prometheus/write/v2"
	"github.com/stretchr/testify/require"

	"github.com/meshscope/meshscope/ingest"
	"github.com/meshscope/meshscope/ingest/meshmetrics"
	"github.com/meshscope/meshscope/schema"
)

// ms is a fixed sample time, in Unix milliseconds.
const ms = int64(1795773600000)

func pl(kv ...string) []prompb.Label {
	var ls []prompb.Label
	for i := 0; i+1 < len(kv); i += 2 {
		ls = append(ls, prompb.Label{Name: kv[i], Value: kv[i+1]})
	}
	return ls
}

func series1(ls []prompb.Label, vals ...float64) prompb.TimeSeries {
	ts := prompb.TimeSeries{Labels: ls}
	for i, v := range vals {
		ts.Samples = append(ts.Samples, prompb.Sample{Value: v, Timestamp: ms + int64(i)*15000})
	}
	return ts
}

func encode1(t testing.TB, req *prompb.WriteRequest) []byte {
	t.Helper()
	raw, err := req.Marshal()
	require.NoError(t, err)
	return snappy.Encode(nil, raw)
}

func encode2(t testing.TB, req *writev2.Request) []byte {
	t.Helper()
	raw, err := req.Marshal()
	require.NoError(t, err)
	return snappy.Encode(nil, raw)
}

type env struct {
	app     *memAppender
	metrics *ingest.Metrics
	deriver *meshmetrics.Deriver
	h       http.Handler
}

func newEnv(t testing.TB, cfg Config) *env {
	t.Helper()
	d, err := meshmetrics.New(meshmetrics.Config{})
	require.NoError(t, err)
	e := &env{app: &memAppender{}, metrics: ingest.NewMetrics(nil), deriver: d}
	e.h = NewHandler(cfg, e.app, d, e.metrics, nil)
	return e
}

func (e *env) post(body []byte, contentType string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodPost, "/api/v1/write", bytes.NewReader(body))
	if contentType != "" {
		r.Header.Set("Content-Type", contentType)
	}
	r.Header.Set("Content-Encoding", "snappy")
	w := httptest.NewRecorder()
	e.h.ServeHTTP(w, r)
	return w
}

func (e *env) rejected(reason string) float64 {
	return testutil.ToFloat64(e.metrics.Rejected.WithLabelValues(receiver, reason))
}

func TestWriteV1(t *testing.T) {
	e := newEnv(t, Config{})
	req := &prompb.WriteRequest{Timeseries: []prompb.TimeSeries{
		series1(pl("job", "kubernetes-pods", "__name__", "http_requests_total", "code", "200", "empty", ""), 10, 12),
		series1(pl("__name__", "temperature", "room", "b"), 21.5),
	}}
	w := e.post(encode1(t, req), "application/x-protobuf")
	require.Equal(t, http.StatusNoContent, w.Code, w.Body.String())
	require.Empty(t, w.Header().Get(HeaderSamplesWritten), "1.0 answers carry no 2.0 headers")

	series, samples, _ := e.app.snapshot()
	require.Len(t, series, 2)
	s := series[0]
	require.Equal(t, "http_requests_total", s.MetricName)
	require.Equal(t, []string{"code", "job"}, s.LabelKeys, "sorted, without __name__ and empty labels")
	require.Equal(t, []string{"200", "kubernetes-pods"}, s.LabelValues)
	require.Equal(t, "kubernetes-pods", s.ServiceName)
	require.Equal(t, SourceRemoteWrite, s.Source)
	require.Equal(t, schema.MetricSum, s.Type)
	require.True(t, s.Monotonic)
	require.Equal(t, uint8(2), s.Temporality)
	require.Equal(t, schema.MetricGauge, series[1].Type)
	require.Equal(t, SeriesID([]labels.Label{{Name: "__name__", Value: "http_requests_total"}, {Name: "code", Value: "200"}, {Name: "job", Value: "kubernetes-pods"}}), s.SeriesID)

	require.Len(t, samples, 3)
	require.Equal(t, s.SeriesID, samples[0].SeriesID)
	require.Equal(t, uint64(ms)*1e6, samples[0].TimeUnixNano)
	require.Equal(t, 12.0, samples[1].Value)
	require.Equal(t, 21.5, samples[2].Value)
	require.Equal(t, float64(3), testutil.ToFloat64(e.metrics.Accepted.WithLabelValues(receiver, "samples")))

	// The same series again: samples only, the series rows were written.
	w = e.post(encode1(t, req), "")
	require.Equal(t, http.StatusNoContent, w.Code, w.Body.String())
	series, samples, _ = e.app.snapshot()
	require.Len(t, series, 2)
	require.Len(t, samples, 6)
}

func TestWriteV1Metadata(t *testing.T) {
	e := newEnv(t, Config{})
	meta := &prompb.WriteRequest{Metadata: []prompb.MetricMetadata{
		{Type: prompb.MetricMetadata_GAUGE, MetricFamilyName: "queue_total", Help: "Queued items.", Unit: "items"},
	}}
	require.Equal(t, http.StatusNoContent, e.post(encode1(t, meta), "").Code)
	req := &prompb.WriteRequest{Timeseries: []prompb.TimeSeries{series1(pl("__name__", "queue_total"), 3)}}
	require.Equal(t, http.StatusNoContent, e.post(encode1(t, req), "").Code)
	series, _, _ := e.app.snapshot()
	require.Len(t, series, 1)
	require.Equal(t, schema.MetricGauge, series[0].Type, "metadata wins over the _total suffix")
	require.Equal(t, "Queued items.", series[0].Description)
	require.Equal(t, "items", series[0].Unit)
}

func TestWriteV2(t *testing.T) {
	e := newEnv(t, Config{})
	st := writev2.NewSymbolTable()
	ls := labels.FromStrings("__name__", "http_request_duration_seconds_count", "job", "api", "instance", "10.0.0.1:8080")
	req := &writev2.Request{Timeseries: []writev2.TimeSeries{{
		LabelsRefs: st.SymbolizeLabels(ls, nil),
		Samples:    []writev2.Sample{{Value: 5, Timestamp: ms, StartTimestamp: ms - 60000}, {Value: 9, Timestamp: ms + 15000}},
		Metadata: writev2.Metadata{Type: writev2.Metadata_METRIC_TYPE_HISTOGRAM,
			HelpRef: st.Symbolize("Request latency."), UnitRef: st.Symbolize("seconds")},
	}}}
	req.Symbols = st.Symbols()
	w := e.post(encode2(t, req), ContentTypeV2)
	require.Equal(t, http.StatusNoContent, w.Code, w.Body.String())
	require.Equal(t, "2", w.Header().Get(HeaderSamplesWritten))
	require.Equal(t, "0", w.Header().Get(HeaderHistogramsWritten))
	require.Equal(t, "0", w.Header().Get(HeaderExemplarsWritten))

	series, samples, _ := e.app.snapshot()
	require.Len(t, series, 1)
	require.Equal(t, "Request latency.", series[0].Description)
	require.Equal(t, "seconds", series[0].Unit)
	require.Equal(t, schema.MetricSum, series[0].Type)
	require.Equal(t, "api", series[0].ServiceName)
	require.Len(t, samples, 2)
	require.Equal(t, uint64(ms-60000)*1e6, samples[0].StartTimeUnixNano)
}

func TestNativeHistograms(t *testing.T) {
	exp := &histogram.Histogram{
		Schema: 1, ZeroThreshold: 0.001, ZeroCount: 2, Count: 12, Sum: 18.4,
		PositiveSpans:   []histogram.Span{{Offset: 0, Length: 2}, {Offset: 1, Length: 2}},
		PositiveBuckets: []int64{1, 1, -1, 0}, // 1 2 _ 1 1
		NegativeSpans:   []histogram.Span{{Offset: 0, Length: 1}},
		NegativeBuckets: []int64{5},
	}
	nhcb := &histogram.Histogram{
		Schema: histogram.CustomBucketsSchema, Count: 7, Sum: 3.2,
		PositiveSpans:   []histogram.Span{{Offset: 1, Length: 2}},
		PositiveBuckets: []int64{3, 1}, // _ 3 4 (+Inf)
		CustomValues:    []float64{0.1, 0.5},
	}
	float := exp.ToFloat(nil)
	float.Count, float.ZeroCount = 12.4, 2.4

	tests := []struct {
		name  string
		h     prompb.Histogram
		check func(t *testing.T, s schema.MetricSampleRow, r schema.MetricSeriesRow)
	}{
		{"exponential", prompb.FromIntHistogram(ms, exp), func(t *testing.T, s schema.MetricSampleRow, r schema.MetricSeriesRow) {
			require.Equal(t, schema.MetricExponentialHistogram, r.Type)
			require.Equal(t, int32(1), s.ExpScale)
			require.Equal(t, uint64(2), s.ExpZeroCount)
			require.Equal(t, uint64(12), s.Count)
			require.Equal(t, 18.4, s.Sum)
			require.Equal(t, int32(-1), s.ExpPositiveOffset, "Prometheus index 0 is OTLP index -1")
			require.Equal(t, []uint64{1, 2, 0, 1, 1}, s.ExpPositiveCounts)
			require.Equal(t, []uint64{5}, s.ExpNegativeCounts)
			require.True(t, math.IsNaN(s.Value))
		}},
		{"float", prompb.FromFloatHistogram(ms, float), func(t *testing.T, s schema.MetricSampleRow, r schema.MetricSeriesRow) {
			require.Equal(t, uint64(12), s.Count)
			require.Equal(t, uint64(2), s.ExpZeroCount)
			require.Equal(t, []uint64{1, 2, 0, 1, 1}, s.ExpPositiveCounts)
		}},
		{"custom buckets", prompb.FromIntHistogram(ms, nhcb), func(t *testing.T, s schema.MetricSampleRow, r schema.MetricSeriesRow) {
			require.Equal(t, schema.MetricHistogram, r.Type)
			require.Equal(t, []float64{0.1, 0.5}, s.BucketBounds)
			require.Equal(t, []uint64{0, 3, 4}, s.BucketCounts)
			require.Empty(t, s.ExpPositiveCounts)
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, Config{})
			req := &prompb.WriteRequest{Timeseries: []prompb.TimeSeries{{
				Labels: pl("__name__", "rpc_duration_seconds", "job", "api"), Histograms: []prompb.Histogram{tc.h},
			}}}
			w := e.post(encode1(t, req), "")
			require.Equal(t, http.StatusNoContent, w.Code, w.Body.String())
			series, samples, _ := e.app.snapshot()
			require.Len(t, series, 1)
			require.Len(t, samples, 1)
			tc.check(t, samples[0], series[0])
		})
	}
}

func TestStaleAndNaN(t *testing.T) {
	e := newEnv(t, Config{})
	stale := math.Float64frombits(value.StaleNaN)
	req := &prompb.WriteRequest{Timeseries: []prompb.TimeSeries{
		series1(pl("__name__", "up", "job", "a"), 1, stale),
		series1(pl("__name__", "ratio", "job", "a"), math.NaN(), math.Inf(1)),
	}}
	require.Equal(t, http.StatusNoContent, e.post(encode1(t, req), "").Code)
	_, samples, _ := e.app.snapshot()
	require.Len(t, samples, 4)
	require.Zero(t, samples[0].Flags)
	require.Equal(t, uint32(1), samples[1].Flags, "staleness marker flagged")
	require.Equal(t, value.StaleNaN, math.Float64bits(samples[1].Value), "and kept as sent")
	require.True(t, math.IsNaN(samples[2].Value))
	require.Zero(t, samples[2].Flags, "a plain NaN is a value")
	require.True(t, math.IsInf(samples[3].Value, 1))
}

func TestBadSeries(t *testing.T) {
	good := series1(pl("__name__", "ok_total", "job", "a"), 1)
	long := strings.Repeat("x", 40)
	tests := []struct {
		name   string
		ts     prompb.TimeSeries
		reason string
		says   []string
	}{
		{"no metric name", series1(pl("job", "a"), 1), ReasonMissingMetricName, []string{"no metric name"}},
		{"empty label name", series1(pl("__name__", "m", "", "v"), 1), ReasonInvalidLabelName, []string{"m{", "empty name"}},
		{"label name not UTF-8", series1(pl("__name__", "m", "bad\xff", "v"), 1), ReasonInvalidLabelName, []string{"not valid UTF-8"}},
		{"label value not UTF-8", series1(pl("__name__", "m", "pod", "\xfe"), 1), ReasonInvalidLabelValue, []string{`label "pod"`}},
		{"duplicate label", series1(pl("__name__", "m", "pod", "a", "pod", "b"), 1), ReasonDuplicateLabel, []string{`label "pod" appears twice`}},
		{"too many labels", series1(pl("__name__", "m", "a", "1", "b", "2", "c", "3", "d", "4"), 1), ReasonLabelLimit, []string{"5 labels", "max_labels_per_series (4)"}},
		{"long name", series1(pl("__name__", "m", long, "1"), 1), ReasonLabelLimit, []string{"max_label_name_length (32)"}},
		{"long value", series1(pl("__name__", "m", "pod", long), 1), ReasonLabelLimit, []string{`label "pod"`, "max_label_value_length (32)"}},
		{"out of order", prompb.TimeSeries{Labels: pl("__name__", "m"), Samples: []prompb.Sample{{Timestamp: ms}, {Timestamp: ms - 1}}}, ReasonOutOfOrder, []string{"older than the one before"}},
		{"duplicate sample", prompb.TimeSeries{Labels: pl("__name__", "m"), Samples: []prompb.Sample{{Timestamp: ms}, {Timestamp: ms}}}, ReasonDuplicateSample, []string{"same timestamp"}},
		{"negative timestamp", prompb.TimeSeries{Labels: pl("__name__", "m"), Samples: []prompb.Sample{{Timestamp: -5}}}, ReasonBadTimestamp, []string{"timestamp -5"}},
		{"bad histogram", prompb.TimeSeries{Labels: pl("__name__", "h"), Histograms: []prompb.Histogram{{
			Count: &prompb.Histogram_CountInt{CountInt: 9}, Schema: 0, Timestamp: ms,
			PositiveSpans: []prompb.BucketSpan{{Offset: 0, Length: 2}}, PositiveDeltas: []int64{1},
		}}}, ReasonBadHistogram, []string{"h{}", "histogram 0", "spans need 2 buckets"}},
		{"histogram too wide", prompb.TimeSeries{Labels: pl("__name__", "h"), Histograms: []prompb.Histogram{{
			Count: &prompb.Histogram_CountInt{CountInt: 2}, Schema: 0, Timestamp: ms,
			PositiveSpans: []prompb.BucketSpan{{Offset: 0, Length: 1}, {Offset: 1 << 30, Length: 1}}, PositiveDeltas: []int64{1, 0},
		}}}, ReasonBadHistogram, []string{"max_native_histogram_buckets"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, Config{MaxLabelsPerSeries: 4, MaxLabelNameLength: 32, MaxLabelValueLength: 32})
			req := &prompb.WriteRequest{Timeseries: []prompb.TimeSeries{good, tc.ts}}
			w := e.post(encode1(t, req), "")
			require.Equal(t, http.StatusBadRequest, w.Code)
			body := w.Body.String()
			require.Contains(t, body, "1 series refused, the others written")
			for _, s := range tc.says {
				require.Contains(t, body, s)
			}
			items := max(len(tc.ts.Samples)+len(tc.ts.Histograms), 1)
			require.Equal(t, float64(items), e.rejected(tc.reason), "refused samples are counted: %s", body)
			series, samples, _ := e.app.snapshot()
			require.Len(t, series, 1, "the good series is written")
			require.Equal(t, "ok_total", series[0].MetricName)
			require.Len(t, samples, 1)
		})
	}
}

func TestBadRequests(t *testing.T) {
	good := encode1(t, &prompb.WriteRequest{Timeseries: []prompb.TimeSeries{series1(pl("__name__", "m"), 1)}})
	raw, err := (&prompb.WriteRequest{Timeseries: []prompb.TimeSeries{series1(pl("__name__", "m"), 1)}}).Marshal()
	require.NoError(t, err)
	big := snappy.Encode(nil, bytes.Repeat([]byte{0}, 4096))
	st := writev2.NewSymbolTable()
	badRef := &writev2.Request{Symbols: st.Symbols(), Timeseries: []writev2.TimeSeries{{LabelsRefs: []uint32{0, 7}, Samples: []writev2.Sample{{Timestamp: ms}}}}}

	tests := []struct {
		name        string
		method      string
		contentType string
		encoding    string
		body        []byte
		status      int
		reason      string
	}{
		{"GET", http.MethodGet, "", "snappy", nil, http.StatusMethodNotAllowed, ""},
		{"JSON", http.MethodPost, "application/json", "snappy", good, http.StatusUnsupportedMediaType, ReasonBadContentType},
		{"unknown message", http.MethodPost, "application/x-protobuf;proto=foo.Bar", "snappy", good, http.StatusUnsupportedMediaType, ReasonBadContentType},
		{"gzip", http.MethodPost, "", "gzip", good, http.StatusUnsupportedMediaType, ReasonBadEncoding},
		{"not snappy", http.MethodPost, "", "snappy", raw, http.StatusBadRequest, ReasonBadSnappy},
		{"corrupt snappy", http.MethodPost, "", "snappy", append(good[:len(good)-3:len(good)-3], 0xff, 0xff), http.StatusBadRequest, ReasonBadSnappy},
		{"not protobuf", http.MethodPost, "", "snappy", snappy.Encode(nil, []byte("hello, world")), http.StatusBadRequest, ReasonBadProtobuf},
		{"too large", http.MethodPost, "", "snappy", bytes.Repeat([]byte{1}, 2048), http.StatusRequestEntityTooLarge, ReasonTooLarge},
		{"decodes too large", http.MethodPost, "", "snappy", big, http.StatusRequestEntityTooLarge, ReasonTooLarge},
		{"2.0 symbol out of range", http.MethodPost, ContentTypeV2, "snappy", encode2(t, badRef), http.StatusBadRequest, ReasonBadSymbolRef},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, Config{MaxRequestBytes: 1024, MaxDecodedBytes: 2048})
			r := httptest.NewRequest(tc.method, "/api/v1/write", bytes.NewReader(tc.body))
			if tc.contentType != "" {
				r.Header.Set("Content-Type", tc.contentType)
			}
			r.Header.Set("Content-Encoding", tc.encoding)
			w := httptest.NewRecorder()
			e.h.ServeHTTP(w, r)
			require.Equal(t, tc.status, w.Code, w.Body.String())
			if tc.reason != "" {
				require.Equal(t, 1.0, e.rejected(tc.reason))
			}
			series, samples, _ := e.app.snapshot()
			require.Empty(t, series)
			require.Empty(t, samples)
		})
	}
}

func TestAppendFailures(t *testing.T) {
	req := &prompb.WriteRequest{Timeseries: []prompb.TimeSeries{series1(pl("__name__", "m", "job", "a"), 1)}}
	tests := []struct {
		name   string
		err    error
		status int
		reason string
	}{
		{"write-ahead log full", fmt.Errorf("append: %w", ingest.ErrBackpressure), http.StatusServiceUnavailable, ReasonBackpressure},
		{"bad input", ingest.BadInput("too_many_rows", "", "too many"), http.StatusBadRequest, "too_many_rows"},
		{"failure", errors.New("disk on fire"), http.StatusInternalServerError, ReasonAppendFailed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, Config{RetryAfter: 7 * time.Second})
			e.app.setErr(tc.err)
			w := e.post(encode1(t, req), "")
			require.Equal(t, tc.status, w.Code)
			require.Equal(t, 1.0, e.rejected(tc.reason))
			if tc.status == http.StatusServiceUnavailable {
				require.Equal(t, "7", w.Header().Get("Retry-After"))
			}
			// The retry succeeds, and still writes the series row.
			e.app.setErr(nil)
			require.Equal(t, http.StatusNoContent, e.post(encode1(t, req), "").Code)
			series, _, _ := e.app.snapshot()
			require.Len(t, series, 1)
		})
	}
}

// istioSeries is an istio_requests_total series of a call from
// productpage to reviews, reported by the destination.
func istioSeries(code string) []prompb.Label {
	return pl("__name__", "istio_requests_total", "job", "kubernetes-pods", "instance", "10.244.0.9:15020",
		"reporter", "destination", "source_workload", "productpage-v1", "source_workload_namespace", "default",
		"source_canonical_service", "productpage", "destination_workload", "reviews-v2",
		"destination_workload_namespace", "default", "destination_canonical_service", "reviews",
		"destination_service_name", "reviews", "destination_service_namespace", "default",
		"request_protocol", "http", "response_code", code, "response_flags", "-",
		"connection_security_policy", "mutual_tls")
}

func TestObservations(t *testing.T) {
	e := newEnv(t, Config{})
	scrape := func(i int, ok, failed float64) []byte {
		return encode1(t, &prompb.WriteRequest{Timeseries: []prompb.TimeSeries{
			{Labels: istioSeries("200"), Samples: []prompb.Sample{{Value: ok, Timestamp: ms + int64(i)*15000}}},
			{Labels: istioSeries("503"), Samples: []prompb.Sample{{Value: failed, Timestamp: ms + int64(i)*15000}}},
		}})
	}
	require.Equal(t, http.StatusNoContent, e.post(scrape(0, 100, 4), "").Code)
	// Backpressure: the observations of this request wait in the deriver.
	e.app.setErr(ingest.ErrBackpressure)
	require.Equal(t, http.StatusServiceUnavailable, e.post(scrape(1, 130, 5), "").Code)
	e.app.setErr(nil)
	// Prometheus retries the same request; its samples count once.
	require.Equal(t, http.StatusNoContent, e.post(scrape(1, 130, 5), "").Code)
	_, _, obs := e.app.snapshot()
	require.Len(t, obs, 2)
	var count, errs uint64
	for _, o := range obs {
		count += o.Count
		errs += o.Errors
		require.Equal(t, "reviews", o.Destination.Name)
		require.Equal(t, o.Count, o.MTLS)
	}
	require.Equal(t, uint64(31), count)
	require.Equal(t, uint64(1), errs)
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		err  string
	}{
		{"zero", Config{}, ""},
		{"negative", Config{MaxLabelsPerSeries: -1}, "max_labels_per_series"},
		{"decoded below request", Config{MaxRequestBytes: 10 << 20, MaxDecodedBytes: 1 << 20}, "max_decoded_bytes"},
		{"negative retry", Config{RetryAfter: -time.Second}, "retry_after"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			if tc.err == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, tc.err)
		})
	}
}

func TestSeenSet(t *testing.T) {
	s := NewSeenSet(64) // 2 per generation per shard
	for id := range uint64(1000) {
		s.Add(id)
	}
	kept := 0
	for id := range uint64(1000) {
		if s.Contains(id) {
			kept++
		}
	}
	require.LessOrEqual(t, kept, 64)
	require.True(t, s.Contains(999), "the newest ids stay")
}
