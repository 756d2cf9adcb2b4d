// Traffic animation: small dots moving along edges from source to target,
// drawn on a 2D canvas laid over the WebGL picture. More requests per second
// means more and faster dots. Only edges on screen are animated, the total
// is capped, and nothing runs while the tab is hidden.

import type Sigma from "sigma";

/** Most dots drawn in one frame. */
export const MAX_DOTS = 3000;

type A = Record<string, unknown>;

/** Dots on an edge for a rate: 1 at low rates, up to 6 for busy edges. */
function dotsFor(rps: number): number {
  return Math.max(1, Math.min(6, Math.ceil(Math.log10(1 + rps) * 2)));
}

/** Speed in pixels per second for a rate. */
function speedFor(rps: number): number {
  return 40 + 40 * Math.log10(1 + rps);
}

/** A stable offset in [0, 1) for an edge, so dots of parallel edges do not line up. */
function offsetOf(id: string): number {
  let h = 2166136261;
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 16777619);
  return (h >>> 0) / 4294967296;
}

export class TrafficAnimation {
  readonly canvas: HTMLCanvasElement;
  private enabled = false;
  private frame = 0;
  /** Dots drawn in the last frame. */
  lastDots = 0;

  constructor(
    /** The sigma container; the canvas goes right above it. */
    graphEl: HTMLElement,
    private readonly sigma: () => Sigma,
  ) {
    this.canvas = document.createElement("canvas");
    this.canvas.className = "traffic";
    this.canvas.setAttribute("aria-hidden", "true");
    this.canvas.hidden = true;
    graphEl.after(this.canvas);
    document.addEventListener("visibilitychange", () => this.schedule());
  }

  /** Turns the animation on or off. */
  setEnabled(on: boolean): void {
    this.enabled = on;
    this.canvas.hidden = !on;
    if (!on) this.clear();
    this.schedule();
  }

  private schedule(): void {
    const run = this.enabled && document.visibilityState !== "hidden";
    if (run && !this.frame) {
      this.frame = requestAnimationFrame((t) => this.draw(t));
    } else if (!run && this.frame) {
      cancelAnimationFrame(this.frame);
      this.frame = 0;
    }
  }

  private clear(): void {
    this.lastDots = 0;
    const ctx = this.canvas.getContext("2d");
    ctx?.clearRect(0, 0, this.canvas.width, this.canvas.height);
  }

  private draw(now: number): void {
    this.frame = 0;
    if (!this.enabled || document.visibilityState === "hidden") return;
    this.frame = requestAnimationFrame((t) => this.draw(t));

    const c = this.canvas;
    const w = c.clientWidth;
    const hgt = c.clientHeight;
    const ratio = window.devicePixelRatio || 1;
    if (w === 0 || hgt === 0) {
      this.lastDots = 0;
      return;
    }
    if (c.width !== Math.round(w * ratio) || c.height !== Math.round(hgt * ratio)) {
      c.width = Math.round(w * ratio);
      c.height = Math.round(hgt * ratio);
    }
    const ctx = c.getContext("2d");
    if (!ctx) return;
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    ctx.clearRect(0, 0, w, hgt);

    const sigma = this.sigma();
    const g = sigma.getGraph();
    const t = now / 1000;
    const margin = 4;
    ctx.strokeStyle = "#ffffff";
    ctx.lineWidth = 1;
    let count = 0;
    g.forEachEdge((id, ea: A, src, dst, sa: A, da: A) => {
      if (count >= MAX_DOTS) return;
      if (ea["hidden"] || sa["hidden"] || da["hidden"]) return;
      const rps = Number(ea["rps"]) || 0;
      if (rps <= 0) return;
      const p = sigma.graphToViewport({ x: sa["x"] as number, y: sa["y"] as number });
      const q = sigma.graphToViewport({ x: da["x"] as number, y: da["y"] as number });
      // Skip edges entirely off screen.
      if ((p.x < -margin && q.x < -margin) || (p.x > w + margin && q.x > w + margin)) return;
      if ((p.y < -margin && q.y < -margin) || (p.y > hgt + margin && q.y > hgt + margin)) return;
      const dx = q.x - p.x;
      const dy = q.y - p.y;
      const len = Math.hypot(dx, dy);
      if (len < 8 || src === dst) return;
      const n = Math.min(dotsFor(rps), MAX_DOTS - count);
      const phase = (t * speedFor(rps)) / len + offsetOf(id);
      const r = ea["hl"] ? 3.4 : 2.8;
      ctx.beginPath();
      for (let i = 0; i < n; i++) {
        const f = (phase + i / n) % 1;
        const x = p.x + dx * f;
        const y = p.y + dy * f;
        ctx.moveTo(x + r, y);
        ctx.arc(x, y, r, 0, 2 * Math.PI);
      }
      ctx.fillStyle = String(ea["color"] ?? "#495057");
      ctx.globalAlpha = ea["dim"] ? 0.3 : 0.9;
      ctx.fill();
      ctx.stroke();
      count += n;
    });
    ctx.globalAlpha = 1;
    this.lastDots = count;
  }
}
