// Colours and sizes of the graph: node colour by health, edge colour by error
// rate, node size by traffic, edge width by rate, node shape by kind.

export const healthColor: Record<string, string> = {
  healthy: "#2f9e44",
  degraded: "#f08c00",
  failing: "#e03131",
  idle: "#adb5bd",
};

export const DIM_NODE = "#dfe3e8";
export const DIM_EDGE = "#eef0f3";
export const HIGHLIGHT = "#1c7ed6";
export const BLAST = "#ae3ec9";

/** The rings around nodes with something new lately (GraphStore.markOf). */
export const markColor: Record<string, string> = {
  worse: "#212529",
  exception: "#5f3dc4",
  deployed: "#1098ad",
};

/** What each ring says, for the legend and the tooltips. */
export const markText: Record<string, string> = {
  worse: "worse deployment",
  exception: "new exception",
  deployed: "deployed in the last hour",
};

export const diffColor: Record<string, string> = {
  added: "#1c7ed6",
  removed: "#868e96",
  changed: "#f59f00",
  same: "#ced4da",
};

/** Colour of a node by its health. */
export function nodeColor(health: string): string {
  return healthColor[health] ?? healthColor["idle"]!;
}

/** Colour of an edge by its error rate (a ratio). */
export function edgeColor(errorRate: number): string {
  if (!(errorRate >= 0.001)) return "#a5b1c2";
  if (errorRate < 0.01) return "#e8b21b";
  if (errorRate < 0.05) return "#f76707";
  return "#e03131";
}

/** Node radius (screen pixels at zoom 1) from its traffic. */
export function nodeSize(rpsIn: number, rpsOut: number): number {
  const r = 5 + 3 * Math.log10(1 + (rpsIn || 0) + (rpsOut || 0));
  return Math.min(22, Math.max(5, r));
}

/** Edge width from its rate. */
export function edgeSize(rps: number): number {
  const w = 1 + 1.1 * Math.log10(1 + (rps || 0));
  return Math.min(7, Math.max(1, w));
}

/** Sigma shape name of a node kind. */
export function kindShape(kind: string): string {
  switch (kind) {
    case "database":
      return "square";
    case "messaging":
      return "triangle";
    case "external":
      return "diamond";
    case "client":
      return "rectangle";
    default:
      return "circle";
  }
}

/** A short legend of shapes for the UI. */
export const kindLegend: [string, string][] = [
  ["service / workload / version", "●"],
  ["database", "■"],
  ["messaging", "▲"],
  ["external", "◆"],
  ["client", "▬"],
];
