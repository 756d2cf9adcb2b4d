// Web worker running a bounded number of ForceAtlas2 iterations on a
// subgraph. Nodes marked fixed never move; only the others get positions back.

import Graph from "graphology";
import forceAtlas2 from "graphology-layout-forceatlas2";

export interface LayoutRequest {
  id: number;
  nodes: { id: string; x: number; y: number; fixed: boolean; size: number }[];
  edges: [string, string, number][];
  iterations: number;
}

export interface LayoutResponse {
  id: number;
  positions: Record<string, [number, number]>;
  /** Time spent in the worker. */
  ms: number;
}

self.onmessage = (ev: MessageEvent<LayoutRequest>) => {
  const t0 = performance.now();
  const req = ev.data;
  const g = new Graph({ type: "undirected", multi: false, allowSelfLoops: false });
  for (const n of req.nodes) g.addNode(n.id, { x: n.x, y: n.y, fixed: n.fixed, size: n.size });
  for (const [s, t, w] of req.edges) {
    if (s !== t && g.hasNode(s) && g.hasNode(t) && !g.hasEdge(s, t)) g.addEdge(s, t, { weight: w });
  }
  const settings = forceAtlas2.inferSettings(g);
  const positions = forceAtlas2(g, {
    iterations: req.iterations,
    getEdgeWeight: "weight",
    settings: { ...settings, barnesHutOptimize: g.order > 500, adjustSizes: false },
  });
  const out: Record<string, [number, number]> = {};
  for (const n of req.nodes) {
    if (n.fixed) continue;
    const p = positions[n.id];
    if (p && isFinite(p.x) && isFinite(p.y)) out[n.id] = [p.x, p.y];
  }
  const res: LayoutResponse = { id: req.id, positions: out, ms: performance.now() - t0 };
  (self as unknown as Worker).postMessage(res);
};
