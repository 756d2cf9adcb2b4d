package slo

// The rules' alert state across restarts: with Config.RuleStateFile, every
// group evaluation that changed an alert writes the alerts of every rule
// (written aside, then renamed over the file), and the engine reads them
// back when it starts, for the rules found again (same file, group, name
// and expression). Prometheus keeps the same in its ALERTS_FOR_STATE
// series; a file younger than ruleStateMaxAge is trusted, an older one is
// from an outage long enough that the alerts start afresh.

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/prometheus/prometheus/model/labels"
)

// ruleStateMaxAge is how old a state file may be and still be restored
// (Prometheus' default outage tolerance).
const ruleStateMaxAge = time.Hour

// savedRuleAlert is one alert in the state file.
type savedRuleAlert struct {
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations,omitempty"`
	Value       float64           `json:"value"`
	State       string            `json:"state"`
	ActiveAt    time.Time         `json:"active_at"`
	FiredAt     time.Time         `json:"fired_at,omitzero"`
	ResolvedAt  time.Time         `json:"resolved_at,omitzero"`
	LastSent    time.Time         `json:"last_sent,omitzero"`
	HooksHeard  string            `json:"hooks_heard,omitempty"`
}

type savedRuleState struct {
	SavedAt time.Time                   `json:"saved_at"`
	Rules   map[string][]savedRuleAlert `json:"rules"`
}

// saveRuleState writes the alerts of every rule when they changed since
// the last write. A failure is logged; the next evaluation tries again.
func (e *Engine) saveRuleState() {
	path := e.cfg.RuleStateFile
	if path == "" || e.rules == nil {
		return
	}
	e.rules.saveMu.Lock()
	defer e.rules.saveMu.Unlock()
	st := savedRuleState{Rules: map[string][]savedRuleAlert{}}
	e.rules.mu.Lock()
	for _, g := range e.rules.groups {
		for _, r := range g.rules {
			for _, a := range r.sorted() {
				st.Rules[ruleIdentity(g, r)] = append(st.Rules[ruleIdentity(g, r)], savedRuleAlert{Labels: a.labels.Map(), Annotations: a.annotations,
					Value: a.value, State: a.state, ActiveAt: a.activeAt, FiredAt: a.firedAt, ResolvedAt: a.resolvedAt, LastSent: a.lastSent,
					HooksHeard: a.hooksHeard})
			}
		}
	}
	body, err := json.Marshal(st.Rules)
	e.rules.mu.Unlock()
	if err != nil || bytes.Equal(body, e.rules.saved) {
		return
	}
	st.SavedAt = e.deps.Now()
	// Written aside and renamed over the file, so that a reader sees the
	// old state or the new one whole; not synced: losing the last change
	// to a machine crash only restarts a `for`.
	out, err := json.Marshal(st)
	if err == nil {
		err = os.WriteFile(path+".tmp", out, 0o644)
	}
	if err == nil {
		err = os.Rename(path+".tmp", path)
	}
	if err != nil {
		e.log.Warn("alerting rules: state not saved", "file", path, "err", err)
		return
	}
	e.rules.saved = body
}

// restore reads the alerts a state file kept back into the rules found
// again; a missing, unreadable or old file restores nothing.
func (r *ruleAlerts) restore(path string, now time.Time, log *slog.Logger) {
	if path == "" {
		return
	}
	b, err := os.ReadFile(path)
	if err != nil {
		if !errors.Is(err, os.ErrNotExist) {
			log.Warn("alerting rules: state not restored", "file", path, "err", err)
		}
		return
	}
	var st savedRuleState
	if err := json.Unmarshal(b, &st); err != nil {
		log.Warn("alerting rules: state not restored", "file", filepath.Base(path), "err", err)
		return
	}
	if now.Sub(st.SavedAt) > ruleStateMaxAge {
		log.Info("alerting rules: state too old to restore; alerts start afresh", "saved_at", st.SavedAt)
		return
	}
	n := 0
	for _, g := range r.groups {
		for _, rule := range g.rules {
			for _, s := range st.Rules[ruleIdentity(g, rule)] {
				ls := labels.FromMap(s.Labels)
				rule.active[ls.Hash()] = &ruleAlert{labels: ls, annotations: s.Annotations, value: s.Value, state: s.State,
					activeAt: s.ActiveAt, firedAt: s.FiredAt, resolvedAt: s.ResolvedAt, lastSent: s.LastSent, hooksHeard: s.HooksHeard}
				n++
			}
		}
	}
	log.Info("alerting rules: alerts restored", "alerts", n, "saved_at", st.SavedAt)
}
