// Package demo generates a living service mesh and sends its telemetry to a
// meshscope server through the server's real network endpoints, as the
// sidecars, applications and Prometheus of a real mesh would: Envoy Access
// Log Service streams and Istio text access log lines from every sidecar,
// OTLP traces and logs from the instrumented applications, and Istio's standard
// metrics by Prometheus remote write. The mesh (an ingress gateway, API and
// mid-tier services, caches, databases, Kafka topics, external APIs, canary
// versions) is derived from a seed with a dependency structure like the
// published pictures of large microservice meshes, and scenarios change
// its picture over minutes. It is a client of meshscope: it must never
// import query/, graph/ or the ingest receivers, only wire formats.
package demo

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"
)

// Scenario names accepted by Config.Scenario.
const (
	// ScenarioSteady keeps the mesh as it is.
	ScenarioSteady = "steady"
	// ScenarioFailingDependency makes one mid-tier service fail (503 from
	// the service, UF from the callers' sidecars) after one period.
	ScenarioFailingDependency = "failing-dependency"
	// ScenarioSlowDatabase makes one database twenty times slower after
	// one period.
	ScenarioSlowDatabase = "slow-database"
	// ScenarioCanaryBad makes version v2 of a service degrade gradually,
	// from one period to five periods.
	ScenarioCanaryBad = "canary-bad"
	// ScenarioNewService adds a service and its calls after one period.
	ScenarioNewService = "new-service"
	// ScenarioBadPod makes one pod of a service with several fail and
	// answer slower after one period, while its siblings stay well.
	ScenarioBadPod = "bad-pod"
)

// Scenarios lists the scenario names.
func Scenarios() []string {
	return []string{ScenarioSteady, ScenarioFailingDependency, ScenarioSlowDatabase, ScenarioCanaryBad, ScenarioNewService, ScenarioBadPod}
}

// Config sets up a demo run. DefaultConfig returns every default; in a
// Config built by hand, fields left zero take their defaults, except Seed
// and TraceSample, whose zero is a valid choice.
type Config struct {
	// ServerHTTP is the base URL of meshscope's HTTP listener, where
	// remote write (/api/v1/write) and text access log lines
	// (/api/v1/accesslogs) are posted. Default http://127.0.0.1:8080.
	ServerHTTP string
	// ServerGRPC is host:port of meshscope's gRPC listener, which serves
	// OTLP and the Envoy Access Log Service. Default 127.0.0.1:4317.
	ServerGRPC string
	// Token, when set, is sent as "Authorization: Bearer TOKEN" on every
	// request (gRPC metadata "authorization").
	Token string
	// GRPCTLS, when set, is the TLS configuration for the gRPC listener
	// (nil: plaintext). An https ServerHTTP uses HTTPTLS (nil: the
	// system's roots).
	GRPCTLS, HTTPTLS *tls.Config
	// Services is the number of services of the mesh, counting the
	// ingress gateway, caches, databases and brokers but not the external
	// hosts, nor the scheduled jobs a mesh of 30 services or more has
	// besides (one per 60 services, at most three). Default 60; at least
	// 12.
	Services int
	// Rate is the number of calls per second across all edges of the
	// mesh: every hop of every request tree, database, cache, queue and
	// external calls included. Request trees (root requests entering the
	// ingress gateway, and the scheduled jobs' runs) start at Rate divided
	// by the mean number of calls of a request tree
	// (Topology.CallsPerRequest). Default 500.
	Rate float64
	// Duration ends the run after this long; 0 runs until the context is
	// cancelled.
	Duration time.Duration
	// Scenario is one of Scenarios(). Default steady.
	Scenario string
	// ScenarioPeriod scales the scenario's timeline: the change starts
	// after one period and gradual changes last four more. Default 30s.
	ScenarioPeriod time.Duration
	// Seed derives the topology and the traffic: equal seeds give equal
	// meshes. Run salts the traffic with its start time, so that runs
	// write different trace ids.
	Seed uint64
	// TraceSample is the share of request trees whose spans are sent,
	// from 0 (none) to 1 (all). Access logs cover every request and
	// metrics aggregate every request whatever the share.
	TraceSample float64
	// MetricsInterval is how often metrics are sent: Istio's by remote
	// write, as a Prometheus scraping the sidecars would, and the SDKs' by
	// OTLP, as their periodic readers would. Default 10s.
	MetricsInterval time.Duration
	// FlushInterval is how long a sidecar buffers access log entries, and
	// the span exporter spans, before sending them (sooner when a buffer
	// fills). Default 1s.
	FlushInterval time.Duration
	// ProgressInterval is how often a progress line is logged. Default 10s.
	ProgressInterval time.Duration
	// DrainTimeout bounds how long Run keeps sending what is queued once
	// the run ends. Default 5s.
	DrainTimeout time.Duration
	// Logger receives progress lines and errors; default slog.Default().
	Logger *slog.Logger
	// Progress, when set, is called with the counts at every progress
	// line and once at the end of the run.
	Progress func(Stats)
}

// DefaultConfig returns a Config with every default set.
func DefaultConfig() Config {
	return Config{
		ServerHTTP:       "http://127.0.0.1:8080",
		ServerGRPC:       "127.0.0.1:4317",
		Services:         60,
		Rate:             500,
		Scenario:         ScenarioSteady,
		ScenarioPeriod:   30 * time.Second,
		Seed:             1,
		TraceSample:      0.1,
		MetricsInterval:  10 * time.Second,
		FlushInterval:    time.Second,
		ProgressInterval: 10 * time.Second,
		DrainTimeout:     5 * time.Second,
	}
}

// withDefaults fills the zero fields that have defaults.
func (c Config) withDefaults() Config {
	d := DefaultConfig()
	if c.ServerHTTP == "" {
		c.ServerHTTP = d.ServerHTTP
	}
	if c.ServerGRPC == "" {
		c.ServerGRPC = d.ServerGRPC
	}
	if c.Services == 0 {
		c.Services = d.Services
	}
	if c.Rate == 0 {
		c.Rate = d.Rate
	}
	if c.Scenario == "" {
		c.Scenario = d.Scenario
	}
	if c.ScenarioPeriod == 0 {
		c.ScenarioPeriod = d.ScenarioPeriod
	}
	if c.MetricsInterval == 0 {
		c.MetricsInterval = d.MetricsInterval
	}
	if c.FlushInterval == 0 {
		c.FlushInterval = d.FlushInterval
	}
	if c.ProgressInterval == 0 {
		c.ProgressInterval = d.ProgressInterval
	}
	if c.DrainTimeout == 0 {
		c.DrainTimeout = d.DrainTimeout
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

// MinServices and MaxServices bound Config.Services.
const (
	MinServices = 12
	MaxServices = 20000
)

// Validate reports the first setting out of range, naming its flag.
func (c *Config) Validate() error {
	if _, err := httpBase(c.ServerHTTP); err != nil {
		return err
	}
	if _, port, ok := strings.Cut(c.ServerGRPC, ":"); !ok || port == "" || strings.Contains(c.ServerGRPC, "/") {
		return fmt.Errorf("--server-grpc %q: want host:port", c.ServerGRPC)
	}
	if c.Services < MinServices || c.Services > MaxServices {
		return fmt.Errorf("--services %d: want %d to %d", c.Services, MinServices, MaxServices)
	}
	if !(c.Rate > 0) || c.Rate > 10_000_000 {
		return fmt.Errorf("--rate %g: want calls per second above 0 and at most 10000000", c.Rate)
	}
	if c.Duration < 0 {
		return fmt.Errorf("--duration %s: must not be negative (0 runs until interrupted)", c.Duration)
	}
	if !isScenario(c.Scenario) {
		return fmt.Errorf("--scenario %q: want one of %s", c.Scenario, strings.Join(Scenarios(), ", "))
	}
	if c.ScenarioPeriod < 10*time.Millisecond {
		return fmt.Errorf("--scenario-period %s: want at least 10ms", c.ScenarioPeriod)
	}
	if !(c.TraceSample >= 0 && c.TraceSample <= 1) {
		return fmt.Errorf("--trace-sample %g: want a share from 0 to 1", c.TraceSample)
	}
	if c.MetricsInterval < 10*time.Millisecond {
		return fmt.Errorf("--metrics-interval %s: want at least 10ms", c.MetricsInterval)
	}
	if c.FlushInterval < time.Millisecond {
		return fmt.Errorf("--flush-interval %s: want at least 1ms", c.FlushInterval)
	}
	if c.ProgressInterval < 10*time.Millisecond {
		return fmt.Errorf("--progress-interval %s: want at least 10ms", c.ProgressInterval)
	}
	if c.DrainTimeout < 0 {
		return fmt.Errorf("--drain-timeout %s: must not be negative", c.DrainTimeout)
	}
	return nil
}

func isScenario(s string) bool {
	for _, n := range Scenarios() {
		if n == s {
			return true
		}
	}
	return false
}

// httpBase checks and normalises the base URL of the HTTP listener; a bare
// host:port means http.
func httpBase(s string) (string, error) {
	if !strings.Contains(s, "://") {
		s = "http://" + s
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("--server-http %q: want a URL such as http://127.0.0.1:8080", s)
	}
	return strings.TrimRight(u.Scheme+"://"+u.Host+u.Path, "/"), nil
}
