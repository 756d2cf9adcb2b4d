// Badges and small tables shared by tooltips and panels.

import { fmtCount, fmtMs, fmtPct, fmtRate, h } from "./dom";
import { healthColor } from "./colors";
import type { GraphEdge, GraphNode } from "./types";

/** A badge for the share of requests sent with mutual TLS. */
export function mtlsBadge(share: number | undefined): HTMLElement {
  const s = share ?? 0;
  const cls = s >= 0.999 ? "ok" : s > 0 ? "warn" : "off";
  const text = s >= 0.999 ? "mTLS" : s > 0 ? `mTLS ${fmtPct(s)}` : "no mTLS";
  return h("span", { class: `badge mtls ${cls}`, title: `mTLS share ${fmtPct(s)}` }, text);
}

/** Badges naming the inputs that saw an edge (span, accesslog, metric). */
export function provenanceBadges(p: string[] | undefined): HTMLElement {
  const box = h("span", { class: "badges", title: "which inputs saw this traffic" });
  for (const x of p ?? []) box.append(h("span", { class: "badge prov" }, x));
  if (!p || p.length === 0) box.append(h("span", { class: "badge off" }, "unknown source"));
  return box;
}

/** A badge with a node's health. */
export function healthBadge(health: string): HTMLElement {
  return h("span", { class: "badge health", style: `background:${healthColor[health] ?? "#adb5bd"}` }, health || "unknown");
}

/** mTLS share of traffic weighted by requests. */
export function weightedMTLS(edges: GraphEdge[]): number {
  let w = 0;
  let s = 0;
  for (const e of edges) {
    const r = e.requests || 1;
    w += r;
    s += (e.mtls_share || 0) * r;
  }
  return w ? s / w : 0;
}

/** Union of provenance of edges. */
export function provenanceOf(edges: GraphEdge[]): string[] {
  const set = new Set<string>();
  for (const e of edges) for (const p of e.provenance ?? []) set.add(p);
  return [...set].sort();
}

/** Key/value rows as a definition list. */
export function kv(rows: [string, string | Node][]): HTMLElement {
  const dl = h("dl", { class: "kv" });
  for (const [k, v] of rows) dl.append(h("dt", {}, k), h("dd", {}, v));
  return dl;
}

/** Tooltip content for a node. */
/** What is new about a node lately: the rings' reasons (GraphStore.markOf). */
export interface Lately {
  /** Exception types first seen in the last hour. */
  newExceptions: string[];
  /** Versions deployed in the last hour, with when their first calls came. */
  deployed: [string, string][];
  /** Whether a version deployed lately is alerted on as worse than its others. */
  worse: boolean;
}

export function nodeTooltip(n: GraphNode, edges: { callers: GraphEdge[]; callees: GraphEdge[] }, lately: Lately = { newExceptions: [], deployed: [], worse: false }): HTMLElement {
  const { newExceptions } = lately;
  const all = [...edges.callers, ...edges.callees];
  const rows: [string, string | Node][] = [
    ["in", `${fmtRate(n.rps_in)} rps · ${fmtPct(n.error_rate_in)} errors`],
    ["out", `${fmtRate(n.rps_out)} rps`],
    ["requests", `${fmtCount(n.requests_in)} in · ${fmtCount(n.requests_out)} out`],
  ];
  // Exception types the service showed for the first time in the last hour.
  if (newExceptions.length) rows.push(["new exceptions", h("span", { class: "tt-new-exc" }, newExceptions.join(", "))]);
  // Versions whose first calls came in the last hour.
  if (lately.deployed.length) {
    const text = lately.deployed.map(([v, at]) => `${v} at ${new Date(at).toLocaleTimeString()}`).join(", ") + (lately.worse ? " · worse than its other versions" : "");
    rows.push(["deployed", h("span", { class: "tt-deployed" }, text)]);
  }
  return h(
    "div",
    {},
    h("div", { class: "tt-title" }, n.name || n.id, " ", healthBadge(n.health)),
    h("div", { class: "tt-sub" }, [n.kind, n.namespace && `ns ${n.namespace}`, n.version && `v ${n.version}`].filter(Boolean).join(" · ")),
    kv(rows),
    h("div", { class: "tt-badges" }, mtlsBadge(weightedMTLS(all)), " ", provenanceBadges(provenanceOf(all))),
  );
}

/** Tooltip content for an edge. */
export function edgeTooltip(e: GraphEdge, label: (id: string) => string): HTMLElement {
  return h(
    "div",
    {},
    h("div", { class: "tt-title" }, `${label(e.source)} → ${label(e.target)}`),
    h("div", { class: "tt-sub" }, e.protocol || "unknown protocol"),
    kv([
      ["rate", `${fmtRate(e.rps)} rps`],
      ["errors", `${fmtPct(e.error_rate)} (${fmtCount(e.errors)} of ${fmtCount(e.requests)})`],
      ["p50 / p99", `${fmtMs(e.p50_ms)} / ${fmtMs(e.p99_ms)}`],
    ]),
    h("div", { class: "tt-badges" }, mtlsBadge(e.mtls_share), " ", provenanceBadges(e.provenance)),
  );
}
