package slo

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/meshscope/meshscope/schema"
	"github.com/meshscope/meshscope/slo/alert"
	"github.com/meshscope/meshscope/slo/spec"
)

// historyRow is one row of slo_alerts.
type historyRow struct {
	at                time.Time
	slo, severity     string
	state, prev       alert.State
	service           string
	objective, sli    float64
	budget            float64
	windows           []string
	burns             []float64
	requests          []uint64
	activeAt, firedAt time.Time
	noData            bool
	labels            map[string]string
	annotations       map[string]string
}

func newHistoryRow(s *spec.SLO, st *Status, v *alert.Verdict, a *alertState, tr alert.Transition, at time.Time) historyRow {
	r := historyRow{
		at: at, slo: s.Name, severity: v.Severity, state: tr.To, prev: tr.From, service: s.Service(),
		objective: s.Objective, sli: math.NaN(), budget: st.ErrorBudgetRemaining,
		activeAt: a.ActiveAt, firedAt: a.FiredAt, noData: a.NoData,
		labels: a.labels, annotations: a.annotations,
	}
	if st.SLI != nil {
		r.sli = *st.SLI
	}
	if r.labels == nil {
		r.labels = alertLabels(s, v.Severity)
	}
	for _, w := range st.Windows {
		r.windows = append(r.windows, w.Window)
		r.burns = append(r.burns, w.BurnRate)
		r.requests = append(r.requests, w.Requests)
	}
	return r
}

// orphanHistoryRow records the resolution of an alert whose SLO was removed.
func orphanHistoryRow(a *alertState, at time.Time) historyRow {
	return historyRow{
		at: at, slo: a.SLO, severity: a.Severity, state: alert.Resolved, prev: alert.Firing,
		service: a.labels["service"], sli: math.NaN(), budget: math.NaN(),
		activeAt: a.ActiveAt, firedAt: a.FiredAt, labels: a.labels, annotations: a.annotations,
	}
}

func kv(m map[string]string) (keys, values []string) {
	keys = make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	values = make([]string, len(keys))
	for i, k := range keys {
		values[i] = m[k]
	}
	return keys, values
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// writeHistory inserts rows into slo_alerts in one batch.
func (e *Engine) writeHistory(ctx context.Context, st Store, rows []historyRow) error {
	n := len(rows)
	var (
		ts, active, fired          = make([]time.Time, n), make([]time.Time, n), make([]time.Time, n)
		slo, sev, state, prev, svc = make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		obj, sliV, budget          = make([]float64, n), make([]float64, n), make([]float64, n)
		windows, lk, lv, ak, av    = make([][]string, n), make([][]string, n), make([][]string, n), make([][]string, n), make([][]string, n)
		burns                      = make([][]float64, n)
		reqs                       = make([][]uint64, n)
		noData                     = make([]uint8, n)
	)
	for i, r := range rows {
		ts[i], slo[i], sev[i], state[i], prev[i], svc[i] = r.at.UTC(), r.slo, r.severity, string(r.state), string(r.prev), r.service
		obj[i], sliV[i], budget[i] = r.objective, r.sli, r.budget
		windows[i], burns[i], reqs[i] = nonNil(r.windows), nonNil(r.burns), nonNil(r.requests)
		active[i], fired[i] = zeroTime(r.activeAt), zeroTime(r.firedAt)
		if r.noData {
			noData[i] = 1
		}
		lk[i], lv[i] = kv(r.labels)
		ak[i], av[i] = kv(r.annotations)
	}
	err := st.InsertColumns(ctx, schema.SLOAlertsTable, []any{
		ts, slo, sev, state, prev, svc, obj, sliV, budget, windows, burns, reqs, active, fired, noData, lk, lv, ak, av,
	})
	if err != nil {
		return fmt.Errorf("slo: write alert history: %w", err)
	}
	return nil
}

// zeroTime maps Go's zero time to the Unix epoch, ClickHouse's zero DateTime.
func zeroTime(t time.Time) time.Time {
	if t.IsZero() {
		return time.Unix(0, 0).UTC()
	}
	return t.UTC()
}

func fromDB(t time.Time) time.Time {
	if t.Unix() <= 0 {
		return time.Time{}
	}
	return t.UTC()
}

// restore loads the last state of every alert from slo_alerts, so that a
// restart neither forgets a firing alert nor pages again for it.
func (e *Engine) restore(ctx context.Context, st Store) error {
	rows, err := st.Conn().Query(ctx, `SELECT slo, severity, argMax(state, timestamp), max(timestamp),
    argMax(active_at, timestamp), argMax(fired_at, timestamp), argMax(no_data, timestamp)
FROM slo_alerts GROUP BY slo, severity`)
	if err != nil {
		return fmt.Errorf("read slo_alerts: %w", err)
	}
	defer rows.Close()
	e.mu.Lock()
	defer e.mu.Unlock()
	for rows.Next() {
		var (
			slo, sev, state       string
			at, activeAt, firedAt time.Time
			noData                uint8
		)
		if err := rows.Scan(&slo, &sev, &state, &at, &activeAt, &firedAt, &noData); err != nil {
			return fmt.Errorf("read slo_alerts: %w", err)
		}
		en, ok := e.slos[slo]
		if !ok || len(en.resolved.Alerting.Windows(sev)) == 0 {
			continue
		}
		at = at.UTC()
		a := &alertState{Alert: alert.Alert{SLO: slo, Severity: sev, State: alert.State(state), Since: at,
			ActiveAt: fromDB(activeAt), FiredAt: fromDB(firedAt), NoData: noData == 1}}
		switch a.State {
		case alert.Pending, alert.Firing:
		case alert.Resolved:
			a.ResolvedAt = at
		default:
			continue
		}
		a.labels = alertLabels(&en.resolved, sev)
		e.alerts[alertKey{slo, sev}] = a
	}
	return rows.Err()
}

// HistoryQuery selects past alert state changes.
type HistoryQuery struct {
	// SLO, when set, keeps one SLO's changes.
	SLO string
	// Since keeps changes at or after it.
	Since time.Time
	// Limit is the most rows returned, newest first (default 100).
	Limit int
}

// HistoryEvent is one state change read back from slo_alerts.
type HistoryEvent struct {
	Time                 time.Time          `json:"time"`
	SLO                  string             `json:"slo"`
	Severity             string             `json:"severity"`
	State                string             `json:"state"`
	PreviousState        string             `json:"previous_state"`
	Service              string             `json:"service,omitempty"`
	Objective            float64            `json:"objective"`
	SLI                  *float64           `json:"sli"`
	ErrorBudgetRemaining *float64           `json:"error_budget_remaining"`
	BurnRates            map[string]float64 `json:"burn_rates"`
	Requests             map[string]uint64  `json:"requests"`
	ActiveAt             time.Time          `json:"active_at,omitzero"`
	FiredAt              time.Time          `json:"fired_at,omitzero"`
	NoData               bool               `json:"no_data,omitempty"`
	Labels               map[string]string  `json:"labels"`
	Annotations          map[string]string  `json:"annotations"`
}

// History reads past alert state changes, newest first.
func (e *Engine) History(ctx context.Context, q HistoryQuery) ([]HistoryEvent, error) {
	st := e.deps.Store()
	if st == nil {
		return nil, ErrNoStore
	}
	if q.Limit <= 0 {
		q.Limit = 100
	}
	var conds []string
	var args []any
	if q.SLO != "" {
		conds = append(conds, "slo = ?")
		args = append(args, q.SLO)
	}
	if !q.Since.IsZero() {
		conds = append(conds, fmt.Sprintf("timestamp >= toDateTime(%d)", q.Since.Unix()))
	}
	where := ""
	if len(conds) > 0 {
		where = "WHERE " + strings.Join(conds, " AND ")
	}
	rows, err := st.Conn().Query(ctx, fmt.Sprintf(`SELECT timestamp, slo, severity, state, previous_state, service, objective, sli,
    error_budget_remaining, burn_windows, burn_rates, window_requests, active_at, fired_at, no_data,
    label_keys, label_values, annotation_keys, annotation_values
FROM slo_alerts %s ORDER BY timestamp DESC, slo, severity LIMIT %d`, where, q.Limit), args...)
	if err != nil {
		return nil, fmt.Errorf("slo: read alert history: %w", err)
	}
	defer rows.Close()
	var out []HistoryEvent
	for rows.Next() {
		var (
			ev              HistoryEvent
			sliV, budget    float64
			windows, lk, lv []string
			ak, av          []string
			burns           []float64
			reqs            []uint64
			noData          uint8
		)
		if err := rows.Scan(&ev.Time, &ev.SLO, &ev.Severity, &ev.State, &ev.PreviousState, &ev.Service, &ev.Objective, &sliV,
			&budget, &windows, &burns, &reqs, &ev.ActiveAt, &ev.FiredAt, &noData, &lk, &lv, &ak, &av); err != nil {
			return nil, fmt.Errorf("slo: read alert history: %w", err)
		}
		ev.SLI, ev.ErrorBudgetRemaining, ev.NoData = ptr(sliV), ptr(budget), noData == 1
		ev.Time, ev.ActiveAt, ev.FiredAt = ev.Time.UTC(), fromDB(ev.ActiveAt), fromDB(ev.FiredAt)
		ev.BurnRates, ev.Requests = map[string]float64{}, map[string]uint64{}
		for i, w := range windows {
			if i < len(burns) {
				ev.BurnRates[w] = burns[i]
			}
			if i < len(reqs) {
				ev.Requests[w] = reqs[i]
			}
		}
		ev.Labels, ev.Annotations = zip(lk, lv), zip(ak, av)
		out = append(out, ev)
	}
	return out, rows.Err()
}

func zip(keys, values []string) map[string]string {
	m := make(map[string]string, len(keys))
	for i, k := range keys {
		if i < len(values) {
			m[k] = values[i]
		}
	}
	return m
}
