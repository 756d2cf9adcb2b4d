// Package slo is meshscope's SLO engine: it loads SLO specs from YAML files
// and its HTTP API, evaluates every SLO on an interval from ClickHouse
// (SLI, error budget, burn rates over each alerting window in one query),
// runs multiwindow multi-burn-rate alerts through their states, records
// state changes in the slo_alerts table, exports Prometheus metrics,
// notifies Alertmanager and webhooks, and backtests specs over stored
// data. It reads ClickHouse through schema's contract and never imports
// query/ or ingest/; cmd/meshscope wires it.
package slo

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/storage"

	"github.com/meshscope/meshscope/graph"
	"github.com/meshscope/meshscope/schema"
	"github.com/meshscope/meshscope/slo/alert"
	"github.com/meshscope/meshscope/slo/notify"
	"github.com/meshscope/meshscope/slo/spec"
)

// Store is the engine's access to ClickHouse; *chstore.Store implements it.
type Store interface {
	Conn() driver.Conn
	InsertColumns(ctx context.Context, t schema.Table, columns []any) error
}

// Deps are the engine's collaborators.
type Deps struct {
	// Store returns the ClickHouse store, or nil while it is not connected
	// (evaluations are then skipped). Nil means no ClickHouse at all.
	Store func() Store
	// Registerer receives the engine's metrics; nil registers nowhere.
	Registerer prometheus.Registerer
	// Logger; nil discards.
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// HTTPClient sends notifications; nil means http.DefaultClient.
	HTTPClient *http.Client
	// Deployments and History answer the versions deployed within a range
	// and the graph by version, for Config.DeploymentAlerts.
	Deployments graph.DeploymentReader
	History     graph.History
	// PromQL evaluates Config.RuleFiles' expressions over Queryable, the
	// stored metrics (rules.go).
	PromQL    promql.QueryEngine
	Queryable storage.Queryable
	// LogQL evaluates Config.LogRuleFiles' expressions (LogQL metric
	// queries over the stored log records) at one time (rules.go).
	LogQL func(ctx context.Context, expr string, at time.Time) (promql.Vector, error)
}

// ErrNoStore is returned by operations that need ClickHouse while it is
// not connected.
var ErrNoStore = errors.New("slo: clickhouse not connected")

// Engine is the SLO engine. Its methods are safe for concurrent use.
type Engine struct {
	cfg      Config
	defaults spec.Alerting
	deps     Deps
	log      *slog.Logger
	metrics  *metrics
	ams      []*notify.Alertmanager
	hooks    []*notify.Webhook

	// loadMu serialises spec loads and API writes.
	loadMu sync.Mutex
	// evalMu serialises evaluations.
	evalMu sync.Mutex

	mu          sync.Mutex
	slos        map[string]*entry
	fileErrors  []FileError
	fileSLOs    map[string][]*entry // last good SLOs of each file
	fingerprint string
	status      map[string]*Status
	alerts      map[alertKey]*alertState
	enrichments map[string]*enrichment
	budgets     map[string]*budgetCache
	restored    bool
	// pendingRows are history rows waiting for the next evaluation's write.
	pendingRows []historyRow
	// newExc is the new exceptions watch (newexceptions.go), used by Run's
	// loop only.
	newExc newExceptionWatch
	// excAlerts are the new exception alerts firing at the last check, for
	// the API.
	excAlerts published[ExceptionAlertView]
	// deploys is the deployment regressions watch (deployments.go), used by
	// Run's loop only; deployAlerts its firing alerts for the API.
	deploys      deploymentWatch
	deployAlerts published[DeploymentAlertView]
	// instanceWatch is the instance outliers watch (instances.go), used by
	// Run's loop only; instanceAlerts its firing alerts for the API.
	instanceWatch  heldAlerts[instanceKey]
	instanceAlerts published[InstanceAlertView]
	// rules runs Config.RuleFiles (rules.go); nil without them.
	rules *ruleAlerts
}

// entry is a loaded SLO.
type entry struct {
	written  spec.SLO
	resolved spec.SLO
	// file is the spec file, "" for SLOs kept in memory.
	file string
	// fileSLOs is how many SLOs the file holds.
	fileSLOs int
	loadedAt time.Time
}

type alertKey struct{ slo, severity string }

// New builds an engine. It loads nothing and starts nothing: call Reload
// (or Run, which loads and then evaluates until its context ends).
func New(cfg Config, deps Deps) (*Engine, error) {
	cfg.SetDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("slo config: %w", err)
	}
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}
	if deps.Store == nil {
		deps.Store = func() Store { return nil }
	}
	e := &Engine{
		cfg:         cfg,
		defaults:    cfg.defaults(),
		deps:        deps,
		log:         deps.Logger,
		slos:        map[string]*entry{},
		fileSLOs:    map[string][]*entry{},
		status:      map[string]*Status{},
		alerts:      map[alertKey]*alertState{},
		enrichments: map[string]*enrichment{},
		budgets:     map[string]*budgetCache{},
	}
	m, err := newMetrics(deps.Registerer)
	if err != nil {
		return nil, err
	}
	e.metrics = m
	for _, c := range cfg.Alertmanagers {
		e.ams = append(e.ams, notify.NewAlertmanager(c, deps.HTTPClient))
	}
	for _, c := range cfg.Webhooks {
		e.hooks = append(e.hooks, notify.NewWebhook(c, deps.HTTPClient))
	}
	if e.rules, err = e.newRuleAlerts(); err != nil {
		return nil, err
	}
	return e, nil
}

// Run loads the specs, then evaluates every SLO each interval until ctx
// ends, reloading specs on SIGHUP and when their files change. It returns
// nil when ctx ends; invalid spec files do not stop it (they are logged,
// counted and listed by the API).
func (e *Engine) Run(ctx context.Context) error {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	if err := e.Reload(); err != nil {
		e.log.Warn("slo specs: some files were skipped", "err", err)
	}

	var wg sync.WaitGroup
	defer wg.Wait()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if e.cfg.PollInterval > 0 {
		wg.Go(func() { e.watch(ctx) })
	}
	if e.rules != nil {
		wg.Go(func() { e.runRules(ctx) })
	}
	tick := time.NewTicker(e.cfg.Interval)
	defer tick.Stop()
	for {
		switch err := e.Evaluate(ctx); {
		case err == nil || ctx.Err() != nil:
		case errors.Is(err, ErrNoStore):
			e.log.Debug("slo evaluation skipped", "err", err)
		default:
			e.log.Warn("slo evaluation", "err", err)
		}
		if e.cfg.NewExceptions {
			if err := e.checkNewExceptions(ctx); err != nil && ctx.Err() == nil && !errors.Is(err, ErrNoStore) {
				e.log.Warn("new exceptions", "err", err)
			}
		}
		if e.cfg.DeploymentAlerts {
			if err := e.checkDeployments(ctx); err != nil && ctx.Err() == nil && !errors.Is(err, ErrNoStore) {
				e.log.Warn("deployment regressions", "err", err)
			}
		}
		if e.cfg.InstanceAlerts {
			if err := e.checkInstances(ctx); err != nil && ctx.Err() == nil && !errors.Is(err, ErrNoStore) {
				e.log.Warn("instance outliers", "err", err)
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-hup:
			e.log.Info("slo specs: reloading on SIGHUP")
			if err := e.Reload(); err != nil {
				e.log.Warn("slo specs: some files were skipped", "err", err)
			}
			if err := e.ReloadRules(); err != nil {
				e.log.Error("rule files not reloaded; the rules loaded before stay", "err", err)
			}
		case <-tick.C:
		}
	}
}

// Evaluate runs one evaluation at the engine clock's now minus the
// configured delay.
func (e *Engine) Evaluate(ctx context.Context) error {
	at := e.deps.Now()
	if e.cfg.Delay > 0 {
		at = at.Add(-e.cfg.Delay)
	}
	return e.EvaluateAt(ctx, at)
}

// snapshot returns the loaded SLOs, sorted by name.
func (e *Engine) snapshot() []*entry {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]*entry, 0, len(e.slos))
	for _, en := range e.slos {
		out = append(out, en)
	}
	sortEntries(out)
	return out
}

// forDuration is the resolved `for` of an SLO.
func forDuration(s *spec.SLO) time.Duration {
	if s.Alerting.For == nil {
		return 0
	}
	return s.Alerting.For.D()
}

// Alerts returns the alerts that are not inactive, sorted by SLO and severity.
func (e *Engine) Alerts() []AlertView {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]AlertView, 0, len(e.alerts))
	for _, a := range e.alerts {
		if a.State == alert.Inactive {
			continue
		}
		out = append(out, a.view())
	}
	sortAlerts(out)
	return out
}
