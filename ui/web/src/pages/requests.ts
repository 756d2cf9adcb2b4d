// Request explorer over the requests table: one row per access log entry,
// the columns a reader scans first, and every field of the entry chosen
// shown below the table.

import { getJSON } from "../api";
import { fmtBytes, fmtNs, h } from "../dom";
import { cell, liveVolume, renderSearchPage, resultsWithDetail, shortNode, volumeChart, type Column, type Volume } from "./common";
import { differencesBar, isDiffSelect, renderDifferences, type DiffSelect } from "./differences";

/** The outcomes of the volume chart, bottom to top, with their colours. */
const outcomeColors: [string, string][] = [
  ["failed", "#e03131"],
  ["4xx", "#f08c00"],
  ["3xx", "#748ffc"],
  ["2xx", "#40c057"],
  ["other", "#ced4da"],
];

type Row = Record<string, unknown>;

const str = (r: Row, k: string) => (typeof r[k] === "string" ? (r[k] as string) : "");
const num = (r: Row, k: string) => (typeof r[k] === "number" ? (r[k] as number) : NaN);

/** The HTTP status, or the gRPC status when the entry has one and no HTTP status. */
function codeText(r: Row): string {
  const code = num(r, "response_code");
  const grpc = num(r, "grpc_status");
  if (code > 0) return String(code) + (grpc >= 0 ? ` (grpc ${grpc})` : "");
  if (grpc >= 0) return `grpc ${grpc}`;
  return "–";
}

/** Whether the entry failed, as the server says by meshscope's one error rule (the graph's and the SLOs'). */
function failed(r: Row): boolean {
  return num(r, "failed") === 1;
}

function requestText(r: Row): string {
  const method = str(r, "method");
  const path = str(r, "path");
  if (!method && !path) return str(r, "protocol") || "–";
  return `${method} ${str(r, "authority")}${path}`.trim();
}

function localTime(ts: string): string {
  const t = Date.parse(ts);
  return isNaN(t) ? ts : new Date(t).toLocaleTimeString();
}

function startNs(r: Row): number {
  const n = num(r, "start_time_unix_nano");
  return isNaN(n) ? Date.parse(str(r, "timestamp")) * 1e6 : n;
}

/** The requests table's mtls column: what the reporter knew of the connection. */
const mtlsText: Record<number, string> = { 0: "unknown", 1: "yes", 2: "no" };

const columns: Column<Row>[] = [
  { key: "time", label: "Time", value: startNs, render: (r) => h("time", { datetime: str(r, "timestamp") }, localTime(str(r, "timestamp"))), numeric: true },
  { key: "reporter", label: "Reporter", value: (r) => str(r, "reporter") },
  { key: "source", label: "Source", value: (r) => shortNode(str(r, "source")) },
  { key: "destination", label: "Destination", value: (r) => shortNode(str(r, "destination")) },
  { key: "request", label: "Request", value: requestText, render: (r) => h("span", { class: "req-text", title: requestText(r) }, requestText(r)) },
  { key: "code", label: "Code", value: (r) => num(r, "response_code") || num(r, "grpc_status"), render: (r) => h("span", { class: failed(r) ? "error-text" : "" }, codeText(r)), numeric: true },
  { key: "flags", label: "Flags", value: (r) => str(r, "response_flags") || "-" },
  { key: "duration", label: "Duration", value: (r) => num(r, "duration_ns"), render: (r) => fmtNs(num(r, "duration_ns")), numeric: true },
  { key: "bytes", label: "Bytes in / out", value: (r) => num(r, "bytes_received") + num(r, "bytes_sent"), render: (r) => `${fmtBytes(num(r, "bytes_received"))} / ${fmtBytes(num(r, "bytes_sent"))}`, numeric: true },
  { key: "mtls", label: "mTLS", value: (r) => num(r, "mtls"), render: (r) => mtlsText[num(r, "mtls")] ?? "–" },
];

/** Every field of an entry, with a link to its trace when it has one. */
function details(r: Row): HTMLElement {
  const trace = str(r, "trace_id");
  const keys = Object.keys(r);
  return h(
    "div",
    { class: "req-detail" },
    trace && !/^0*$/.test(trace) ? h("p", {}, h("a", { href: `#/traces/${encodeURIComponent(trace)}` }, `Trace ${trace}`)) : "",
    h("table", { class: "data kv-table", "aria-label": "Fields of the request" }, h("tbody", {}, ...keys.map((k) => h("tr", {}, h("th", { scope: "row" }, k), h("td", {}, cell(r[k])))))),
  );
}

/** Renders the request explorer. */
export function renderRequests(root: HTMLElement, params: Record<string, string>): void {
  const names = ["source", "destination", "code", "flags", "path_prefix", "upstream_host", "from", "to", "limit"];
  const outcome = h(
    "select",
    { name: "failed" },
    h("option", { value: "" }, "any"),
    h("option", { value: "true" }, "failed"),
    h("option", { value: "false" }, "not failed"),
  ) as HTMLSelectElement;
  const volumeOf = liveVolume<Volume | null>();
  // What the search's failing or slow requests share, or what changed:
  // kept across the search's live refreshes, asked for again by its
  // buttons.
  let last: Record<string, string> = {};
  const diffBox = h("section", { class: "differences", "aria-live": "polite" });
  const differences = (select: DiffSelect) => {
    const q = Object.fromEntries(Object.entries(last).filter(([k, v]) => v && k !== "limit" && k !== "failed"));
    history.replaceState(null, "", `#/requests?${new URLSearchParams({ ...q, diff: select }).toString()}`);
    const subject = q["destination"] ? `to ${shortNode(q["destination"])}` : q["source"] ? `from ${shortNode(q["source"])}` : "of the search";
    void renderDifferences(diffBox, {
      endpoint: "requests/differences",
      query: q,
      select,
      subject,
      noun: "requests",
      // A value's requests, where the explorer filters by it.
      href: (key, value, d, range) => {
        const filter: Record<string, string> = { source: "source", destination: "destination", response_code: "code", response_flags: "flags", path: "path_prefix", upstream_host: "upstream_host" };
        const name = filter[key];
        if (!name) return null;
        const p: Record<string, string> = { ...q, ...range, [name]: value };
        if (d.select === "errors") p["failed"] = "true";
        return `#/requests?${new URLSearchParams(p).toString()}`;
      },
    });
  };
  const diffBar = differencesBar("requests", differences);
  let first = isDiffSelect(params["diff"]) ? params["diff"] : null;
  renderSearchPage(root, params, {
    title: "Requests",
    names,
    labels: Object.fromEntries(names.map((n) => [n, n.replace("_", " ")])),
    defaults: { from: "now-1h", to: "now", limit: "100" },
    select: outcome,
    selectLabel: "outcome",
    live: true,
    run: async (q, live) => {
      const [r, volume] = await Promise.all([
        getJSON<{ requests: Row[] | null }>("requests", q),
        volumeOf(live, q, () => getJSON<Volume>("requests/volume", { ...q, limit: undefined }).catch(() => null)),
      ]);
      const rows = r.requests ?? [];
      last = q;
      if (first) {
        differences(first);
        first = null;
      }
      return [
        diffBar,
        diffBox,
        ...(volume ? [volumeChart(volume, "outcomes", outcomeColors, "Requests", "request-volume")] : []),
        ...resultsWithDetail(`${rows.length} ${rows.length === 1 ? "request" : "requests"}. Select one for all its fields.`, "Requests", columns, rows, {
        id: "requests-table",
        detailId: "request-detail",
          heading: (row) => `${shortNode(str(row, "source"))} → ${shortNode(str(row, "destination"))}`,
          detail: details,
        }),
      ];
    },
  });
}
