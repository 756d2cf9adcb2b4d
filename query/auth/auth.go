// Package auth checks meshscope's optional bearer tokens. One Authorizer is
// shared by every listener: the HTTP API (an echo or net/http middleware), the
// websocket stream (which also accepts ?token=) and gRPC receivers (unary and
// stream interceptors reading the "authorization: Bearer TOKEN" metadata).
// Tokens are compared in constant time. It imports nothing of meshscope, so
// ingest/ and cmd/ may use it; it must never import query/ itself.
package auth

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"os"
	"strings"
)

// ErrUnauthorized is returned when a request carries no valid token.
var ErrUnauthorized = errors.New("missing or invalid bearer token")

// Authorizer accepts requests that present one of its tokens. A nil or empty
// Authorizer accepts everything: authentication is off.
type Authorizer struct {
	// digests of the accepted tokens: comparing fixed-length digests keeps
	// the comparison time independent of the tokens' lengths.
	digests [][sha256.Size]byte
}

// New returns an Authorizer for tokens. Blank tokens are ignored; with no
// token left, authentication is off.
func New(tokens []string) *Authorizer {
	a := &Authorizer{}
	for _, t := range tokens {
		if t = strings.TrimSpace(t); t != "" {
			a.digests = append(a.digests, sha256.Sum256([]byte(t)))
		}
	}
	return a
}

// Enabled reports whether tokens are required.
func (a *Authorizer) Enabled() bool { return a != nil && len(a.digests) > 0 }

// Valid reports whether token is one of the accepted tokens. It always
// compares against every token, in constant time.
func (a *Authorizer) Valid(token string) bool {
	if !a.Enabled() {
		return true
	}
	if token == "" {
		return false
	}
	d := sha256.Sum256([]byte(token))
	ok := 0
	for i := range a.digests {
		ok |= subtle.ConstantTimeCompare(d[:], a.digests[i][:])
	}
	return ok == 1
}

// ValidHeader reports whether an Authorization header value ("Bearer TOKEN",
// scheme case-insensitive) carries an accepted token.
func (a *Authorizer) ValidHeader(value string) bool {
	if !a.Enabled() {
		return true
	}
	return a.Valid(BearerToken(value))
}

// BearerToken extracts TOKEN from "Bearer TOKEN"; "" when value has another
// scheme.
func BearerToken(value string) string {
	scheme, token, ok := strings.Cut(strings.TrimSpace(value), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	return strings.TrimSpace(token)
}

// LoadTokenFile reads tokens from path, one per line; blank lines and lines
// starting with # are skipped. A file without any token is an error, so that a
// mistyped file cannot silently turn authentication off.
func LoadTokenFile(path string) ([]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read auth token file: %w", err)
	}
	var tokens []string
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		tokens = append(tokens, line)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read auth token file %s: %w", path, err)
	}
	if len(tokens) == 0 {
		return nil, fmt.Errorf("auth token file %s holds no token", path)
	}
	return tokens, nil
}
