package otlp

import (
	"context"
	"errors"
	"math/bits"
	"sync"

	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/mem"
	"google.golang.org/grpc/status"

	"github.com/meshscope/meshscope/ingest"
)

// The OTLP services are registered with raw-bytes handlers rather than the
// collector's generated ones, so that a malformed request gets
// InvalidArgument with the decoder's message (gRPC's own decoding error is
// Internal) and the bytes are decoded once, by pdata.

// rawMessage is a request or response body as bytes. A request the server
// decodes holds its bytes in a buffer of gRPC's pool (pooled), which the
// handler gives back once the export is done with them (pdata copies what
// it keeps).
type rawMessage struct {
	b      []byte
	pooled bool
	buf    mem.Buffer
}

// release gives a pooled message's buffer back.
func (r *rawMessage) release() {
	if r.buf != nil {
		r.buf.Free()
		r.buf, r.b = nil, nil
	}
}

// RawMessage is a protobuf message body sent or received as bytes, for
// clients that send pre-marshalled OTLP requests (load generators) with
// ClientCodec.
type RawMessage = rawMessage

// NewRawMessage wraps b.
func NewRawMessage(b []byte) *RawMessage { return &rawMessage{b: b} }

// ClientCodec is ServerOption's codec for clients: *RawMessage passes
// through as bytes, everything else is standard protobuf.
func ClientCodec() grpc.CallOption {
	return grpc.ForceCodecV2(rawCodec{base: encoding.GetCodecV2("proto")})
}

// rawCodec passes rawMessage through untouched and delegates every other
// type (Envoy ALS, health) to the standard proto codec.
type rawCodec struct{ base encoding.CodecV2 }

func (c rawCodec) Marshal(v any) (mem.BufferSlice, error) {
	if r, ok := v.(*rawMessage); ok {
		return mem.BufferSlice{mem.SliceBuffer(r.b)}, nil
	}
	return c.base.Marshal(v)
}

func (c rawCodec) Unmarshal(data mem.BufferSlice, v any) error {
	if r, ok := v.(*rawMessage); ok {
		if !r.pooled {
			r.b = data.Materialize()
			return nil
		}
		// One piece is kept as it is, several are copied into one
		// buffer of the pool: either way no fresh memory per request.
		r.buf = data.MaterializeToBuffer(requestBuffers)
		r.b = r.buf.ReadOnlyData()
		return nil
	}
	return c.base.Unmarshal(data, v)
}

func (rawCodec) Name() string { return "proto" }

// requestBuffers holds the buffers requests are gathered into. gRPC's own
// pools clear a buffer before handing it out, which a buffer about to be
// overwritten whole does not need (it was 1.5 % of ingest's CPU).
var requestBuffers = &dirtyPool{}

// dirtyPool is a mem.BufferPool whose buffers come with what they held
// before: for callers that write every byte they ask for before reading it.
// Buffers have a power-of-two capacity from 4 KiB to 64 MiB; larger ones
// are not kept.
type dirtyPool struct {
	tiers [maxDirtyTier + 1]sync.Pool // by log2 of capacity
}

const minDirtyTier, maxDirtyTier = 12, 26

func (p *dirtyPool) Get(n int) *[]byte {
	t := max(minDirtyTier, bits.Len(uint(max(n, 1)-1)))
	if t > maxDirtyTier {
		b := make([]byte, n)
		return &b
	}
	if b, ok := p.tiers[t].Get().(*[]byte); ok {
		*b = (*b)[:n]
		return b
	}
	b := make([]byte, n, 1<<t)
	return &b
}

func (p *dirtyPool) Put(b *[]byte) {
	c := cap(*b)
	t := bits.Len(uint(c)) - 1
	if c != 1<<t || t < minDirtyTier || t > maxDirtyTier {
		return
	}
	p.tiers[t].Put(b)
}

// ServerOption makes a grpc.Server able to host the OTLP services
// registered by RegisterGRPC. Pass it to grpc.NewServer.
func ServerOption() grpc.ServerOption {
	return grpc.ForceServerCodecV2(rawCodec{base: encoding.GetCodecV2("proto")})
}

// RegisterGRPC registers the OTLP trace, metrics and logs services.
func (r *Receiver) RegisterGRPC(s *grpc.Server) {
	s.RegisterService(serviceDesc("opentelemetry.proto.collector.trace.v1.TraceService", r.exportTraces), r)
	s.RegisterService(serviceDesc("opentelemetry.proto.collector.metrics.v1.MetricsService", r.exportMetrics), r)
	s.RegisterService(serviceDesc("opentelemetry.proto.collector.logs.v1.LogsService", r.exportLogs), r)
}

type exportFunc func(ctx context.Context, body []byte) ([]byte, error)

func serviceDesc(name string, export exportFunc) *grpc.ServiceDesc {
	return &grpc.ServiceDesc{
		ServiceName: name,
		HandlerType: (*any)(nil),
		Methods: []grpc.MethodDesc{{
			MethodName: "Export",
			Handler: func(_ any, ctx context.Context, dec func(any) error, interceptor grpc.UnaryServerInterceptor) (any, error) {
				in := &rawMessage{pooled: true}
				if err := dec(in); err != nil {
					return nil, err
				}
				defer in.release()
				call := func(ctx context.Context, req any) (any, error) {
					out, err := export(ctx, req.(*rawMessage).b)
					if err != nil {
						return nil, err
					}
					return &rawMessage{b: out}, nil
				}
				if interceptor == nil {
					return call(ctx, in)
				}
				return interceptor(ctx, in, &grpc.UnaryServerInfo{FullMethod: "/" + name + "/Export"}, call)
			},
		}},
		Metadata: "opentelemetry/proto/collector",
	}
}

func (r *Receiver) grpcError(err error) error {
	var bad *ingest.InputError
	switch {
	case errors.As(err, &bad):
		return status.Error(codes.InvalidArgument, bad.Error())
	case errors.Is(err, ingest.ErrBackpressure):
		return status.Error(codes.Unavailable, err.Error())
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return status.FromContextError(err).Err()
	}
	r.cfg.Logger.Error("otlp export failed", "err", err)
	return status.Error(codes.Unavailable, "store temporarily unavailable: "+err.Error())
}

func (r *Receiver) badProtobuf(signal string, err error) error {
	r.metrics.Rejected.WithLabelValues("otlp_grpc", "bad_protobuf").Inc()
	return r.grpcError(ingest.BadInput("bad_protobuf", "", "decode %s export request: %v", signal, err))
}

func (r *Receiver) exportTraces(ctx context.Context, body []byte) ([]byte, error) {
	req := ptraceotlp.NewExportRequest()
	if err := req.UnmarshalProto(body); err != nil {
		return nil, r.badProtobuf("trace", err)
	}
	res, err := r.Traces(ctx, "otlp_grpc", req.Traces())
	releaseTraces(req.Traces())
	if err != nil {
		return nil, r.grpcError(err)
	}
	resp := ptraceotlp.NewExportResponse()
	if res.rejected > 0 {
		resp.PartialSuccess().SetRejectedSpans(res.rejected)
		resp.PartialSuccess().SetErrorMessage(res.message)
	}
	return resp.MarshalProto()
}

func (r *Receiver) exportMetrics(ctx context.Context, body []byte) ([]byte, error) {
	req := pmetricotlp.NewExportRequest()
	if err := req.UnmarshalProto(body); err != nil {
		return nil, r.badProtobuf("metrics", err)
	}
	res, err := r.Metrics(ctx, "otlp_grpc", req.Metrics())
	releaseMetrics(req.Metrics())
	if err != nil {
		return nil, r.grpcError(err)
	}
	resp := pmetricotlp.NewExportResponse()
	if res.rejected > 0 {
		resp.PartialSuccess().SetRejectedDataPoints(res.rejected)
		resp.PartialSuccess().SetErrorMessage(res.message)
	}
	return resp.MarshalProto()
}

func (r *Receiver) exportLogs(ctx context.Context, body []byte) ([]byte, error) {
	req := plogotlp.NewExportRequest()
	if err := req.UnmarshalProto(body); err != nil {
		return nil, r.badProtobuf("logs", err)
	}
	res, err := r.Logs(ctx, "otlp_grpc", req.Logs())
	releaseLogs(req.Logs())
	if err != nil {
		return nil, r.grpcError(err)
	}
	resp := plogotlp.NewExportResponse()
	if res.rejected > 0 {
		resp.PartialSuccess().SetRejectedLogRecords(res.rejected)
		resp.PartialSuccess().SetErrorMessage(res.message)
	}
	return resp.MarshalProto()
}
