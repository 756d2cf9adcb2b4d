package slo

// Prometheus alerting rules: with Config.RuleFiles, the engine also
// evaluates the alerting rules of Prometheus rule files over the stored
// metrics, with Prometheus' own PromQL engine over the same store GET
// /prometheus/api/v1/query reads (Deps.PromQL, Deps.Queryable), so that a
// rule file written for Prometheus (Istio's, a team's own) alerts here as
// it did there: groups with their interval, limit and query_offset; for,
// keep_firing_for, labels and annotations, templated with Prometheus'
// template package ($labels, $value, query). The files are parsed with
// Prometheus' rulefmt, as promtool checks them. An alert is pending until
// its condition held for `for`, then fires; once its condition no longer
// holds (and keep_firing_for has passed) it is resolved, and kept for
// ResolvedRetention. Its Alertmanagers get a firing alert at each change
// and every ResendInterval, its endsAt four intervals ahead, as Prometheus
// sends them; webhooks get it when it fires and when it resolves. GET
// /api/v1/rules and /prometheus/api/v1/rules (Prometheus' shape, which
// Grafana lists) answer the groups and their rules' state.
//
// Prometheus' rule manager (github.com/prometheus/prometheus/rules) is not
// used: it brings Prometheus' notifier and, with it, the service discovery
// of every cloud (about 200 modules) into a binary that sends alerts
// already. Recording rules are refused: meshscope keeps the series its
// inputs send, and a derived series would be a second truth beside them.
// Alert state lives in memory and, with Config.RuleStateFile, in a file
// read back at start (rulestate.go), where Prometheus keeps its
// ALERTS_FOR_STATE series. The files are read again on SIGHUP, as
// Prometheus reads its own; a rule found again keeps its alerts.

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"maps"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/template"

	"github.com/meshscope/meshscope/query/logql"
	"github.com/meshscope/meshscope/slo/notify"
)

// Rule alert states, as Prometheus names them.
const (
	rulePending  = "pending"
	ruleFiring   = "firing"
	ruleInactive = "inactive"
)

// ruleAlerts are the loaded rule groups and their alerts' state.
type ruleAlerts struct {
	groups []*ruleGroup
	ext    *url.URL
	mu     sync.Mutex // guards groups and the groups' and rules' state
	// changed is signalled when ReloadRules swapped the groups.
	changed chan struct{}
	// saveMu serialises state file writes; saved is the state last
	// written (rulestate.go).
	saveMu sync.Mutex
	saved  []byte
}

type ruleGroup struct {
	name, file string
	logs       bool // its expressions are LogQL, over log records
	interval   time.Duration
	offset     time.Duration
	limit      int
	rules      []*alertRule
	lastEval   time.Time
	evalTime   time.Duration
}

type alertRule struct {
	name                string
	expr                string
	hold, keep          time.Duration
	labels, annotations map[string]string
	active              map[uint64]*ruleAlert
	health, lastErr     string
	lastEval            time.Time
	evalTime            time.Duration
}

type ruleAlert struct {
	labels               labels.Labels
	annotations          map[string]string
	value                float64
	state                string
	activeAt, firedAt    time.Time
	resolvedAt, lastSent time.Time
	keepSince            time.Time
	hooksHeard           string // the state webhooks last heard of: firing or ""
}

// ruleFiles expands the globs of Config.RuleFiles, in order, each file
// once; a glob that matches nothing is an error (a typo would otherwise
// alert on nothing, silently).
func ruleFiles(globs []string) ([]string, error) {
	var out []string
	for _, g := range globs {
		m, err := filepath.Glob(g)
		if err != nil {
			return nil, fmt.Errorf("rule_files %q: %w", g, err)
		}
		if len(m) == 0 {
			return nil, fmt.Errorf("rule_files %q: no file matches", g)
		}
		for _, f := range m {
			if !slices.Contains(out, f) {
				out = append(out, f)
			}
		}
	}
	return out, nil
}

// logqlExprs checks a log rule file's expressions as LogQL (the subset
// the Loki API answers: count_over_time, rate or an unwrapped
// aggregation, perhaps summed, perhaps compared with a number) where
// rulefmt would check them as PromQL.
type logqlExprs struct{ parser.Parser }

func (logqlExprs) ParseExpr(s string) (parser.Expr, error) {
	q, err := logql.Parse(s)
	if err != nil {
		return nil, err
	}
	if q.Log != nil {
		return nil, errors.New("a log query selects lines, not numbers: count them (count_over_time or rate)")
	}
	return &parser.NumberLiteral{}, nil
}

// loadRules parses the rule files as promtool does (logs: their
// expressions as LogQL, as Loki's ruler reads its files), refusing
// recording rules and naming the file, group and rule at fault.
func loadRules(files []string, defaultInterval time.Duration, logs bool) ([]*ruleGroup, error) {
	var (
		out  []*ruleGroup
		errs []error
	)
	p := parser.NewParser(parser.Options{})
	if logs {
		p = logqlExprs{p}
	}
	for _, f := range files {
		groups, perrs := rulefmt.ParseFile(f, false, model.UTF8Validation, p, nil)
		errs = append(errs, perrs...)
		if groups == nil {
			continue
		}
		for _, g := range groups.Groups {
			rg := &ruleGroup{name: g.Name, file: f, interval: time.Duration(g.Interval), limit: g.Limit, logs: logs}
			if rg.interval == 0 {
				rg.interval = defaultInterval
			}
			if g.QueryOffset != nil {
				rg.offset = time.Duration(*g.QueryOffset)
			}
			for _, r := range g.Rules {
				if r.Record != "" {
					errs = append(errs, fmt.Errorf("%s: group %q: recording rule %q: recording rules are not supported (meshscope keeps the series its inputs send; write the expression into the alert)", f, g.Name, r.Record))
					continue
				}
				lbls := maps.Clone(g.Labels)
				if lbls == nil {
					lbls = map[string]string{}
				}
				maps.Copy(lbls, r.Labels)
				rg.rules = append(rg.rules, &alertRule{name: r.Alert, expr: r.Expr, hold: time.Duration(r.For), keep: time.Duration(r.KeepFiringFor),
					labels: lbls, annotations: r.Annotations, active: map[uint64]*ruleAlert{}, health: "unknown"})
			}
			out = append(out, rg)
		}
	}
	return out, errors.Join(errs...)
}

// RuleGroupInfo describes a loaded rule group (meshscope slo rules).
type RuleGroupInfo struct {
	File, Name string
	Interval   time.Duration
	Alerts     []string
}

// CheckRules loads rule files (globs) as serve --rule-files does (logs:
// --log-rule-files), each group's interval defaulting to defaultInterval,
// and describes them; the error names every file, group and rule at
// fault.
func CheckRules(globs []string, defaultInterval time.Duration, logs bool) ([]RuleGroupInfo, error) {
	files, err := ruleFiles(globs)
	if err != nil {
		return nil, err
	}
	groups, err := loadRules(files, defaultInterval, logs)
	out := make([]RuleGroupInfo, 0, len(groups))
	for _, g := range groups {
		info := RuleGroupInfo{File: g.file, Name: g.name, Interval: g.interval}
		for _, r := range g.rules {
			info.Alerts = append(info.Alerts, r.name)
		}
		out = append(out, info)
	}
	return out, err
}

// loadAllRules loads cfg.RuleFiles and cfg.LogRuleFiles.
func (e *Engine) loadAllRules() ([]*ruleGroup, error) {
	var out []*ruleGroup
	for _, kind := range []struct {
		key   string
		globs []string
		logs  bool
	}{{"rule_files", e.cfg.RuleFiles, false}, {"log_rule_files", e.cfg.LogRuleFiles, true}} {
		if len(kind.globs) == 0 {
			continue
		}
		files, err := ruleFiles(kind.globs)
		if err != nil {
			return nil, err
		}
		groups, err := loadRules(files, e.cfg.Interval, kind.logs)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", kind.key, err)
		}
		out = append(out, groups...)
	}
	return out, nil
}

// newRuleAlerts loads cfg.RuleFiles and cfg.LogRuleFiles; nil without
// either.
func (e *Engine) newRuleAlerts() (*ruleAlerts, error) {
	if len(e.cfg.RuleFiles) == 0 && len(e.cfg.LogRuleFiles) == 0 {
		return nil, nil
	}
	if len(e.cfg.RuleFiles) > 0 && (e.deps.PromQL == nil || e.deps.Queryable == nil) {
		return nil, errors.New("rule_files: no PromQL engine to evaluate the rules with")
	}
	if len(e.cfg.LogRuleFiles) > 0 && e.deps.LogQL == nil {
		return nil, errors.New("log_rule_files: no LogQL evaluation to run the rules with")
	}
	groups, err := e.loadAllRules()
	if err != nil {
		return nil, err
	}
	r := &ruleAlerts{groups: groups, changed: make(chan struct{}, 1)}
	r.restore(e.cfg.RuleStateFile, e.deps.Now(), e.log)
	if e.cfg.ExternalURL != "" {
		if r.ext, err = url.Parse(e.cfg.ExternalURL); err != nil {
			return nil, fmt.Errorf("external_url: %w", err)
		}
	}
	return r, nil
}

// ReloadRules reads the rule files again (Run does on SIGHUP). A rule
// found again (same file, group, name and expression) keeps its alerts and
// their state; on an error the rules loaded before stay.
func (e *Engine) ReloadRules() error {
	if e.rules == nil {
		return nil
	}
	groups, err := e.loadAllRules()
	if err != nil {
		return err
	}
	identity := ruleIdentity
	e.rules.mu.Lock()
	before := map[string]*alertRule{}
	for _, g := range e.rules.groups {
		for _, r := range g.rules {
			before[identity(g, r)] = r
		}
	}
	for _, g := range groups {
		for _, r := range g.rules {
			if o := before[identity(g, r)]; o != nil {
				r.active, r.health, r.lastErr, r.lastEval, r.evalTime = o.active, o.health, o.lastErr, o.lastEval, o.evalTime
			}
		}
	}
	e.rules.groups = groups
	e.rules.mu.Unlock()
	select {
	case e.rules.changed <- struct{}{}:
	default:
	}
	return nil
}

// ruleIdentity names a rule across loads: its file, group, name and
// expression.
func ruleIdentity(g *ruleGroup, r *alertRule) string {
	return strings.Join([]string{g.file, g.name, r.name, r.expr}, "\x00")
}

// runRules evaluates every group at its interval until ctx ends, the
// groups of the last ReloadRules once it swapped them.
func (e *Engine) runRules(ctx context.Context) {
	for {
		e.rules.mu.Lock()
		groups := e.rules.groups
		e.rules.mu.Unlock()
		loops, stop := context.WithCancel(ctx)
		var wg sync.WaitGroup
		for _, g := range groups {
			wg.Go(func() {
				tick := time.NewTicker(g.interval)
				defer tick.Stop()
				for {
					e.evalGroup(loops, g, e.deps.Now())
					select {
					case <-loops.Done():
						return
					case <-tick.C:
					}
				}
			})
		}
		select {
		case <-ctx.Done():
		case <-e.rules.changed:
		}
		stop()
		wg.Wait()
		if ctx.Err() != nil {
			return
		}
	}
}

// ruleQuery runs a rule's expression at ts, as Prometheus' rule manager
// does: a vector, or a scalar as a vector of one sample.
func (e *Engine) ruleQuery(ctx context.Context, qs string, ts time.Time) (promql.Vector, error) {
	q, err := e.deps.PromQL.NewInstantQuery(ctx, e.deps.Queryable, nil, qs, ts)
	if err != nil {
		return nil, err
	}
	defer q.Close()
	res := q.Exec(ctx)
	if res.Err != nil {
		return nil, res.Err
	}
	switch v := res.Value.(type) {
	case promql.Vector:
		return v, nil
	case promql.Scalar:
		return promql.Vector{promql.Sample{T: v.T, F: v.V, Metric: labels.EmptyLabels()}}, nil
	}
	return nil, fmt.Errorf("rule result is a %s, not a vector or a scalar", res.Value.Type())
}

// evalGroup evaluates g's rules at ts, in order, and sends what is due.
func (e *Engine) evalGroup(ctx context.Context, g *ruleGroup, ts time.Time) {
	start := time.Now()
	for _, r := range g.rules {
		e.evalRule(ctx, g, r, ts)
	}
	e.rules.mu.Lock()
	g.lastEval, g.evalTime = ts, time.Since(start)
	e.rules.mu.Unlock()
	e.saveRuleState()
}

// expand is a rule's label or annotation text expanded for one alert, as
// Prometheus expands it (an error shows in the text); the template's
// query function runs the rule's own language (LogQL for a log rule).
func (e *Engine) expand(ctx context.Context, r *alertRule, text string, data any, ts time.Time, query func(context.Context, string, time.Time) (promql.Vector, error)) string {
	const defs = "{{$labels := .Labels}}{{$externalLabels := .ExternalLabels}}{{$externalURL := .ExternalURL}}{{$value := .Value}}"
	out, err := template.NewTemplateExpander(ctx, defs+text, "__alert_"+r.name, data, model.TimeFromUnixNano(ts.UnixNano()), template.QueryFunc(query), e.rules.ext, nil).Expand()
	if err != nil {
		return fmt.Sprintf("<error expanding template: %s>", err)
	}
	return out
}

// evalRule evaluates one rule at ts: its alerts start pending, fire once
// their condition held for the rule's `for`, and resolve once it no
// longer holds (after keep_firing_for).
func (e *Engine) evalRule(ctx context.Context, g *ruleGroup, r *alertRule, ts time.Time) {
	qctx, cancel := context.WithTimeout(ctx, e.cfg.QueryTimeout)
	defer cancel()
	start := time.Now()
	query := e.ruleQuery
	if g.logs {
		query = e.deps.LogQL
	}
	vec, err := query(qctx, r.expr, ts.Add(-g.offset))
	type found struct {
		labels      labels.Labels
		annotations map[string]string
		value       float64
	}
	var results map[uint64]found
	if err == nil {
		results = make(map[uint64]found, len(vec))
		ext := ""
		if e.rules.ext != nil {
			ext = e.rules.ext.String()
		}
		for _, s := range vec {
			data := template.AlertTemplateData(s.Metric.Map(), nil, ext, s)
			b := labels.NewBuilder(s.Metric).Del(labels.MetricName)
			for k, v := range r.labels {
				b.Set(k, e.expand(ctx, r, v, data, ts, query))
			}
			b.Set(labels.AlertName, r.name)
			ls := b.Labels()
			ann := make(map[string]string, len(r.annotations))
			for k, v := range r.annotations {
				ann[k] = e.expand(ctx, r, v, data, ts, query)
			}
			h := ls.Hash()
			if _, dup := results[h]; dup {
				err = errors.New("vector contains metrics with the same labelset after applying alert labels")
				break
			}
			results[h] = found{ls, ann, s.F}
		}
		if err == nil && g.limit > 0 && len(results) > g.limit {
			err = fmt.Errorf("exceeded limit of %d with %d alerts", g.limit, len(results))
		}
	}

	if err != nil && ctx.Err() != nil {
		return // stopped (a reload, or the end): nothing was learnt
	}
	e.rules.mu.Lock()
	r.lastEval, r.evalTime = ts, time.Since(start)
	if err != nil {
		// As Prometheus: the alerts stay as they were.
		r.health, r.lastErr = "err", err.Error()
		e.rules.mu.Unlock()
		e.log.Warn("alerting rule", "group", g.name, "rule", r.name, "err", err)
		return
	}
	r.health, r.lastErr = "ok", ""
	for h, f := range results {
		a := r.active[h]
		if a == nil || a.state == ruleInactive {
			a = &ruleAlert{labels: f.labels, state: rulePending, activeAt: ts, hooksHeard: hooksHeard(a)}
			r.active[h] = a
		}
		a.value, a.annotations, a.keepSince = f.value, f.annotations, time.Time{}
		if a.state == rulePending && ts.Sub(a.activeAt) >= r.hold {
			a.state, a.firedAt = ruleFiring, ts
		}
	}
	for h, a := range r.active {
		if _, ok := results[h]; ok {
			continue
		}
		switch a.state {
		case rulePending:
			delete(r.active, h)
		case ruleFiring:
			if r.keep > 0 {
				if a.keepSince.IsZero() {
					a.keepSince = ts
				}
				if ts.Sub(a.keepSince) < r.keep {
					continue
				}
			}
			a.state, a.resolvedAt = ruleInactive, ts
		case ruleInactive:
			if ts.Sub(a.resolvedAt) > e.cfg.ResolvedRetention {
				delete(r.active, h)
			}
		}
	}
	all, changed, fired := e.dueRuleAlerts(g, r, ts)
	e.rules.mu.Unlock()
	for range fired {
		e.metrics.ruleAlerts.WithLabelValues(r.name).Inc()
	}
	if len(all) > 0 || len(changed) > 0 {
		e.sendWatched(ctx, r.name, all, changed, e.deps.Now())
	}
}

// sorted yields r's alerts by their labels' hash, an order that stays.
// Called with the rules' lock held.
func (r *alertRule) sorted() iter.Seq2[uint64, *ruleAlert] {
	keys := slices.Sorted(maps.Keys(r.active))
	return func(yield func(uint64, *ruleAlert) bool) {
		for _, h := range keys {
			if !yield(h, r.active[h]) {
				return
			}
		}
	}
}

// hooksHeard is what webhooks last heard of a (nil: nothing).
func hooksHeard(a *ruleAlert) string {
	if a == nil {
		return ""
	}
	return a.hooksHeard
}

// dueRuleAlerts are r's alerts due to Alertmanager at ts (a change since
// the last send, or a firing one not sent for ResendInterval), the changes
// webhooks have not heard of, and the alerts that started firing.
// Called with e.rules.mu held.
func (e *Engine) dueRuleAlerts(g *ruleGroup, r *alertRule, ts time.Time) (all, changed []notify.Alert, fired []uint64) {
	validFor := 4 * max(g.interval, e.cfg.ResendInterval)
	for h, a := range r.sorted() {
		if a.state == rulePending {
			continue
		}
		na := notify.Alert{Labels: a.labels.Map(), Annotations: maps.Clone(a.annotations), StartsAt: a.firedAt, EndsAt: ts.Add(validFor),
			GeneratorURL: e.ruleURL(g, r.expr)}
		if a.state == ruleInactive {
			na.EndsAt = a.resolvedAt
		}
		resolvedUnsent := a.state == ruleInactive && a.resolvedAt.After(a.lastSent)
		if resolvedUnsent || (a.state == ruleFiring && (a.lastSent.Before(a.firedAt) || ts.Sub(a.lastSent) >= e.cfg.ResendInterval)) {
			all = append(all, na)
			a.lastSent = ts
		}
		switch {
		case a.state == ruleFiring && a.hooksHeard != ruleFiring:
			changed, fired = append(changed, na), append(fired, h)
			a.hooksHeard = ruleFiring
		case a.state == ruleInactive && a.hooksHeard == ruleFiring:
			changed = append(changed, na)
			a.hooksHeard = ""
		}
	}
	return all, changed, fired
}

// ruleURL is an alert's generatorURL: the expression's result in
// meshscope's Prometheus API, or its Loki API for a log rule (Grafana's
// Explore reads the same).
func (e *Engine) ruleURL(g *ruleGroup, expr string) string {
	if e.cfg.ExternalURL == "" {
		return ""
	}
	api := "/prometheus/api/v1/query?"
	if g.logs {
		api = "/loki/api/v1/query?"
	}
	return strings.TrimSuffix(e.cfg.ExternalURL, "/") + api + url.Values{"query": {expr}}.Encode()
}
