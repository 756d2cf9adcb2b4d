// Trace search and a waterfall of one trace.

import { getJSON } from "../api";
import { fmtNs, fmtUnixNano, h } from "../dom";
import type { Span, TraceDetail, TraceSummary } from "../types";
import { errorBox, field, sortableTable } from "./common";

/** Renders the trace search page, or a trace when id is set. */
export function renderTraces(root: HTMLElement, id: string, params: Record<string, string>): void {
  if (id) {
    void renderTrace(root, id);
    return;
  }
  const service = h("input", { name: "service", value: params["service"] ?? "", placeholder: "any" });
  const minDur = h("input", { name: "min_duration", value: params["min_duration"] ?? "", placeholder: "e.g. 200ms" });
  const from = h("input", { name: "from", value: params["from"] ?? "now-1h" });
  const to = h("input", { name: "to", value: params["to"] ?? "now" });
  const errOnly = h("input", { type: "checkbox", name: "error" });
  errOnly.checked = params["error"] === "true";
  const limit = h("input", { name: "limit", type: "number", value: params["limit"] ?? "50", min: 1, max: 1000 });
  const out = h("div", { "aria-live": "polite" });
  const search = async () => {
    out.replaceChildren(h("p", { class: "muted" }, "Searching…"));
    try {
      const r = await getJSON<{ traces: TraceSummary[] | null }>("traces", {
        service: service.value,
        from: from.value,
        to: to.value,
        min_duration: minDur.value,
        error: errOnly.checked ? "true" : undefined,
        limit: limit.value,
      });
      out.replaceChildren(
        sortableTable(
          "Traces",
          [
            { key: "start", label: "Start", value: (t) => Number(t.start_unix_nano), render: (t) => fmtUnixNano(t.start_unix_nano) },
            { key: "root", label: "Root", value: (t) => `${t.root_service} ${t.root_name}` },
            { key: "dur", label: "Duration", value: (t) => Number(t.duration_ns), render: (t) => fmtNs(t.duration_ns), numeric: true },
            { key: "spans", label: "Spans", value: (t) => t.spans, numeric: true },
            { key: "errors", label: "Errors", value: (t) => t.errors, numeric: true },
            { key: "id", label: "Trace id", value: (t) => t.trace_id, render: (t) => h("a", { href: `#/traces/${encodeURIComponent(t.trace_id)}` }, t.trace_id.slice(0, 16)) },
          ],
          r.traces ?? [],
          { onRow: (t) => (location.hash = `#/traces/${encodeURIComponent(t.trace_id)}`) },
        ),
      );
    } catch (err) {
      out.replaceChildren(errorBox(err));
    }
  };
  const form = h(
    "form",
    { class: "toolbar wrap", onsubmit: (ev: Event) => (ev.preventDefault(), void search()) },
    field("Service", service),
    field("Min duration", minDur),
    field("From", from),
    field("To", to),
    field("Errors only", errOnly),
    field("Limit", limit),
    h("button", { type: "submit", class: "primary" }, "Search"),
  );
  root.replaceChildren(h("h1", {}, "Traces"), form, out);
  void search();
}

async function renderTrace(root: HTMLElement, id: string): Promise<void> {
  root.replaceChildren(h("p", { class: "muted" }, "Loading trace…"));
  try {
    const t = await getJSON<TraceDetail>(`traces/${encodeURIComponent(id)}`);
    root.replaceChildren(h("p", {}, h("a", { href: "#/traces" }, "← Traces")), h("h1", {}, "Trace ", h("code", {}, t.trace_id)), waterfall(t.spans ?? []));
  } catch (err) {
    root.replaceChildren(h("p", {}, h("a", { href: "#/traces" }, "← Traces")), errorBox(err));
  }
}

/** Draws spans as a waterfall, children under their parents. */
export function waterfall(spans: Span[]): HTMLElement {
  if (!spans.length) return h("p", { class: "muted" }, "No spans.");
  const start = Math.min(...spans.map((s) => Number(s.start_unix_nano)));
  const end = Math.max(...spans.map((s) => Number(s.start_unix_nano) + Number(s.duration_ns)));
  const total = Math.max(1, end - start);
  const ids = new Set(spans.map((s) => s.span_id));
  const children = new Map<string, Span[]>();
  for (const s of spans) {
    const p = s.parent_span_id && ids.has(s.parent_span_id) ? s.parent_span_id : "";
    const list = children.get(p) ?? [];
    list.push(s);
    children.set(p, list);
  }
  for (const list of children.values()) list.sort((a, b) => Number(a.start_unix_nano) - Number(b.start_unix_nano));
  const list = h("ol", { class: "waterfall", "aria-label": "Spans" });
  const detail = h("div", { class: "span-detail" });
  const add = (s: Span, depth: number) => {
    const left = ((Number(s.start_unix_nano) - start) / total) * 100;
    const width = Math.max(0.3, (Number(s.duration_ns) / total) * 100);
    const isErr = String(s.status_code).toLowerCase().includes("error") || s.status_code === 2;
    const row = h(
      "li",
      { tabindex: 0, class: isErr ? "err" : "" },
      h("span", { class: "wf-name", style: `padding-left:${depth * 14}px` }, h("strong", {}, s.service), " ", s.name),
      h("span", { class: "wf-track" }, h("span", { class: "wf-bar", style: `left:${left}%;width:${width}%` }), h("span", { class: "wf-dur" }, fmtNs(s.duration_ns))),
    );
    const show = () => {
      detail.replaceChildren(h("h3", {}, `${s.service}: ${s.name}`), h("pre", {}, JSON.stringify({ ...s }, null, 2)));
    };
    row.addEventListener("click", show);
    row.addEventListener("keydown", (ev) => ev.key === "Enter" && show());
    list.append(row);
    for (const c of children.get(s.span_id) ?? []) add(c, depth + 1);
  };
  for (const r of children.get("") ?? []) add(r, 0);
  return h("div", { class: "trace" }, h("p", { class: "muted" }, `${spans.length} spans, ${fmtNs(total)}`), list, detail);
}
