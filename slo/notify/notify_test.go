package notify

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/require"
)

func TestAlertmanagerSend(t *testing.T) {
	var got []map[string]any
	status := http.StatusOK
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		require.Equal(t, "/api/v2/alerts", r.URL.Path)
		require.Equal(t, "application/json", r.Header.Get("Content-Type"))
		require.Equal(t, "Bearer x", r.Header.Get("Authorization"))
		b, _ := io.ReadAll(r.Body)
		require.NoError(t, json.Unmarshal(b, &got))
		w.WriteHeader(status)
		_, _ = w.Write([]byte("bad alert\n"))
	}))
	defer srv.Close()
	am := NewAlertmanager(AlertmanagerConfig{URL: srv.URL + "/", Headers: map[string]string{"Authorization": "Bearer x"}}, nil)
	start := time.Date(2025, 1, 10, 12, 0, 0, 0, time.UTC)
	alerts := []Alert{
		{Labels: map[string]string{"alertname": "A"}, Annotations: map[string]string{"summary": "s"}, StartsAt: start},
		{Labels: map[string]string{"alertname": "B"}, StartsAt: start, EndsAt: start.Add(time.Minute), GeneratorURL: "http://x"},
	}
	require.NoError(t, am.Send(context.Background(), alerts))
	require.Len(t, got, 2)
	require.Equal(t, "2025-01-10T12:00:00Z", got[0]["startsAt"])
	require.NotContains(t, got[0], "endsAt", "a firing alert without an end leaves endsAt out")
	require.Equal(t, "2025-01-10T12:01:00Z", got[1]["endsAt"])

	status = http.StatusBadRequest
	err := am.Send(context.Background(), alerts)
	require.ErrorContains(t, err, "400 Bad Request: bad alert")
	require.NoError(t, am.Send(context.Background(), nil), "nothing to send is no request")
}

func TestFingerprintIsAlertmanagers(t *testing.T) {
	labels := map[string]string{"alertname": "SLOErrorBudgetBurn", "slo": "checkout", "severity": "page"}
	ls := model.LabelSet{}
	for k, v := range labels {
		ls[model.LabelName(k)] = model.LabelValue(v)
	}
	a := Alert{Labels: labels}
	require.Equal(t, ls.Fingerprint().String(), a.Fingerprint())
	require.Len(t, a.Fingerprint(), 16)
}

func TestWebhookMessage(t *testing.T) {
	now := time.Date(2025, 1, 10, 12, 0, 0, 0, time.UTC)
	w := NewWebhook(WebhookConfig{URL: "http://x"}, nil)
	require.Equal(t, "meshscope", w.Name())
	require.Equal(t, 4*time.Hour, w.RepeatInterval())
	firing := Alert{Labels: map[string]string{"alertname": "A", "slo": "s", "severity": "page", "team": "t"},
		Annotations: map[string]string{"summary": "x", "description": "page"}, StartsAt: now.Add(-time.Minute), EndsAt: now.Add(4 * time.Minute)}
	resolved := Alert{Labels: map[string]string{"alertname": "A", "slo": "s", "severity": "ticket", "team": "t"},
		Annotations: map[string]string{"summary": "x", "description": "ticket"}, StartsAt: now.Add(-time.Hour), EndsAt: now.Add(-time.Second)}
	m := w.Message(map[string]string{"alertname": "A", "slo": "s"}, []Alert{firing, resolved}, "http://meshscope", now)
	require.Equal(t, "4", m.Version)
	require.Equal(t, "firing", m.Status, "firing while any alert fires")
	require.Equal(t, `{}:{alertname="A", slo="s"}`, m.GroupKey)
	require.Equal(t, map[string]string{"alertname": "A", "slo": "s", "team": "t"}, m.CommonLabels)
	require.Equal(t, map[string]string{"summary": "x"}, m.CommonAnnotations)
	require.Equal(t, "firing", m.Alerts[0].Status)
	require.True(t, m.Alerts[0].EndsAt.IsZero(), "firing alerts carry no end, as in Alertmanager's payloads")
	require.Equal(t, "resolved", m.Alerts[1].Status)
	require.Equal(t, resolved.EndsAt, m.Alerts[1].EndsAt)

	m = w.Message(map[string]string{"slo": "s"}, []Alert{resolved}, "", now)
	require.Equal(t, "resolved", m.Status)
}

func TestConfigValidate(t *testing.T) {
	require.NoError(t, (&AlertmanagerConfig{URL: "http://am:9093"}).Validate())
	require.EqualError(t, (&AlertmanagerConfig{URL: "am:9093"}).Validate(), `alertmanagers.url "am:9093": want http(s)://HOST:PORT`)
	require.EqualError(t, (&WebhookConfig{URL: "ftp://x"}).Validate(), `webhooks.url "ftp://x": want http(s)://HOST/PATH`)
	require.EqualError(t, (&WebhookConfig{URL: "http://x", Timeout: -1}).Validate(), "webhooks.timeout -1ns: must not be negative")
}
