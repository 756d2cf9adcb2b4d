package uitest

import (
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"
)

// A trace's statistics by service and operation, self time among them,
// and two traces compared by their call trees.
func TestTraceStatisticsAndCompare(t *testing.T) {
	srv := NewFakeServer(t, DemoGraph())
	const id = "4bf92f3577b34da6a3ce929d0e0e4736"
	p := openPage(t, srv, "#/traces/"+id)
	p.waitFor("document.querySelectorAll('.waterfall li.wf-span').length === 4", 10*time.Second)
	require.True(t, eval[bool](p, "document.getElementById('trace-stats').closest('[hidden]') !== null"), "statistics hidden at first")

	p.do(chromedp.Click(chromedp.ID("tab-stats")))
	p.waitFor("document.getElementById('trace-stats').closest('[hidden]') === null", 5*time.Second)
	require.True(t, eval[bool](p, "document.querySelector('.waterfall').closest('[hidden]') !== null"), "the waterfall hidden")
	require.Contains(t, eval[string](p, "location.hash"), "view=stats")
	// Rows: service, operation, spans, errors, total, mean, min, max,
	// self time, self %, the most total time first. checkout's 200 ms
	// less its calls (170 ms and 4 ms within it): 26 ms of its own.
	rows := eval[[][]string](p, "[...document.querySelectorAll('#trace-stats tbody tr')].map(r => [...r.cells].map(c => c.textContent))")
	require.Len(t, rows, 4)
	require.Equal(t, []string{"web", "GET /checkout", "1", "0", "230 ms"}, rows[0][:5])
	require.Equal(t, []string{"checkout", "POST /orders", "1", "0", "200 ms", "200 ms", "200 ms", "200 ms", "26.0 ms"}, rows[1][:9])
	require.Equal(t, []string{"payments", "Charge", "1", "1"}, rows[2][:4])
	// Self times add up to the trace's 230 ms: web's 30, checkout's 26,
	// the charge's 170, the insert's 4.
	require.Equal(t, "13.0%", rows[0][9])

	// Spans found by text: a service, an attribute.
	p.do(chromedp.Click(chromedp.ID("tab-waterfall")))
	p.do(chromedp.SendKeys(chromedp.ID("span-find"), "payments"))
	p.waitFor("document.getElementById('span-find-count').textContent === '1 span match'", 5*time.Second)
	require.Equal(t, []string{"c3"}, eval[[]string](p, "[...document.querySelectorAll('.waterfall li.wf-match')].map(li => li.dataset.span)"))
	eval[string](p, "document.getElementById('span-find').value = ''")
	p.do(chromedp.SendKeys(chromedp.ID("span-find"), "http.method=GET"))
	p.waitFor("document.getElementById('span-find-count').textContent === '4 spans match'", 5*time.Second)
	// The trace saved as the API answered it.
	saved := evalAwait[string](p, `(() => {
		let link;
		const click = HTMLAnchorElement.prototype.click;
		HTMLAnchorElement.prototype.click = function () { link = this; };
		document.getElementById('trace-json').click();
		HTMLAnchorElement.prototype.click = click;
		return fetch(link.href).then(r => r.json()).then(t => link.download + ' ' + t.trace_id + ' ' + t.spans.length);
	})()`)
	require.Equal(t, "trace-"+id+".json "+id+" 4", saved)

	// Opened by its address, the statistics show.
	p.do(chromedp.Navigate(srv.URL + "/#/traces/" + id + "?view=stats"))
	p.waitFor("document.querySelectorAll('#trace-stats tbody tr').length === 4 && document.getElementById('trace-stats').closest('[hidden]') === null", 10*time.Second)
	require.Equal(t, "true", eval[string](p, "document.getElementById('tab-stats').getAttribute('aria-pressed')"))

	// Compared with the retried trace: the insert only in A, the charge
	// once in A and twice in B, web and checkout the same; the time spent
	// at each step in both.
	p.do(chromedp.SetValue(chromedp.CSS("input[name=compare]"), RetriedTraceID), chromedp.Click(chromedp.CSS(".inline-form button[type=submit]")))
	p.waitFor("document.getElementById('compare-summary')", 10*time.Second)
	require.Equal(t, "#/traces/"+id+"?compare="+RetriedTraceID, eval[string](p, "location.hash"))
	require.Equal(t, "1 only in A0 only in B1 in both, counts differ2 the same", eval[string](p, "document.getElementById('compare-summary').textContent"))
	steps := eval[[]string](p, "[...document.querySelectorAll('#trace-compare li')].map(li => li.className + ' ' + li.querySelector('.tc-step').textContent)")
	require.Equal(t, []string{
		"tc-same web GET /checkout ×1 · 230 ms → 230 ms",
		"tc-same checkout POST /orders ×1 · 200 ms → 200 ms",
		// One charge of 170 ms against two of 80 and 100.
		"tc-changed payments Charge A ×1 · B ×2 · 170 ms → 180 ms",
		"tc-only-a orders-db INSERT orders A ×1 · B ×0",
	}, steps)

	// From the search: two traces ticked, compared; a third untick keeps
	// the button off until two are.
	p.do(chromedp.Navigate(srv.URL + "/#/traces"))
	p.waitFor("document.querySelectorAll('.page-view table.data tbody tr').length === 2", 10*time.Second)
	require.True(t, eval[bool](p, "document.getElementById('compare-chosen').disabled"))
	boxes := "document.querySelectorAll('.page-view table.data tbody input[type=checkbox]')"
	p.do(chromedp.Click(chromedp.CSS(".page-view table.data tbody tr:nth-child(1) input[type=checkbox]")))
	require.True(t, eval[bool](p, "document.getElementById('compare-chosen').disabled"), "one ticked")
	require.Equal(t, "#/traces", eval[string](p, "location.hash"), "ticking does not open the row's trace")
	p.do(chromedp.Click(chromedp.CSS(".page-view table.data tbody tr:nth-child(2) input[type=checkbox]")))
	require.Equal(t, 2, eval[int](p, "[..."+boxes+"].filter(b => b.checked).length"))
	require.False(t, eval[bool](p, "document.getElementById('compare-chosen').disabled"))
	p.do(chromedp.Click(chromedp.ID("compare-chosen")))
	p.waitFor("document.getElementById('compare-summary')", 10*time.Second)
	require.Equal(t, "#/traces/"+id+"?compare=00f067aa0ba902b7a3ce929d0e0e4736", eval[string](p, "location.hash"))
	require.Empty(t, p.consoleErrors())
}

// The trace search's tags field: key=value pairs, a quoted value with
// spaces, sent as the API's tags JSON (with the maximum duration); a word
// without a value refused in place of the results.
func TestTraceSearchTags(t *testing.T) {
	srv := NewFakeServer(t, DemoGraph())
	p := openPage(t, srv, "#/traces")
	p.waitFor("document.querySelectorAll('.page-view table.data tbody tr').length === 2", 10*time.Second)
	require.Empty(t, srv.TraceSearch().Get("tags"))
	p.do(chromedp.SetValue(chromedp.CSS("input[name=tags]"), `http.route=/cart db.statement="select 1" error=true`),
		chromedp.SetValue(chromedp.CSS("input[name=max_duration]"), "2s"),
		chromedp.Click(chromedp.CSS(".page-view form button[type=submit]")))
	require.Eventually(t, func() bool { return srv.TraceSearch().Get("tags") != "" }, 10*time.Second, 20*time.Millisecond)
	require.JSONEq(t, `{"http.route":"/cart","db.statement":"select 1","error":"true"}`, srv.TraceSearch().Get("tags"))
	require.Equal(t, "2s", srv.TraceSearch().Get("max_duration"), "the duration bounds go to the server too")
	p.do(chromedp.SetValue(chromedp.CSS("input[name=tags]"), `http.route=/cart oops`),
		chromedp.Click(chromedp.CSS(".page-view form button[type=submit]")))
	p.waitFor("document.querySelector('.page-view .error')", 10*time.Second)
	require.Contains(t, eval[string](p, "document.querySelector('.page-view .error').textContent"), `tags: want key=value pairs separated by spaces, got "oops"`)
}
