package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/storage"

	"github.com/meshscope/meshscope/ingest/demo"
	"github.com/meshscope/meshscope/query/promstore"
	"github.com/meshscope/meshscope/schema/chstore"
	"github.com/meshscope/meshscope/slo"
	"github.com/meshscope/meshscope/slo/notify"
	"github.com/meshscope/meshscope/slo/spec"
)

// newSLOEngine builds the SLO engine from serve's options; it reads
// ClickHouse once the store is connected.
func newSLOEngine(o serveOptions, stores *storeHolder, api *api, reg prometheus.Registerer, log *slog.Logger) (*slo.Engine, error) {
	cfg := slo.Config{Path: o.sloPath, Interval: o.sloInterval, ExternalURL: o.externalURL, NewExceptions: o.newExcAlerts,
		DeploymentAlerts: o.deployAlerts, DeploymentChecks: o.deployChecks,
		InstanceAlerts: o.instanceAlerts, InstanceWindow: o.instanceWindow, InstanceChecks: o.instanceChecks, RuleFiles: splitList(o.ruleFiles),
		LogRuleFiles: splitList(o.logRuleFiles), RuleStateFile: filepath.Join(o.dataDir, "rule-alerts.json")}
	for _, u := range splitList(o.alertmanagerURLs) {
		cfg.Alertmanagers = append(cfg.Alertmanagers, notify.AlertmanagerConfig{URL: u})
	}
	for _, u := range splitList(o.sloWebhookURLs) {
		cfg.Webhooks = append(cfg.Webhooks, notify.WebhookConfig{URL: u})
	}
	return slo.New(cfg, slo.Deps{
		Store: func() slo.Store {
			if st := stores.get(); st != nil {
				return st
			}
			return nil
		},
		Deployments: stores,
		History:     stores,
		Registerer:  reg,
		Logger:      log.With("component", "slo"),
		PromQL: promql.NewEngine(promql.EngineOpts{Logger: log.With("component", "rules"), MaxSamples: 10_000_000, Timeout: time.Minute,
			LookbackDelta: 5 * time.Minute, EnableAtModifier: true, EnableNegativeOffset: true}),
		Queryable: &storeQueryable{stores: stores},
		LogQL: func(ctx context.Context, expr string, at time.Time) (promql.Vector, error) {
			q := api.query.Load()
			if q == nil {
				return nil, errors.New("clickhouse not connected yet")
			}
			return q.LogQLVector(ctx, expr, at)
		},
	})
}

// rulesMaxSeries is the most series one selector of an alerting rule may
// match (an interactive query's bound is 10,000).
const rulesMaxSeries = 200_000

// storeQueryable is the stored metrics as PromQL reads them, once
// ClickHouse is connected: what alerting rules are evaluated over.
type storeQueryable struct {
	stores *storeHolder
	mu     sync.Mutex
	st     *chstore.Store
	q      *promstore.Queryable
}

func (s *storeQueryable) Querier(mint, maxt int64) (storage.Querier, error) {
	st := s.stores.get()
	if st == nil {
		return nil, errors.New("clickhouse not connected yet")
	}
	s.mu.Lock()
	if s.st != st {
		// Rules read whole histograms (every bucket of every series the
		// mesh reports): more series than an interactive query may.
		s.st, s.q = st, promstore.New(st, promstore.Limits{MaxSeries: rulesMaxSeries})
	}
	q := s.q
	s.mu.Unlock()
	return q.Querier(mint, maxt)
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// defineDemoSLOs gives `serve --demo` without --slo-dir the demo mesh's
// example SLOs, in memory: the API may change or delete them, and they are
// gone when serve exits.
func defineDemoSLOs(e *slo.Engine, cfg demo.Config, log *slog.Logger) error {
	data, err := demo.SLOs(cfg)
	if err != nil {
		return fmt.Errorf("demo SLOs: %w", err)
	}
	parsed, err := spec.Parse(data, e.Defaults())
	if err != nil {
		return fmt.Errorf("demo SLOs: %w", err)
	}
	names := make([]string, 0, len(parsed))
	for _, p := range parsed {
		if err := e.Create(p); err != nil && !errors.Is(err, slo.ErrExists) {
			return fmt.Errorf("demo SLO %s: %w", p.Spec.Name, err)
		}
		names = append(names, p.Spec.Name)
	}
	log.Info("demo: SLOs defined", "slos", names)
	return nil
}
