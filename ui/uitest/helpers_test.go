package uitest

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/meshscope/meshscope/ui"
)

// page is one browser tab on the UI of a fake server.
type page struct {
	t   testing.TB
	ctx context.Context
	srv *FakeServer

	mu     sync.Mutex
	errors []string
}

// requireBuilt skips (or fails under MESHSCOPE_REQUIRE_BROWSER) when the UI
// assets were not built before the test run.
func requireBuilt(t testing.TB) {
	t.Helper()
	if ui.Built() {
		return
	}
	msg := "UI assets are not built: run `cd ui/web && npm ci && npm run build` first"
	if requireBrowser() {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// openPage starts a browser, opens the UI of srv at hash and waits until the
// graph is drawn and laid out.
func openPage(t testing.TB, srv *FakeServer, hash string) *page {
	t.Helper()
	requireBuilt(t)
	p := &page{t: t, ctx: NewBrowser(t), srv: srv}
	require.NoError(t, chromedp.Do(p.ctx, chromedp.EmulateViewport(1400, 900)))
	msgs := chromedp.Console(p.ctx)
	go func() {
		for m, err := range msgs {
			if err != nil {
				return
			}
			if m.Type == chromedp.ConsoleError || m.Type == chromedp.ConsoleException {
				p.mu.Lock()
				msg := fmt.Sprintf("%s: %s (%s:%d)", m.Type, m.Text, m.URL, m.Line)
				if m.Stack != nil {
					for _, f := range m.Stack.CallFrames {
						msg += fmt.Sprintf("\n\tat %s (%s:%d:%d)", f.FunctionName, f.URL, f.LineNumber, f.ColumnNumber)
					}
				}
				p.errors = append(p.errors, msg)
				p.mu.Unlock()
			}
		}
	}()
	require.NoError(t, chromedp.Do(p.ctx, chromedp.Navigate(srv.URL+"/"+hash)))
	return p
}

// consoleErrors returns the console errors and uncaught exceptions so far.
func (p *page) consoleErrors() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.errors...)
}

// eval evaluates a JavaScript expression and decodes its JSON value into T.
func eval[T any](p *page, expr string) T {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 30*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	require.NoError(p.t, err, expr)
	return v
}

// evalAwait evaluates an expression that yields a promise and decodes its value.
func evalAwait[T any](p *page, expr string) T {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 30*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	require.NoError(p.t, err, expr)
	return v
}

// waitFor polls a JavaScript expression until it is truthy.
func (p *page) waitFor(expr string, timeout time.Duration) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, timeout+5*time.Second)
	defer cancel()
	_, err := chromedp.Run(ctx, chromedp.Poll[bool](fmt.Sprintf("!!(%s)", expr), chromedp.WithPollingTimeout(timeout), chromedp.WithPollingInterval(20*time.Millisecond)))
	require.NoError(p.t, err, "waiting for %s", expr)
}

// waitReady waits until the graph hook reports a drawn, settled graph.
func (p *page) waitReady(timeout time.Duration) {
	p.t.Helper()
	p.waitFor("window.meshscope && window.meshscope.ready", timeout)
}

// do runs actions with a timeout.
func (p *page) do(actions ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 30*time.Second)
	defer cancel()
	require.NoError(p.t, chromedp.Do(ctx, actions...))
}

// screenshot captures the viewport as PNG.
func (p *page) screenshot() []byte {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 30*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	require.NoError(p.t, err)
	return png
}

// positions reads node positions from the test hook.
func (p *page) positions() map[string][2]float64 {
	p.t.Helper()
	raw := eval[json.RawMessage](p, "window.meshscope.positions()")
	var out map[string][2]float64
	require.NoError(p.t, json.Unmarshal(raw, &out))
	return out
}

// clickNode clicks the centre of a node on the canvas.
func (p *page) clickNode(id string) {
	p.t.Helper()
	xy := eval[[]float64](p, fmt.Sprintf("window.meshscope.nodeScreenPosition(%q)", id))
	require.Len(p.t, xy, 2, "node %s has no screen position", id)
	p.do(chromedp.MouseClickXY(xy[0], xy[1]))
}

// setSelect chooses a value of a <select> the way a user does, firing change.
func (p *page) setSelect(id, value string) {
	p.t.Helper()
	eval[bool](p, fmt.Sprintf(`(() => { const el = document.getElementById(%q); el.value = %q; return el.dispatchEvent(new Event("change")); })()`, id, value))
}
