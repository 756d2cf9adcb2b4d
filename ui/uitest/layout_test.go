package uitest

import (
	"fmt"
	"math"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"
)

// The layered layout: callers left of their callees, chosen from the
// toolbar or the address, placed again when nodes arrive; the force
// layout's positions come back when it is chosen again.
func TestLayeredLayout(t *testing.T) {
	demo := DemoGraph()
	srv := NewFakeServer(t, demo)
	p := openPage(t, srv, "#/graph")
	p.waitReady(20 * time.Second)
	force := p.positions()

	// leftToRight checks that every edge of g runs from left to right.
	leftToRight := func(g Graph, pos map[string][2]float64) {
		t.Helper()
		for _, e := range g.Edges {
			s, ok1 := pos[e.Source]
			d, ok2 := pos[e.Target]
			require.True(t, ok1 && ok2, e.ID)
			require.Less(t, s[0], d[0], "edge %s runs right to left", e.ID)
		}
	}
	p.setSelect("layout", "layered")
	require.Contains(t, eval[string](p, "location.hash"), "layout=layered")
	layered := p.positions()
	require.Len(t, layered, len(demo.Nodes))
	leftToRight(demo, layered)
	require.GreaterOrEqual(t, eval[float64](p, "window.meshscope.layeredMs()"), 0.0)

	// A node the mesh gains: placed again, every edge still left to right.
	wishlist := ServiceNode("shop", "wishlist", "healthy", 12, 0)
	toWishlist := MakeEdge("service:shop/web", wishlist.ID, "http", 12, 0, 3)
	seq := srv.SendDelta(Delta{NodesAdded: []Node{wishlist}, EdgesAdded: []Edge{toWishlist}})
	p.waitFor(fmt.Sprintf("window.meshscope.lastSeq() === %d && window.meshscope.ready", seq), 20*time.Second)
	grown := srv.Graph()
	leftToRight(grown, p.positions())

	// Force again: the positions it had, as remembered (to 0.01), the new
	// node placed by it.
	p.setSelect("layout", "")
	require.NotContains(t, eval[string](p, "location.hash"), "layout=")
	back := p.positions()
	for id, xy := range force {
		require.InDelta(t, xy[0], back[id][0], 0.006, "node %s moved", id)
		require.InDelta(t, xy[1], back[id][1], 0.006, "node %s moved", id)
	}
	require.Contains(t, back, wishlist.ID)

	// From the address: the same picture, the control showing it.
	p2 := openPage(t, srv, "#/graph?layout=layered")
	p2.waitReady(20 * time.Second)
	require.Equal(t, "layered", eval[string](p2, "document.getElementById('layout').value"))
	leftToRight(grown, p2.positions())
	require.Empty(t, p.consoleErrors())
	require.Empty(t, p2.consoleErrors())
}

// A node moved by hand stays where it was put, in the layered layout too,
// after a reload: the layered placement leaves it alone, the others go
// back to their layers.
func TestDraggedNodeKeptAcrossReload(t *testing.T) {
	p := openPage(t, NewFakeServer(t, DemoGraph()), "#/graph?layout=layered")
	p.waitReady(20 * time.Second)
	before := p.positions()
	const moved = "service:shop/cart"
	xy := eval[[]float64](p, fmt.Sprintf("window.meshscope.nodeScreenPosition(%q)", moved))
	require.Len(t, xy, 2)
	p.do(chromedp.MouseEvent(chromedp.MouseMoved, xy[0], xy[1]),
		chromedp.MouseEvent(chromedp.MousePressed, xy[0], xy[1], chromedp.ButtonLeft),
		chromedp.MouseEvent(chromedp.MouseMoved, xy[0]+20, xy[1]+40, chromedp.ButtonLeft),
		chromedp.MouseEvent(chromedp.MouseMoved, xy[0]+40, xy[1]+80, chromedp.ButtonLeft),
		chromedp.MouseEvent(chromedp.MouseReleased, xy[0]+40, xy[1]+80, chromedp.ButtonLeft))
	dragged := p.positions()
	require.NotEqual(t, before[moved], dragged[moved], "the drag moved it")

	p.do(chromedp.Reload())
	p.waitReady(20 * time.Second)
	after := p.positions()
	for id, want := range before {
		if id == moved {
			want = dragged[moved]
		}
		require.InDelta(t, want[0], after[id][0], 0.01, "node %s", id)
		require.InDelta(t, want[1], after[id][1], 0.01, "node %s", id)
	}
	require.Empty(t, p.consoleErrors())
}

// A deep graph (random calls among 600 services: long chains) in layers
// stays about as wide as tall rather than a long thin band.
func TestLayeredLayoutOfADeepGraph(t *testing.T) {
	g := GenGraph(600, 2400, 1)
	p := openPage(t, NewFakeServer(t, g), "#/graph?layout=layered")
	p.waitReady(60 * time.Second)
	pos := p.positions()
	require.Len(t, pos, len(g.Nodes))
	minX, maxX, minY, maxY := math.Inf(1), math.Inf(-1), math.Inf(1), math.Inf(-1)
	for _, xy := range pos {
		minX, maxX = min(minX, xy[0]), max(maxX, xy[0])
		minY, maxY = min(minY, xy[1]), max(maxY, xy[1])
	}
	ratio := (maxX - minX) / (maxY - minY)
	require.True(t, ratio > 0.25 && ratio < 4, "width / height %.2f", ratio)
	require.Empty(t, p.consoleErrors())
}

// A service with an exception type first seen in the last hour names it in
// its tooltip; the others do not.
func TestNewExceptionsInTooltip(t *testing.T) {
	srv := NewFakeServer(t, DemoGraph())
	p := openPage(t, srv, "#/graph")
	p.waitReady(20 * time.Second)
	p.waitFor("!document.getElementById('new-exceptions-badge').hidden", 10*time.Second)
	// hover moves the pointer onto a node and answers its tooltip's text
	// once the tooltip is the node's (its title, name).
	hover := func(id, name string) string {
		t.Helper()
		xy := eval[[]float64](p, fmt.Sprintf("window.meshscope.nodeScreenPosition(%q)", id))
		require.Len(t, xy, 2)
		p.do(chromedp.MouseEvent(chromedp.MouseMoved, xy[0]+40, xy[1]+40), chromedp.MouseEvent(chromedp.MouseMoved, xy[0], xy[1]))
		p.waitFor(fmt.Sprintf("(() => { const t = document.querySelector('#graph .tooltip'); return !t.hidden && t.querySelector('.tt-title').textContent.startsWith(%q); })()", name+" "), 10*time.Second)
		return eval[string](p, "document.querySelector('#graph .tooltip').innerText")
	}
	require.Contains(t, hover("service:shop/cart", "cart"), "new exceptions\nTypeError")
	require.NotContains(t, hover("service:shop/web", "web"), "new exceptions")
	require.Empty(t, p.consoleErrors())
}

// Rings mark the nodes with something new lately: payments, whose canary
// v2 (deployed 20 minutes ago) is alerted on as worse; cart, with a new
// exception type; none on the others. By version (the last hour's graph),
// the canary's node alone.
// Without the deployment alerts, payments' ring says only that it was
// deployed.
func TestRings(t *testing.T) {
	srv := NewFakeServer(t, DemoGraph())
	p := openPage(t, srv, "#/graph")
	p.waitReady(20 * time.Second)
	ring := func(id string) string { return eval[string](p, fmt.Sprintf("window.meshscope.nodeRing(%q)", id)) }
	const worse, exception, deployed = "#212529", "#5f3dc4", "#1098ad"
	p.waitFor(fmt.Sprintf("window.meshscope.nodeRing('service:pay/payments') === %q && window.meshscope.nodeRing('service:shop/cart') === %q", worse, exception), 10*time.Second)
	for _, id := range []string{"service:shop/web", "service:pay/fraud", "database:redis/cart"} {
		require.Empty(t, ring(id), id)
	}
	require.Contains(t, eval[string](p, "document.querySelector('.legend').textContent"), "worse deployment")
	xy := eval[[]float64](p, "window.meshscope.nodeScreenPosition('service:pay/payments')")
	require.Len(t, xy, 2)
	p.do(chromedp.MouseEvent(chromedp.MouseMoved, xy[0]+40, xy[1]+40), chromedp.MouseEvent(chromedp.MouseMoved, xy[0], xy[1]))
	p.waitFor("(() => { const t = document.querySelector('#graph .tooltip'); return !t.hidden && t.querySelector('.tt-title').textContent.startsWith('payments '); })()", 10*time.Second)
	tip := eval[string](p, "document.querySelector('#graph .tooltip').innerText")
	require.Contains(t, tip, "deployed\nv2 at ")
	require.Contains(t, tip, "worse than its other versions")

	// The last hour's graph by version: the versions deployed in it
	// ringed, the canary's node alone; the present's worse deployments and
	// new exceptions are not the range's.
	p.do(chromedp.Navigate(srv.URL+"/#/graph?g=version&range=1h"), chromedp.Reload())
	p.waitFor(fmt.Sprintf("window.meshscope.nodeRing('version:pay/payments/v2') === %q", deployed), 20*time.Second)
	require.Empty(t, ring("version:pay/payments/v1"), "the stable version")
	require.Empty(t, ring("version:shop/cart/v1"), "a new exception is the present's")
	require.Contains(t, eval[string](p, "document.querySelector('.legend').textContent"), "deployed in the range")
	// A range before the deploy: no ring.
	past := time.Now().Add(-3 * time.Hour).UTC()
	p.do(chromedp.Navigate(srv.URL+"/#/graph?"+url.Values{"range": {"custom"}, "from": {past.Format(time.RFC3339)}, "to": {past.Add(time.Hour).Format(time.RFC3339)}}.Encode()), chromedp.Reload())
	p.waitReady(20 * time.Second)
	p.waitFor(fmt.Sprintf("window.meshscope.ringsFrom() === %q", past.Format(time.RFC3339)), 10*time.Second)
	require.True(t, srv.AskedDeploymentsFrom(past.Format(time.RFC3339)))
	require.Empty(t, ring("service:pay/payments"), "deployed after the range")
	require.Empty(t, ring("service:shop/cart"))

	require.Empty(t, p.consoleErrors())

	srv.DisableSLOs()
	p.do(chromedp.Navigate(srv.URL+"/#/graph"), chromedp.Reload())
	p.waitFor(fmt.Sprintf("window.meshscope.nodeRing('service:pay/payments') === %q", deployed), 20*time.Second)
}

// Edges are hovered and clicked where they are drawn: the tooltip names
// the edge under the pointer, it is drawn hovered, and a click opens its
// panel; off the edge, nothing is hovered and a click closes the panel.
func TestEdgeHoverAndClick(t *testing.T) {
	srv := NewFakeServer(t, DemoGraph())
	p := openPage(t, srv, "#/graph")
	p.waitReady(20 * time.Second)
	// An edge whose middle is clear of every node and of other edges.
	pos := map[string][]float64{}
	for id := range p.positions() {
		pos[id] = eval[[]float64](p, fmt.Sprintf("window.meshscope.nodeScreenPosition(%q)", id))
	}
	var edge string
	var at []float64
	for _, id := range eval[[]string](p, "window.meshscope.edgeIds()") {
		mid := eval[[]float64](p, fmt.Sprintf("window.meshscope.edgeScreenPoint(%q, 0.5)", id))
		clear := true
		for _, xy := range pos {
			clear = clear && math.Hypot(xy[0]-mid[0], xy[1]-mid[1]) > 30
		}
		if clear && eval[int](p, fmt.Sprintf("window.meshscope.edgesNear(%v, %v, 8)", mid[0], mid[1])) == 1 {
			edge, at = id, mid
			break
		}
	}
	require.NotEmpty(t, edge, "an edge clear of the others")
	_, dst, _ := strings.Cut(edge, "->")

	p.do(chromedp.MouseEvent(chromedp.MouseMoved, at[0]+60, at[1]+60), chromedp.MouseEvent(chromedp.MouseMoved, at[0], at[1]))
	p.waitFor(fmt.Sprintf("window.meshscope.hoveredEdge() === %q", edge), 10*time.Second)
	p.waitFor("!document.querySelector('#graph .tooltip').hidden", 10*time.Second)
	title := eval[string](p, "document.querySelector('#graph .tooltip .tt-title').textContent")
	require.True(t, strings.HasSuffix(title, " → "+dst[strings.LastIndex(dst, "/")+1:]), "the edge's tooltip: %q", title)
	p.do(chromedp.MouseClickXY(at[0], at[1]))
	p.waitFor("!document.getElementById('panel').hidden", 10*time.Second)
	require.Equal(t, edge, eval[string](p, "new URLSearchParams(location.hash.split('?')[1]).get('edge')"), "the edge's panel")

	// Off the edge: nothing hovered, the tooltip gone; a click there
	// closes the panel.
	var off []float64
	for _, d := range [][2]float64{{0, 40}, {40, 0}, {0, -40}, {-40, 0}, {30, 30}, {-30, -30}, {30, -30}, {-30, 30}} {
		xy := []float64{at[0] + d[0], at[1] + d[1]}
		clear := eval[int](p, fmt.Sprintf("window.meshscope.edgesNear(%v, %v, 10)", xy[0], xy[1])) == 0
		for _, n := range pos {
			clear = clear && math.Hypot(n[0]-xy[0], n[1]-xy[1]) > 30
		}
		if clear {
			off = xy
			break
		}
	}
	require.NotNil(t, off, "a point clear of nodes and edges near the edge")
	p.do(chromedp.MouseEvent(chromedp.MouseMoved, off[0], off[1]))
	p.waitFor("window.meshscope.hoveredEdge() === ''", 10*time.Second)
	require.True(t, eval[bool](p, "document.querySelector('#graph .tooltip').hidden"))
	// Past sigma's double-click timeout, so that this click is one.
	time.Sleep(time.Second)
	p.do(chromedp.MouseClickXY(off[0], off[1]))
	p.waitFor("document.getElementById('panel').hidden", 10*time.Second)

	// The edge gone from the mesh: nothing there to hover any more (the
	// edges' ends gathered again after the change).
	require.Equal(t, edge, eval[string](p, fmt.Sprintf("window.meshscope.edgeAt(%v, %v)", at[0], at[1])))
	seq := srv.SendDelta(Delta{EdgesRemoved: []string{edge}})
	p.waitFor(fmt.Sprintf("window.meshscope.lastSeq() === %d && window.meshscope.ready", seq), 20*time.Second)
	require.Empty(t, eval[string](p, fmt.Sprintf("window.meshscope.edgeAt(%v, %v)", at[0], at[1])))
	require.Empty(t, p.consoleErrors())
}

// A worker that only calls out lists its versions by the calls they made.
func TestPanelVersionsOfAWorker(t *testing.T) {
	srv := NewFakeServer(t, DemoGraph())
	p := openPage(t, srv, "#/graph")
	p.waitReady(20 * time.Second)
	worker := ServiceNode("shop", "reporter", "healthy", 0, 0)
	worker.RequestsOut, worker.RPSOut = 600, 10
	seq := srv.SendDelta(Delta{NodesAdded: []Node{worker}, EdgesAdded: []Edge{MakeEdge(worker.ID, "service:shop/cart", "http", 10, 0, 4)}})
	p.waitFor(fmt.Sprintf("window.meshscope.lastSeq() === %d && window.meshscope.ready", seq), 20*time.Second)
	p.do(chromedp.Navigate(srv.URL + "/#/graph?sel=" + url.QueryEscape(worker.ID)))
	p.waitFor("document.querySelectorAll('#panel .versions tbody tr').length === 2", 20*time.Second)
	require.Equal(t, []string{"Version", "rps out", "err out", ""}, eval[[]string](p, "[...document.querySelectorAll('#panel .versions thead th')].map(e => e.textContent)"))
	require.Equal(t, []string{"v1\t9.0\t0%\thealthy", "v2\t1.0\t50.0%\thealthy"}, eval[[]string](p, "[...document.querySelectorAll('#panel .versions tbody tr')].map(e => e.innerText)"))
	require.Empty(t, p.consoleErrors())
}
