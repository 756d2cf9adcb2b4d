package main

import (
	"context"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlplog/otlploghttp"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetricgrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetrichttp"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	otellog "go.opentelemetry.io/otel/log"
	"go.opentelemetry.io/otel/metric"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.26.0"
	"go.opentelemetry.io/otel/trace"
)

func testResource(service string) *resource.Resource {
	return resource.NewWithAttributes(semconv.SchemaURL,
		semconv.ServiceName(service), semconv.ServiceVersion("1.2.3"),
		attribute.String("k8s.namespace.name", "shop"), attribute.String("k8s.pod.name", service+"-v1-5b64f47978-rv5ls"))
}

// sendTraces emits one client span and its server child through exp.
func sendTraces(t *testing.T, exp sdktrace.SpanExporter, service string) (trace.SpanContext, trace.SpanContext) {
	t.Helper()
	ctx := context.Background()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp), sdktrace.WithResource(testResource(service)))
	tr := tp.Tracer("e2e-scope", trace.WithInstrumentationVersion("0.1"))
	linked := trace.NewSpanContext(trace.SpanContextConfig{TraceID: trace.TraceID{9, 9}, SpanID: trace.SpanID{8, 8}, TraceFlags: 1})
	cctx, client := tr.Start(ctx, "GET /cart", trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(attribute.String("http.request.method", "GET"), attribute.String("peer.service", "cart"),
			attribute.Int("http.response.status_code", 503), attribute.String("server.address", "cart.shop")),
		trace.WithLinks(trace.Link{SpanContext: linked, Attributes: []attribute.KeyValue{attribute.String("why", "retry")}}))
	_, server := tr.Start(cctx, "cart.get", trace.WithSpanKind(trace.SpanKindServer),
		trace.WithAttributes(attribute.String("http.route", "/cart/{id}"), attribute.String("db.system", "redis")))
	server.AddEvent("cache miss", trace.WithAttributes(attribute.Int("attempt", 2)))
	server.SetStatus(codes.Error, "backend down")
	server.End()
	client.End()
	require.NoError(t, tp.Shutdown(ctx))
	return client.SpanContext(), server.SpanContext()
}

func TestOTLPEndToEndWithRealExporters(t *testing.T) {
	srv := startServer(t, t.TempDir(), true)
	ctx := context.Background()
	st := srv.store()

	grpcExp, err := otlptracegrpc.New(ctx, otlptracegrpc.WithEndpoint(srv.grpcAddr), otlptracegrpc.WithInsecure())
	require.NoError(t, err)
	httpExp, err := otlptracehttp.New(ctx, otlptracehttp.WithEndpoint(srv.otlpHTTP), otlptracehttp.WithInsecure(),
		otlptracehttp.WithCompression(otlptracehttp.GzipCompression))
	require.NoError(t, err)
	client, server := sendTraces(t, grpcExp, "web")
	_, _ = sendTraces(t, httpExp, "web-http")

	// Metrics over gRPC and HTTP: a counter, a histogram, a gauge.
	for _, mk := range []func() (sdkmetric.Exporter, error){
		func() (sdkmetric.Exporter, error) {
			return otlpmetricgrpc.New(ctx, otlpmetricgrpc.WithEndpoint(srv.grpcAddr), otlpmetricgrpc.WithInsecure())
		},
		func() (sdkmetric.Exporter, error) {
			return otlpmetrichttp.New(ctx, otlpmetrichttp.WithEndpoint(srv.otlpHTTP), otlpmetrichttp.WithInsecure())
		},
	} {
		exp, err := mk()
		require.NoError(t, err)
		mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewPeriodicReader(exp, sdkmetric.WithInterval(time.Hour))),
			sdkmetric.WithResource(testResource("metrics-svc")))
		m := mp.Meter("e2e")
		c, _ := m.Int64Counter("e2e.requests")
		c.Add(ctx, 7, metricAttrs())
		h, _ := m.Float64Histogram("e2e.latency")
		h.Record(ctx, 12.5, metricAttrs())
		h.Record(ctx, 250, metricAttrs())
		g, _ := m.Float64Gauge("e2e.temperature")
		g.Record(ctx, 21.5)
		require.NoError(t, mp.Shutdown(ctx))
	}

	// Logs over HTTP.
	logExp, err := otlploghttp.New(ctx, otlploghttp.WithEndpoint(srv.otlpHTTP), otlploghttp.WithInsecure())
	require.NoError(t, err)
	lp := sdklog.NewLoggerProvider(sdklog.WithProcessor(sdklog.NewSimpleProcessor(logExp)), sdklog.WithResource(testResource("logger")))
	var rec otellog.Record
	rec.SetTimestamp(time.Now())
	rec.SetSeverity(otellog.SeverityWarn)
	rec.SetSeverityText("WARN")
	rec.SetBody(attribute.StringValue("payment declined"))
	rec.AddAttributes(attribute.String("order", "42"))
	lp.Logger("e2e").Emit(ctx, rec)
	require.NoError(t, lp.Shutdown(ctx))

	eventually(t, "spans stored", 30*time.Second, func() (bool, string) {
		n := countRows(t, st, "SELECT count() FROM spans")
		return n == 4, "spans: " + itoa(n)
	})
	// Every field of the server span, read back.
	var (
		traceID, spanID, parentID, name, statusMsg, svc, ns, ver, wl, scope, scopeVer, route, dbSystem string
		kind, status                                                                                   uint8
		dur                                                                                            uint64
		evNames, evAttrs, resKeys                                                                      []string
	)
	tid := client.TraceID()
	sid := server.SpanID()
	require.NoError(t, st.Conn().QueryRow(ctx, `SELECT hex(trace_id), hex(span_id), hex(parent_span_id), name, kind, status_code, status_message,
		service_name, service_namespace, service_version, workload, scope_name, scope_version, http_route, db_system, duration_ns,
		event_names, event_attrs, resource_keys FROM spans WHERE span_id = unhex(?)`, hex.EncodeToString(sid[:])).
		Scan(&traceID, &spanID, &parentID, &name, &kind, &status, &statusMsg, &svc, &ns, &ver, &wl, &scope, &scopeVer, &route, &dbSystem, &dur,
			&evNames, &evAttrs, &resKeys))
	cid := client.SpanID()
	require.Equal(t, hex.EncodeToString(tid[:]), lower(traceID))
	require.Equal(t, hex.EncodeToString(cid[:]), lower(parentID))
	require.Equal(t, "cart.get", name)
	require.EqualValues(t, 2, kind)
	require.EqualValues(t, 2, status)
	require.Equal(t, "backend down", statusMsg)
	require.Equal(t, []string{"web", "shop", "1.2.3", "web-v1"}, []string{svc, ns, ver, wl})
	require.Equal(t, []string{"e2e-scope", "0.1", "/cart/{id}", "redis"}, []string{scope, scopeVer, route, dbSystem})
	require.Equal(t, []string{"cache miss"}, evNames)
	require.JSONEq(t, `{"attempt":2}`, evAttrs[0])
	require.Contains(t, resKeys, "service.name")
	require.Greater(t, dur, uint64(0))
	// The client span's promoted attributes and link.
	var method, peer, addr string
	var code uint16
	var linkAttrs []string
	require.NoError(t, st.Conn().QueryRow(ctx, `SELECT http_method, peer_service, server_address, http_status_code, link_attrs
		FROM spans WHERE span_id = unhex(?)`, hex.EncodeToString(cid[:])).Scan(&method, &peer, &addr, &code, &linkAttrs))
	require.Equal(t, []string{"GET", "cart", "cart.shop"}, []string{method, peer, addr})
	require.EqualValues(t, 503, code)
	require.JSONEq(t, `{"why":"retry"}`, linkAttrs[0])

	eventually(t, "metric points stored", 30*time.Second, func() (bool, string) {
		n := countRows(t, st, "SELECT count() FROM metric_samples WHERE metric_name LIKE 'e2e.%'")
		return n == 6, "samples: " + itoa(n)
	})
	var value float64
	require.NoError(t, st.Conn().QueryRow(ctx, "SELECT value FROM metric_samples WHERE metric_name = 'e2e.requests' LIMIT 1").Scan(&value))
	require.EqualValues(t, 7, value)
	var count uint64
	var sum float64
	var bounds []float64
	var counts []uint64
	require.NoError(t, st.Conn().QueryRow(ctx, "SELECT count, sum, bucket_bounds, bucket_counts FROM metric_samples WHERE metric_name = 'e2e.latency' LIMIT 1").
		Scan(&count, &sum, &bounds, &counts))
	require.EqualValues(t, 2, count)
	require.EqualValues(t, 262.5, sum)
	require.Len(t, counts, len(bounds)+1)
	var typ, temporality, mono uint8
	var labelKeys []string
	require.NoError(t, st.Conn().QueryRow(ctx, "SELECT type, temporality, monotonic, label_keys FROM metric_series WHERE metric_name = 'e2e.requests' LIMIT 1").
		Scan(&typ, &temporality, &mono, &labelKeys))
	require.Equal(t, []uint8{2, 2, 1}, []uint8{typ, temporality, mono})
	require.Equal(t, []string{"route"}, labelKeys)

	eventually(t, "log stored", 30*time.Second, func() (bool, string) {
		n := countRows(t, st, "SELECT count() FROM logs WHERE service_name = 'logger'")
		return n == 1, "logs: " + itoa(n)
	})
	var body, sevText string
	var sev uint8
	var attrK, attrV []string
	require.NoError(t, st.Conn().QueryRow(ctx, "SELECT body, severity_text, severity_number, attr_keys, attr_values FROM logs WHERE service_name = 'logger'").
		Scan(&body, &sevText, &sev, &attrK, &attrV))
	require.Equal(t, "payment declined", body)
	require.Equal(t, "WARN", sevText)
	require.EqualValues(t, otellog.SeverityWarn, sev)
	require.Equal(t, []string{"order"}, attrK)
	require.Equal(t, []string{"42"}, attrV)
}

func metricAttrs() metric.MeasurementOption {
	return metric.WithAttributes(attribute.String("route", "/cart"))
}

func TestTelemetrygenTracesMetricsLogs(t *testing.T) {
	bin := toolPath(t, "telemetrygen")
	srv := startServer(t, t.TempDir(), true)
	st := srv.store()
	run := func(args ...string) {
		t.Helper()
		cmd := exec.Command(bin, append(args, "--otlp-insecure", "--otlp-endpoint", srv.grpcAddr, "--rate", "0")...)
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "%s", out)
	}
	run("traces", "--traces", "50", "--service", "tgen")
	run("metrics", "--metrics", "40", "--service", "tgen")
	run("logs", "--logs", "30", "--service", "tgen")
	eventually(t, "telemetrygen data stored", 30*time.Second, func() (bool, string) {
		spans := countRows(t, st, "SELECT count() FROM spans WHERE service_name = 'tgen'")
		points := countRows(t, st, "SELECT count() FROM metric_samples")
		logs := countRows(t, st, "SELECT count() FROM logs")
		// telemetrygen sends a parent and a child span per trace.
		return spans == 100 && points == 40 && logs == 30, "spans " + itoa(spans) + " points " + itoa(points) + " logs " + itoa(logs)
	})
	require.EqualValues(t, 50, countRows(t, st, "SELECT uniqExact(trace_id) FROM spans WHERE service_name = 'tgen'"))
}

// toolPath finds a test client built by `make tools`.
func toolPath(t *testing.T, name string) string {
	t.Helper()
	for _, dir := range []string{os.Getenv("MESHSCOPE_TOOLS_DIR"), "../../bin/tools"} {
		if dir == "" {
			continue
		}
		p := filepath.Join(dir, name)
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	t.Fatalf("%s not found: run `make tools` (it builds the real clients the tests drive)", name)
	return ""
}
