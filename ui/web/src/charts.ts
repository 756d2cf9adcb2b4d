// Small time-series charts drawn with uPlot.

import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import { h } from "./dom";

export interface Line {
  label: string;
  values: (number | null)[];
  color: string;
}

/** A labelled moment on a chart's time axis (a version's first calls). */
export interface Marker {
  time: number;
  label: string;
}

const palette = ["#1c7ed6", "#e03131", "#2f9e44", "#f08c00", "#7048e8", "#0c8599", "#c2255c", "#5c940d", "#862e9c", "#d9480f"];

/** The colour of the i-th of several series on one chart. */
export function seriesColor(i: number): string {
  return palette[i % palette.length]!;
}

const MARKER_COLOR = "#7048e8";

/** Draws markers as dashed vertical lines with their labels on u's canvas. */
function drawMarkers(u: uPlot, markers: Marker[]): void {
  const c = u.ctx;
  const dpr = window.devicePixelRatio || 1;
  const { left, top, width, height } = u.bbox;
  c.save();
  c.strokeStyle = MARKER_COLOR;
  c.fillStyle = MARKER_COLOR;
  c.lineWidth = dpr;
  c.setLineDash([4 * dpr, 3 * dpr]);
  c.font = `${10 * dpr}px system-ui`;
  for (const m of markers) {
    const x = Math.round(u.valToPos(m.time, "x", true));
    if (x < left || x > left + width) continue;
    c.beginPath();
    c.moveTo(x, top);
    c.lineTo(x, top + height);
    c.stroke();
    c.fillText(m.label, x + 3 * dpr, top + 10 * dpr);
  }
  c.restore();
}

/**
 * The charts drawn and not yet destroyed. uPlot keeps listeners on the
 * window until a chart is destroyed, so a chart whose element has left the
 * document (a panel closed, a page drawn again) would stay in memory.
 */
const charts = new Set<uPlot>();

/** Destroys the charts no longer in the document. */
function sweepCharts(): void {
  for (const u of charts) {
    if (!u.root.isConnected) {
      u.destroy();
      charts.delete(u);
    }
  }
}

/** How many charts exist: those shown and those left since the last chart was drawn. */
export function chartCount(): number {
  return charts.size;
}

/** Draws a line chart of series over Unix-second times into a new element. */
export function lineChart(title: string, time: number[], lines: Line[], fmt: (v: number) => string, width = 340, markers: Marker[] = []): HTMLElement {
  sweepCharts();
  const box = h("figure", { class: "chart", "aria-label": title });
  // The markers drawn on the canvas, named for assistive technology and tests.
  if (markers.length) box.dataset["markers"] = markers.map((m) => m.label).join(" ");
  box.append(h("figcaption", {}, title));
  const usable = lines.filter((l) => l.values && l.values.length === time.length);
  if (!time.length || !usable.length) {
    box.append(h("p", { class: "muted" }, "No data in this range."));
    return box;
  }
  const opts: uPlot.Options = {
    width,
    height: 130,
    legend: { show: lines.length > 1, live: false },
    cursor: { drag: { x: false, y: false } },
    scales: {
      x: { time: true },
      // A flat series (no traffic yet, no errors) gets 0 to 1, not uPlot's
      // 0 to 100, which reads as 10000 % on a ratio chart.
      y: { range: (_u, min, max) => (min === max ? [Math.min(0, min), max > 0 ? max * 2 : 1] : uPlot.rangeNum(min, max, 0.1, true)) },
    },
    axes: [
      { stroke: "#868e96", grid: { stroke: "#f1f3f5" }, ticks: { stroke: "#dee2e6" }, font: "10px system-ui" },
      {
        stroke: "#868e96",
        grid: { stroke: "#f1f3f5" },
        ticks: { stroke: "#dee2e6" },
        size: 62,
        font: "10px system-ui",
        values: (_u, vals) => vals.map((v) => (v == null ? "" : fmt(v))),
      },
    ],
    series: [{}, ...usable.map((l) => ({ label: l.label, stroke: l.color, width: 1.5, points: { show: false }, value: (_u: uPlot, v: number | null) => (v == null ? "–" : fmt(v)) }))],
    hooks: markers.length ? { draw: [(u: uPlot) => drawMarkers(u, markers)] } : {},
  };
  const data = [time, ...usable.map((l) => l.values)] as uPlot.AlignedData;
  const holder = h("div", { class: "chart-plot" });
  box.append(holder);
  // uPlot measures fonts on insertion; create it on the next frame when the
  // panel is in the document.
  requestAnimationFrame(() => {
    charts.add(new uPlot(opts, data, holder));
  });
  return box;
}
