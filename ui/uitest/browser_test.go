package uitest

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"image/png"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/stretchr/testify/require"

	"github.com/meshscope/meshscope/query"
)

func TestLiveGraph(t *testing.T) {
	demo := DemoGraph()
	srv := NewFakeServer(t, demo)
	p := openPage(t, srv, "")
	p.waitReady(20 * time.Second)

	// The picture holds exactly the snapshot.
	require.Equal(t, len(demo.Nodes), eval[int](p, "window.meshscope.nodeCount()"))
	require.Equal(t, len(demo.Edges), eval[int](p, "window.meshscope.edgeCount()"))
	require.Equal(t, srv.Seq(), eval[int64](p, "window.meshscope.lastSeq()"))
	require.Greater(t, eval[float64](p, "window.meshscope.firstRenderMs()"), 0.0)
	require.Contains(t, eval[string](p, "document.getElementById('status').textContent"), fmt.Sprintf("%d nodes", len(demo.Nodes)))

	before := p.positions()
	require.Len(t, before, len(demo.Nodes))

	// A delta adds a node with an edge and changes an existing edge.
	newNode := ServiceNode("shop", "wishlist", "healthy", 12, 0)
	newEdge := MakeEdge("service:shop/web", newNode.ID, "http", 12, 0, 3)
	changed := demo.Edges[1]
	changed.ErrorRate, changed.Errors = 0.2, changed.Requests/5
	seq := srv.SendDelta(Delta{NodesAdded: []Node{newNode}, EdgesAdded: []Edge{newEdge}, EdgesUpdated: []Edge{changed}})
	p.waitFor(fmt.Sprintf("window.meshscope.lastSeq() === %d && window.meshscope.ready", seq), 20*time.Second)

	require.Equal(t, len(demo.Nodes)+1, eval[int](p, "window.meshscope.nodeCount()"))
	require.Equal(t, len(demo.Edges)+1, eval[int](p, "window.meshscope.edgeCount()"))
	require.GreaterOrEqual(t, eval[float64](p, "window.meshscope.lastApplyMs()"), 0.0)
	after := p.positions()
	for id, xy := range before {
		require.Equal(t, xy, after[id], "node %s moved", id)
	}
	require.Contains(t, after, newNode.ID)
	// The changed edge now reads 20 % errors in its tooltip data and colour.
	color := eval[string](p, fmt.Sprintf("window.meshscope.edgeColor(%q)", changed.ID))
	require.Equal(t, "#e03131", color)

	// Deltas that follow the client's state need no fresh snapshot.
	require.Empty(t, srv.Subscriptions())

	// After the server drops the connection the client reconnects and gets
	// a fresh snapshot.
	srv.DropConnections()
	p.waitFor("document.getElementById('status').textContent.startsWith(' reconnecting')", 10*time.Second)
	require.Eventually(t, func() bool { return srv.Connections() == 1 }, 15*time.Second, 50*time.Millisecond)
	p.waitFor("document.getElementById('status').textContent.startsWith(' live') && window.meshscope.ready", 10*time.Second)
	require.Equal(t, after, p.positions())

	// A service that spans see queried as a database (an edge into it
	// carries protocol db) is drawn as one, also when only the edge
	// changes; without such an edge it is a service again.
	orders := ServiceNode("data", "orders-mysql", "healthy", 30, 0)
	conns := MakeEdge("service:shop/checkout", orders.ID, "tcp", 3, 0, 1)
	seq = srv.SendDelta(Delta{NodesAdded: []Node{orders}, EdgesAdded: []Edge{conns}})
	p.waitFor(fmt.Sprintf("window.meshscope.lastSeq() === %d && window.meshscope.ready", seq), 20*time.Second)
	shape := fmt.Sprintf("window.meshscope.nodeShape(%q)", orders.ID)
	require.Equal(t, "circle", eval[string](p, shape))
	conns.Protocols = []string{"tcp", "db"}
	seq = srv.SendDelta(Delta{EdgesUpdated: []Edge{conns}})
	p.waitFor(fmt.Sprintf("window.meshscope.lastSeq() === %d && window.meshscope.ready", seq), 20*time.Second)
	require.Equal(t, "square", eval[string](p, shape))
	// Its panel says so (opened through the address, as a link would).
	eval[string](p, fmt.Sprintf("location.hash = '#/graph?sel=' + encodeURIComponent(%q)", orders.ID))
	p.waitFor("!document.getElementById('panel').hidden", 10*time.Second)
	require.Contains(t, eval[string](p, "document.getElementById('panel').innerText"), "service · database")
	p.do(chromedp.KeyEvent(kb.Escape))
	p.waitFor("document.getElementById('panel').hidden", 5*time.Second)
	seq = srv.SendDelta(Delta{EdgesRemoved: []string{conns.ID}})
	p.waitFor(fmt.Sprintf("window.meshscope.lastSeq() === %d && window.meshscope.ready", seq), 20*time.Second)
	require.Equal(t, "circle", eval[string](p, shape))
	seq = srv.SendDelta(Delta{NodesRemoved: []string{orders.ID}})
	p.waitFor(fmt.Sprintf("window.meshscope.lastSeq() === %d && window.meshscope.ready", seq), 20*time.Second)

	// Clicking a node opens the panel with its name and numbers.
	cart := demo.Nodes[2]
	p.clickNode(cart.ID)
	p.waitFor("!document.getElementById('panel').hidden", 10*time.Second)
	panel := eval[string](p, "document.getElementById('panel').innerText")
	require.Contains(t, panel, cart.Name)
	require.Contains(t, panel, "80.0")  // rps in
	require.Contains(t, panel, "0.20%") // error rate in
	require.Contains(t, eval[string](p, "location.hash"), "sel=service:shop/cart")
	// The blast radius arrives and is listed.
	p.waitFor("document.querySelector('#panel .blast h3')", 10*time.Second)
	require.Contains(t, eval[string](p, "document.querySelector('#panel .blast').innerText"), "service:shop/web"[len("service:shop/"):])
	// The calls cart serves, from its spans, each a link to its traces.
	p.waitFor("document.querySelectorAll('#panel .operations tbody tr').length === 2", 10*time.Second)
	ops := eval[[]string](p, "[...document.querySelectorAll('#panel .operations tbody tr')].map(r => r.innerText)")
	require.Equal(t, "GET /cart\t10.0\t0.20%\t4.20 ms\t48.0 ms", ops[0])
	require.Contains(t, ops[1], "5.00%")
	require.Equal(t, "#/traces?service=cart&operation=POST%20%2Fcart%2Fitems",
		eval[string](p, "document.querySelectorAll('#panel .operations a')[1].getAttribute('href')"))
	// cart's pods, the failing one first and marked, each linked to its
	// traces and logs.
	p.waitFor("document.querySelectorAll('#panel .instances tbody tr').length === 4", 10*time.Second)
	inst := eval[[]string](p, "[...document.querySelectorAll('#panel .instances tbody tr')].map(r => r.innerText)")
	require.Equal(t, "…7d9f-c logs\t33.3%\t30.0%\t18.0 ms\t240 ms", inst[0], "the pods' shared prefix cut")
	require.Equal(t, []string{"30.0%", "18.0 ms"}, eval[[]string](p, "[...document.querySelectorAll('#panel .instances td.bad')].map(c => c.textContent)"), "what it stands out by")
	require.True(t, strings.HasPrefix(inst[1], "…7d9f-a logs\t"), inst[1])
	require.Equal(t, "Traces served by cart-7d9f-c", eval[string](p, "document.querySelector('#panel .instances tbody a').title"))
	require.Equal(t, 1, eval[int](p, "document.querySelectorAll('#panel .instances tr.outlier').length"))
	require.Contains(t, eval[string](p, "document.querySelector('#panel .instances h3').innerText"), "Instances (4)")
	require.Contains(t, eval[string](p, "document.querySelector('#panel .instances p').innerText"), "cart-7d9f-c fails 30.0% of its requests, the other 2 instances 0.3%")
	require.Equal(t, "#/traces?service=cart&tags=k8s.pod.name%3Dcart-7d9f-c",
		eval[string](p, "document.querySelector('#panel .instances tbody a').getAttribute('href')"))
	require.Equal(t, "#/logs?service=cart&namespace=shop&resource=k8s.pod.name%3Dcart-7d9f-c",
		eval[string](p, "document.querySelectorAll('#panel .instances tbody a')[1].getAttribute('href')"))
	// cart's v1 node, in the graph by version, lists v1's three pods.
	p.do(chromedp.Navigate(srv.URL + "/#/graph?g=version&ns=shop&range=1h&sel=" + url.QueryEscape("version:shop/cart/v1")))
	p.waitFor("document.querySelectorAll('#panel .instances tbody tr').length === 3", 10*time.Second)
	require.Contains(t, eval[string](p, "document.querySelector('#panel .instances h3').innerText"), "Instances (3)")
	require.True(t, strings.HasPrefix(eval[string](p, "document.querySelector('#panel .instances tbody tr').innerText"), "…c logs\t"))
	p.do(chromedp.Navigate(srv.URL + "/#/graph"))
	p.waitFor(fmt.Sprintf("window.meshscope.lastSeq() === %d && window.meshscope.ready", srv.Seq()), 20*time.Second)
	p.clickNode(cart.ID)
	p.waitFor("!document.getElementById('panel').hidden", 10*time.Second)
	// No SLO counts calls into cart: the panel's SLO section goes away.
	p.waitFor("document.querySelectorAll('#panel .panel-slos').length === 0", 10*time.Second)
	// Live numbers in the open panel follow deltas.
	cart.RPSIn = 99
	srv.SendDelta(Delta{NodesUpdated: []Node{cart}})
	p.waitFor("document.querySelector('#panel .numbers').innerText.includes('99.0')", 10*time.Second)
	// Esc closes it.
	p.do(chromedp.KeyEvent(kb.Escape))
	p.waitFor("document.getElementById('panel').hidden", 5*time.Second)

	// Checkout's panel lists the SLOs on it (its service, an edge into it,
	// a filter on it) with their states, each a link to its page.
	p.clickNode("service:shop/checkout")
	p.waitFor("document.querySelectorAll('#panel .panel-slos li').length === 3", 10*time.Second)
	slos := eval[string](p, "document.querySelector('#panel .panel-slos').innerText")
	for _, want := range []string{"checkout-availability", "firing", "web-to-checkout", "checkout-api-latency", "pending"} {
		require.Contains(t, slos, want)
	}
	require.Equal(t, "#/slos/checkout-availability", eval[string](p, "document.querySelector('#panel .panel-slos a').getAttribute('href')"))

	// An edge's panel lists the SLOs on exactly that edge.
	body := `{"name": "cart-to-checkout", "target": {"edge": {"source": "service:shop/cart", "destination": "service:shop/checkout"}}, "sli": "availability", "objective": 99, "window": "7d"}`
	resp, err := http.Post(srv.URL+"/api/v1/slos", "application/json", strings.NewReader(body))
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusCreated, resp.StatusCode)
	p.do(chromedp.Navigate(srv.URL + "/#/graph?edge=" + url.QueryEscape("service:shop/cart->service:shop/checkout")))
	p.waitFor("document.querySelectorAll('#panel .panel-slos li').length === 1", 10*time.Second)
	require.Contains(t, eval[string](p, "document.querySelector('#panel .panel-slos').innerText"), "cart-to-checkout")
	// Its busiest paths, each linked to its requests.
	p.waitFor("document.querySelectorAll('#panel .top-paths tbody tr').length === 2", 10*time.Second)
	paths := eval[[]string](p, "[...document.querySelectorAll('#panel .top-paths tbody tr')].map(r => r.innerText)")
	require.Contains(t, paths[0], "POST /api/orders")
	require.Contains(t, paths[1], "41.0 ms")
	require.Equal(t, "#/requests?source=service%3Ashop%2Fcart&destination=service%3Ashop%2Fcheckout&path_prefix=%2Fapi%2Forders%2F%7Bid%7D",
		eval[string](p, "document.querySelectorAll('#panel .top-paths a')[1].getAttribute('href')"))
	// Its failed requests are those of the server's error rule, not a 5xx.
	require.Equal(t, "#/requests?source=service%3Ashop%2Fcart&destination=service%3Ashop%2Fcheckout&failed=true",
		eval[string](p, "[...document.querySelectorAll('#panel a')].find(a => a.textContent === 'Failed requests').getAttribute('href')"))

	// Payments' panel lists its latest errors from its logs, each with its
	// trace, and links to all of them.
	p.do(chromedp.Navigate(srv.URL + "/#/graph?sel=" + url.QueryEscape("service:pay/payments")))
	p.waitFor("document.querySelectorAll('#panel .recent-errors li').length === 1", 10*time.Second)
	require.Contains(t, eval[string](p, "document.querySelector('#panel .recent-errors li').innerText"), "charge failed: card declined")
	require.Equal(t, "#/traces/4bf92f3577b34da6a3ce929d0e0e4736", eval[string](p, "document.querySelector('#panel .recent-errors li a').getAttribute('href')"))
	all := eval[string](p, "[...document.querySelectorAll('#panel .recent-errors a')].pop().getAttribute('href')")
	require.True(t, strings.HasPrefix(all, "#/logs?service=payments&namespace=pay&severity=error&from="), all)
	// Its warnings and errors by pattern, each opening its records.
	p.waitFor("document.querySelectorAll('#panel .log-patterns li').length === 1", 10*time.Second)
	require.Equal(t, "1× ERROR charge failed: card declined", eval[string](p, "document.querySelector('#panel .log-patterns li').innerText"))
	pat := eval[string](p, "document.querySelector('#panel .log-patterns li a').getAttribute('href')")
	require.True(t, strings.HasPrefix(pat, "#/logs?service=payments&namespace=pay&severity=warn&from="), pat)
	require.Contains(t, pat, "&pattern=charge+failed%3A+card+declined")
	require.Contains(t, eval[string](p, "[...document.querySelectorAll('#panel .log-patterns a')].pop().getAttribute('href')"), "&patterns=true")
	// and its top exceptions, with the latest one's trace.
	p.waitFor("document.querySelectorAll('#panel .top-exceptions li').length === 1", 10*time.Second)
	require.Contains(t, eval[string](p, "document.querySelector('#panel .top-exceptions li').innerText"), "9 java.lang.IllegalStateException")
	require.Equal(t, "#/traces/4bf92f3577b34da6a3ce929d0e0e4736", eval[string](p, "document.querySelector('#panel .top-exceptions li a').getAttribute('href')"))
	all = eval[string](p, "[...document.querySelectorAll('#panel .top-exceptions a')].pop().getAttribute('href')")
	require.True(t, strings.HasPrefix(all, "#/exceptions?service=payments&namespace=pay&from="), all)
	// and its versions, the busiest first, each a link to it in the graph
	// by version: the canary fails.
	p.waitFor("document.querySelectorAll('#panel .versions tbody tr').length === 2", 10*time.Second)
	require.Equal(t, [][]string{{"v1", "18.0", "2.00%", "healthy"}, {"v2", "2.0", "90.0%", "failing"}},
		eval[[][]string](p, "[...document.querySelectorAll('#panel .versions tbody tr')].map(r => [...r.cells].map(c => c.textContent))"))
	require.Equal(t, "#/graph?g=version&ns=pay&sel=version%3Apay%2Fpayments%2Fv2", eval[string](p, "document.querySelectorAll('#panel .versions tbody a')[1].getAttribute('href')"))
	require.Equal(t, "#/deployments?namespace=pay", eval[string](p, "[...document.querySelectorAll('#panel .links a')].find(a => a.textContent === 'Deployments').getAttribute('href')"))
	// The canary deployed in the range: marked on the RED charts, named
	// with a link to it, and charted beside v1 by version.
	p.waitFor("document.querySelector('#panel .deploys') !== null", 10*time.Second)
	require.Contains(t, eval[string](p, "document.querySelector('#panel .deploys').innerText"), "Deployed in the range: v2 (first calls ")
	require.Equal(t, "#/graph?g=version&ns=pay&sel=version%3Apay%2Fpayments%2Fv2", eval[string](p, "document.querySelector('#panel .deploys a').getAttribute('href')"))
	require.Equal(t, []string{"Rate (rps)", "Errors", "Duration", "Rate by version (rps)", "Errors by version"},
		eval[[]string](p, "[...document.querySelectorAll('#panel .charts figure')].map(f => f.getAttribute('aria-label'))"))
	require.Equal(t, []string{"v2", "v2", "v2", "v2", "v2"},
		eval[[]string](p, "[...document.querySelectorAll('#panel .charts figure')].map(f => f.dataset.markers)"))
	p.waitFor("document.querySelectorAll('#panel .charts figure canvas').length === 5", 10*time.Second)
	require.Equal(t, []string{"v1", "v2"}, eval[[]string](p, "[...document.querySelectorAll('#panel .charts figure[aria-label=\"Rate by version (rps)\"] .u-legend .u-label')].map(e => e.textContent)"))
	// An edge into payments: its rate and errors by the callee's version.
	p.do(chromedp.Navigate(srv.URL + "/#/graph?edge=" + url.QueryEscape("service:shop/checkout->service:pay/payments")))
	p.waitFor("document.querySelectorAll('#panel .charts figure canvas').length === 5", 10*time.Second)
	require.Equal(t, []string{"Rate (rps)", "Latency percentiles", "Errors", "Rate by version (rps)", "Errors by version"},
		eval[[]string](p, "[...document.querySelectorAll('#panel .charts figure')].map(f => f.getAttribute('aria-label'))"))
	require.Equal(t, "v2", eval[string](p, "document.querySelector('#panel .charts figure').dataset.markers"))
	// A service of one version all along has neither.
	p.do(chromedp.Navigate(srv.URL + "/#/graph?sel=" + url.QueryEscape("service:shop/cart")))
	p.waitFor("document.querySelectorAll('#panel .charts figure canvas').length === 3", 10*time.Second)
	require.Nil(t, eval[any](p, "document.querySelector('#panel .deploys')"))
	require.Nil(t, eval[any](p, "document.querySelector('#panel .charts figure').dataset.markers ?? null"))

	require.Empty(t, p.consoleErrors())
}

func TestFindAndFilters(t *testing.T) {
	demo := DemoGraph()
	srv := NewFakeServer(t, demo)
	p := openPage(t, srv, "")
	p.waitReady(20 * time.Second)

	// "/" focuses the find box; a query highlights matches.
	p.do(chromedp.KeyEvent("/"))
	require.Equal(t, "find", eval[string](p, "document.activeElement.id"))
	// The protocol delivers the "/" character to the now focused box as a
	// separate event; a real keyboard does not. Start from an empty box.
	eval[string](p, "document.getElementById('find').value = ''")
	p.do(chromedp.KeyEvent("ns=pay error>1%"))
	p.waitFor("document.getElementById('find-info').textContent.includes('1 of')", 5*time.Second)
	require.Equal(t, "ns=pay error>1%", eval[string](p, "new URLSearchParams(location.hash.split('?')[1]).get('q')"))

	// Hide others keeps only the matches visible.
	p.do(chromedp.Click(chromedp.ID("hide-others")))
	p.waitFor("window.meshscope.ready", 5*time.Second)
	require.Equal(t, 1, eval[int](p, "window.meshscope.visibleNodeCount()"))

	// A protocol matches every protocol an edge was seen with: the cache's
	// edge is tcp (its proxies) and db (spans), and both ends match.
	eval[string](p, "document.getElementById('find').value = ''")
	p.do(chromedp.Focus(chromedp.ID("find")), chromedp.KeyEvent("protocol=db"))
	p.waitFor("document.getElementById('find-info').textContent.includes('2 of')", 5*time.Second)
	require.Equal(t, 2, eval[int](p, "window.meshscope.visibleNodeCount()"))

	// Terms over the graph's shape, against the same walk done here.
	byID := func(id string) func(Node) bool { return func(n Node) bool { return n.ID == id } }
	for _, tc := range []struct {
		query string
		want  int
	}{
		{"near=service:shop/cart", len(reachable(demo, byID("service:shop/cart"), true, true, 1))},
		{"callers=service:pay/payments depth=9", len(reachable(demo, byID("service:pay/payments"), true, false, 9))},
		{"callees=service:shop/web depth=2", len(reachable(demo, byID("service:shop/web"), false, true, 2))},
		{"upstream~pay kind=service", countNodes(demo, func(n Node) bool {
			return n.Kind == "service" && reachable(demo, func(m Node) bool {
				return strings.Contains(m.ID, "pay") || strings.Contains(m.Name, "pay") || strings.Contains(m.Workload, "pay")
			}, true, false, 1)[n.ID]
		})},
		{"near!=service:shop/cart", len(demo.Nodes) - len(reachable(demo, byID("service:shop/cart"), true, true, 1))},
	} {
		require.Positive(t, tc.want, tc.query)
		eval[string](p, "document.getElementById('find').value = ''")
		p.do(chromedp.Focus(chromedp.ID("find")), chromedp.KeyEvent(tc.query))
		p.waitFor(fmt.Sprintf("document.getElementById('find-info').textContent === '%d of %d nodes match'", tc.want, len(demo.Nodes)), 5*time.Second)
		require.Equal(t, tc.want, eval[int](p, "window.meshscope.visibleNodeCount()"), tc.query)
	}
	// The services with an exception type new in the last hour (the
	// header's): cart's TypeError.
	p.waitFor("!document.getElementById('new-exceptions-badge').hidden", 10*time.Second)
	for _, q := range []string{"exception~typeerror", "exc~"} {
		eval[string](p, "document.getElementById('find').value = ''")
		p.do(chromedp.Focus(chromedp.ID("find")), chromedp.KeyEvent(q))
		p.waitFor(fmt.Sprintf("document.getElementById('find-info').textContent === '1 of %d nodes match'", len(demo.Nodes)), 5*time.Second)
		require.Equal(t, []string{"service:shop/cart"}, eval[[]string](p, "window.meshscope.matchingNodeIds()"), q)
	}
	eval[string](p, "document.getElementById('find').value = ''")
	p.do(chromedp.Focus(chromedp.ID("find")), chromedp.KeyEvent("near=cart depth=0"))
	p.waitFor("document.getElementById('find-info').textContent.includes('depth takes')", 5*time.Second)

	// A node panel's Neighbours shows only the node and its neighbours.
	p.do(chromedp.Click(chromedp.ID("hide-others")))
	eval[string](p, "document.getElementById('find').value = ''")
	p.do(chromedp.Focus(chromedp.ID("find")), chromedp.KeyEvent("ns=pay error>1%"))
	p.waitFor("document.getElementById('find-info').textContent.includes('1 of')", 5*time.Second)
	p.clickNode("service:shop/cart")
	p.waitFor("[...document.querySelectorAll('#panel .links a')].some(a => a.textContent === 'Neighbours')", 5*time.Second)
	eval[any](p, "[...document.querySelectorAll('#panel .links a')].find(a => a.textContent === 'Neighbours').click()")
	p.waitFor("window.meshscope.ready", 5*time.Second)
	require.Equal(t, "near=service:shop/cart", eval[string](p, "document.getElementById('find').value"))
	require.True(t, eval[bool](p, "document.getElementById('hide-others').checked"))
	require.Equal(t, len(reachable(demo, byID("service:shop/cart"), true, true, 1)), eval[int](p, "window.meshscope.visibleNodeCount()"))
	require.Equal(t, "near=service:shop/cart", eval[string](p, "new URLSearchParams(location.hash.split('?')[1]).get('q')"))
	p.do(chromedp.Click(chromedp.ID("hide-others")))
	eval[string](p, "document.getElementById('find').value = ''")
	p.do(chromedp.Focus(chromedp.ID("find")), chromedp.KeyEvent("ns=pay error>1%"))
	p.waitFor("document.getElementById('find-info').textContent.includes('1 of')", 5*time.Second)

	// The namespace filter re-subscribes with a subscribe message.
	p.do(chromedp.Click(chromedp.ID("hide-others")))
	p.setSelect("namespace", "pay")
	require.Eventually(t, func() bool { return len(srv.Subscriptions()) == 1 }, 10*time.Second, 50*time.Millisecond)
	require.Contains(t, srv.Subscriptions()[0], `"namespaces":["pay"]`)
	srv.mu.Lock()
	want := len(srv.graphLocked([]string{"pay"}).Nodes)
	srv.mu.Unlock()
	p.waitFor(fmt.Sprintf("window.meshscope.nodeCount() === %d && window.meshscope.ready", want), 10*time.Second)

	// Granularity too.
	p.setSelect("granularity", "workload")
	require.Eventually(t, func() bool { return len(srv.Subscriptions()) == 2 }, 10*time.Second, 50*time.Millisecond)
	require.Contains(t, srv.Subscriptions()[1], `"granularity":"workload"`)
	require.Contains(t, eval[string](p, "location.hash"), "g=workload")

	// Group by namespace collapses namespaces into single nodes.
	p.setSelect("namespace", "")
	p.waitFor(fmt.Sprintf("window.meshscope.nodeCount() === %d && window.meshscope.ready", len(demo.Nodes)), 10*time.Second)
	p.do(chromedp.Click(chromedp.ID("group-ns")))
	p.waitFor("window.meshscope.ready", 10*time.Second)
	// 4 namespaces + 6 nodes without one.
	require.Equal(t, 10, eval[int](p, "window.meshscope.nodeCount()"))

	require.Empty(t, p.consoleErrors())
}

// reachable walks g from the nodes seed holds for, up to depth hops, to
// callers (up) and callees (down).
func reachable(g Graph, seed func(Node) bool, up, down bool, depth int) map[string]bool {
	out := map[string]bool{}
	var frontier []string
	for _, n := range g.Nodes {
		if seed(n) {
			out[n.ID] = true
			frontier = append(frontier, n.ID)
		}
	}
	for range depth {
		var next []string
		add := func(id string) {
			if !out[id] {
				out[id] = true
				next = append(next, id)
			}
		}
		for _, id := range frontier {
			for _, e := range g.Edges {
				if up && e.Target == id {
					add(e.Source)
				}
				if down && e.Source == id {
					add(e.Target)
				}
			}
		}
		frontier = next
	}
	return out
}

func countNodes(g Graph, f func(Node) bool) int {
	n := 0
	for _, x := range g.Nodes {
		if f(x) {
			n++
		}
	}
	return n
}

func TestSQLConsole(t *testing.T) {
	srv := NewFakeServer(t, DemoGraph())
	p := openPage(t, srv, "#/sql")
	p.waitFor("document.getElementById('sql-editor')", 10*time.Second)
	q := "SELECT source, destination, count() AS requests FROM requests GROUP BY source, destination"
	p.do(chromedp.SetValue(chromedp.ID("sql-editor"), q), chromedp.Focus(chromedp.ID("sql-editor")))
	// Ctrl+Enter runs it.
	p.do(chromedp.KeyEvent(kb.Enter, chromedp.KeyModifiers(chromedp.ModifierCtrl)))
	p.waitFor("document.querySelectorAll('#sql-results tbody tr').length === 3", 10*time.Second)
	require.Equal(t, []string{q}, srv.Queries())
	results := eval[string](p, "document.getElementById('sql-results').innerText")
	require.Contains(t, results, "service:shop/checkout")
	require.Contains(t, results, "1200")
	require.Contains(t, eval[string](p, "document.getElementById('sql-meta').textContent"), "3 rows")
	// A link with a query (a node panel's "SQL") opens it in the editor.
	p.do(chromedp.Navigate(srv.URL + "/#/sql?q=" + url.QueryEscape("SELECT * FROM requests LIMIT 7")))
	p.waitFor("document.getElementById('sql-editor') && document.getElementById('sql-editor').value === 'SELECT * FROM requests LIMIT 7'", 10*time.Second)

	// Errors are shown as the server returns them.
	p.do(chromedp.SetValue(chromedp.ID("sql-editor"), "SELECT * FROM no_such_table"), chromedp.Click(chromedp.ID("sql-run")))
	p.waitFor("document.querySelector('#sql-results .error')", 10*time.Second)
	require.Contains(t, eval[string](p, "document.getElementById('sql-results').innerText"), "Unknown table expression identifier")

	// The table browser lists the schema's tables; a table's button writes a
	// first query over it, a column's name goes in at the cursor.
	p.waitFor(`document.querySelector('.sql-tables details[data-table="spans"]')`, 10*time.Second)
	require.Equal(t, len(query.SQLTables()), eval[int](p, "document.querySelectorAll('.sql-tables details').length"))
	// Each with what it holds, as GET /api/v1/storage says (tables without
	// parts show nothing).
	require.Equal(t, "48.0M · 3.0 GiB", eval[string](p, `document.querySelector('.sql-tables details[data-table="spans"] .table-size').textContent`))
	require.Contains(t, eval[string](p, `document.querySelector('.sql-tables details[data-table="spans"] .table-size').title`), "48000000 rows, 3.0 GiB on disk (40.0 GiB uncompressed, 67.1 B a row), 12 parts")
	require.Nil(t, eval[any](p, `document.querySelector('.sql-tables details[data-table="requests"] .table-size')`))
	require.Equal(t, " (3.0 GiB in all)", eval[string](p, "document.getElementById('storage-total').textContent"))
	p.do(chromedp.Click(chromedp.CSS(`.sql-tables details[data-table="requests"] summary`)))
	require.Contains(t, eval[string](p, `document.querySelector('.sql-tables details[data-table="requests"]').innerText`), "response_flags")
	p.do(chromedp.Click(chromedp.CSS(`.sql-tables details[data-table="requests"] button.small`)))
	require.Equal(t, "SELECT *\nFROM requests\nLIMIT 100", eval[string](p, "document.getElementById('sql-editor').value"))
	// The cursor after "SELECT ": response_flags goes in there, over "*".
	eval[bool](p, "(() => { const e = document.getElementById('sql-editor'); e.setSelectionRange(7, 8); return true; })()")
	p.do(chromedp.Click(chromedp.CSS(`.sql-tables details[data-table="requests"] button[aria-label^="Insert response_flags:"]`)))
	require.Equal(t, "SELECT response_flags\nFROM requests\nLIMIT 100", eval[string](p, "document.getElementById('sql-editor').value"))
	require.Equal(t, "sql-editor", eval[string](p, "document.activeElement.id"))

	// The 400 answer is logged by the browser as a failed resource; nothing else.
	for _, e := range p.consoleErrors() {
		require.Contains(t, e, "400", e)
	}
}

func TestPagesAndDiff(t *testing.T) {
	srv := NewFakeServer(t, DemoGraph())
	p := openPage(t, srv, "#/graph?range=1h&diff=prev")
	p.waitReady(20 * time.Second)
	require.Equal(t, "diff", strings.Fields(eval[string](p, "document.getElementById('status').textContent"))[0])
	// The removed edge is drawn dashed, the added node coloured.
	require.Equal(t, 1, eval[int](p, "window.meshscope.dashedEdgeCount()"))
	require.Equal(t, 0, srv.Connections())

	// Replay steps through sub-ranges with a slider.
	p.do(chromedp.Navigate(srv.URL + "/#/graph?range=6h&replay=1"))
	p.waitFor("!document.getElementById('replay-bar').hidden && document.getElementById('replay-label').textContent.startsWith('1/')", 10*time.Second)
	p.waitReady(20 * time.Second)
	eval[bool](p, `(() => { const s = document.getElementById("replay-slider"); s.value = "3"; return s.dispatchEvent(new Event("input")); })()`)
	p.waitFor("document.getElementById('replay-label').textContent.startsWith('4/')", 10*time.Second)
	p.waitReady(20 * time.Second)
	require.Equal(t, "replay", strings.Fields(eval[string](p, "document.getElementById('status').textContent"))[0])

	// Keyboard zoom changes the camera; 0 fits again.
	p.do(chromedp.Navigate(srv.URL + "/#/graph"))
	p.waitFor(fmt.Sprintf("window.meshscope.lastSeq() === %d && window.meshscope.ready", srv.Seq()), 20*time.Second)
	p.do(chromedp.Focus(chromedp.ID("graph")), chromedp.KeyEvent("+"))
	p.waitFor("window.meshscope.cameraRatio() < 0.9", 5*time.Second)
	p.do(chromedp.KeyEvent("0"))
	p.waitFor("Math.abs(window.meshscope.cameraRatio() - 1) < 0.01", 5*time.Second)

	// Table view lists nodes and edges.
	p.do(chromedp.Navigate(srv.URL + "/#/table"))
	p.waitFor("document.querySelectorAll('#nodes-table tbody tr').length > 5", 10*time.Second)

	// Traces and waterfall.
	p.do(chromedp.Navigate(srv.URL + "/#/traces"))
	p.waitFor("document.querySelectorAll('table.data tbody tr.clickable').length === 2", 10*time.Second)
	// The scatter plot has a point per trace, the failed one red, the one
	// with more spans larger, the later one to the right, the longer one
	// higher; a point opens its trace.
	point := func(id, attr string) float64 {
		return eval[float64](p, fmt.Sprintf("Number(document.querySelector('.trace-scatter a[data-trace=%q] circle').getAttribute(%q))", id, attr))
	}
	require.Equal(t, 2, eval[int](p, "document.querySelectorAll('.trace-scatter circle').length"))
	require.Equal(t, 1, eval[int](p, "document.querySelectorAll('.trace-scatter circle.failed').length"))
	failedID, okID := "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7a3ce929d0e0e4736"
	require.Equal(t, "failed", eval[string](p, fmt.Sprintf("document.querySelector('.trace-scatter a[data-trace=%q] circle').getAttribute('class')", failedID)))
	require.Greater(t, point(failedID, "r"), point(okID, "r"))
	require.Greater(t, point(failedID, "cx"), point(okID, "cx"))
	require.Less(t, point(failedID, "cy"), point(okID, "cy"))
	require.Contains(t, eval[string](p, fmt.Sprintf("document.querySelector('.trace-scatter a[data-trace=%q] title').textContent", okID)), "web GET /cart · 12")
	p.do(chromedp.Click(chromedp.CSS(fmt.Sprintf(".trace-scatter a[data-trace=%q] circle", okID))))
	p.waitFor(fmt.Sprintf("location.hash === '#/traces/%s'", okID), 10*time.Second)
	p.do(chromedp.Navigate(srv.URL + "/#/traces"))
	p.waitFor("document.querySelectorAll('table.data tbody tr.clickable').length === 2", 10*time.Second)
	// The service field offers the graph's services.
	p.waitFor("document.querySelectorAll('#trace-services option').length > 0", 10*time.Second)
	offered := eval[[]string](p, "[...document.querySelectorAll('#trace-services option')].map(o => o.value)")
	require.Contains(t, offered, "cart")
	require.True(t, slices.IsSorted(offered), "%v", offered)
	// The chosen service's operations are offered, and the search takes one.
	p.do(chromedp.SetValue(chromedp.CSS("input[name=service]"), "web"))
	eval[bool](p, "document.querySelector('input[name=service]').dispatchEvent(new Event('change'))")
	p.waitFor("document.querySelectorAll('#trace-operations option').length === 2", 10*time.Second)
	require.Equal(t, []string{"GET /checkout", "GET /cart"}, eval[[]string](p, "[...document.querySelectorAll('#trace-operations option')].map(o => o.value)"))
	p.do(chromedp.SetValue(chromedp.CSS("input[name=operation]"), "GET /cart"), chromedp.Click(chromedp.CSS("form button.primary")))
	p.waitFor("document.querySelectorAll('table.data tbody tr.clickable').length === 1", 10*time.Second)
	require.Contains(t, eval[string](p, "document.querySelector('table.data tbody').innerText"), "GET /cart")
	// A TraceQL query goes to the server with the other filters.
	p.do(chromedp.SetValue(chromedp.CSS("input[name=traceql]"), `{ span.http.status_code >= 500 } | count() > 1`), chromedp.Click(chromedp.CSS("form button.primary")))
	p.waitFor("document.querySelector('input[name=traceql]').value !== ''", 5*time.Second)
	require.Eventually(t, func() bool {
		return srv.TraceSearch().Get("traceql") == `{ span.http.status_code >= 500 } | count() > 1`
	}, 10*time.Second, 50*time.Millisecond)
	require.Equal(t, "GET /cart", srv.TraceSearch().Get("operation"))
	p.do(chromedp.Navigate(srv.URL + "/#/traces?traceql=" + url.QueryEscape(`{ status = error }`)))
	require.Eventually(t, func() bool { return srv.TraceSearch().Get("traceql") == `{ status = error }` }, 10*time.Second, 50*time.Millisecond)
	require.Equal(t, `{ status = error }`, eval[string](p, "document.querySelector('input[name=traceql]').value"))
	p.do(chromedp.Navigate(srv.URL + "/#/traces/4bf92f3577b34da6a3ce929d0e0e4736"))
	p.waitFor("document.querySelectorAll('.waterfall li').length === 4", 10*time.Second)
	require.Contains(t, eval[string](p, "document.querySelector('.trace p').textContent"), "4 spans, 4 services, 230 ms, 1 failed")
	// The critical path: every span of this chain, the parents' own work
	// between their calls; its stretches add up to the trace.
	crit := func() map[string]int {
		return eval[map[string]int](p, "Object.fromEntries([...document.querySelectorAll('.waterfall li.wf-span')].map(li => [li.dataset.span, li.querySelectorAll('.wf-crit').length]))")
	}
	require.Equal(t, map[string]int{"a1": 2, "b2": 3, "c3": 1, "d4": 1}, crit())
	require.InDelta(t, 100, eval[float64](p, "[...document.querySelectorAll('.wf-crit')].reduce((s, e) => s + parseFloat(e.style.width), 0)"), 0.01)
	bar := func(span string) string {
		return eval[string](p, fmt.Sprintf(`getComputedStyle(document.querySelector('li[data-span=%q] .wf-bar')).backgroundColor`, span))
	}
	require.Equal(t, "rgb(224, 49, 49)", bar("c3"), "the failed span is red")
	require.NotEqual(t, bar("a1"), bar("b2"), "each service has its colour")
	// The spans with log records are marked once the trace's records came.
	p.waitFor("document.querySelectorAll('.wf-logcount').length === 2", 10*time.Second)
	require.Equal(t, "1 log record", eval[string](p, `document.querySelector('li[data-span="c3"] .wf-logcount').title`))
	// The span that recorded an exception says which.
	require.Equal(t, " ⚠ java.lang.IllegalStateException", eval[string](p, `document.querySelector('li[data-span="c3"] .wf-exc').textContent`))
	require.Equal(t, 1, eval[int](p, `document.querySelectorAll('.wf-exc').length`))
	// A span's details open under its row, with its records, and close
	// again, by keyboard.
	p.do(chromedp.Focus(chromedp.CSS(`li[data-span="c3"]`)), chromedp.KeyEvent(kb.Enter))
	p.waitFor(`document.querySelector('li[data-span="c3"]').nextElementSibling?.classList.contains('wf-detail')`, 5*time.Second)
	detail := eval[string](p, "document.querySelector('.wf-detail').innerText")
	for _, want := range []string{"Span id\nc3", "Parent\nb2", "Status\nerror", "Starts at\n+30.0 ms", "http.method\tGET", "service.name\tpayments",
		"Logs (1)", "ERROR charge failed: card declined", `retry {"attempt":2}`,
		"exception java.lang.IllegalStateException: card declined", "\tat com.example.payments.Charge.run(Charge.java:42)"} {
		require.Contains(t, detail, want)
	}
	require.Equal(t, 1, eval[int](p, "document.querySelectorAll('.wf-detail pre.stacktrace').length"))
	// The exception leads to the others of its kind, around the trace.
	others := eval[string](p, "document.querySelector('.wf-detail a.wf-exc-others').getAttribute('href')")
	require.True(t, strings.HasPrefix(others, "#/exceptions?service=payments&type=java.lang.IllegalStateException&from="), others)
	require.Equal(t, "true", eval[string](p, `document.querySelector('li[data-span="c3"]').getAttribute('aria-expanded')`))
	p.do(chromedp.KeyEvent(kb.Enter))
	p.waitFor("!document.querySelector('.wf-detail')", 5*time.Second)
	// A span's subtree folds away and back; a folded subtree stays folded
	// when its parent unfolds.
	shown := "[...document.querySelectorAll('.waterfall li.wf-span')].filter(li => !li.hidden).map(li => li.dataset.span).join(',')"
	fold := func(span string) { p.do(chromedp.Click(chromedp.CSS(fmt.Sprintf(`li[data-span=%q] .wf-fold`, span)))) }
	require.Equal(t, 2, eval[int](p, "document.querySelectorAll('.wf-fold').length"), "only spans with children fold")
	require.Equal(t, "Hide the 2 spans under checkout POST /orders", eval[string](p, `document.querySelector('li[data-span="b2"] .wf-fold').getAttribute('aria-label')`))
	fold("b2")
	require.Equal(t, "a1,b2", eval[string](p, shown))
	require.Equal(t, "none", eval[string](p, `getComputedStyle(document.querySelector('li[data-span="c3"]')).display`))
	require.Empty(t, eval[string](p, "document.querySelector('.wf-detail') ? 'open' : ''"), "folding did not open details")
	fold("a1")
	require.Equal(t, "a1", eval[string](p, shown))
	fold("a1")
	require.Equal(t, "a1,b2", eval[string](p, shown))
	fold("b2")
	require.Equal(t, "a1,b2,c3,d4", eval[string](p, shown))

	// The critical path, marked under the bars: the root's own work around
	// the call it waited on last (y), not the call made beside it (x).
	p.do(chromedp.Navigate(srv.URL + "/#/traces/" + ParallelTraceID))
	p.waitFor("document.querySelectorAll('.waterfall li.wf-span').length === 4", 10*time.Second)
	require.Equal(t, map[string]int{"r": 2, "y": 1, "x": 0, "z": 0}, crit())
	require.Contains(t, eval[string](p, "document.querySelector('.trace p').textContent"), "critical path (marked under the bars) through 2 spans")

	// A malformed trace (a span id used twice, a span its own parent) still
	// draws, each span once.
	p.do(chromedp.Navigate(srv.URL + "/#/traces/" + MalformedTraceID))
	p.waitFor("document.querySelectorAll('.waterfall li.wf-span').length === 3", 10*time.Second)
	require.Zero(t, eval[int](p, "document.querySelectorAll('#page-other .error').length"))

	// Requests.
	p.do(chromedp.Navigate(srv.URL + "/#/requests?destination=service:shop/cart"))
	p.waitFor("document.body.innerText.includes('3 requests')", 10*time.Second)
	require.Equal(t, "service:shop/cart", eval[string](p, "document.querySelector('input[name=destination]').value"))
	// Above them, their volume by outcome: the 503 failed, two 2xx.
	require.Contains(t, eval[string](p, "document.querySelector('#request-volume figcaption').textContent"), "Requests per 1 min: failed 12xx 2")
	require.Equal(t, []string{"failed", "2xx"}, eval[[]string](p, "[...document.querySelectorAll('#request-volume rect')].map(r => r.dataset.class)"))
	rows := eval[[]string](p, "[...document.querySelectorAll('#requests-table tbody tr')].map(r => r.innerText)")
	require.Len(t, rows, 3)
	for _, want := range []string{"source", "shop/checkout", "pay/payments", "POST payments.pay:8080/charge", "503", "UH", "181 ms", "412 B / 19 B", "unknown"} {
		require.Contains(t, rows[1], want)
	}
	require.True(t, strings.HasSuffix(rows[0], "\tno"), "mtls 2 is plaintext: %q", rows[0])
	require.Contains(t, rows[2], "DC")
	require.Equal(t, 1, eval[int](p, "document.querySelectorAll('#requests-table tbody .error-text').length"), "the 503 alone is marked failed (by the server's rule: DC is no failure)")
	require.Contains(t, eval[string](p, "document.querySelector('#requests-table tbody tr:nth-child(2) .error-text').innerText"), "503")
	// A row opens every field of the entry, with its trace.
	p.do(chromedp.Focus(chromedp.CSS("#requests-table tbody tr:nth-child(2)")), chromedp.KeyEvent(kb.Enter))
	p.waitFor("document.querySelector('#request-detail table')", 5*time.Second)
	detail = eval[string](p, "document.getElementById('request-detail').innerText")
	require.Contains(t, detail, "response_flags\tUH")
	require.Equal(t, "#/traces/4bf92f3577b34da6a3ce929d0e0e4736", eval[string](p, "document.querySelector('#request-detail a').getAttribute('href')"))
	p.do(chromedp.Focus(chromedp.CSS("#requests-table tbody tr:nth-child(1)")), chromedp.KeyEvent(kb.Enter))
	p.waitFor("!document.querySelector('#request-detail a')", 5*time.Second) // no trace: no link
	// The outcome filter asks the server for failed entries only; the
	// address can carry it.
	p.do(chromedp.SetValue(chromedp.CSS("select[name=failed]"), "true"), chromedp.Click(chromedp.CSS("#page-other form.toolbar button[type=submit]")))
	p.waitFor("document.body.innerText.includes('1 request.')", 10*time.Second)
	require.Contains(t, eval[string](p, "document.querySelector('#requests-table tbody tr').innerText"), "503")
	p.do(chromedp.Navigate(srv.URL + "/#/requests?failed=false"))
	p.waitFor("document.body.innerText.includes('2 requests')", 10*time.Second)
	require.Equal(t, "false", eval[string](p, "document.querySelector('select[name=failed]').value"))
	require.Zero(t, eval[int](p, "document.querySelectorAll('#requests-table tbody .error-text').length"))

	// Logs: every record, the error one marked; a record opens its fields.
	p.do(chromedp.Navigate(srv.URL + "/#/logs"))
	p.waitFor("document.body.innerText.includes('3 records')", 10*time.Second)
	require.Equal(t, []string{"ERROR", "INFO", "WARN"}, eval[[]string](p, "[...document.querySelectorAll('#logs-table .sev')].map(e => e.textContent)"))
	require.Equal(t, "sev sev-error", eval[string](p, "document.querySelector('#logs-table .sev').className"))
	// Above them, their volume by level, stacked in the last minute.
	require.Contains(t, eval[string](p, "document.querySelector('#log-volume figcaption').textContent"), "Records per 1 min: error 1warn 1info 1")
	require.Equal(t, []string{"error", "warn", "info"}, eval[[]string](p, "[...document.querySelectorAll('#log-volume rect')].map(r => r.dataset.class)"))
	p.do(chromedp.Focus(chromedp.CSS("#logs-table tbody tr:nth-child(1)")), chromedp.KeyEvent(kb.Enter))
	p.waitFor("document.querySelector('#log-detail table')", 5*time.Second)
	detail = eval[string](p, "document.getElementById('log-detail').innerText")
	for _, want := range []string{"charge failed: card declined", "order.id\t42", "Trace 4bf92f3577b34da6a3ce929d0e0e4736 · span c3"} {
		require.Contains(t, detail, want)
	}
	// Its context: its pod's ten records before it and ten after, oldest
	// first, it marked (none of payments' other pod).
	p.waitFor("document.querySelectorAll('#log-detail .log-context-table tr').length > 0", 5*time.Second)
	ctxRows := eval[[]string](p, "[...document.querySelectorAll('#log-detail .log-context-table .log-body')].map(e => e.textContent)")
	want := []string{}
	for i := 10; i >= 1; i-- {
		want = append(want, fmt.Sprintf("before %02d", i))
	}
	want = append(want, "charge failed: card declined")
	for i := 1; i <= 10; i++ {
		want = append(want, fmt.Sprintf("after %02d", i))
	}
	require.Equal(t, want, ctxRows)
	require.Equal(t, "charge failed: card declined", eval[string](p, "document.querySelector('#log-detail .log-context-table tr.current .log-body').textContent"))
	require.Equal(t, "Around it in payments (k8s.pod.name payments-7f9c)", eval[string](p, "document.querySelector('#log-detail .log-context h3').textContent"))
	// All of that pod's records: the Logs page with the resource field
	// filled, the search asking the server for them.
	eval[any](p, "document.querySelector('#log-detail a.instance-logs').click()")
	p.waitFor("document.querySelector('input[name=resource]') && document.querySelector('input[name=resource]').value === 'k8s.pod.name=payments-7f9c'", 10*time.Second)
	p.waitFor("document.body.innerText.includes('1 record.')", 10*time.Second)
	require.Equal(t, []string{"charge failed: card declined"}, eval[[]string](p, "[...document.querySelectorAll('#logs-table .log-body')].map(e => e.textContent)"))
	p.do(chromedp.Navigate(srv.URL + "/#/logs"))
	p.waitFor("document.body.innerText.includes('3 records')", 10*time.Second)
	// The severity and body filters go to the server.
	p.do(chromedp.SetValue(chromedp.CSS("select[name=severity]"), "warn"), chromedp.SetValue(chromedp.CSS("input[name=q]"), "CART"),
		chromedp.Click(chromedp.CSS("#page-other form.toolbar button[type=submit]")))
	p.waitFor("document.body.innerText.includes('1 record.')", 10*time.Second)
	require.Contains(t, eval[string](p, "document.querySelector('#logs-table tbody').innerText"), "cart cache slow")
	// A record's body fields, each a link narrowing the search to its
	// value through the fields filter.
	p.do(chromedp.Focus(chromedp.CSS("#logs-table tbody tr:nth-child(1)")), chromedp.KeyEvent(kb.Enter))
	p.waitFor("document.querySelector('#log-detail table[aria-label=Fields]')", 5*time.Second)
	require.Equal(t, "cache\tredis\t= this\ntook\t1.2s\t= this", eval[string](p, "document.querySelector('#log-detail table[aria-label=Fields]').innerText"))
	p.do(chromedp.Navigate(srv.URL + "/#/logs?q=cart"))
	p.waitFor("document.body.innerText.includes('1 record.')", 10*time.Second)
	p.do(chromedp.Focus(chromedp.CSS("#logs-table tbody tr:nth-child(1)")), chromedp.KeyEvent(kb.Enter))
	p.waitFor("document.querySelector('#log-detail a.field-filter')", 5*time.Second)
	eval[any](p, "document.querySelector('#log-detail a.field-filter').click()")
	p.waitFor(`document.querySelector('input[name=fields]') && document.querySelector('input[name=fields]').value === 'cache="redis"'`, 10*time.Second)
	p.waitFor("document.body.innerText.includes('1 record.')", 10*time.Second)
	require.Equal(t, "cart", eval[string](p, "new URLSearchParams(location.hash.split('?')[1]).get('q')"), "the search's other filters kept")
	p.do(chromedp.SetValue(chromedp.CSS("input[name=fields]"), `cache="memcached"`), chromedp.Click(chromedp.CSS("#page-other form.toolbar button[type=submit]")))
	p.waitFor("document.body.innerText.includes('0 records')", 10*time.Second)
	// A trace links to its records, a span of it to its own, over the
	// trace's time.
	p.do(chromedp.Navigate(srv.URL + "/#/traces/4bf92f3577b34da6a3ce929d0e0e4736"))
	p.waitFor("document.getElementById('trace-logs')", 10*time.Second)
	href := eval[string](p, "document.getElementById('trace-logs').getAttribute('href')")
	require.True(t, strings.HasPrefix(href, "#/logs?trace_id=4bf92f3577b34da6a3ce929d0e0e4736&from="), href)
	p.do(chromedp.Click(chromedp.ID("trace-logs")))
	p.waitFor("document.body.innerText.includes('2 records')", 10*time.Second)
	require.Equal(t, "4bf92f3577b34da6a3ce929d0e0e4736", eval[string](p, "document.querySelector('input[name=trace_id]').value"))
	// The link's range is the search's (from and to are the graph's
	// parameters too; the page still reads them).
	linkFrom, err := url.ParseQuery(strings.SplitN(href, "?", 2)[1])
	require.NoError(t, err)
	require.Equal(t, linkFrom.Get("from"), eval[string](p, "document.querySelector('input[name=from]').value"))
	require.Equal(t, linkFrom.Get("to"), eval[string](p, "document.querySelector('input[name=to]').value"))
	p.do(chromedp.Navigate(srv.URL + "/#/traces/4bf92f3577b34da6a3ce929d0e0e4736"))
	p.waitFor("document.querySelectorAll('.waterfall li').length === 4", 10*time.Second)
	p.do(chromedp.Click(chromedp.CSS(`li[data-span="c3"]`)))
	p.waitFor("document.querySelector('.wf-detail a')", 5*time.Second)
	p.do(chromedp.Click(chromedp.CSS(".wf-detail a")))
	p.waitFor("document.body.innerText.includes('1 record.')", 10*time.Second)
	require.Contains(t, eval[string](p, "document.querySelector('#logs-table tbody').innerText"), "charge failed")
	require.Empty(t, p.consoleErrors())
}

// An answer that arrives after its page was left draws nowhere: a trace
// still loading when the trace list is opened does not replace the list.
func TestLateAnswerAfterLeavingPage(t *testing.T) {
	srv := NewFakeServer(t, DemoGraph())
	release := srv.HoldTrace()
	t.Cleanup(release)
	p := openPage(t, srv, "#/traces/"+HeldTraceID)
	p.waitFor("document.body.innerText.includes('Loading trace')", 20*time.Second)
	p.do(chromedp.Navigate(srv.URL + "/#/traces"))
	p.waitFor("document.querySelectorAll('table.data tbody tr.clickable').length === 2", 10*time.Second)
	release()
	// The held answer has reached the page (its fetch ended) and the page
	// has run what follows it (a task queued after it).
	p.waitFor(fmt.Sprintf("performance.getEntriesByType('resource').some(e => e.name.endsWith('/traces/%s') && e.responseEnd > 0)", HeldTraceID), 10*time.Second)
	evalAwait[bool](p, "new Promise(r => setTimeout(() => r(true), 0))")
	require.Equal(t, 2, eval[int](p, "document.querySelectorAll('table.data tbody tr.clickable').length"))
	require.Zero(t, eval[int](p, "document.querySelectorAll('.waterfall').length"))
	require.Empty(t, p.consoleErrors())
}

// The metrics explorer lists the metrics, filters them by name, and
// charts one: a line per series, fewer when grouped, the filters and the
// combination going to the server and into the address.
func TestMetricsPage(t *testing.T) {
	srv := NewFakeServer(t, DemoGraph())
	p := openPage(t, srv, "#/metrics")
	p.waitFor("document.querySelectorAll('#metric-list a').length === 2", 20*time.Second)
	require.Contains(t, eval[string](p, "document.body.innerText"), "Pick a metric.")
	p.do(chromedp.SendKeys(chromedp.CSS("input[name=filter]"), "memory"))
	p.waitFor("document.querySelectorAll('#metric-list a').length === 1", 10*time.Second)
	require.Equal(t, "process_resident_memory_bytes", eval[string](p, "document.querySelector('#metric-list a').textContent"))
	// A service's metrics, as its node panel links to them.
	p.do(chromedp.Navigate(srv.URL + "/#/metrics?service=payments"))
	p.waitFor("document.querySelectorAll('#metric-list a').length === 1 && document.querySelector('#metric-list a').textContent === 'process_resident_memory_bytes'", 10*time.Second)
	require.Contains(t, eval[string](p, "document.querySelector('#metric-list a').getAttribute('href')"), "service=payments")
	p.do(chromedp.Navigate(srv.URL + "/#/metrics?name=istio_requests_total"))
	p.waitFor("document.querySelectorAll('#metric-lines tbody tr').length === 3", 10*time.Second)
	p.waitFor("document.querySelector('#metric-view figure.chart canvas')", 10*time.Second)
	require.Contains(t, eval[string](p, "document.querySelector('#metric-view figcaption').textContent"), "istio_requests_total: per second")
	require.Equal(t, []string{"destination_service=cart, response_code=200", "destination_service=pay, response_code=200", "destination_service=web, response_code=503"},
		eval[[]string](p, "[...document.querySelectorAll('#metric-lines tbody tr td:nth-child(2)')].map(e => e.textContent)"))
	require.Equal(t, "current", eval[string](p, "[...document.querySelectorAll('#metric-list li')].find(li => li.textContent.startsWith('istio_requests_total')).className"))
	// Grouped by response code and averaged: two lines, in the address.
	p.do(chromedp.SetValue(chromedp.CSS("input[name=group_by]"), "response_code"), chromedp.SetValue(chromedp.CSS("select[name=agg]"), "avg"),
		chromedp.Click(chromedp.CSS(".metric-main form button[type=submit]")))
	p.waitFor("document.querySelectorAll('#metric-lines tbody tr').length === 2", 10*time.Second)
	require.Equal(t, []string{"response_code=200", "4"}, eval[[]string](p, "[...document.querySelectorAll('#metric-lines tbody tr:first-child td')].slice(1, 3).map(e => e.textContent)"))
	hash := eval[string](p, "location.hash")
	require.Contains(t, hash, "group_by=response_code")
	require.Contains(t, hash, "agg=avg")
	// The same chart in PromQL, for Grafana.
	require.Equal(t, "avg by (response_code) (rate(istio_requests_total[120s]))", eval[string](p, "document.getElementById('metric-promql').textContent"))
	// A label filter.
	p.do(chromedp.Navigate(srv.URL + "/#/metrics?name=istio_requests_total&match=response_code%3D503"))
	p.waitFor("document.querySelectorAll('#metric-lines tbody tr').length === 1", 10*time.Second)
	require.Equal(t, "response_code=503", eval[string](p, "document.querySelector('input[name=match]').value"))
	require.Equal(t, `sum (rate(istio_requests_total{response_code="503"}[120s]))`, eval[string](p, "document.getElementById('metric-promql').textContent"))
	// A quantile chosen goes to the server and names the values.
	p.do(chromedp.SetValue(chromedp.CSS("select[name=quantile]"), "0.99"), chromedp.Click(chromedp.CSS(".metric-main form button[type=submit]")))
	p.waitFor("document.querySelector('#metric-view figcaption') && document.querySelector('#metric-view figcaption').textContent.includes('p99')", 10*time.Second)
	require.Contains(t, eval[string](p, "location.hash"), "quantile=0.99")
	require.Empty(t, p.consoleErrors())
	// A metric the server does not have: its error, not a chart (the
	// browser logs the 404 itself).
	p.do(chromedp.Navigate(srv.URL + "/#/metrics?name=nothing"))
	p.waitFor("document.querySelector('.metric-main .error')", 10*time.Second)
	require.Contains(t, eval[string](p, "document.querySelector('.metric-main').innerText"), `no series of metric "nothing" match`)
	require.Zero(t, eval[int](p, "document.querySelectorAll('#metric-view').length"))
}

func TestDeploymentsPage(t *testing.T) {
	srv := NewFakeServer(t, DemoGraph())
	p := openPage(t, srv, "#/deployments")
	p.waitFor("document.querySelectorAll('#deployments-table tbody tr').length === 1", 20*time.Second)
	require.Contains(t, eval[string](p, "document.body.innerText"), "1 version deployed in the range (first calls, none in the day before), 1 worse than their services' other versions since.")
	cells := eval[[]string](p, "[...document.querySelectorAll('#deployments-table tbody tr td')].map(e => e.textContent)")
	require.Equal(t, []string{"pay/payments", "v2", "v1"}, cells[1:4])
	require.Equal(t, "90.0% vs 2.00%", cells[5])
	require.Equal(t, "180 ms vs 45.0 ms", cells[6])
	require.Equal(t, "more errors, slower", cells[7])
	require.Equal(t, "java.lang.IllegalStateException", cells[8], "the exception types first seen since")
	require.Zero(t, eval[int](p, "document.querySelectorAll('#deployments-table .deploy-outbound').length"), "the calls it took")
	require.True(t, strings.HasPrefix(eval[string](p, "document.querySelector('#deployments-table a.deploy-exceptions').getAttribute('href')"),
		"#/exceptions?service=payments&namespace=pay&new=true&from="))
	require.Equal(t, "#/graph?g=version&ns=pay&sel=version%3Apay%2Fpayments%2Fv2", eval[string](p, "document.querySelector('#deployments-table tbody tr td:nth-child(3) a').getAttribute('href')"))
	require.True(t, strings.HasPrefix(eval[string](p, "[...document.querySelectorAll('#deployments-table a')].find(a => a.textContent === 'Exceptions').getAttribute('href')"),
		"#/exceptions?service=payments&version=v2&from="))
	// The default range is the last day, in the form.
	require.Equal(t, "now-24h", eval[string](p, "document.querySelector('input[name=from]').value"))
	// Before/after: the graph by version since the deploy, diffed with as
	// long before it, the canary selected.
	before := eval[string](p, "[...document.querySelectorAll('#deployments-table a')].find(a => a.textContent === 'Before/after').getAttribute('href')")
	for _, want := range []string{"g=version", "ns=pay", "sel=version%3Apay%2Fpayments%2Fv2", "range=custom", "diff=prev", "from=20"} {
		require.Contains(t, before, want)
	}
	// A row chosen: the service's rate and errors by version, the deploy marked.
	p.do(chromedp.Click(chromedp.CSS("#deployments-table tbody tr:first-child")))
	p.waitFor("document.querySelectorAll('#deployment-detail figure canvas').length === 2", 10*time.Second)
	require.Equal(t, []string{"Rate by version (rps)", "Errors by version"}, eval[[]string](p, "[...document.querySelectorAll('#deployment-detail figure')].map(f => f.getAttribute('aria-label'))"))
	require.Equal(t, []string{"v2", "v2"}, eval[[]string](p, "[...document.querySelectorAll('#deployment-detail figure')].map(f => f.dataset.markers)"))
	require.Zero(t, eval[int](p, "document.querySelectorAll('#deployment-detail .direction-note').length"), "the calls it took")
	// The nav has the page.
	require.Equal(t, "#/deployments", eval[string](p, "document.querySelector('nav a[data-page=deployments]').getAttribute('href')"))
	// The Before/after link opens the graph in diff mode over that range.
	eval[any](p, "[...document.querySelectorAll('#deployments-table a')].find(a => a.textContent === 'Before/after').click()")
	p.waitReady(20 * time.Second)
	require.Equal(t, "diff", strings.Fields(eval[string](p, "document.getElementById('status').textContent"))[0])
	require.Equal(t, "prev", eval[string](p, "document.getElementById('diff').value"))
	// The header counts the deployed versions alerted on as worse.
	p.waitFor("!document.getElementById('deploy-alerts-badge').hidden", 10*time.Second)
	require.Equal(t, "1 worse deployment", eval[string](p, "document.getElementById('deploy-alerts-badge').textContent"))
	require.Equal(t, "payments v2 fails more often than its other versions\npayments v2 is slower than its other versions", eval[string](p, "document.getElementById('deploy-alerts-badge').title"))
	require.Equal(t, "#/deployments", eval[string](p, "document.getElementById('deploy-alerts-badge').getAttribute('href')"))
	// and the instances alerted on as outliers, a link to their service.
	p.waitFor("!document.getElementById('instance-alerts-badge').hidden", 10*time.Second)
	require.Equal(t, "1 outlier instance", eval[string](p, "document.getElementById('instance-alerts-badge').textContent"))
	require.Equal(t, "cart instance cart-7d9f-c fails more often than its other instances", eval[string](p, "document.getElementById('instance-alerts-badge').title"))
	require.Equal(t, "#/graph?sel=service%3Ashop%2Fcart", eval[string](p, "document.getElementById('instance-alerts-badge').getAttribute('href')"))
	require.Empty(t, p.consoleErrors())
}

// A version that took no calls is compared by the calls it made, and the
// page says so.
func TestDeploymentsPageOutbound(t *testing.T) {
	srv := NewFakeServer(t, DemoGraph())
	srv.SetDeploymentsOutbound()
	p := openPage(t, srv, "#/deployments")
	p.waitFor("document.querySelectorAll('#deployments-table tbody tr').length === 1", 20*time.Second)
	cells := eval[[]string](p, "[...document.querySelectorAll('#deployments-table tbody tr td')].map(e => e.textContent)")
	require.True(t, strings.HasSuffix(cells[4], " calls made"), "rps cell %q", cells[4])
	require.Contains(t, eval[string](p, "document.querySelector('#deployments-table .deploy-outbound').title"), "the calls the versions made")
	// Its service's series by version, said to be of the calls made.
	p.do(chromedp.Click(chromedp.CSS("#deployments-table tbody tr:first-child")))
	p.waitFor("document.querySelectorAll('#deployment-detail figure canvas').length === 2", 10*time.Second)
	require.Equal(t, "It took no calls in the range: these are the calls it made.", eval[string](p, "document.querySelector('#deployment-detail .direction-note').textContent"))
	require.Empty(t, p.consoleErrors())
}

func TestExceptionsPage(t *testing.T) {
	srv := NewFakeServer(t, DemoGraph())
	p := openPage(t, srv, "#/exceptions")
	p.waitFor("document.querySelectorAll('#exceptions-table tbody tr').length === 2", 20*time.Second)
	require.Equal(t, []string{"payments", "cart"}, eval[[]string](p, "[...document.querySelectorAll('#exceptions-table tbody tr td:nth-child(2)')].map(e => e.textContent)"))
	require.Equal(t, []string{"pay", "shop"}, eval[[]string](p, "[...document.querySelectorAll('#exceptions-table tbody tr td:nth-child(3)')].map(e => e.textContent)"))
	require.Contains(t, eval[string](p, "document.body.innerText"), "10 exceptions in 2 groups, 1 new (first seen in the range)")
	// The header counts the new types, a link to them.
	p.waitFor("!document.getElementById('new-exceptions-badge').hidden", 10*time.Second)
	require.Equal(t, "1 new exception", eval[string](p, "document.getElementById('new-exceptions-badge').textContent"))
	require.Equal(t, "TypeError in cart", eval[string](p, "document.getElementById('new-exceptions-badge').title"))
	require.Equal(t, "#/exceptions?new=true&from=now-1h", eval[string](p, "document.getElementById('new-exceptions-badge').getAttribute('href')"))
	// The group first seen in the range marked new, the other not.
	require.Equal(t, []int{0, 1}, eval[[]int](p, "[...document.querySelectorAll('#exceptions-table tbody tr')].map(r => r.querySelectorAll('.badge.exc-new').length)"))
	// A long type (Java's nested classes) wraps within its column.
	require.True(t, eval[bool](p, `(() => {
		const code = document.querySelector('#exceptions-table tbody tr td .exc-type code');
		code.textContent = 'org.springframework.web.client.HttpServerErrorException$ServiceUnavailable';
		return code.getBoundingClientRect().right <= code.closest('td').getBoundingClientRect().right;
	})()`))
	// The trend: a bar per bucket with exceptions, the busiest full height.
	require.Equal(t, 2, eval[int](p, "[...document.querySelectorAll('#exceptions-table tbody tr:first-child svg.trend rect')].filter(r => +r.getAttribute('height') > 0).length"))
	require.Equal(t, "18.0", eval[string](p, "document.querySelectorAll('#exceptions-table tbody tr:first-child svg.trend rect')[29].getAttribute('height')"))
	// Above the table, every group's exceptions by bucket: payments' 2 and
	// 7, cart's none.
	require.Equal(t, []string{"0.0", "13.7", "48.0"}, eval[[]string](p,
		"[0, 10, 29].map(i => document.querySelectorAll('#exceptions-overview svg.trend rect')[i].getAttribute('height'))"))
	// A group chosen: its stack trace and its trace.
	p.do(chromedp.Click(chromedp.CSS("#exceptions-table tbody tr:first-child")))
	p.waitFor("document.querySelector('#exception-detail pre.stacktrace')", 10*time.Second)
	require.Contains(t, eval[string](p, "document.querySelector('#exception-detail pre.stacktrace').textContent"), "at com.example.payments.Charge.run(Charge.java:42)")
	require.Contains(t, eval[string](p, "document.querySelector('#exception-detail').innerText"), "· first seen ")
	// Its versions: in the table and the detail.
	require.Equal(t, "v2 ×8 · v1 ×1", eval[string](p, "document.querySelector('#exceptions-table tbody tr:first-child .exc-versions').textContent"))
	require.Contains(t, eval[string](p, "document.querySelector('#exception-detail').innerText"), "versions v2 ×8 · v1 ×1")
	require.Equal(t, []string{"#/exceptions?service=payments&namespace=pay&version=v2", "#/exceptions?service=payments&namespace=pay&version=v1"},
		eval[[]string](p, "[...document.querySelectorAll('#exception-detail .exc-version-link')].map(a => a.getAttribute('href'))"))
	require.Equal(t, "#/traces/4bf92f3577b34da6a3ce929d0e0e4736", eval[string](p, "document.querySelector('#exception-detail nav a').getAttribute('href')"))
	// Its latest occurrences, each with its version, message and trace.
	p.waitFor("document.querySelectorAll('#exception-occurrences tbody tr').length === 2", 10*time.Second)
	require.Equal(t, []string{"v2", "v1"}, eval[[]string](p, "[...document.querySelectorAll('#exception-occurrences tbody td:nth-child(2)')].map(e => e.textContent)"))
	require.Equal(t, "card expired", eval[string](p, "document.querySelector('#exception-occurrences tbody tr:nth-child(2) .exc-msg').textContent"))
	require.Equal(t, "#/traces/5bf92f3577b34da6a3ce929d0e0e4737", eval[string](p, "document.querySelector('#exception-occurrences tbody tr:nth-child(2) a').getAttribute('href')"))
	// Every trace with the type: the traces page searches for it.
	require.Equal(t, "#/traces?exception=java.lang.IllegalStateException&from=now-1h&to=now",
		eval[string](p, "document.querySelector('#exception-detail .exc-traces-link').getAttribute('href')"))
	eval[any](p, "document.querySelector('#exception-detail .exc-traces-link').click()")
	require.Eventually(t, func() bool { return srv.TraceSearch().Get("exception") == "java.lang.IllegalStateException" }, 10*time.Second, 20*time.Millisecond)
	require.Equal(t, "java.lang.IllegalStateException", eval[string](p, "document.querySelector('.page-view input[name=exception]').value"))
	p.do(chromedp.Navigate(srv.URL + "/#/exceptions"))
	p.waitFor("document.querySelectorAll('#exceptions-table tbody tr').length === 2", 10*time.Second)
	p.do(chromedp.Click(chromedp.CSS("#exceptions-table tbody tr:first-child")))
	p.waitFor("document.querySelector('#exception-detail pre.stacktrace')", 10*time.Second)
	p.do(chromedp.Click(chromedp.CSS("#exception-detail nav a")))
	p.waitFor("location.hash === '#/traces/4bf92f3577b34da6a3ce929d0e0e4736'", 10*time.Second)
	// A service's exceptions, as its node panel links to them; a text search.
	p.do(chromedp.Navigate(srv.URL + "/#/exceptions?service=cart"))
	p.waitFor("document.querySelectorAll('#exceptions-table tbody tr').length === 1", 10*time.Second)
	require.Equal(t, "cart", eval[string](p, "document.querySelector('input[name=service]').value"))
	p.do(chromedp.SetValue(chromedp.CSS(".page-view input[name=service]"), "payments"), chromedp.Click(chromedp.CSS(".page-view form button[type=submit]")))
	p.waitFor("document.querySelectorAll('#exceptions-table tbody tr').length === 1 && document.querySelector('#exceptions-table tbody td:nth-child(2)').textContent === 'payments'", 10*time.Second)
	p.do(chromedp.Navigate(srv.URL + "/#/exceptions?q=undefined"))
	p.waitFor("document.querySelectorAll('#exceptions-table tbody tr').length === 1 && document.querySelector('#exceptions-table tbody td:nth-child(2)').textContent === 'cart'", 10*time.Second)
	require.Equal(t, "log", eval[string](p, "document.querySelector('#exceptions-table tbody td:nth-child(4)').textContent"))
	// Logged exceptions only, by the source chosen.
	p.do(chromedp.Navigate(srv.URL + "/#/exceptions"))
	p.waitFor("document.querySelectorAll('#exceptions-table tbody tr').length === 2", 10*time.Second)
	p.do(chromedp.SetValue(chromedp.CSS(".page-view select[name=source]"), "log"), chromedp.Click(chromedp.CSS(".page-view form button[type=submit]")))
	p.waitFor("document.querySelectorAll('#exceptions-table tbody tr').length === 1 && document.querySelector('#exceptions-table tbody td:nth-child(2)').textContent === 'cart'", 10*time.Second)
	// The new ones only, from either source; then none of payments' is new.
	p.do(chromedp.SetValue(chromedp.CSS(".page-view select[name=source]"), ""), chromedp.Click(chromedp.CSS(".page-view input[name=new]")),
		chromedp.Click(chromedp.CSS(".page-view form button[type=submit]")))
	p.waitFor("document.querySelectorAll('#exceptions-table tbody tr').length === 1 && document.querySelector('#exceptions-table tbody td:nth-child(2)').textContent === 'cart'", 10*time.Second)
	// One version's exceptions: payments' has v1 among its versions.
	p.do(chromedp.Navigate(srv.URL + "/#/exceptions?version=v1"))
	p.waitFor("document.querySelectorAll('#exceptions-table tbody tr').length === 1 && document.querySelector('#exceptions-table tbody td:nth-child(2)').textContent === 'payments'", 10*time.Second)
	require.Equal(t, "v1", eval[string](p, "document.querySelector('input[name=version]').value"))
	p.do(chromedp.Navigate(srv.URL + "/#/exceptions?service=payments&new=true"))
	p.waitFor("document.body.innerText.includes('No exceptions first seen in the range.')", 10*time.Second)
	require.True(t, eval[bool](p, "document.querySelector('.page-view input[name=new]').checked"))
	p.do(chromedp.Navigate(srv.URL + "/#/exceptions?service=nobody"))
	p.waitFor("document.body.innerText.includes('No exceptions recorded in the range.')", 10*time.Second)
	require.Empty(t, p.consoleErrors())
}

func TestToken(t *testing.T) {
	srv := NewFakeServer(t, DemoGraph())
	srv.RequireToken("s3cret")
	p := openPage(t, srv, "?token=s3cret#/graph")
	p.waitReady(20 * time.Second)
	require.Equal(t, len(DemoGraph().Nodes), eval[int](p, "window.meshscope.nodeCount()"))
	// REST calls carry the token as a bearer header.
	p.do(chromedp.Navigate(srv.URL + "/?token=s3cret#/sql"))
	p.waitFor("document.getElementById('sql-run')", 10*time.Second)
	p.do(chromedp.Click(chromedp.ID("sql-run")))
	p.waitFor("document.querySelectorAll('#sql-results tbody tr').length === 3", 10*time.Second)
	require.Empty(t, p.consoleErrors())
}

func TestExports(t *testing.T) {
	demo := DemoGraph()
	srv := NewFakeServer(t, demo)
	p := openPage(t, srv, "")
	p.waitReady(20 * time.Second)

	svg := eval[string](p, "window.meshscope.exportText('svg')")
	require.True(t, strings.HasPrefix(svg, "<svg"), svg[:min(len(svg), 80)])
	require.Equal(t, len(demo.Edges), strings.Count(svg, "<line "))
	require.Contains(t, svg, ">payments</text>")

	dot := eval[string](p, "window.meshscope.exportText('dot')")
	require.True(t, strings.HasPrefix(dot, "digraph meshscope {"))
	require.Equal(t, len(demo.Edges), strings.Count(dot, " -> "))

	var exported Graph
	require.NoError(t, json.Unmarshal([]byte(eval[string](p, "window.meshscope.exportText('json')")), &exported))
	require.Len(t, exported.Nodes, len(demo.Nodes))
	require.Len(t, exported.Edges, len(demo.Edges))

	// The PNG comes from the WebGL canvas and is not blank.
	dataURL := evalAwait[string](p, "window.meshscope.exportPNG()")
	raw, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(dataURL, "data:image/png;base64,"))
	require.NoError(t, err)
	img, err := png.Decode(bytes.NewReader(raw))
	require.NoError(t, err)
	colored := 0
	bounds := img.Bounds()
	for y := bounds.Min.Y; y < bounds.Max.Y; y += 2 {
		for x := bounds.Min.X; x < bounds.Max.X; x += 2 {
			r, g, b, _ := img.At(x, y).RGBA()
			if r>>8 < 200 || g>>8 < 200 || b>>8 < 200 {
				colored++
			}
		}
	}
	require.Greater(t, colored, 200, "exported PNG looks blank")
	require.Empty(t, p.consoleErrors())
}

// TestScreenshots writes docs/screenshots/*.png when MESHSCOPE_SCREENSHOTS=1.
func TestScreenshots(t *testing.T) {
	if os.Getenv("MESHSCOPE_SCREENSHOTS") != "1" {
		t.Skip("set MESHSCOPE_SCREENSHOTS=1 to write docs/screenshots")
	}
	dir := filepath.Join("..", "..", "docs", "screenshots")
	require.NoError(t, os.MkdirAll(dir, 0o755))
	write := func(name string, png []byte) {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), png, 0o644))
	}
	srv := NewFakeServer(t, DemoGraph())
	p := openPage(t, srv, "")
	p.waitReady(20 * time.Second)
	time.Sleep(500 * time.Millisecond)
	write("graph.png", p.screenshot())

	p.clickNode("service:pay/payments")
	p.waitFor("document.querySelector('#panel .blast h3') && document.querySelectorAll('#panel .u-wrap').length >= 3 && document.querySelector('#panel .operations table')", 10*time.Second)
	time.Sleep(500 * time.Millisecond)
	write("node-panel.png", p.screenshot())

	p.do(chromedp.Navigate(srv.URL + "/#/graph?range=1h&diff=prev"))
	p.waitReady(20 * time.Second)
	time.Sleep(500 * time.Millisecond)
	write("diff.png", p.screenshot())

	p.do(chromedp.Navigate(srv.URL + "/#/sql"))
	p.waitFor("document.getElementById('sql-run')", 10*time.Second)
	p.do(chromedp.Click(chromedp.ID("sql-run")))
	p.waitFor("document.querySelectorAll('#sql-results tbody tr').length === 3", 10*time.Second)
	write("sql-console.png", p.screenshot())

	p.do(chromedp.Navigate(srv.URL + "/#/slos"))
	p.waitFor("document.querySelectorAll('#slo-table tbody tr').length === 3", 10*time.Second)
	write("slos.png", p.screenshot())

	p.do(chromedp.Navigate(srv.URL + "/#/traces/4bf92f3577b34da6a3ce929d0e0e4736"))
	p.waitFor("document.querySelectorAll('.waterfall li').length === 4", 10*time.Second)
	p.do(chromedp.Click(chromedp.CSS(`li[data-span="c3"]`)))
	p.waitFor("document.querySelector('.wf-detail')", 5*time.Second)
	write("trace.png", p.screenshot())

	p.do(chromedp.Navigate(srv.URL + "/#/metrics?name=istio_requests_total"))
	p.waitFor("document.querySelector('#metric-view figure.chart canvas') && document.querySelectorAll('#metric-list a').length === 2", 10*time.Second)
	time.Sleep(500 * time.Millisecond)
	write("metrics.png", p.screenshot())

	p.do(chromedp.Navigate(srv.URL + "/#/exceptions"))
	p.waitFor("document.querySelectorAll('#exceptions-table tbody tr').length === 2", 10*time.Second)
	p.do(chromedp.Click(chromedp.CSS("#exceptions-table tbody tr:first-child")))
	p.waitFor("document.querySelector('#exception-detail pre.stacktrace')", 5*time.Second)
	write("exceptions.png", p.screenshot())

	p.do(chromedp.Navigate(srv.URL + "/#/deployments"))
	p.waitFor("document.querySelectorAll('#deployments-table tbody tr').length === 1", 10*time.Second)
	p.do(chromedp.Click(chromedp.CSS("#deployments-table tbody tr:first-child")))
	p.waitFor("document.querySelectorAll('#deployment-detail figure canvas').length === 2", 10*time.Second)
	time.Sleep(300 * time.Millisecond)
	write("deployments.png", p.screenshot())

	p.do(chromedp.Navigate(srv.URL + "/#/traces?service=cart&diff=errors"))
	p.waitFor("document.getElementById('differences-table') !== null && document.querySelector('.trace-scatter')", 10*time.Second)
	write("differences.png", p.screenshot())

	p.do(chromedp.Navigate(srv.URL + "/#/graph?sel=" + url.QueryEscape("service:shop/cart")))
	p.waitFor("document.querySelectorAll('#panel .instances tbody tr').length === 4 && document.querySelectorAll('#panel .u-wrap').length >= 3", 10*time.Second)
	_ = eval[any](p, "document.querySelector('#panel .instances').scrollIntoView(), 0")
	time.Sleep(300 * time.Millisecond)
	write("instances.png", p.screenshot())
}

// The table page opened by its address fills once the graph arrives, and
// follows the graph's changes in the order the user chose, the focus
// staying where it was.
func TestTableFollowsTheGraph(t *testing.T) {
	demo := DemoGraph()
	srv := NewFakeServer(t, demo)
	p := openPage(t, srv, "#/table")
	p.waitFor(fmt.Sprintf("document.querySelectorAll('#nodes-table tbody tr[data-key]').length === %d", len(demo.Nodes)), 20*time.Second)

	// Sorted by rps in, busiest first.
	p.do(chromedp.Click(chromedp.CSS(`#nodes-table th:nth-child(5) button`)))
	p.waitFor(`document.querySelector('#nodes-table th:nth-child(5)').getAttribute('aria-sort') === 'descending'`, 5*time.Second)

	busiest := ServiceNode("shop", "firehose", "healthy", 1e6, 0)
	srv.SendDelta(Delta{NodesAdded: []Node{busiest}, EdgesAdded: []Edge{MakeEdge("service:shop/web", busiest.ID, "http", 1e6, 0, 1)}})
	p.waitFor(fmt.Sprintf("document.querySelector('#nodes-table tbody tr').dataset.key === %q", busiest.ID), 20*time.Second)
	require.Equal(t, len(demo.Nodes)+1, eval[int](p, "document.querySelectorAll('#nodes-table tbody tr[data-key]').length"))
	require.Equal(t, "descending", eval[string](p, "document.querySelector('#nodes-table th:nth-child(5)').getAttribute('aria-sort')"))
	require.True(t, eval[bool](p, "document.activeElement === document.querySelector('#nodes-table th:nth-child(5) button')"))
	require.Contains(t, eval[string](p, "document.getElementById('edges-table').innerText"), "firehose")
	// Each table saved as CSV: its columns' raw values, a value with a
	// comma quoted.
	saved := func(button int) string {
		return evalAwait[string](p, fmt.Sprintf(`(() => {
			let link;
			const click = HTMLAnchorElement.prototype.click;
			HTMLAnchorElement.prototype.click = function () { link = this; };
			document.querySelectorAll('.page-view button.csv')[%d].click();
			HTMLAnchorElement.prototype.click = click;
			return fetch(link.href).then(r => r.text()).then(t => link.download + "\n" + t);
		})()`, button))
	}
	nodes := strings.Split(saved(0), "\n")
	require.Equal(t, "nodes.csv", nodes[0])
	require.Equal(t, "Name,Kind,Namespace,Health,rps in,errors in,rps out,requests in", nodes[1])
	require.Contains(t, nodes, "checkout,service,shop,degraded,22,0.031,0,1320")
	edges := saved(1)
	require.Contains(t, edges, "edges.csv\nSource,Destination,Protocol,rps,error rate,p50,p99,bytes/s,mTLS,Provenance\n")
	require.Regexp(t, `\ncheckout,payments,grpc,20,0\.12,180,[0-9.]+,100000,[0-9.]+,"[a-z]+, [a-z]+"\n`, edges)
	require.Empty(t, p.consoleErrors())
}

// Edges are labelled with their rate, error rate or p99 when asked, from
// the address too, and the choice is kept in it.
func TestEdgeLabels(t *testing.T) {
	demo := DemoGraph()
	srv := NewFakeServer(t, demo)
	var e Edge // checkout -> payments: 20 rps, 12 % errors, p50 180 ms
	for _, x := range demo.Edges {
		if x.ID == "service:shop/checkout->service:pay/payments" {
			e = x
		}
	}
	require.NotEmpty(t, e.ID)
	p := openPage(t, srv, "#/graph?el=p99")
	p.waitReady(20 * time.Second)
	require.Equal(t, "p99", eval[string](p, "document.getElementById('edge-labels').value"))
	require.True(t, eval[bool](p, "window.meshscope.edgeLabelsDrawn()"))
	label := func() string { return eval[string](p, fmt.Sprintf("window.meshscope.edgeLabel(%q)", e.ID)) }
	require.Regexp(t, `^p99 \d+ ms$`, label())

	p.setSelect("edge-labels", "errors")
	require.Equal(t, "12.0% err", label())
	require.Contains(t, eval[string](p, "location.hash"), "el=errors")
	p.setSelect("edge-labels", "rps")
	require.Equal(t, "20.0 rps", label())
	p.setSelect("edge-labels", "p50")
	require.Equal(t, "p50 180 ms", label())
	p.setSelect("edge-labels", "p95")
	require.Regexp(t, `^p95 \d+ ms$`, label())
	// Its share of checkout's calls: 20 of 20 + 25 + 22 + 22 rps.
	p.setSelect("edge-labels", "share")
	require.Equal(t, "22.5% of calls", label())
	require.Contains(t, eval[string](p, "location.hash"), "el=share")
	// Bytes both ways: 20 rps of 800 B sent and 4,200 received.
	p.setSelect("edge-labels", "throughput")
	require.Equal(t, "97.7 KiB/s", label())
	// Over mutual TLS, all of its calls; a TCP edge none.
	p.setSelect("edge-labels", "mtls")
	require.Equal(t, "mTLS", label())
	require.Contains(t, eval[string](p, "location.hash"), "el=mtls")
	for _, x := range demo.Edges {
		if x.MTLSShare == 0 {
			require.Equal(t, "plaintext", eval[string](p, fmt.Sprintf("window.meshscope.edgeLabel(%q)", x.ID)), x.ID)
			break
		}
	}

	p.setSelect("edge-labels", "")
	require.False(t, eval[bool](p, "window.meshscope.edgeLabelsDrawn()"))
	require.Empty(t, label())
	require.NotContains(t, eval[string](p, "location.hash"), "el=")
	require.Empty(t, p.consoleErrors())
}
