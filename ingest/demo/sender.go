package demo

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
)

// sender is the output that sends batches to meshscope's endpoints. The
// generator never waits for it: every channel has a bounded queue, and a
// batch that finds its queue full is dropped and counted. Workers send
// with retries (retry.go) and count what the server accepted.
type sender struct {
	cfg  Config
	base string           // HTTP base URL
	conn *grpc.ClientConn // OTLP
	dial []grpc.DialOption

	connMu   sync.Mutex
	alsConns []*grpc.ClientConn // by group of streamsPerConn sidecar loggers
	http     *http.Client
	enc      *alsEncoder
	cnt      *counters
	errs     *errLog
	ctx      context.Context // ends when the drain deadline passes
	cancel   context.CancelFunc

	alsQ   []chan alsJob
	traceQ chan traceJob
	httpQ  chan httpJob
	wg     sync.WaitGroup
}

type alsJob struct {
	pod     *Pod
	tcp     bool
	entries *[]byte
	n       int
}

// traceJob is an OTLP export of spans, log records or metric points.
type traceJob struct {
	req    *[]byte
	items  int
	signal signal
}

// signal is the kind of an OTLP export.
type signal uint8

const (
	signalSpans signal = iota
	signalLogs
	signalMetrics
)

type httpJob struct {
	channel string // "remote_write" or "text"
	url     string
	body    *[]byte
	n       int
}

const (
	alsWorkers = 4
	alsQueue   = 1024
	traceQueue = 64
	httpQueue  = 256
)

func newSender(cfg Config, base string, als *alsEncoder, cnt *counters) (*sender, error) {
	creds := insecure.NewCredentials()
	if cfg.GRPCTLS != nil {
		creds = credentials.NewTLS(cfg.GRPCTLS)
	}
	opts := []grpc.DialOption{grpc.WithTransportCredentials(creds)}
	if cfg.Token != "" {
		opts = append(opts, grpc.WithPerRPCCredentials(bearer(cfg.Token)))
	}
	conn, err := grpc.NewClient(cfg.ServerGRPC, opts...)
	if err != nil {
		return nil, fmt.Errorf("--server-grpc %s: %w", cfg.ServerGRPC, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &sender{
		cfg: cfg, base: base, conn: conn, dial: opts, enc: als, cnt: cnt,
		http: &http.Client{Timeout: 30 * time.Second, Transport: httpTransport(cfg)},
		errs: newErrLog(cfg.Logger, cfg.ProgressInterval),
		ctx:  ctx, cancel: cancel,
		traceQ: make(chan traceJob, traceQueue), httpQ: make(chan httpJob, httpQueue),
	}
	for range alsWorkers {
		q := make(chan alsJob, alsQueue)
		s.alsQ = append(s.alsQ, q)
		s.wg.Add(1)
		go s.alsWorker(q)
	}
	s.wg.Add(3)
	go s.traceWorker()
	go s.httpWorker()
	go s.httpWorker()
	return s, nil
}

// close stops accepting batches, lets the workers send what is queued for
// up to drain, then stops them and closes the connection.
func (s *sender) close(drain time.Duration) {
	for _, q := range s.alsQ {
		close(q)
	}
	close(s.traceQ)
	close(s.httpQ)
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(drain):
		s.cancel()
		<-done
	}
	s.cancel()
	s.conn.Close()
	for _, c := range s.alsConns {
		if c != nil {
			c.Close()
		}
	}
	s.http.CloseIdleConnections()
}

// streamsPerConn is how many sidecar loggers share a connection. Real
// sidecars have a connection each; servers and proxies limit concurrent
// streams per connection (HTTP/2 servers often to 100-250), so the long-lived
// streams are spread over connections of at most this many.
const streamsPerConn = 100

// alsConn returns the connection that carries stream key.
func (s *sender) alsConn(key int) (*grpc.ClientConn, error) {
	i := key / streamsPerConn
	s.connMu.Lock()
	defer s.connMu.Unlock()
	for len(s.alsConns) <= i {
		s.alsConns = append(s.alsConns, nil)
	}
	if s.alsConns[i] == nil {
		c, err := grpc.NewClient(s.cfg.ServerGRPC, s.dial...)
		if err != nil {
			return nil, err
		}
		s.alsConns[i] = c
	}
	return s.alsConns[i], nil
}

func (s *sender) drop(b *[]byte) {
	s.cnt.dropped.Add(1)
	if b != nil {
		putBuf(b)
	}
}

func (s *sender) als(pod *Pod, tcp bool, entries *[]byte, n int) {
	select {
	case s.alsQ[pod.Index%len(s.alsQ)] <- alsJob{pod, tcp, entries, n}:
	default:
		s.drop(entries)
	}
}

func (s *sender) traces(req *[]byte, spans int) {
	select {
	case s.traceQ <- traceJob{req: req, items: spans}:
	default:
		s.drop(req)
	}
}

func (s *sender) logs(req *[]byte, records int) {
	select {
	case s.traceQ <- traceJob{req: req, items: records, signal: signalLogs}:
	default:
		s.drop(req)
	}
}

func (s *sender) otlpMetrics(req *[]byte, points int) {
	select {
	case s.traceQ <- traceJob{req: req, items: points, signal: signalMetrics}:
	default:
		s.drop(req)
	}
}

func (s *sender) remoteWrite(body *[]byte, samples int) {
	s.enqueueHTTP(httpJob{channel: "remote_write", url: s.base + "/api/v1/write", body: body, n: samples})
}

// lines posts a workload's text lines.
func (s *sender) lines(w *Workload, body *[]byte, n int) {
	q := url.Values{"format": {"istio"}, "emitter": {w.Service.Namespace + "/" + w.Name}, "gateway": {"false"}}
	s.enqueueHTTP(httpJob{channel: "text", url: s.base + "/api/v1/accesslogs?" + q.Encode(), body: body, n: n})
}

func (s *sender) enqueueHTTP(j httpJob) {
	select {
	case s.httpQ <- j:
	default:
		s.drop(j.body)
	}
}

// httpTransport is the transport for the HTTP listener, with cfg.HTTPTLS.
func httpTransport(cfg Config) *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	if cfg.HTTPTLS != nil {
		t.TLSClientConfig = cfg.HTTPTLS.Clone()
	}
	return t
}
