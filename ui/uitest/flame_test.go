package uitest

import (
	"fmt"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"
)

// A trace's flame graph: a box per span at its start and duration, a row
// per depth, the waterfall's colours (failed spans red); hovering names a
// span, a click opens it in the waterfall, unfolding what hid it.
func TestTraceFlameGraph(t *testing.T) {
	srv := NewFakeServer(t, DemoGraph())
	const id = "4bf92f3577b34da6a3ce929d0e0e4736"
	p := openPage(t, srv, "#/traces/"+id+"?view=flame")
	p.waitFor("document.getElementById('flame') && document.getElementById('flame').drawn() === 4", 10*time.Second)
	require.Equal(t, "true", eval[string](p, "document.getElementById('tab-flame').getAttribute('aria-pressed')"))
	require.True(t, eval[bool](p, "document.querySelector('.waterfall').closest('[hidden]') !== null"), "the waterfall hidden")

	type point struct{ X, Y float64 }
	center := func(span string) point {
		return eval[point](p, fmt.Sprintf("document.getElementById('flame').boxCenter(%q)", span))
	}
	left := eval[float64](p, "document.getElementById('flame').getBoundingClientRect().left")
	width := eval[float64](p, "document.getElementById('flame').getBoundingClientRect().width")
	rel := func(c point) float64 { return (c.X - left) / width }
	// The trace is 230 ms: web's root over all of it; the charge 30-200 ms
	// and the insert 205-209 ms both under checkout's 10-210 ms.
	root, checkout, charge, insert := center("a1"), center("b2"), center("c3"), center("d4")
	require.InDelta(t, 0.5, rel(root), 0.01)
	require.InDelta(t, 110.0/230, rel(checkout), 0.01)
	require.InDelta(t, 115.0/230, rel(charge), 0.01)
	require.InDelta(t, 207.0/230, rel(insert), 0.01)
	require.Less(t, root.Y, checkout.Y)
	require.Less(t, checkout.Y, charge.Y)
	require.Equal(t, charge.Y, insert.Y, "siblings share a row")

	// Colours: the failed charge red, the root as web's swatch in the
	// waterfall.
	pixel := func(c point) string {
		return eval[string](p, fmt.Sprintf(`(() => {
			const cv = document.getElementById('flame'), r = cv.getBoundingClientRect(), k = cv.width / r.width;
			const d = cv.getContext('2d').getImageData(Math.round((%f - r.left) * k), Math.round((%f - r.top - 6) * k), 1, 1).data;
			return 'rgb(' + d[0] + ', ' + d[1] + ', ' + d[2] + ')';
		})()`, c.X, c.Y))
	}
	require.Equal(t, "rgb(224, 49, 49)", pixel(charge))
	require.Equal(t, eval[string](p, "getComputedStyle(document.querySelector('li[data-span=a1] .wf-swatch')).backgroundColor"), pixel(root))

	// The find box marks its spans here too, the others faded.
	p.do(chromedp.SendKeys(chromedp.ID("span-find"), "payments"))
	p.waitFor("document.getElementById('flame').marked() !== null", 5*time.Second)
	require.Equal(t, []string{"c3"}, eval[[]string](p, "[...document.getElementById('flame').marked()]"))
	alpha := func(c point) int {
		return eval[int](p, fmt.Sprintf(`(() => {
			const cv = document.getElementById('flame'), r = cv.getBoundingClientRect(), k = cv.width / r.width;
			return cv.getContext('2d').getImageData(Math.round((%f - r.left) * k), Math.round((%f - r.top - 6) * k), 1, 1).data[3];
		})()`, c.X, c.Y))
	}
	require.Less(t, alpha(root), 100, "web's root faded")
	require.Equal(t, 255, alpha(charge), "the charge as it was")
	require.Equal(t, "rgb(224, 49, 49)", pixel(charge))
	eval[string](p, "document.getElementById('span-find').value = ''")
	eval[bool](p, "document.getElementById('span-find').dispatchEvent(new Event('input')), true")
	p.waitFor("document.getElementById('flame').marked() === null", 5*time.Second)

	// Hovering names the span.
	p.do(chromedp.MouseEvent(chromedp.MouseMoved, charge.X, charge.Y))
	p.waitFor("!document.querySelector('.flame-tip').hidden", 5*time.Second)
	require.Equal(t, "payments Charge · 170 ms · failed", eval[string](p, "document.querySelector('.flame-tip').textContent"))

	// A click opens the span in the waterfall.
	require.Equal(t, insert, center("d4"), "the tooltip moved nothing")
	p.do(chromedp.MouseClickXY(insert.X, insert.Y))
	p.waitFor("document.querySelector('.waterfall').closest('[hidden]') === null", 5*time.Second)
	require.Equal(t, "true", eval[string](p, "document.getElementById('tab-waterfall').getAttribute('aria-pressed')"))
	require.Equal(t, "true", eval[string](p, "document.querySelector('li[data-span=d4]').getAttribute('aria-expanded')"))
	require.Equal(t, "d4", eval[string](p, "document.activeElement.dataset.span"))
	require.NotContains(t, eval[string](p, "location.hash"), "view=")

	// A span folded away is shown again when its box is clicked.
	p.do(chromedp.Click(chromedp.CSS(`li[data-span=b2] .wf-fold`)))
	p.waitFor("document.querySelector('li[data-span=c3]').hidden", 5*time.Second)
	p.do(chromedp.Click(chromedp.ID("tab-flame")))
	require.Contains(t, eval[string](p, "location.hash"), "view=flame")
	p.waitFor("document.getElementById('flame').boxCenter('c3') !== null", 5*time.Second) // painted once shown
	charge = center("c3")
	p.do(chromedp.MouseClickXY(charge.X, charge.Y))
	p.waitFor("!document.querySelector('li[data-span=c3]').hidden", 5*time.Second)
	require.Equal(t, "true", eval[string](p, "document.querySelector('li[data-span=c3]').getAttribute('aria-expanded')"))
	require.Equal(t, "true", eval[string](p, "document.querySelector('li[data-span=b2] .wf-fold').getAttribute('aria-expanded')"))

	// Calls made in parallel take rows of their own, under their parent
	// and above the spans they made: search (20-90 ms) overlaps cart
	// (10-60 ms), and cart's query (30-40 ms) goes under both.
	p.do(chromedp.Navigate(srv.URL + "/#/traces/" + ParallelTraceID + "?view=flame"))
	p.waitFor("document.getElementById('flame') && document.getElementById('flame').drawn() === 4", 10*time.Second)
	web, cart, search, query := center("r"), center("x"), center("y"), center("z")
	require.Equal(t, web.Y+18, cart.Y)
	require.Equal(t, cart.Y+18, search.Y, "parallel siblings on rows of their own")
	require.Equal(t, search.Y+18, query.Y)
	require.InDelta(t, 35.0/100, rel(query), 0.01)
	require.InDelta(t, 55.0/100, rel(search), 0.01)

	// Ctrl and the wheel zoom around the pointer: at 80 ms, the stretch
	// shown narrows about it and only web's root and search (20-90 ms)
	// are drawn; dragging pans, a drag opens nothing, and Reset zoom shows
	// the whole trace again.
	wheel := func(x, y, dy float64, ctrl bool) {
		eval[bool](p, fmt.Sprintf(`document.getElementById('flame').dispatchEvent(new WheelEvent('wheel', {clientX: %f, clientY: %f, deltaY: %f, ctrlKey: %t, bubbles: true, cancelable: true}))`, x, y, dy, ctrl))
	}
	type view [2]float64
	at80 := left + 0.8*width
	require.Equal(t, view{0, 100e6}, eval[view](p, "document.getElementById('flame').view()"))
	wheel(at80, search.Y, -200, false)
	require.Equal(t, view{0, 100e6}, eval[view](p, "document.getElementById('flame').view()"), "the wheel alone scrolls")
	require.True(t, eval[bool](p, "document.querySelector('.flame-reset').hidden"))
	for range 3 {
		wheel(at80, search.Y, -200, true)
	}
	v := eval[view](p, "document.getElementById('flame').view()")
	require.Less(t, v[1]-v[0], 10e6, "zoomed in: %v", v)
	require.InDelta(t, 0.8, (80e6-v[0])/(v[1]-v[0]), 0.01, "80 ms stays under the pointer: %v", v)
	require.False(t, eval[bool](p, "document.querySelector('.flame-reset').hidden"))
	require.Equal(t, 2, eval[int](p, "document.getElementById('flame').drawn()"), "cart and its query end before the stretch")
	require.Nil(t, eval[any](p, "document.getElementById('flame').boxCenter('z')"))
	zs := center("y")
	require.InDelta(t, left+width/2, zs.X, 1, "search fills the width")
	// A drag to the left moves the stretch later; the mouseup opens nothing.
	p.do(chromedp.MouseEvent(chromedp.MousePressed, zs.X, zs.Y, chromedp.ButtonLeft),
		chromedp.MouseEvent(chromedp.MouseMoved, zs.X-100, zs.Y, chromedp.ButtonLeft),
		chromedp.MouseEvent(chromedp.MouseReleased, zs.X-100, zs.Y, chromedp.ButtonLeft))
	panned := eval[view](p, "document.getElementById('flame').view()")
	require.Greater(t, panned[0], v[0])
	require.InDelta(t, v[1]-v[0], panned[1]-panned[0], 1)
	require.Contains(t, eval[string](p, "location.hash"), "view=flame", "a drag opens no span")
	p.do(chromedp.Click(chromedp.CSS(".flame-reset")))
	require.Equal(t, view{0, 100e6}, eval[view](p, "document.getElementById('flame').view()"))
	require.Equal(t, 4, eval[int](p, "document.getElementById('flame').drawn()"))

	// A malformed trace (a span its own parent, an id used twice) is drawn
	// with every span once.
	p.do(chromedp.Navigate(srv.URL + "/#/traces/" + MalformedTraceID + "?view=flame"))
	p.waitFor("document.getElementById('flame') && document.getElementById('flame').drawn() === 3", 10*time.Second)
	require.Empty(t, p.consoleErrors())
}
