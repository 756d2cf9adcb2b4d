package uitest

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"
)

// The Traces page says what a service's failing calls share that its
// others do not, biggest difference first, each value a link to the traces
// that have it; then what its slow calls share. A service's panel opens it.
func TestSpanDifferences(t *testing.T) {
	srv := NewFakeServer(t, DemoGraph())
	p := openPage(t, srv, "#/traces")
	p.waitFor("document.getElementById('diff-errors') !== null", 10*time.Second)
	// Without a service there is nothing to compare.
	p.do(chromedp.Click(chromedp.ID("diff-errors")))
	p.waitFor("document.querySelector('.differences').innerText.includes('Pick a service first')", 5*time.Second)

	p.do(chromedp.SetValue(chromedp.CSS(`input[name=service]`), "cart"), chromedp.Click(chromedp.ID("diff-errors")))
	p.waitFor("document.getElementById('differences-table') !== null", 10*time.Second)
	box := eval[string](p, "document.querySelector('.differences').innerText")
	require.Contains(t, box, "What the failing calls of cart share")
	require.Contains(t, box, "320 failing calls against 120,000 others (an even sample of 320 and 50,000 read).")
	rows := eval[[][]string](p, "[...document.querySelectorAll('#differences-table tbody tr')].map(r => [...r.cells].map(c => c.textContent.trim()))")
	require.Equal(t, [][]string{
		{"http.response.status_code", "503", "100.0%", "0.0%"},
		{"k8s.pod.name", "cart-7d9f-c", "93.8%", "33.0%"},
		{"span.name", "POST /cart/items", "62.5%", "18.0%"},
	}, rows)
	links := eval[[]string](p, "[...document.querySelectorAll('#differences-table tbody a')].map(a => a.getAttribute('href'))")
	require.True(t, strings.HasPrefix(links[1], "#/traces?service=cart&from=now-1h&to=now&tags=k8s.pod.name%3Dcart-7d9f-c&error=true"), links[1])
	require.Contains(t, links[2], "&operation=POST+%2Fcart%2Fitems&error=true", "a span name is an operation")
	require.Greater(t, eval[float64](p, "document.querySelectorAll('#differences-table .share-bar.selected')[1].getBoundingClientRect().width"),
		eval[float64](p, "document.querySelectorAll('#differences-table .share-bar.baseline')[1].getBoundingClientRect().width"))
	require.Contains(t, eval[string](p, "location.hash"), "diff=errors")

	// The slow ones, from the URL.
	p.do(chromedp.Navigate(srv.URL + "/#/traces?service=cart&diff=slow"))
	p.waitFor("document.querySelector('.differences h2') && document.querySelector('.differences h2').textContent.includes('slow')", 10*time.Second)
	require.Equal(t, "What the slow (80.0 ms or more) calls of cart share", eval[string](p, "document.querySelector('.differences h2').textContent"))
	require.Contains(t, eval[string](p, "document.querySelector('#differences-table tbody a').getAttribute('href')"), "tags=http.route%3D%2Fcart%2Fcheckout&min_duration=80ms")

	// A service with nothing to compare says so.
	p.do(chromedp.Navigate(srv.URL + "/#/traces?service=web&diff=errors"))
	p.waitFor("document.querySelector('.differences').innerText.includes('Nothing to compare in the range.')", 10*time.Second)

	// A failing service's panel links here.
	p.do(chromedp.Navigate(srv.URL + "/#/graph?sel=" + "service:shop/cart"))
	p.waitFor("[...document.querySelectorAll('#panel .links a')].some(a => a.textContent === 'What failing calls share')", 10*time.Second)
	require.Equal(t, "#/traces?service=cart&diff=errors", eval[string](p, "[...document.querySelectorAll('#panel .links a')].find(a => a.textContent === 'What failing calls share').getAttribute('href')"))

	// web's callers are seen by access logs only: its link compares the
	// requests to it.
	p.do(chromedp.Navigate(srv.URL + "/#/graph?sel=" + "service:shop/web"))
	p.waitFor("[...document.querySelectorAll('#panel .links a')].some(a => a.textContent === 'What failing calls share')", 10*time.Second)
	require.Equal(t, "#/requests?destination=service%3Ashop%2Fweb&diff=errors", eval[string](p, "[...document.querySelectorAll('#panel .links a')].find(a => a.textContent === 'What failing calls share').getAttribute('href')"))
}

// The Requests page says what the failing requests of its search share,
// a value linked to the requests with it where the explorer filters by it.
func TestRequestDifferences(t *testing.T) {
	srv := NewFakeServer(t, DemoGraph())
	p := openPage(t, srv, "#/requests?destination=service%3Ashop%2Fweb&diff=errors")
	p.waitFor("document.getElementById('differences-table') !== null", 10*time.Second)
	require.Equal(t, "What the failing requests to shop/web share", eval[string](p, "document.querySelector('.differences h2').textContent"))
	rows := eval[[][]string](p, "[...document.querySelectorAll('#differences-table tbody tr')].map(r => [...r.cells].map(c => c.textContent.trim()))")
	require.Equal(t, [][]string{
		{"upstream_host", "10.0.0.4:8080", "100.0%", "30.0%"},
		{"response_flags", "UF", "90.0%", "0.0%"},
		{"user_agent", "curl/8.5", "50.0%", "10.0%"},
	}, rows)
	// Upstream hosts and flags are filters of the explorer; a user agent
	// is not.
	require.Equal(t, 2, eval[int](p, "document.querySelectorAll('#differences-table tbody a').length"))
	require.Contains(t, eval[string](p, "document.querySelector('#differences-table tbody a').getAttribute('href')"), "upstream_host=10.0.0.4%3A8080")
	href := eval[string](p, "document.querySelectorAll('#differences-table tbody a')[1].getAttribute('href')")
	require.True(t, strings.HasPrefix(href, "#/requests?destination=service%3Ashop%2Fweb&"), href)
	require.Contains(t, href, "flags=UF")
	require.Contains(t, href, "failed=true")
	// The requests themselves are still listed below.
	p.waitFor("document.getElementById('requests-table') !== null", 10*time.Second)
	// Another search's slow requests: nothing to compare.
	p.do(chromedp.Click(chromedp.ID("diff-slow")))
	p.waitFor("document.querySelector('.differences').innerText.includes('Nothing to compare in the range.')", 10*time.Second)
	require.Contains(t, eval[string](p, "location.hash"), "diff=slow")
}

// The Logs page says what the error records of its search share, its
// severity left out; a value links to its records where the page filters
// by it.
func TestLogDifferences(t *testing.T) {
	srv := NewFakeServer(t, DemoGraph())
	p := openPage(t, srv, "#/logs?service=cart&severity=warn&diff=errors")
	p.waitFor("document.getElementById('differences-table') !== null", 10*time.Second)
	require.Equal(t, "What the error records of cart share", eval[string](p, "document.querySelector('.differences h2').textContent"))
	require.Equal(t, 0, eval[int](p, "document.querySelectorAll('#diff-slow').length"), "records have no duration")
	hrefs := eval[[]string](p, "[...document.querySelectorAll('#differences-table tbody a')].map(a => a.getAttribute('href'))")
	require.Len(t, hrefs, 3)
	require.Contains(t, hrefs[0], "resource=k8s.pod.name%3Dcart-7d9f-c")
	require.Contains(t, hrefs[0], "severity=error")
	require.Contains(t, hrefs[1], "attributes=tenant%3Dacme")
	require.Contains(t, hrefs[2], "service=cart")
	require.Equal(t, "Of the errors", eval[string](p, "document.querySelectorAll('#differences-table thead th')[2].textContent.trim()"))

	// What changed keeps the search's severity, and so do its links.
	p.do(chromedp.Navigate(srv.URL + "/#/logs?service=cart&severity=warn&diff=changed"))
	p.waitFor("document.querySelector('.differences h2') && document.querySelector('.differences h2').textContent.includes('changed')", 10*time.Second)
	p.waitFor("document.getElementById('differences-table') !== null", 10*time.Second)
	require.Equal(t, "What changed in the records of cart", eval[string](p, "document.querySelector('.differences h2').textContent"))
	href := eval[string](p, "document.querySelector('#differences-table tbody a').getAttribute('href')")
	require.Contains(t, href, "severity=warn")
	require.NotContains(t, href, "severity=error")
}

// What changed: a service's calls against those of the range before, what
// they gained in one table and what they lost in another; a value that
// fell links to the calls of the range before, whatever their outcome.
func TestWhatChanged(t *testing.T) {
	srv := NewFakeServer(t, DemoGraph())
	p := openPage(t, srv, "#/traces")
	p.waitFor("document.getElementById('diff-changed') !== null", 10*time.Second)
	p.do(chromedp.SetValue(chromedp.CSS(`input[name=service]`), "cart"), chromedp.Click(chromedp.ID("diff-changed")))
	p.waitFor("document.getElementById('differences-shrunk') !== null", 10*time.Second)
	require.Equal(t, "What changed in the calls of cart", eval[string](p, "document.querySelector('.differences h2').textContent"))
	require.Contains(t, eval[string](p, "document.querySelector('.differences p').textContent"), "4,000 calls in the range against 3,000 in the range of the same length before it")
	require.Equal(t, []string{"More common than before", "Less common than before"}, eval[[]string](p, "[...document.querySelectorAll('.differences h3')].map(e => e.textContent)"))
	cells := "[...document.querySelectorAll('%s tbody tr')].map(r => [...r.cells].map(c => c.textContent.trim()))"
	require.Equal(t, [][]string{
		{"service.version", "v2", "25.0%", "0.0%"},
		{"k8s.pod.name", "cart-9f1a-d", "25.0%", "0.0%"},
	}, eval[[][]string](p, strings.Replace(cells, "%s", "#differences-table", 1)))
	require.Equal(t, [][]string{
		{"service.version", "v1", "75.0%", "100.0%"},
		{"http.route", "/cart/legacy", "0.0%", "20.0%"},
	}, eval[[][]string](p, strings.Replace(cells, "%s", "#differences-shrunk", 1)))
	require.Equal(t, []string{"Attribute", "Value", "Now", "Before"}, eval[[]string](p, "[...document.querySelectorAll('#differences-shrunk thead th')].map(e => e.textContent.trim())"))
	now := eval[string](p, "document.querySelector('#differences-table tbody a').getAttribute('href')")
	require.Contains(t, now, "from=now-1h&to=now&tags=service.version%3Dv2")
	require.NotContains(t, now, "error=")
	require.NotContains(t, now, "min_duration=")
	gone := eval[string](p, "document.querySelectorAll('#differences-shrunk tbody a')[1].getAttribute('href')")
	require.Contains(t, gone, "from=2026-11-27T09%3A00%3A00Z&to=2026-11-27T09%3A30%3A00Z&tags=http.route%3D%2Fcart%2Flegacy")
	require.Contains(t, eval[string](p, "location.hash"), "diff=changed")

	// From the URL too; a service with no calls says so.
	p.do(chromedp.Navigate(srv.URL + "/#/traces?service=web&diff=changed"))
	p.waitFor("document.querySelector('.differences').innerText.includes('Nothing to compare: no calls in the range or in the one before.')", 10*time.Second)
	require.Equal(t, "What changed in the calls of web", eval[string](p, "document.querySelector('.differences h2').textContent"))
	// The page's diff parameter is its own: the graph behind it stays live.
	p.waitFor("document.getElementById('status').textContent.includes('live')", 10*time.Second)
	require.NotContains(t, eval[string](p, "document.getElementById('status').textContent"), "diff")

	// A service's panel links to it: from its spans, or, for a service
	// whose callers are seen by access logs only, from the requests to it.
	link := "[...document.querySelectorAll('#panel .links a')].find(a => a.textContent === 'What changed')"
	for sel, want := range map[string]string{
		"service:shop/cart": "#/traces?service=cart&diff=changed",
		"service:shop/web":  "#/requests?destination=service%3Ashop%2Fweb&diff=changed",
	} {
		p.do(chromedp.Navigate(srv.URL + "/#/graph?sel=" + sel))
		p.waitFor(link+" !== undefined", 10*time.Second)
		require.Equal(t, want, eval[string](p, link+".getAttribute('href')"))
	}
}
