package demo

// emit writes the telemetry of the simulated tree, whose times are
// shifted by base (Unix nanoseconds of the tree's start): both sidecars'
// access log entries of every call, the sidecars' and the SDKs' metrics,
// and the spans of sampled traces.
func (g *generator) emit(base int64) {
	for i := range g.tree.hops {
		h := &g.tree.hops[i]
		if h.call == nil {
			g.rootSpan(h, base)
			continue
		}
		g.accessLogs(h, base)
		g.metrics.record(h)
		g.sdk.record(h, base)
		g.callSpans(h, base)
	}
}

// accessLogs writes the entries of the caller's sidecar and, when the call
// reached a sidecar, the callee's. Calls of sampled traces carry their
// traceparent header, which the sidecars' ALS loggers log (Istio's
// additional_request_headers_to_log), so access log rows lead to traces.
func (g *generator) accessLogs(h *hop, base int64) {
	e := &g.entry
	if h.call.Kind == CallRequest {
		g.newRequestID()
	}
	g.outbound(e, h, base)
	e.traceparent = nil
	if tr := &g.tree.traces[h.trace]; tr.sampled && h.call.Kind == CallRequest && h.call.From.Traced {
		g.traceparent = g.newTraceparent(&tr.id, &h.span)
		e.traceparent = g.traceparent
	}
	g.write(e)
	if h.dst != nil && h.out.reached() {
		g.inbound(e, h, base)
		g.write(e)
	}
}

// write hands e to the sidecar's logger: the Access Log Service, or text
// lines in the text namespace.
func (g *generator) write(e *logEntry) {
	w := e.pod.Workload
	if w.Service.Namespace == g.t.TextNamespace {
		tb := &g.textBufs[w.Index]
		*tb.b = appendIstioLine(tb.buf(), e, &g.tc)
		tb.n++
		if len(*tb.b) >= textFlushBytes {
			g.flushText(w)
		}
		return
	}
	k := 0
	if e.tcp {
		k = 1
	}
	ab := &g.alsBufs[e.pod.Index][k]
	if e.tcp {
		*ab.b = g.als.appendTCP(ab.buf(), e)
	} else {
		*ab.b = g.als.appendHTTP(ab.buf(), e)
	}
	ab.n++
	if len(*ab.b) >= alsFlushBytes {
		g.flushALS(e.pod, e.tcp)
	}
}

// addSpan appends the span in g.scratch to the batch of pod p.
func (g *generator) addSpan(p *Pod) {
	b := g.pendingSpans.buf(p.Index)
	*b = appendSpan(*b, &g.scratch)
	if g.pendingSpans.n >= spanBatch {
		g.flushSpans()
	}
}

// rootSpan writes the gateway's span of a root request, or the INTERNAL
// span of a job's run and its record of the run (its sidecar logs no
// inbound request: nothing called the job).
func (g *generator) rootSpan(h *hop, base int64) {
	tr := &g.tree.traces[h.srvTrace]
	if !tr.sampled {
		return
	}
	if s := h.dst.Workload.Service; s.Kind == KindJob {
		g.scratch = spanOut{static: &g.spans.jobRun[s.Index], kind: spanKindInternal, trace: &tr.id, id: &h.work,
			start: base + h.srvStart, end: base + h.srvStart + h.srvDur, failed: h.out.failed()}
		g.addSpan(h.dst)
		g.jobLog(h.dst, h.out.failed())
		return
	}
	g.scratch = spanOut{static: &g.spans.root, kind: spanKindServer, trace: &tr.id, id: &h.work,
		start: base + h.srvStart, end: base + h.srvStart + h.srvDur, status: statusOf(ProtocolHTTP, h.out), failed: h.out.failed()}
	g.addSpan(h.dst)
	g.accessLog(h.dst, g.rootPath(), h.out)
}

// rootPath is the path the gateway forwarded the root request to: that of
// its first call, "/" when that is not HTTP.
func (g *generator) rootPath() string {
	if len(g.tree.hops) > 1 {
		if h := &g.tree.hops[1]; h.call != nil && h.ep >= 0 && h.call.To.Protocol == ProtocolHTTP {
			return h.call.To.Endpoints[h.ep].Paths[h.path]
		}
	}
	return "/"
}

// callSpans writes the spans of call h: the caller's, and the callee's
// server span or the consumer's span.
func (g *generator) callSpans(h *hop, base int64) {
	c := h.call
	from, to := c.From, c.To
	if c.Kind == CallConsume {
		tr := &g.tree.traces[h.srvTrace]
		if !tr.sampled || !from.Traced {
			return
		}
		g.scratch = spanOut{static: &g.spans.consumer[c.Index], kind: spanKindConsumer, trace: &tr.id, id: &h.work,
			start: base + h.srvStart, end: base + h.srvStart + h.srvDur, failed: h.out.failed()}
		if p := &g.tree.hops[h.link]; p.call.From.Traced {
			g.scratch.link, g.scratch.linkSpan = &g.tree.traces[p.trace].id, &p.span
		}
		g.addSpan(h.src)
		return
	}
	tr := &g.tree.traces[h.trace]
	if tr.sampled && from.Traced {
		st := g.spans.client[c.Index]
		ep := 0
		if h.ep >= 0 {
			ep = int(h.ep)
		}
		kind := uint64(spanKindClient)
		if c.Kind == CallProduce {
			kind = spanKindProducer
		}
		g.scratch = spanOut{static: &st[min(ep, len(st)-1)], kind: kind, trace: &tr.id, id: &h.span,
			parent: &g.tree.hops[h.parent].work, start: base + h.start, end: base + h.start + h.dur, failed: h.out.failed()}
		if c.Kind == CallRequest || c.Kind == CallExternal {
			g.scratch.status = statusOf(to.Protocol, h.out)
			if c.Kind == CallExternal {
				g.scratch.status = statusOf(ProtocolHTTP, h.out)
			}
		}
		g.addSpan(h.src)
	}
	if c.Kind != CallRequest || !to.Traced || !h.out.reached() {
		return
	}
	st := &g.tree.traces[h.srvTrace]
	if !st.sampled {
		return
	}
	g.scratch = spanOut{static: &g.spans.server[to.Index][h.ep], kind: spanKindServer, trace: &st.id, id: &h.work,
		start: base + h.srvStart, end: base + h.srvStart + h.srvDur, status: statusOf(to.Protocol, h.out), failed: h.out.failed()}
	if from.Traced {
		g.scratch.parent = &h.span
	}
	if to.Protocol == ProtocolHTTP {
		g.scratch.urlPath = to.Endpoints[h.ep].Paths[h.path]
	}
	g.scratch.exception = g.spans.exception[to.Index][h.out]
	// A degrading canary's application errors are its own bug.
	canary := h.out == outAppError && g.wl[h.dst.Workload.Index].errors > 0
	if canary {
		g.scratch.exception = g.spans.canaryException[to.Index]
	}
	g.addSpan(h.dst)
	if h.out.failed() {
		g.failureLog(h.dst, to.Protocol, h.out, canary)
	}
}
