package slo

import (
	"errors"
	"fmt"
	"time"

	"github.com/meshscope/meshscope/slo/notify"
	"github.com/meshscope/meshscope/slo/spec"
)

// Config configures the SLO engine. The YAML keys are the field tags; zero
// values take the defaults noted on each field (SetDefaults).
type Config struct {
	// Path is a spec file or a directory of spec files (*.yaml, *.yml,
	// *.json, not recursive). Specs created through the API are written to
	// the directory as NAME.yaml; with a single file they are refused, and
	// with no path at all they live in memory only.
	Path string `yaml:"path"`
	// Interval between evaluations (default 30s).
	Interval time.Duration `yaml:"interval"`
	// Delay shifts every evaluation's windows back from now, so that rows
	// still on their way to ClickHouse are not missed (default 10s;
	// negative means none).
	Delay time.Duration `yaml:"delay"`
	// PollInterval is how often spec files are checked for changes
	// (default 5s; negative disables; SIGHUP always reloads).
	PollInterval time.Duration `yaml:"poll_interval"`
	// QueryTimeout bounds the queries of one SLO's evaluation (default 20s).
	QueryTimeout time.Duration `yaml:"query_timeout"`
	// Concurrency is how many SLOs are evaluated at once (default 8).
	Concurrency int `yaml:"concurrency"`
	// BudgetFromEdges reads the whole hours of each SLO window from the
	// edges_1h aggregates where they measure the SLO (availability with the
	// default error rule on a service or an edge); alerting windows are
	// always exact from raw rows. Enable it when the graph builder writes
	// edges for the whole SLO window (default false: raw rows only).
	BudgetFromEdges bool `yaml:"budget_from_edges"`
	// Settle is how long after an hour ends its counts are cached for the
	// error budget (default 10m; see budget.go).
	Settle time.Duration `yaml:"settle"`
	// ResendInterval is how often firing alerts, and resolved ones within
	// ResolvedRetention, are sent to Alertmanager again (default 1m).
	ResendInterval time.Duration `yaml:"resend_interval"`
	// ResolvedRetention is how long a resolved alert stays resolved (listed
	// and re-sent) before it turns inactive (default 15m).
	ResolvedRetention time.Duration `yaml:"resolved_retention"`
	// Alerting are the defaults of specs that leave alerting fields out;
	// unset fields take spec.DefaultAlerting (the SRE Workbook's windows).
	Alerting spec.Alerting `yaml:"alerting"`
	// Alertmanagers receive every alert (API v2).
	Alertmanagers []notify.AlertmanagerConfig `yaml:"alertmanagers"`
	// Webhooks receive Alertmanager webhook v4 payloads.
	Webhooks []notify.WebhookConfig `yaml:"webhooks"`
	// NewExceptions alerts, at every evaluation, on the exception types
	// services show for the first time (newexceptions.go; default false).
	NewExceptions bool `yaml:"new_exceptions"`
	// NewExceptionHold is how long a new exception alert fires (default 1h).
	NewExceptionHold time.Duration `yaml:"new_exception_hold"`
	// DeploymentAlerts alerts, at every evaluation, on the versions
	// deployed within DeploymentWatch that read worse than their services'
	// other versions (deployments.go; default false).
	DeploymentAlerts bool `yaml:"deployment_alerts"`
	// DeploymentWatch is how long after its first calls a deployed version
	// is compared (default 1h).
	DeploymentWatch time.Duration `yaml:"deployment_watch"`
	// DeploymentChecks is at how many evaluations in a row a deployed
	// version must read worse before its alert fires (default 3): each
	// evaluation tests the calls since the deploy again, and asking that
	// the answer stay the same guards against a chance reading, as
	// Flagger's failed-checks threshold does.
	DeploymentChecks int `yaml:"deployment_checks"`
	// InstanceAlerts alerts, at every evaluation, on the instances (pods)
	// that failed more often or answered slower than their services' other
	// instances over the last InstanceWindow, by their sidecars' access log
	// entries (instances.go; default false).
	InstanceAlerts bool `yaml:"instance_alerts"`
	// InstanceWindow is the stretch of calls compared (default 10m).
	InstanceWindow time.Duration `yaml:"instance_window"`
	// InstanceChecks is at how many evaluations in a row an instance must
	// stand out before its alert fires (default 3).
	InstanceChecks int `yaml:"instance_checks"`
	// RuleFiles are Prometheus rule files (globs), whose alerting rules
	// are evaluated over the stored metrics by Prometheus' rule manager
	// (rules.go); recording rules are refused. Default none.
	RuleFiles []string `yaml:"rule_files"`
	// LogRuleFiles are rule files of the same format whose expressions are
	// LogQL metric queries over the stored log records (as Loki's ruler
	// reads its own): count_over_time, rate or an unwrapped aggregation,
	// perhaps summed, compared with a number. Default none.
	LogRuleFiles []string `yaml:"log_rule_files"`
	// RuleStateFile keeps the rules' alerts (pending since, firing since,
	// what was sent) across restarts, so that a `for` does not start again
	// and webhooks do not hear of a firing alert twice (rulestate.go).
	// Default none: the state lives in memory.
	RuleStateFile string `yaml:"rule_state_file"`
	// ExternalURL is meshscope's address as users reach it, for the
	// generatorURL of alerts (default: none).
	ExternalURL string `yaml:"external_url"`
	// Examples is how many failing edges and trace ids annotate an alert
	// (default 5).
	Examples int `yaml:"examples"`
}

// SetDefaults fills zero fields with their defaults.
func (c *Config) SetDefaults() {
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&c.Interval, 30*time.Second)
	def(&c.Delay, 10*time.Second)
	def(&c.PollInterval, 5*time.Second)
	def(&c.QueryTimeout, 20*time.Second)
	def(&c.ResendInterval, time.Minute)
	def(&c.ResolvedRetention, 15*time.Minute)
	def(&c.Settle, 10*time.Minute)
	def(&c.NewExceptionHold, time.Hour)
	def(&c.DeploymentWatch, time.Hour)
	def(&c.InstanceWindow, 10*time.Minute)
	if c.Concurrency == 0 {
		c.Concurrency = 8
	}
	if c.Examples == 0 {
		c.Examples = 5
	}
	if c.InstanceChecks == 0 {
		c.InstanceChecks = 3
	}
	if c.DeploymentChecks == 0 {
		c.DeploymentChecks = 3
	}
}

// Validate names the YAML key at fault. Call SetDefaults first.
func (c *Config) Validate() error {
	switch {
	case c.Interval < time.Second:
		return fmt.Errorf("interval %s: want at least 1s", c.Interval)
	case c.QueryTimeout <= 0:
		return fmt.Errorf("query_timeout %s: must be positive", c.QueryTimeout)
	case c.Concurrency < 1:
		return fmt.Errorf("concurrency %d: want at least 1", c.Concurrency)
	case c.ResendInterval <= 0:
		return fmt.Errorf("resend_interval %s: must be positive", c.ResendInterval)
	case c.ResolvedRetention < 0:
		return fmt.Errorf("resolved_retention %s: must not be negative", c.ResolvedRetention)
	case c.Examples < 0:
		return fmt.Errorf("examples %d: must not be negative", c.Examples)
	case c.Settle < 0:
		return fmt.Errorf("settle %s: must not be negative", c.Settle)
	case c.NewExceptionHold < 0:
		return fmt.Errorf("new_exception_hold %s: must not be negative", c.NewExceptionHold)
	case c.DeploymentWatch < 0:
		return fmt.Errorf("deployment_watch %s: must not be negative", c.DeploymentWatch)
	case c.DeploymentChecks < 1:
		return fmt.Errorf("deployment_checks %d: want at least 1", c.DeploymentChecks)
	case c.InstanceWindow < 0:
		return fmt.Errorf("instance_window %s: must not be negative", c.InstanceWindow)
	case c.InstanceChecks < 1:
		return fmt.Errorf("instance_checks %d: want at least 1", c.InstanceChecks)
	}
	d := c.defaults()
	// The defaults must make a valid spec of the most permissive kind.
	probe := spec.SLO{Name: "probe", Target: spec.Target{Service: "a/b"}, SLI: spec.SLI{Kind: spec.Availability}, Objective: 99.999, Window: spec.Window{Rolling: spec.Duration(366 * 24 * time.Hour)}}
	if _, err := probe.Resolve(d, ""); err != nil {
		var fe *spec.FieldError
		if errors.As(err, &fe) {
			return fmt.Errorf("%s: %s", fe.Field, fe.Reason)
		}
		return err
	}
	for i := range c.Alertmanagers {
		if err := c.Alertmanagers[i].Validate(); err != nil {
			return fmt.Errorf("alertmanagers[%d]: %w", i, err)
		}
	}
	for i := range c.Webhooks {
		if err := c.Webhooks[i].Validate(); err != nil {
			return fmt.Errorf("webhooks[%d]: %w", i, err)
		}
	}
	return nil
}

// defaults are the alerting defaults: Config.Alerting over spec.DefaultAlerting.
func (c *Config) defaults() spec.Alerting {
	a := c.Alerting
	return spec.Merge(&a, spec.DefaultAlerting())
}
