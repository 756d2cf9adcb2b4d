// The waterfall of one trace: spans as bars on a common time axis, children
// under their parents (a span's subtree folds away), a colour per service,
// failed spans in red, the critical path marked under the bars, and a
// span's details (status, attributes, resource, events, log records) opened
// under its row.

import { fmtNs, h } from "../dom";
import { rfc3339 } from "../state";
import type { Span } from "../types";
import { criticalPath, type Section } from "./criticalpath";
import { logsHref, severityName, type LogRecord } from "./logs";

/** Bar colours of the services of a trace, in order of first appearance. */
const serviceColors = ["#4dabf7", "#9775fa", "#38d9a9", "#ffa94d", "#f783ac", "#66d9e8", "#a9e34b", "#ffd43b", "#748ffc", "#63e6be", "#e599f7", "#ced4da"];

/** The colour of failed spans, whatever their service. */
export const errorColor = "#e03131";

/**
 * A trace's service colours, handed out in the order services are first
 * asked for: the waterfall and the flame graph of a trace share one.
 */
export function newColorer(): (service: string) => string {
  const colors = new Map<string, string>();
  return (service: string) => {
    let c = colors.get(service);
    if (!c) {
      c = serviceColors[colors.size % serviceColors.length]!;
      colors.set(service, c);
    }
    return c;
  };
}

/** The waterfall's element, which can bring a span's row into view. */
export interface Waterfall extends HTMLElement {
  /**
   * Shows the span's row (unfolding the spans above it), opens its
   * details, scrolls to it and focuses it; false if the span is not in
   * the trace.
   */
  reveal(spanId: string): boolean;
  /** How long building it took, in ms. */
  buildMs: number;
}

/** Whether a span failed (status error). */
export function failed(s: Span): boolean {
  return String(s.status_code).toLowerCase().includes("error") || s.status_code === 2;
}

/**
 * The log records of a trace by span id, filled when they arrive: a span's
 * details opened after that list its records.
 */
export type SpanLogs = Map<string, LogRecord[]>;

/** The spans under each span id ("" holds the roots: no parent in the trace, or a parent that is the span itself). */
export function childrenOf(spans: Span[]): Map<string, Span[]> {
  const ids = new Set(spans.map((s) => s.span_id));
  const children = new Map<string, Span[]>();
  for (const s of spans) {
    const p = s.parent_span_id && s.parent_span_id !== s.span_id && ids.has(s.parent_span_id) ? s.parent_span_id : "";
    const list = children.get(p) ?? [];
    list.push(s);
    children.set(p, list);
  }
  for (const list of children.values()) list.sort((a, b) => Number(a.start_unix_nano) - Number(b.start_unix_nano));
  return children;
}

/**
 * When a trace's first span starts and its last ends (ns); a loop, not
 * Math.min(...spans): spreading a trace of 150,000 spans overflows the
 * stack.
 */
export function traceBounds(spans: Span[]): { start: number; end: number } {
  let start = Infinity;
  let end = -Infinity;
  for (const s of spans) {
    const t = Number(s.start_unix_nano);
    start = Math.min(start, t);
    end = Math.max(end, t + Number(s.duration_ns));
  }
  return { start, end };
}

/** Draws spans as a waterfall, children under their parents. */
export function waterfall(spans: Span[], logs: SpanLogs = new Map(), colorOf = newColorer()): Waterfall {
  const t0 = performance.now();
  if (!spans.length) return Object.assign(h("p", { class: "muted" }, "No spans."), { reveal: () => false, buildMs: 0 });
  const { start, end } = traceBounds(spans);
  const total = Math.max(1, end - start);

  const children = childrenOf(spans);

  // The critical path of the longest root's trace, by span.
  const roots = children.get("") ?? [];
  const longest = roots.reduce<Span | undefined>((a, s) => (!a || Number(s.duration_ns) > Number(a.duration_ns) ? s : a), undefined);
  const critical = new Map<string, Section[]>();
  for (const sec of longest ? criticalPath(longest, children) : []) {
    const list = critical.get(sec.spanId) ?? [];
    list.push(sec);
    critical.set(sec.spanId, list);
  }

  const services = new Set(spans.map((s) => s.service));

  /** A span's row, its details when open, and the spans under it. */
  interface Node {
    row: HTMLElement;
    detail: HTMLElement | null;
    kids: Node[];
    collapsed: boolean;
    parent: Node | null;
    /** Opens the details, or closes them. */
    toggle: () => void;
    /** Shows the spans under this one if they are folded away. */
    unfold: () => void;
  }
  const nodes = new Map<string, Node>();
  /** Shows or hides the rows under n, leaving folded subtrees folded. */
  const showUnder = (n: Node, visible: boolean) => {
    for (const k of n.kids) {
      k.row.hidden = !visible;
      if (k.detail) k.detail.hidden = !visible;
      showUnder(k, visible && !k.collapsed);
    }
  };
  const countUnder = (n: Node): number => n.kids.reduce((sum, k) => sum + 1 + countUnder(k), 0);

  const list = h("ol", { class: "waterfall", "aria-label": "Spans" });
  const added = new Set<Span>();
  const add = (s: Span, depth: number, parent: Node | null): Node => {
    const left = ((Number(s.start_unix_nano) - start) / total) * 100;
    const width = Math.max(0.3, (Number(s.duration_ns) / total) * 100);
    const err = failed(s);
    const exc = exceptionOf(s);
    const color = colorOf(s.service);
    const row = h(
      "li",
      { tabindex: 0, class: `wf-span${err ? " err" : ""}`, "data-span": s.span_id, "aria-expanded": "false" },
      h(
        "span",
        { class: "wf-name", style: `padding-left:${depth * 14}px` },
        h("span", { class: "wf-fold-slot" }),
        h("span", { class: "wf-swatch", style: `background:${color}`, "aria-hidden": "true" }),
        h("strong", {}, s.service),
        " ",
        s.name,
        err ? h("span", { class: "wf-err", title: "failed" }, " ✕") : "",
        exc ? h("span", { class: "wf-exc", title: exc.message }, ` ⚠ ${exc.type || "exception"}`) : "",
      ),
      h(
        "span",
        { class: "wf-track" },
        h("span", { class: "wf-bar", style: `left:${left}%;width:${width}%;background:${err ? errorColor : color}` }),
        // Its stretches on the critical path, under the bar.
        ...(critical.get(s.span_id) ?? []).map((sec) =>
          h("span", {
            class: "wf-crit",
            title: `critical path: ${fmtNs(sec.end - sec.start)}`,
            style: `left:${((sec.start - start) / total) * 100}%;width:${Math.max(0.2, ((sec.end - sec.start) / total) * 100)}%`,
          }),
        ),
      ),
      h("span", { class: "wf-dur" }, fmtNs(s.duration_ns)),
    );
    const node: Node = { row, detail: null, kids: [], collapsed: false, parent, toggle: () => {}, unfold: () => {} };
    nodes.set(s.span_id, node);
    const toggle = () => {
      if (node.detail) {
        node.detail.remove();
        node.detail = null;
        row.setAttribute("aria-expanded", "false");
        return;
      }
      node.detail = spanDetail(s, Number(s.start_unix_nano) - start, logs.get(s.span_id) ?? []);
      row.after(node.detail);
      row.setAttribute("aria-expanded", "true");
    };
    node.toggle = toggle;
    row.addEventListener("click", toggle);
    row.addEventListener("keydown", (ev) => {
      if (ev.key === "Enter" || ev.key === " ") {
        ev.preventDefault();
        toggle();
      }
    });
    list.append(row);
    // A span listed once: malformed traces (a span that is its own parent,
    // span ids used twice) would otherwise recurse without end.
    added.add(s);
    for (const c of children.get(s.span_id) ?? []) if (!added.has(c)) node.kids.push(add(c, depth + 1, node));
    if (node.kids.length) {
      // A button folds the spans under this one away, and back.
      const under = countUnder(node);
      const fold = h("button", { type: "button", class: "wf-fold", "aria-expanded": "true" });
      const label = () => {
        fold.textContent = node.collapsed ? "▸" : "▾";
        fold.setAttribute("aria-expanded", String(!node.collapsed));
        fold.setAttribute("aria-label", `${node.collapsed ? "Show" : "Hide"} the ${under} span${under === 1 ? "" : "s"} under ${s.service} ${s.name}`);
      };
      label();
      fold.addEventListener("click", (ev) => {
        ev.stopPropagation();
        node.collapsed = !node.collapsed;
        label();
        showUnder(node, !node.collapsed);
      });
      node.unfold = () => {
        if (!node.collapsed) return;
        node.collapsed = false;
        label();
        showUnder(node, true);
      };
      fold.addEventListener("keydown", (ev) => ev.stopPropagation());
      row.querySelector(".wf-fold-slot")!.append(fold);
    }
    return node;
  };
  for (const r of children.get("") ?? []) add(r, 0, null);

  const errors = spans.filter(failed).length;
  const onPath = critical.size;
  const summary =
    `${spans.length} spans, ${services.size} service${services.size === 1 ? "" : "s"}, ${fmtNs(total)}${errors ? `, ${errors} failed` : ""}` +
    (onPath ? `; critical path (marked under the bars) through ${onPath} span${onPath === 1 ? "" : "s"}` : "");
  const el = h("div", { class: "trace" }, h("p", { class: "muted" }, summary), axis(total), list);
  const reveal = (spanId: string): boolean => {
    const n = nodes.get(spanId);
    if (!n) return false;
    const above: Node[] = [];
    for (let a = n.parent; a; a = a.parent) above.unshift(a);
    for (const a of above) a.unfold();
    if (!n.detail) n.toggle();
    n.row.scrollIntoView({ block: "center" });
    n.row.focus({ preventScroll: true });
    return true;
  };
  return Object.assign(el, { reveal, buildMs: performance.now() - t0 });
}

/** The time axis above the bars: ticks at each quarter of the trace. */
function axis(total: number): HTMLElement {
  const ticks = h("span", { class: "wf-track wf-ticks" });
  for (let i = 0; i <= 4; i++) {
    ticks.append(h("span", { class: "wf-tick", style: `left:${i * 25}%` }, fmtNs((total * i) / 4)));
  }
  return h("div", { class: "wf-axis", "aria-hidden": "true" }, h("span", { class: "wf-name muted" }, "Service and operation"), ticks, h("span", { class: "wf-dur muted" }, "Duration"));
}

/** A span's details, shown under its row, with its log records. */
function spanDetail(s: Span, offset: number, records: LogRecord[]): HTMLElement {
  const facts: [string, string][] = [
    ["Span id", s.span_id],
    ["Parent", s.parent_span_id || "–"],
    ["Kind", String(s.kind)],
    ["Status", `${s.status_code}${s.status_message ? `: ${s.status_message}` : ""}`],
    ["Starts at", `+${fmtNs(offset)}`],
    ["Duration", fmtNs(s.duration_ns)],
  ];
  if (s.namespace) facts.splice(0, 0, ["Namespace", s.namespace]);
  const parts: (Node | string)[] = [
    h("dl", { class: "kv" }, ...facts.flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, v)])),
    h("p", {}, h("a", { href: logsHref(s.trace_id, Number(s.start_unix_nano), Number(s.start_unix_nano) + Number(s.duration_ns), s.span_id) }, "Logs of this span")),
  ];
  const table = (title: string, m: Record<string, unknown> | undefined) => {
    const keys = Object.keys(m ?? {}).sort();
    if (!keys.length) return;
    parts.push(
      h("h4", {}, title),
      h(
        "table",
        { class: "data kv-table", "aria-label": title },
        h("tbody", {}, ...keys.map((k) => h("tr", {}, h("th", { scope: "row" }, k), h("td", {}, valueText(m![k]))))),
      ),
    );
  };
  table("Attributes", s.attributes);
  table("Resource", s.resource);
  if (s.events?.length) {
    parts.push(
      h("h4", {}, "Events (time from the span's start)"),
      h(
        "ul",
        { class: "wf-events" },
        ...s.events.map((e) => {
          const at = h("strong", {}, `+${fmtNs(Number(e.time_unix_nano) - Number(s.start_unix_nano))} `);
          const x = e.name === "exception" ? exceptionAttrs(e.attributes) : null;
          if (!x) return h("li", {}, at, e.name, " ", h("code", {}, valueText(e.attributes)));
          // An exception reads as its type, message and stack trace, and
          // leads to the others of its kind around the trace's time.
          const around = Math.floor(Number(e.time_unix_nano) / 1e9);
          const others = new URLSearchParams({ service: s.service, type: x.type, from: rfc3339(around - 3600), to: rfc3339(around + 3600) });
          return h(
            "li",
            { class: "wf-exception" },
            at,
            "exception ",
            h("code", {}, x.type || "(no type)"),
            x.message ? `: ${x.message}` : "",
            x.type ? h("a", { class: "wf-exc-others", href: `#/exceptions?${others.toString()}` }, `all of ${s.service}'s ${x.type}`) : "",
            x.stacktrace ? h("pre", { class: "log-body-full stacktrace" }, x.stacktrace) : "",
          );
        }),
      ),
    );
  }
  if (records.length) {
    parts.push(
      h("h4", {}, `Logs (${records.length})`),
      h(
        "ul",
        { class: "wf-logs" },
        ...records.map((r) =>
          h(
            "li",
            {},
            h("strong", {}, `+${fmtNs(r.time_unix_nano - Number(s.start_unix_nano))} `),
            h("span", { class: `sev sev-${severityName(r.severity_number).toLowerCase()}` }, r.severity_text || severityName(r.severity_number)),
            " ",
            r.body,
          ),
        ),
      ),
    );
  }
  return h("li", { class: "wf-detail", "aria-label": `Details of ${s.service}: ${s.name}` }, ...parts);
}

/** An exception event's type, message and stack trace. */
interface ExceptionAttrs {
  type: string;
  message: string;
  stacktrace: string;
}

function exceptionAttrs(attrs: unknown): ExceptionAttrs {
  const m = (attrs && typeof attrs === "object" ? attrs : {}) as Record<string, unknown>;
  const str = (k: string) => (typeof m[k] === "string" ? (m[k] as string) : "");
  return { type: str("exception.type"), message: str("exception.message"), stacktrace: str("exception.stacktrace") };
}

/** The first exception a span recorded, if any. */
function exceptionOf(s: Span): ExceptionAttrs | null {
  const e = s.events?.find((ev) => ev.name === "exception");
  return e ? exceptionAttrs(e.attributes) : null;
}

function valueText(v: unknown): string {
  if (v === null || v === undefined) return "";
  return typeof v === "object" ? JSON.stringify(v) : String(v);
}
