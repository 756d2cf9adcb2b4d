package demo

import (
	"context"
	"errors"
	"io"
	"time"

	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc"
)

// gRPC methods of meshscope's gRPC listener.
const (
	alsMethod     = "/envoy.service.accesslog.v3.AccessLogService/StreamAccessLogs"
	traceMethod   = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"
	logsMethod    = "/opentelemetry.proto.collector.logs.v1.LogsService/Export"
	metricsMethod = "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export"
)

var alsDesc = &grpc.StreamDesc{StreamName: "StreamAccessLogs", ClientStreams: true}

// alsStream is one sidecar logger's long-lived stream.
type alsStream struct {
	cs     grpc.ClientStream
	cancel context.CancelFunc
}

// alsWorker sends the batches of the sidecars it owns (pods with the same
// index modulo alsWorkers), each logger on a stream of its own that stays
// open for the run, as Envoy keeps it: the identifier goes in the first
// message only. A stream that breaks is reopened, with backoff, and the
// batch sent again.
func (s *sender) alsWorker(q chan alsJob) {
	defer s.wg.Done()
	streams := map[int]*alsStream{}
	var msg []byte
	for j := range q {
		key := j.pod.Index * 2
		if j.tcp {
			key++
		}
		for attempt := 0; ; attempt++ {
			st, first, err := s.stream(streams, key)
			if err == nil {
				msg = s.enc.alsMessage(msg[:0], j.pod, j.tcp, first, *j.entries)
				if err = st.cs.SendMsg(&rawMessage{msg}); err == nil {
					s.cnt.alsEntries.Add(uint64(j.n))
					s.cnt.alsMessages.Add(1)
					break
				}
				if errors.Is(err, io.EOF) {
					err = st.cs.RecvMsg(&rawMessage{}) // the status the server ended the stream with
				}
				st.cancel()
				delete(streams, key)
			}
			retry, floor := grpcRetry(err)
			if !retry || attempt+1 >= maxAttempts || s.ctx.Err() != nil {
				s.cnt.errors.Add(1)
				s.errs.log("als", "access log stream failed", err)
				break
			}
			s.cnt.retries.Add(1)
			if !sleep(s.ctx, backoff(attempt, floor)) {
				break
			}
		}
		putBuf(j.entries)
	}
	for _, st := range streams {
		if st.cs.CloseSend() == nil {
			_ = st.cs.RecvMsg(&rawMessage{})
		}
		st.cancel()
	}
}

// stream returns the open stream of key, opening one when needed; first
// tells that the next message is the stream's first.
func (s *sender) stream(streams map[int]*alsStream, key int) (*alsStream, bool, error) {
	if st := streams[key]; st != nil {
		return st, false, nil
	}
	conn, err := s.alsConn(key)
	if err != nil {
		return nil, false, err
	}
	ctx, cancel := context.WithCancel(s.ctx)
	cs, err := conn.NewStream(ctx, alsDesc, alsMethod, grpc.ForceCodecV2(rawCodec{}))
	if err != nil {
		cancel()
		return nil, false, err
	}
	st := &alsStream{cs: cs, cancel: cancel}
	streams[key] = st
	s.cnt.alsStreams.Add(1)
	return st, true, nil
}

// traceWorker exports batches of spans, log records and metric points by
// OTLP/gRPC.
func (s *sender) traceWorker() {
	defer s.wg.Done()
	for j := range s.traceQ {
		method, what := traceMethod, "trace"
		switch j.signal {
		case signalLogs:
			method, what = logsMethod, "log"
		case signalMetrics:
			method, what = metricsMethod, "metric"
		}
		for attempt := 0; ; attempt++ {
			ctx, cancel := context.WithTimeout(s.ctx, 20*time.Second)
			var resp rawMessage
			err := s.conn.Invoke(ctx, method, &rawMessage{*j.req}, &resp, grpc.ForceCodecV2(rawCodec{}))
			cancel()
			if err == nil {
				rejected, msg := exportRejected(j.signal, resp.b)
				if rejected > 0 {
					s.cnt.errors.Add(1)
					s.errs.log("otlp", what+" items rejected", errors.New(msg))
				}
				accepted := uint64(max(int64(j.items)-rejected, 0))
				switch j.signal {
				case signalLogs:
					s.cnt.logRecords.Add(accepted)
					s.cnt.logExports.Add(1)
				case signalMetrics:
					s.cnt.metricPoints.Add(accepted)
					s.cnt.metricExports.Add(1)
				default:
					s.cnt.spans.Add(accepted)
					s.cnt.traceExports.Add(1)
				}
				break
			}
			retry, floor := grpcRetry(err)
			if !retry || attempt+1 >= maxAttempts || s.ctx.Err() != nil {
				s.cnt.errors.Add(1)
				s.errs.log("otlp", what+" export failed", err)
				break
			}
			s.cnt.retries.Add(1)
			if !sleep(s.ctx, backoff(attempt, floor)) {
				break
			}
		}
		putBuf(j.req)
	}
}

// exportRejected reads an export response's partial success: how many
// spans, log records or data points the server rejected, and why.
func exportRejected(sig signal, resp []byte) (int64, string) {
	switch sig {
	case signalLogs:
		r := plogotlp.NewExportResponse()
		if r.UnmarshalProto(resp) != nil {
			return 0, ""
		}
		return r.PartialSuccess().RejectedLogRecords(), r.PartialSuccess().ErrorMessage()
	case signalMetrics:
		r := pmetricotlp.NewExportResponse()
		if r.UnmarshalProto(resp) != nil {
			return 0, ""
		}
		return r.PartialSuccess().RejectedDataPoints(), r.PartialSuccess().ErrorMessage()
	}
	r := ptraceotlp.NewExportResponse()
	if r.UnmarshalProto(resp) != nil {
		return 0, ""
	}
	return r.PartialSuccess().RejectedSpans(), r.PartialSuccess().ErrorMessage()
}
