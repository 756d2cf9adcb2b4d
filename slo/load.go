package slo

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/meshscope/meshscope/slo/spec"
)

// FileError is a spec file that could not be used; the SLOs last loaded
// from it (if any) stay in force.
type FileError struct {
	File  string `json:"file"`
	Field string `json:"field,omitempty"`
	Error string `json:"error"`
}

// specFiles lists the spec files of the configured path, sorted.
func (e *Engine) specFiles() (files []string, dir bool, err error) {
	if e.cfg.Path == "" {
		return nil, false, nil
	}
	st, err := os.Stat(e.cfg.Path)
	if err != nil {
		return nil, false, fmt.Errorf("slo path: %w", err)
	}
	if !st.IsDir() {
		return []string{e.cfg.Path}, false, nil
	}
	ents, err := os.ReadDir(e.cfg.Path)
	if err != nil {
		return nil, true, fmt.Errorf("slo path: %w", err)
	}
	for _, de := range ents {
		name := de.Name()
		if de.IsDir() || strings.HasPrefix(name, ".") {
			continue
		}
		switch filepath.Ext(name) {
		case ".yaml", ".yml", ".json":
			files = append(files, filepath.Join(e.cfg.Path, name))
		}
	}
	sort.Strings(files)
	return files, true, nil
}

// fingerprintFiles describes the files' names, sizes and modification
// times: a change means the specs must be reloaded.
func fingerprintFiles(files []string) string {
	var b strings.Builder
	for _, f := range files {
		st, err := os.Stat(f)
		if err != nil {
			fmt.Fprintf(&b, "%s:gone;", f)
			continue
		}
		fmt.Fprintf(&b, "%s:%d:%d;", f, st.Size(), st.ModTime().UnixNano())
	}
	return b.String()
}

// Reload reads every spec file again and swaps the loaded SLOs. A file
// that fails to parse or validate is skipped: the SLOs last loaded from it
// stay, and the error is logged, counted and listed by the API. SLOs held
// in memory (no path configured) are kept. The error lists the skipped
// files.
func (e *Engine) Reload() error {
	e.loadMu.Lock()
	defer e.loadMu.Unlock()
	return e.reloadLocked()
}

func (e *Engine) reloadLocked() error {
	files, _, err := e.specFiles()
	if err != nil {
		e.mu.Lock()
		e.fileErrors = []FileError{{File: e.cfg.Path, Error: err.Error()}}
		e.mu.Unlock()
		e.metrics.fileErrors.Set(1)
		return err
	}
	now := e.deps.Now()
	e.mu.Lock()
	prevFile := e.fileSLOs
	next := map[string]*entry{}
	for name, en := range e.slos {
		if en.file == "" {
			next[name] = en
		}
	}
	e.mu.Unlock()

	owner := map[string]string{}
	for name := range next {
		owner[name] = "(memory)"
	}
	fileSLOs := map[string][]*entry{}
	var errs []FileError
	for _, f := range files {
		ents, ferr := e.loadFile(f, now)
		if ferr == nil {
			for _, en := range ents {
				if other, dup := owner[en.written.Name]; dup {
					ferr = &FileError{File: f, Field: "name", Error: fmt.Sprintf("SLO %q is already defined in %s", en.written.Name, other)}
					break
				}
			}
		}
		if ferr != nil {
			errs = append(errs, *ferr)
			e.log.Warn("slo spec file skipped", "file", f, "field", ferr.Field, "err", ferr.Error)
			ents = prevFile[f] // keep what was last loaded from it
		}
		kept := ents[:0:0]
		for _, en := range ents {
			if _, dup := owner[en.written.Name]; dup {
				continue
			}
			owner[en.written.Name] = f
			next[en.written.Name] = en
			kept = append(kept, en)
		}
		if len(kept) > 0 {
			fileSLOs[f] = kept
		}
	}

	e.mu.Lock()
	removed := e.slos
	e.slos, e.fileSLOs, e.fileErrors = next, fileSLOs, errs
	e.fingerprint = fingerprintFiles(files)
	for name := range next {
		delete(removed, name)
	}
	e.forgetLocked(removed)
	e.mu.Unlock()

	e.metrics.specs.Set(float64(len(next)))
	e.metrics.fileErrors.Set(float64(len(errs)))
	if len(errs) > 0 {
		msgs := make([]string, len(errs))
		for i, fe := range errs {
			msgs[i] = fe.File + ": " + joinField(fe.Field, fe.Error)
		}
		return errors.New("invalid slo spec files: " + strings.Join(msgs, "; "))
	}
	return nil
}

func joinField(field, msg string) string {
	if field == "" {
		return msg
	}
	return field + ": " + msg
}

// loadFile parses one spec file.
func (e *Engine) loadFile(path string, now time.Time) ([]*entry, *FileError) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, &FileError{File: path, Error: err.Error()}
	}
	parsed, err := spec.Parse(data, e.defaults)
	if err != nil {
		fe := &FileError{File: path, Error: err.Error()}
		var se *spec.FieldError
		if errors.As(err, &se) {
			fe.Field, fe.Error = se.Field, se.Reason
		}
		return nil, fe
	}
	out := make([]*entry, len(parsed))
	for i, p := range parsed {
		out[i] = &entry{written: p.Spec, resolved: p.Resolved, file: path, fileSLOs: len(parsed), loadedAt: now}
	}
	return out, nil
}

// watch reloads the specs when the files' fingerprint changes.
func (e *Engine) watch(ctx context.Context) {
	t := time.NewTicker(e.cfg.PollInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		files, _, err := e.specFiles()
		if err != nil {
			continue
		}
		fp := fingerprintFiles(files)
		e.mu.Lock()
		changed := fp != e.fingerprint
		e.mu.Unlock()
		if !changed {
			continue
		}
		e.log.Info("slo specs changed; reloading")
		if err := e.Reload(); err != nil {
			e.log.Warn("slo specs: some files were skipped", "err", err)
		}
	}
}

// FileErrors lists the spec files skipped by the last load.
func (e *Engine) FileErrors() []FileError {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]FileError(nil), e.fileErrors...)
}

func sortEntries(ents []*entry) {
	sort.Slice(ents, func(i, j int) bool { return ents[i].written.Name < ents[j].written.Name })
}
