package deploy_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"
	corev1 "k8s.io/api/core/v1"

	"github.com/meshscope/meshscope/ingest/envoy/accesslog"
	"github.com/meshscope/meshscope/query"
)

// decodeYAML decodes every document of a file into a new T, rejecting keys
// that T does not declare: a misspelled key fails here, not in the cluster.
func decodeYAML[T any](t *testing.T, path string) []T {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	var out []T
	for {
		var v T
		err := dec.Decode(&v)
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err, path)
		out = append(out, v)
	}
	require.NotEmpty(t, out, path)
	return out
}

// Istio MeshConfig extension providers (the fields used here).
type alsProvider struct {
	Service string `yaml:"service"`
	Port    int    `yaml:"port"`
	LogName string `yaml:"logName"`
}

type otelALSProvider struct {
	alsProvider `yaml:",inline"`
	LogFormat   struct {
		Text string `yaml:"text"`
	} `yaml:"logFormat"`
}

type tracingProvider struct {
	Service string `yaml:"service"`
	Port    int    `yaml:"port"`
}

type extensionProvider struct {
	Name          string           `yaml:"name"`
	EnvoyHTTPAls  *alsProvider     `yaml:"envoyHttpAls"`
	EnvoyTCPAls   *alsProvider     `yaml:"envoyTcpAls"`
	EnvoyOtelAls  *otelALSProvider `yaml:"envoyOtelAls"`
	OpenTelemetry *tracingProvider `yaml:"opentelemetry"`
}

type meshConfig struct {
	ExtensionProviders []extensionProvider `yaml:"extensionProviders"`
}

type objectMeta struct {
	Name      string `yaml:"name"`
	Namespace string `yaml:"namespace"`
}

type istioOperator struct {
	APIVersion string     `yaml:"apiVersion"`
	Kind       string     `yaml:"kind"`
	Metadata   objectMeta `yaml:"metadata"`
	Spec       struct {
		MeshConfig meshConfig `yaml:"meshConfig"`
	} `yaml:"spec"`
}

type istiodValues struct {
	MeshConfig meshConfig `yaml:"meshConfig"`
}

type providerRef struct {
	Name string `yaml:"name"`
}

type telemetry struct {
	APIVersion string     `yaml:"apiVersion"`
	Kind       string     `yaml:"kind"`
	Metadata   objectMeta `yaml:"metadata"`
	Spec       struct {
		AccessLogging []struct {
			Providers []providerRef `yaml:"providers"`
			Match     *struct {
				Mode string `yaml:"mode"`
			} `yaml:"match"`
		} `yaml:"accessLogging"`
		Tracing []struct {
			Providers                []providerRef `yaml:"providers"`
			RandomSamplingPercentage *float64      `yaml:"randomSamplingPercentage"`
		} `yaml:"tracing"`
	} `yaml:"spec"`
}

// The Service that senders use, as deploy/kubernetes/base defines it.
const (
	meshscopeHost = "meshscope.meshscope.svc.cluster.local"
	meshscopeGRPC = 4317
)

func TestIstioMeshConfig(t *testing.T) {
	base := build(t, "kubernetes/base")
	svc := base.services["meshscope"]
	require.NotNil(t, svc)
	require.Equal(t, meshscopeHost, svc.Name+"."+svc.Namespace+".svc.cluster.local")
	require.True(t, slices.ContainsFunc(svc.Spec.Ports, func(p corev1.ServicePort) bool { return p.Port == meshscopeGRPC }))

	ops := decodeYAML[istioOperator](t, "istio/meshconfig.yaml")
	require.Len(t, ops, 1)
	op := ops[0]
	require.Equal(t, "install.istio.io/v1alpha1", op.APIVersion)
	require.Equal(t, "IstioOperator", op.Kind)
	require.Equal(t, "istio-system", op.Metadata.Namespace)
	providers := op.Spec.MeshConfig.ExtensionProviders

	values := decodeYAML[istiodValues](t, "istio/istiod-values.yaml")
	require.Len(t, values, 1)
	require.Equal(t, providers, values[0].MeshConfig.ExtensionProviders, "istiod-values.yaml and meshconfig.yaml define the same providers")

	byName := map[string]extensionProvider{}
	for _, p := range providers {
		byName[p.Name] = p
	}
	require.Len(t, byName, len(providers), "provider names are unique")
	cases := []struct {
		name, logName string
		get           func(extensionProvider) *alsProvider
	}{
		{"meshscope-als-http", "http_envoy_accesslog", func(p extensionProvider) *alsProvider { return p.EnvoyHTTPAls }},
		{"meshscope-als-tcp", "tcp_envoy_accesslog", func(p extensionProvider) *alsProvider { return p.EnvoyTCPAls }},
		{"meshscope-otel-als", "otel_envoy_accesslog", func(p extensionProvider) *alsProvider {
			if p.EnvoyOtelAls == nil {
				return nil
			}
			return &p.EnvoyOtelAls.alsProvider
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p, ok := byName[tc.name]
			require.True(t, ok)
			als := tc.get(p)
			require.NotNil(t, als, "provider %s of the expected type", tc.name)
			require.Equal(t, meshscopeHost, als.Service)
			require.Equal(t, meshscopeGRPC, als.Port)
			require.Equal(t, tc.logName, als.LogName)
		})
	}

	// The OpenTelemetry access logger's lines are in Istio's default format,
	// which meshscope's parser has built in.
	text := byName["meshscope-otel-als"].EnvoyOtelAls.LogFormat.Text
	require.Equal(t, strings.TrimSuffix(accesslog.FormatIstio, "\n"), text)
	_, err := accesslog.Compile(text)
	require.NoError(t, err)

	tracing := byName["meshscope-tracing"].OpenTelemetry
	require.NotNil(t, tracing)
	require.Equal(t, meshscopeHost, tracing.Service)
	require.Equal(t, meshscopeGRPC, tracing.Port)

	// Telemetry resources switch on providers that exist, never both access
	// log routes at once (each request would be stored twice).
	for _, tc := range []struct {
		file, namespace string
	}{
		{"istio/telemetry-mesh.yaml", "istio-system"},
		{"istio/telemetry-namespace.yaml", ""},
	} {
		t.Run(tc.file, func(t *testing.T) {
			for _, tel := range decodeYAML[telemetry](t, tc.file) {
				require.Equal(t, "telemetry.istio.io/v1", tel.APIVersion)
				require.Equal(t, "Telemetry", tel.Kind)
				require.NotEmpty(t, tel.Metadata.Name)
				require.NotEmpty(t, tel.Metadata.Namespace)
				if tc.namespace != "" {
					require.Equal(t, tc.namespace, tel.Metadata.Namespace, "mesh-wide Telemetry lives in the root namespace")
				}
				require.NotEmpty(t, tel.Spec.AccessLogging)
				for _, al := range tel.Spec.AccessLogging {
					var als, otel bool
					for _, ref := range al.Providers {
						p, ok := byName[ref.Name]
						require.True(t, ok, "provider %s is defined in meshconfig.yaml", ref.Name)
						als = als || p.EnvoyHTTPAls != nil || p.EnvoyTCPAls != nil
						otel = otel || p.EnvoyOtelAls != nil
					}
					require.False(t, als && otel, "%s/%s enables ALS and the OpenTelemetry access logger together", tel.Metadata.Namespace, tel.Metadata.Name)
					if al.Match != nil {
						require.Contains(t, []string{"CLIENT", "SERVER", "CLIENT_AND_SERVER"}, al.Match.Mode)
					}
				}
				for _, tr := range tel.Spec.Tracing {
					for _, ref := range tr.Providers {
						require.NotNil(t, byName[ref.Name].OpenTelemetry, "tracing provider %s", ref.Name)
					}
					require.NotNil(t, tr.RandomSamplingPercentage)
					require.True(t, *tr.RandomSamplingPercentage > 0 && *tr.RandomSamplingPercentage <= 100)
				}
			}
		})
	}
}

// Prometheus remote_write (the fields used here).
type relabelConfig struct {
	SourceLabels []string `yaml:"source_labels"`
	Regex        string   `yaml:"regex"`
	Action       string   `yaml:"action"`
}

type remoteWrite struct {
	URL                 string          `yaml:"url"`
	Name                string          `yaml:"name"`
	RemoteTimeout       string          `yaml:"remote_timeout"`
	WriteRelabelConfigs []relabelConfig `yaml:"write_relabel_configs"`
	QueueConfig         map[string]any  `yaml:"queue_config"`
	MetadataConfig      map[string]any  `yaml:"metadata_config"`
}

// keeps applies a keep rule on __name__ as Prometheus does: the regex is
// anchored at both ends.
func keeps(t *testing.T, rules []relabelConfig, name string) bool {
	t.Helper()
	for _, r := range rules {
		require.Equal(t, []string{"__name__"}, r.SourceLabels)
		require.Equal(t, "keep", r.Action)
		if !regexp.MustCompile("^(?:" + r.Regex + ")$").MatchString(name) {
			return false
		}
	}
	return true
}

func TestRemoteWriteSnippets(t *testing.T) {
	istio := []string{"istio_requests_total", "istio_request_duration_milliseconds_bucket", "istio_tcp_sent_bytes_total",
		"envoy_cluster_upstream_rq_total", "envoy_cluster_upstream_rq_time_bucket"}
	linkerd := []string{"request_total", "response_total", "response_latency_ms_bucket", "response_latency_ms_count",
		"tcp_open_total", "tcp_read_bytes_total", "tcp_write_bytes_total", "tcp_close_total"}
	other := []string{"node_cpu_seconds_total", "go_goroutines", "up", "http_request_total", "container_memory_usage_bytes",
		"request_total_bytes", "xistio_requests_total"}
	cases := []struct {
		name        string
		file        string
		remoteWrite func(t *testing.T) []remoteWrite
		keep        []string
		drop        []string
	}{
		{"prometheus", "istio/prometheus-remote-write.yaml", func(t *testing.T) []remoteWrite {
			docs := decodeYAML[struct {
				RemoteWrite []remoteWrite `yaml:"remote_write"`
			}](t, "istio/prometheus-remote-write.yaml")
			return docs[0].RemoteWrite
		}, slices.Concat(istio, linkerd), other},
		{"linkerd-viz", "linkerd/viz-values.yaml", func(t *testing.T) []remoteWrite {
			docs := decodeYAML[struct {
				Prometheus struct {
					RemoteWrite []remoteWrite `yaml:"remoteWrite"`
				} `yaml:"prometheus"`
			}](t, "linkerd/viz-values.yaml")
			return docs[0].Prometheus.RemoteWrite
		}, linkerd, slices.Concat(other, istio)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rws := tc.remoteWrite(t)
			require.Len(t, rws, 1)
			rw := rws[0]
			u, err := url.Parse(rw.URL)
			require.NoError(t, err)
			require.Equal(t, "/api/v1/write", u.Path)
			require.Equal(t, "8080", u.Port())
			require.True(t, strings.HasPrefix(u.Hostname(), "meshscope.meshscope"), u.Hostname())
			require.NotEmpty(t, rw.WriteRelabelConfigs)
			for _, name := range tc.keep {
				require.True(t, keeps(t, rw.WriteRelabelConfigs, name), "%s is sent", name)
			}
			for _, name := range tc.drop {
				require.False(t, keeps(t, rw.WriteRelabelConfigs, name), "%s is not sent", name)
			}
		})
	}
}

// OpenTelemetry Collector configuration (the structure; components are
// free-form).
type collectorConfig struct {
	Receivers  map[string]map[string]any `yaml:"receivers"`
	Processors map[string]map[string]any `yaml:"processors"`
	Exporters  map[string]map[string]any `yaml:"exporters"`
	Extensions map[string]map[string]any `yaml:"extensions"`
	Service    struct {
		Extensions []string `yaml:"extensions"`
		Pipelines  map[string]struct {
			Receivers  []string `yaml:"receivers"`
			Processors []string `yaml:"processors"`
			Exporters  []string `yaml:"exporters"`
		} `yaml:"pipelines"`
	} `yaml:"service"`
}

// get walks nested maps.
func get(m map[string]any, path ...string) any {
	var v any = m
	for _, p := range path {
		mm, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = mm[p]
	}
	return v
}

func TestCollectorConfigs(t *testing.T) {
	base := build(t, "kubernetes/base")
	headless := base.services["meshscope-headless"]
	require.NotNil(t, headless)
	headlessHost := headless.Name + "." + headless.Namespace + ".svc.cluster.local"

	cases := []struct {
		file string
		// exporter of each pipeline and what it must say
		check func(t *testing.T, pipeline string, exporter map[string]any)
	}{
		{"otel-collector/loadbalancing.yaml", func(t *testing.T, pipeline string, e map[string]any) {
			want := map[string]string{"traces": "traceID", "metrics": "service", "logs": "service"}[pipeline]
			require.Equal(t, want, get(e, "routing_key"), "pipeline %s routing key", pipeline)
			require.Equal(t, headlessHost, get(e, "resolver", "dns", "hostname"), "the DNS resolver follows the headless Service")
			require.Equal(t, "4317", get(e, "resolver", "dns", "port"))
			require.NotNil(t, get(e, "protocol", "otlp"))
			require.Nil(t, get(e, "protocol", "otlp", "endpoint"), "the resolver gives the endpoints")
		}},
		{"otel-collector/gateway.yaml", func(t *testing.T, _ string, e map[string]any) {
			require.Equal(t, "meshscope.meshscope.svc.cluster.local:4317", get(e, "endpoint"))
		}},
		{"istio/otel-collector-apps.yaml", func(t *testing.T, _ string, e map[string]any) {
			require.Equal(t, "meshscope.meshscope.svc.cluster.local:4317", get(e, "endpoint"))
		}},
	}
	for _, tc := range cases {
		t.Run(tc.file, func(t *testing.T) {
			docs := decodeYAML[collectorConfig](t, tc.file)
			require.Len(t, docs, 1)
			cfg := docs[0]
			require.ElementsMatch(t, []string{"traces", "metrics", "logs"}, slices.Collect(maps.Keys(cfg.Service.Pipelines)))
			for _, ext := range cfg.Service.Extensions {
				require.Contains(t, cfg.Extensions, ext)
			}
			for name, p := range cfg.Service.Pipelines {
				for _, r := range p.Receivers {
					require.Contains(t, cfg.Receivers, r, "pipeline %s", name)
				}
				for _, pr := range p.Processors {
					require.Contains(t, cfg.Processors, pr, "pipeline %s", name)
				}
				require.Equal(t, "memory_limiter", p.Processors[0], "pipeline %s: memory_limiter comes first", name)
				require.Len(t, p.Exporters, 1, "pipeline %s", name)
				e, ok := cfg.Exporters[p.Exporters[0]]
				require.True(t, ok, "pipeline %s exporter %s", name, p.Exporters[0])
				tc.check(t, name, e)
			}
		})
	}
}

// The Grafana data sources point at the paths where meshscope answers
// Prometheus', Loki's, Tempo's and Jaeger's query APIs: each path, on a running API
// server, answers in its API's envelope (not the UI's page or a 404).
func TestGrafanaDataSources(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("grafana", "meshscope-datasources.yaml"))
	require.NoError(t, err)
	var doc struct {
		APIVersion  int `yaml:"apiVersion"`
		Datasources []struct {
			Name, UID, Type, Access, URL string
		}
	}
	require.NoError(t, yaml.Unmarshal(raw, &doc))
	require.Equal(t, 1, doc.APIVersion)
	srv, err := query.NewServer(query.Config{}, query.Deps{})
	require.NoError(t, err)
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	probes := map[string]string{"prometheus": "/api/v1/status/buildinfo", "jaeger": "/api/services", "loki": "/api/v1/status/buildinfo", "tempo": "/api/status/buildinfo"}
	seen := map[string]bool{}
	for _, ds := range doc.Datasources {
		probe, ok := probes[ds.Type]
		require.True(t, ok, "data source %s of type %s", ds.Name, ds.Type)
		seen[ds.Type] = true
		require.Equal(t, "proxy", ds.Access)
		u, err := url.Parse(ds.URL)
		require.NoError(t, err)
		require.Equal(t, "meshscope.meshscope.svc.cluster.local:8080", u.Host)
		resp, err := http.Get(hs.URL + u.Path + probe)
		require.NoError(t, err)
		var body map[string]any
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&body), "%s%s", u.Path, probe)
		resp.Body.Close()
		switch ds.Type {
		case "loki", "tempo":
			require.Equal(t, http.StatusOK, resp.StatusCode)
			require.NotEmpty(t, body["version"])
		case "prometheus":
			require.Equal(t, http.StatusOK, resp.StatusCode)
			require.Equal(t, "success", body["status"])
		case "jaeger":
			// No ClickHouse behind this server: unavailable, in Jaeger's envelope.
			require.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
			require.Contains(t, body, "errors")
		}
	}
	require.Len(t, seen, 4)
}
