// Stable layout. Existing nodes never move: a new node starts next to its
// placed neighbours (or in its namespace's cluster), then a bounded number of
// ForceAtlas2 iterations run in a web worker on the new nodes only, with every
// other node fixed. Positions are remembered per view in localStorage.
//
// The layered mode instead places every node by the direction of its calls
// (layered.ts), again whenever nodes are added; nodes moved by hand stay,
// across reloads too (remembered with their positions).

import type Graph from "graphology";
import { layeredPositions } from "./layered";
import type { LayoutRequest, LayoutResponse } from "./layout-worker";

/** How nodes are placed: "" (force, stable) or "layered". */
export type LayoutMode = "" | "layered";

declare const __LAYOUT_WORKER_URL__: string;

const STORAGE_PREFIX = "meshscope.positions.";
const MAX_STORED = 20000;
const SPACING = 10;
const GOLDEN = Math.PI * (3 - Math.sqrt(5));

type XY = [number, number];
/** A remembered position, with 1 third when the node was moved by hand. */
type Stored = XY | [number, number, 1];

/** Remembers node positions of one view (granularity, grouping) across reloads. */
export class PositionCache {
  private map = new Map<string, Stored>();
  private dirty = false;
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(readonly view: string) {
    try {
      const raw = localStorage.getItem(STORAGE_PREFIX + view);
      if (raw) {
        const obj = JSON.parse(raw) as Record<string, Stored>;
        for (const [k, v] of Object.entries(obj)) {
          if (Array.isArray(v) && isFinite(v[0]) && isFinite(v[1])) this.map.set(k, v[2] === 1 ? [v[0], v[1], 1] : [v[0], v[1]]);
        }
      }
    } catch {
      /* storage unavailable or corrupt: start empty */
    }
  }

  get(id: string): XY | undefined {
    const p = this.map.get(id);
    return p && [p[0], p[1]];
  }

  /** Whether the node was moved by hand where it was remembered. */
  pinned(id: string): boolean {
    return this.map.get(id)?.[2] === 1;
  }

  set(id: string, x: number, y: number, pinned = false): void {
    this.map.delete(id); // keep insertion order as recency
    this.map.set(id, pinned ? [x, y, 1] : [x, y]);
    this.schedule();
  }

  private schedule(): void {
    this.dirty = true;
    if (this.timer !== undefined) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.flush();
    }, 1500);
  }

  /** Writes the positions to localStorage now. */
  flush(): void {
    if (!this.dirty) return;
    this.dirty = false;
    while (this.map.size > MAX_STORED) {
      const first = this.map.keys().next().value;
      if (first === undefined) break;
      this.map.delete(first);
    }
    const obj: Record<string, Stored> = {};
    for (const [k, v] of this.map) {
      const xy: XY = [Math.round(v[0] * 100) / 100, Math.round(v[1] * 100) / 100];
      obj[k] = v[2] === 1 ? [xy[0], xy[1], 1] : xy;
    }
    try {
      localStorage.setItem(STORAGE_PREFIX + this.view, JSON.stringify(obj));
    } catch {
      /* quota exceeded: positions stay in memory */
    }
  }
}

/** Deterministic pseudo-random in [0,1) from a string, so placement is repeatable. */
function hash01(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 16777619);
  }
  return ((h >>> 0) % 100000) / 100000;
}

/**
 * Places new nodes and refines them off the main thread. The graph's node
 * attributes x and y are the positions; attribute "ns" groups nodes into
 * clusters when they have no placed neighbour.
 */
export class Layout {
  cache: PositionCache;
  private worker: Worker | null = null;
  private nextReq = 1;
  private pending = new Map<number, { onDone: () => void }>();
  /** Time the last refinement spent in the worker. */
  lastWorkerMs = -1;
  private anchors = new Map<string, { x: number; y: number; count: number }>();
  mode: LayoutMode = "";
  /** Time the last layered placement took on the main thread. */
  lastLayeredMs = -1;

  /** current returns the graph that refinements apply to when they finish. */
  constructor(
    view: string,
    private readonly current: () => Graph,
  ) {
    this.cache = new PositionCache(view);
  }

  /** Switches to another view's remembered positions. */
  setView(view: string): void {
    if (view === this.cache.view) return;
    this.cache.flush();
    this.cache = new PositionCache(view);
    this.anchors.clear();
  }

  /** Number of refinements still running. */
  get busy(): number {
    return this.pending.size;
  }

  /**
   * Gives every node in ids a position. Remembered positions come first, then
   * the mean of placed neighbours, then the node's namespace cluster. Returns
   * the ids that got a fresh (not remembered) position.
   */
  place(graph: Graph, ids: string[]): string[] {
    // Nodes moved by hand, before a reload too, stay where they were put.
    for (const id of ids) {
      const p = this.cache.get(id);
      if (p && this.cache.pinned(id)) graph.mergeNodeAttributes(id, { x: p[0], y: p[1], pinned: true });
    }
    if (this.mode === "layered") {
      if (ids.length) this.placeLayered(graph);
      return [];
    }
    const placed = new Set<string>();
    const fresh: string[] = [];
    const todo = new Set(ids);
    for (const id of ids) {
      const p = this.cache.get(id);
      if (p) {
        graph.mergeNodeAttributes(id, { x: p[0], y: p[1] });
        placed.add(id);
        todo.delete(id);
      }
    }
    if (todo.size === 0) return fresh;
    this.updateAnchors(graph, todo);
    // Breadth-first from already placed nodes, so chains of new nodes grow
    // outwards from the part of the graph they attach to.
    let frontier = [...todo].filter((id) => this.placedNeighbours(graph, id, todo).length > 0);
    const visited = new Set<string>();
    while (frontier.length) {
      const next: string[] = [];
      for (const id of frontier) {
        if (visited.has(id) || !todo.has(id)) continue;
        visited.add(id);
        const nb = this.placedNeighbours(graph, id, todo);
        if (nb.length === 0) continue;
        let x = 0;
        let y = 0;
        for (const [nx, ny] of nb) {
          x += nx;
          y += ny;
        }
        x /= nb.length;
        y /= nb.length;
        const a = hash01(id) * 2 * Math.PI;
        const r = SPACING * (0.8 + hash01(id + "r") * 0.8);
        graph.mergeNodeAttributes(id, { x: x + Math.cos(a) * r, y: y + Math.sin(a) * r });
        todo.delete(id);
        fresh.push(id);
        graph.forEachNeighbor(id, (n) => {
          if (todo.has(n)) next.push(n);
        });
      }
      frontier = next;
    }
    // What is left has no placed neighbour: put it in its namespace cluster,
    // highest degree first so hubs end up in the middle.
    const rest = [...todo].sort((a, b) => graph.degree(b) - graph.degree(a) || (a < b ? -1 : 1));
    for (const id of rest) {
      const ns = String(graph.getNodeAttribute(id, "ns") ?? "");
      const anchor = this.anchorFor(ns);
      const k = anchor.count++;
      const r = SPACING * Math.sqrt(k + 0.5);
      const t = k * GOLDEN;
      graph.mergeNodeAttributes(id, { x: anchor.x + Math.cos(t) * r, y: anchor.y + Math.sin(t) * r });
      fresh.push(id);
    }
    return fresh;
  }

  /** Places every node of graph but those moved by hand in layers. */
  private placeLayered(graph: Graph): void {
    const t0 = performance.now();
    const edges: [string, string][] = [];
    graph.forEachEdge((_e, _a, s, t) => {
      edges.push([s, t]);
    });
    const pos = layeredPositions(graph.nodes(), edges);
    graph.updateEachNodeAttributes(
      (id, a) => {
        const p = pos.get(id);
        if (p && !a["pinned"]) {
          a["x"] = p[0];
          a["y"] = p[1];
        }
        return a;
      },
      { attributes: ["x", "y"] },
    );
    this.lastLayeredMs = performance.now() - t0;
  }

  private placedNeighbours(graph: Graph, id: string, todo: Set<string>): XY[] {
    const out: XY[] = [];
    graph.forEachNeighbor(id, (n, a) => {
      if (!todo.has(n) && isFinite(a["x"]) && isFinite(a["y"])) out.push([a["x"], a["y"]]);
    });
    return out;
  }

  /** Recomputes the clusters' centres from the nodes already placed. */
  private updateAnchors(graph: Graph, todo: Set<string>): void {
    const sums = new Map<string, { x: number; y: number; n: number }>();
    graph.forEachNode((id, a) => {
      if (todo.has(id)) return;
      const ns = String(a["ns"] ?? "");
      const s = sums.get(ns) ?? { x: 0, y: 0, n: 0 };
      s.x += a["x"];
      s.y += a["y"];
      s.n++;
      sums.set(ns, s);
    });
    for (const [ns, s] of sums) {
      const prev = this.anchors.get(ns);
      this.anchors.set(ns, { x: s.x / s.n, y: s.y / s.n, count: Math.max(prev?.count ?? 0, s.n) });
    }
  }

  private anchorFor(ns: string): { x: number; y: number; count: number } {
    let a = this.anchors.get(ns);
    if (!a) {
      // New clusters go on a wide spiral around the origin.
      const k = this.anchors.size;
      const r = SPACING * 18 * Math.sqrt(k);
      const t = k * GOLDEN;
      a = { x: Math.cos(t) * r, y: Math.sin(t) * r, count: 0 };
      this.anchors.set(ns, a);
    }
    return a;
  }

  /**
   * Runs a bounded ForceAtlas2 on the fresh nodes with their neighbours fixed,
   * then moves only the fresh nodes. onDone runs when positions are applied
   * (or at once when there is nothing to do).
   */
  refine(graph: Graph, fresh: string[], onDone: () => void): void {
    if (fresh.length === 0 || typeof Worker === "undefined") {
      this.remember(graph, fresh);
      onDone();
      return;
    }
    const freshSet = new Set(fresh);
    const include = new Set<string>(fresh);
    for (const id of fresh) graph.forEachNeighbor(id, (n) => include.add(n));
    const nodes: LayoutRequest["nodes"] = [];
    for (const id of include) {
      const a = graph.getNodeAttributes(id);
      nodes.push({ id, x: a["x"], y: a["y"], fixed: !freshSet.has(id), size: a["size"] ?? 4 });
    }
    const edges: LayoutRequest["edges"] = [];
    graph.forEachEdge((_e, a, s, t) => {
      if ((freshSet.has(s) || freshSet.has(t)) && include.has(s) && include.has(t)) {
        edges.push([s, t, 1 + Math.log10(1 + (a["rps"] ?? 0))]);
      }
    });
    // Bounded work: fewer iterations for bigger batches.
    const iterations = Math.max(15, Math.min(400, Math.round(60000 / (nodes.length + edges.length + 200))));
    const id = this.nextReq++;
    this.pending.set(id, { onDone });
    const w = this.ensureWorker();
    if (!w) {
      this.pending.delete(id);
      this.remember(graph, fresh);
      onDone();
      return;
    }
    const req: LayoutRequest = { id, nodes, edges, iterations };
    w.postMessage(req);
  }

  private ensureWorker(): Worker | null {
    if (this.worker) return this.worker;
    try {
      this.worker = new Worker(__LAYOUT_WORKER_URL__);
    } catch {
      return null;
    }
    this.worker.onmessage = (ev: MessageEvent<LayoutResponse>) => {
      this.lastWorkerMs = ev.data.ms;
      const job = this.pending.get(ev.data.id);
      if (!job) return;
      this.pending.delete(ev.data.id);
      const g = this.current();
      const moved: string[] = [];
      const pos = ev.data.positions;
      const ids = Object.keys(pos).filter((id) => g.hasNode(id) && !g.getNodeAttribute(id, "pinned"));
      if (ids.length > 200) {
        // One bulk update (one renderer refresh) instead of an event per node.
        const want = new Set(ids);
        g.updateEachNodeAttributes(
          (id, a) => {
            if (want.has(id)) {
              a["x"] = pos[id]![0];
              a["y"] = pos[id]![1];
            }
            return a;
          },
          { attributes: ["x", "y"] },
        );
        moved.push(...ids);
      } else {
        for (const id of ids) {
          g.mergeNodeAttributes(id, { x: pos[id]![0], y: pos[id]![1] });
          moved.push(id);
        }
      }
      this.remember(g, moved);
      job.onDone();
    };
    this.worker.onerror = () => {
      // Keep the seeded positions when the worker cannot run.
      for (const [id, job] of this.pending) {
        this.pending.delete(id);
        job.onDone();
      }
    };
    return this.worker;
  }

  /** Stores the current positions of ids. */
  remember(graph: Graph, ids: string[]): void {
    for (const id of ids) {
      if (!graph.hasNode(id)) continue;
      const a = graph.getNodeAttributes(id);
      this.cache.set(id, a["x"], a["y"], !!a["pinned"]);
    }
  }

  /** Forgets pending refinements (their results are ignored). */
  cancel(): void {
    for (const [, job] of this.pending) job.onDone();
    this.pending.clear();
  }
}
