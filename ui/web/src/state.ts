// The view state kept in the URL hash, so every view is bookmarkable:
//   #/graph?g=service&ns=shop,pay&q=rps>10&hide=1&group=1&sel=ID&edge=ID&range=1h&anim=1&el=p99&layout=layered
//   #/sql  #/traces  #/traces/TRACE_ID  #/requests?destination=ID  #/logs?trace_id=ID  #/exceptions?service=NAME
//   #/metrics  #/slos  #/table

import type { LayoutMode } from "./layout";
import type { Granularity } from "./types";

export type Page = "graph" | "table" | "sql" | "traces" | "requests" | "logs" | "exceptions" | "deployments" | "metrics" | "slos";

/** What edges are labelled with: nothing, rate, error rate, a latency percentile or share of the caller's requests. */
export type EdgeLabels = "" | "rps" | "errors" | "p50" | "p95" | "p99" | "share" | "throughput" | "mtls";
const edgeLabelModes: EdgeLabels[] = ["", "rps", "errors", "p50", "p95", "p99", "share", "throughput", "mtls"];

export interface ViewState {
  page: Page;
  /** Path after the page, e.g. a trace id. */
  sub: string;
  granularity: Granularity;
  namespaces: string[];
  query: string;
  hide: boolean;
  group: boolean;
  selected: string;
  edge: string;
  /** "live", "15m", "1h", "6h", "24h" or "custom". */
  range: string;
  from: string;
  to: string;
  /** Diff against a baseline range: "" (off), "prev" or "custom". */
  diff: string;
  baseFrom: string;
  baseTo: string;
  replay: boolean;
  /** Traffic animation along edges. */
  animate: boolean;
  /** Edge labels. */
  edgeLabels: EdgeLabels;
  /** Node placement: "" (force, stable) or "layered" (callers left of callees). */
  layout: LayoutMode;
  /** Other parameters, for pages such as requests and traces. */
  params: Record<string, string>;
}

const pages: Page[] = ["graph", "table", "sql", "traces", "requests", "logs", "exceptions", "deployments", "metrics", "slos"];
const known = new Set(["g", "ns", "q", "hide", "group", "sel", "edge", "range", "from", "to", "diff", "base_from", "base_to", "replay", "anim", "el", "layout"]);

export function defaultState(): ViewState {
  return {
    page: "graph",
    sub: "",
    granularity: "service",
    namespaces: [],
    query: "",
    hide: false,
    group: false,
    selected: "",
    edge: "",
    range: "live",
    from: "",
    to: "",
    diff: "",
    baseFrom: "",
    baseTo: "",
    replay: false,
    animate: false,
    edgeLabels: "",
    layout: "",
    params: {},
  };
}

/** Reads the view state from a location hash. */
export function parseHash(hash: string): ViewState {
  const s = defaultState();
  const raw = hash.replace(/^#\/?/, "");
  const qi = raw.indexOf("?");
  const path = qi >= 0 ? raw.slice(0, qi) : raw;
  const qs = new URLSearchParams(qi >= 0 ? raw.slice(qi + 1) : "");
  const [page, ...rest] = path.split("/");
  if (page && (pages as string[]).includes(page)) s.page = page as Page;
  s.sub = rest.map(decodeURIComponent).join("/");
  const g = qs.get("g");
  if (g === "service" || g === "workload" || g === "version") s.granularity = g;
  s.namespaces = (qs.get("ns") ?? "").split(",").filter(Boolean);
  s.query = qs.get("q") ?? "";
  s.hide = qs.get("hide") === "1";
  s.group = qs.get("group") === "1";
  s.selected = qs.get("sel") ?? "";
  s.edge = qs.get("edge") ?? "";
  s.range = qs.get("range") ?? "live";
  s.from = qs.get("from") ?? "";
  s.to = qs.get("to") ?? "";
  // diff is the graph's comparison mode on the graph and the table; other
  // pages' diff parameter is their own (the Traces page's ?diff=errors).
  const graphy = s.page === "graph" || s.page === "table";
  s.diff = graphy ? (qs.get("diff") ?? "") : "";
  s.baseFrom = graphy ? (qs.get("base_from") ?? "") : "";
  s.baseTo = graphy ? (qs.get("base_to") ?? "") : "";
  s.replay = qs.get("replay") === "1";
  s.animate = qs.get("anim") === "1";
  const el = (qs.get("el") ?? "") as EdgeLabels;
  s.edgeLabels = edgeLabelModes.includes(el) ? el : "";
  s.layout = qs.get("layout") === "layered" ? "layered" : "";
  // Pages other than the graph read their own parameters, from and to
  // among them, which the graph's state also knows.
  for (const [k, v] of qs) if (!known.has(k) || (s.page !== "graph" && s.page !== "table")) s.params[k] = v;
  return s;
}

/** Writes the view state as a location hash. */
export function formatHash(s: ViewState): string {
  const qs = new URLSearchParams();
  if (s.granularity !== "service") qs.set("g", s.granularity);
  if (s.namespaces.length) qs.set("ns", s.namespaces.join(","));
  if (s.query) qs.set("q", s.query);
  if (s.hide) qs.set("hide", "1");
  if (s.group) qs.set("group", "1");
  if (s.selected) qs.set("sel", s.selected);
  if (s.edge) qs.set("edge", s.edge);
  if (s.range !== "live") qs.set("range", s.range);
  if (s.range === "custom") {
    if (s.from) qs.set("from", s.from);
    if (s.to) qs.set("to", s.to);
  }
  if (s.diff) qs.set("diff", s.diff);
  if (s.diff === "custom") {
    if (s.baseFrom) qs.set("base_from", s.baseFrom);
    if (s.baseTo) qs.set("base_to", s.baseTo);
  }
  if (s.replay) qs.set("replay", "1");
  if (s.animate) qs.set("anim", "1");
  if (s.edgeLabels) qs.set("el", s.edgeLabels);
  if (s.layout) qs.set("layout", s.layout);
  for (const [k, v] of Object.entries(s.params)) if (v) qs.set(k, v);
  const path = s.page + (s.sub ? "/" + s.sub.split("/").map(encodeURIComponent).join("/") : "");
  const q = qs.toString().replace(/%2F/g, "/").replace(/%2C/g, ",").replace(/%3E/g, ">").replace(/%3C/g, "<").replace(/%3A/g, ":");
  return "#/" + path + (q ? "?" + q : "");
}

const presets: Record<string, number> = { "15m": 15 * 60, "1h": 3600, "6h": 6 * 3600, "24h": 24 * 3600 };

/** Absolute [from, to] in Unix seconds for a state's range, or null when live. */
export function rangeSeconds(s: ViewState, now = Date.now() / 1000): [number, number] | null {
  if (s.range === "live") return null;
  const d = presets[s.range];
  if (d) return [Math.floor(now - d), Math.floor(now)];
  const f = Date.parse(s.from);
  const t = Date.parse(s.to);
  if (isNaN(f) || isNaN(t) || t <= f) return null;
  return [Math.floor(f / 1000), Math.floor(t / 1000)];
}

/** Baseline range for diff mode: the period before, or the custom one. */
export function baseSeconds(s: ViewState, range: [number, number]): [number, number] | null {
  if (s.diff === "prev") return [range[0] - (range[1] - range[0]), range[0]];
  if (s.diff === "custom") {
    const f = Date.parse(s.baseFrom);
    const t = Date.parse(s.baseTo);
    if (isNaN(f) || isNaN(t) || t <= f) return null;
    return [Math.floor(f / 1000), Math.floor(t / 1000)];
  }
  return null;
}

/** RFC 3339 of Unix seconds. */
export function rfc3339(sec: number): string {
  return new Date(sec * 1000).toISOString().replace(/\.\d{3}Z$/, "Z");
}
