package slo

import (
	"fmt"
	"net/http"

	"github.com/meshscope/meshscope/slo/spec"
)

type listResponse struct {
	SLOs []SLOView `json:"slos"`
	// Errors are the spec files skipped by the last load.
	Errors []FileError `json:"errors"`
}

func (e *Engine) handleList(w http.ResponseWriter, r *http.Request) {
	resp := listResponse{SLOs: e.List(), Errors: e.FileErrors()}
	if resp.Errors == nil {
		resp.Errors = []FileError{}
	}
	writeJSON(w, http.StatusOK, resp)
}

func (e *Engine) handleCreate(w http.ResponseWriter, r *http.Request) {
	data, ok := readBody(w, r)
	if !ok {
		return
	}
	p, err := spec.ParseOne(data, e.defaults)
	if err != nil {
		writeErr(w, err)
		return
	}
	if err := e.Create(p); err != nil {
		writeErr(w, err)
		return
	}
	v, _ := e.Get(p.Spec.Name)
	w.Header().Set("Location", "/api/v1/slos/"+p.Spec.Name)
	writeJSON(w, http.StatusCreated, v)
}

func (e *Engine) handleGet(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	v, ok := e.Get(name)
	if !ok {
		writeError(w, http.StatusNotFound, "", fmt.Sprintf("slo %q not found", name))
		return
	}
	writeJSON(w, http.StatusOK, v)
}

func (e *Engine) handlePut(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	data, ok := readBody(w, r)
	if !ok {
		return
	}
	p, err := spec.ParseNamed(data, e.defaults, name)
	if err != nil {
		writeErr(w, err)
		return
	}
	created, err := e.Put(p)
	if err != nil {
		writeErr(w, err)
		return
	}
	v, _ := e.Get(name)
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	writeJSON(w, status, v)
}

func (e *Engine) handleDelete(w http.ResponseWriter, r *http.Request) {
	if err := e.Delete(r.PathValue("name")); err != nil {
		writeErr(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (e *Engine) handleStatus(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	st, ok := e.Status(name)
	if !ok {
		writeError(w, http.StatusNotFound, "", fmt.Sprintf("slo %q not found", name))
		return
	}
	writeJSON(w, http.StatusOK, st)
}
