package otlp

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"

	"github.com/klauspost/compress/gzip"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/meshscope/meshscope/ingest"
)

const (
	contentProtobuf = "application/x-protobuf"
	contentJSON     = "application/json"
)

// HTTPHandler serves OTLP/HTTP: POST /v1/traces, /v1/metrics and /v1/logs
// with protobuf or JSON bodies, optionally gzip-compressed.
func (r *Receiver) HTTPHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/v1/traces", r.serveHTTP("traces"))
	mux.HandleFunc("/v1/metrics", r.serveHTTP("metrics"))
	mux.HandleFunc("/v1/logs", r.serveHTTP("logs"))
	return mux
}

// httpError carries a status code and a reason label.
type httpError struct {
	code   int
	reason string
	msg    string
}

func (e *httpError) Error() string { return e.msg }

func (r *Receiver) serveHTTP(signal string) http.HandlerFunc {
	return func(w http.ResponseWriter, req *http.Request) {
		ct := contentProtobuf
		if mt, _, err := mime.ParseMediaType(req.Header.Get("Content-Type")); err == nil && mt == contentJSON {
			ct = contentJSON
		}
		body, herr := r.readBody(w, req)
		if herr != nil {
			r.metrics.Rejected.WithLabelValues("otlp_http", herr.reason).Inc()
			writeStatus(w, ct, herr.code, herr.msg)
			return
		}
		out, err := r.exportHTTP(req.Context(), signal, ct, body)
		if err != nil {
			code, msg := http.StatusServiceUnavailable, err.Error()
			var bad *ingest.InputError
			switch {
			case errors.As(err, &bad):
				code = http.StatusBadRequest
				r.metrics.Rejected.WithLabelValues("otlp_http", bad.Reason).Inc()
			case errors.Is(err, ingest.ErrBackpressure):
				w.Header().Set("Retry-After", "5")
			default:
				w.Header().Set("Retry-After", "5")
				r.cfg.Logger.Error("otlp http export failed", "err", err)
			}
			writeStatus(w, ct, code, msg)
			return
		}
		w.Header().Set("Content-Type", ct)
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(out)
	}
}

func (r *Receiver) readBody(w http.ResponseWriter, req *http.Request) ([]byte, *httpError) {
	if req.Method != http.MethodPost {
		return nil, &httpError{http.StatusMethodNotAllowed, "bad_method", "method " + req.Method + " not allowed: use POST"}
	}
	mt, _, err := mime.ParseMediaType(req.Header.Get("Content-Type"))
	if err != nil || (mt != contentProtobuf && mt != contentJSON) {
		return nil, &httpError{http.StatusUnsupportedMediaType, "bad_content_type",
			fmt.Sprintf("Content-Type %q not supported: use %s or %s", req.Header.Get("Content-Type"), contentProtobuf, contentJSON)}
	}
	max := r.cfg.MaxRequestBytes
	var src io.Reader = http.MaxBytesReader(w, req.Body, max)
	switch enc := req.Header.Get("Content-Encoding"); enc {
	case "", "identity":
	case "gzip":
		gz, err := gzip.NewReader(src)
		if err != nil {
			return nil, &httpError{http.StatusBadRequest, "bad_gzip", "gzip body: " + err.Error()}
		}
		defer gz.Close()
		src = gz
	default:
		return nil, &httpError{http.StatusUnsupportedMediaType, "bad_content_encoding", "Content-Encoding " + strconv.Quote(enc) + " not supported: use gzip or none"}
	}
	var buf bytes.Buffer
	if req.ContentLength > 0 && req.ContentLength <= max {
		buf.Grow(int(req.ContentLength))
	}
	n, err := buf.ReadFrom(io.LimitReader(src, max+1))
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		return nil, &httpError{http.StatusRequestEntityTooLarge, "too_large", fmt.Sprintf("body exceeds %d bytes (--max-request-bytes)", max)}
	case err != nil:
		return nil, &httpError{http.StatusBadRequest, "bad_body", "read body: " + err.Error()}
	case n > max:
		return nil, &httpError{http.StatusRequestEntityTooLarge, "too_large", fmt.Sprintf("decompressed body exceeds %d bytes (--max-request-bytes)", max)}
	}
	return buf.Bytes(), nil
}

// exportHTTP decodes and stores one request, and encodes the response.
func (r *Receiver) exportHTTP(ctx context.Context, signal, ct string, body []byte) ([]byte, error) {
	bad := func(err error) error {
		reason := "bad_protobuf"
		if ct == contentJSON {
			reason = "bad_json"
		}
		return ingest.BadInput(reason, "", "decode %s export request: %v", signal, err)
	}
	switch signal {
	case "traces":
		req := ptraceotlp.NewExportRequest()
		if err := unmarshal(ct, body, req.UnmarshalProto, req.UnmarshalJSON); err != nil {
			return nil, bad(err)
		}
		res, err := r.Traces(ctx, "otlp_http", req.Traces())
		releaseTraces(req.Traces())
		if err != nil {
			return nil, err
		}
		resp := ptraceotlp.NewExportResponse()
		if res.rejected > 0 {
			resp.PartialSuccess().SetRejectedSpans(res.rejected)
			resp.PartialSuccess().SetErrorMessage(res.message)
		}
		return marshal(ct, resp.MarshalProto, resp.MarshalJSON)
	case "metrics":
		req := pmetricotlp.NewExportRequest()
		if err := unmarshal(ct, body, req.UnmarshalProto, req.UnmarshalJSON); err != nil {
			return nil, bad(err)
		}
		res, err := r.Metrics(ctx, "otlp_http", req.Metrics())
		releaseMetrics(req.Metrics())
		if err != nil {
			return nil, err
		}
		resp := pmetricotlp.NewExportResponse()
		if res.rejected > 0 {
			resp.PartialSuccess().SetRejectedDataPoints(res.rejected)
			resp.PartialSuccess().SetErrorMessage(res.message)
		}
		return marshal(ct, resp.MarshalProto, resp.MarshalJSON)
	default:
		req := plogotlp.NewExportRequest()
		if err := unmarshal(ct, body, req.UnmarshalProto, req.UnmarshalJSON); err != nil {
			return nil, bad(err)
		}
		res, err := r.Logs(ctx, "otlp_http", req.Logs())
		releaseLogs(req.Logs())
		if err != nil {
			return nil, err
		}
		resp := plogotlp.NewExportResponse()
		if res.rejected > 0 {
			resp.PartialSuccess().SetRejectedLogRecords(res.rejected)
			resp.PartialSuccess().SetErrorMessage(res.message)
		}
		return marshal(ct, resp.MarshalProto, resp.MarshalJSON)
	}
}

func unmarshal(ct string, body []byte, fromProto, fromJSON func([]byte) error) error {
	if ct == contentJSON {
		return fromJSON(body)
	}
	return fromProto(body)
}

func marshal(ct string, toProto, toJSON func() ([]byte, error)) ([]byte, error) {
	if ct == contentJSON {
		return toJSON()
	}
	return toProto()
}

// writeStatus answers an error as OTLP/HTTP asks: a google.rpc.Status in
// the request's encoding.
func writeStatus(w http.ResponseWriter, ct string, code int, msg string) {
	grpcCode := codes.Unavailable
	switch {
	case code == http.StatusBadRequest || code == http.StatusRequestEntityTooLarge || code == http.StatusUnsupportedMediaType:
		grpcCode = codes.InvalidArgument
	case code == http.StatusMethodNotAllowed:
		grpcCode = codes.Unimplemented
	}
	st := status.New(grpcCode, msg).Proto()
	var body []byte
	if ct == contentJSON {
		body, _ = protojson.Marshal(st)
	} else {
		body, _ = proto.Marshal(st)
	}
	w.Header().Set("Content-Type", ct)
	w.WriteHeader(code)
	_, _ = w.Write(body)
}
