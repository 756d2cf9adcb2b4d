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
)

// Service graph metrics (as the OpenTelemetry Collector's servicegraph
// connector names them) sent by an OTLP exporter become an edge of the live
// graph with its calls, errors and latency.
func TestServiceGraphMetricsOverOTLP(t *testing.T) {
	ctx := context.Background()
	srv := startServer(t, t.TempDir(), true)
	exp, err := otlpmetricgrpc.New(ctx, otlpmetricgrpc.WithEndpoint(srv.grpcAddr), otlpmetricgrpc.WithInsecure())
	require.NoError(t, err)
	reader := sdkmetric.NewPeriodicReader(exp, sdkmetric.WithInterval(time.Hour))
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader), sdkmetric.WithView(sdkmetric.NewView(
		sdkmetric.Instrument{Name: "traces_service_graph_request_server"},
		sdkmetric.Stream{Aggregation: sdkmetric.AggregationExplicitBucketHistogram{Boundaries: []float64{0.005, 0.01, 0.05, 0.1}}})))
	t.Cleanup(func() { _ = mp.Shutdown(ctx) })
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

	api := "http://" + srv.httpAddr + "/api/v1/graph"
	const id = "service:shop/frontend->service:shop/cart"
	eventually(t, "the service graph's edge", 30*time.Second, func() (bool, string) {
		e := findEdge(getGraph(t, api), id)
		return e != nil && e.Requests == 30, fmt.Sprintf("%+v", e)
	})
	e := findEdge(getGraph(t, api), id)
	require.EqualValues(t, 3, e.Errors)
	require.Equal(t, []string{"metric"}, e.Provenance)
	require.True(t, slices.Contains(e.Protocols, "unknown"), "%v", e.Protocols)
	// 20 ms, in the (10 ms, 50 ms] bucket.
	require.Greater(t, e.P50Ms, 10.0)
	require.LessOrEqual(t, e.P50Ms, 50.0)
}

// An OpenTelemetry SDK's client duration histogram (the Go SDK's metric
// exporter, as an instrumented HTTP client records it) becomes the edge
// from its service to the server its points name, with calls, errors and
// latency.
func TestOTelClientMetricsOverOTLP(t *testing.T) {
	ctx := context.Background()
	srv := startServer(t, t.TempDir(), true)
	exp, err := otlpmetricgrpc.New(ctx, otlpmetricgrpc.WithEndpoint(srv.grpcAddr), otlpmetricgrpc.WithInsecure())
	require.NoError(t, err)
	reader := sdkmetric.NewPeriodicReader(exp, sdkmetric.WithInterval(time.Hour))
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader),
		sdkmetric.WithResource(resource.NewSchemaless(attribute.String("service.name", "web"), attribute.String("k8s.namespace.name", "shop"))))
	t.Cleanup(func() { _ = mp.Shutdown(ctx) })
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

	api := "http://" + srv.httpAddr + "/api/v1/graph"
	const id = "service:shop/web->service:shop/cart"
	eventually(t, "the SDK's edge", 30*time.Second, func() (bool, string) {
		e := findEdge(getGraph(t, api), id)
		return e != nil && e.Requests == 30, fmt.Sprintf("%+v", e)
	})
	e := findEdge(getGraph(t, api), id)
	require.EqualValues(t, 3, e.Errors)
	require.Equal(t, []string{"metric"}, e.Provenance)
	require.Equal(t, []string{"http"}, e.Protocols)
	require.Greater(t, e.P50Ms, 10.0)
	require.LessOrEqual(t, e.P50Ms, 50.0)
}
