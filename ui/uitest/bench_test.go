package uitest

import (
	"fmt"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// BenchmarkRender5000 measures, in headless Chromium, the first render of a
// 5,000 node / 20,000 edge snapshot (from the snapshot message arriving to the
// first frame drawn) and the time to apply a 1 % delta (50 nodes and 200
// edges updated) until it is on screen, as reported by window.meshscope.
// It also reports the worker time of the first layout refinement, the time
// the layered layout takes to place every node (chosen after the delta), a
// frame drawn with nothing changed, the hit test of the edge under the
// pointer, and the wall
// time from navigation until the page is ready (includes page load, the
// websocket transfer of the ~10 MB snapshot and the software WebGL work of
// headless Chromium). Run it with -benchtime 1x: each iteration starts a
// browser.
func BenchmarkRender5000(b *testing.B) {
	g := GenGraph(5000, 20000, 1)
	var first, apply, applySync, settle, layout, layered, findPlain, findShape, frame, edgeHitFirst, edgeHit float64
	runs := 0
	for b.Loop() {
		srv := NewFakeServer(b, g)
		start := time.Now()
		p := openPage(b, srv, "")
		p.waitReady(180 * time.Second)
		settle += float64(time.Since(start).Milliseconds())
		first += eval[float64](p, "window.meshscope.firstRenderMs()")
		if n := eval[int](p, "window.meshscope.nodeCount()"); n != len(g.Nodes) {
			b.Fatalf("drew %d nodes, want %d", n, len(g.Nodes))
		}
		cur := srv.Graph()
		d := Delta{}
		for i := 0; i < len(cur.Nodes)/100; i++ {
			n := cur.Nodes[i*97%len(cur.Nodes)]
			n.RPSIn *= 1.5
			n.Health = "degraded"
			d.NodesUpdated = append(d.NodesUpdated, n)
		}
		for i := 0; i < len(cur.Edges)/100; i++ {
			e := cur.Edges[i*89%len(cur.Edges)]
			e.RPS *= 2
			e.ErrorRate = 0.07
			d.EdgesUpdated = append(d.EdgesUpdated, e)
		}
		seq := srv.SendDelta(d)
		p.waitFor(fmt.Sprintf("window.meshscope.lastSeq() === %d && window.meshscope.lastApplyMs() >= 0 && window.meshscope.ready", seq), 60*time.Second)
		apply += eval[float64](p, "window.meshscope.lastApplyMs()")
		layout += eval[float64](p, "window.meshscope.layoutMs()")
		applySync += eval[float64](p, "window.meshscope.lastApplySyncMs()")
		// A frame with nothing changed (the mean of three), and the edge
		// under the pointer found at 50 points of the view (the first
		// after the delta gathers the edges' ends again).
		for range 3 {
			frame += evalAwait[float64](p, "window.meshscope.frameMs()") / 3
		}
		hit := eval[[]float64](p, "window.meshscope.edgeHitMs()")
		edgeHitFirst += hit[0]
		edgeHit += hit[1]
		p.setSelect("layout", "layered")
		p.waitFor("window.meshscope.layeredMs() >= 0 && window.meshscope.ready", 60*time.Second)
		layered += eval[float64](p, "window.meshscope.layeredMs()")
		// The find box's matching: a term over the graph's shape (all that
		// depends on svc00000, every hop) against a plain one, same page.
		for _, q := range []struct {
			query string
			ms    *float64
		}{{"name~svc0000", &findPlain}, {"callers=svc00000 depth=20", &findShape}} {
			p.do(chromedp.SetValue(chromedp.ID("find"), q.query))
			eval[any](p, "document.getElementById('find').dispatchEvent(new KeyboardEvent('keydown', {key: 'Enter'}))")
			p.waitFor("document.getElementById('find-info').textContent.includes('nodes match')", 30*time.Second)
			*q.ms += eval[float64](p, "(() => { const t0 = performance.now(); window.meshscope.matchingNodeIds(); return performance.now() - t0; })()")
		}
		runs++
		if errs := p.consoleErrors(); len(errs) > 0 {
			b.Fatalf("console errors: %v", errs)
		}
	}
	b.ReportMetric(first/float64(runs), "first-render-ms")
	b.ReportMetric(apply/float64(runs), "delta-apply-ms")
	b.ReportMetric(applySync/float64(runs), "delta-apply-sync-ms")
	b.ReportMetric(settle/float64(runs), "load-to-ready-ms")
	b.ReportMetric(layout/float64(runs), "layout-worker-ms")
	b.ReportMetric(layered/float64(runs), "layered-ms")
	b.ReportMetric(findPlain/float64(runs), "find-plain-ms")
	b.ReportMetric(findShape/float64(runs), "find-shape-ms")
	b.ReportMetric(frame/float64(runs), "frame-ms")
	b.ReportMetric(edgeHitFirst/float64(runs), "edge-hit-first-ms")
	b.ReportMetric(edgeHit/float64(runs), "edge-hit-ms")
}

// BenchmarkTrace10000 measures, in headless Chromium, a trace of 10,000
// spans (BigTraceID): building its waterfall (one row per span, in the
// page's DOM), laying its flame graph out and painting it on the canvas,
// and finding the span under the pointer in the flame graph (the mean of
// 1,000 points). The waterfall's build is the baseline of the flame
// graph's cost: every trace page builds both. Run it with -benchtime 1x.
func BenchmarkTrace10000(b *testing.B) {
	var waterfall, layout, paint, hit, load float64
	runs := 0
	for b.Loop() {
		srv := NewFakeServer(b, DemoGraph())
		start := time.Now()
		p := openPage(b, srv, "#/traces/"+BigTraceID+"?view=flame")
		p.waitFor(fmt.Sprintf("document.getElementById('flame') && document.getElementById('flame').drawn() === %d", BigTraceSpans), 180*time.Second)
		load += float64(time.Since(start).Milliseconds())
		waterfall += eval[float64](p, "document.querySelector('.trace').buildMs")
		layout += eval[float64](p, "document.getElementById('flame').layoutMs()")
		paint += eval[float64](p, "document.getElementById('flame').paintMs()")
		hit += eval[float64](p, `(() => {
			const cv = document.getElementById('flame'), r = cv.getBoundingClientRect();
			const h = Math.min(r.height, innerHeight - r.top);
			const t0 = performance.now();
			let found = 0;
			for (let i = 0; i < 1000; i++) if (cv.spanAt(r.left + (i * 7919 % 1000) / 1000 * r.width, r.top + (i * 104729 % 1000) / 1000 * h)) found++;
			if (!found) throw new Error('no span under any point');
			return (performance.now() - t0) / 1000;
		})()`)
		runs++
		if errs := p.consoleErrors(); len(errs) > 0 {
			b.Fatalf("console errors: %v", errs)
		}
	}
	b.ReportMetric(load/float64(runs), "load-to-flame-ms")
	b.ReportMetric(waterfall/float64(runs), "waterfall-build-ms")
	b.ReportMetric(layout/float64(runs), "flame-layout-ms")
	b.ReportMetric(paint/float64(runs), "flame-paint-ms")
	b.ReportMetric(hit/float64(runs), "flame-hit-ms")
	b.ReportMetric((layout+paint)/waterfall, "flame-to-waterfall-ratio")
}
