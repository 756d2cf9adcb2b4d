package slo

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/meshscope/meshscope/schema"
	"github.com/meshscope/meshscope/schema/chtest"
	"github.com/meshscope/meshscope/slo/notify"
)

// New exception types reach a real Alertmanager: the types known when the
// watch starts do not, a type first seen later does (once, whatever its
// later occurrences), and its link opens the exceptions page on it.
func TestNewExceptionAlerts(t *testing.T) {
	amHook, ourHook := newRecorder(t), newRecorder(t)
	base := startAlertmanager(t, amHook.srv.URL)
	st, _ := chtest.Store(t, "meshscope")
	ctx := context.Background()
	now := time.Now().UTC()
	span := func(at time.Time, svc, typ string) schema.SpanRow { return chtest.ExceptionSpan(at, "shop", svc, typ) }
	// Known before the watch starts.
	require.NoError(t, st.Write(ctx, &schema.Batch{Spans: []schema.SpanRow{span(now.Add(-time.Hour), "cart", "Timeout")}}))

	e, err := New(Config{
		Alertmanagers: []notify.AlertmanagerConfig{{URL: base}},
		Webhooks:      []notify.WebhookConfig{{Name: "ops", URL: ourHook.srv.URL}},
		NewExceptions: true,
		ExternalURL:   "https://meshscope.example",
	}, Deps{Store: func() Store { return st }})
	require.NoError(t, err)
	require.NoError(t, e.checkNewExceptions(ctx))
	require.Empty(t, amAlerts(t, base, `alertname="`+NewExceptionAlertName+`"`))

	// A new type in cart, logged; cart's timeout again.
	require.NoError(t, st.Write(ctx, &schema.Batch{
		Spans: []schema.SpanRow{span(now, "cart", "Timeout")},
		Logs: []schema.LogRow{{TimeUnixNano: uint64(now.UnixNano()), ServiceName: "cart", ServiceNamespace: "shop",
			AttrKeys: []string{"exception.type"}, AttrValues: []string{"java.lang.IllegalStateException"}}},
	}))
	require.NoError(t, e.checkNewExceptions(ctx))
	got := amAlerts(t, base, `alertname="`+NewExceptionAlertName+`"`)
	require.Len(t, got, 1)
	a := got[0]
	require.Equal(t, map[string]string{"alertname": NewExceptionAlertName, "severity": "info", "service": "cart", "namespace": "shop",
		"exception_type": "java.lang.IllegalStateException", "source": "log"}, a.Labels)
	require.Equal(t, "New exception java.lang.IllegalStateException in cart", a.Annotations["summary"])
	require.True(t, now.Truncate(time.Millisecond).Equal(a.StartsAt.Truncate(time.Millisecond)), "startsAt %s, first seen %s", a.StartsAt, now)
	require.True(t, a.EndsAt.After(now.Add(59*time.Minute)), "fires for an hour: ends %s", a.EndsAt)
	require.Equal(t, 1.0, testutil.ToFloat64(e.metrics.newExceptions.WithLabelValues("log")))
	firing := waitFor(t, amHook, "firing")
	require.Equal(t, NewExceptionAlertName, firing.CommonLabels["alertname"])
	link := firing.Alerts[0].GeneratorURL
	require.True(t, strings.HasPrefix(link, "https://meshscope.example/#/exceptions?"), link)
	require.Contains(t, link, "type=java.lang.IllegalStateException")

	// GET /api/v1/alerts lists it beside the SLO alerts, but not for an SLO.
	var listed alertsResponse
	require.Equal(t, http.StatusOK, call(t, e.Handler(), "GET", "/api/v1/alerts", "", &listed))
	require.Len(t, listed.ExceptionAlerts, 1)
	x := listed.ExceptionAlerts[0]
	require.Equal(t, ExceptionAlertView{Service: "cart", Namespace: "shop", ExceptionType: "java.lang.IllegalStateException", Source: "log",
		FirstSeen: x.FirstSeen, EndsAt: x.EndsAt, Summary: "New exception java.lang.IllegalStateException in cart", URL: link}, x)
	require.True(t, x.FirstSeen.Equal(now), "first seen %s, logged %s", x.FirstSeen, now)
	require.True(t, x.EndsAt.After(now.Add(59*time.Minute)), "ends %s", x.EndsAt)
	require.Equal(t, http.StatusOK, call(t, e.Handler(), "GET", "/api/v1/alerts?slo=checkout", "", &listed))
	require.Empty(t, listed.ExceptionAlerts)

	// Checked again: the same alert sent again, no new one; the webhook
	// had it once.
	require.NoError(t, e.checkNewExceptions(ctx))
	require.Len(t, amAlerts(t, base, `alertname="`+NewExceptionAlertName+`"`), 1)
	require.Equal(t, 1.0, testutil.ToFloat64(e.metrics.newExceptions.WithLabelValues("log")))
	require.Len(t, ourHook.take(), 1)

	// A database upgraded to the history and not backfilled: silent.
	chtest.Upgraded(t, st, schema.ExceptionGroupsMigration, now)
	require.NoError(t, st.Write(ctx, &schema.Batch{Spans: []schema.SpanRow{span(now, "web", "TypeError")}}))
	require.NoError(t, e.checkNewExceptions(ctx))
	require.Equal(t, 0.0, testutil.ToFloat64(e.metrics.newExceptions.WithLabelValues("span")))
}
