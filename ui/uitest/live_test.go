package uitest

import (
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"
)

// The logs page's live search: ticked, the search runs again and again
// with the form's filters; a record opened stops it, the record staying.
func TestLiveLogs(t *testing.T) {
	srv := NewFakeServer(t, DemoGraph())
	p := openPage(t, srv, "#/logs?severity=warn")
	p.waitFor("document.body.innerText.includes('2 records')", 10*time.Second)
	before, volumesBefore := srv.LogSearches(), srv.LogVolumes()

	p.do(chromedp.Click(chromedp.CSS(".page-view input[name=live]")))
	require.Eventually(t, func() bool { return srv.LogSearches() >= before+6 }, 60*time.Second, 50*time.Millisecond, "searched again while live")
	require.Equal(t, 2, eval[int](p, "document.querySelectorAll('#logs-table tbody tr').length"), "the form's filters kept")

	p.do(chromedp.Click(chromedp.CSS("#logs-table tbody tr:nth-child(1)")))
	p.waitFor("document.querySelector('#log-detail table')", 5*time.Second)
	require.False(t, eval[bool](p, "document.querySelector('.page-view input[name=live]').checked"), "opening a record stops the live search")
	// The volume chart is asked again at every fifth refresh only (one
	// more for a refresh in flight when the record was opened).
	searches, volumes := srv.LogSearches()-before, srv.LogVolumes()-volumesBefore
	require.LessOrEqual(t, volumes, searches/5+1, "%d volume searches for %d searches", volumes, searches)
	require.Empty(t, p.consoleErrors())
}
