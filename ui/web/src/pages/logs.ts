// Log explorer over the logs table: records by service, minimum severity,
// text in the body, pattern, attributes, the fields of a JSON or logfmt
// body (status >= 500), trace or span, newest first; a record chosen
// shows every attribute below the table and the records of its service
// around it, and records of a trace link to it. Grouped by pattern, the
// search lists what its records say and how often; a pattern opens its
// records.

import { getJSON } from "../api";
import { h } from "../dom";
import { rfc3339 } from "../state";
import { differencesBar, renderDifferences, type DiffSelect } from "./differences";
import { fieldMetricsPanel } from "./querychart";
import { liveVolume, logfmtPairs, renderSearchPage, resultsWithDetail, sortableTable, trendBars, volumeChart, type Column, type Volume } from "./common";

/** One record of GET /api/v1/logs. */
export interface LogRecord {
  timestamp: string;
  time_unix_nano: number;
  service: string;
  namespace: string;
  severity_number: number;
  severity_text: string;
  body: string;
  trace_id: string;
  span_id: string;
  scope: string;
  event_name: string;
  attributes: Record<string, string> | null;
  resource: Record<string, string> | null;
  /** What the body holds as JSON or logfmt, by the names the fields filter reads. */
  fields?: Record<string, string>;
}

/**
 * The search of the log records of a trace (or of one of its spans), over
 * its time with five minutes either side: records are stamped by their
 * service's clock.
 */
export function traceLogsQuery(traceId: string, startNs: number, endNs: number, spanId = ""): Record<string, string> {
  const margin = 300;
  const q: Record<string, string> = { trace_id: traceId };
  if (spanId) q["span_id"] = spanId;
  q["from"] = rfc3339(Math.floor(startNs / 1e9) - margin);
  q["to"] = rfc3339(Math.ceil(endNs / 1e9) + margin);
  return q;
}

/** The Logs page's address for traceLogsQuery's search. */
export function logsHref(traceId: string, startNs: number, endNs: number, spanId = ""): string {
  return `#/logs?${new URLSearchParams(traceLogsQuery(traceId, startNs, endNs, spanId)).toString()}`;
}

/** The OpenTelemetry severity range a number falls in (1-4 TRACE ... 21-24 FATAL). */
export function severityName(n: number): string {
  const names = ["TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"];
  return n >= 1 && n <= 24 ? names[Math.floor((n - 1) / 4)]! : "UNSET";
}

/** A severity as a coloured badge: its text, else its range's name. */
export function severityBadge(n: number, text: string, title = `severity ${n}`): HTMLElement {
  const name = severityName(n);
  return h("span", { class: `sev sev-${name.toLowerCase()}`, title }, text || name);
}

function severityCell(r: LogRecord): HTMLElement {
  return severityBadge(r.severity_number, r.severity_text);
}

function traceLink(r: LogRecord): HTMLElement | string {
  return r.trace_id ? h("a", { href: `#/traces/${encodeURIComponent(r.trace_id)}` }, r.trace_id.slice(0, 16)) : "";
}

const columns: Column<LogRecord>[] = [
  { key: "time", label: "Time", value: (r) => r.time_unix_nano, render: (r) => h("time", { datetime: r.timestamp }, new Date(r.time_unix_nano / 1e6).toLocaleTimeString()), numeric: true },
  { key: "service", label: "Service", value: (r) => (r.namespace ? `${r.namespace}/${r.service}` : r.service) },
  { key: "severity", label: "Severity", value: (r) => r.severity_number, render: severityCell },
  { key: "body", label: "Body", value: (r) => r.body, render: (r) => h("span", { class: "log-body", title: r.body }, r.body) },
  { key: "trace", label: "Trace", value: (r) => r.trace_id, render: traceLink },
];

function kvTable(label: string, m: Record<string, string> | null): HTMLElement {
  const keys = Object.keys(m ?? {}).sort();
  if (!keys.length) return h("p", { class: "muted" }, `No ${label.toLowerCase()}.`);
  return h("table", { class: "data kv-table", "aria-label": label }, h("tbody", {}, ...keys.map((k) => h("tr", {}, h("th", { scope: "row" }, k), h("td", {}, m![k]!)))));
}

/** How many records of its service a record's context shows either side of it. */
const CONTEXT = 10;

/** A record's identity among its neighbours. */
const recordKey = (r: LogRecord) => `${r.time_unix_nano}|${r.span_id}|${r.body}`;

/** A value as logfmt writes it: in double quotes when it has spaces. */
export const logfmtValue = (v: string) => (/[\s"]/.test(v) ? `"${v.replace(/"/g, "")}"` : v);

/** The resource attributes that name one process of a service, the most precise first. */
const INSTANCE_KEYS = ["k8s.pod.name", "service.instance.id", "host.name"];

/**
 * The records of the same process (its pod, else its instance or host,
 * else its service) just before and just after r (an hour either side at
 * most), r marked: Grafana's log context. Two searches, the newest before
 * it and the oldest after it (direction=forward).
 */
function context(r: LogRecord): HTMLElement {
  const key = INSTANCE_KEYS.find((k) => r.resource?.[k]);
  const where = key ? `${r.service} (${key} ${r.resource![key]})` : r.service;
  // Every record of that process, on the Logs page (the resource field's logfmt).
  const allLink = key
    ? [h("p", {}, h("a", { class: "instance-logs", href: `#/logs?${new URLSearchParams({ service: r.service, namespace: r.namespace, resource: `${key}=${logfmtValue(r.resource![key]!)}` }).toString()}` }, `All records of ${key} ${r.resource![key]}`))]
    : [];
  const box = h("section", { class: "log-context", "aria-label": "Context" }, h("h3", {}, `Around it in ${where}`), ...allLink, h("p", { class: "muted" }, "Loading…"));
  void (async () => {
    const t = Math.floor(r.time_unix_nano / 1e9);
    const q: Record<string, string> = { service: r.service, namespace: r.namespace, limit: String(2 * CONTEXT) };
    if (key) q["resource"] = `${key}:${r.resource![key]}`;
    try {
      const [before, after] = await Promise.all([
        getJSON<{ logs: LogRecord[] | null }>("logs", { ...q, from: rfc3339(t - 3600), to: rfc3339(t + 1), direction: "backward" }),
        getJSON<{ logs: LogRecord[] | null }>("logs", { ...q, from: rfc3339(t), to: rfc3339(t + 3600), direction: "forward" }),
      ]);
      const byKey = new Map<string, LogRecord>();
      for (const x of [...(before.logs ?? []), ...(after.logs ?? [])]) byKey.set(recordKey(x), x);
      const all = [...byKey.values()].sort((a, b) => a.time_unix_nano - b.time_unix_nano);
      const at = all.findIndex((x) => recordKey(x) === recordKey(r));
      const shown = at < 0 ? all : all.slice(Math.max(0, at - CONTEXT), at + CONTEXT + 1);
      const rows = shown.map((x) =>
        h(
          "tr",
          { class: recordKey(x) === recordKey(r) ? "current" : "" },
          h("td", {}, h("time", { datetime: x.timestamp }, new Date(x.time_unix_nano / 1e6).toLocaleTimeString())),
          h("td", {}, severityCell(x)),
          h("td", {}, h("span", { class: "log-body", title: x.body }, x.body)),
        ),
      );
      box.replaceChildren(box.firstChild!, ...allLink, h("table", { class: "data log-context-table", "aria-label": "Records around it" }, h("tbody", {}, ...rows)));
    } catch (err) {
      box.replaceChildren(box.firstChild!, ...allLink, h("p", { class: "error" }, `Context: ${err instanceof Error ? err.message : String(err)}`));
    }
  })();
  return box;
}

/**
 * The fields of a record's body (JSON or logfmt), each with a link to the
 * search narrowed to its value (the fields filter gains name="value").
 */
function fieldsTable(m: Record<string, string> | undefined): HTMLElement[] {
  const keys = Object.keys(m ?? {}).sort();
  if (!keys.length) return [];
  const current = new URLSearchParams(location.hash.split("?")[1] ?? "");
  const narrowed = (k: string) => {
    const q = new URLSearchParams(current);
    const cond = `${k}=${JSON.stringify(m![k])}`;
    q.set("fields", current.get("fields") ? `${current.get("fields")} and ${cond}` : cond);
    return `#/logs?${q.toString()}`;
  };
  return [
    h("h3", {}, "Fields"),
    h(
      "table",
      { class: "data kv-table", "aria-label": "Fields" },
      h("tbody", {}, ...keys.map((k) => h("tr", {}, h("th", { scope: "row" }, k), h("td", {}, m![k]!), h("td", {}, h("a", { class: "field-filter", href: narrowed(k), title: `Only the records whose ${k} is this` }, "= this"))))),
    ),
  ];
}

/** Every field of a record, and the records around it. */
function details(r: LogRecord): HTMLElement {
  return h(
    "div",
    { class: "log-detail" },
    h("pre", { class: "log-body-full" }, r.body),
    r.trace_id ? h("p", {}, h("a", { href: `#/traces/${encodeURIComponent(r.trace_id)}` }, `Trace ${r.trace_id}`), r.span_id ? ` · span ${r.span_id}` : "") : "",
    ...fieldsTable(r.fields),
    h("h3", {}, "Attributes"),
    kvTable("Attributes", r.attributes),
    h("h3", {}, "Resource"),
    kvTable("Resource", r.resource),
    h("p", { class: "muted" }, [r.scope && `scope ${r.scope}`, r.event_name && `event ${r.event_name}`, `severity ${r.severity_number}`].filter(Boolean).join(" · ")),
    context(r),
  );
}

/** One pattern of GET /api/v1/logs/patterns. */
export interface LogPattern {
  pattern: string;
  count: number;
  services: string[];
  severity_number: number;
  severity_text: string;
  sample: string;
  first_seen: string;
  last_seen: string;
  trend: number[];
}

export interface LogPatterns {
  records: number;
  sample: number;
  patterns: LogPattern[] | null;
}

/**
 * The search's records grouped by pattern, the most common first; a
 * pattern's row opens its records (the same search, pattern= that
 * pattern).
 */
function patternsView(a: LogPatterns, form: Record<string, string>): Node[] {
  const rows = a.patterns ?? [];
  const approx = a.sample < 1 ? "≈" : "";
  const share = (n: number) => (a.records ? n / a.records : 0);
  const cols: Column<LogPattern>[] = [
    {
      key: "count",
      label: "Records",
      value: (p) => p.count,
      numeric: true,
      render: (p) =>
        h("span", { class: "pattern-count" }, h("span", { class: "pattern-share", style: `width:${Math.max(1, share(p.count) * 60).toFixed(1)}px`, "aria-hidden": "true" }), `${approx}${p.count}`),
    },
    {
      key: "severity",
      label: "Level",
      value: (p) => p.severity_number,
      numeric: true,
      render: (p) => severityBadge(p.severity_number, p.severity_text, `highest severity ${p.severity_number}`),
    },
    { key: "pattern", label: "Pattern", value: (p) => p.pattern, render: (p) => h("code", { class: "log-pattern", title: `latest: ${p.sample}` }, p.pattern) },
    { key: "services", label: "Services", value: (p) => p.services.join(", "), render: (p) => h("span", { class: "muted" }, p.services.join(", ")) },
    { key: "trend", label: "Trend", value: (p) => p.count, render: (p) => trendBars(p.trend) },
    { key: "last", label: "Last seen", value: (p) => p.last_seen, render: (p) => h("time", { datetime: p.last_seen }, new Date(p.last_seen).toLocaleTimeString()) },
  ];
  const open = (p: LogPattern) => {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(form)) if (v && k !== "patterns" && k !== "pattern") q.set(k, v);
    q.set("pattern", p.pattern);
    location.hash = `#/logs?${q.toString()}`;
  };
  const sampled = a.sample < 1 ? ` (from an even sample of ${Math.round(a.sample * 100)} % of them; counts are estimates)` : "";
  const summary = `${a.records} ${a.records === 1 ? "record" : "records"} in ${rows.length}${rows.length >= Number(form["limit"] || 100) ? "+" : ""} ${rows.length === 1 ? "pattern" : "patterns"}${sampled}: ids, addresses and numbers read as <uuid>, <hex>, <ip>, <n>. Select one for its records.`;
  return [h("p", { class: "muted", id: "patterns-summary" }, summary), h("div", { class: "scroll" }, sortableTable("Log patterns", cols, rows, { id: "patterns-table", onRow: open }))];
}

/** Renders the log explorer. */
export function renderLogs(root: HTMLElement, params: Record<string, string>): void {
  const severity = h(
    "select",
    { name: "severity" },
    ...["", "debug", "info", "warn", "error", "fatal"].map((v) => h("option", { value: v }, v ? `${v} and above` : "any")),
  ) as HTMLSelectElement;
  const volumeOf = liveVolume<Volume | null>();
  // What the search's error records share, or what changed since the range
  // before, kept across live refreshes.
  let last: Record<string, string> = {};
  const diffBox = h("section", { class: "differences", "aria-live": "polite" });
  const differences = (select: DiffSelect) => {
    // Every level of the search: its errors are compared with the rest;
    // what changed keeps the search's severity.
    const drop = select === "changed" ? ["limit", "patterns"] : ["limit", "patterns", "severity"];
    const form = Object.fromEntries(Object.entries(last).filter(([k, v]) => v && !drop.includes(k)));
    history.replaceState(null, "", `#/logs?${new URLSearchParams({ ...form, diff: select }).toString()}`);
    const { resource, attributes, ...rest } = form;
    const pairs = (text: string | undefined, what: string) => Object.entries(logfmtPairs(text ?? "", what)).map(([k, v]) => `${k}:${v}`);
    void renderDifferences(diffBox, {
      endpoint: "logs/differences",
      query: { ...rest, resource: pairs(resource, "resource"), attr: pairs(attributes, "attributes") },
      select,
      subject: form["service"] ? `of ${form["service"]}` : "of the search",
      noun: "records",
      failing: "error",
      failingColumn: "Of the errors",
      // A value's records: by service, namespace, or as a resource or
      // record attribute (by its name's convention).
      href: (key, value, d, range) => {
        const p: Record<string, string> = { ...form, ...range };
        if (d.select === "errors") p["severity"] = "error";
        if (key === "service.name") p["service"] = value;
        else if (key === "service.namespace") p["namespace"] = value;
        else if (key === "scope.name" || key === "event.name") return null;
        else if (/^(k8s|host|container|cloud|deployment|process|telemetry|service|os|faas)\./.test(key)) p["resource"] = `${key}=${logfmtValue(value)}`;
        else p["attributes"] = `${key}=${logfmtValue(value)}`;
        return `#/logs?${new URLSearchParams(p).toString()}`;
      },
    });
  };
  const diffBar = differencesBar("records", differences, "error", false);
  let first: DiffSelect | null = params["diff"] === "errors" || params["diff"] === "changed" ? params["diff"] : null;
  renderSearchPage(root, params, {
    title: "Logs",
    names: ["service", "namespace", "q", "pattern", "resource", "attributes", "fields", "trace_id", "span_id", "from", "to", "limit"],
    labels: { q: "Body contains", pattern: "Pattern", resource: "Resource", attributes: "Attributes", fields: "Fields", trace_id: "Trace id", span_id: "Span id" },
    placeholders: { fields: "status >= 500 and duration > 1s" },
    checks: { patterns: "Group by pattern" },
    defaults: { from: "now-1h", to: "now", limit: "100" },
    select: severity,
    selectLabel: "severity",
    selectAfter: "service",
    live: true,
    // Lines per second, or a field's values, by any field, from the Loki
    // API's LogQL metrics.
    panel: (values) =>
      fieldMetricsPanel(() => {
        const v = values();
        return { service: v["service"] ?? "", namespace: v["namespace"] ?? "", severity: v["severity"] ?? "", q: v["q"] ?? "", fields: v["fields"] ?? "", from: v["from"] ?? "", to: v["to"] ?? "" };
      }),
    run: async (form, live) => {
      // The resource and attributes fields' key=value pairs, each one
      // resource= or attr= key:value parameter.
      const pairs = (text: string | undefined, what: string) => Object.entries(logfmtPairs(text ?? "", what)).map(([k, v]) => `${k}:${v}`);
      last = form;
      if (first) {
        differences(first);
        first = null;
      }
      const { resource, attributes, patterns, ...rest } = form;
      const q = { ...rest, resource: pairs(resource, "resource"), attr: pairs(attributes, "attributes") };
      const volumeChartOf = volumeOf(live, q, () => getJSON<Volume>("logs/volume", { ...q, limit: undefined }).catch(() => null));
      if (patterns === "true") {
        const [a, volume] = await Promise.all([getJSON<LogPatterns>("logs/patterns", q), volumeChartOf]);
        return [diffBar, diffBox, ...(volume ? [volumeChart(volume, "levels", volumeLevels, "Records", "log-volume")] : []), ...patternsView(a, form)];
      }
      const [r, volume] = await Promise.all([getJSON<{ logs: LogRecord[] | null }>("logs", q), volumeChartOf]);
      const rows = r.logs ?? [];
      return [
        diffBar,
        diffBox,
        ...(volume ? [volumeChart(volume, "levels", volumeLevels, "Records", "log-volume")] : []),
        ...resultsWithDetail(`${rows.length} ${rows.length === 1 ? "record" : "records"}. Select one for all its fields.`, "Log records", columns, rows, {
        id: "logs-table",
        detailId: "log-detail",
        heading: (row) => `${row.service} · ${severityName(row.severity_number)}`,
        detail: details,
        }),
      ];
    },
  });
}

/** The levels of the volume chart, bottom to top, with their colours. */
const volumeLevels: [string, string][] = [
  ["fatal", "#862e9c"],
  ["error", "#e03131"],
  ["warn", "#f08c00"],
  ["info", "#1c7ed6"],
  ["debug", "#868e96"],
  ["trace", "#ced4da"],
  ["unset", "#dee2e6"],
];
