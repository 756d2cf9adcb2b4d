// The trace search's scatter plot: one point per trace found, at its start
// time and duration, red when it holds a failed span, larger with more
// spans; each point links to its trace. Drawn as SVG: a search returns at
// most a thousand traces.

import { fmtNs, h } from "../dom";
import type { TraceSummary } from "../types";

const NS = "http://www.w3.org/2000/svg";

function svg<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string | number>, ...children: (SVGElement | string)[]): SVGElementTagNameMap[K] {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  for (const c of children) el.append(c);
  return el;
}

/** Plot size in SVG units; the element scales to its container's width. */
const W = 720;
const H = 170;
const M = { left: 64, right: 12, top: 10, bottom: 24 };

/** The radius of a trace's point: 3 for a lone span, growing slowly to 9. */
export function pointRadius(spans: number): number {
  return Math.min(9, 3 + Math.log2(Math.max(1, spans)));
}

/** The round step (1, 2 or 5 times a power of ten) at or above raw. */
export function niceStep(raw: number): number {
  const p = 10 ** Math.floor(Math.log10(raw));
  for (const m of [1, 2, 5, 10]) if (m * p >= raw) return m * p;
  return 10 * p;
}

/** Draws traces as a scatter plot of duration over start time. */
export function traceScatter(traces: TraceSummary[]): HTMLElement {
  const box = h("figure", { class: "trace-scatter", "aria-label": "Traces by start time and duration" });
  if (!traces.length) return box;
  const pts = traces.map((t) => ({ t, x: Number(t.start_unix_nano) / 1e6, y: Number(t.duration_ns) }));
  let [x0, x1] = [Math.min(...pts.map((p) => p.x)), Math.max(...pts.map((p) => p.x))];
  if (x1 - x0 < 1000) [x0, x1] = [x0 - 500, x1 + 500]; // one instant: a second around it
  const pad = (x1 - x0) * 0.03; // points at the ends drawn whole
  [x0, x1] = [x0 - pad, x1 + pad];
  const step = niceStep(Math.max(...pts.map((p) => p.y), 1) / 4);
  const y1 = step * Math.max(1, Math.ceil((Math.max(...pts.map((p) => p.y)) * 1.05) / step));
  const sx = (x: number) => M.left + ((x - x0) / (x1 - x0)) * (W - M.left - M.right);
  const sy = (y: number) => H - M.bottom - (y / y1) * (H - M.top - M.bottom);

  const plot = svg("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": `${traces.length} traces by start time and duration` });
  // Axes: round durations on the left, five times below.
  for (let y = 0; y <= y1 + step / 2; y += step) {
    plot.append(
      svg("line", { x1: M.left, x2: W - M.right, y1: sy(y), y2: sy(y), class: "grid" }),
      svg("text", { x: M.left - 6, y: sy(y) + 3, "text-anchor": "end", class: "tick" }, y === 0 ? "0" : fmtNs(y)),
    );
  }
  for (let i = 0; i <= 4; i++) {
    const x = x0 + ((x1 - x0) * i) / 4;
    plot.append(svg("text", { x: sx(x), y: H - 6, "text-anchor": i === 0 ? "start" : i === 4 ? "end" : "middle", class: "tick" }, new Date(x).toLocaleTimeString()));
  }
  // Larger points first, so that small ones on top stay clickable.
  for (const p of [...pts].sort((a, b) => b.t.spans - a.t.spans)) {
    const t = p.t;
    const title = `${t.root_service} ${t.root_name} · ${fmtNs(t.duration_ns)} · ${t.spans} spans${t.errors ? ` · ${t.errors} errors` : ""}`;
    plot.append(
      svg(
        "a",
        { href: `#/traces/${encodeURIComponent(t.trace_id)}`, "aria-label": title, "data-trace": t.trace_id },
        svg("circle", { cx: sx(p.x).toFixed(1), cy: sy(p.y).toFixed(1), r: pointRadius(t.spans).toFixed(1), class: t.errors ? "failed" : "" }, svg("title", {}, title)),
      ),
    );
  }
  box.append(plot);
  return box;
}
