// Trace search and a waterfall of one trace.

import { getJSON } from "../api";
import { download, fmtNs, fmtUnixNano, h } from "../dom";
import type { Span, TraceDetail, TraceSummary } from "../types";
import { errorBox, field, logfmtPairs, sortableTable } from "./common";
import { logfmtValue, logsHref, traceLogsQuery, type LogRecord } from "./logs";
import { spanMetricsPanel } from "./querychart";
import { traceScatter } from "./tracescatter";
import { compareCounts, compareTraces, compareTree, statColumns, traceStats } from "./tracestats";
import { differencesBar, isDiffSelect, renderDifferences, type DiffSelect } from "./differences";
import { flameGraph } from "./flamegraph";
import { newColorer, traceBounds, waterfall, type SpanLogs } from "./waterfall";

/**
 * The tags field's key=value pairs as the API's tags JSON; undefined when
 * empty.
 */
export function tagsJSON(text: string): string | undefined {
  const out = logfmtPairs(text, "tags");
  return Object.keys(out).length ? JSON.stringify(out) : undefined;
}

/** Renders the trace search page, or a trace when id is set. */
export function renderTraces(root: HTMLElement, id: string, params: Record<string, string>): void {
  if (id && params["compare"]) {
    void renderCompare(root, id, params["compare"]);
    return;
  }
  if (id) {
    const view = params["view"];
    void renderTrace(root, id, view === "stats" || view === "flame" ? view : "waterfall");
    return;
  }
  const service = h("input", { name: "service", value: params["service"] ?? "", placeholder: "any", list: "trace-services", autocomplete: "off" });
  // The services the graph knows, offered as the field is typed in.
  const services = h("datalist", { id: "trace-services" });
  void getJSON<{ services: { name: string }[] | null }>("services")
    .then((r) => services.replaceChildren(...[...new Set((r.services ?? []).map((s) => s.name).filter(Boolean))].sort().map((n) => h("option", { value: n }))))
    .catch(() => undefined);
  // The chosen service's operations, offered in the operation field.
  const operation = h("input", { name: "operation", value: params["operation"] ?? "", placeholder: "any", list: "trace-operations", autocomplete: "off" });
  const operations = h("datalist", { id: "trace-operations" });
  let opsFor = "";
  const loadOperations = () => {
    const svc = service.value.trim();
    if (svc === opsFor) return;
    opsFor = svc;
    operations.replaceChildren();
    if (!svc) return;
    void getJSON<{ operations: { name: string }[] | null }>("traces/operations", { service: svc, from: from.value, to: to.value, limit: "200" })
      .then((r) => {
        if (opsFor === svc) operations.replaceChildren(...(r.operations ?? []).map((o) => h("option", { value: o.name })));
      })
      .catch(() => undefined);
  };
  service.addEventListener("change", loadOperations);
  operation.addEventListener("focus", loadOperations);
  const tags = h("input", { name: "tags", value: params["tags"] ?? "", placeholder: 'http.route=/cart error=true', size: 28 });
  const exception = h("input", { name: "exception", value: params["exception"] ?? "", placeholder: "type, * for any", size: 20 });
  // A TraceQL query the traces answer, as Tempo's search reads it.
  const traceql = h("input", { name: "traceql", value: params["traceql"] ?? "", placeholder: '{ span.http.status_code >= 500 } | count() > 1', size: 40, autocomplete: "off" });
  const minDur = h("input", { name: "min_duration", value: params["min_duration"] ?? "", placeholder: "e.g. 200ms" });
  const maxDur = h("input", { name: "max_duration", value: params["max_duration"] ?? "", placeholder: "e.g. 2s" });
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
        operation: operation.value,
        tags: tagsJSON(tags.value),
        exception: exception.value.trim(),
        traceql: traceql.value.trim() || undefined,
        from: from.value,
        to: to.value,
        min_duration: minDur.value,
        max_duration: maxDur.value,
        error: errOnly.checked ? "true" : undefined,
        limit: limit.value,
      });
      // Two traces ticked: compared.
      const chosen: string[] = [];
      const compareBtn = h("button", { type: "button", id: "compare-chosen", disabled: true }, "Compare 2 ticked traces") as HTMLButtonElement;
      compareBtn.addEventListener("click", () => {
        if (chosen.length === 2) location.hash = `#/traces/${encodeURIComponent(chosen[0]!)}?compare=${encodeURIComponent(chosen[1]!)}`;
      });
      const tick = (t: TraceSummary) => {
        const box = h("input", { type: "checkbox", "aria-label": `Compare trace ${t.trace_id}` }) as HTMLInputElement;
        box.checked = chosen.includes(t.trace_id);
        box.addEventListener("click", (ev) => ev.stopPropagation());
        box.addEventListener("change", () => {
          const i = chosen.indexOf(t.trace_id);
          if (box.checked && i < 0) chosen.push(t.trace_id);
          if (!box.checked && i >= 0) chosen.splice(i, 1);
          compareBtn.disabled = chosen.length !== 2;
        });
        return box;
      };
      out.replaceChildren(
        traceScatter(r.traces ?? []),
        h("div", { class: "toolbar wrap" }, compareBtn),
        sortableTable(
          "Traces",
          [
            { key: "start", label: "Start", value: (t) => Number(t.start_unix_nano), render: (t) => fmtUnixNano(t.start_unix_nano) },
            { key: "root", label: "Root", value: (t) => `${t.root_service} ${t.root_name}` },
            { key: "dur", label: "Duration", value: (t) => Number(t.duration_ns), render: (t) => fmtNs(t.duration_ns), numeric: true },
            { key: "spans", label: "Spans", value: (t) => t.spans, numeric: true },
            { key: "errors", label: "Errors", value: (t) => t.errors, numeric: true },
            { key: "id", label: "Trace id", value: (t) => t.trace_id, render: (t) => h("a", { href: `#/traces/${encodeURIComponent(t.trace_id)}` }, t.trace_id.slice(0, 16)) },
            { key: "compare", label: "Compare", value: (t) => (chosen.includes(t.trace_id) ? 1 : 0), render: tick },
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
    field("Operation", operation),
    field("Tags", tags),
    field("Exception", exception),
    field("TraceQL", traceql),
    field("Min duration", minDur),
    field("Max duration", maxDur),
    field("From", from),
    field("To", to),
    field("Errors only", errOnly),
    field("Limit", limit),
    h("button", { type: "submit", class: "primary" }, "Search"),
  );
  // What the service's failing or slow calls share that its others do not,
  // or what changed since the range before.
  const diffBox = h("section", { class: "differences", "aria-live": "polite" });
  const differences = (select: DiffSelect) => {
    const svc = service.value.trim();
    if (!svc) {
      diffBox.replaceChildren(h("p", { class: "muted" }, "Pick a service first: its calls are compared."));
      return;
    }
    const q: Record<string, string> = { ...params, service: svc, operation: operation.value.trim(), from: from.value, to: to.value, diff: select };
    history.replaceState(null, "", `#/traces?${new URLSearchParams(Object.entries(q).filter(([, v]) => v)).toString()}`);
    const op = operation.value.trim();
    void renderDifferences(diffBox, {
      endpoint: "spans/differences",
      query: { service: svc, operation: op, from: from.value, to: to.value },
      select,
      subject: `of ${svc}${op ? ` ${op}` : ""}`,
      noun: "calls",
      // A value's traces: its tag (a span name is an operation), failed
      // or at least as slow.
      href: (key, value, d, range) => {
        const p: Record<string, string> = { service: svc, from: range?.from ?? from.value, to: range?.to ?? to.value };
        if (op) p["operation"] = op;
        if (key === "span.name") p["operation"] = value;
        else if (key === "k8s.workload") return null;
        else p["tags"] = `${key}=${logfmtValue(value)}`;
        if (d.select === "errors") p["error"] = "true";
        else if (d.select === "slow") p["min_duration"] = `${Math.floor((d.slow_ns ?? 0) / 1e6)}ms`;
        return `#/traces?${new URLSearchParams(p).toString()}`;
      },
    });
  };
  const diffBar = differencesBar("calls", differences);
  // The matching spans' rate, errors or latency by any field.
  const metrics = spanMetricsPanel(() => ({ traceql: traceql.value, service: service.value.trim(), from: from.value, to: to.value }));
  root.replaceChildren(h("h1", {}, "Traces"), form, services, operations, diffBar, diffBox, metrics, out);
  void search();
  if (isDiffSelect(params["diff"])) differences(params["diff"]);
}

/** The views of a trace. */
type TraceView = "waterfall" | "flame" | "stats";

async function renderTrace(root: HTMLElement, id: string, view: TraceView): Promise<void> {
  root.replaceChildren(h("p", { class: "muted" }, "Loading trace…"));
  try {
    const t = await getJSON<TraceDetail>(`traces/${encodeURIComponent(id)}`);
    const spans = t.spans ?? [];
    const { start, end } = traceBounds(spans);
    const logs: SpanLogs = new Map();
    const colorOf = newColorer();
    const list = waterfall(spans, logs, colorOf);
    // A box of the flame graph opens its span in the waterfall.
    const flame = flameGraph(spans, colorOf, (spanId) => {
      show("waterfall");
      list.reveal(spanId);
    });
    const rows = traceStats(spans);
    const table = sortableTable("Trace statistics", statColumns(rows.reduce((n, r) => n + r.selfNs, 0)), rows, { id: "trace-stats" });
    const statsBox = h("div", { class: "scroll" }, table);
    // Waterfall, flame graph or statistics, the choice kept in the address.
    const views: Record<TraceView, HTMLElement> = { waterfall: list, flame, stats: statsBox };
    const tab = (label: string, v: TraceView) => h("button", { type: "button", id: `tab-${v}`, "aria-pressed": String(v === view), onclick: () => show(v) }, label);
    const tabs = h("span", { class: "group", role: "group", "aria-label": "Trace view" }, tab("Waterfall", "waterfall"), tab("Flame graph", "flame"), tab("Statistics", "stats"));
    const apply = (v: TraceView) => {
      for (const [k, el] of Object.entries(views)) el.hidden = k !== v;
      for (const b of tabs.querySelectorAll("button")) b.setAttribute("aria-pressed", String(b.id === `tab-${v}`));
    };
    const show = (v: TraceView) => {
      apply(v);
      history.replaceState(null, "", `#/traces/${encodeURIComponent(id)}${v === "waterfall" ? "" : `?view=${v}`}`);
    };
    apply(view);
    const other = h("input", { name: "compare", placeholder: "another trace id", "aria-label": "Trace to compare with", size: 34, autocomplete: "off" }) as HTMLInputElement;
    const compare = h(
      "form",
      {
        class: "inline-form",
        onsubmit: (ev: Event) => {
          ev.preventDefault();
          const b = other.value.trim();
          if (b) location.hash = `#/traces/${encodeURIComponent(t.trace_id)}?compare=${encodeURIComponent(b)}`;
        },
      },
      other,
      h("button", { type: "submit" }, "Compare"),
    );
    // The trace as the API gave it, saved as a file.
    const saveJSON = h("button", { type: "button", id: "trace-json" }, "Download JSON");
    saveJSON.addEventListener("click", () => download(`trace-${t.trace_id}.json`, JSON.stringify(t, null, 2), "application/json"));
    root.replaceChildren(
      h("p", {}, h("a", { href: "#/traces" }, "← Traces"), spans.length ? " · " : "", spans.length ? h("a", { href: logsHref(t.trace_id, start, end), id: "trace-logs" }, "Logs of this trace") : ""),
      h("h1", {}, "Trace ", h("code", {}, t.trace_id)),
      h("div", { class: "toolbar wrap" }, tabs, findSpans(spans, list, (ids) => flame.mark(ids)), h("span", { class: "spacer" }), compare, saveJSON),
      list,
      flame,
      statsBox,
    );
    if (spans.length) void loadSpanLogs(list, logs, t.trace_id, start, end);
  } catch (err) {
    root.replaceChildren(h("p", {}, h("a", { href: "#/traces" }, "← Traces")), errorBox(err));
  }
}

/**
 * A find box over the waterfall's spans: the rows whose service, name, span
 * id, status or attributes (keys and values, the resource's too) contain
 * the text are marked, with their count; onMark hears the spans marked
 * (null when the box is empty), for the flame graph.
 */
function findSpans(spans: Span[], list: HTMLElement, onMark: (ids: Set<string> | null) => void): HTMLElement {
  const text = new Map<string, string>();
  for (const s of spans) {
    const attrs = (m?: Record<string, unknown>) => Object.entries(m ?? {}).map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`);
    const all = [s.service, s.name, s.span_id, String(s.status_code), s.status_message, ...attrs(s.attributes), ...attrs(s.resource)].join("\n");
    text.set(s.span_id, (text.get(s.span_id) ?? "") + "\n" + all.toLowerCase());
  }
  const count = h("span", { class: "muted", id: "span-find-count", "aria-live": "polite" });
  const input = h("input", { type: "search", id: "span-find", placeholder: "Find spans", "aria-label": "Find spans in the trace", autocomplete: "off" }) as HTMLInputElement;
  input.addEventListener("input", () => {
    const q = input.value.trim().toLowerCase();
    const ids = new Set<string>();
    let n = 0;
    for (const row of list.querySelectorAll<HTMLElement>("li.wf-span")) {
      const id = row.dataset["span"] ?? "";
      const hit = q !== "" && (text.get(id) ?? "").includes(q);
      row.classList.toggle("wf-match", hit);
      if (hit) {
        ids.add(id);
        n++;
      }
    }
    count.textContent = q ? `${n} span${n === 1 ? "" : "s"} match` : "";
    onMark(q ? ids : null);
  });
  return h("span", { class: "group" }, input, count);
}

/** Two traces' call trees merged: what one has and the other lacks, and counts that differ. */
async function renderCompare(root: HTMLElement, a: string, b: string): Promise<void> {
  root.replaceChildren(h("p", { class: "muted" }, "Loading traces…"));
  const back = h("p", {}, h("a", { href: `#/traces/${encodeURIComponent(a)}` }, "← Trace ", h("code", {}, a)));
  try {
    const [ta, tb] = await Promise.all([getJSON<TraceDetail>(`traces/${encodeURIComponent(a)}`), getJSON<TraceDetail>(`traces/${encodeURIComponent(b)}`)]);
    const tree = compareTraces(ta.spans ?? [], tb.spans ?? []);
    const n = compareCounts(tree);
    const link = (id: string) => h("a", { href: `#/traces/${encodeURIComponent(id)}` }, h("code", {}, id));
    root.replaceChildren(
      back,
      h("h1", {}, "Traces compared"),
      h("p", {}, "A ", link(ta.trace_id), ` (${(ta.spans ?? []).length} spans) and B `, link(tb.trace_id), ` (${(tb.spans ?? []).length} spans), their calls merged by service and operation.`),
      h(
        "p",
        { class: "tc-legend", id: "compare-summary" },
        h("span", { class: "tc-only-a" }, `${n["only-a"]} only in A`),
        h("span", { class: "tc-only-b" }, `${n["only-b"]} only in B`),
        h("span", { class: "tc-changed" }, `${n.changed} in both, counts differ`),
        h("span", { class: "tc-same" }, `${n.same} the same`),
      ),
      h("div", { id: "trace-compare" }, compareTree(tree)),
    );
  } catch (err) {
    root.replaceChildren(back, errorBox(err));
  }
}

/**
 * Fetches the trace's log records into logs, by span, and marks the rows of
 * spans that have some. A trace without records, or a server without logs,
 * shows nothing more.
 */
async function loadSpanLogs(list: HTMLElement, logs: SpanLogs, traceId: string, start: number, end: number): Promise<void> {
  let records: LogRecord[];
  try {
    records = (await getJSON<{ logs: LogRecord[] | null }>("logs", { ...traceLogsQuery(traceId, start, end), limit: "1000" })).logs ?? [];
  } catch {
    return;
  }
  for (const r of records.sort((a, b) => a.time_unix_nano - b.time_unix_nano)) {
    const l = logs.get(r.span_id) ?? [];
    l.push(r);
    logs.set(r.span_id, l);
  }
  for (const [span, l] of logs) {
    const name = list.querySelector(`li[data-span="${CSS.escape(span)}"] .wf-name`);
    name?.append(h("span", { class: "wf-logcount", title: `${l.length} log record${l.length === 1 ? "" : "s"}` }, ` ≡${l.length}`));
  }
}
