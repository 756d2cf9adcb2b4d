// Exports of the current graph: PNG (from the WebGL canvas), SVG (drawn from
// node positions), JSON (the API shape) and Graphviz DOT.

import type Graph from "graphology";
import type { GraphEdge, GraphNode } from "./types";

function esc(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

function visible(a: Record<string, unknown>): boolean {
  return !a["hidden"];
}

/** The visible part of the display graph in the API's JSON shape. */
export function toJSON(g: Graph, meta: Record<string, unknown>): string {
  const nodes: (GraphNode & { x: number; y: number })[] = [];
  const edges: GraphEdge[] = [];
  g.forEachNode((_id, a) => {
    if (visible(a)) nodes.push({ ...(a["data"] as GraphNode), x: a["x"], y: a["y"] });
  });
  g.forEachEdge((_id, a, s, t) => {
    if (visible(a) && visible(g.getNodeAttributes(s)) && visible(g.getNodeAttributes(t))) edges.push(a["data"] as GraphEdge);
  });
  return JSON.stringify({ ...meta, nodes, edges }, null, 2);
}

function dotID(s: string): string {
  return '"' + s.replace(/\\/g, "\\\\").replace(/"/g, '\\"') + '"';
}

/** The visible part of the display graph as Graphviz DOT. */
export function toDOT(g: Graph): string {
  const lines = ["digraph meshscope {", "  rankdir=LR;", '  node [style=filled, fontname="Helvetica", fontsize=10];', '  edge [fontname="Helvetica", fontsize=8];'];
  g.forEachNode((id, a) => {
    if (!visible(a)) return;
    const n = a["data"] as GraphNode;
    const shape = { database: "cylinder", messaging: "cds", external: "diamond", client: "box" }[n.kind] ?? "ellipse";
    lines.push(`  ${dotID(id)} [label=${dotID(String(a["label"]))}, shape=${shape}, fillcolor=${dotID(String(a["baseColor"]))}, tooltip=${dotID(`${n.kind} ${n.namespace} rps_in=${n.rps_in}`)}];`);
  });
  g.forEachEdge((_id, a, s, t) => {
    if (!visible(a) || !visible(g.getNodeAttributes(s)) || !visible(g.getNodeAttributes(t))) return;
    const e = a["data"] as GraphEdge;
    const label = `${e.rps.toFixed(1)} rps${e.error_rate > 0 ? ` ${(e.error_rate * 100).toFixed(1)}% err` : ""}`;
    lines.push(`  ${dotID(s)} -> ${dotID(t)} [label=${dotID(label)}, color=${dotID(String(a["baseColor"]))}, penwidth=${Number(a["size"]).toFixed(1)}];`);
  });
  lines.push("}");
  return lines.join("\n") + "\n";
}

function shapeSVG(shape: string, x: number, y: number, r: number, fill: string): string {
  const f = `fill="${esc(fill)}" stroke="#fff" stroke-width="1"`;
  switch (shape) {
    case "square":
      return `<rect x="${(x - r).toFixed(1)}" y="${(y - r).toFixed(1)}" width="${(2 * r).toFixed(1)}" height="${(2 * r).toFixed(1)}" rx="${(r * 0.2).toFixed(1)}" ${f}/>`;
    case "rectangle":
      return `<rect x="${(x - r * 1.4).toFixed(1)}" y="${(y - r * 0.75).toFixed(1)}" width="${(2.8 * r).toFixed(1)}" height="${(1.5 * r).toFixed(1)}" rx="${(r * 0.3).toFixed(1)}" ${f}/>`;
    case "diamond":
      return `<polygon points="${x},${y - r} ${x + r},${y} ${x},${y + r} ${x - r},${y}" ${f}/>`;
    case "triangle":
      return `<polygon points="${x},${y - r} ${x + r * 0.87},${y + r * 0.5} ${x - r * 0.87},${y + r * 0.5}" ${f}/>`;
    default:
      return `<circle cx="${x.toFixed(1)}" cy="${y.toFixed(1)}" r="${r.toFixed(1)}" ${f}/>`;
  }
}

/** Draws the visible graph as a standalone SVG document. */
export function toSVG(g: Graph, width = 1600): string {
  let minX = Infinity;
  let minY = Infinity;
  let maxX = -Infinity;
  let maxY = -Infinity;
  g.forEachNode((_id, a) => {
    if (!visible(a)) return;
    minX = Math.min(minX, a["x"]);
    maxX = Math.max(maxX, a["x"]);
    minY = Math.min(minY, a["y"]);
    maxY = Math.max(maxY, a["y"]);
  });
  if (!isFinite(minX)) {
    minX = maxX = minY = maxY = 0;
  }
  const pad = 40;
  const spanX = Math.max(1, maxX - minX);
  const spanY = Math.max(1, maxY - minY);
  const scale = (width - 2 * pad) / Math.max(spanX, spanY);
  const height = Math.round(spanY * scale + 2 * pad);
  const w = Math.round(spanX * scale + 2 * pad);
  // Graph y grows upwards; SVG y grows downwards.
  const px = (x: number) => pad + (x - minX) * scale;
  const py = (y: number) => pad + (maxY - y) * scale;
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${height}" viewBox="0 0 ${w} ${height}" font-family="Helvetica, Arial, sans-serif">`);
  out.push(`<rect width="100%" height="100%" fill="#ffffff"/>`);
  const colors = new Set<string>();
  g.forEachEdge((_id, a) => void colors.add(String(a["color"])));
  out.push("<defs>");
  let i = 0;
  const markerOf = new Map<string, string>();
  for (const c of colors) {
    const id = `arrow${i++}`;
    markerOf.set(c, id);
    out.push(`<marker id="${id}" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="5" markerHeight="5" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="${esc(c)}"/></marker>`);
  }
  out.push("</defs>");
  out.push(`<g class="edges" fill="none">`);
  g.forEachEdge((_id, a, s, t) => {
    const sa = g.getNodeAttributes(s);
    const ta = g.getNodeAttributes(t);
    if (!visible(a) || !visible(sa) || !visible(ta) || s === t) return;
    const x1 = px(sa["x"]);
    const y1 = py(sa["y"]);
    let x2 = px(ta["x"]);
    let y2 = py(ta["y"]);
    // Stop at the target's rim so the arrow head stays visible.
    const dx = x2 - x1;
    const dy = y2 - y1;
    const len = Math.hypot(dx, dy) || 1;
    const r = Number(ta["size"]) + 1;
    x2 -= (dx / len) * r;
    y2 -= (dy / len) * r;
    const dash = a["dash"] ? ` stroke-dasharray="6 5"` : "";
    const e = a["data"] as GraphEdge;
    out.push(`<line x1="${x1.toFixed(1)}" y1="${y1.toFixed(1)}" x2="${x2.toFixed(1)}" y2="${y2.toFixed(1)}" stroke="${esc(String(a["color"]))}" stroke-width="${Number(a["size"]).toFixed(2)}"${dash} marker-end="url(#${markerOf.get(String(a["color"]))})"><title>${esc(`${s} → ${t}: ${e.rps} rps, ${(e.error_rate * 100).toFixed(2)}% errors`)}</title></line>`);
  });
  out.push("</g>");
  out.push(`<g class="nodes">`);
  g.forEachNode((id, a) => {
    if (!visible(a)) return;
    const x = px(a["x"]);
    const y = py(a["y"]);
    const r = Number(a["size"]);
    out.push(`<g><title>${esc(id)}</title>${shapeSVG(String(a["shape"]), x, y, r, String(a["color"]))}</g>`);
  });
  out.push("</g>");
  out.push(`<g class="labels" font-size="11" fill="#212529">`);
  g.forEachNode((_id, a) => {
    if (!visible(a) || a["dim"]) return;
    out.push(`<text x="${(px(a["x"]) + Number(a["size"]) + 3).toFixed(1)}" y="${(py(a["y"]) + 4).toFixed(1)}">${esc(String(a["label"]))}</text>`);
  });
  out.push("</g></svg>");
  return out.join("\n");
}
