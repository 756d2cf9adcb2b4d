package uitest

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/stretchr/testify/require"
)

func TestSLOPages(t *testing.T) {
	srv := NewFakeServer(t, DemoGraph())
	p := openPage(t, srv, "#/slos")
	p.waitFor("document.querySelectorAll('#slo-table tbody tr').length === 3", 20*time.Second)

	// The list shows every fake SLO with its target, kind, state and budget.
	list := eval[string](p, "document.getElementById('slo-table').innerText")
	for _, want := range []string{
		"checkout-availability", "web-to-checkout", "checkout-api-latency",
		"shop/checkout", "shop/web → shop/checkout", "latency ≤ 300ms", "availability",
		"99.9%", "28d", "calendar week (UTC)", "7d",
		"firing", "ok", "pending",
		"42%", "90.8%", "-12.4%", // error budget remaining
		"18.2×", // the fastest window's burn rate of checkout-availability
	} {
		require.Contains(t, list, want)
	}
	// Below them, the Prometheus alerting rules, the firing one with its
	// alert, the broken one with its error.
	p.waitFor("document.querySelectorAll('#rules-table tbody tr').length === 2", 10*time.Second)
	require.Contains(t, eval[string](p, "document.querySelector('.rules p').textContent"), "2 Prometheus alerting rules (--rule-files), 1 firing")
	rules := eval[[][]string](p, "[...document.querySelectorAll('#rules-table tbody tr')].map(r => [...r.cells].map(c => c.textContent.trim()))")
	require.Equal(t, []string{"QueueTooDeep", "queues", "firing", "ok", "60s", "1 firingservice=cart severity=page (firing)"}, rules[0])
	require.Equal(t, []string{"Broken", "queues", "inactive", "error: many-to-many matching not allowed", "–", "–"}, rules[1])

	// Budgets are meters with labels.
	require.Equal(t, 3, eval[int](p, "document.querySelectorAll('#slo-table [role=meter][aria-label]').length"))
	require.Equal(t, "42", eval[string](p, `document.querySelector('#slo-table [aria-label="Error budget remaining of checkout-availability"]').getAttribute('aria-valuenow')`))

	// Sorting by the budget puts the overspent SLO last when descending.
	p.do(chromedp.Click(chromedp.CSS(`#slo-table th:nth-child(8) button`)))
	require.Equal(t, "web-to-checkout", eval[string](p, "document.querySelector('#slo-table tbody tr td a').textContent"))

	// The names are links reachable with the keyboard; Enter opens the detail.
	p.do(chromedp.Focus(chromedp.CSS(`#slo-table a[href="#/slos/checkout-availability"]`)), chromedp.KeyEvent(kb.Enter))
	p.waitFor("document.querySelectorAll('#slo-windows tbody tr').length === 5 && document.querySelectorAll('#slo-history tbody tr').length === 5", 20*time.Second)
	require.Equal(t, "#/slos/checkout-availability", eval[string](p, "location.hash"))
	require.Contains(t, eval[string](p, "document.querySelector('#page-other h1').textContent"), "checkout-availability")

	// Windows, shortest first, with their burn rates and the thresholds using them.
	windows := eval[[]string](p, "[...document.querySelectorAll('#slo-windows tbody tr')].map(r => r.innerText)")
	require.Len(t, windows, 5)
	for i, w := range []string{"5m", "30m", "1h", "6h", "3d"} {
		require.True(t, strings.HasPrefix(windows[i], w), "row %d: %q", i, windows[i])
	}
	require.Contains(t, windows[0], "18.2×")
	require.Contains(t, windows[0], "page > 14.4× (1h & 5m)")
	require.Contains(t, windows[4], "ticket > 1× (3d & 6h)")
	summary := eval[string](p, "document.querySelector('.slo-numbers').innerText")
	require.Contains(t, summary, "firing")
	require.Contains(t, summary, "42%")
	require.Contains(t, summary, "99.942%")
	require.Contains(t, eval[string](p, "document.getElementById('slo-conditions').innerText"), "met")

	// Alert history, newest first, with severity, state change and burn rates.
	history := eval[[]string](p, "[...document.querySelectorAll('#slo-history tbody tr')].map(r => r.innerText)")
	require.Len(t, history, 5)
	require.Contains(t, history[0], "page")
	require.Contains(t, history[0], "pending → firing")
	require.Contains(t, history[0], "1h 15.3×")
	require.Contains(t, history[4], "ticket")
	// The burn rate chart of the history is drawn by uPlot.
	p.waitFor("document.querySelector('#slo-burn-chart canvas')", 10*time.Second)
	require.Contains(t, eval[string](p, "document.getElementById('slo-alerts').innerText"), "firing")

	// A second SLO without paging history.
	p.do(chromedp.Navigate(srv.URL + "/#/slos/web-to-checkout"))
	p.waitFor("document.querySelectorAll('#slo-history tbody tr').length === 3", 20*time.Second)
	require.Contains(t, eval[string](p, "document.getElementById('slo-alerts').innerText"), "No alert")

	require.Empty(t, p.consoleErrors())

	// An unknown SLO says so and links back.
	p.do(chromedp.Navigate(srv.URL + "/#/slos/nope"))
	p.waitFor("document.querySelector('#page-other [role=alert]')", 20*time.Second)
	require.Contains(t, eval[string](p, "document.querySelector('#page-other [role=alert]').innerText"), "no SLO named nope")
	require.Equal(t, 1, eval[int](p, `document.querySelectorAll('#page-other a[href="#/slos"]').length`))

	for _, e := range p.consoleErrors() {
		// The 404 of the unknown SLO is logged by the browser as a failed load.
		require.Contains(t, e, "404", e)
	}
}

func TestSLOPagesNotServed(t *testing.T) {
	srv := NewFakeServer(t, DemoGraph())
	srv.DisableSLOs()
	for _, hash := range []string{"#/slos", "#/slos/checkout-availability"} {
		p := openPage(t, srv, hash)
		p.waitFor("document.querySelector('#page-other h1') && !document.querySelector('#page-other [role=status]')", 20*time.Second)
		text := eval[string](p, "document.getElementById('page-other').innerText")
		require.Contains(t, text, "This server does not serve SLOs yet", fmt.Sprint(hash))
		// Without an SLO engine the header shows no alert count.
		require.True(t, evalAwait[bool](p, "window.meshscope.refreshAlerts().then(() => true)"))
		require.True(t, eval[bool](p, "document.getElementById('alerts-badge').hidden"))
	}
}

// The header counts the firing SLO alerts, on every page, and links to the
// SLOs page.
func TestFiringAlertsInHeader(t *testing.T) {
	srv := NewFakeServer(t, DemoGraph())
	p := openPage(t, srv, "#/graph")
	// checkout-availability fires its page and ticket alerts;
	// checkout-api-latency's are only pending.
	p.waitFor("!document.getElementById('alerts-badge').hidden", 10*time.Second)
	require.Equal(t, "2 SLO alerts firing", eval[string](p, "document.getElementById('alerts-badge').textContent"))
	require.Equal(t, "checkout-availability", eval[string](p, "document.getElementById('alerts-badge').title"))
	// A Prometheus rule's alert firing counts too, named after the SLOs.
	srv.SetRuleFiring(true)
	require.True(t, evalAwait[bool](p, "window.meshscope.refreshAlerts().then(() => true)"))
	require.Equal(t, "3 alerts firing", eval[string](p, "document.getElementById('alerts-badge').textContent"))
	require.Equal(t, "checkout-availability, QueueTooDeep", eval[string](p, "document.getElementById('alerts-badge').title"))
	p.do(chromedp.Click(chromedp.ID("alerts-badge")))
	p.waitFor("location.hash === '#/slos' && document.querySelectorAll('#slo-table tbody tr').length === 3", 10*time.Second)
	require.Empty(t, p.consoleErrors())
}

// The SLO pages fetch their data again while shown (refreshPage is what
// their timer calls): a new state shows, the list keeps its order and the
// focus stays on the link it was on.
func TestSLOPagesRefresh(t *testing.T) {
	srv := NewFakeServer(t, DemoGraph())
	p := openPage(t, srv, "#/slos")
	p.waitFor("document.querySelectorAll('#slo-table tbody tr').length === 3", 20*time.Second)
	rowState := `document.querySelector('#slo-table tr[data-key="checkout-availability"] td:nth-child(6)').innerText`
	require.Equal(t, "firing", eval[string](p, rowState))

	// Sorted by name, ascending, with the focus on the second SLO's link.
	p.do(chromedp.Click(chromedp.CSS(`#slo-table th:nth-child(1) button`)))
	names := "[...document.querySelectorAll('#slo-table tbody tr')].map(r => r.dataset.key).join(',')"
	sorted := "checkout-api-latency,checkout-availability,web-to-checkout"
	require.Equal(t, sorted, eval[string](p, names))
	p.do(chromedp.Focus(chromedp.CSS(`#slo-table a[href="#/slos/checkout-availability"]`)))

	srv.SetSLOState("checkout-availability", "ok")
	require.True(t, evalAwait[bool](p, "window.meshscope.refreshPage().then(() => true)"))
	require.Equal(t, "ok", eval[string](p, rowState))
	require.Equal(t, sorted, eval[string](p, names))
	require.Equal(t, "#/slos/checkout-availability", eval[string](p, "document.activeElement.getAttribute('href')"))

	// The detail page too.
	p.do(chromedp.Navigate(srv.URL + "/#/slos/checkout-availability"))
	p.waitFor("document.querySelectorAll('#slo-windows tbody tr').length === 5", 20*time.Second)
	require.Contains(t, eval[string](p, "document.querySelector('.slo-numbers').innerText"), "ok")
	srv.SetSLOState("checkout-availability", "firing")
	require.True(t, evalAwait[bool](p, "window.meshscope.refreshPage().then(() => true)"))
	require.Contains(t, eval[string](p, "document.querySelector('.slo-numbers').innerText"), "firing")
	// Charts drawn again do not pile up: those that left the page are
	// destroyed when the next are drawn (uPlot holds window listeners).
	charts := "document.querySelectorAll('#page-other .uplot').length"
	p.waitFor(charts+" > 0", 10*time.Second)
	shown := eval[int](p, charts)
	for range 4 {
		require.True(t, evalAwait[bool](p, "window.meshscope.refreshPage().then(() => true)"))
		p.waitFor(fmt.Sprintf("%s === %d", charts, shown), 10*time.Second)
	}
	require.LessOrEqual(t, eval[int](p, "window.meshscope.liveCharts()"), 2*shown)
	require.Empty(t, p.consoleErrors())
}

// An SLO is created from the list's form and deleted from its page; the
// API's refusal shows with the field it names.
func TestSLOCreateAndDelete(t *testing.T) {
	srv := NewFakeServer(t, DemoGraph())
	p := openPage(t, srv, "#/slos")
	p.waitFor("document.querySelectorAll('#slo-table tbody tr').length === 3", 20*time.Second)
	p.do(chromedp.Click(chromedp.CSS("#slo-new summary")))
	p.waitFor("document.querySelectorAll('#slo-services option').length > 0", 10*time.Second)
	require.Contains(t, eval[[]string](p, "[...document.querySelectorAll('#slo-services option')].map(o => o.value)"), "shop/cart")

	// An objective over 100 is refused, and the cursor goes to it.
	p.do(
		chromedp.SetValue(chromedp.CSS("#slo-new input[name=name]"), "cart-latency"),
		chromedp.SetValue(chromedp.CSS("#slo-new input[name=service]"), "shop/cart"),
		chromedp.SetValue(chromedp.CSS("#slo-new input[name=objective]"), "150"),
	)
	eval[bool](p, `(() => { const s = document.querySelector('#slo-new select[name=sli]'); s.value = 'latency'; return s.dispatchEvent(new Event('change')); })()`)
	require.False(t, eval[bool](p, "document.querySelector('#slo-new input[name=threshold]').closest('label').hidden"), "latency asks for a threshold")
	p.do(chromedp.SetValue(chromedp.CSS("#slo-new input[name=threshold]"), "250ms"))
	// The browser's own check stops 150 before it is sent; send it anyway
	// to see the API's answer.
	eval[bool](p, "(() => { document.querySelector('#slo-new form').noValidate = true; return true; })()")
	p.do(chromedp.Click(chromedp.CSS("#slo-new button[type=submit]")))
	p.waitFor("document.querySelector('#slo-new .error')", 10*time.Second)
	require.Contains(t, eval[string](p, "document.querySelector('#slo-new .error').innerText"), "objective")
	require.Equal(t, "objective", eval[string](p, "document.activeElement.name"))

	// Fixed, it is created, listed, and keeps the form closed.
	p.do(chromedp.SetValue(chromedp.CSS("#slo-new input[name=objective]"), "99"))
	p.do(chromedp.Click(chromedp.CSS("#slo-new button[type=submit]")))
	p.waitFor(`document.querySelector('#slo-table tr[data-key="cart-latency"]')`, 10*time.Second)
	require.Equal(t, 4, eval[int](p, "document.querySelectorAll('#slo-table tbody tr').length"))
	require.Contains(t, eval[string](p, `document.querySelector('#slo-table tr[data-key="cart-latency"]').innerText`), "latency ≤ 250ms")
	require.False(t, eval[bool](p, "document.getElementById('slo-new').open"))
	require.Equal(t, "#/slos/cart-latency", eval[string](p, "document.activeElement.getAttribute('href')"))

	// Its page deletes it, after asking once more.
	p.do(chromedp.Navigate(srv.URL + "/#/slos/cart-latency"))
	p.waitFor("document.getElementById('slo-delete')", 10*time.Second)
	p.do(chromedp.Click(chromedp.ID("slo-delete")))
	require.Contains(t, eval[string](p, "document.getElementById('slo-delete').textContent"), "Confirm")
	require.Equal(t, "#/slos/cart-latency", eval[string](p, "location.hash"), "not deleted yet")
	p.do(chromedp.Click(chromedp.ID("slo-delete")))
	p.waitFor("location.hash === '#/slos' && document.querySelectorAll('#slo-table tbody tr').length === 3", 10*time.Second)

	// The canned SLOs live in a file: their pages offer no delete.
	p.do(chromedp.Navigate(srv.URL + "/#/slos/checkout-availability"))
	p.waitFor("document.querySelectorAll('#slo-windows tbody tr').length === 5", 10*time.Second)
	require.Zero(t, eval[int](p, "document.querySelectorAll('#slo-delete').length"))
}

// An edge's panel opens the form for an SLO on that edge, filled in; the
// SLO is created with the edge as its target.
func TestSLOForAnEdge(t *testing.T) {
	srv := NewFakeServer(t, DemoGraph())
	p := openPage(t, srv, "#/graph?edge="+url.QueryEscape("service:shop/web->service:shop/cart"))
	p.waitFor("document.querySelector('#panel nav.links')", 20*time.Second)
	href := eval[string](p, "[...document.querySelectorAll('#panel nav.links a')].find(a => a.textContent === 'New SLO').getAttribute('href')")
	require.Equal(t, "#/slos?new=edge&source=service%3Ashop%2Fweb&destination=service%3Ashop%2Fcart", href)
	p.do(chromedp.Navigate(srv.URL + "/" + href))
	p.waitFor("document.getElementById('slo-new') && document.getElementById('slo-new').open", 20*time.Second)
	require.Equal(t, "edge", eval[string](p, "document.querySelector('#slo-new select[name=target]').value"))
	require.True(t, eval[bool](p, "document.querySelector('#slo-new input[name=service]').closest('label').hidden"))
	require.Equal(t, "service:shop/web", eval[string](p, "document.querySelector('#slo-new input[name=source]').value"))
	require.Equal(t, "service:shop/cart", eval[string](p, "document.querySelector('#slo-new input[name=destination]').value"))
	p.do(chromedp.SetValue(chromedp.CSS("#slo-new input[name=name]"), "web-cart-availability"),
		chromedp.Click(chromedp.CSS("#slo-new button[type=submit]")))
	p.waitFor(`document.querySelector('#slo-table tr[data-key="web-cart-availability"]')`, 10*time.Second)
	require.Contains(t, eval[string](p, `document.querySelector('#slo-table tr[data-key="web-cart-availability"]').innerText`), "shop/web → shop/cart")
	// A service's panel opens it for the service.
	p.do(chromedp.Navigate(srv.URL + "/#/graph?sel=" + url.QueryEscape("service:shop/cart")))
	p.waitFor("[...document.querySelectorAll('#panel nav.links a')].some(a => a.textContent === 'New SLO')", 20*time.Second)
	p.do(chromedp.Navigate(srv.URL + "/" + eval[string](p, "[...document.querySelectorAll('#panel nav.links a')].find(a => a.textContent === 'New SLO').getAttribute('href')")))
	p.waitFor("document.getElementById('slo-new') && document.getElementById('slo-new').open", 20*time.Second)
	require.Equal(t, "service", eval[string](p, "document.querySelector('#slo-new select[name=target]').value"))
	require.Equal(t, "shop/cart", eval[string](p, "document.querySelector('#slo-new input[name=service]').value"))
	require.Empty(t, p.consoleErrors())
}
