package slo

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"

	"github.com/meshscope/meshscope/slo/spec"
)

// Handler serves the SLO API with plain net/http routing; the paths are
// absolute, so mount it at the server's root or under /api/v1/ as is:
//
//	GET    /api/v1/slos                 every SLO, and the spec files skipped
//	POST   /api/v1/slos                 create an SLO (YAML or JSON body)
//	GET    /api/v1/slos/{name}          one SLO, as written and effective
//	PUT    /api/v1/slos/{name}          create or replace an SLO
//	DELETE /api/v1/slos/{name}          delete an SLO
//	GET    /api/v1/slos/{name}/status   SLI, budget, burn rates, conditions, alerts
//	GET    /api/v1/alerts               current alerts and recent history (?slo=&since=24h&limit=100)
//	POST   /api/v1/slos/backtest        {spec | name, from, to, step} -> firings
//
// Errors are JSON {"error": "...", "field": "..."}: 400 for invalid specs
// (field is the path of the bad field), 404, 409 for conflicts (an SLO
// that exists, or one the API does not own), 503 while ClickHouse is not
// connected.
func (e *Engine) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v1/slos", e.handleList)
	mux.HandleFunc("POST /api/v1/slos", e.handleCreate)
	mux.HandleFunc("POST /api/v1/slos/backtest", e.handleBacktest)
	mux.HandleFunc("GET /api/v1/slos/{name}", e.handleGet)
	mux.HandleFunc("PUT /api/v1/slos/{name}", e.handlePut)
	mux.HandleFunc("DELETE /api/v1/slos/{name}", e.handleDelete)
	mux.HandleFunc("GET /api/v1/slos/{name}/status", e.handleStatus)
	mux.HandleFunc("GET /api/v1/alerts", e.handleAlerts)
	mux.HandleFunc("GET /api/v1/rules", e.handleRules)
	mux.HandleFunc("GET /prometheus/api/v1/rules", e.handleRules)
	mux.HandleFunc("GET /prometheus/api/v1/alerts", e.handlePromAlerts)
	return mux
}

// maxBody bounds request bodies.
const maxBody = 1 << 20

type apiError struct {
	Error string `json:"error"`
	Field string `json:"field,omitempty"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

func writeError(w http.ResponseWriter, status int, field, msg string) {
	writeJSON(w, status, apiError{Error: msg, Field: field})
}

// writeErr maps the engine's errors to statuses.
func writeErr(w http.ResponseWriter, err error) {
	var (
		fe *spec.FieldError
		ne *NotEditableError
		ie *InputError
	)
	switch {
	case errors.As(err, &fe):
		writeError(w, http.StatusBadRequest, fe.Field, fe.Reason)
	case errors.As(err, &ie):
		writeError(w, http.StatusBadRequest, ie.Field, ie.Reason)
	case errors.As(err, &ne):
		writeError(w, http.StatusConflict, "", ne.Reason)
	case errors.Is(err, ErrExists):
		writeError(w, http.StatusConflict, "name", err.Error())
	case errors.Is(err, ErrNotFound):
		writeError(w, http.StatusNotFound, "", err.Error())
	case errors.Is(err, ErrNoStore):
		writeError(w, http.StatusServiceUnavailable, "", err.Error())
	default:
		writeError(w, http.StatusInternalServerError, "", err.Error())
	}
}

func readBody(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		writeError(w, http.StatusRequestEntityTooLarge, "", "request body: "+err.Error())
		return nil, false
	}
	return data, true
}
