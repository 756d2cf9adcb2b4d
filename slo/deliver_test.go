package slo

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/meshscope/meshscope/schema/chtest"
	"github.com/meshscope/meshscope/slo/notify"
)

// recorder is an HTTP receiver that keeps every body it gets.
type recorder struct {
	mu     sync.Mutex
	bodies [][]byte
	srv    *httptest.Server
}

func newRecorder(t *testing.T) *recorder {
	r := &recorder{}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.bodies = append(r.bodies, b)
		r.mu.Unlock()
	}))
	t.Cleanup(r.srv.Close)
	return r
}

// take returns and forgets the bodies received so far.
func (r *recorder) take() [][]byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.bodies
	r.bodies = nil
	return out
}

const deliverySpecs = `
slos:
  - name: checkout
    description: Checkout answers.
    target: {service: shop/checkout}
    sli: availability
    objective: 99.9
    window: 28d
    alerting: {min_requests: 10, ticket: []}
    labels: {team: payments}
`

// With one request a second and every request failing in [S, S+120), the
// page alert fires at S+52 and resolves at S+416, when the last 5 minutes
// hold 4 failures (burn 13.3 < 14.4).
func TestDelivery(t *testing.T) {
	st, _ := chtest.Store(t, "meshscope")
	seed(t, st, traffic{Source: "service:shop/web", Destination: "service:shop/checkout", From: S.Add(-7 * time.Hour), To: at(1500), BadFrom: S, BadTo: at(120)})
	am, hook := newRecorder(t), newRecorder(t)
	clk := &clock{t: S}
	e, _ := newEngine(t, Config{
		Path:           writeSpecs(t, "slos.yaml", deliverySpecs),
		ResendInterval: time.Minute,
		Alertmanagers:  []notify.AlertmanagerConfig{{URL: am.srv.URL}},
		Webhooks:       []notify.WebhookConfig{{Name: "ops", URL: hook.srv.URL, RepeatInterval: 2 * time.Minute}},
		ExternalURL:    "https://meshscope.example/",
	}, st, clk)
	require.NoError(t, e.Reload())
	ctx := context.Background()

	for _, step := range []struct {
		sec        int
		am         []string // state of the alert in each Alertmanager post: firing or resolved
		webhook    []string // status of each webhook payload
		amEndsAt   time.Time
		hookStarts time.Time
	}{
		{51, nil, nil, time.Time{}, time.Time{}},
		{52, []string{"firing"}, []string{"firing"}, at(52).Add(4 * time.Minute), at(52)},
		{82, nil, nil, time.Time{}, time.Time{}},
		{112, []string{"firing"}, nil, at(112).Add(4 * time.Minute), time.Time{}},
		{172, []string{"firing"}, []string{"firing"}, at(172).Add(4 * time.Minute), at(52)},
		{416, []string{"resolved"}, []string{"resolved"}, at(416), at(52)},
		{446, nil, nil, time.Time{}, time.Time{}},
		{476, []string{"resolved"}, nil, at(416), time.Time{}},
		{416 + 900, nil, nil, time.Time{}, time.Time{}},
		{1400, nil, nil, time.Time{}, time.Time{}},
	} {
		t.Run(fmt.Sprintf("S+%d", step.sec), func(t *testing.T) {
			clk.Set(at(step.sec))
			require.NoError(t, e.EvaluateAt(ctx, at(step.sec)))

			var amStates []string
			for _, b := range am.take() {
				var alerts []notify.Alert
				require.NoError(t, json.Unmarshal(b, &alerts))
				require.Len(t, alerts, 1)
				a := alerts[0]
				state := "firing"
				if a.Resolved(at(step.sec)) {
					state = "resolved"
				}
				amStates = append(amStates, state)
				require.Equal(t, at(52), a.StartsAt.UTC())
				require.Equal(t, step.amEndsAt, a.EndsAt.UTC())
				require.Equal(t, "page", a.Labels["severity"])
				require.Equal(t, "https://meshscope.example/api/v1/slos/checkout/status", a.GeneratorURL)
				require.Equal(t, "Checkout answers.", a.Annotations["slo_description"])
			}
			require.Equal(t, step.am, amStates)

			var hookStates []string
			for _, b := range hook.take() {
				var m map[string]any
				require.NoError(t, json.Unmarshal(b, &m))
				hookStates = append(hookStates, m["status"].(string))
				checkWebhookV4(t, b, step.hookStarts)
			}
			require.Equal(t, step.webhook, hookStates)
		})
	}
}

// checkWebhookV4 checks a payload against Alertmanager's webhook format,
// version 4.
func checkWebhookV4(t *testing.T, body []byte, startsAt time.Time) {
	t.Helper()
	var m notify.WebhookMessage
	require.NoError(t, json.Unmarshal(body, &m))
	require.Equal(t, "4", m.Version)
	require.Equal(t, "ops", m.Receiver)
	require.Equal(t, map[string]string{"alertname": AlertName, "slo": "checkout"}, m.GroupLabels)
	require.Equal(t, `{}:{alertname="SLOErrorBudgetBurn", slo="checkout"}`, m.GroupKey)
	require.Equal(t, "https://meshscope.example/", m.ExternalURL)
	require.Equal(t, "payments", m.CommonLabels["team"])
	require.Equal(t, "page", m.CommonLabels["severity"])
	require.Len(t, m.Alerts, 1)
	a := m.Alerts[0]
	require.Equal(t, m.Status, a.Status)
	require.Equal(t, startsAt, a.StartsAt.UTC())
	require.Regexp(t, "^[0-9a-f]{16}$", a.Fingerprint)
	if a.Status == "firing" {
		require.True(t, a.EndsAt.IsZero())
	} else {
		require.Equal(t, at(416), a.EndsAt.UTC())
	}
	var raw struct {
		Alerts []map[string]json.RawMessage `json:"alerts"`
	}
	require.NoError(t, json.Unmarshal(body, &raw))
	var keys []string
	for k := range raw.Alerts[0] {
		keys = append(keys, k)
	}
	require.ElementsMatch(t, []string{"status", "labels", "annotations", "startsAt", "endsAt", "generatorURL", "fingerprint"}, keys)
}
