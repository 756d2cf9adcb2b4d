package auth

import (
	"net/http"
)

// Request reports whether r carries an accepted token in its Authorization
// header, or, when allowQuery is set (websockets, whose browser API cannot set
// headers), in the token query parameter.
func (a *Authorizer) Request(r *http.Request, allowQuery bool) bool {
	if !a.Enabled() {
		return true
	}
	if h := r.Header.Get("Authorization"); h != "" {
		return a.ValidHeader(h)
	}
	if allowQuery {
		return a.Valid(r.URL.Query().Get("token"))
	}
	return false
}

// Middleware wraps next so that requests without an accepted token get 401
// with a JSON error body, as the meshscope API answers errors. Use it on
// listeners other than the API's echo instance (which has its own).
func (a *Authorizer) Middleware(next http.Handler) http.Handler {
	if !a.Enabled() {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !a.Request(r, false) {
			Deny(w)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// Deny writes the 401 answer.
func Deny(w http.ResponseWriter) {
	w.Header().Set("WWW-Authenticate", `Bearer realm="meshscope"`)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusUnauthorized)
	_, _ = w.Write([]byte(`{"error":"` + ErrUnauthorized.Error() + `","field":"Authorization"}` + "\n"))
}
