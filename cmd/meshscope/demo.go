package main

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/meshscope/meshscope/ingest/demo"
)

// runDemo runs `meshscope demo`: a generated mesh that sends its telemetry
// to a running meshscope through the server's real endpoints.
func runDemo(ctx context.Context, args []string) error {
	d := demo.DefaultConfig()
	fs := newFlagSet("demo", "Generate a living service mesh (an ingress gateway, APIs, deep mid-tier call chains, caches,\n"+
		"databases, Kafka topics, external APIs, canaries) and send its telemetry to a running meshscope as\n"+
		"real sidecars, applications and Prometheus would: Envoy ALS streams, OTLP traces, the services'\n"+
		"OTLP logs and their SDKs' server and client request durations (OTLP metrics) to the gRPC listener, Istio\n"+
		"metrics by remote_write and Istio text access log lines to the HTTP listener.")
	fs.String("config", "", "YAML file with options (keys are flag names)")
	fs.StringVar(&d.ServerHTTP, "server-http", d.ServerHTTP, "meshscope's HTTP listener: remote_write (/api/v1/write) and text access logs (/api/v1/accesslogs)")
	fs.StringVar(&d.ServerGRPC, "server-grpc", d.ServerGRPC, "meshscope's gRPC listener (host:port): OTLP and the Envoy Access Log Service")
	token := fs.String("token", "", "bearer token sent with every request (default $MESHSCOPE_AUTH_TOKEN)")
	grpcTLS := fs.Bool("server-grpc-tls", false, "reach the gRPC listener over TLS (its certificate checked against --server-ca-file, else the system's roots)")
	caFile := fs.String("server-ca-file", "", "PEM certificates that sign the server's TLS listeners (default: the system's roots); the HTTP listener speaks TLS when --server-http is https://")
	fs.IntVar(&d.Services, "services", d.Services, fmt.Sprintf("services of the mesh, gateway, caches, databases and brokers included (%d to %d); meshes of 30 and more also get scheduled jobs besides (one per 60 services, at most three)", demo.MinServices, demo.MaxServices))
	fs.Float64Var(&d.Rate, "rate", d.Rate, "calls per second across all edges of the mesh, every hop of every request tree counted; root requests enter the gateway at this rate divided by the mean calls per request (logged at start)")
	fs.DurationVar(&d.Duration, "duration", 0, "stop after this long; 0 runs until interrupted")
	fs.StringVar(&d.Scenario, "scenario", d.Scenario, "steady, failing-dependency, slow-database, canary-bad, new-service or bad-pod (one pod of a service fails and is slow)")
	fs.DurationVar(&d.ScenarioPeriod, "scenario-period", d.ScenarioPeriod, "the canaries are deployed half a period in (but for steady), the scenario's change starts after one; canary-bad's canary degrades over four more")
	fs.Uint64Var(&d.Seed, "seed", d.Seed, "seed of the topology and the traffic: equal seeds give equal meshes")
	fs.Float64Var(&d.TraceSample, "trace-sample", d.TraceSample, "share of request trees whose spans are sent, 0 to 1 (access logs and metrics cover every request)")
	fs.DurationVar(&d.MetricsInterval, "metrics-interval", d.MetricsInterval, "how often metrics are sent: Istio's by remote_write, the SDKs' by OTLP")
	fs.DurationVar(&d.FlushInterval, "flush-interval", d.FlushInterval, "how long sidecars buffer access logs, and the exporter spans, before sending")
	fs.DurationVar(&d.ProgressInterval, "progress-interval", d.ProgressInterval, "how often a progress line is logged")
	logLevel := fs.String("log-level", "info", "debug, info, warn or error")
	logFormat := fs.String("log-format", "text", "text or json")
	if err := parseOptions(fs, args); err != nil {
		return err
	}
	if *token == "" {
		*token = os.Getenv("MESHSCOPE_AUTH_TOKEN")
	}
	d.Token = *token
	trust, err := serverTrust(*caFile)
	if err != nil {
		return err
	}
	if strings.HasPrefix(d.ServerHTTP, "https://") {
		d.HTTPTLS = trust
	}
	if *grpcTLS {
		d.GRPCTLS = trust.Clone()
	}
	if _, err := parseLevel(*logLevel); err != nil {
		return err
	}
	if *logFormat != "text" && *logFormat != "json" {
		return fmt.Errorf("--log-format %q: want text or json", *logFormat)
	}
	d.Logger = newLogger(*logLevel, *logFormat)
	if err := d.Validate(); err != nil {
		return err
	}
	return demo.Run(ctx, d)
}
