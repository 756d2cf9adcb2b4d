// Edge panel: rate, errors by code and flag, latency percentiles over time,
// provenance and mTLS share.

import { APIError, getJSON } from "../api";
import { kv, mtlsBadge, provenanceBadges } from "../badges";
import { lineChart } from "../charts";
import { fmtBytes, fmtCount, fmtMs, fmtPct, fmtRate, h } from "../dom";
import { newSLOHref } from "../pages/sloform";
import { edgeProtocols } from "../query";
import type { EdgeDetail, EdgePath, GraphEdge } from "../types";
import { panelHeader, panelRange, showPanel, type PanelContext } from "./panel";
import { deployMarkers, versionCharts } from "./versions";
import { sloOnEdge, sloSection } from "./slos";

/** Opens the panel for edge id. */
export function openEdgePanel(panel: HTMLElement, ctx: PanelContext, id: string): void {
  const e = ctx.store.edge(id);
  if (!e) return;
  const src = h("a", { href: "#", onclick: (ev: Event) => (ev.preventDefault(), ctx.selectNode(e.source)) }, ctx.label(e.source));
  const dst = h("a", { href: "#", onclick: (ev: Event) => (ev.preventDefault(), ctx.selectNode(e.target)) }, ctx.label(e.target));
  const codes = h("section", { "aria-label": "Errors by code" }, h("p", { class: "muted" }, "Loading…"));
  const charts = h("section", { class: "charts", "aria-label": "Latency over time" });
  showPanel(
    panel,
    panelHeader(ctx, h("span", {}, src, " → ", dst), `${edgeProtocols(e).join(" + ") || "unknown protocol"} edge`),
    h("div", { class: "panel-badges" }, mtlsBadge(e.mtls_share), " ", provenanceBadges(e.provenance)),
    numbers(e),
    h(
      "nav",
      { class: "links", "aria-label": "Related views" },
      h("a", { href: `#/requests?source=${encodeURIComponent(e.source)}&destination=${encodeURIComponent(e.target)}` }, "Requests"),
      h("a", { href: `#/requests?source=${encodeURIComponent(e.source)}&destination=${encodeURIComponent(e.target)}&failed=true` }, "Failed requests"),
      h("a", { href: newSLOHref({ new: "edge", source: e.source, destination: e.target }) }, "New SLO"),
    ),
    sloSection(sloOnEdge(e.source, e.target)),
    charts,
    codes,
    kv([
      ["mTLS share", fmtPct(e.mtls_share)],
      ["provenance", (e.provenance ?? []).join(", ") || "–"],
      ["bytes sent", fmtBytes(e.bytes_sent)],
      ["bytes received", fmtBytes(e.bytes_received)],
      ["id", h("code", {}, e.id)],
    ]),
  );
  void load(ctx, e, charts, codes);
}

/** The totals grid of an edge; replaced in place when live numbers change. */
export function numbers(e: GraphEdge): HTMLElement {
  const s = (l: string, v: string) => h("div", { class: "stat" }, h("div", { class: "stat-v" }, v), h("div", { class: "stat-l" }, l));
  const base = e.base;
  return h(
    "section",
    { class: "numbers", "aria-label": "Totals" },
    s("rps", fmtRate(e.rps) + (base ? ` (was ${fmtRate(base.rps)})` : "")),
    s("error rate", fmtPct(e.error_rate) + (base ? ` (was ${fmtPct(base.error_rate)})` : "")),
    s("requests", fmtCount(e.requests)),
    s("p50", fmtMs(e.p50_ms)),
    s("p90", fmtMs(e.p90_ms)),
    s("p95", fmtMs(e.p95_ms)),
    s("p99", fmtMs(e.p99_ms) + (base ? ` (was ${fmtMs(base.p99_ms)})` : "")),
    s("mean", fmtMs(e.mean_ms)),
    s("errors", fmtCount(e.errors)),
  );
}

/** The edge's busiest paths, each linked to its requests; nothing for an edge without paths (TCP, spans only). */
function pathsTable(e: GraphEdge, paths: EdgePath[]): HTMLElement[] {
  if (!paths.length) return [];
  const head = h("tr", {}, ...["Path", "req", "err", "p50", "p99"].map((t, i) => h("th", { scope: "col", class: i ? "num" : "" }, t)));
  const rows = paths.map((p) => {
    const q = new URLSearchParams({ source: e.source, destination: e.target, path_prefix: p.path });
    return h(
      "tr",
      {},
      h("td", { class: "path-cell" }, h("a", { href: `#/requests?${q.toString()}`, title: `${p.method} ${p.path}` }, `${p.method} ${p.path}`)),
      h("td", { class: "num" }, fmtCount(p.requests)),
      h("td", { class: "num" }, fmtPct(p.error_rate)),
      h("td", { class: "num" }, fmtMs(p.p50_ms)),
      h("td", { class: "num" }, fmtMs(p.p99_ms)),
    );
  });
  return [h("h3", {}, "Top paths"), h("table", { class: "mini top-paths", "aria-label": "Top paths" }, h("thead", {}, head), h("tbody", {}, ...rows))];
}

async function load(ctx: PanelContext, e: GraphEdge, charts: HTMLElement, codes: HTMLElement): Promise<void> {
  try {
    const d = await getJSON<EdgeDetail>("edges", { source: e.source, destination: e.target, ...panelRange(ctx), versions: "true" });
    const s = d.series ?? { time: [] };
    const t = s.time ?? [];
    // Split by the callee's versions: a canary's share of the edge's calls.
    const versions = s.versions ?? [];
    const markers = deployMarkers(versions);
    charts.replaceChildren(
      lineChart("Rate (rps)", t, [{ label: "rps", values: s.rps ?? [], color: "#1c7ed6" }], fmtRate, undefined, markers),
      lineChart("Latency percentiles", t, [
        { label: "p50", values: s.p50_ms ?? [], color: "#37b24d" },
        { label: "p90", values: s.p90_ms ?? [], color: "#74b816" },
        { label: "p95", values: s.p95_ms ?? [], color: "#f59f00" },
        { label: "p99", values: s.p99_ms ?? [], color: "#e03131" },
      ], fmtMs, undefined, markers),
      lineChart("Errors", t, [{ label: "error rate", values: s.error_rate ?? [], color: "#e03131" }], fmtPct, undefined, markers),
      ...versionCharts(t, versions, markers),
    );
    const entries = Object.entries(d.errors_by_code ?? {}).sort((a, b) => b[1] - a[1]);
    const table = h("table", { class: "mini", "aria-label": "Errors by status code or response flag" });
    table.append(h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "code / flag"), h("th", { scope: "col", class: "num" }, "count"))));
    const body = h("tbody");
    for (const [code, n] of entries) body.append(h("tr", {}, h("td", {}, code), h("td", { class: "num" }, fmtCount(n))));
    if (!entries.length) body.append(h("tr", {}, h("td", { colspan: 2, class: "muted" }, "no errors")));
    table.append(body);
    codes.replaceChildren(h("h3", {}, "Errors by code / flag"), table, ...pathsTable(e, d.top_paths ?? []));
  } catch (err) {
    const msg = err instanceof APIError ? err.message : String(err);
    charts.replaceChildren(h("p", { class: "error" }, "Series: " + msg));
    codes.replaceChildren();
  }
}
