// Layered layout: callers left of their callees, as a request flows (the
// ingress and clients first, databases and external services last). A
// simplified Sugiyama layout, linear in the graph's size per pass so that it
// places thousands of services in a few milliseconds:
//
//  1. cycles broken: edges that close a cycle (found by depth-first search)
//     are left out of the layering and drawn backwards;
//  2. layers by longest path: a node sits one layer right of its furthest
//     caller (a graph deeper than the square root of its size has its
//     layers merged evenly, so that the picture stays about as wide as
//     tall);
//  3. order within layers by barycentres: sweeps right and left, each node
//     moved towards the mean position of its neighbours, which untangles
//     most crossings;
//  4. coordinates: a layer is a column, split into several side by side
//     when it holds too many nodes for the picture to stay readable, and
//     nodes without edges go in columns of their own at the right.

export type XY = [number, number];

/** Distance between layers and between nodes of a layer. */
const LAYER_GAP = 100;
const NODE_GAP = 24;
/** Barycentre sweeps (each one right then left). */
const SWEEPS = 6;

/**
 * Positions for nodes given the directed edges between them ([source,
 * target] ids; edges naming unknown nodes and self-loops are ignored).
 * Deterministic: the same graph gets the same picture.
 */
export function layeredPositions(nodes: readonly string[], edges: readonly [string, string][]): Map<string, XY> {
  const n = nodes.length;
  const index = new Map<string, number>();
  const ids = [...nodes].sort();
  ids.forEach((id, i) => index.set(id, i));
  const out: number[][] = Array.from({ length: n }, () => []);
  const inc: number[][] = Array.from({ length: n }, () => []);
  const seen = new Set<number>();
  for (const [s, t] of edges) {
    const a = index.get(s);
    const b = index.get(t);
    if (a === undefined || b === undefined || a === b) continue;
    const key = a * n + b;
    if (seen.has(key)) continue;
    seen.add(key);
    out[a]!.push(b);
    inc[b]!.push(a);
  }

  const forward = acyclic(n, out, inc);
  const layer = longestPathLayers(n, forward);
  // A deep graph (long chains of calls) would be a long thin band: its
  // layers are merged evenly into at most maxLayers, calls inside a merged
  // layer then drawn within its column.
  let depth = 0;
  for (let v = 0; v < n; v++) depth = Math.max(depth, layer[v]! + 1);
  const maxLayers = Math.max(8, Math.ceil(Math.sqrt(n)));
  if (depth > maxLayers) for (let v = 0; v < n; v++) layer[v] = Math.floor((layer[v]! * maxLayers) / depth);

  // Nodes without edges stand apart; the others are ordered in their
  // layers.
  const lonely: number[] = [];
  const layers: number[][] = [];
  for (let v = 0; v < n; v++) {
    if (out[v]!.length === 0 && inc[v]!.length === 0) {
      lonely.push(v);
      continue;
    }
    (layers[layer[v]!] ??= []).push(v);
  }
  const pos = orderLayers(layers, out, inc);

  // Coordinates. A layer wraps into columns of at most perColumn nodes.
  const perColumn = Math.max(12, Math.ceil(2 * Math.sqrt(n)));
  const result = new Map<string, XY>();
  let x = 0;
  const column = (members: number[]) => {
    const cols = Math.max(1, Math.ceil(members.length / perColumn));
    const rows = Math.ceil(members.length / cols);
    members.forEach((v, i) => {
      // Column by column, so that neighbours in the order stay close.
      const c = Math.floor(i / rows);
      const r = i % rows;
      // Alternate columns shifted by half a gap, so that edges passing
      // through a wide layer do not run along a row of nodes.
      const y = (r - (rows - 1) / 2) * NODE_GAP + (c % 2 ? NODE_GAP / 2 : 0);
      result.set(ids[v]!, [x + c * (LAYER_GAP / 2), y]);
    });
    x += (cols - 1) * (LAYER_GAP / 2) + LAYER_GAP;
  };
  for (const members of layers) if (members) column(members.sort((a, b) => pos[a]! - pos[b]!));
  if (lonely.length) column(lonely);
  return result;
}

/**
 * The edges kept for layering, as adjacency lists: every edge but those a
 * depth-first search finds closing a cycle (back edges). The search starts
 * from nodes nobody calls, so that entry points stay on the left.
 */
function acyclic(n: number, out: number[][], inc: number[][]): number[][] {
  const state = new Uint8Array(n); // 0 unvisited, 1 on the stack, 2 done
  const forward: number[][] = Array.from({ length: n }, () => []);
  const starts: number[] = [];
  for (let v = 0; v < n; v++) if (inc[v]!.length === 0) starts.push(v);
  for (let v = 0; v < n; v++) if (inc[v]!.length > 0) starts.push(v);
  const stack: { v: number; i: number }[] = [];
  for (const s of starts) {
    if (state[s]) continue;
    state[s] = 1;
    stack.push({ v: s, i: 0 });
    while (stack.length) {
      const top = stack[stack.length - 1]!;
      const next = out[top.v]!;
      if (top.i >= next.length) {
        state[top.v] = 2;
        stack.pop();
        continue;
      }
      const w = next[top.i++]!;
      if (state[w] === 1) continue; // closes a cycle
      forward[top.v]!.push(w);
      if (state[w] === 0) {
        state[w] = 1;
        stack.push({ v: w, i: 0 });
      }
    }
  }
  return forward;
}

/** Each node's layer: one more than its furthest predecessor's (Kahn's order). */
function longestPathLayers(n: number, forward: number[][]): Int32Array {
  const indeg = new Int32Array(n);
  for (const next of forward) for (const w of next) indeg[w]!++;
  const layer = new Int32Array(n);
  const queue: number[] = [];
  for (let v = 0; v < n; v++) if (indeg[v] === 0) queue.push(v);
  for (let q = 0; q < queue.length; q++) {
    const v = queue[q]!;
    for (const w of forward[v]!) {
      layer[w] = Math.max(layer[w]!, layer[v]! + 1);
      if (--indeg[w]! === 0) queue.push(w);
    }
  }
  return layer;
}

/**
 * Orders each layer's nodes by barycentre sweeps; returns each node's
 * position within its layer, scaled to [0, 1] so that neighbours in layers
 * of different sizes compare.
 */
function orderLayers(layers: number[][], out: number[][], inc: number[][]): Float64Array {
  const n = out.length;
  const pos = new Float64Array(n);
  const place = (members: number[]) => {
    const d = Math.max(1, members.length - 1);
    members.forEach((v, i) => (pos[v] = members.length === 1 ? 0.5 : i / d));
  };
  for (const members of layers) if (members) place(members);
  const sweep = (members: number[], neighbours: number[][]) => {
    const bary = new Map<number, number>();
    for (const v of members) {
      const nb = neighbours[v]!;
      if (nb.length === 0) {
        bary.set(v, pos[v]!);
        continue;
      }
      let s = 0;
      for (const w of nb) s += pos[w]!;
      bary.set(v, s / nb.length);
    }
    members.sort((a, b) => bary.get(a)! - bary.get(b)! || pos[a]! - pos[b]!);
    place(members);
  };
  for (let k = 0; k < SWEEPS; k++) {
    for (let l = 1; l < layers.length; l++) if (layers[l]) sweep(layers[l]!, inc);
    for (let l = layers.length - 2; l >= 0; l--) if (layers[l]) sweep(layers[l]!, out);
  }
  return pos;
}
