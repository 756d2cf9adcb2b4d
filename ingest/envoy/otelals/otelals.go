// Package otelals recognises Envoy access logs carried as OpenTelemetry log
// records (Envoy's envoy.access_loggers.open_telemetry, Istio's
// envoyOtelAls provider) among the OTLP logs the OTLP receiver gets, and
// turns them into request rows and observations (package envoy) instead of
// log rows. Its AccessLog method is an otlp.AccessLogFunc. It never imports
// query/.
package otelals

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"unsafe"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/meshscope/meshscope/graph"
	"github.com/meshscope/meshscope/ingest/envoy"
	"github.com/meshscope/meshscope/ingest/envoy/accesslog"
	"github.com/meshscope/meshscope/schema"
)

// Envoy's OpenTelemetry access logger sets these resource attributes on
// every export (unless disable_builtin_labels): log_name, zone_name,
// cluster_name (the node's service cluster, "APP.NAMESPACE" for Istio
// sidecars) and node_name (the node id, "sidecar~IP~POD.NAMESPACE~DOMAIN"
// for Istio). The record body is the formatted line (Istio: its default
// text format, or its JSON keys as a map); filter state objects it was
// told to log (Istio: downstream_peer, upstream_peer) are JSON string
// attributes.
const (
	attrLogName  = "log_name"
	attrNodeName = "node_name"
	attrCluster  = "cluster_name"
	// IstioLogName is the log_name of Istio's envoyOtelAls provider.
	IstioLogName = "otel_envoy_accesslog"
)

// Config tunes a Receiver.
type Config struct {
	// Formats are the parsers tried on text bodies, in order (preset
	// names or Envoy format strings, see accesslog.ParserFor). Default:
	// Istio's text formats, then Envoy's default.
	Formats []string
	// MaxEmitters bounds the proxies remembered by node. Default 10,000.
	MaxEmitters int
}

// Validate reports a setting out of range, naming its key.
func (c *Config) Validate() error {
	for i, f := range c.Formats {
		if _, err := accesslog.ParserFor(f); err != nil {
			return fmt.Errorf("formats[%d]: %w", i, err)
		}
	}
	if c.MaxEmitters < 0 {
		return fmt.Errorf("max_emitters %d: must not be negative", c.MaxEmitters)
	}
	return nil
}

// Receiver turns Envoy's OpenTelemetry access log records into request
// rows and observations. It is safe for concurrent use.
type Receiver struct {
	res     *envoy.Resolver
	text    []accesslog.LineParser
	json    *accesslog.JSONParser
	peers   *envoy.PeerCache
	maxEm   int
	mu      sync.Mutex
	emitted map[string]*envoy.Emitter
	states  sync.Pool
}

type state struct {
	rec   envoy.Record
	batch envoy.Batch
	key   []byte
}

// New returns a receiver resolving with res (share it with the other
// access log receivers).
func New(res *envoy.Resolver, cfg Config) (*Receiver, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if len(cfg.Formats) == 0 {
		cfg.Formats = []string{accesslog.PresetIstio, accesslog.PresetEnvoyDetails}
	}
	if cfg.MaxEmitters <= 0 {
		cfg.MaxEmitters = 10_000
	}
	r := &Receiver{res: res, json: accesslog.NewJSONParser(), peers: envoy.NewPeerCache(4096),
		maxEm: cfg.MaxEmitters, emitted: make(map[string]*envoy.Emitter)}
	for _, f := range cfg.Formats {
		p, _ := accesslog.ParserFor(f) // checked by Validate
		r.text = append(r.text, p)
	}
	r.states.New = func() any { return new(state) }
	return r, nil
}

// Recognise reports whether a log record is an Envoy access log: the
// resource carries Envoy's log_name and node_name labels, or the record or
// resource the log_name of Istio's provider.
func Recognise(res pcommon.Resource, lr plog.LogRecord) (logName string, ok bool) {
	ra := res.Attributes()
	name, hasName := ra.Get(attrLogName)
	if !hasName {
		if v, ok := lr.Attributes().Get(attrLogName); ok && v.AsString() == IstioLogName {
			return IstioLogName, true
		}
		return "", false
	}
	if _, hasNode := ra.Get(attrNodeName); hasNode || name.AsString() == IstioLogName {
		return name.AsString(), true
	}
	return "", false
}

// AccessLog implements otlp.AccessLogFunc: an Envoy access log record
// becomes a request row in b and, when counted, an observation in obs.
// Other records are left alone (false).
func (r *Receiver) AccessLog(res pcommon.Resource, _ pcommon.InstrumentationScope, lr plog.LogRecord,
	b *schema.Batch, obs *[]graph.Observation) (bool, error) {
	logName, ok := Recognise(res, lr)
	if !ok {
		return false, nil
	}
	st := r.states.Get().(*state)
	defer r.putState(st)
	rec := &st.rec
	rec.Reset()
	if err := r.parseBody(lr.Body(), &rec.Entry); err != nil {
		return true, err
	}
	rec.LogName = logName
	rec.Emitter = r.emitter(res, st)
	if rec.Entry.StartTime == 0 {
		rec.Entry.StartTime = int64(lr.Timestamp())
	}
	if id := lr.TraceID(); !id.IsEmpty() {
		rec.TraceID = schema.TraceID(id)
	}
	for k, v := range lr.Attributes().All() {
		s := v.AsString()
		switch k {
		case "downstream_peer":
			rec.DownstreamPeer, _ = r.peers.String(s)
			continue
		case "upstream_peer":
			rec.UpstreamPeer, _ = r.peers.String(s)
			continue
		case "connection_security_policy":
			rec.SecurityPolicy = s
		case attrLogName:
			continue
		}
		rec.AttrKeys, rec.AttrValues = append(rec.AttrKeys, k), append(rec.AttrValues, s)
	}
	r.res.Add(&st.batch, rec)
	r.res.Settle(&st.batch)
	b.Requests = append(b.Requests, st.batch.Rows.Requests...)
	*obs = append(*obs, st.batch.Obs...)
	return true, nil
}

func (r *Receiver) putState(st *state) {
	st.batch.Reset()
	st.rec.Reset()
	r.states.Put(st)
}

var errEmptyBody = errors.New("envoy access log record: empty body")

// parseBody parses the record's body: a text line in one of the
// configured formats, a JSON line, or a map of Istio's JSON keys.
func (r *Receiver) parseBody(body pcommon.Value, e *accesslog.Entry) error {
	var s string
	switch body.Type() {
	case pcommon.ValueTypeStr:
		s = body.Str()
	case pcommon.ValueTypeBytes:
		s = string(body.Bytes().AsRaw())
	case pcommon.ValueTypeMap:
		s = body.AsString() // JSON
	default:
		return fmt.Errorf("envoy access log record: body of type %s, want a string", body.Type())
	}
	s = strings.TrimSpace(s)
	if s == "" {
		return errEmptyBody
	}
	// The parsers never modify the line; the body outlives the call.
	line := unsafe.Slice(unsafe.StringData(s), len(s))
	if s[0] == '{' {
		if err := r.json.Parse(line, e); err != nil {
			return fmt.Errorf("envoy access log body: %w", err)
		}
		return nil
	}
	var first error
	for _, p := range r.text {
		err := p.Parse(line, e)
		if err == nil {
			return nil
		}
		if first == nil {
			first = err
		}
	}
	return fmt.Errorf("envoy access log body: %w", first)
}

// emitter is the proxy that sent the record, remembered by its
// identifying resource attributes.
func (r *Receiver) emitter(res pcommon.Resource, st *state) *envoy.Emitter {
	ra := res.Attributes()
	get := func(k string) string {
		if v, ok := ra.Get(k); ok {
			return v.AsString()
		}
		return ""
	}
	info := envoy.NodeInfo{
		ID:           get(attrNodeName),
		Cluster:      get(attrCluster),
		Namespace:    get("k8s.namespace.name"),
		PodName:      get("k8s.pod.name"),
		WorkloadName: firstOf(get("k8s.deployment.name"), get("k8s.statefulset.name"), get("k8s.daemonset.name")),
	}
	app, ver := get("service.name"), get("service.version")
	key := append(st.key[:0], info.ID...)
	for _, s := range []string{info.Cluster, info.Namespace, info.PodName, info.WorkloadName, app, ver} {
		key = append(append(key, 0), s...)
	}
	st.key = key
	r.mu.Lock()
	em, ok := r.emitted[string(key)]
	r.mu.Unlock()
	if ok {
		return em
	}
	if info.ID == "" && info.PodName == "" && info.WorkloadName == "" && app == "" {
		return nil
	}
	if !strings.Contains(info.ID, "~") && info.Cluster != "" {
		// Istio's service cluster "APP.NAMESPACE" when the node id says
		// nothing.
		if a, ns, ok := strings.Cut(info.Cluster, "."); ok && info.Namespace == "" && info.WorkloadName == "" {
			info.Cluster, info.Namespace = a, ns
		}
	}
	if app != "" || ver != "" {
		info.Labels = map[string]string{"app": app, "version": ver}
	}
	em = envoy.NodeEmitter(info)
	r.res.LearnEmitter(em)
	r.mu.Lock()
	if len(r.emitted) >= r.maxEm {
		clear(r.emitted)
	}
	r.emitted[string(key)] = em
	r.mu.Unlock()
	return em
}

func firstOf(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}
