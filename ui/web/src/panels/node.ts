// Node panel: health, totals, the SLOs on the node, RED charts, the
// operations it serves, top callers and callees, links to traces and
// requests, and the blast radius highlighted on the graph.

import { APIError, getJSON } from "../api";
import { healthBadge, kv, mtlsBadge, provenanceBadges, provenanceOf, weightedMTLS } from "../badges";
import { lineChart, type Marker } from "../charts";
import { deployMarkers, directionNote, versionCharts } from "./versions";
import { fmtCount, fmtMs, fmtPct, fmtRate, h } from "../dom";
import type { GraphEdge, GraphNode, MeshGraph, ServiceDetail } from "../types";
import { panelHeader, panelRange, showPanel, type PanelContext } from "./panel";
import { newBadge, type ExceptionGroup } from "../pages/exceptions";
import { logfmtValue, severityBadge, type LogPattern, type LogPatterns, type LogRecord } from "../pages/logs";
import { newSLOHref } from "../pages/sloform";
import { sloOnNode, sloSection } from "./slos";

/** Extracts node ids from an analytics answer, whatever its exact shape. */
export function idsFromAnalytics(body: unknown): string[] {
  const out: string[] = [];
  const visit = (v: unknown, depth: number): void => {
    if (depth > 3 || v == null) return;
    if (typeof v === "string") {
      if (v.includes(":")) out.push(v);
      return;
    }
    if (Array.isArray(v)) {
      for (const x of v) visit(x, depth + 1);
      return;
    }
    if (typeof v === "object") {
      const o = v as Record<string, unknown>;
      if (typeof o["id"] === "string" && !("source" in o)) {
        out.push(o["id"]);
        return;
      }
      for (const k of ["nodes", "node_ids", "affected", "impacted", "upstream", "callers", "dependents", "ids", "blast_radius"]) {
        if (k in o) visit(o[k], depth + 1);
      }
    }
  };
  visit(body, 0);
  return out;
}

function edgeTable(ctx: PanelContext, title: string, edges: GraphEdge[], other: (e: GraphEdge) => string): HTMLElement {
  const top = [...edges].sort((a, b) => (b.rps || 0) - (a.rps || 0)).slice(0, 8);
  const table = h("table", { class: "mini", "aria-label": title });
  table.append(h("thead", {}, h("tr", {}, h("th", { scope: "col" }, title), h("th", { scope: "col", class: "num" }, "rps"), h("th", { scope: "col", class: "num" }, "err"), h("th", { scope: "col", class: "num" }, "p99"))));
  const body = h("tbody");
  for (const e of top) {
    const id = other(e);
    body.append(
      h(
        "tr",
        {},
        h("td", {}, h("a", { href: "#", onclick: (ev: Event) => (ev.preventDefault(), ctx.selectEdge(e.id)) }, ctx.label(id))),
        h("td", { class: "num" }, fmtRate(e.rps)),
        h("td", { class: "num" }, fmtPct(e.error_rate)),
        h("td", { class: "num" }, fmtMs(e.p99_ms)),
      ),
    );
  }
  if (!top.length) body.append(h("tr", {}, h("td", { colspan: 4, class: "muted" }, "none")));
  table.append(body);
  return table;
}

function serviceParams(n: GraphNode): { ns: string; name: string } | null {
  if (!n.namespace || !n.name) return null;
  if (!["service", "workload", "version"].includes(n.kind)) return null;
  return { ns: n.namespace, name: n.name };
}

/**
 * The link to a comparison of a service's calls (select: errors, what its
 * failing calls share that its others do not; changed, what changed since
 * the range before): from its spans where its callers' edges are seen by
 * spans, else from the access logs of the requests to it.
 */
function diffLink(n: GraphNode, callers: GraphEdge[], select: "errors" | "changed", label: string, title: string): HTMLElement | string {
  if (n.kind !== "service") return "";
  const seen = provenanceOf(callers);
  if (seen.includes("span")) return h("a", { href: `#/traces?${new URLSearchParams({ service: n.name, diff: select }).toString()}`, title }, label);
  if (seen.includes("accesslog")) return h("a", { href: `#/requests?${new URLSearchParams({ destination: n.id, diff: select }).toString()}`, title }, label);
  return "";
}

/** The link to what a service's failing calls share; none while nothing fails. */
function failingShare(n: GraphNode, callers: GraphEdge[]): HTMLElement | string {
  if (!((n.errors_in ?? 0) > 0)) return "";
  return diffLink(n, callers, "errors", "What failing calls share", "The attribute values its failing calls have more often than its others");
}

/** Opens the panel for node id. */
export function openNodePanel(panel: HTMLElement, ctx: PanelContext, id: string): void {
  const n = ctx.store.node(id);
  if (!n) return;
  const { callers, callees } = ctx.store.edgesOf(id);
  const all = [...callers, ...callees];
  const numbers = nodeNumbers(n);
  const charts = h("section", { class: "charts", "aria-label": "RED charts" }, h("p", { class: "muted" }, "Loading series…"));
  const tables = h("section", { class: "tables" }, edgeTable(ctx, "Top callers", callers, (e) => e.source), edgeTable(ctx, "Top callees", callees, (e) => e.target));
  const blast = h("section", { class: "blast", "aria-label": "Blast radius" }, h("p", { class: "muted" }, "Loading blast radius…"));
  const operations = h("section", { class: "operations", "aria-label": "Operations" });
  const instances = h("section", { class: "instances", "aria-label": "Instances" });
  const recentErrors = h("section", { class: "recent-errors", "aria-label": "Recent errors" });
  const logPatterns = h("section", { class: "log-patterns", "aria-label": "Warnings and errors by pattern" });
  const exceptions = h("section", { class: "top-exceptions", "aria-label": "Top exceptions" });
  const versions = h("section", { class: "versions", "aria-label": "Versions" });
  const slos = sloSection(sloOnNode(id));
  const links = h(
    "nav",
    { class: "links", "aria-label": "Related views" },
    h("a", { href: `#/traces?service=${encodeURIComponent(n.name)}` }, "Traces"),
    failingShare(n, callers),
    diffLink(n, callers, "changed", "What changed", "What its calls of the last hour have more or less often than those of the hour before: a version, a pod, a client, a route"),
    h("a", { href: `#/logs?service=${encodeURIComponent(n.name)}` }, "Logs"),
    h("a", { href: `#/exceptions?service=${encodeURIComponent(n.name)}` }, "Exceptions"),
    h("a", { href: `#/metrics?service=${encodeURIComponent(n.name)}` }, "Metrics"),
    n.namespace ? h("a", { href: `#/deployments?namespace=${encodeURIComponent(n.namespace)}` }, "Deployments") : "",
    h("a", { href: `#/requests?destination=${encodeURIComponent(n.id)}` }, "Requests to it"),
    h("a", { href: `#/requests?source=${encodeURIComponent(n.id)}` }, "Requests from it"),
    h("a", { href: `#/sql?q=${encodeURIComponent(`SELECT * FROM requests WHERE destination = '${n.id.replace(/'/g, "''")}' ORDER BY timestamp DESC LIMIT 100`)}` }, "SQL"),
    n.kind === "service" && n.namespace ? h("a", { href: newSLOHref({ new: "service", service: `${n.namespace}/${n.name}` }) }, "New SLO") : "",
    h("a", { href: "#", title: "Only this node, its callers and its callees (find: near=ID)", onclick: (ev: Event) => (ev.preventDefault(), ctx.find(`near=${id}`, true)) }, "Neighbours"),
  );
  const kind = n.kind === "service" && ctx.store.isDatabase(id) ? "service · database" : n.kind;
  const subtitle = h("span", {}, [kind, n.namespace && `namespace ${n.namespace}`, n.workload && `workload ${n.workload}`, n.version && `version ${n.version}`, n.cluster && `cluster ${n.cluster}`].filter(Boolean).join(" · "));
  showPanel(
    panel,
    panelHeader(ctx, h("span", {}, n.name || n.id, " ", healthBadge(n.health)), subtitle),
    h("div", { class: "panel-badges" }, mtlsBadge(weightedMTLS(all)), " ", provenanceBadges(provenanceOf(all))),
    numbers,
    links,
    slos,
    charts,
    operations,
    instances,
    versions,
    recentErrors,
    logPatterns,
    exceptions,
    tables,
    blast,
    kv([["id", h("code", {}, n.id)]]),
  );
  void loadSeries(charts, tables, ctx, n);
  void loadOperations(operations, ctx, n);
  void loadInstances(instances, ctx, n);
  void loadRecentErrors(recentErrors, ctx, n);
  void loadLogPatterns(logPatterns, ctx, n);
  void loadExceptions(exceptions, ctx, n);
  void loadVersions(versions, ctx, n);
  void loadBlast(blast, ctx, id);
}

/**
 * Fills box with the service's versions and their numbers, from the graph
 * by version (its namespace's, live or over the panel's range), each a
 * link to it in that graph: a canary failing beside its stable version
 * shows here. A service with one version or none shows nothing.
 */
async function loadVersions(box: HTMLElement, ctx: PanelContext, n: GraphNode): Promise<void> {
  if (n.kind !== "service" || !n.name || !n.namespace) return;
  const range = ctx.range();
  let g: MeshGraph;
  try {
    g = await getJSON<MeshGraph>("graph", { granularity: "version", namespace: n.namespace, ...(range ? panelRange(ctx) : {}) });
  } catch {
    return;
  }
  // A service that took no calls and made some (a worker) shows the
  // calls its versions made, as its charts do.
  const out = !n.requests_in && n.requests_out > 0;
  const rps = (v: GraphNode) => (out ? v.rps_out : v.rps_in);
  const errRate = (v: GraphNode) => (out ? (v.requests_out ? v.errors_out / v.requests_out : 0) : v.error_rate_in);
  const versions = (g.nodes ?? []).filter((v) => v.kind === "version" && v.namespace === n.namespace && v.name === n.name).sort((a, b) => rps(b) - rps(a));
  if (versions.length < 2) return;
  const head = h("tr", {}, ...["Version", out ? "rps out" : "rps in", out ? "err out" : "err", ""].map((t, i) => h("th", { scope: "col", class: i && i < 3 ? "num" : "" }, t)));
  const rows = versions.map((v) =>
    h(
      "tr",
      {},
      h("td", {}, h("a", { href: `#/graph?g=version&ns=${encodeURIComponent(n.namespace)}&sel=${encodeURIComponent(v.id)}` }, v.version || "(none)")),
      h("td", { class: "num" }, fmtRate(rps(v))),
      h("td", { class: "num" }, fmtPct(errRate(v))),
      h("td", {}, healthBadge(v.health)),
    ),
  );
  box.replaceChildren(h("h3", {}, "Versions"), h("table", { class: "mini", "aria-label": "Versions" }, h("thead", {}, head), h("tbody", {}, ...rows)));
}

/**
 * Fills box with the service's latest ERROR (and worse) log records, each
 * linked to its trace. Services without such records show nothing.
 */
async function loadRecentErrors(box: HTMLElement, ctx: PanelContext, n: GraphNode): Promise<void> {
  if (n.kind !== "service" || !n.name) return;
  const q = { service: n.name, namespace: n.namespace ?? "", severity: "error", ...panelRange(ctx) };
  let records: LogRecord[];
  try {
    records = (await getJSON<{ logs: LogRecord[] | null }>("logs", { ...q, limit: "5" })).logs ?? [];
  } catch {
    return; // the charts above say when the server cannot answer
  }
  if (!records.length) return;
  box.replaceChildren(
    h("h3", {}, "Recent errors"),
    h(
      "ul",
      { class: "recent-errors-list" },
      ...records.map((l) =>
        h(
          "li",
          {},
          h("time", { datetime: l.timestamp }, new Date(l.time_unix_nano / 1e6).toLocaleTimeString()),
          " ",
          h("span", { class: "log-body", title: l.body }, l.body),
          l.trace_id ? " " : "",
          l.trace_id ? h("a", { href: `#/traces/${encodeURIComponent(l.trace_id)}` }, "trace") : "",
        ),
      ),
    ),
    h("a", { href: `#/logs?${new URLSearchParams(q).toString()}` }, "All its errors"),
  );
}

/**
 * Fills box with the patterns of the service's WARN (and worse) log
 * records in the panel's range, the most common first, each opening its
 * records on the Logs page. Services without such records show nothing.
 */
async function loadLogPatterns(box: HTMLElement, ctx: PanelContext, n: GraphNode): Promise<void> {
  if (n.kind !== "service" || !n.name) return;
  const q = { service: n.name, namespace: n.namespace ?? "", severity: "warn", ...panelRange(ctx) };
  let patterns: LogPattern[];
  try {
    patterns = (await getJSON<LogPatterns>("logs/patterns", { ...q, limit: "3" })).patterns ?? [];
  } catch {
    return;
  }
  if (!patterns.length) return;
  const logs = (extra: Record<string, string>) => `#/logs?${new URLSearchParams({ ...q, ...extra }).toString()}`;
  box.replaceChildren(
    h("h3", {}, "Warnings and errors by pattern"),
    h(
      "ul",
      { class: "log-patterns-list" },
      ...patterns.map((p) =>
        h("li", {}, h("strong", {}, `${p.count}× `), severityBadge(p.severity_number, p.severity_text), " ", h("a", { href: logs({ pattern: p.pattern }), title: `latest: ${p.sample}` }, h("code", {}, p.pattern))),
      ),
    ),
    h("a", { href: logs({ patterns: "true" }) }, "All its patterns"),
  );
}

/**
 * Fills box with the exception types the service's spans recorded most in
 * the panel's range, each linked to the latest one's trace. Services
 * without exceptions show nothing.
 */
async function loadExceptions(box: HTMLElement, ctx: PanelContext, n: GraphNode): Promise<void> {
  if (n.kind !== "service" || !n.name) return;
  const q = { service: n.name, namespace: n.namespace ?? "", ...panelRange(ctx) };
  let groups: ExceptionGroup[];
  try {
    groups = (await getJSON<{ exceptions: ExceptionGroup[] | null }>("exceptions", { ...q, limit: "3" })).exceptions ?? [];
  } catch {
    return;
  }
  if (!groups.length) return;
  box.replaceChildren(
    h("h3", {}, "Top exceptions"),
    h(
      "ul",
      { class: "top-exceptions-list" },
      ...groups.map((e) =>
        h(
          "li",
          {},
          h("strong", {}, fmtCount(e.count)),
          " ",
          newBadge(e),
          h("code", { title: e.message }, e.type || "(no type)"),
          e.source === "log" ? h("span", { class: "muted" }, " logged") : "",
          e.trace_id ? " " : "",
          e.trace_id ? h("a", { href: `#/traces/${encodeURIComponent(e.trace_id)}` }, "latest trace") : "",
        ),
      ),
    ),
    h("a", { href: `#/exceptions?${new URLSearchParams(q).toString()}` }, "All its exceptions"),
  );
}

/** One operation of GET /api/v1/traces/operations. */
interface Operation {
  name: string;
  spans: number;
  rps: number;
  error_rate: number;
  p50_ns: number;
  p99_ns: number;
}

/**
 * Fills box with the calls a service serves, from its server and consumer
 * spans, busiest first, each linked to its traces. Services without spans
 * (seen by access logs or metrics only) show nothing.
 */
async function loadOperations(box: HTMLElement, ctx: PanelContext, n: GraphNode): Promise<void> {
  if (n.kind !== "service" || !n.name) return;
  try {
    const d = await getJSON<{ operations: Operation[] | null }>("traces/operations", {
      service: n.name,
      namespace: n.namespace ?? "",
      kind: "server,consumer",
      ...panelRange(ctx),
      limit: "8",
    });
    const ops = d.operations ?? [];
    if (!ops.length) return;
    const head = h("tr", {}, ...["Operation", "rps", "err", "p50", "p99"].map((t, i) => h("th", { scope: "col", class: i ? "num" : "" }, t)));
    const rows = ops.map((o) =>
      h(
        "tr",
        {},
        h("td", {}, h("a", { href: `#/traces?service=${encodeURIComponent(n.name)}&operation=${encodeURIComponent(o.name)}` }, o.name)),
        h("td", { class: "num" }, fmtRate(o.rps)),
        h("td", { class: "num" }, fmtPct(o.error_rate)),
        h("td", { class: "num" }, fmtMs(o.p50_ns / 1e6)),
        h("td", { class: "num" }, fmtMs(o.p99_ns / 1e6)),
      ),
    );
    box.replaceChildren(h("table", { class: "mini", "aria-label": "Operations" }, h("thead", {}, head), h("tbody", {}, ...rows)));
  } catch (err) {
    box.replaceChildren(h("p", { class: "error" }, "Operations: " + (err instanceof APIError ? err.message : String(err))));
  }
}

/** An entry of GET /api/v1/services/{ns}/{name}/instances. */
export interface Instance {
  instance: string;
  key: string;
  version: string;
  workload: string;
  requests: number;
  errors: number;
  rps: number;
  error_rate: number;
  p50_ms: number;
  p99_ms: number;
  share: number;
  outlier: string[] | null;
  why?: string[] | null;
}

/**
 * The length of the prefix names share up to a dash (a pod name's
 * workload and hash), so that a table shows what tells them apart; 0 when
 * they share none worth cutting.
 */
export function sharedPrefix(names: string[]): number {
  if (names.length < 2) return 0;
  let n = names[0]!.length;
  for (const s of names) {
    let i = 0;
    while (i < n && i < s.length && s[i] === names[0]![i]) i++;
    n = i;
  }
  const dash = names[0]!.lastIndexOf("-", n - 1);
  return dash >= 3 ? dash + 1 : 0;
}

/**
 * Fills box with the calls the service (or the version, or the workload,
 * of a node of those graphs) took by the instance (pod) that served them,
 * the replicas that fail or answer slower than their siblings first and
 * marked; a pod's name links to its traces and its logs. A node seen on
 * one instance, or none, shows nothing.
 */
async function loadInstances(box: HTMLElement, ctx: PanelContext, n: GraphNode): Promise<void> {
  const p = serviceParams(n);
  if (!p) return;
  try {
    const d = await getJSON<{ source: string; instances: Instance[] | null }>(`services/${encodeURIComponent(p.ns || "_")}/${encodeURIComponent(p.name)}/instances`, panelRange(ctx));
    // A version's or a workload's node lists its own instances (outliers
    // are marked within a version already).
    const all = d.instances ?? [];
    const list = n.kind === "version" && n.version ? all.filter((i) => i.version === n.version) : n.kind === "workload" && n.workload ? all.filter((i) => i.workload === n.workload) : all;
    if (list.length < 2) return;
    const outliers = list.filter((i) => i.outlier?.length);
    const head = h("tr", {}, ...["Instance", "share", "err", "p50", "p99"].map((t, i) => h("th", { scope: "col", class: i ? "num" : "" }, t)));
    const shown = list.slice(0, 12);
    const cut = sharedPrefix(shown.map((i) => i.instance));
    const rows = shown.map((i) => {
      const label = cut ? "…" + i.instance.slice(cut) : i.instance;
      const name: (HTMLElement | string)[] = [h("span", { title: i.instance }, label)];
      if (i.key !== "address") {
        const pod = `${i.key}=${logfmtValue(i.instance)}`;
        name.splice(
          0,
          1,
          h("a", { href: `#/traces?${new URLSearchParams({ service: n.name, tags: pod }).toString()}`, title: `Traces served by ${i.instance}` }, label),
          " ",
          h("a", { class: "muted", href: `#/logs?${new URLSearchParams({ service: n.name, namespace: n.namespace ?? "", resource: pod }).toString()}`, title: `Logs of ${i.instance}` }, "logs"),
        );
      }
      // The numbers an instance stands out by are marked where they are.
      const bad = (what: string) => (i.outlier?.includes(what) ? "num bad" : "num");
      return h(
        "tr",
        { class: i.outlier?.length ? "outlier" : "", title: [i.version && `version ${i.version}`, ...(i.why ?? [])].filter(Boolean).join("\n") },
        h("td", {}, ...name),
        h("td", { class: "num", title: `${fmtCount(i.requests)} requests` }, fmtPct(i.share)),
        h("td", { class: bad("errors") }, fmtPct(i.error_rate)),
        h("td", { class: bad("latency") }, fmtMs(i.p50_ms)),
        h("td", { class: "num" }, fmtMs(i.p99_ms)),
      );
    });
    const what = { spans: "from its server spans", requests: "from the access logs of its calls", metrics: "from its SDKs' request duration histograms" }[d.source] ?? d.source;
    box.replaceChildren(
      h("h3", {}, `Instances (${list.length})`, outliers.length ? h("span", { class: "badge outlier" }, `${outliers.length} outlier${outliers.length > 1 ? "s" : ""}`) : ""),
      h("p", { class: "muted" }, outliers.length ? outliers.map((o) => `${o.instance} ${(o.why ?? []).join(", ")}`).join("; ") + ` (${what}).` : `No instance stands out (${what}).`),
      h("table", { class: "mini", "aria-label": "Instances" }, h("thead", {}, head), h("tbody", {}, ...rows)),
    );
  } catch (err) {
    box.replaceChildren(h("p", { class: "error" }, "Instances: " + (err instanceof APIError ? err.message : String(err))));
  }
}

/** The totals grid of a node; replaced in place when live numbers change. */
export function nodeNumbers(n: GraphNode): HTMLElement {
  return h(
    "section",
    { class: "numbers", "aria-label": "Totals" },
    stat("rps in", fmtRate(n.rps_in)),
    stat("errors in", fmtPct(n.error_rate_in)),
    stat("rps out", fmtRate(n.rps_out)),
    stat("requests in", fmtCount(n.requests_in)),
    stat("errors", fmtCount(n.errors_in)),
    stat("requests out", fmtCount(n.requests_out)),
  );
}

function stat(label: string, value: string): HTMLElement {
  return h("div", { class: "stat" }, h("div", { class: "stat-v" }, value), h("div", { class: "stat-l" }, label));
}

async function loadSeries(charts: HTMLElement, tables: HTMLElement, ctx: PanelContext, n: GraphNode): Promise<void> {
  const p = serviceParams(n);
  if (!p) {
    charts.replaceChildren(h("p", { class: "muted" }, "No time series for this kind of node."));
    return;
  }
  try {
    const d = await getJSON<ServiceDetail>(`services/${encodeURIComponent(p.ns)}/${encodeURIComponent(p.name)}`, { ...panelRange(ctx), versions: "true" });
    const s = d.series ?? { time: [] };
    const t = s.time ?? [];
    const versions = s.versions ?? [];
    const markers = deployMarkers(versions);
    charts.replaceChildren(
      ...directionNote(d),
      ...deployNote(n, markers),
      lineChart("Rate (rps)", t, [{ label: "rps", values: s.rps ?? [], color: "#1c7ed6" }], fmtRate, undefined, markers),
      lineChart("Errors", t, [{ label: "error rate", values: s.error_rate ?? [], color: "#e03131" }], fmtPct, undefined, markers),
      lineChart("Duration", t, [
        { label: "p50", values: s.p50_ms ?? [], color: "#37b24d" },
        { label: "p95", values: s.p95_ms ?? [], color: "#f59f00" },
        { label: "p99", values: s.p99_ms ?? [], color: "#e03131" },
      ], fmtMs, undefined, markers),
      ...versionCharts(t, versions, markers),
    );
    if ((d.callers && d.callers.length) || (d.callees && d.callees.length)) {
      tables.replaceChildren(edgeTable(ctx, "Top callers", d.callers ?? [], (e) => e.source), edgeTable(ctx, "Top callees", d.callees ?? [], (e) => e.target));
    }
  } catch (err) {
    charts.replaceChildren(h("p", { class: "error" }, "Series: " + (err instanceof APIError ? err.message : String(err))));
  }
}

/** Names the versions deployed in the range, each a link to it in the graph by version. */
function deployNote(n: GraphNode, markers: Marker[]): HTMLElement[] {
  if (!markers.length) return [];
  const href = (v: string) => `#/graph?g=version&ns=${encodeURIComponent(n.namespace)}&sel=${encodeURIComponent(`version:${n.namespace}/${n.name}/${v}`)}`;
  return [
    h(
      "p",
      { class: "deploys", "aria-label": "Deployed in the range" },
      "Deployed in the range: ",
      ...markers.flatMap((m, i) => [i ? ", " : "", h("a", { href: href(m.label) }, m.label), ` (first calls ${new Date(m.time * 1000).toLocaleString()})`]),
    ),
  ];
}

async function loadBlast(box: HTMLElement, ctx: PanelContext, id: string): Promise<void> {
  try {
    // The graph the node is of: its granularity, and the view's range when
    // it has one (the live graph by service alone knows no version node).
    const granularity = id.startsWith("version:") ? "version" : id.startsWith("workload:") ? "workload" : undefined;
    const body = await getJSON<unknown>("graph/analytics/blast-radius", { node: id, granularity, ...(ctx.range() ? panelRange(ctx) : {}) });
    const ids = new Set(idsFromAnalytics(body));
    ids.add(id);
    ctx.setBlast(ids);
    const others = [...ids].filter((x) => x !== id);
    box.replaceChildren(
      h("h3", {}, `Blast radius: ${others.length} node${others.length === 1 ? "" : "s"}`),
      h("p", { class: "muted" }, "Nodes that depend on this one, highlighted in purple on the graph."),
      h("ul", { class: "blast-list" }, ...others.slice(0, 30).map((x) => h("li", {}, h("a", { href: "#", onclick: (ev: Event) => (ev.preventDefault(), ctx.selectNode(x)) }, ctx.label(x))))),
    );
  } catch (err) {
    ctx.setBlast(null);
    box.replaceChildren(h("p", { class: "muted" }, "Blast radius unavailable: " + (err instanceof Error ? err.message : String(err))));
  }
}
