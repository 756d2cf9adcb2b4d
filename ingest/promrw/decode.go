package promrw

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"

	"github.com/klauspost/compress/snappy"
	"github.com/prometheus/prometheus/prompb"
	writev2 "github.com/prometheus/prometheus/prompb/io/prometheus/write/v2"

	"github.com/meshscope/meshscope/ingest"
)

// Message types of remote write, as the Content-Type's proto parameter
// names them.
const (
	MessageV1 = "prometheus.WriteRequest"
	MessageV2 = "io.prometheus.write.v2.Request"
)

// ContentTypeV2 is the Content-Type of remote write 2.0 requests.
const ContentTypeV2 = "application/x-protobuf;proto=" + MessageV2

// statusError is an error answered with a status other than 400.
type statusError struct {
	status int
	reason string
	err    error
}

func (e *statusError) Error() string { return e.err.Error() }

// parseContentType returns whether a request is remote write 2.0. As in
// Prometheus, an absent Content-Type or one without a proto parameter
// means 1.0.
func parseContentType(ct string) (v2 bool, err error) {
	if ct == "" {
		return false, nil
	}
	media, params, err := mime.ParseMediaType(ct)
	if err != nil {
		return false, &statusError{http.StatusUnsupportedMediaType, ReasonBadContentType,
			fmt.Errorf("Content-Type %q: %w", ct, err)}
	}
	if media != "application/x-protobuf" {
		return false, &statusError{http.StatusUnsupportedMediaType, ReasonBadContentType,
			fmt.Errorf("Content-Type %q: expected application/x-protobuf", ct)}
	}
	switch p := params["proto"]; p {
	case "", MessageV1:
		return false, nil
	case MessageV2:
		return true, nil
	default:
		return false, &statusError{http.StatusUnsupportedMediaType, ReasonBadContentType,
			fmt.Errorf("Content-Type %q: unknown message %q, accepted: %s, %s", ct, p, MessageV1, MessageV2)}
	}
}

// readBody reads at most limit bytes of the body into buf.
func readBody(r *http.Request, buf *bytes.Buffer, limit int64) ([]byte, error) {
	tooLarge := func() error {
		return &statusError{http.StatusRequestEntityTooLarge, ReasonTooLarge,
			fmt.Errorf("body is larger than max_request_bytes (%d)", limit)}
	}
	if r.ContentLength > limit {
		return nil, tooLarge()
	}
	buf.Reset()
	if r.ContentLength > 0 {
		buf.Grow(int(r.ContentLength))
	}
	if _, err := buf.ReadFrom(io.LimitReader(r.Body, limit+1)); err != nil {
		return nil, &statusError{http.StatusBadRequest, ReasonReadError, fmt.Errorf("read body: %w", err)}
	}
	if int64(buf.Len()) > limit {
		return nil, tooLarge()
	}
	return buf.Bytes(), nil
}

// decoder holds the buffers of decoding, reused between requests. The
// decoded 1.0 request may keep the strings of the last request it held
// alive until the next one overwrites them.
type decoder struct {
	raw []byte // decoded 2.0 body
	v1  prompb.WriteRequest
	v2  writev2.Request
}

// decode snappy-decodes body and unmarshals it into d.v1 or d.v2. body
// may be reused afterwards.
func (d *decoder) decode(body []byte, v2 bool, maxDecoded int64) error {
	n, err := snappy.DecodedLen(body)
	if err != nil {
		return ingest.BadInput(ReasonBadSnappy, "body", "snappy: %v", err)
	}
	if int64(n) > maxDecoded {
		return &statusError{http.StatusRequestEntityTooLarge, ReasonTooLarge,
			fmt.Errorf("body decodes to %d bytes, more than max_decoded_bytes (%d)", n, maxDecoded)}
	}
	if v2 {
		// The generated decoder copies the symbols: the buffer is reused.
		if cap(d.raw) < n {
			d.raw = make([]byte, n)
		}
		raw, err := snappy.Decode(d.raw[:cap(d.raw)], body)
		if err != nil {
			return ingest.BadInput(ReasonBadSnappy, "body", "snappy: %v", err)
		}
		clear(d.v2.Timeseries)
		d.v2 = writev2.Request{Timeseries: d.v2.Timeseries[:0]}
		if err := d.v2.Unmarshal(raw); err != nil {
			return ingest.BadInput(ReasonBadProtobuf, "body", "%s: %v", MessageV2, err)
		}
		return nil
	}
	// 1.0 label strings point into the decoded body: it gets a buffer of
	// its own, never written again.
	raw, err := snappy.Decode(make([]byte, n), body)
	if err != nil {
		return ingest.BadInput(ReasonBadSnappy, "body", "snappy: %v", err)
	}
	if err := unmarshalV1(&d.v1, raw); err != nil {
		return ingest.BadInput(ReasonBadProtobuf, "body", "%s: %v", MessageV1, err)
	}
	return nil
}

// errStatus returns the HTTP status and reason of a request error.
func errStatus(err error) (int, string) {
	if se, ok := errors.AsType[*statusError](err); ok {
		return se.status, se.reason
	}
	if ie, ok := errors.AsType[*ingest.InputError](err); ok {
		return http.StatusBadRequest, ie.Reason
	}
	return http.StatusBadRequest, ReasonBadProtobuf
}
