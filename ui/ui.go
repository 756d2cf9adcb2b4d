// Package ui serves the meshscope browser UI. The assets are built from
// ui/web with npm into ui/dist and embedded at compile time; when they were
// not built, a placeholder page explains how to build them, so `go build`
// works without Node. The package only serves files: it must never import
// the graph, query or ingest packages.
package ui

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
	"sync"
	"time"
)

//go:embed all:dist
var distFS embed.FS

//go:embed placeholder/index.html
var placeholderHTML []byte

// Cache-Control values.
const (
	cacheImmutable = "public, max-age=31536000, immutable"
	cacheNoCache   = "no-cache"
)

// dist returns the embedded build output rooted at ui/dist.
func dist() fs.FS {
	sub, err := fs.Sub(distFS, "dist")
	if err != nil {
		// fs.Sub only fails on an invalid path, and "dist" is valid.
		panic(err)
	}
	return sub
}

// Built reports whether the embedded assets include a built index.html.
func Built() bool {
	return built(dist())
}

func built(fsys fs.FS) bool {
	st, err := fs.Stat(fsys, "index.html")
	return err == nil && !st.IsDir()
}

// Handler serves the embedded UI. See NewHandler for the rules.
func Handler() http.Handler {
	return NewHandler(dist())
}

// NewHandler serves a built UI from fsys, which holds index.html and assets/
// as written by ui/web/build.mjs (for development, os.DirFS("ui/dist")).
//
// "/" and any path that does not name a file and does not look like an asset
// get index.html with Cache-Control no-cache, so client-side routes and
// bookmarks work. Files whose names carry a content hash (name-HASH.ext) are
// served with a one-year immutable Cache-Control; other files with no-cache.
// When the client accepts gzip and a pre-compressed NAME.gz exists, that is
// sent with Content-Encoding gzip and the Content-Type of NAME. Paths under
// /api/ are never answered with index.html. When fsys has no index.html the
// placeholder page that explains how to build the UI is served instead.
func NewHandler(fsys fs.FS) http.Handler {
	return &handler{fsys: fsys, etags: map[string]string{}}
}

type handler struct {
	fsys fs.FS

	mu    sync.Mutex
	etags map[string]string // file path -> strong ETag
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	name := strings.TrimPrefix(path.Clean("/"+r.URL.Path), "/")
	if name == "" || name == "index.html" {
		h.serveIndex(w, r)
		return
	}
	if name == "api" || strings.HasPrefix(name, "api/") {
		http.NotFound(w, r)
		return
	}
	if st, err := fs.Stat(h.fsys, name); err == nil && !st.IsDir() && !strings.HasSuffix(name, ".gz") {
		cache := cacheNoCache
		if hashedName(path.Base(name)) {
			cache = cacheImmutable
		}
		h.serveFile(w, r, name, cache)
		return
	}
	if looksLikeAsset(name) {
		http.NotFound(w, r)
		return
	}
	h.serveIndex(w, r)
}

// serveIndex sends index.html, or the placeholder when the UI is not built.
func (h *handler) serveIndex(w http.ResponseWriter, r *http.Request) {
	if !built(h.fsys) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", cacheNoCache)
		http.ServeContent(w, r, "index.html", time.Time{}, bytes.NewReader(placeholderHTML))
		return
	}
	h.serveFile(w, r, "index.html", cacheNoCache)
}

// serveFile sends name, or its .gz sibling when the client accepts gzip.
func (h *handler) serveFile(w http.ResponseWriter, r *http.Request, name, cache string) {
	hdr := w.Header()
	hdr.Set("Cache-Control", cache)
	hdr.Set("Content-Type", contentType(name))
	hdr.Set("X-Content-Type-Options", "nosniff")
	send := name
	if _, err := fs.Stat(h.fsys, name+".gz"); err == nil {
		hdr.Add("Vary", "Accept-Encoding")
		if acceptsGzip(r) {
			send = name + ".gz"
			hdr.Set("Content-Encoding", "gzip")
		}
	}
	data, err := fs.ReadFile(h.fsys, send)
	if err != nil {
		http.Error(w, "read "+name+": "+err.Error(), http.StatusInternalServerError)
		return
	}
	hdr.Set("ETag", h.etag(send, data))
	http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(data))
}

// etag returns a strong ETag of the file's bytes, computed once.
func (h *handler) etag(name string, data []byte) string {
	h.mu.Lock()
	defer h.mu.Unlock()
	if t, ok := h.etags[name]; ok {
		return t
	}
	sum := sha256.Sum256(data)
	t := `"` + hex.EncodeToString(sum[:8]) + `"`
	h.etags[name] = t
	return t
}

// contentType returns the Content-Type of a file by its extension.
func contentType(name string) string {
	switch path.Ext(name) {
	case ".html":
		return "text/html; charset=utf-8"
	case ".js", ".mjs":
		return "text/javascript; charset=utf-8"
	case ".css":
		return "text/css; charset=utf-8"
	case ".json", ".map":
		return "application/json"
	case ".svg":
		return "image/svg+xml"
	case ".wasm":
		return "application/wasm"
	}
	if t := mime.TypeByExtension(path.Ext(name)); t != "" {
		return t
	}
	return "application/octet-stream"
}

// acceptsGzip reports whether the request's Accept-Encoding allows gzip.
func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if !strings.EqualFold(strings.TrimSpace(coding), "gzip") && strings.TrimSpace(coding) != "*" {
			continue
		}
		if q, ok := strings.CutPrefix(strings.ReplaceAll(params, " ", ""), "q="); ok && (q == "0" || q == "0.0" || q == "0.00" || q == "0.000") {
			return false
		}
		return true
	}
	return false
}

// hashedName reports whether a file name carries a content hash the way
// esbuild writes it: NAME-HASH.EXT with HASH of 8 or more letters and digits.
func hashedName(base string) bool {
	stem := strings.TrimSuffix(base, path.Ext(base))
	i := strings.LastIndexByte(stem, '-')
	if i < 1 {
		return false
	}
	hash := stem[i+1:]
	if len(hash) < 8 {
		return false
	}
	digits := false
	for _, c := range hash {
		switch {
		case c >= '0' && c <= '9':
			digits = true
		case c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z':
		default:
			return false
		}
	}
	// Require a digit or all upper case so "sql-console.js" is not taken for hashed.
	return digits || strings.ToUpper(hash) == hash
}

// looksLikeAsset reports whether a path names a file rather than a route:
// anything under assets/ or whose last element has an extension.
func looksLikeAsset(name string) bool {
	if strings.HasPrefix(name, "assets/") {
		return true
	}
	return path.Ext(path.Base(name)) != ""
}
