package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
)

func itoa(n uint64) string { return strconv.FormatUint(n, 10) }

func lower(s string) string { return strings.ToLower(s) }

// webhookRecorder serves a webhook on loopback that keeps every body it is
// sent; received returns them so far.
func webhookRecorder(t *testing.T) (url string, received func() []string) {
	var mu sync.Mutex
	var bodies []string
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		bodies = append(bodies, string(b))
		mu.Unlock()
	}))
	t.Cleanup(hook.Close)
	return hook.URL, func() []string {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(bodies)
	}
}
