package ui

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/require"
)

func gz(t *testing.T, s string) []byte {
	t.Helper()
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	_, err := w.Write([]byte(s))
	require.NoError(t, err)
	require.NoError(t, w.Close())
	return b.Bytes()
}

func testFS(t *testing.T) fstest.MapFS {
	return fstest.MapFS{
		"index.html":                       {Data: []byte("<html>app</html>")},
		"index.html.gz":                    {Data: gz(t, "<html>app</html>")},
		"assets/main-WZNITOGD.js":          {Data: []byte("console.log(1)")},
		"assets/main-WZNITOGD.js.gz":       {Data: gz(t, "console.log(1)")},
		"assets/main-SQSRDVQ5.css":         {Data: []byte("body{}")},
		"assets/layout-worker-AB12CD34.js": {Data: []byte("self.onmessage=null")},
		"robots.txt":                       {Data: []byte("User-agent: *")},
	}
}

func TestHandler(t *testing.T) {
	h := NewHandler(testFS(t))
	tests := []struct {
		name        string
		path        string
		gzip        bool
		status      int
		body        string
		contentType string
		cache       string
		encoding    string
	}{
		{name: "root", path: "/", status: 200, body: "<html>app</html>", contentType: "text/html; charset=utf-8", cache: cacheNoCache},
		{name: "root gzip", path: "/", gzip: true, status: 200, body: "<html>app</html>", contentType: "text/html; charset=utf-8", cache: cacheNoCache, encoding: "gzip"},
		{name: "client route", path: "/graph/service/shop", status: 200, body: "<html>app</html>", contentType: "text/html; charset=utf-8", cache: cacheNoCache},
		{name: "hashed js", path: "/assets/main-WZNITOGD.js", status: 200, body: "console.log(1)", contentType: "text/javascript; charset=utf-8", cache: cacheImmutable},
		{name: "hashed js gzip", path: "/assets/main-WZNITOGD.js", gzip: true, status: 200, body: "console.log(1)", contentType: "text/javascript; charset=utf-8", cache: cacheImmutable, encoding: "gzip"},
		{name: "hashed css", path: "/assets/main-SQSRDVQ5.css", gzip: true, status: 200, body: "body{}", contentType: "text/css; charset=utf-8", cache: cacheImmutable},
		{name: "worker", path: "/assets/layout-worker-AB12CD34.js", status: 200, body: "self.onmessage=null", contentType: "text/javascript; charset=utf-8", cache: cacheImmutable},
		{name: "unhashed file", path: "/robots.txt", status: 200, body: "User-agent: *", contentType: "text/plain; charset=utf-8", cache: cacheNoCache},
		{name: "missing asset", path: "/assets/main-XXXXXXXX.js", status: 404},
		{name: "missing file with extension", path: "/favicon.ico", status: 404},
		{name: "api is not the app", path: "/api/v1/nope", status: 404},
		{name: "gz sibling not served directly", path: "/assets/main-WZNITOGD.js.gz", status: 404},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodGet, tc.path, nil)
			if tc.gzip {
				req.Header.Set("Accept-Encoding", "br, gzip;q=0.9")
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			require.Equal(t, tc.status, rec.Code)
			if tc.status != 200 {
				return
			}
			require.Equal(t, tc.contentType, rec.Header().Get("Content-Type"))
			require.Equal(t, tc.cache, rec.Header().Get("Cache-Control"))
			require.Equal(t, tc.encoding, rec.Header().Get("Content-Encoding"))
			body := rec.Body.Bytes()
			if tc.encoding == "gzip" {
				zr, err := gzip.NewReader(bytes.NewReader(body))
				require.NoError(t, err)
				body, err = io.ReadAll(zr)
				require.NoError(t, err)
			}
			require.Equal(t, tc.body, string(body))
		})
	}
}

func TestHandlerETag(t *testing.T) {
	h := NewHandler(testFS(t))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/assets/main-SQSRDVQ5.css", nil))
	etag := rec.Header().Get("ETag")
	require.NotEmpty(t, etag)
	req := httptest.NewRequest(http.MethodGet, "/assets/main-SQSRDVQ5.css", nil)
	req.Header.Set("If-None-Match", etag)
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	require.Equal(t, http.StatusNotModified, rec.Code)
}

func TestHandlerMethod(t *testing.T) {
	rec := httptest.NewRecorder()
	NewHandler(testFS(t)).ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/", nil))
	require.Equal(t, http.StatusMethodNotAllowed, rec.Code)
}

func TestPlaceholder(t *testing.T) {
	h := NewHandler(fstest.MapFS{".gitkeep": {Data: nil}})
	for _, p := range []string{"/", "/graph"} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, p, nil))
		require.Equal(t, 200, rec.Code)
		require.Equal(t, cacheNoCache, rec.Header().Get("Cache-Control"))
		require.True(t, strings.Contains(rec.Body.String(), "npm ci &amp;&amp; npm run build"), rec.Body.String())
		require.Contains(t, rec.Body.String(), "make ui")
	}
}

func TestHashedName(t *testing.T) {
	f := func(name string, want bool) {
		t.Helper()
		require.Equal(t, want, hashedName(name), name)
	}
	f("main-WZNITOGD.js", true)
	f("main-SQSRDVQ5.css", true)
	f("layout-worker-VF7MJGN6.js", true)
	f("main.js", false)
	f("sql-console.js", false)
	f("index.html", false)
	f("a-b2.js", false)
}

func TestAcceptsGzip(t *testing.T) {
	f := func(header string, want bool) {
		t.Helper()
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.Header.Set("Accept-Encoding", header)
		require.Equal(t, want, acceptsGzip(r), header)
	}
	f("", false)
	f("gzip", true)
	f("deflate, gzip;q=1.0, *;q=0.5", true)
	f("gzip;q=0", false)
	f("br", false)
	f("*", true)
}

func TestBuiltMatchesEmbed(t *testing.T) {
	// Built reports the embedded state; the handler must agree with it.
	rec := httptest.NewRecorder()
	Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	require.Equal(t, 200, rec.Code)
	require.Equal(t, !Built(), strings.Contains(rec.Body.String(), "built without the web UI"))
}
