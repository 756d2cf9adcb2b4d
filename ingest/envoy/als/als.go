// Package als receives Envoy access logs over the Access Log Service
// (envoy.service.accesslog.v3.AccessLogService/StreamAccessLogs): HTTP and
// TCP entries from sidecars, gateways and plain Envoy, with Istio's node
// metadata and peer filter state. Each received message is resolved into
// request rows and observations (package envoy) and appended as one batch;
// a bad entry is counted and skipped, a full write-ahead log ends the
// stream with UNAVAILABLE so that Envoy reconnects. It never imports
// query/.
package als

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"

	svcal "github.com/envoyproxy/go-control-plane/envoy/service/accesslog/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/meshscope/meshscope/ingest"
	"github.com/meshscope/meshscope/ingest/envoy"
)

// receiver is the metrics label of this receiver.
const receiver = "als"

// Config tunes the service.
type Config struct {
	// PeerCacheSize bounds the decoded peer metadata each stream
	// remembers. Default 1024.
	PeerCacheSize int
	// Logger may be nil.
	Logger *slog.Logger
}

// Validate reports a setting out of range, naming its key.
func (c *Config) Validate() error {
	if c.PeerCacheSize < 0 {
		return fmt.Errorf("peer_cache_size %d: must not be negative", c.PeerCacheSize)
	}
	return nil
}

// Service is the Access Log Service. It is safe for concurrent use by any
// number of streams.
type Service struct {
	svcal.UnimplementedAccessLogServiceServer

	res     *envoy.Resolver
	app     ingest.Appender
	metrics *ingest.Metrics
	cfg     Config
	batches sync.Pool
}

// NewService returns the service; res resolves the entries of every
// stream (share it with the other access log receivers), app stores them.
func NewService(res *envoy.Resolver, app ingest.Appender, metrics *ingest.Metrics, cfg Config) *Service {
	if cfg.PeerCacheSize <= 0 {
		cfg.PeerCacheSize = 1024
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Service{res: res, app: app, metrics: metrics, cfg: cfg}
	s.batches.New = func() any { return new(envoy.Batch) }
	return s
}

// Register registers the service on s. Its handler reads each message's
// entries one by one, so that an entry protobuf refuses (such as a string
// that is not UTF-8) is skipped alone rather than failing the message and
// the stream. Registering with svcal.RegisterAccessLogServiceServer works
// too, with the generated decoding of whole messages.
func (s *Service) Register(g *grpc.Server) {
	desc := svcal.AccessLogService_ServiceDesc
	desc.Streams = []grpc.StreamDesc{{
		StreamName:    desc.Streams[0].StreamName,
		ClientStreams: true,
		Handler: func(srv any, stream grpc.ServerStream) error {
			return srv.(*Service).serveRaw(stream)
		},
	}}
	g.RegisterService(&desc, s)
}

// StreamAccessLogs implements svcal.AccessLogServiceServer.
func (s *Service) StreamAccessLogs(stream svcal.AccessLogService_StreamAccessLogsServer) error {
	st := s.newStream()
	defer s.endStream(st)
	ctx := stream.Context()
	for {
		msg, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return stream.SendAndClose(&svcal.StreamAccessLogsResponse{})
		}
		if err != nil {
			return err
		}
		if id := msg.GetIdentifier(); id != nil {
			st.identify(id)
		}
		for _, le := range msg.GetHttpLogs().GetLogEntry() {
			st.addHTTP(le)
		}
		for _, le := range msg.GetTcpLogs().GetLogEntry() {
			st.addTCP(le)
		}
		if err := st.flush(ctx); err != nil {
			return err
		}
	}
}

// serveRaw is StreamAccessLogs reading messages as bytes.
func (s *Service) serveRaw(stream grpc.ServerStream) error {
	st := s.newStream()
	defer s.endStream(st)
	ctx := stream.Context()
	var raw emptypb.Empty // every field lands in its unknown fields
	for {
		raw.Reset()
		err := stream.RecvMsg(&raw)
		if errors.Is(err, io.EOF) {
			return stream.SendMsg(&svcal.StreamAccessLogsResponse{})
		}
		if err != nil {
			return err
		}
		st.addMessage(raw.ProtoReflect().GetUnknown())
		if err := st.flush(ctx); err != nil {
			return err
		}
	}
}

func (s *Service) newStream() *stream {
	b := s.batches.Get().(*envoy.Batch)
	b.Reset()
	return &stream{s: s, batch: b, peers: envoy.NewPeerCache(s.cfg.PeerCacheSize)}
}

func (s *Service) endStream(st *stream) {
	if st.batch.Len() < 1<<14 {
		st.batch.Reset()
		s.batches.Put(st.batch)
	}
}

// flush settles and appends the entries of one message.
func (st *stream) flush(ctx context.Context) error {
	s, b := st.s, st.batch
	defer b.Reset()
	s.res.Settle(b)
	if b.Len() == 0 && len(b.Obs) == 0 {
		return nil
	}
	n := b.Len()
	if err := s.app.Append(ctx, &b.Rows, b.Obs); err != nil {
		if errors.Is(err, ingest.ErrBackpressure) {
			s.metrics.Rejected.WithLabelValues(receiver, "backpressure").Add(float64(n))
			return status.Error(codes.Unavailable, err.Error())
		}
		if ctx.Err() != nil {
			return status.FromContextError(ctx.Err()).Err()
		}
		s.metrics.Rejected.WithLabelValues(receiver, "internal").Add(float64(n))
		s.cfg.Logger.Error("als append failed", "err", err)
		return status.Error(codes.Unavailable, "store access logs: "+err.Error())
	}
	if n > 0 {
		s.metrics.Accepted.WithLabelValues(receiver, "requests").Add(float64(n))
	}
	return nil
}
