package graph

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/meshscope/meshscope/schema"
)

var update = flag.Bool("update", false, "rewrite the golden expected files")

// A golden case is testdata/golden/NAME.input.json, fed to a builder step by
// step on a fake clock, beside NAME.expected.json: the edges of the live
// graph once every wait is over, at each granularity, and the builder's
// span counters.
type goldenInput struct {
	Config struct {
		SpanWaitMs      int64    `json:"span_wait_ms"`
		MaxPendingSpans int      `json:"max_pending_spans"`
		Preference      []string `json:"provenance_preference"`
	} `json:"config"`
	Steps []goldenStep `json:"steps"`
}

type goldenStep struct {
	AtMs         int64        `json:"at_ms"`
	Spans        []goldenSpan `json:"spans"`
	Observations []goldenObs  `json:"observations"`
}

type goldenSpan struct {
	Trace, Span, Parent string
	Kind                string            `json:"kind"`
	Service             string            `json:"service"`
	Namespace           string            `json:"namespace"`
	Workload            string            `json:"workload"`
	Version             string            `json:"version"`
	StartMs             int64             `json:"start_ms"`
	DurationMs          float64           `json:"duration_ms"`
	Status              string            `json:"status"`
	HTTPStatus          uint16            `json:"http_status"`
	HTTPMethod          string            `json:"http_method"`
	PeerService         string            `json:"peer_service"`
	ServerAddress       string            `json:"server_address"`
	DBSystem            string            `json:"db_system"`
	DBName              string            `json:"db_name"`
	MessagingSystem     string            `json:"messaging_system"`
	MessagingDest       string            `json:"messaging_destination"`
	Attrs               map[string]string `json:"attrs"`
	Resource            map[string]string `json:"resource"`
	Links               []struct{ Trace, Span string }
}

type goldenParty struct {
	Kind      string `json:"kind"`
	Cluster   string `json:"cluster"`
	Namespace string `json:"ns"`
	Name      string `json:"name"`
	Workload  string `json:"workload"`
	Version   string `json:"version"`
}

type goldenObs struct {
	TimeMs     int64       `json:"time_ms"`
	Source     goldenParty `json:"source"`
	Dest       goldenParty `json:"destination"`
	Protocol   string      `json:"protocol"`
	Count      uint64      `json:"count"`
	Errors     uint64      `json:"errors"`
	DurationMs float64     `json:"duration_ms"`
	Provenance string      `json:"provenance"`
	Reporter   string      `json:"reporter"`
	MTLS       uint64      `json:"mtls"`
}

type goldenEdge struct {
	ID         string   `json:"id"`
	Protocol   string   `json:"protocol"`
	Requests   uint64   `json:"requests"`
	Errors     uint64   `json:"errors"`
	MeanMs     float64  `json:"mean_ms"`
	MTLSShare  float64  `json:"mtls_share,omitempty"`
	Provenance []string `json:"provenance"`
	Reporters  []string `json:"reporters"`
}

type goldenExpected struct {
	Edges    map[Granularity][]goldenEdge `json:"edges"`
	Counters map[string]float64           `json:"counters"`
}

func TestGolden(t *testing.T) {
	inputs, err := filepath.Glob(filepath.Join("testdata", "golden", "*.input.json"))
	require.NoError(t, err)
	require.NotEmpty(t, inputs)
	for _, in := range inputs {
		name := strings.TrimSuffix(filepath.Base(in), ".input.json")
		t.Run(name, func(t *testing.T) {
			raw, err := os.ReadFile(in)
			require.NoError(t, err)
			var input goldenInput
			require.NoError(t, json.Unmarshal(raw, &input), "parse %s", in)
			got := runGolden(t, &input)
			out, err := json.MarshalIndent(got, "", "  ")
			require.NoError(t, err)
			path := filepath.Join("testdata", "golden", name+".expected.json")
			if *update {
				require.NoError(t, os.WriteFile(path, append(out, '\n'), 0o644))
			}
			want, err := os.ReadFile(path)
			require.NoError(t, err, "run go test ./graph -run TestGolden -update to create it")
			require.JSONEq(t, string(want), string(out))
		})
	}
}

func runGolden(t *testing.T, in *goldenInput) goldenExpected {
	t.Helper()
	clk := newFakeClock(t0)
	reg := prometheus.NewRegistry()
	cfg := BuilderConfig{Now: clk.Now, Registerer: reg, MaxPendingSpans: in.Config.MaxPendingSpans}
	if in.Config.SpanWaitMs > 0 {
		cfg.SpanWait = time.Duration(in.Config.SpanWaitMs) * time.Millisecond
	}
	for _, p := range in.Config.Preference {
		cfg.ProvenancePreference = append(cfg.ProvenancePreference, parseProvenance(t, p))
	}
	b := NewBuilder(cfg)
	for _, st := range in.Steps {
		clk.Set(t0.Add(time.Duration(st.AtMs) * time.Millisecond))
		b.Advance(clk.Now())
		if len(st.Spans) > 0 {
			rows := make([]schema.SpanRow, len(st.Spans))
			for i := range st.Spans {
				rows[i] = st.Spans[i].row(t)
			}
			b.ObserveSpans(rows)
		}
		if len(st.Observations) > 0 {
			obs := make([]Observation, len(st.Observations))
			for i := range st.Observations {
				obs[i] = st.Observations[i].observation(t)
			}
			b.Observe(obs)
		}
	}
	b.Advance(clk.Add(b.cfg.SpanWait + time.Second))
	out := goldenExpected{Edges: map[Granularity][]goldenEdge{}, Counters: map[string]float64{}}
	for _, g := range Granularities {
		tick := b.Latest(g)
		require.NotNil(t, tick)
		edges := []goldenEdge{}
		for _, e := range tick.Graph.Edges {
			edges = append(edges, goldenEdge{ID: e.ID, Protocol: e.Protocol, Requests: e.Requests, Errors: e.Errors,
				MeanMs: e.MeanMs, MTLSShare: e.MTLSShare, Provenance: e.Provenance, Reporters: e.Reporters})
		}
		out.Edges[g] = edges
	}
	counters := map[string]prometheus.Collector{
		"spans":                     b.m.spans,
		"calls_paired":              b.m.callsPaired,
		"calls_unpaired_client":     b.m.callsUnpairedClient,
		"calls_root_server":         b.m.callsRootServer,
		"calls_unpaired_consumer":   b.m.callsUnpairedConsumer,
		"span_store_full":           b.m.spanStoreFull,
		"span_expired_client":       b.m.expiredClient,
		"span_expired_server":       b.m.expiredServer,
		"observations_dropped_late": b.m.droppedLate,
		"span_store_pending":        b.m.spanPending,
	}
	for name, c := range counters {
		if v := testutil.ToFloat64(c); v != 0 {
			out.Counters[name] = v
		}
	}
	return out
}

func goldenID(s string) []byte { return []byte(s) }

func (s *goldenSpan) row(t *testing.T) schema.SpanRow {
	kinds := map[string]uint8{"client": schema.SpanKindClient, "server": schema.SpanKindServer,
		"producer": schema.SpanKindProducer, "consumer": schema.SpanKindConsumer, "internal": schema.SpanKindInternal}
	kind, ok := kinds[s.Kind]
	require.True(t, ok, "span kind %q", s.Kind)
	r := schema.SpanRow{
		StartUnixNano: uint64(t0.Add(time.Duration(s.StartMs) * time.Millisecond).UnixNano()),
		DurationNanos: uint64(s.DurationMs * 1e6),
		Kind:          kind, Name: s.Kind + " " + s.Service,
		ServiceName: s.Service, ServiceNamespace: s.Namespace, Workload: s.Workload, ServiceVersion: s.Version,
		HTTPMethod: s.HTTPMethod, HTTPStatusCode: s.HTTPStatus, GRPCStatusCode: -1,
		PeerService: s.PeerService, ServerAddress: s.ServerAddress, DBSystem: s.DBSystem, DBName: s.DBName,
		MessagingSystem: s.MessagingSystem, MessagingDestination: s.MessagingDest,
	}
	copy(r.TraceID[:], goldenID(s.Trace))
	copy(r.SpanID[:], goldenID(s.Span))
	copy(r.ParentSpanID[:], goldenID(s.Parent))
	switch s.Status {
	case "error":
		r.StatusCode = schema.StatusError
	case "ok":
		r.StatusCode = schema.StatusOK
	}
	for _, k := range sortedKeys(s.Attrs) {
		r.AttrKeys, r.AttrValues = append(r.AttrKeys, k), append(r.AttrValues, s.Attrs[k])
	}
	for _, k := range sortedKeys(s.Resource) {
		r.ResourceKeys, r.ResourceValues = append(r.ResourceKeys, k), append(r.ResourceValues, s.Resource[k])
	}
	for _, l := range s.Links {
		var tr schema.TraceID
		var sp schema.SpanID
		copy(tr[:], goldenID(l.Trace))
		copy(sp[:], goldenID(l.Span))
		r.LinkTraceIDs, r.LinkSpanIDs = append(r.LinkTraceIDs, tr), append(r.LinkSpanIDs, sp)
	}
	return r
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	for i := 1; i < len(keys); i++ {
		for j := i; j > 0 && keys[j] < keys[j-1]; j-- {
			keys[j], keys[j-1] = keys[j-1], keys[j]
		}
	}
	return keys
}

func (p goldenParty) party() Party {
	k := NodeKind(p.Kind)
	if k == "" {
		k = KindService
	}
	return Party{Kind: k, Cluster: p.Cluster, Namespace: p.Namespace, Name: p.Name, Workload: p.Workload, Version: p.Version}
}

func parseProvenance(t *testing.T, s string) Provenance {
	switch s {
	case "span":
		return FromSpan
	case "accesslog":
		return FromAccessLog
	case "metric":
		return FromMetric
	}
	t.Fatalf("provenance %q", s)
	return 0
}

func (o *goldenObs) observation(t *testing.T) Observation {
	protos := map[string]Protocol{"": ProtocolHTTP, "http": ProtocolHTTP, "grpc": ProtocolGRPC, "tcp": ProtocolTCP, "unknown": ProtocolUnknown}
	reps := map[string]Reporter{"": ReporterUnknown, "source": ReporterSource, "destination": ReporterDestination}
	count := o.Count
	if count == 0 {
		count = 1
	}
	return Observation{
		TimeUnixNano: t0.Add(time.Duration(o.TimeMs) * time.Millisecond).UnixNano(),
		Source:       o.Source.party(), Destination: o.Dest.party(), Protocol: protos[o.Protocol],
		Count: count, Errors: o.Errors, DurationNanos: int64(o.DurationMs * 1e6),
		Provenance: parseProvenance(t, o.Provenance), Reporter: reps[o.Reporter], MTLS: o.MTLS,
	}
}
