package uitest

import (
	"fmt"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"
)

func TestTrafficAnimation(t *testing.T) {
	srv := NewFakeServer(t, DemoGraph())
	p := openPage(t, srv, "")
	p.waitReady(20 * time.Second)

	// Off by default: nothing is drawn.
	require.False(t, eval[bool](p, "document.getElementById('animate').checked"))
	time.Sleep(200 * time.Millisecond)
	require.Equal(t, 0, eval[int](p, "window.meshscope.animatedDots()"))
	require.NotContains(t, eval[string](p, "location.hash"), "anim=1")

	// The toggle is reachable by keyboard: focus it and press space.
	p.do(chromedp.Focus(chromedp.ID("animate")), chromedp.KeyEvent(" "))
	p.waitFor("document.getElementById('animate').checked", 5*time.Second)
	require.Contains(t, eval[string](p, "location.hash"), "anim=1")
	p.waitFor("window.meshscope.animatedDots() > 0", 5*time.Second)
	dots := eval[int](p, "window.meshscope.animatedDots()")
	require.LessOrEqual(t, dots, 3000)

	// The dots move between frames.
	frame := `new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(() => r(document.querySelector('canvas.traffic').toDataURL()))))`
	a := evalAwait[string](p, frame)
	time.Sleep(100 * time.Millisecond)
	b := evalAwait[string](p, frame)
	require.NotEqual(t, a, b, "animation frames are identical")

	// Off again: no dots.
	p.do(chromedp.Click(chromedp.ID("animate")))
	p.waitFor("window.meshscope.animatedDots() === 0", 5*time.Second)
	require.NotContains(t, eval[string](p, "location.hash"), "anim=1")

	require.Empty(t, p.consoleErrors())
}

func TestTrafficAnimationFromHash(t *testing.T) {
	srv := NewFakeServer(t, DemoGraph())
	p := openPage(t, srv, "#/graph?anim=1")
	p.waitReady(20 * time.Second)
	require.True(t, eval[bool](p, "document.getElementById('animate').checked"))
	p.waitFor("window.meshscope.animatedDots() > 0", 5*time.Second)

	// Other pages stop it; back on the graph it runs again.
	p.do(chromedp.Evaluate[chromedp.Void]("location.hash = '#/table?anim=1'"))
	p.waitFor("window.meshscope.animatedDots() === 0", 5*time.Second)
	p.do(chromedp.Evaluate[chromedp.Void]("location.hash = '#/graph?anim=1'"))
	p.waitFor("window.meshscope.animatedDots() > 0", 5*time.Second)

	require.Empty(t, p.consoleErrors())
}

func TestNamespaceMultiSelect(t *testing.T) {
	srv := NewFakeServer(t, DemoGraph())
	p := openPage(t, srv, "")
	p.waitReady(20 * time.Second)

	require.True(t, eval[bool](p, "document.getElementById('namespace').multiple"))
	// Pick shop and pay.
	eval[bool](p, `(() => {
		const el = document.getElementById("namespace");
		for (const o of el.options) o.selected = o.value === "shop" || o.value === "pay";
		return el.dispatchEvent(new Event("change"));
	})()`)
	require.Eventually(t, func() bool { return len(srv.Subscriptions()) == 1 }, 10*time.Second, 50*time.Millisecond)
	require.Contains(t, srv.Subscriptions()[0], `"namespaces":["pay","shop"]`)
	require.Equal(t, "pay,shop", eval[string](p, "new URLSearchParams(location.hash.split('?')[1]).get('ns')"))
	srv.mu.Lock()
	want := len(srv.graphLocked([]string{"pay", "shop"}).Nodes)
	srv.mu.Unlock()
	p.waitFor(fmt.Sprintf("window.meshscope.nodeCount() === %d && window.meshscope.ready", want), 10*time.Second)
	require.Equal(t, []string{"pay", "shop"}, eval[[]string](p, "[...document.getElementById('namespace').selectedOptions].map((o) => o.value)"))

	// A reload keeps both from the hash and subscribes with them.
	srv2 := NewFakeServer(t, DemoGraph())
	p2 := openPage(t, srv2, "#/graph?ns=pay,shop")
	p2.waitReady(20 * time.Second)
	require.Equal(t, []string{"pay", "shop"}, eval[[]string](p2, "[...document.getElementById('namespace').selectedOptions].map((o) => o.value)"))
	require.Equal(t, want, eval[int](p2, "window.meshscope.nodeCount()"))

	// "All namespaces" clears the filter.
	p.setSelect("namespace", "")
	p.waitFor("!location.hash.includes('ns=')", 5*time.Second)

	require.Empty(t, p.consoleErrors())
	require.Empty(t, p2.consoleErrors())
}
