// Deployments: the versions of services deployed within a range (their
// first calls, none in the day before), newest first, each beside its
// service's other versions over the range, as canary analysis compares
// them; a row chosen charts the service's rate and errors by version with
// the deploys marked.

import { getJSON } from "../api";
import { fmtMs, fmtPct, fmtRate, h } from "../dom";
import { deployMarkers, directionNote, versionCharts } from "../panels/versions";
import type { ServiceDetail } from "../types";
import { renderSearchPage, resultsWithDetail, type Column } from "./common";

interface Numbers {
  requests: number;
  errors: number;
  rps: number;
  error_rate: number;
  p99_ms: number;
  health?: string;
}

/** One entry of GET /api/v1/deployments. */
export interface Deployment extends Numbers {
  namespace: string;
  service: string;
  version: string;
  first_seen: string;
  node: string;
  /** Which calls the numbers count: those the versions took, or those they made when this one took none. */
  calls?: "inbound" | "outbound";
  baseline: Numbers & { versions: string[] };
  /** "errors", "latency": worse than the others by the server's rule. */
  regressions: string[] | null;
  /** Exception types the service showed first since; null when unknown. */
  new_exceptions: { type: string; source: string; first_seen: string }[] | null;
}

/** The exception types first seen since a deploy, a link to them. */
function newExceptionsCell(d: Deployment): HTMLElement {
  if (!d.new_exceptions) return h("span", { class: "muted", title: "The exception history does not yet hold what was stored before it" }, "–");
  if (!d.new_exceptions.length) return h("span", { class: "muted" }, "none");
  // A type both recorded and logged is listed once.
  const names = [...new Set(d.new_exceptions.map((e) => e.type || "(no type)"))];
  const href = `#/exceptions?${new URLSearchParams({ service: d.service, namespace: d.namespace, new: "true", from: d.first_seen }).toString()}`;
  return h("a", { href, class: "deploy-exceptions", title: names.join("\n") }, names.length > 2 ? `${names.slice(0, 2).join(", ")} +${names.length - 2}` : names.join(", "));
}

/** What reads worse in a deployment than in its service's other versions, in words. */
function regressions(d: Deployment): string[] {
  return (d.regressions ?? []).map((r) => (r === "errors" ? "more errors" : r === "latency" ? "slower" : r));
}

/** A number beside its baseline's ("40.0% vs 0.00%"). */
function versus(d: Deployment, f: (n: Numbers) => number, fmt: (v: number) => string): HTMLElement {
  return h("span", {}, fmt(f(d)), d.baseline.requests ? h("span", { class: "muted" }, ` vs ${fmt(f(d.baseline))}`) : "");
}

const graphHref = (params: Record<string, string>) => `#/graph?${new URLSearchParams(params).toString()}`;

const columns: Column<Deployment>[] = [
  { key: "first", label: "First calls", value: (d) => Date.parse(d.first_seen), render: (d) => h("time", { datetime: d.first_seen }, new Date(d.first_seen).toLocaleString()), numeric: true },
  {
    key: "service",
    label: "Service",
    value: (d) => `${d.namespace}/${d.service}`,
    render: (d) => h("a", { href: graphHref({ sel: `service:${d.namespace}/${d.service}` }) }, d.namespace ? `${d.namespace}/${d.service}` : d.service),
  },
  { key: "version", label: "Version", value: (d) => d.version, render: (d) => h("a", { href: graphHref({ g: "version", ns: d.namespace, sel: d.node }) }, d.version) },
  { key: "baseline", label: "Other versions", value: (d) => d.baseline.versions.join(", ") },
  {
    key: "rps",
    label: "rps",
    value: (d) => d.rps,
    render: (d) =>
      d.calls === "outbound"
        ? h("span", {}, versus(d, (n) => n.rps, fmtRate), " ", h("span", { class: "badge deploy-outbound", title: "It took no calls: these numbers are of the calls the versions made" }, "calls made"))
        : versus(d, (n) => n.rps, fmtRate),
    numeric: true,
  },
  { key: "errors", label: "Error rate", value: (d) => d.error_rate, render: (d) => versus(d, (n) => n.error_rate, fmtPct), numeric: true },
  { key: "p99", label: "p99", value: (d) => d.p99_ms, render: (d) => versus(d, (n) => n.p99_ms, fmtMs), numeric: true },
  {
    key: "verdict",
    label: "Against the others",
    value: (d) => regressions(d).join(", "),
    render: (d) => {
      const r = regressions(d);
      return r.length ? h("span", { class: "badge deploy-worse" }, r.join(", ")) : h("span", { class: "muted" }, d.baseline.requests ? "no worse, or too few calls" : "no other version");
    },
  },
  { key: "exceptions", label: "New exceptions since", value: (d) => d.new_exceptions?.length ?? -1, render: newExceptionsCell, numeric: true },
  {
    key: "links",
    label: "",
    value: () => "",
    render: (d) =>
      h(
        "span",
        { class: "links" },
        h("a", { href: `#/exceptions?${new URLSearchParams({ service: d.service, version: d.version, from: d.first_seen }).toString()}` }, "Exceptions"),
        " ",
        // The graph by version since the deploy, diffed with as long before
        // it: the canary added, the edges its calls changed.
        h("a", { href: graphHref({ g: "version", ns: d.namespace, sel: d.node, range: "custom", from: d.first_seen, to: new Date().toISOString().replace(/\.\d{3}Z$/, "Z"), diff: "prev" }), title: "The graph since the deploy against as long before it" }, "Before/after"),
      ),
  },
];

/** The service's rate and errors by version over the range, the deploys marked. */
function details(d: Deployment, from: string, to: string): HTMLElement {
  const box = h("div", { class: "deploy-detail" }, h("p", { class: "muted" }, "Loading the versions' series…"));
  void (async () => {
    try {
      const r = await getJSON<ServiceDetail>(`services/${encodeURIComponent(d.namespace || "_")}/${encodeURIComponent(d.service)}`, { from, to, versions: "true" });
      const versions = r.series?.versions ?? [];
      const charts = versionCharts(r.series?.time ?? [], versions, deployMarkers(versions));
      box.replaceChildren(...(charts.length ? [...directionNote(r), ...charts] : [h("p", { class: "muted" }, "No calls by version in the range.")]));
    } catch (err) {
      box.replaceChildren(h("p", { class: "error" }, `Series: ${err instanceof Error ? err.message : String(err)}`));
    }
  })();
  return box;
}

/** Renders the Deployments page. */
export function renderDeployments(root: HTMLElement, params: Record<string, string>): void {
  renderSearchPage(root, params, {
    title: "Deployments",
    names: ["namespace", "from", "to"],
    defaults: { from: "now-24h", to: "now" },
    run: async (q) => {
      const r = await getJSON<{ deployments: Deployment[] | null; more?: boolean }>("deployments", q);
      const rows = r.deployments ?? [];
      const worse = rows.filter((d) => regressions(d).length).length;
      const summary = rows.length
        ? `${rows.length} ${rows.length === 1 ? "version" : "versions"} deployed in the range (first calls, none in the day before)${r.more ? ", the newest; narrow the range or namespace for the others" : ""}, ${worse} worse than their services' other versions since. Select one for its service's rate and errors by version.`
        : "No version deployed in the range.";
      return resultsWithDetail(summary, "Deployments", columns, rows, {
        id: "deployments-table",
        detailId: "deployment-detail",
        rowKey: (d) => d.node,
        heading: (d) => `${d.service} ${d.version}`,
        detail: (d) => details(d, q["from"] ?? "", q["to"] ?? ""),
      });
    },
  });
}
