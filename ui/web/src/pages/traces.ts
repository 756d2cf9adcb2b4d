// Trace search and a waterfall of one trace.

import { getJSON } from "../api";
import { fmtNs, fmtUnixNano, h } from "../dom";
import type { TraceDetail, TraceSummary } from "../types";
import { errorBox, field, sortableTable } from "./common";
import { logsHref, traceLogsQuery, type LogRecord } from "./logs";
import { traceScatter } from "./tracescatter";
import { waterfall, type SpanLogs } from "./waterfall";

/** Renders the trace search page, or a trace when id is set. */
export function renderTraces(root: HTMLElement, id: string, params: Record<string, string>): void {
  if (id) {
    void renderTrace(root, id);
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
        operation: operation.value,
        from: from.value,
        to: to.value,
        min_duration: minDur.value,
        error: errOnly.checked ? "true" : undefined,
        limit: limit.value,
      });
      out.replaceChildren(
        traceScatter(r.traces ?? []),
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
    field("Operation", operation),
    field("Min duration", minDur),
    field("From", from),
    field("To", to),
    field("Errors only", errOnly),
    field("Limit", limit),
    h("button", { type: "submit", class: "primary" }, "Search"),
  );
  root.replaceChildren(h("h1", {}, "Traces"), form, services, operations, out);
  void search();
}

async function renderTrace(root: HTMLElement, id: string): Promise<void> {
  root.replaceChildren(h("p", { class: "muted" }, "Loading trace…"));
  try {
    const t = await getJSON<TraceDetail>(`traces/${encodeURIComponent(id)}`);
    const spans = t.spans ?? [];
    const start = Math.min(...spans.map((s) => Number(s.start_unix_nano)));
    const end = Math.max(...spans.map((s) => Number(s.start_unix_nano) + Number(s.duration_ns)));
    const logs: SpanLogs = new Map();
    const list = waterfall(spans, logs);
    root.replaceChildren(
      h("p", {}, h("a", { href: "#/traces" }, "← Traces"), spans.length ? " · " : "", spans.length ? h("a", { href: logsHref(t.trace_id, start, end), id: "trace-logs" }, "Logs of this trace") : ""),
      h("h1", {}, "Trace ", h("code", {}, t.trace_id)),
      list,
    );
    if (spans.length) void loadSpanLogs(list, logs, t.trace_id, start, end);
  } catch (err) {
    root.replaceChildren(h("p", {}, h("a", { href: "#/traces" }, "← Traces")), errorBox(err));
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
