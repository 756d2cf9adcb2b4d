package uitest

import (
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"
)

// The Logs page grouped by pattern: each pattern with its records' count,
// level and services; a pattern opens its records, the pattern filled in
// the form, the other filters kept.
func TestLogPatternsView(t *testing.T) {
	srv := NewFakeServer(t, DemoGraph())
	p := openPage(t, srv, "#/logs?patterns=true&severity=info")
	p.waitFor("document.getElementById('patterns-table') !== null", 10*time.Second)
	require.Contains(t, eval[string](p, "document.getElementById('patterns-summary').textContent"), "3 records in 3 patterns")
	require.True(t, eval[bool](p, "document.querySelector('input[name=patterns]').checked"))
	rows := eval[[][]string](p, "[...document.querySelectorAll('#patterns-table tbody tr')].map(r => [...r.cells].map(c => c.textContent))")
	require.Len(t, rows, 3)
	var placing []string
	for _, r := range rows {
		if r[2] == "placing order <n>" {
			placing = r
		}
	}
	require.NotNil(t, placing, "%v", rows)
	require.Equal(t, []string{"1", "INFO", "placing order <n>", "shop/checkout"}, placing[:4])
	require.NotNil(t, eval[any](p, "document.querySelector('#patterns-table svg.trend')"))
	require.NotNil(t, eval[any](p, "document.getElementById('log-volume')"), "the volume chart above")

	// A pattern opens its records.
	eval[any](p, "[...document.querySelectorAll('#patterns-table tbody tr')].find(r => r.textContent.includes('placing order')).click()")
	p.waitFor("document.getElementById('logs-table') !== null && document.body.innerText.includes('1 record.')", 10*time.Second)
	require.Equal(t, "placing order <n>", eval[string](p, "document.querySelector('input[name=pattern]').value"))
	require.Equal(t, "info", eval[string](p, "document.querySelector('select[name=severity]').value"), "the search's filters kept")
	require.False(t, eval[bool](p, "document.querySelector('input[name=patterns]').checked"))
	require.Equal(t, []string{"placing order 42"}, eval[[]string](p, "[...document.querySelectorAll('#logs-table .log-body')].map(e => e.textContent)"))

	// Ticked again, the patterns of the search, here that one pattern.
	p.do(chromedp.Click(chromedp.CSS("input[name=patterns]")), chromedp.Click(chromedp.CSS("form.toolbar button[type=submit]")))
	p.waitFor("document.getElementById('patterns-table') !== null", 10*time.Second)
	require.Equal(t, 1, eval[int](p, "document.querySelectorAll('#patterns-table tbody tr').length"))
	require.Empty(t, p.consoleErrors())
}
