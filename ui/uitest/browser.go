// Package uitest holds the browser tests of the meshscope web UI and the
// helpers they share: a headless Chromium started with chromedp, and a fake of
// the meshscope HTTP and websocket API that follows docs/api.md and
// docs/websocket.md. It is imported only by tests; it must never be imported by
// the meshscope binary.
package uitest

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// ChromiumPath is where the tests look for the browser.
const ChromiumPath = "/usr/bin/chromium"

// RequireBrowserEnv names the environment variable that turns a missing
// browser into a test failure instead of a skip.
const RequireBrowserEnv = "MESHSCOPE_REQUIRE_BROWSER"

// NewBrowser starts a fresh headless Chromium with its own temporary profile
// and returns a chromedp context for one tab in it. The browser stops when the
// test ends. When /usr/bin/chromium is missing the test is skipped, or fails
// if MESHSCOPE_REQUIRE_BROWSER is set.
func NewBrowser(t testing.TB) context.Context {
	t.Helper()
	if _, err := os.Stat(ChromiumPath); err != nil {
		if os.Getenv(RequireBrowserEnv) != "" {
			t.Fatalf("chromium not found at %s and %s is set: %v", ChromiumPath, RequireBrowserEnv, err)
		}
		t.Skipf("chromium not found at %s (apt-get install -y chromium); set %s=1 to fail instead", ChromiumPath, RequireBrowserEnv)
	}
	dir, err := os.MkdirTemp("", "meshscope-chromium-")
	if err != nil {
		t.Fatalf("make chromium profile dir: %v", err)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(ChromiumPath),
		chromedp.UserDataDir(dir),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		// WebGL runs on the software rasterizer when there is no GPU.
		chromedp.Flag("enable-unsafe-swiftshader", true),
		chromedp.Flag("use-angle", "swiftshader"),
		chromedp.WindowSize(1400, 900),
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(allocCtx)
	// Start the browser now, without a deadline, so that a timeout on a later
	// action never stops the whole browser.
	if err := chromedp.Do(ctx); err != nil {
		cancelCtx()
		cancelAlloc()
		os.RemoveAll(dir)
		t.Fatalf("start chromium: %v", err)
	}
	t.Cleanup(func() {
		cancelCtx()
		cancelAlloc()
		// Child processes can still write into the profile for a moment.
		for range 50 {
			if err := os.RemoveAll(dir); err == nil {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
	})
	return ctx
}

// requireBrowser reports whether a missing browser must fail the tests.
func requireBrowser() bool {
	return os.Getenv(RequireBrowserEnv) != ""
}
