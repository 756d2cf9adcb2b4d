package slo

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/meshscope/meshscope/slo/spec"
)

// backtestRequest is the body of POST /api/v1/slos/backtest. Spec is an SLO
// (short form or OpenSLO, as JSON); Name backtests a loaded SLO instead.
// From and To are RFC 3339 times, Unix seconds, now or now-DURATION
// (now-7d); To defaults to now. Step is a duration (default: the
// evaluation interval, else the largest of 1m and 1s that divides every
// window).
type backtestRequest struct {
	Spec json.RawMessage `json:"spec"`
	Name string          `json:"name"`
	From json.RawMessage `json:"from"`
	To   json.RawMessage `json:"to"`
	Step string          `json:"step"`
}

func parseInstant(raw json.RawMessage, def, now time.Time) (time.Time, error) {
	if len(raw) == 0 || string(raw) == "null" {
		if def.IsZero() {
			return time.Time{}, fmt.Errorf("required: an RFC 3339 time, Unix seconds, now or now-7d")
		}
		return def, nil
	}
	var n float64
	if err := json.Unmarshal(raw, &n); err == nil {
		return time.Unix(int64(n), 0).UTC(), nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return time.Time{}, fmt.Errorf("want an RFC 3339 time, Unix seconds, now or now-7d")
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return time.Unix(n, 0).UTC(), nil
	}
	if s == "now" {
		return now, nil
	}
	if ago, ok := strings.CutPrefix(s, "now-"); ok {
		if d, err := spec.ParseDuration(ago); err == nil && d > 0 {
			return now.Add(-d.D()), nil
		}
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("want an RFC 3339 time, Unix seconds, now or now-7d (got %q)", s)
	}
	return t, nil
}

func (e *Engine) handleBacktest(w http.ResponseWriter, r *http.Request) {
	data, ok := readBody(w, r)
	if !ok {
		return
	}
	var req backtestRequest
	if err := json.Unmarshal(data, &req); err != nil {
		writeError(w, http.StatusBadRequest, "", "body: want JSON {spec, from, to, step}: "+err.Error())
		return
	}
	var s spec.SLO
	switch {
	case len(req.Spec) > 0 && req.Name != "":
		writeError(w, http.StatusBadRequest, "spec", "give spec or name, not both")
		return
	case len(req.Spec) > 0:
		p, err := spec.ParseOne(req.Spec, e.defaults)
		if err != nil {
			writeErr(w, prefixField(err, "spec"))
			return
		}
		s = p.Resolved
	case req.Name != "":
		var found bool
		if s, found = e.Lookup(req.Name); !found {
			writeError(w, http.StatusNotFound, "name", fmt.Sprintf("slo %q not found", req.Name))
			return
		}
	default:
		writeError(w, http.StatusBadRequest, "spec", "required: an SLO spec, or the name of a loaded SLO")
		return
	}
	var q BacktestQuery
	var err error
	now := e.deps.Now().UTC().Truncate(time.Second)
	if q.From, err = parseInstant(req.From, time.Time{}, now); err != nil {
		writeError(w, http.StatusBadRequest, "from", err.Error())
		return
	}
	if q.To, err = parseInstant(req.To, now, now); err != nil {
		writeError(w, http.StatusBadRequest, "to", err.Error())
		return
	}
	if req.Step != "" {
		d, err := spec.ParseDuration(req.Step)
		if err != nil {
			writeError(w, http.StatusBadRequest, "step", err.Error())
			return
		}
		q.Step = d.D()
	}
	res, err := e.Backtest(r.Context(), &s, q)
	if err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

func prefixField(err error, prefix string) error {
	if fe, ok := err.(*spec.FieldError); ok {
		f := prefix
		if fe.Field != "" {
			f += "." + fe.Field
		}
		return &spec.FieldError{Field: f, Reason: fe.Reason}
	}
	return err
}
