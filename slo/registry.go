package slo

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/meshscope/meshscope/slo/spec"
)

// Errors of the spec registry, for callers (the API) to branch on.
var (
	ErrNotFound = errors.New("slo not found")
	ErrExists   = errors.New("slo already exists")
)

// NotEditableError is returned when the API is asked to change an SLO it
// does not own (one defined in a spec file beside others, or any SLO when
// the path is a single file).
type NotEditableError struct{ Reason string }

func (e *NotEditableError) Error() string { return e.Reason }

// SLOView is a loaded SLO as the API shows it.
type SLOView struct {
	// Spec is the SLO as written.
	Spec spec.SLO `json:"spec"`
	// Effective is the spec with node ids normalised and defaults filled.
	Effective spec.SLO `json:"effective"`
	// Source is the spec file, or "memory".
	Source string `json:"source"`
	// Editable tells whether PUT and DELETE may change it.
	Editable bool      `json:"editable"`
	LoadedAt time.Time `json:"loaded_at"`
	// State is the state of the last evaluation (see Status).
	State string `json:"state"`
}

// Persistence of API changes: with a directory as the configured path, an
// SLO created through the API is written as DIR/NAME.yaml (one SLO, short
// form) and loaded back from it, so it survives restarts, shows up in the
// directory for review, and the file watcher sees the same thing. The API
// may change or delete an SLO whose file is DIR/NAME.yaml holding only that
// SLO. Without a path, API SLOs live in memory only.

func (e *Engine) view(en *entry) SLOView {
	v := SLOView{Spec: en.written, Effective: en.resolved, Source: en.file, Editable: e.editable(en), LoadedAt: en.loadedAt, State: StateUnknown}
	if v.Source == "" {
		v.Source = "memory"
	}
	if st, ok := e.status[en.written.Name]; ok {
		v.State = st.State
	}
	return v
}

// List returns every loaded SLO, sorted by name.
func (e *Engine) List() []SLOView {
	ents := e.snapshot()
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]SLOView, len(ents))
	for i, en := range ents {
		out[i] = e.view(en)
	}
	return out
}

// Get returns one loaded SLO.
func (e *Engine) Get(name string) (SLOView, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	en, ok := e.slos[name]
	if !ok {
		return SLOView{}, false
	}
	return e.view(en), true
}

// Lookup returns the resolved spec of a loaded SLO.
func (e *Engine) Lookup(name string) (spec.SLO, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	en, ok := e.slos[name]
	if !ok {
		return spec.SLO{}, false
	}
	return en.resolved, true
}

// Defaults are the alerting defaults specs are resolved against.
func (e *Engine) Defaults() spec.Alerting { return e.defaults }

func (e *Engine) apiDir() (string, error) {
	if e.cfg.Path == "" {
		return "", nil
	}
	st, err := os.Stat(e.cfg.Path)
	if err != nil {
		return "", fmt.Errorf("slo path: %w", err)
	}
	if !st.IsDir() {
		return "", &NotEditableError{Reason: fmt.Sprintf("SLOs are loaded from the file %s: change them there", e.cfg.Path)}
	}
	return e.cfg.Path, nil
}

func (e *Engine) apiFile(dir, name string) string { return filepath.Join(dir, name+".yaml") }

func (e *Engine) editable(en *entry) bool {
	if en.file == "" {
		return true
	}
	dir, err := e.apiDir()
	return err == nil && dir != "" && en.file == e.apiFile(dir, en.written.Name) && en.fileSLOs == 1
}

// Create adds an SLO; ErrExists if one of that name is loaded.
func (e *Engine) Create(p spec.Parsed) error {
	e.loadMu.Lock()
	defer e.loadMu.Unlock()
	e.mu.Lock()
	_, exists := e.slos[p.Spec.Name]
	e.mu.Unlock()
	if exists {
		return fmt.Errorf("%w: %s", ErrExists, p.Spec.Name)
	}
	return e.storeLocked(p, false)
}

// Put creates or replaces an SLO; created reports which.
func (e *Engine) Put(p spec.Parsed) (created bool, err error) {
	e.loadMu.Lock()
	defer e.loadMu.Unlock()
	e.mu.Lock()
	en, exists := e.slos[p.Spec.Name]
	e.mu.Unlock()
	if exists && !e.editable(en) {
		return false, &NotEditableError{Reason: fmt.Sprintf("SLO %s is defined in %s beside other SLOs: change it there", p.Spec.Name, en.file)}
	}
	return !exists, e.storeLocked(p, exists)
}

// Delete removes an SLO.
func (e *Engine) Delete(name string) error {
	e.loadMu.Lock()
	defer e.loadMu.Unlock()
	e.mu.Lock()
	en, exists := e.slos[name]
	e.mu.Unlock()
	if !exists {
		return fmt.Errorf("%w: %s", ErrNotFound, name)
	}
	if !e.editable(en) {
		return &NotEditableError{Reason: fmt.Sprintf("SLO %s is defined in %s beside other SLOs: change it there", name, en.file)}
	}
	if en.file == "" {
		e.mu.Lock()
		delete(e.slos, name)
		e.forgetLocked(map[string]*entry{name: en})
		e.mu.Unlock()
		e.metrics.specs.Dec()
		return nil
	}
	if err := os.Remove(en.file); err != nil {
		return fmt.Errorf("delete slo %s: %w", name, err)
	}
	if err := e.reloadLocked(); err != nil {
		e.log.Warn("slo specs: some files were skipped", "err", err)
	}
	return nil
}

// storeLocked writes p where the API keeps SLOs and loads it.
func (e *Engine) storeLocked(p spec.Parsed, replace bool) error {
	dir, err := e.apiDir()
	if err != nil {
		return err
	}
	now := e.deps.Now()
	if dir == "" {
		e.mu.Lock()
		e.slos[p.Spec.Name] = &entry{written: p.Spec, resolved: p.Resolved, loadedAt: now}
		n := len(e.slos)
		e.mu.Unlock()
		e.metrics.specs.Set(float64(n))
		return nil
	}
	path := e.apiFile(dir, p.Spec.Name)
	if _, err := os.Stat(path); err == nil && !replace {
		return &NotEditableError{Reason: fmt.Sprintf("file %s exists and does not define SLO %s", path, p.Spec.Name)}
	}
	data, err := spec.Marshal("Written by the meshscope SLO API (PUT/DELETE /api/v1/slos/"+p.Spec.Name+"); edits here are loaded too.", p.Spec)
	if err != nil {
		return err
	}
	if err := writeAtomic(path, data); err != nil {
		return fmt.Errorf("store slo %s: %w", p.Spec.Name, err)
	}
	if err := e.reloadLocked(); err != nil {
		e.log.Warn("slo specs: some files were skipped", "err", err)
	}
	if _, ok := e.Get(p.Spec.Name); !ok {
		return fmt.Errorf("store slo %s: written to %s but not loaded: %v", p.Spec.Name, path, e.FileErrors())
	}
	return nil
}

// writeAtomic replaces path with data through a hidden temporary file in
// the same directory (ignored by the loader) and a rename.
func writeAtomic(path string, data []byte) error {
	tmp := filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".tmp")
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		os.Remove(tmp)
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		os.Remove(tmp)
		return err
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return err
	}
	return os.Rename(tmp, path)
}
