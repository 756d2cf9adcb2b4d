// Exceptions: what the services' spans recorded as exception events and
// their logs told, grouped by service (and namespace), exception type and source, the
// most frequent first, each
// with a trend over the range; a group chosen shows its latest message and
// stack trace below the table, with its trace and that trace's logs.

import { getJSON } from "../api";
import { h } from "../dom";
import { renderSearchPage, resultsWithDetail, trendBars, type Column } from "./common";
import { logsHref } from "./logs";

/** One group of GET /api/v1/exceptions. */
export interface ExceptionGroup {
  service: string;
  /** service.namespace: a service of one name in two namespaces is two groups. */
  namespace: string;
  type: string;
  source: "span" | "log";
  count: number;
  messages: number;
  first_seen: string;
  last_seen: string;
  message: string;
  stacktrace: string;
  escaped: boolean;
  trace_id: string;
  span_id: string;
  span_name: string;
  trend: number[];
  /** First seen within the range (when the response's new_known). */
  new: boolean;
  first_seen_ever?: string;
  /** Counts by service.version, the most first. */
  versions: { version: string; count: number }[] | null;
}

/** A group's versions with their counts ("v2 ×340 · v1 ×12"), the first few. */
function versionsText(e: ExceptionGroup, few = 3): string {
  const vs = e.versions ?? [];
  const shown = vs.slice(0, few).map((v) => `${v.version} ×${v.count}`);
  return shown.join(" · ") + (vs.length > few ? ` · ${vs.length - few} more` : "");
}

/** A "new" mark for a group first seen within the range. */
export function newBadge(e: ExceptionGroup): HTMLElement | string {
  return e.new ? h("span", { class: "badge exc-new", title: `first seen ${e.first_seen_ever ? new Date(e.first_seen_ever).toLocaleString() : "in the range"}` }, "new") : "";
}

function typeCell(e: ExceptionGroup): HTMLElement {
  return h(
    "span",
    { class: "exc-type" },
    h("span", {}, newBadge(e), h("code", {}, e.type || "(no type)")),
    h("span", { class: "muted exc-msg", title: e.message }, e.message),
  );
}

function ago(iso: string): HTMLElement {
  const d = new Date(iso);
  return h("time", { datetime: iso, title: d.toISOString() }, d.toLocaleString());
}

const columns: Column<ExceptionGroup>[] = [
  { key: "type", label: "Exception", value: (e) => e.type, render: typeCell },
  { key: "service", label: "Service", value: (e) => e.service },
  { key: "namespace", label: "Namespace", value: (e) => e.namespace },
  { key: "source", label: "Source", value: (e) => e.source },
  { key: "count", label: "Count", value: (e) => e.count, numeric: true },
  { key: "messages", label: "Messages", value: (e) => e.messages, numeric: true },
  { key: "versions", label: "Versions", value: (e) => versionsText(e), render: (e) => h("span", { class: "exc-versions" }, versionsText(e)) },
  { key: "trend", label: "Trend", value: (e) => e.count, render: (e) => trendBars(e.trend) },
  { key: "last", label: "Last seen", value: (e) => Date.parse(e.last_seen), render: (e) => ago(e.last_seen), numeric: true },
  { key: "first", label: "First seen", value: (e) => Date.parse(e.first_seen), render: (e) => ago(e.first_seen), numeric: true },
];

/** One exception of GET /api/v1/exceptions/occurrences. */
interface Occurrence {
  time: string;
  version: string;
  message: string;
  escaped: boolean;
  trace_id: string;
  span_id: string;
  span_name: string;
}

/**
 * A group's latest exceptions in the range asked for (from, to), the
 * newest first, each with its version, message and trace: loaded once the
 * group is chosen.
 */
function occurrences(e: ExceptionGroup, range: Record<string, string>): HTMLElement {
  const box = h("section", { class: "exc-occurrences", id: "exception-occurrences", "aria-label": "Latest occurrences" }, h("h3", {}, "Latest occurrences"), h("p", { class: "muted" }, "Loading…"));
  void (async () => {
    try {
      // The group's keys as they are, empty ones too (a type or namespace
      // of "" is a group of its own), which getJSON's parameters leave out.
      const group = new URLSearchParams({ service: e.service, namespace: e.namespace, type: e.type, source: e.source, limit: "20" });
      for (const k of ["from", "to"]) if (range[k]) group.set(k, range[k]!);
      const r = await getJSON<{ occurrences: Occurrence[] | null }>(`exceptions/occurrences?${group.toString()}`);
      const rows = (r.occurrences ?? []).map((o) =>
        h(
          "tr",
          {},
          h("td", {}, ago(o.time)),
          h("td", {}, o.version),
          h("td", {}, h("span", { class: "exc-msg", title: o.message }, o.message), o.escaped ? h("span", { class: "muted" }, " (escaped)") : ""),
          h("td", {}, o.trace_id ? h("a", { href: `#/traces/${encodeURIComponent(o.trace_id)}` }, o.span_name || "trace") : ""),
        ),
      );
      box.replaceChildren(
        box.firstChild!,
        rows.length
          ? h(
              "table",
              { class: "data", "aria-label": "Latest occurrences" },
              h("thead", {}, h("tr", {}, ...["When", "Version", "Message", "Trace"].map((x) => h("th", { scope: "col" }, x)))),
              h("tbody", {}, ...rows),
            )
          : h("p", { class: "muted" }, "None in the range."),
      );
    } catch (err) {
      box.replaceChildren(box.firstChild!, h("p", { class: "error" }, `Occurrences: ${err instanceof Error ? err.message : String(err)}`));
    }
  })();
  return box;
}

/** The latest occurrence of a group: message, stack trace, its span's links; then its latest occurrences. */
function details(e: ExceptionGroup, range: Record<string, string>): HTMLElement {
  const lastNs = Date.parse(e.last_seen) * 1e6;
  return h(
    "div",
    { class: "exc-detail" },
    h("p", {}, e.message || h("span", { class: "muted" }, "No message.")),
    e.stacktrace ? h("pre", { class: "log-body-full stacktrace" }, e.stacktrace) : h("p", { class: "muted" }, "No stack trace recorded."),
    h(
      "nav",
      { class: "links", "aria-label": "Related views" },
      e.trace_id ? h("a", { href: `#/traces/${encodeURIComponent(e.trace_id)}` }, e.span_name ? `Trace of the latest (${e.span_name})` : "Trace of the latest") : "",
      e.trace_id ? h("a", { href: logsHref(e.trace_id, lastNs, lastNs) }, "Logs of that trace") : "",
      h("a", { href: `#/traces?service=${encodeURIComponent(e.service)}&error=true` }, `Failed traces of ${e.service}`),
      // Every trace in which this type was raised, in the range asked.
      e.type
        ? h("a", { href: `#/traces?${new URLSearchParams({ exception: e.type, ...(range["from"] ? { from: range["from"] } : {}), ...(range["to"] ? { to: range["to"] } : {}) }).toString()}`, class: "exc-traces-link" }, `Traces with ${e.type}`)
        : "",
      // Each version's exceptions of every type: what a canary raises
      // that the stable version does not.
      ...(e.versions ?? []).map((v) =>
        h("a", { href: `#/exceptions?${new URLSearchParams({ service: e.service, ...(e.namespace ? { namespace: e.namespace } : {}), version: v.version }).toString()}`, class: "exc-version-link" }, `All of ${v.version}`),
      ),
    ),
    h(
      "p",
      { class: "muted" },
      [
        `${e.count} in the range`,
        `${e.messages} distinct ${e.messages === 1 ? "message" : "messages"}`,
        e.escaped ? "escaped its span" : "",
        e.versions?.length ? `versions ${versionsText(e, e.versions.length)}` : "",
        e.first_seen_ever ? `first seen ${new Date(e.first_seen_ever).toLocaleString()}${e.new ? " (new in the range)" : ""}` : "",
      ]
        .filter(Boolean)
        .join(" · "),
    ),
    occurrences(e, range),
  );
}

/** Renders the Exceptions page. */
export function renderExceptions(root: HTMLElement, params: Record<string, string>): void {
  const source = h(
    "select",
    { name: "source" },
    ...[
      ["", "spans and logs"],
      ["span", "spans"],
      ["log", "logs"],
    ].map(([v, label]) => h("option", { value: v! }, label!)),
  ) as HTMLSelectElement;
  renderSearchPage(root, params, {
    title: "Exceptions",
    names: ["service", "namespace", "type", "version", "q", "from", "to", "limit"],
    labels: { q: "Text contains" },
    defaults: { from: "now-1h", to: "now", limit: "100" },
    select: source,
    selectLabel: "source",
    selectAfter: "service",
    checks: { new: "New in the range only" },
    run: async (q) => {
      const r = await getJSON<{ exceptions: ExceptionGroup[] | null; bucket_seconds: number; new_known: boolean }>("exceptions", q);
      const rows = r.exceptions ?? [];
      const total = rows.reduce((s, e) => s + e.count, 0);
      const fresh = rows.filter((e) => e.new).length;
      const bucket = r.bucket_seconds >= 60 ? `${Math.round(r.bucket_seconds / 60)} min` : `${Math.round(r.bucket_seconds)} s`;
      const summary = rows.length
        ? `${total} exceptions in ${rows.length} ${rows.length === 1 ? "group" : "groups"}` +
          (r.new_known ? `, ${fresh} new (first seen in the range)` : "") +
          `; trend bars are ${bucket} each. Select one for its latest stack trace.`
        : q.new === "true"
          ? "No exceptions first seen in the range."
          : "No exceptions recorded in the range.";
      // Every group's exceptions together, bucket by bucket, above the table.
      const all = new Array<number>(rows[0]?.trend.length ?? 0).fill(0);
      for (const e of rows) e.trend.forEach((n, i) => (all[i] = (all[i] ?? 0) + n));
      const overview = rows.length
        ? [h("figure", { class: "exc-overview", id: "exceptions-overview" }, trendBars(all, 600, 48), h("figcaption", { class: "muted" }, `Exceptions per ${bucket}, every group listed`))]
        : [];
      return [
        ...overview,
        ...resultsWithDetail(summary, "Exceptions", columns, rows, {
        id: "exceptions-table",
        detailId: "exception-detail",
        rowKey: (e) => `${e.service}|${e.namespace}|${e.type}|${e.source}`,
          heading: (e) => `${e.type || "(no type)"} · ${e.service}${e.namespace ? ` (${e.namespace})` : ""} · ${e.source === "log" ? "logged" : "in spans"}`,
          detail: (e) => details(e, q),
        }),
      ];
    },
  });
}
