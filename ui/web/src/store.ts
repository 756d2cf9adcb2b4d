// The graph store: the raw nodes and edges of the current view (from a
// snapshot plus deltas, or from a historical query), and the display graph
// (graphology) that the renderer draws. Deltas mutate the display graph in
// place, so existing nodes keep their positions.

import Graph from "graphology";
import { DIM_EDGE, DIM_NODE, BLAST, diffColor, edgeColor, edgeSize, kindShape, nodeColor, nodeSize } from "./colors";
import { Layout } from "./layout";
import { edgeProtocols, edgeSubject, matches, needsEdges, needsShape, nodeSubject, shapeMatches, summarise, type Query } from "./query";
import type { DeltaMessage, GraphEdge, GraphNode, MeshGraph } from "./types";

/** How the display graph is decorated: find matches, selection, blast radius. */
export interface Decor {
  query: Query | null;
  hideOthers: boolean;
  selected: string;
  blast: Set<string> | null;
  diff: boolean;
}

export const emptyDecor: Decor = { query: null, hideOthers: false, selected: "", blast: null, diff: false };

const severity: Record<string, number> = { failing: 3, degraded: 2, healthy: 1, idle: 0 };

/** Label shown for a node. */
export function nodeLabel(n: GraphNode): string {
  switch (n.kind) {
    case "workload":
      return n.workload || n.name;
    case "version":
      return n.version ? `${n.name}@${n.version}` : n.name;
    case "client":
      return n.name || "unknown client";
    case "namespace":
      return n.name || "(no namespace)";
    default:
      return n.name || n.id.replace(/^[a-z]+:/, "");
  }
}

/**
 * Attributes of a node. A service that spans saw queried as a database
 * (an edge into it carries protocol db) is drawn as a database: its spans
 * and its proxies' connections are one node.
 */
function nodeAttrs(n: GraphNode, database: boolean): Record<string, unknown> {
  return {
    label: nodeLabel(n),
    size: nodeSize(n.rps_in, n.rps_out),
    baseColor: nodeColor(n.health),
    color: nodeColor(n.health),
    shape: n.kind === "namespace" ? "circle" : kindShape(database ? "database" : n.kind),
    ns: n.namespace,
    kind: n.kind,
    data: n,
  };
}

function edgeAttrs(e: GraphEdge): Record<string, unknown> {
  return {
    size: edgeSize(e.rps),
    baseColor: edgeColor(e.error_rate),
    color: edgeColor(e.error_rate),
    rps: e.rps,
    data: e,
  };
}

/** The namespace group id of a node, or "" when the node is not grouped. */
function groupOf(n: GraphNode): string {
  if (!n.namespace) return "";
  return "namespace:" + n.namespace;
}

/** Collapses each namespace into one node with summed numbers. */
export function groupByNamespace(nodes: Iterable<GraphNode>, edges: Iterable<GraphEdge>): MeshGraph {
  const groups = new Map<string, GraphNode>();
  const members = new Map<string, string>();
  for (const n of nodes) {
    const g = groupOf(n);
    if (!g) {
      groups.set(n.id, n);
      members.set(n.id, n.id);
      continue;
    }
    members.set(n.id, g);
    let agg = groups.get(g);
    if (!agg) {
      agg = {
        id: g,
        kind: "namespace",
        namespace: n.namespace,
        name: n.namespace,
        workload: "",
        version: "",
        cluster: n.cluster,
        health: "idle",
        requests_in: 0,
        errors_in: 0,
        rps_in: 0,
        error_rate_in: 0,
        requests_out: 0,
        errors_out: 0,
        rps_out: 0,
      };
      groups.set(g, agg);
    }
    agg.requests_in += n.requests_in || 0;
    agg.errors_in += n.errors_in || 0;
    agg.rps_in += n.rps_in || 0;
    agg.requests_out += n.requests_out || 0;
    agg.errors_out += n.errors_out || 0;
    agg.rps_out += n.rps_out || 0;
    if ((severity[n.health] ?? 0) > (severity[agg.health] ?? 0)) agg.health = n.health;
  }
  for (const agg of groups.values()) {
    if (agg.kind === "namespace") agg.error_rate_in = agg.requests_in ? agg.errors_in / agg.requests_in : 0;
  }
  const out = new Map<string, GraphEdge & { _w: number }>();
  for (const e of edges) {
    const s = members.get(e.source);
    const t = members.get(e.target);
    if (!s || !t || s === t) continue;
    const id = `${s}->${t}`;
    let a = out.get(id);
    if (!a) {
      a = {
        id,
        source: s,
        target: t,
        protocol: e.protocol,
        requests: 0,
        errors: 0,
        rps: 0,
        error_rate: 0,
        p50_ms: 0,
        p90_ms: 0,
        p95_ms: 0,
        p99_ms: 0,
        mean_ms: 0,
        bytes_sent: 0,
        bytes_received: 0,
        mtls_share: 0,
        provenance: [],
        _w: 0,
      };
      out.set(id, a);
    }
    const w = e.requests || 0;
    a.requests += w;
    a.errors += e.errors || 0;
    a.rps += e.rps || 0;
    a.bytes_sent += e.bytes_sent || 0;
    a.bytes_received += e.bytes_received || 0;
    a.p50_ms = Math.max(a.p50_ms, e.p50_ms || 0);
    a.p90_ms = Math.max(a.p90_ms, e.p90_ms || 0);
    a.p95_ms = Math.max(a.p95_ms, e.p95_ms || 0);
    a.p99_ms = Math.max(a.p99_ms, e.p99_ms || 0);
    a.mean_ms += (e.mean_ms || 0) * w;
    a.mtls_share += (e.mtls_share || 0) * w;
    a._w += w;
    if (a.protocol !== e.protocol) a.protocol = "mixed";
    for (const p of e.provenance ?? []) if (!a.provenance.includes(p)) a.provenance.push(p);
  }
  const edgesOut: GraphEdge[] = [];
  for (const a of out.values()) {
    a.error_rate = a.requests ? a.errors / a.requests : 0;
    a.mean_ms = a._w ? a.mean_ms / a._w : 0;
    a.mtls_share = a._w ? a.mtls_share / a._w : 0;
    const { _w, ...edge } = a;
    void _w;
    edgesOut.push(edge);
  }
  return { nodes: [...groups.values()], edges: edgesOut };
}

export type StoreListener = () => void;

/**
 * The NAMESPACE/NAME of the service a node of the mesh is, or is a workload
 * or version of; "" for other nodes.
 */
function serviceKey(n: GraphNode): string {
  return n.kind === "service" || n.kind === "workload" || n.kind === "version" ? `${n.namespace}/${n.name}` : "";
}

/** A ring around a node: something new about it lately (GraphStore.markOf). */
export type Mark = "" | "worse" | "exception" | "deployed";

/** Decoration flags that change an item's depth or visibility. */
const flagKeys = ["dim", "hidden", "hl", "sel", "dash"];

/** Holds the current graph of the view and applies snapshots and deltas. */
export class GraphStore {
  readonly nodes = new Map<string, GraphNode>();
  readonly edges = new Map<string, GraphEdge>();
  graph: Graph;
  seq = -1;
  grouped = false;
  decor: Decor = emptyDecor;
  readonly layout: Layout;
  /** Called after every change of the display graph. */
  onChange: StoreListener = () => {};
  /** Called when a refinement of positions has finished. */
  onSettled: StoreListener = () => {};
  /**
   * When true, deltas update unchanged-looking items in place without graph
   * events; the caller must then repaint the ids from takeRepaint().
   */
  inPlace = false;
  private repaint: { nodes: string[]; edges: string[] } = { nodes: [], edges: [] };
  /** Nodes that edges with protocol db lead to. */
  private databases = new Set<string>();

  /** Whether a node is drawn as a database: edges with protocol db lead to it. */
  isDatabase(id: string): boolean {
    return this.databases.has(id);
  }

  /** Recomputes the nodes edges with protocol db lead to; returns those that changed. */
  private findDatabases(): string[] {
    const next = new Set<string>();
    for (const e of this.edges.values()) if (edgeProtocols(e).includes("db")) next.add(e.target);
    const changed = [...next].filter((id) => !this.databases.has(id));
    for (const id of this.databases) if (!next.has(id)) changed.push(id);
    this.databases = next;
    return changed;
  }

  /** Returns and forgets the ids updated in place since the last call. */
  takeRepaint(): { nodes: string[]; edges: string[] } {
    const r = this.repaint;
    this.repaint = { nodes: [], edges: [] };
    return r;
  }

  constructor(view: string) {
    this.graph = GraphStore.newGraph();
    this.layout = new Layout(view, () => this.graph);
  }

  static newGraph(): Graph {
    return new Graph({ type: "directed", multi: false, allowSelfLoops: true });
  }

  /** Switches the remembered-positions view (granularity, grouping, layout). */
  setView(view: string): void {
    this.layout.setView(view);
  }

  /** Places every node again (after the layout mode changed). */
  relayout(): void {
    const g = this.graph;
    this.layout.cancel();
    const seeded = this.layout.place(g, g.nodes());
    this.layout.refine(g, seeded, () => this.onSettled());
    this.onChange();
  }

  /**
   * Replaces the contents with a whole graph. Nodes already shown keep their
   * positions; new ones are placed near their neighbours. Returns the new
   * display graph, which the caller hands to the renderer.
   */
  applySnapshot(g: MeshGraph, seq: number): Graph {
    this.nodes.clear();
    this.edges.clear();
    for (const n of g.nodes ?? []) this.nodes.set(n.id, n);
    for (const e of g.edges ?? []) this.edges.set(e.id, e);
    this.seq = seq;
    return this.rebuild();
  }

  /** Rebuilds the display graph from the raw maps, keeping positions. */
  rebuild(): Graph {
    this.findDatabases();
    const old = this.graph;
    const view = this.grouped ? groupByNamespace(this.nodes.values(), this.edges.values()) : { nodes: [...this.nodes.values()], edges: [...this.edges.values()] };
    const g = GraphStore.newGraph();
    const fresh: string[] = [];
    for (const n of view.nodes) {
      const attrs = nodeAttrs(n, this.databases.has(n.id));
      attrs["mark"] = this.markOf(n);
      if (old.hasNode(n.id)) {
        const o = old.getNodeAttributes(n.id);
        attrs["x"] = o["x"];
        attrs["y"] = o["y"];
        if (o["pinned"]) attrs["pinned"] = true;
      } else {
        attrs["x"] = 0;
        attrs["y"] = 0;
        fresh.push(n.id);
      }
      g.addNode(n.id, attrs);
    }
    for (const e of view.edges) {
      if (!g.hasNode(e.source) || !g.hasNode(e.target) || g.hasEdge(e.id)) continue;
      g.addDirectedEdgeWithKey(e.id, e.source, e.target, edgeAttrs(e));
    }
    this.graph = g;
    this.layout.cancel();
    const seeded = this.layout.place(g, fresh);
    this.decorateAll();
    this.layout.refine(g, seeded, () => this.onSettled());
    this.onChange();
    return g;
  }

  /**
   * Applies a delta. Returns false when it does not follow the current state
   * (base_seq mismatch); the caller then asks for a fresh snapshot.
   */
  applyDelta(d: DeltaMessage): boolean {
    if (d.base_seq !== this.seq) return false;
    this.seq = d.seq;
    for (const id of d.nodes_removed ?? []) this.nodes.delete(id);
    for (const n of d.nodes_added ?? []) this.nodes.set(n.id, n);
    for (const n of d.nodes_updated ?? []) this.nodes.set(n.id, n);
    for (const id of d.edges_removed ?? []) this.edges.delete(id);
    for (const e of d.edges_added ?? []) this.edges.set(e.id, e);
    for (const e of d.edges_updated ?? []) this.edges.set(e.id, e);
    if (this.grouped) {
      // The grouped view is small: recompute it and patch the display graph.
      this.findDatabases();
      const view = groupByNamespace(this.nodes.values(), this.edges.values());
      this.patch(view.nodes, view.edges, true);
      return true;
    }
    const g = this.graph;
    for (const id of d.edges_removed ?? []) if (g.hasEdge(id)) g.dropEdge(id);
    for (const id of d.nodes_removed ?? []) if (g.hasNode(id)) g.dropNode(id);
    const nodes = [...(d.nodes_added ?? []), ...(d.nodes_updated ?? [])];
    // Nodes whose shape an edge changed are redrawn too.
    const inDelta = new Set(nodes.map((n) => n.id));
    for (const id of this.findDatabases()) {
      const n = this.nodes.get(id);
      if (n && !inDelta.has(id)) nodes.push(n);
    }
    this.patch(nodes, [...(d.edges_added ?? []), ...(d.edges_updated ?? [])], false);
    return true;
  }

  /**
   * Upserts nodes and edges into the display graph. With complete=true the
   * lists are the whole view and anything else is dropped. Each item is
   * written once, data and decoration together, so the renderer reprocesses
   * only what changed.
   */
  private patch(nodes: GraphNode[], edges: GraphEdge[], complete: boolean): void {
    const g = this.graph;
    const fresh: string[] = [];
    if (complete) {
      const keepN = new Set(nodes.map((n) => n.id));
      const keepE = new Set(edges.map((e) => e.id));
      g.forEachEdge((id) => {
        if (!keepE.has(id)) g.dropEdge(id);
      });
      for (const id of g.nodes()) if (!keepN.has(id)) g.dropNode(id);
    }
    const full = this.decorNeedsAll();
    const q = this.decor.query && this.decor.query.terms.length ? this.decor.query : null;
    const visChanged: string[] = [];
    for (const n of nodes) {
      const attrs = nodeAttrs(n, this.databases.has(n.id));
      attrs["mark"] = this.markOf(n);
      const match = q && !full ? matches(q, nodeSubject(n, undefined, this.newExceptionsOf(n))) : null;
      if (g.hasNode(n.id)) {
        const prev = g.getNodeAttributes(n.id);
        const style = full ? {} : this.nodeStyle(n.id, { ...prev, ...attrs }, match);
        const flagsSame = !full && flagKeys.every((k) => k === "dash" || prev[k] === style[k]);
        if (!full && (prev["dim"] !== style["dim"] || prev["hidden"] !== style["hidden"])) visChanged.push(n.id);
        if (flagsSame && this.inPlace) {
          // Same depth and visibility: update in place and let the renderer
          // repaint just this node (see takeRepaint).
          Object.assign(prev, attrs, style);
          this.repaint.nodes.push(n.id);
        } else {
          g.mergeNodeAttributes(n.id, { ...attrs, ...style });
        }
      } else {
        attrs["x"] = 0;
        attrs["y"] = 0;
        Object.assign(attrs, full ? {} : this.nodeStyle(n.id, attrs, match));
        g.addNode(n.id, attrs);
        fresh.push(n.id);
      }
    }
    const done = new Set<string>();
    for (const e of edges) {
      const attrs = edgeAttrs(e);
      if (!g.hasNode(e.source) || !g.hasNode(e.target)) continue;
      if (!full) Object.assign(attrs, this.edgeStyle(attrs, e.source, e.target));
      if (g.hasEdge(e.id)) {
        const prev = g.getEdgeAttributes(e.id);
        if (!full && this.inPlace && flagKeys.every((k) => k === "sel" || prev[k] === attrs[k])) {
          Object.assign(prev, attrs);
          this.repaint.edges.push(e.id);
        } else {
          g.mergeEdgeAttributes(e.id, attrs);
        }
      } else {
        g.addDirectedEdgeWithKey(e.id, e.source, e.target, attrs);
      }
      done.add(e.id);
    }
    // Edges whose ends changed visibility follow them.
    for (const id of visChanged) {
      g.forEachEdge(id, (eid, a, s, t) => {
        if (done.has(eid)) return;
        done.add(eid);
        g.mergeEdgeAttributes(eid, this.edgeStyle(a, s, t));
      });
    }
    const seeded = this.layout.place(g, fresh);
    if (full) this.decorateAll();
    this.layout.refine(g, seeded, () => this.onSettled());
    this.onChange();
  }

  private decorNeedsAll(): boolean {
    const d = this.decor;
    return !!(d.query && d.query.terms.length && (needsEdges(d.query) || needsShape(d.query))) || !!d.blast;
  }

  /** Sets the decoration and applies it to the whole graph. */
  setDecor(d: Partial<Decor>): void {
    this.decor = { ...this.decor, ...d };
    this.decorateAll();
    this.onChange();
  }

  /** The node ids matching the current find query (all when none). */
  matchingNodes(): Set<string> | null {
    const q = this.decor.query;
    if (!q || q.terms.length === 0) return null;
    const g = this.graph;
    const useEdges = needsEdges(q);
    const shaped = this.shapeMatches(q);
    const out = new Set<string>();
    g.forEachNode((id, a) => {
      if (shaped && !shaped.has(id)) return;
      const n = a["data"] as GraphNode;
      let summary;
      if (useEdges) {
        const inc: GraphEdge[] = [];
        const outE: GraphEdge[] = [];
        g.forEachInEdge(id, (_e, ea) => void inc.push(ea["data"] as GraphEdge));
        g.forEachOutEdge(id, (_e, ea) => void outE.push(ea["data"] as GraphEdge));
        summary = summarise(inc, outE);
      }
      if (matches(q, nodeSubject(n, summary, this.newExceptionsOf(n)))) out.add(id);
    });
    return out;
  }

  /**
   * The exception types services showed for the first time lately, by
   * NAMESPACE/NAME (the header's new exceptions), for the find box's
   * exception~ term; set with setNewExceptions.
   */
  private newExceptions = new Map<string, string[]>();

  /** Sets the services' new exception types and decorates again when a query asks for them. */
  setNewExceptions(by: Map<string, string[]>): void {
    this.newExceptions = by;
    if (this.decor.query?.terms.some((t) => t.field === "exception")) this.setDecor({});
    this.remark();
  }

  /** Versions deployed lately and versions alerted on as worse, by NAMESPACE/NAME. */
  private deployed = new Map<string, Map<string, string>>();
  private worse = new Map<string, Set<string>>();

  /**
   * Sets the versions deployed lately (version to when its first calls
   * came, by NAMESPACE/NAME) and the deployed versions alerted on as worse
   * than their services' others, and rings the nodes again.
   */
  setDeployments(deployed: Map<string, Map<string, string>>, worse: Map<string, Set<string>>): void {
    this.deployed = deployed;
    this.worse = worse;
    this.remark();
  }

  /**
   * Whether the graph shows the present (live): a past range rings only
   * the versions deployed within it, as the worse deployments and the new
   * exception types are the present's.
   */
  private ringsLive = true;

  /** Sets whether the graph shows the present, and rings the nodes again. */
  setRingsLive(live: boolean): void {
    if (live === this.ringsLive) return;
    this.ringsLive = live;
    this.remark();
  }

  /** The versions of node n deployed lately, with when their first calls came. */
  deployedOf(n: GraphNode): [string, string][] {
    const key = serviceKey(n);
    const vs = [...((key && this.deployed.get(key)) || new Map<string, string>())];
    return n.kind === "version" ? vs.filter(([v]) => v === n.version) : vs;
  }

  /**
   * The ring node n is drawn with: "worse" when a version of it deployed
   * lately is alerted on as worse than its others, else "exception" when it
   * showed an exception type for the first time lately, else "deployed"
   * when a version of it was deployed lately; "" for none. A node of one
   * version takes that version's deployments only (new exceptions are the
   * service's). A past range's graph has only the "deployed" rings
   * (setRingsLive).
   */
  markOf(n: GraphNode): Mark {
    const key = serviceKey(n);
    if (!key) return "";
    const worse = this.ringsLive ? this.worse.get(key) : undefined;
    if (worse && (n.kind === "version" ? worse.has(n.version) : worse.size > 0)) return "worse";
    if (this.ringsLive && this.newExceptionsOf(n).length) return "exception";
    return this.deployedOf(n).length ? "deployed" : "";
  }

  /** Updates the nodes whose ring changed. */
  private remark(): void {
    const g = this.graph;
    let changed = false;
    g.forEachNode((id, a) => {
      const m = this.markOf(a["data"] as GraphNode);
      if ((a["mark"] ?? "") !== m) {
        g.setNodeAttribute(id, "mark", m);
        changed = true;
      }
    });
    if (changed) this.onChange();
  }

  /** The exception types node n showed for the first time lately. */
  newExceptionsOf(n: GraphNode): string[] {
    const key = serviceKey(n);
    return key ? (this.newExceptions.get(key) ?? []) : [];
  }

  /** The nodes shown for which q's terms over the graph's shape hold (null: it has none). */
  shapeMatches(q: Query): Set<string> | null {
    const g = this.graph;
    return shapeMatches(q, {
      forEachNode: (f) => g.forEachNode((id, a) => f(id, a["data"] as GraphNode)),
      neighbours: (id, dir) => (dir === "in" ? g.inNeighbors(id) : g.outNeighbors(id)),
    });
  }

  /** Decoration of a node; match is whether it matches the find query (null: no query). */
  private nodeStyle(id: string, a: Record<string, unknown>, match: boolean | null): Record<string, unknown> {
    const d = this.decor;
    const n = a["data"] as GraphNode;
    let color = a["baseColor"] as string;
    let dim = false;
    let hidden = false;
    let hl = false;
    if (d.diff && n.diff) {
      color = n.diff === "same" ? (a["baseColor"] as string) : diffColor[n.diff] ?? color;
    }
    if (match !== null) {
      if (match) hl = true;
      else if (d.hideOthers) hidden = true;
      else dim = true;
    }
    if (d.blast) {
      if (d.blast.has(id)) {
        if (id !== d.selected) color = BLAST;
        dim = false;
        hl = true;
      } else if (!hidden) dim = true;
    }
    if (id === d.selected) {
      dim = false;
      hidden = false;
    }
    return { color: dim ? DIM_NODE : color, dim, hidden, hl, sel: id === d.selected };
  }

  private edgeStyle(a: Record<string, unknown>, s: string, t: string): Record<string, unknown> {
    const d = this.decor;
    const g = this.graph;
    const e = a["data"] as GraphEdge;
    let color = a["baseColor"] as string;
    let dash = 0;
    if (d.diff && e.diff) {
      color = diffColor[e.diff] ?? color;
      if (e.diff === "removed") dash = 1;
    }
    const sa = g.getNodeAttributes(s);
    const ta = g.getNodeAttributes(t);
    const hidden = !!(sa["hidden"] || ta["hidden"]);
    let dim = !!(sa["dim"] || ta["dim"]);
    let hl = false;
    if (d.blast && d.blast.has(s) && d.blast.has(t)) {
      color = BLAST;
      dim = false;
      hl = true;
    }
    if (d.selected && (s === d.selected || t === d.selected)) {
      dim = false;
      hl = true;
    }
    return { color: dim ? DIM_EDGE : color, dim, hidden, hl, dash };
  }

  /** Recomputes the decoration attributes of every node and edge. */
  decorateAll(): void {
    const g = this.graph;
    const matched = this.matchingNodes();
    g.updateEachNodeAttributes((id, a) => Object.assign(a, this.nodeStyle(id, a, matched ? matched.has(id) : null)), {
      attributes: ["color", "dim", "hidden", "hl", "sel"],
    });
    g.updateEachEdgeAttributes((_id, a, s, t) => Object.assign(a, this.edgeStyle(a, s, t)), {
      attributes: ["color", "dim", "hidden", "hl", "dash"],
    });
  }

  /** The raw or aggregated node shown under id. */
  node(id: string): GraphNode | undefined {
    if (!this.graph.hasNode(id)) return this.nodes.get(id);
    return this.graph.getNodeAttribute(id, "data") as GraphNode;
  }

  /** The raw or aggregated edge shown under id. */
  edge(id: string): GraphEdge | undefined {
    if (!this.graph.hasEdge(id)) return this.edges.get(id);
    return this.graph.getEdgeAttribute(id, "data") as GraphEdge;
  }

  /** Edges into and out of a node of the display graph. */
  edgesOf(id: string): { callers: GraphEdge[]; callees: GraphEdge[] } {
    const callers: GraphEdge[] = [];
    const callees: GraphEdge[] = [];
    if (!this.graph.hasNode(id)) return { callers, callees };
    this.graph.forEachInEdge(id, (_e, a) => void callers.push(a["data"] as GraphEdge));
    this.graph.forEachOutEdge(id, (_e, a) => void callees.push(a["data"] as GraphEdge));
    return { callers, callees };
  }

  /** Node positions, for the test hooks and exports. */
  positions(): Record<string, [number, number]> {
    const out: Record<string, [number, number]> = {};
    this.graph.forEachNode((id, a) => {
      out[id] = [a["x"], a["y"]];
    });
    return out;
  }

  /** Marks a node as moved by hand and remembers its position. */
  pin(id: string): void {
    if (!this.graph.hasNode(id)) return;
    this.graph.setNodeAttribute(id, "pinned", true);
    this.layout.remember(this.graph, [id]);
  }
}

/**
 * Edge match, exported for the table view's filter; shaped are the nodes
 * the query's shape terms hold for (null: none), both ends must be.
 */
export function edgeMatches(q: Query, e: GraphEdge, nodes: (id: string) => GraphNode | undefined, shaped: Set<string> | null = null): boolean {
  if (shaped && !(shaped.has(e.source) && shaped.has(e.target))) return false;
  return matches(q, edgeSubject(e, nodes(e.source), nodes(e.target)));
}
