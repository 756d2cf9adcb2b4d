package main

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetricgrpc"
	"go.opentelemetry.io/otel/metric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/resource"

	"github.com/meshscope/meshscope/graph"
)

// Service graph metrics (as the OpenTelemetry Collector's servicegraph
// connector names them) sent by an OTLP exporter become an edge of the live
// graph with its calls, errors and latency.
func TestServiceGraphMetricsOverOTLP(t *testing.T) {
	ctx := context.Background()
	srv := startServer(t, t.TempDir(), true)
	mp, reader := otlpMeters(t, srv.grpcAddr, sdkmetric.WithView(sdkmetric.NewView(
		sdkmetric.Instrument{Name: "traces_service_graph_request_server"},
		sdkmetric.Stream{Aggregation: sdkmetric.AggregationExplicitBucketHistogram{Boundaries: []float64{0.005, 0.01, 0.05, 0.1}}})))
	m := mp.Meter("servicegraph")
	total, err := m.Int64Counter("traces_service_graph_request_total")
	require.NoError(t, err)
	failed, err := m.Int64Counter("traces_service_graph_request_failed_total")
	require.NoError(t, err)
	server, err := m.Float64Histogram("traces_service_graph_request_server", metric.WithUnit("s"))
	require.NoError(t, err)
	edge := metric.WithAttributes(attribute.String("client", "frontend"), attribute.String("server", "cart"),
		attribute.String("connection_type", ""), attribute.String("client_k8s.namespace.name", "shop"),
		attribute.String("server_k8s.namespace.name", "shop"))
	calls := func(n, errs int64) {
		total.Add(ctx, n, edge)
		failed.Add(ctx, errs, edge)
		for range n {
			server.Record(ctx, 0.02, edge)
		}
		require.NoError(t, reader.ForceFlush(ctx))
	}
	calls(10, 1) // the baseline of the cumulative series
	calls(30, 3)

	e := metricEdge(t, srv.httpAddr, "service:shop/frontend->service:shop/cart", 30, 3)
	require.True(t, slices.Contains(e.Protocols, "unknown"), "%v", e.Protocols)
}

// otlpMeters is an OpenTelemetry Go SDK meter provider that exports to
// grpcAddr by OTLP/gRPC when its reader is flushed; opts add to it (a
// resource, views).
func otlpMeters(t *testing.T, grpcAddr string, opts ...sdkmetric.Option) (*sdkmetric.MeterProvider, *sdkmetric.PeriodicReader) {
	t.Helper()
	exp, err := otlpmetricgrpc.New(context.Background(), otlpmetricgrpc.WithEndpoint(grpcAddr), otlpmetricgrpc.WithInsecure())
	require.NoError(t, err)
	reader := sdkmetric.NewPeriodicReader(exp, sdkmetric.WithInterval(time.Hour))
	mp := sdkmetric.NewMeterProvider(append([]sdkmetric.Option{sdkmetric.WithReader(reader)}, opts...)...)
	t.Cleanup(func() { _ = mp.Shutdown(context.Background()) })
	return mp, reader
}

// metricEdge waits for the live graph's edge id to count calls, then
// checks what the metric edges of these tests show: errs errors, metrics
// as their only input, the calls' 20 ms in the median's (10 ms, 50 ms]
// bucket. It returns the edge.
func metricEdge(t *testing.T, httpAddr, id string, calls, errs uint64) *graph.Edge {
	t.Helper()
	api := "http://" + httpAddr + "/api/v1/graph"
	eventually(t, "the edge "+id, 30*time.Second, func() (bool, string) {
		e := findEdge(getGraph(t, api), id)
		return e != nil && e.Requests == calls, fmt.Sprintf("%+v", e)
	})
	e := findEdge(getGraph(t, api), id)
	require.Equal(t, errs, e.Errors)
	require.Equal(t, []string{"metric"}, e.Provenance)
	require.Greater(t, e.P50Ms, 10.0)
	require.LessOrEqual(t, e.P50Ms, 50.0)
	return e
}

// An OpenTelemetry SDK's client duration histogram (the Go SDK's metric
// exporter, as an instrumented HTTP client records it) becomes the edge
// from its service to the server its points name, with calls, errors and
// latency.
func TestOTelClientMetricsOverOTLP(t *testing.T) {
	ctx := context.Background()
	srv := startServer(t, t.TempDir(), true)
	mp, reader := otlpMeters(t, srv.grpcAddr,
		sdkmetric.WithResource(resource.NewSchemaless(attribute.String("service.name", "web"), attribute.String("k8s.namespace.name", "shop"))))
	dur, err := mp.Meter("net/http").Float64Histogram("http.client.request.duration", metric.WithUnit("s"),
		metric.WithExplicitBucketBoundaries(0.005, 0.01, 0.05, 0.1))
	require.NoError(t, err)
	attrs := func(code int) metric.RecordOption {
		return metric.WithAttributes(attribute.String("http.request.method", "GET"), attribute.String("server.address", "cart.shop.svc.cluster.local"),
			attribute.Int("server.port", 8080), attribute.Int("http.response.status_code", code))
	}
	calls := func(n, errs int) {
		for range n - errs {
			dur.Record(ctx, 0.02, attrs(200))
		}
		for range errs {
			dur.Record(ctx, 0.02, attrs(503))
		}
		require.NoError(t, reader.ForceFlush(ctx))
	}
	calls(10, 1) // the baseline of the cumulative series
	calls(30, 3)

	e := metricEdge(t, srv.httpAddr, "service:shop/web->service:shop/cart", 30, 3)
	require.Equal(t, []string{"http"}, e.Protocols)
}
