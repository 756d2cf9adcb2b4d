package main

import (
	"log/slog"
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/meshscope/meshscope/slo"
	"github.com/meshscope/meshscope/slo/notify"
)

// newSLOEngine builds the SLO engine from serve's options; it reads
// ClickHouse once the store is connected.
func newSLOEngine(o serveOptions, stores *storeHolder, reg prometheus.Registerer, log *slog.Logger) (*slo.Engine, error) {
	cfg := slo.Config{Path: o.sloPath, Interval: o.sloInterval, ExternalURL: o.externalURL}
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
		Registerer: reg,
		Logger:     log.With("component", "slo"),
	})
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
