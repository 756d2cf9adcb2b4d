// The flame graph of one trace (an icicle: the roots on top): every span a
// box spanning its start and duration, under its parent, coloured by
// service as in the waterfall, failed spans in red. Spans that overlap in
// time (parallel calls) take rows of their own, so no box hides another.
// A trace of thousands of spans fits one screen; hovering a box names its
// span, and a click opens the span in the waterfall. Ctrl (or ⌘) and the
// wheel zoom into a stretch of time around the pointer, dragging pans it,
// and Reset zoom (or Escape) shows the whole trace again. Drawn on a
// canvas, so its cost is one pass over the spans per paint.

import { fmtNs, h } from "../dom";
import type { Span } from "../types";
import { childrenOf, errorColor, failed, traceBounds } from "./waterfall";

/** A span's box: its row and its start and end in ns from the trace's start. */
export interface FlameBox {
  span: Span;
  row: number;
  x0: number;
  x1: number;
}

/** The boxes of a trace's spans, by row and start, and its duration. */
export interface FlameLayout {
  boxes: FlameBox[];
  /** rows[r] are the boxes of row r, by start; they do not overlap. */
  rows: FlameBox[][];
  total: number;
}

/** The height of a row in CSS pixels. */
const rowHeight = 18;

/**
 * Lays the spans out: a span takes the first row under its parent's where
 * nothing overlaps it; spans whose parent is not in the trace are roots.
 * Each span is placed once, even in malformed traces (a span its own
 * ancestor).
 */
export function flameLayout(spans: Span[]): FlameLayout {
  const { start, end } = traceBounds(spans);
  const children = childrenOf(spans);
  const boxes: FlameBox[] = [];
  const rows: FlameBox[][] = [];
  /** Where a box of [x0, x1] goes in row r, or -1 if it overlaps one there. */
  const slot = (r: number, x0: number, x1: number): number => {
    const row = rows[r] ?? [];
    let lo = 0;
    let hi = row.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (row[mid]!.x0 < x0) lo = mid + 1;
      else hi = mid;
    }
    if (lo > 0 && row[lo - 1]!.x1 > x0) return -1;
    if (lo < row.length && row[lo]!.x0 < x1) return -1;
    return lo;
  };
  // Level by level, by start within a level: siblings that overlap stack
  // right under their parent before any of their children is placed, so
  // the graph stays about as deep as the trace.
  const placed = new Set<Span>();
  let level: [Span, number][] = (children.get("") ?? []).map((s) => [s, -1]);
  while (level.length) {
    level.sort((a, b) => Number(a[0].start_unix_nano) - Number(b[0].start_unix_nano));
    const next: [Span, number][] = [];
    for (const [s, parentRow] of level) {
      if (placed.has(s)) continue;
      placed.add(s);
      const x0 = Number(s.start_unix_nano) - start;
      const x1 = x0 + Number(s.duration_ns);
      let r = parentRow + 1;
      let at = slot(r, x0, x1);
      while (at < 0) at = slot(++r, x0, x1);
      const box = { span: s, row: r, x0, x1 };
      boxes.push(box);
      (rows[r] ??= []).splice(at, 0, box);
      for (const c of children.get(s.span_id) ?? []) if (!placed.has(c)) next.push([c, r]);
    }
    level = next;
  }
  return { boxes, rows, total: Math.max(1, end - start) };
}

/** The box of row under x (ns), or within slack of it. */
function boxAt(row: FlameBox[] | undefined, x: number, slack: number): FlameBox | undefined {
  let best: FlameBox | undefined;
  for (const b of row ?? []) {
    if (b.x0 - slack > x) break;
    if (x <= b.x1 + slack) best = b; // the last that starts before x: boxes of a row do not overlap
  }
  return best;
}

/** The canvas of a flame graph, with what tests and the page ask of it. */
export interface FlameCanvas extends HTMLCanvasElement {
  /** The client coordinates of the middle of a span's box, if it is drawn. */
  boxCenter(spanId: string): { x: number; y: number } | null;
  /** The boxes drawn at the last paint. */
  drawn(): number;
  /** How long laying the boxes out took, and the last paint, in ms. */
  layoutMs(): number;
  paintMs(): number;
  /** The span under client coordinates, if any (what a click opens). */
  spanAt(x: number, y: number): string | null;
  /** The spans marked (the others faded), or null for none. */
  marked(): Set<string> | null;
  /** The stretch of the trace shown, in ns from its start. */
  view(): [number, number];
}

/** The flame graph's element, which can mark spans (the find box's). */
export interface FlameGraph extends HTMLElement {
  /** Marks these spans, the others faded; null marks none. */
  mark(ids: Set<string> | null): void;
}

/**
 * Draws the trace's flame graph; colorOf gives a service's colour (the
 * waterfall's), pick is called with a span's id when its box is clicked.
 */
export function flameGraph(spans: Span[], colorOf: (service: string) => string, pick: (spanId: string) => void): FlameGraph {
  if (!spans.length) return Object.assign(h("p", { class: "muted" }, "No spans."), { mark: () => {} });
  const t0 = performance.now();
  const layout = flameLayout(spans);
  const layoutMs = performance.now() - t0;
  let paintMs = 0;
  let marked: Set<string> | null = null;
  const canvas = h("canvas", { id: "flame", class: "flame", role: "img", tabindex: 0, "aria-label": `Flame graph of ${spans.length} spans` }) as FlameCanvas;
  const tip = h("div", { class: "flame-tip", hidden: true, role: "tooltip" });
  // The tooltip sits beside the scrolling box, not in it: in it, it could
  // lengthen the box's content and bring a scroll bar that narrows it.
  const box = h("div", { class: "flame-box" }, canvas);
  const frame = h("div", { class: "flame-frame" }, box, tip);
  let width = 0;
  let drawn = 0;
  const height = layout.rows.length * rowHeight;
  // The stretch of time shown, [v0, v1] in ns from the trace's start.
  let v0 = 0;
  let v1 = layout.total;
  const reset = h("button", { type: "button", class: "flame-reset", hidden: true, title: "Show the whole trace (Escape)" }, "Reset zoom") as HTMLButtonElement;

  const paint = () => {
    width = box.clientWidth;
    if (!width) return; // hidden: painted when shown
    const p0 = performance.now();
    const dpr = window.devicePixelRatio || 1;
    canvas.width = Math.round(width * dpr);
    canvas.height = Math.round(height * dpr);
    canvas.style.width = `${width}px`;
    canvas.style.height = `${height}px`;
    const ctx = canvas.getContext("2d");
    if (!ctx) return;
    ctx.scale(dpr, dpr);
    ctx.font = "11px system-ui, sans-serif";
    ctx.textBaseline = "middle";
    const scale = width / (v1 - v0);
    drawn = 0;
    for (const b of layout.boxes) {
      if (b.x1 < v0 || b.x0 > v1) continue; // outside the stretch shown
      const x = (b.x0 - v0) * scale;
      const w = Math.max(1, (b.x1 - b.x0) * scale);
      const y = b.row * rowHeight;
      ctx.globalAlpha = marked && !marked.has(b.span.span_id) ? 0.2 : 1;
      ctx.fillStyle = failed(b.span) ? errorColor : colorOf(b.span.service);
      ctx.fillRect(x, y + 1, Math.max(0.5, w - 0.5), rowHeight - 2);
      drawn++;
      // A label where it fits: the service and the operation, clipped
      // (to the canvas too, for a box that starts left of the stretch).
      const lx = Math.max(x, 0);
      const lw = Math.min(x + w, width) - lx;
      if (lw > 28) {
        ctx.save();
        ctx.beginPath();
        ctx.rect(lx + 3, y, lw - 6, rowHeight);
        ctx.clip();
        ctx.fillStyle = "#212529";
        ctx.fillText(`${b.span.service} ${b.span.name}`, lx + 3, y + rowHeight / 2);
        ctx.restore();
      }
    }
    paintMs = performance.now() - p0;
  };
  new ResizeObserver(() => {
    if (box.clientWidth !== width) paint();
  }).observe(box);

  /** The time (ns from the trace's start) under a client x. */
  const timeAt = (clientX: number): number => v0 + ((clientX - canvas.getBoundingClientRect().left) / width) * (v1 - v0);
  /** The box under a pointer, if any. */
  const hit = (ev: { clientX: number; clientY: number }): FlameBox | undefined => {
    const r = canvas.getBoundingClientRect();
    if (!width) return undefined;
    // Boxes under a pixel wide are hit within a pixel of them.
    return boxAt(layout.rows[Math.floor((ev.clientY - r.top) / rowHeight)], timeAt(ev.clientX), (v1 - v0) / width);
  };
  /** Shows [a, b] (clamped to the trace, at least a microsecond wide). */
  const show = (a: number, b: number) => {
    const span = Math.min(layout.total, Math.max(b - a, Math.min(1000, layout.total)));
    a = Math.min(Math.max(0, a), layout.total - span);
    v0 = a;
    v1 = a + span;
    reset.hidden = v0 <= 0 && v1 >= layout.total;
    paint();
  };
  reset.addEventListener("click", () => show(0, layout.total));
  // Ctrl or ⌘ and the wheel zoom around the pointer; the wheel alone
  // scrolls the page.
  canvas.addEventListener(
    "wheel",
    (ev) => {
      if (!(ev.ctrlKey || ev.metaKey) || !width) return;
      ev.preventDefault();
      const at = timeAt(ev.clientX);
      const f = Math.exp(Math.max(-1, Math.min(1, ev.deltaY / 200)));
      show(at - (at - v0) * f, at + (v1 - at) * f);
    },
    { passive: false },
  );
  // Dragging pans; a drag is no click. The window's listeners live as
  // long as the drag.
  let drag: { x: number; v0: number; moved: boolean } | null = null;
  const move = (ev: MouseEvent) => {
    if (!drag || !width) return;
    const dx = ev.clientX - drag.x;
    if (Math.abs(dx) > 3) drag.moved = true;
    const shift = (dx / width) * (v1 - v0);
    if (drag.moved) show(drag.v0 - shift, drag.v0 - shift + (v1 - v0));
  };
  const up = () => {
    window.removeEventListener("mousemove", move);
    window.removeEventListener("mouseup", up);
    // The click that follows a drag's mouseup reads drag.moved first.
    setTimeout(() => (drag = null));
  };
  canvas.addEventListener("mousedown", (ev) => {
    if (ev.button !== 0) return;
    drag = { x: ev.clientX, v0, moved: false };
    window.addEventListener("mousemove", move);
    window.addEventListener("mouseup", up);
  });
  canvas.addEventListener("keydown", (ev) => {
    if (ev.key === "Escape" && !reset.hidden) {
      ev.stopPropagation();
      show(0, layout.total);
    }
  });
  canvas.addEventListener("mousemove", (ev) => {
    const b = hit(ev);
    canvas.style.cursor = b ? "pointer" : "default";
    if (!b) {
      tip.hidden = true;
      return;
    }
    const s = b.span;
    tip.textContent = `${s.service} ${s.name} · ${fmtNs(s.duration_ns)}${failed(s) ? " · failed" : ""}`;
    tip.hidden = false;
    const r = frame.getBoundingClientRect();
    tip.style.left = `${Math.min(ev.clientX - r.left + 12, Math.max(0, width - tip.offsetWidth))}px`;
    tip.style.top = `${ev.clientY - r.top + 14}px`;
  });
  canvas.addEventListener("mouseleave", () => (tip.hidden = true));
  canvas.addEventListener("click", (ev) => {
    if (drag?.moved) return;
    const b = hit(ev);
    if (b) pick(b.span.span_id);
  });
  canvas.boxCenter = (spanId) => {
    const b = layout.boxes.find((x) => x.span.span_id === spanId);
    if (!b || !width || b.x1 < v0 || b.x0 > v1) return null;
    const r = canvas.getBoundingClientRect();
    const scale = width / (v1 - v0);
    const mid = (Math.max(b.x0, v0) + Math.min(b.x1, v1)) / 2;
    return { x: r.left + (mid - v0) * scale, y: r.top + b.row * rowHeight + rowHeight / 2 };
  };
  canvas.view = () => [v0, v1];
  canvas.drawn = () => drawn;
  canvas.layoutMs = () => layoutMs;
  canvas.paintMs = () => paintMs;
  canvas.spanAt = (x, y) => hit({ clientX: x, clientY: y })?.span.span_id ?? null;
  canvas.marked = () => marked;
  const n = layout.rows.length;
  const el = h(
    "div",
    { class: "flame-graph" },
    h(
      "p",
      { class: "muted" },
      `${spans.length} spans in ${n} row${n === 1 ? "" : "s"}, ${fmtNs(layout.total)}; a box opens its span in the waterfall; Ctrl+wheel zooms, dragging pans `,
      reset,
    ),
    frame,
  );
  const mark = (ids: Set<string> | null) => {
    marked = ids;
    paint();
  };
  return Object.assign(el, { mark });
}
