// The WebGL renderer: a sigma instance drawing the store's display graph,
// with hover tooltips, click callbacks, keyboard camera control and image
// export.

import type Graph from "graphology";
import Sigma from "sigma";
import { extremityArrow, layerDashed, layerPlain, sdfCircle, sdfDiamond, sdfRectangle, sdfSquare, sdfTriangle } from "sigma/rendering";
import { markColor } from "./colors";
import { fmtBytes, fmtMs, fmtPct, fmtRate, h } from "./dom";
import type { EdgeLabels } from "./state";
import type { GraphEdge } from "./types";

export type NodeAttrs = Record<string, unknown> & { x: number; y: number; size: number; color: string; label: string };

/** Callbacks of user interactions with the picture. */
export interface RendererEvents {
  clickNode(id: string): void;
  clickEdge(id: string): void;
  clickStage(): void;
  nodeTooltip(id: string): HTMLElement | string;
  edgeTooltip(id: string): HTMLElement | string;
  dragEnd(id: string): void;
}

const BG = "#ffffff";

/**
 * The shapes sigma draws. The dashed edge layer (a diff's removed edges)
 * only when dashes are asked for: every edge goes through each layer, and
 * in software WebGL the second layer costs seconds at 20,000 edges.
 */
function primitives(dashes: boolean) {
  return {
    nodes: {
      shapes: [sdfCircle(), sdfSquare({ cornerRadius: 0.1 }), sdfTriangle(), sdfDiamond(), sdfRectangle({ aspectRatio: 1.8, cornerRadius: 0.25 })],
    },
    edges: {
      extremities: [extremityArrow({ lengthRatio: 5, widthRatio: 3.5 })],
      layers: dashes
        ? [
            layerPlain(),
            layerDashed({
              dashSize: { value: 6, mode: "pixels" },
              gapSize: { attribute: "gap", default: 0, mode: "pixels" },
              gapColor: BG,
            }),
          ]
        : [layerPlain()],
      ...(dashes ? { variables: { gap: { type: "number" as const, default: 0 } } } : {}),
      defaultHead: "arrow",
    },
  } as const;
}

type A = Record<string, unknown>;

/** Draws a graphology graph with sigma. */
/** An edge's label in a labelling mode: its rate, error rate, a latency percentile, share of its caller's calls, throughput or mTLS. */
export function edgeLabelText(e: GraphEdge | undefined, mode: EdgeLabels, callerOut?: number): string {
  if (!e || !mode) return "";
  switch (mode) {
    case "share":
      // The edge's share of its caller's outbound requests, as Kiali's
      // request distribution.
      return callerOut && callerOut > 0 ? `${fmtPct(Math.min(1, e.rps / callerOut))} of calls` : "";
    case "rps":
      return `${fmtRate(e.rps)} rps`;
    case "errors":
      return `${fmtPct(e.error_rate)} err`;
    case "p50":
      return `p50 ${fmtMs(e.p50_ms)}`;
    case "p95":
      return `p95 ${fmtMs(e.p95_ms)}`;
    case "p99":
      return `p99 ${fmtMs(e.p99_ms)}`;
    case "throughput":
      // Bytes both ways per second, as Kiali's throughput labels.
      return `${fmtBytes((e.bytes_sent_per_second ?? 0) + (e.bytes_received_per_second ?? 0))}/s`;
    case "mtls":
      // The share of its calls over mutual TLS, as Kiali's security badges.
      return e.mtls_share >= 0.995 ? "mTLS" : e.mtls_share > 0 ? `mTLS ${fmtPct(e.mtls_share)}` : "plaintext";
  }
}

/** The distance from (px, py) to the segment from (x1, y1) to (x2, y2). */
export function segmentDistance(px: number, py: number, x1: number, y1: number, x2: number, y2: number): number {
  const dx = x2 - x1, dy = y2 - y1;
  const len2 = dx * dx + dy * dy;
  const t = len2 ? Math.max(0, Math.min(1, ((px - x1) * dx + (py - y1) * dy) / len2)) : 0;
  return Math.hypot(px - (x1 + t * dx), py - (y1 + t * dy));
}

/**
 * The visible edges' ends in graph coordinates, flat, for Renderer.edgeAt:
 * built at the first hit test after the graph changed (positions, edges,
 * visibility, sizes), so that the hit tests while the pointer moves over a
 * still graph walk an array instead of the graph's edges.
 */
class EdgeEnds {
  ids: string[] = [];
  /** x1, y1, x2, y2 and size of each edge of ids (and room for more). */
  seg = new Float64Array(0);
  private stale = true;
  /** Gathers the ends again at the next hit test (the graph's events call it; so does a repaint of attributes changed in place, which emits none). */
  readonly invalidate = () => {
    this.stale = true;
  };
  private static readonly events = [
    "nodeAdded",
    "nodeDropped",
    "edgeAdded",
    "edgeDropped",
    "cleared",
    "edgesCleared",
    "nodeAttributesUpdated",
    "edgeAttributesUpdated",
    "eachNodeAttributesUpdated",
    "eachEdgeAttributesUpdated",
  ] as const;

  constructor(private readonly graph: Graph) {
    for (const e of EdgeEnds.events) graph.on(e, this.invalidate);
  }

  /** Stops following the graph. */
  detach(): void {
    for (const e of EdgeEnds.events) this.graph.off(e, this.invalidate);
  }

  /** The ends as of now. */
  current(): this {
    if (!this.stale) return this;
    if (this.seg.length < 5 * this.graph.size) this.seg = new Float64Array(5 * this.graph.size);
    const ids: string[] = [];
    const seg = this.seg;
    let j = 0;
    this.graph.forEachEdge((id, a, _src, _dst, sa, da) => {
      if (a["hidden"] || sa["hidden"] || da["hidden"]) return;
      ids.push(id);
      seg[j++] = sa["x"];
      seg[j++] = sa["y"];
      seg[j++] = da["x"];
      seg[j++] = da["y"];
      seg[j++] = (a["size"] as number) ?? 1;
    });
    this.ids = ids;
    this.stale = false;
    return this;
  }
}

export class Renderer {
  sigma: Sigma;
  private readonly tooltip: HTMLElement;
  private hovered: { kind: "node" | "edge"; id: string } | null = null;
  /** The drawn graph's edge ends, for edgeAt. */
  private ends!: EdgeEnds;
  /** The edge under the pointer (edgeAt), drawn hovered. */
  private hoveredEdge: string | null = null;
  /** The pointer's last position over the graph, for the hit test of the next frame. */
  private pointer: { x: number; y: number } | null = null;
  private hitFrame = 0;
  private dragging = false;
  private renderWaiters: (() => void)[] = [];
  private renderStart = 0;
  /** What edges are labelled with (setEdgeLabels). */
  private edgeLabels: EdgeLabels = "";
  /** Whether edges with the attribute dash are drawn dashed (setDashes). */
  private dashes = false;

  /** The requests per second of a node's edges drawn out of it, for the share labels. */
  callerOut(id: string): number {
    const g = this.sigma.getGraph();
    let sum = 0;
    if (g.hasNode(id)) g.forEachOutEdge(id, (_e, a) => (sum += (a["data"] as GraphEdge | undefined)?.rps ?? 0));
    return sum;
  }
  /** How long the last frame took to draw. */
  lastRenderMs = 0;

  constructor(
    readonly container: HTMLElement,
    graph: Graph,
    private readonly events: RendererEvents,
  ) {
    this.tooltip = h("div", { class: "tooltip", role: "tooltip", hidden: true });
    container.append(this.tooltip);
    this.sigma = this.create(graph);
  }

  /** Room around the graph when fitted, in pixels. */
  private stagePadding = 40;

  /** Sets the room around the graph when fitted (wider for the layered layout, whose last column's labels run right). */
  setStagePadding(px: number): void {
    this.stagePadding = px;
    this.sigma.setSetting("stagePadding", px);
  }

  private create(graph: Graph): Sigma {
    this.ends?.detach();
    this.ends = new EdgeEnds(graph);
    const sigma = new Sigma(graph, this.container, {
      primitives: primitives(this.dashes),
      styles: {
        nodes: {
          x: { attribute: "x" },
          y: { attribute: "y" },
          size: (a: A, s) => ((a["size"] as number) ?? 4) * (a["sel"] ? 1.5 : s.isHovered ? 1.2 : 1),
          color: { attribute: "color", defaultValue: "#adb5bd" },
          shape: { attribute: "shape", defaultValue: "circle" },
          label: { attribute: "label" },
          labelColor: (a: A) => (a["dim"] ? "#c4c9cf" : "#212529"),
          labelSize: 12,
          labelFont: "system-ui, -apple-system, Segoe UI, Roboto, sans-serif",
          visibility: (a: A, s) => (a["hidden"] || s.isHidden ? "hidden" : "visible"),
          labelVisibility: (a: A, s) => (s.isHovered || a["sel"] ? "visible" : a["hidden"] || a["dim"] ? "hidden" : "auto"),
          depth: (a: A, s) => (s.isHovered || a["sel"] || a["hl"] ? "topNodes" : "nodes"),
          // The hover card behind a node and its label; a ring around a
          // node with something new lately (its "mark", markColor), drawn
          // as a node-shaped backdrop with a border.
          backdropVisibility: (a: A, s) => (s.isHovered || (a["mark"] && !a["hidden"] && !a["dim"]) ? "visible" : "hidden"),
          backdropArea: (_a: A, s) => (s.isHovered ? "both" : "node"),
          backdropColor: "#ffffff",
          backdropShadowColor: "rgba(0, 0, 0, 0.35)",
          backdropShadowBlur: (_a: A, s) => (s.isHovered ? 10 : 0),
          backdropPadding: (a: A, s) => (s.isHovered ? 5 : a["mark"] ? 2.5 : 0),
          backdropBorderColor: (a: A) => markColor[a["mark"] as string] ?? "#ffffff",
          backdropBorderWidth: (a: A) => (a["mark"] ? 3 : 0),
          cursor: "pointer",
        },
        edges: {
          // Only with edge labels on: a label style costs every edge's
          // processing (about a tenth of the first frame at 20,000 edges).
          ...(this.edgeLabels
            ? {
                label: (a: A) => {
                  const e = a["data"] as GraphEdge | undefined;
                  return edgeLabelText(e, this.edgeLabels, e && this.edgeLabels === "share" ? this.callerOut(e.source) : undefined);
                },
                labelSize: 10,
                labelColor: "#495057",
                labelFont: "system-ui, -apple-system, Segoe UI, Roboto, sans-serif",
              }
            : {}),
          size: (a: A, s) => ((a["size"] as number) ?? 1) * (s.isHovered ? 1.8 : 1),
          color: { attribute: "color", defaultValue: "#ced4da" },
          head: "arrow",
          ...(this.dashes ? { gap: (a: A) => (a["dash"] ? 5 : 0) } : {}),
          visibility: (a: A, s) => (a["hidden"] || s.isHidden ? "hidden" : "visible"),
          depth: (a: A, s) => (s.isHovered || a["hl"] ? "topEdges" : "edges"),
          cursor: "pointer",
        },
      },
      settings: {
        // Edges are hovered and clicked through edgeAt.
        enableEdgeEvents: false,
        renderEdgeLabels: this.edgeLabels !== "",
        hideEdgesOnMove: false,
        labelDensity: 1,
        labelRenderedSizeThreshold: 5,
        enableNodeDrag: true,
        zoomDuration: 200,
        itemSizesReference: "screen",
        autoRescale: true,
        minCameraRatio: 0.005,
        maxCameraRatio: 20,
        stagePadding: this.stagePadding,
        allowInvalidContainer: true,
      },
    });
    this.bind(sigma);
    return sigma;
  }

  private bind(s: Sigma): void {
    s.on("clickNode", ({ node }) => this.events.clickNode(node));
    s.on("clickStage", ({ event }) => {
      // Edges are found under the pointer here, not by sigma (edgeAt).
      const edge = this.edgeAt(event.x, event.y);
      if (edge) this.events.clickEdge(edge);
      else this.events.clickStage();
    });
    s.on("enterNode", ({ node, event }) => {
      this.setHoveredEdge(null);
      this.hovered = { kind: "node", id: node };
      this.showTooltip(this.events.nodeTooltip(node), event.x, event.y);
    });
    s.on("leaveNode", () => this.hideTooltip());
    s.on("nodeDragStart", () => (this.dragging = true));
    s.on("nodeDragEnd", ({ node }) => {
      this.dragging = false;
      this.events.dragEnd(node);
    });
    s.on("leaveStage", () => {
      this.pointer = null;
      this.setHoveredEdge(null);
    });
    s.getMouseCaptor().on("mousemovebody", (e) => {
      this.moveTooltip(e.x, e.y);
      this.pointer = { x: e.x, y: e.y };
      this.hitFrame ||= requestAnimationFrame(() => this.hoverEdgeUnderPointer());
    });
    s.on("beforeRender", () => {
      this.renderStart = performance.now();
    });
    s.on("afterRender", () => {
      this.lastRenderMs = performance.now() - this.renderStart;
      const w = this.renderWaiters;
      this.renderWaiters = [];
      for (const f of w) f();
    });
  }

  /**
   * The edge drawn under a point of the viewport (within a few pixels of
   * its line), nearest first; null when none is or a node is hovered.
   * Sigma can find edges itself by drawing every edge a second time into
   * its picking buffer at each frame, which in software WebGL costs
   * seconds at 20,000 edges; this walk over the edges' ends (EdgeEnds,
   * gathered again only after the graph changed) runs only when the
   * pointer moves.
   */
  edgeAt(x: number, y: number): string | null {
    if (this.hovered?.kind === "node" || this.dragging) return null;
    const s = this.sigma;
    // Graph to viewport coordinates is affine: o + gx * ex + gy * ey.
    const o = s.graphToViewport({ x: 0, y: 0 });
    const ex = s.graphToViewport({ x: 1, y: 0 });
    const ey = s.graphToViewport({ x: 0, y: 1 });
    const ax = ex.x - o.x, bx = ey.x - o.x, ay = ex.y - o.y, by = ey.y - o.y;
    const { ids, seg } = this.ends.current();
    let best = -1;
    let bestDist = Infinity;
    for (let i = 0, j = 0; i < ids.length; i++, j += 5) {
      const x1 = o.x + ax * seg[j]! + bx * seg[j + 1]!, y1 = o.y + ay * seg[j]! + by * seg[j + 1]!;
      const x2 = o.x + ax * seg[j + 2]! + bx * seg[j + 3]!, y2 = o.y + ay * seg[j + 2]! + by * seg[j + 3]!;
      const tol = Math.max(4, seg[j + 4]! / 2 + 3);
      if (x < Math.min(x1, x2) - tol || x > Math.max(x1, x2) + tol || y < Math.min(y1, y2) - tol || y > Math.max(y1, y2) + tol) continue;
      const d = segmentDistance(x, y, x1, y1, x2, y2);
      if (d <= tol && d < bestDist) {
        best = i;
        bestDist = d;
      }
    }
    return best < 0 ? null : ids[best]!;
  }

  /** Hovers the edge under the pointer (once a frame, however often it moves). */
  private hoverEdgeUnderPointer(): void {
    this.hitFrame = 0;
    if (!this.pointer) return;
    this.setHoveredEdge(this.edgeAt(this.pointer.x, this.pointer.y));
  }

  /** Draws edge hovered (null: none) and shows its tooltip. */
  private setHoveredEdge(edge: string | null): void {
    const prev = this.hoveredEdge;
    if (edge === prev && (!edge || !this.tooltip.hidden)) return;
    const g = this.sigma.getGraph();
    if (prev && g.hasEdge(prev)) this.sigma.setEdgeState(prev, { isHovered: false });
    this.hoveredEdge = edge;
    if (edge) {
      this.sigma.setEdgeState(edge, { isHovered: true });
      this.container.style.cursor = "pointer";
      this.hovered = { kind: "edge", id: edge };
      const p = this.pointer ?? { x: 0, y: 0 };
      this.showTooltip(this.events.edgeTooltip(edge), p.x, p.y);
    } else {
      this.container.style.cursor = "";
      if (this.hovered?.kind === "edge") this.hideTooltip();
    }
  }

  private showTooltip(content: HTMLElement | string, x: number, y: number): void {
    this.tooltip.replaceChildren(content);
    this.tooltip.hidden = false;
    this.moveTooltip(x, y);
  }

  private moveTooltip(x: number, y: number): void {
    if (this.tooltip.hidden) return;
    const cw = this.container.clientWidth;
    const ch = this.container.clientHeight;
    const tw = this.tooltip.offsetWidth;
    const th = this.tooltip.offsetHeight;
    let left = x + 14;
    let top = y + 14;
    if (left + tw > cw - 4) left = Math.max(4, x - tw - 14);
    if (top + th > ch - 4) top = Math.max(4, y - th - 14);
    this.tooltip.style.transform = `translate(${left}px, ${top}px)`;
  }

  hideTooltip(): void {
    this.hovered = null;
    this.tooltip.hidden = true;
  }

  /** Refreshes the tooltip content after data changed under the pointer. */
  refreshTooltip(): void {
    if (!this.hovered || this.tooltip.hidden) return;
    const { kind, id } = this.hovered;
    const g = this.sigma.getGraph();
    if (kind === "node" ? !g.hasNode(id) : !g.hasEdge(id)) return this.hideTooltip();
    this.tooltip.replaceChildren(kind === "node" ? this.events.nodeTooltip(id) : this.events.edgeTooltip(id));
  }

  /**
   * Shows another graph (after a snapshot). The sigma instance is rebuilt
   * around the new graph, keeping the camera: sigma's own setGraph leaves its
   * edge-group and drag indexes on the old graph.
   */
  setGraph(g: Graph): void {
    this.hideTooltip();
    this.hoveredEdge = null;
    if (this.sigma.getGraph() === g) return;
    this.rebuild(g);
  }

  /** Builds the sigma instance again around g, keeping the camera. */
  private rebuild(g: Graph): void {
    const camera = this.sigma.getCamera().getState();
    const hadNodes = this.sigma.getGraph().order > 0;
    const waiters = this.renderWaiters;
    this.renderWaiters = [];
    this.hoveredEdge = null; // the new instance draws none hovered
    this.sigma.kill(); // also empties the container
    this.container.append(this.tooltip);
    this.sigma = this.create(g);
    if (hadNodes) this.sigma.getCamera().setState(camera);
    this.renderWaiters = waiters;
    if (waiters.length) this.sigma.scheduleRender();
  }

  /**
   * Redraws items whose attributes were changed in place (same depth and
   * visibility), without reprocessing the whole graph.
   */
  repaint(nodes: string[], edges: string[]): void {
    if (!nodes.length && !edges.length) return;
    if (edges.length) this.ends.invalidate(); // their sizes may have changed
    this.sigma.refresh({ partialGraph: { nodes, edges }, skipIndexation: true, schedule: true });
  }

  /** Labels the edges with mode's number ("" for none). */
  setEdgeLabels(mode: EdgeLabels): void {
    if (mode === this.edgeLabels) return;
    const toggled = !mode !== !this.edgeLabels;
    this.edgeLabels = mode;
    // Turned on or off, the styles change: sigma is built again.
    if (toggled) this.rebuild(this.sigma.getGraph());
    else this.sigma.refresh();
  }

  /** Draws the edges with the attribute dash dashed, or not (sigma is built again when it changes). */
  setDashes(on: boolean): void {
    if (on === this.dashes) return;
    this.dashes = on;
    this.rebuild(this.sigma.getGraph());
  }

  /** Resolves after the next frame is drawn. */
  nextRender(): Promise<void> {
    return new Promise((resolve) => {
      this.renderWaiters.push(resolve);
      this.sigma.scheduleRender();
    });
  }

  zoomIn(): void {
    void this.sigma.getCamera().zoomIn({ duration: 200 });
  }

  zoomOut(): void {
    void this.sigma.getCamera().zoomOut({ duration: 200 });
  }

  /** Fits the whole graph in view. */
  fit(): void {
    void this.sigma.getCamera().reset({ duration: 300 });
  }

  /** Centres the camera on a node without changing the zoom. */
  focus(id: string): void {
    const d = this.sigma.getNodeDisplayData(id);
    if (!d) return;
    void this.sigma.getCamera().animate({ x: d.x, y: d.y }, { duration: 300 });
  }

  /** Viewport coordinates of a node (for tests and tooltips). */
  nodeViewport(id: string): { x: number; y: number } | null {
    const g = this.sigma.getGraph();
    if (!g.hasNode(id)) return null;
    const a = g.getNodeAttributes(id);
    return this.sigma.graphToViewport({ x: a["x"], y: a["y"] });
  }

  /** Renders a PNG of what is on screen, on a white background. */
  toPNG(): Promise<Blob> {
    return new Promise((resolve, reject) => {
      const { width, height } = this.sigma.getDimensions();
      const ratio = window.devicePixelRatio || 1;
      const out = document.createElement("canvas");
      out.width = Math.round(width * ratio);
      out.height = Math.round(height * ratio);
      const ctx = out.getContext("2d");
      if (!ctx) return reject(new Error("no 2d context"));
      ctx.fillStyle = BG;
      ctx.fillRect(0, 0, out.width, out.height);
      // WebGL buffers are only readable right after a frame is drawn.
      this.sigma.once("afterRender", () => {
        for (const c of this.container.querySelectorAll("canvas")) {
          if (c.width && c.height) ctx.drawImage(c, 0, 0, out.width, out.height);
        }
        out.toBlob((b) => (b ? resolve(b) : reject(new Error("canvas export failed"))), "image/png");
      });
      this.sigma.refresh();
    });
  }

  kill(): void {
    this.ends.detach();
    this.sigma.kill();
  }
}
