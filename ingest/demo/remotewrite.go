package demo

import (
	"github.com/golang/snappy"
	"google.golang.org/protobuf/encoding/protowire"
)

// Prometheus remote write 1.0: prometheus.WriteRequest, encoded by hand
// from the labels each series encoded once, snappy-compressed by the
// sender. A push of every series is split into requests of at most
// maxSamplesPerSend samples, as Prometheus' queue manager does; the first
// request of a push also carries the families' metadata.

// maxSamplesPerSend is Prometheus' default max_samples_per_send.
const maxSamplesPerSend = 2000

// family names as __name__ label fields.
var (
	nameRequests    = appendLabel(nil, "__name__", "istio_requests_total")
	nameDurBucket   = appendLabel(nil, "__name__", "istio_request_duration_milliseconds_bucket")
	nameDurSum      = appendLabel(nil, "__name__", "istio_request_duration_milliseconds_sum")
	nameDurCount    = appendLabel(nil, "__name__", "istio_request_duration_milliseconds_count")
	nameReqSum      = appendLabel(nil, "__name__", "istio_request_bytes_sum")
	nameReqCount    = appendLabel(nil, "__name__", "istio_request_bytes_count")
	nameRspSum      = appendLabel(nil, "__name__", "istio_response_bytes_sum")
	nameRspCount    = appendLabel(nil, "__name__", "istio_response_bytes_count")
	nameTCPOpened   = appendLabel(nil, "__name__", "istio_tcp_connections_opened_total")
	nameTCPClosed   = appendLabel(nil, "__name__", "istio_tcp_connections_closed_total")
	nameTCPReceived = appendLabel(nil, "__name__", "istio_tcp_received_bytes_total")
	nameTCPSent     = appendLabel(nil, "__name__", "istio_tcp_sent_bytes_total")
)

// rwMetadata is the MetricMetadata fields of the families (WriteRequest
// field 3).
var rwMetadata = func() []byte {
	const counter, histogram = 1, 3
	var b []byte
	for _, f := range []struct {
		typ        uint64
		name, help string
	}{
		{counter, "istio_requests_total", "Total requests."},
		{histogram, "istio_request_duration_milliseconds", "Request duration in milliseconds."},
		{histogram, "istio_request_bytes", "Request body size in bytes."},
		{histogram, "istio_response_bytes", "Response body size in bytes."},
		{counter, "istio_tcp_connections_opened_total", "Total TCP connections opened."},
		{counter, "istio_tcp_connections_closed_total", "Total TCP connections closed."},
		{counter, "istio_tcp_received_bytes_total", "Bytes received by the destination of TCP connections."},
		{counter, "istio_tcp_sent_bytes_total", "Bytes sent by the destination of TCP connections."},
	} {
		var m int
		b, m = openField(b, 3)
		b = appendVarintField(b, 1, f.typ)
		b = appendStringField(b, 2, f.name)
		b = appendStringField(b, 4, f.help)
		b = closeField(b, m)
	}
	return b
}()

// rwEncoder encodes pushes of mesh series.
type rwEncoder struct {
	buf     []byte
	samples int
	ts      int64
	emit    func(body []byte, samples int)
}

// sample appends one TimeSeries with one sample.
func (e *rwEncoder) sample(name, pre, le, post []byte, v float64) {
	b, m := openField(e.buf, 1)
	b = append(b, name...)
	b = append(b, pre...)
	b = append(b, le...)
	b = append(b, post...)
	var s int
	b, s = openField(b, 2)
	b = appendDoubleField(b, 1, v)
	b = protowire.AppendTag(b, 2, protowire.VarintType)
	b = protowire.AppendVarint(b, uint64(e.ts))
	b = closeField(b, s)
	e.buf = closeField(b, m)
	e.samples++
}

func (e *rwEncoder) flush() {
	if e.samples > 0 {
		e.emit(e.buf, e.samples)
	}
	e.buf, e.samples = e.buf[:0], 0
}

// push encodes every series at tsMs (Unix milliseconds) into requests
// passed to emit, which must not retain body.
func (e *rwEncoder) push(list []*meshSeries, tsMs int64, emit func(body []byte, samples int)) {
	e.buf, e.samples, e.ts, e.emit = append(e.buf[:0], rwMetadata...), 0, tsMs, emit
	for _, s := range list {
		if s.tcp {
			e.sample(nameTCPOpened, s.pre, nil, s.post, float64(s.opened))
			e.sample(nameTCPClosed, s.pre, nil, s.post, float64(s.opened))
			e.sample(nameTCPReceived, s.pre, nil, s.post, float64(s.sent))
			e.sample(nameTCPSent, s.pre, nil, s.post, float64(s.received))
		} else {
			e.sample(nameRequests, s.pre, nil, s.post, float64(s.requests))
			var cum uint64
			for i := range durationBuckets {
				cum += s.buckets[i]
				e.sample(nameDurBucket, s.pre, bucketLabels[i], s.post, float64(cum))
			}
			e.sample(nameDurBucket, s.pre, bucketLabels[len(durationBuckets)], s.post, float64(s.requests))
			e.sample(nameDurSum, s.pre, nil, s.post, s.durSumMs)
			e.sample(nameDurCount, s.pre, nil, s.post, float64(s.requests))
			e.sample(nameReqSum, s.pre, nil, s.post, s.reqBytes)
			e.sample(nameReqCount, s.pre, nil, s.post, float64(s.requests))
			e.sample(nameRspSum, s.pre, nil, s.post, s.rspBytes)
			e.sample(nameRspCount, s.pre, nil, s.post, float64(s.requests))
		}
		if e.samples >= maxSamplesPerSend {
			e.flush()
		}
	}
	e.flush()
}

// compress snappy-compresses a remote write body into a pooled buffer.
func compress(body []byte) *[]byte {
	buf := getBigBuf()
	need := snappy.MaxEncodedLen(len(body))
	if cap(*buf) < need {
		*buf = make([]byte, need)
	}
	*buf = snappy.Encode((*buf)[:need], body)
	return buf
}
