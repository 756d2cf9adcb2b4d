package slo

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/prometheus/promql"
	"github.com/stretchr/testify/require"

	"github.com/meshscope/meshscope/query"
	"github.com/meshscope/meshscope/query/promstore"
	"github.com/meshscope/meshscope/schema"
	"github.com/meshscope/meshscope/schema/chstore"
	"github.com/meshscope/meshscope/schema/chtest"
	"github.com/meshscope/meshscope/slo/notify"
)

const queueRules = `groups:
  - name: queues
    labels:
      team: "{{ $labels.service }}-owners"
    rules:
      - alert: QueueTooDeep
        expr: queue_depth > 100
        for: 1m
        labels:
          severity: page
        annotations:
          summary: "{{ $labels.service }} queue at {{ $value }}"
          total: "{{ with query \"sum(queue_depth)\" }}{{ . | first | value }}{{ end }}"
      - alert: Broken
        expr: queue_depth{service="cart"} + on() group_left queue_depth
`

// writeRules writes a rule file and returns its path.
func writeRules(t *testing.T, name, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(p, []byte(text), 0o644))
	return p
}

// A Prometheus rule file's alerting rule over the stored metrics: pending
// for its `for`, then firing at a real Alertmanager and the webhooks, with
// its labels and annotations templated as Prometheus does; resolved once
// its condition no longer holds. A rule whose expression fails reads
// unhealthy with its error, in Prometheus' rules API.
func TestRuleAlerts(t *testing.T) {
	amHook, ourHook := newRecorder(t), newRecorder(t)
	base := startAlertmanager(t, amHook.srv.URL)
	st, _ := chtest.Store(t, "meshscope")
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Second) // Alertmanager judges endsAt by its own clock
	// cart's queue is 120 deep from 20 to 8 minutes ago, then 50; web's
	// always 10.
	var b schema.Batch
	for i, svc := range []string{"cart", "web"} {
		id := uint64(7000 + i)
		b.MetricSeries = append(b.MetricSeries, schema.MetricSeriesRow{SeriesID: id, MetricName: "queue_depth", Type: 1, ServiceName: svc, Source: "remote_write",
			LabelKeys: []string{"job", "service"}, LabelValues: []string{svc, svc}})
		for at := now.Add(-20 * time.Minute); !at.After(now); at = at.Add(15 * time.Second) {
			v := 10.0
			if svc == "cart" {
				v = 50
				if at.Before(now.Add(-8 * time.Minute)) {
					v = 120
				}
			}
			b.MetricSamples = append(b.MetricSamples, schema.MetricSampleRow{SeriesID: id, MetricName: "queue_depth", TimeUnixNano: uint64(at.UnixNano()), Value: v})
		}
	}
	require.NoError(t, st.Write(ctx, &b))

	e, err := New(Config{
		RuleFiles:      []string{writeRules(t, "queues.rules.yml", queueRules)},
		Alertmanagers:  []notify.AlertmanagerConfig{{URL: base}},
		Webhooks:       []notify.WebhookConfig{{Name: "ops", URL: ourHook.srv.URL}},
		ResendInterval: time.Hour, // endsAt lies four of them ahead of the evaluation
		ExternalURL:    "https://meshscope.example",
	}, Deps{Store: func() Store { return st },
		PromQL:    testPromQL(),
		Queryable: promstore.New(st, promstore.Limits{})})
	require.NoError(t, err)
	g := e.rules.groups[0]
	require.Equal(t, 30*time.Second, g.interval, "the SLO interval by default")

	// Pending first: listed, sent nowhere.
	e.evalGroup(ctx, g, now.Add(-12*time.Minute))
	alerts := e.RuleAlerts()
	require.Len(t, alerts, 1)
	require.Equal(t, "pending", alerts[0].State)
	require.Equal(t, map[string]string{"alertname": "QueueTooDeep", "job": "cart", "service": "cart", "severity": "page", "team": "cart-owners"}, alerts[0].Labels)
	require.Equal(t, "cart queue at 120", alerts[0].Annotations["summary"])
	require.Equal(t, "130", alerts[0].Annotations["total"], "a template's query runs at the evaluation's time")
	require.Empty(t, ourHook.take())

	// A minute later it fires.
	e.evalGroup(ctx, g, now.Add(-11*time.Minute))
	got := amAlerts(t, base, `alertname="QueueTooDeep"`)
	require.Len(t, got, 1)
	require.Equal(t, "active", got[0].Status.State)
	require.Equal(t, "cart-owners", got[0].Labels["team"])
	require.True(t, now.Add(-11*time.Minute).Equal(got[0].StartsAt), "startsAt %s", got[0].StartsAt)
	require.Contains(t, got[0].GeneratorURL, "https://meshscope.example/prometheus/api/v1/query?query=queue_depth+%3E+100")
	waitFor(t, amHook, "firing")
	require.Len(t, ourHook.take(), 1)
	require.Equal(t, 1.0, testutil.ToFloat64(e.metrics.ruleAlerts.WithLabelValues("QueueTooDeep")))
	// Still firing: the webhooks heard of it once.
	e.evalGroup(ctx, g, now.Add(-10*time.Minute))
	require.Empty(t, ourHook.take())

	// Prometheus' rules API: the firing rule, the broken one unhealthy.
	var rules struct {
		Status string
		Data   struct{ Groups []promRuleGroup }
	}
	for _, path := range []string{"/api/v1/rules", "/prometheus/api/v1/rules"} {
		require.Equal(t, http.StatusOK, call(t, e.Handler(), "GET", path, "", &rules))
		require.Equal(t, "success", rules.Status)
		require.Len(t, rules.Data.Groups, 1)
		rs := rules.Data.Groups[0].Rules
		require.Len(t, rs, 2)
		require.Equal(t, [4]string{"QueueTooDeep", "firing", "ok", "alerting"}, [4]string{rs[0].Name, rs[0].State, rs[0].Health, rs[0].Type})
		require.Equal(t, 60.0, rs[0].Duration)
		require.Len(t, rs[0].Alerts, 1)
		require.Equal(t, "firing", rs[0].Alerts[0].State)
		require.Equal(t, "err", rs[1].Health)
		require.NotEmpty(t, rs[1].LastError)
	}
	// Prometheus' filters.
	for path, want := range map[string][]string{
		"/prometheus/api/v1/rules?type=record":                      nil,
		"/prometheus/api/v1/rules?type=alert":                       {"QueueTooDeep", "Broken"},
		"/prometheus/api/v1/rules?rule_name[]=Broken":               {"Broken"},
		"/prometheus/api/v1/rules?rule_group[]=other":               nil,
		"/prometheus/api/v1/rules?file[]=" + e.rules.groups[0].file: {"QueueTooDeep", "Broken"},
		"/prometheus/api/v1/rules?rule_name[]=None":                 nil,
	} {
		rules.Data.Groups = nil
		require.Equal(t, http.StatusOK, call(t, e.Handler(), "GET", path, "", &rules), path)
		var names []string
		for _, g := range rules.Data.Groups {
			for _, r := range g.Rules {
				names = append(names, r.Name)
			}
		}
		require.Equal(t, want, names, path)
	}
	require.Equal(t, http.StatusOK, call(t, e.Handler(), "GET", "/prometheus/api/v1/rules?exclude_alerts=true", "", &rules))
	require.Empty(t, rules.Data.Groups[0].Rules[0].Alerts)
	require.Equal(t, http.StatusBadRequest, call(t, e.Handler(), "GET", "/prometheus/api/v1/rules?type=recording", "", nil))

	var listed alertsResponse
	require.Equal(t, http.StatusOK, call(t, e.Handler(), "GET", "/api/v1/alerts", "", &listed))
	require.Len(t, listed.RuleAlerts, 1)
	require.Equal(t, "firing", listed.RuleAlerts[0].State)

	// cart's queue fell: resolved, at Alertmanager and the webhooks.
	e.evalGroup(ctx, g, now.Add(-time.Minute))
	require.Eventually(t, func() bool {
		got, err := getAMAlerts(base, `alertname="QueueTooDeep"`)
		return err == nil && len(got) == 0
	}, 30*time.Second, 100*time.Millisecond, "the resolved alert leaves Alertmanager's active alerts")
	ours := ourHook.take()
	require.Len(t, ours, 1)
	require.Contains(t, string(ours[0]), `"status":"resolved"`)
	require.Empty(t, e.RuleAlerts())
}

// Rule files are checked when the engine is built: a glob matching
// nothing, a file promtool would refuse, a recording rule.
func TestRuleFilesRefused(t *testing.T) {
	deps := Deps{PromQL: promql.NewEngine(promql.EngineOpts{}), Queryable: promstore.New(nil, promstore.Limits{})}
	for _, tc := range []struct{ text, want string }{
		{"groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: up ==\n", "parse error"},
		{"groups:\n  - name: g\n    rules:\n      - record: job:up:sum\n        expr: sum(up)\n", `recording rule "job:up:sum": recording rules are not supported`},
		{"groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: up\n        unknown: 1\n", "field unknown not found"},
	} {
		_, err := New(Config{RuleFiles: []string{writeRules(t, "r.yml", tc.text)}}, deps)
		require.ErrorContains(t, err, tc.want)
		require.ErrorContains(t, err, "r.yml")
	}
	_, err := New(Config{RuleFiles: []string{filepath.Join(t.TempDir(), "*.rules")}}, deps)
	require.ErrorContains(t, err, "no file matches")
	_, err = New(Config{RuleFiles: []string{writeRules(t, "r.yml", queueRules)}}, Deps{})
	require.ErrorContains(t, err, "no PromQL engine")
}

// Reloading the rule files keeps the alerts of the rules found again,
// starts the new ones afresh, and keeps the rules loaded before when the
// files no longer parse.
func TestReloadRules(t *testing.T) {
	st, _ := chtest.Store(t, "meshscope")
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Second)
	writeQueueDepth(t, st, now.Add(-10*time.Minute), now)
	path := writeRules(t, "queues.yml", "groups:\n  - name: q\n    rules:\n      - alert: Deep\n        expr: queue_depth > 100\n        for: 5m\n")
	e, err := New(Config{RuleFiles: []string{path}}, Deps{Store: func() Store { return st },
		PromQL:    testPromQL(),
		Queryable: promstore.New(st, promstore.Limits{})})
	require.NoError(t, err)
	e.evalGroup(ctx, e.rules.groups[0], now.Add(-2*time.Minute))
	require.Len(t, e.RuleAlerts(), 1)
	activeAt := e.RuleAlerts()[0].ActiveAt

	require.NoError(t, os.WriteFile(path, []byte("groups:\n  - name: q\n    rules:\n      - alert: Deep\n        expr: queue_depth > 100\n        for: 5m\n      - alert: Deeper\n        expr: queue_depth > 110\n"), 0o644))
	require.NoError(t, e.ReloadRules())
	require.Len(t, e.rules.groups[0].rules, 2)
	alerts := e.RuleAlerts()
	require.Len(t, alerts, 1, "the new rule has not been evaluated yet")
	require.Equal(t, activeAt, alerts[0].ActiveAt, "the rule found again kept its pending alert")
	e.evalGroup(ctx, e.rules.groups[0], now.Add(-time.Minute))
	alerts = e.RuleAlerts()
	require.Len(t, alerts, 2)
	require.Equal(t, [2]string{"Deep", "pending"}, [2]string{alerts[0].Name, alerts[0].State})
	require.Equal(t, [2]string{"Deeper", "firing"}, [2]string{alerts[1].Name, alerts[1].State}, "no for: fires at once")

	require.NoError(t, os.WriteFile(path, []byte("groups:\n  - name: q\n    rules:\n      - alert: Broken\n        expr: queue_depth >\n"), 0o644))
	require.ErrorContains(t, e.ReloadRules(), "queues.yml")
	require.Len(t, e.rules.groups[0].rules, 2, "the rules loaded before stay")
	select {
	case <-e.rules.changed:
	default:
		t.Fatal("the first reload signals the running groups")
	}

	// Running, the groups of a reload are the ones evaluated.
	run, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); e.runRules(run) }()
	defer func() { stop(); <-done }()
	require.NoError(t, os.WriteFile(path, []byte("groups:\n  - name: q\n    interval: 1s\n    rules:\n      - alert: Deepest\n        expr: queue_depth > 115\n"), 0o644))
	require.NoError(t, e.ReloadRules())
	require.Eventually(t, func() bool {
		alerts := e.RuleAlerts()
		return len(alerts) == 1 && alerts[0].Name == "Deepest"
	}, 30*time.Second, 50*time.Millisecond, "the reloaded group runs")
}

// BenchmarkMeshRules evaluates deploy/prometheus/mesh-alerts.yaml's group
// (error rate, p99 latency, plaintext calls) over the last 10 minutes of
// the Istio metrics of 60 services, each called by 10 workloads (600 call
// series of istio_requests_total in 2 codes, 12,600 bucket series of
// istio_request_duration_milliseconds), every 15 seconds: the group
// evaluated (rules: PromQL, alert state, templates), against the same
// three expressions run by the PromQL engine alone (queries), same run.
func BenchmarkMeshRules(b *testing.B) {
	st, _ := chtest.Store(b, "meshscope")
	ctx := context.Background()
	now := time.Now().Truncate(time.Second)
	const svcs, callers = 60, 10
	labels := `['job', 'reporter', 'destination_service_namespace', 'destination_service_name', 'source_workload', 'source_workload_namespace', 'connection_security_policy', 'response_code']`
	values := `['istio', 'destination', 'bench', concat('svc-', toString(intDiv(c, 10))), concat('caller-', toString(c % 10)), 'bench', if(c % 10 = 0, 'none', 'mutual_tls'), code]`
	require.NoError(b, st.Conn().Exec(ctx, fmt.Sprintf(`INSERT INTO metric_series (series_id, metric_name, type, unit, description, temporality, monotonic,
  service_name, source, first_seen, resource_keys, resource_values, label_keys, label_values)
SELECT number, 'istio_requests_total', 2, '', '', 2, 1, 'istio', 'remote_write', now(), [], [], %s, %s
FROM (SELECT number, intDiv(number, 2) AS c, if(number %% 2 = 0, '200', '503') AS code FROM numbers(%d))`, labels, values, 2*svcs*callers)))
	require.NoError(b, st.Conn().Exec(ctx, fmt.Sprintf(`INSERT INTO metric_series (series_id, metric_name, type, unit, description, temporality, monotonic,
  service_name, source, first_seen, resource_keys, resource_values, label_keys, label_values)
SELECT 100000 + number, 'istio_request_duration_milliseconds_bucket', 2, '', '', 2, 1, 'istio', 'remote_write', now(), [], [],
       arrayPushBack(%s, 'le'), arrayPushBack(%s, le)
FROM (SELECT number, intDiv(number, 42) AS c, if(intDiv(number, 21) %% 2 = 0, '200', '503') AS code,
             ['1', '2', '5', '10', '20', '50', '100', '200', '300', '400', '500', '1000', '2000', '5000', '10000', '20000', '30000', '60000', '300000', '600000', '+Inf'][number %% 21 + 1] AS le
      FROM numbers(%d))`, labels, values, 42*svcs*callers)))
	// Every series counts up every 15 s (a bucket by its bound's share).
	require.NoError(b, st.Conn().Exec(ctx, fmt.Sprintf(`INSERT INTO metric_samples (series_id, metric_name, timestamp, time_unix_nano, start_time_unix_nano,
  value, count, sum, min, max, bucket_bounds, bucket_counts, exp_scale, exp_zero_count, exp_positive_offset, exp_positive_counts,
  exp_negative_offset, exp_negative_counts, quantiles, quantile_values, flags)
SELECT s, if(s < 100000, 'istio_requests_total', 'istio_request_duration_milliseconds_bucket'), toDateTime(intDiv(t, 1000000000)), t, 0,
       toFloat64(k * (10 + s %% 21)), 0, 0, nan, nan, [], [], 0, 0, 0, [], 0, [], [], [], 0
FROM (SELECT if(number %% %d < %d, number %% %d, 100000 + number %% %d - %d) AS s, intDiv(number, %d) AS k,
             toUInt64(%d) + k * 15000000000 AS t FROM numbers(%d))`,
		43*svcs*callers, 2*svcs*callers, 43*svcs*callers, 43*svcs*callers, 2*svcs*callers, 43*svcs*callers, now.Add(-10*time.Minute).UnixNano(), 41*43*svcs*callers)))
	engine := promql.NewEngine(promql.EngineOpts{MaxSamples: 50_000_000, Timeout: time.Minute, LookbackDelta: 5 * time.Minute})
	q := promstore.New(st, promstore.Limits{MaxSeries: 200_000})
	e, err := New(Config{RuleFiles: []string{filepath.Join("..", "deploy", "prometheus", "mesh-alerts.yaml")}}, Deps{PromQL: engine, Queryable: q})
	require.NoError(b, err)
	g := e.rules.groups[0]
	b.Run("rules", func(b *testing.B) {
		for b.Loop() {
			e.evalGroup(ctx, g, now)
			for _, r := range g.rules {
				require.Equal(b, "ok", r.health, r.lastErr)
			}
		}
	})
	b.Run("queries", func(b *testing.B) {
		for b.Loop() {
			for _, r := range g.rules {
				_, err := e.ruleQuery(ctx, r.expr, now)
				require.NoError(b, err)
			}
		}
	})
	e.evalGroup(ctx, g, now)
	active := map[string]int{}
	for _, a := range e.RuleAlerts() {
		active[a.Name]++
	}
	b.Logf("active alerts: %v", active)
}

// A log rule file (LogQL, as Loki's ruler reads it) alerts on the stored
// log records, evaluated by the query server's LogQL: a service logging
// errors fires, one logging none does not.
func TestLogRuleAlerts(t *testing.T) {
	hook := newRecorder(t)
	st, _ := chtest.Store(t, "meshscope")
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Second)
	var b schema.Batch
	for i := range 12 {
		b.Logs = append(b.Logs, schema.LogRow{TimeUnixNano: uint64(now.Add(-time.Duration(i) * 10 * time.Second).UnixNano()), SeverityNumber: 17,
			ServiceName: "cart", ServiceNamespace: "shop", Body: fmt.Sprintf("payment %d failed: timeout", i)})
		b.Logs = append(b.Logs, schema.LogRow{TimeUnixNano: uint64(now.Add(-time.Duration(i) * 10 * time.Second).UnixNano()), SeverityNumber: 9,
			ServiceName: "web", ServiceNamespace: "shop", Body: "ok"})
	}
	require.NoError(t, st.Write(ctx, &b))
	qs, err := query.NewServer(query.Config{}, query.Deps{Store: st})
	require.NoError(t, err)
	path := writeRules(t, "logs.rules.yml", `groups:
  - name: log-errors
    rules:
      - alert: ServiceLogsTimeouts
        expr: sum by (service_name) (count_over_time({level="error"} |= "timeout" [5m])) > 10
        labels:
          severity: ticket
        annotations:
          summary: "{{ $labels.service_name }} logged {{ $value }} timeouts in 5 minutes"
          errors: '{{ with printf "sum(count_over_time({service_name=%q, level=\"error\"}[5m]))" $labels.service_name | query }}{{ . | first | value }}{{ end }} errors in all'
`)
	e, err := New(Config{LogRuleFiles: []string{path}, Webhooks: []notify.WebhookConfig{{Name: "ops", URL: hook.srv.URL}}, ExternalURL: "https://meshscope.example"},
		Deps{Store: func() Store { return st }, LogQL: qs.LogQLVector})
	require.NoError(t, err)
	g := e.rules.groups[0]
	require.True(t, g.logs)
	e.evalGroup(ctx, g, now)
	alerts := e.RuleAlerts()
	require.Len(t, alerts, 1, "%+v", alerts)
	require.Equal(t, map[string]string{"alertname": "ServiceLogsTimeouts", "service_name": "cart", "severity": "ticket"}, alerts[0].Labels)
	require.Equal(t, "firing", alerts[0].State)
	require.Equal(t, "cart logged 12 timeouts in 5 minutes", alerts[0].Annotations["summary"])
	require.Equal(t, "12 errors in all", alerts[0].Annotations["errors"], "a template's query is LogQL too")
	sent := hook.take()
	require.Len(t, sent, 1)
	require.Contains(t, string(sent[0]), "https://meshscope.example/loki/api/v1/query?query=sum+by")

	// A log rule file is LogQL: a PromQL function or a bare selector is
	// refused, as is a LogQL file without the LogQL evaluation.
	bad := writeRules(t, "bad.yml", "groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: '{level=\"error\"}'\n")
	_, err = New(Config{LogRuleFiles: []string{bad}}, Deps{LogQL: qs.LogQLVector})
	require.ErrorContains(t, err, "count them")
	bad = writeRules(t, "bad.yml", "groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: histogram_quantile(0.9, x)\n")
	_, err = New(Config{LogRuleFiles: []string{bad}}, Deps{LogQL: qs.LogQLVector})
	require.ErrorContains(t, err, "log_rule_files")
	_, err = New(Config{LogRuleFiles: []string{path}}, Deps{})
	require.ErrorContains(t, err, "no LogQL evaluation")
	groups, err := CheckRules([]string{path}, time.Minute, true)
	require.NoError(t, err)
	require.Equal(t, []RuleGroupInfo{{File: path, Name: "log-errors", Interval: time.Minute, Alerts: []string{"ServiceLogsTimeouts"}}}, groups)
	_, err = CheckRules([]string{path}, time.Minute, false)
	require.Error(t, err, "LogQL is no PromQL")
}

// With a state file, a restarted engine finds its rules' alerts as they
// were: a pending alert's `for` goes on from when it started, and webhooks
// do not hear of a firing alert twice. A file from a long outage restores
// nothing.
func TestRuleStateAcrossRestarts(t *testing.T) {
	hook := newRecorder(t)
	st, _ := chtest.Store(t, "meshscope")
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Second)
	writeQueueDepth(t, st, now.Add(-20*time.Minute), now)
	rules := writeRules(t, "q.yml", "groups:\n  - name: q\n    rules:\n      - alert: Deep\n        expr: queue_depth > 100\n        for: 5m\n")
	state := filepath.Join(t.TempDir(), "rule-alerts.json")
	clock := now
	start := func() *Engine {
		e, err := New(Config{RuleFiles: []string{rules}, RuleStateFile: state, Webhooks: []notify.WebhookConfig{{Name: "ops", URL: hook.srv.URL}}},
			Deps{Store: func() Store { return st }, Now: func() time.Time { return clock },
				PromQL:    testPromQL(),
				Queryable: promstore.New(st, promstore.Limits{})})
		require.NoError(t, err)
		return e
	}

	e := start()
	e.evalGroup(ctx, e.rules.groups[0], now.Add(-10*time.Minute))
	require.Equal(t, "pending", e.RuleAlerts()[0].State)
	// Restarted: still pending since then, so firing 5 minutes after it
	// began, not 5 minutes after the restart.
	e = start()
	require.Len(t, e.RuleAlerts(), 1)
	require.Equal(t, now.Add(-10*time.Minute), e.RuleAlerts()[0].ActiveAt)
	e.evalGroup(ctx, e.rules.groups[0], now.Add(-5*time.Minute))
	require.Equal(t, "firing", e.RuleAlerts()[0].State)
	require.Len(t, hook.take(), 1)
	// Restarted while firing: the webhooks heard of it already.
	e = start()
	e.evalGroup(ctx, e.rules.groups[0], now.Add(-4*time.Minute))
	require.Equal(t, "firing", e.RuleAlerts()[0].State)
	require.Empty(t, hook.take())

	// Two hours later the file is too old: nothing restored.
	clock = now.Add(2 * time.Hour)
	e = start()
	require.Empty(t, e.RuleAlerts())
}

// writeQueueDepth stores cart's queue_depth, 120 every 15 s from from to
// to, as remote_write sends it.
func writeQueueDepth(t *testing.T, st *chstore.Store, from, to time.Time) {
	t.Helper()
	var b schema.Batch
	b.MetricSeries = append(b.MetricSeries, schema.MetricSeriesRow{SeriesID: 1, MetricName: "queue_depth", Type: 1, ServiceName: "cart", Source: "remote_write",
		LabelKeys: []string{"job", "service"}, LabelValues: []string{"cart", "cart"}})
	for at := from; !at.After(to); at = at.Add(15 * time.Second) {
		b.MetricSamples = append(b.MetricSamples, schema.MetricSampleRow{SeriesID: 1, MetricName: "queue_depth", TimeUnixNano: uint64(at.UnixNano()), Value: 120})
	}
	require.NoError(t, st.Write(context.Background(), &b))
}

// testPromQL is the PromQL engine the rule tests evaluate with.
func testPromQL() *promql.Engine {
	return promql.NewEngine(promql.EngineOpts{MaxSamples: 1e6, Timeout: time.Minute, LookbackDelta: 5 * time.Minute})
}
