// Tiny DOM and formatting helpers.

type Child = Node | string | number | null | undefined | false;
type Attrs = Record<string, string | number | boolean | EventListener | null | undefined>;

/** Creates an element: h("div", {class: "x", onclick: fn}, "text", child). */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith("on") && typeof v === "function") {
      el.addEventListener(k.slice(2), v);
    } else if (k === "value" && "value" in el) {
      (el as HTMLInputElement).value = String(v);
    } else {
      el.setAttribute(k, v === true ? "" : String(v));
    }
  }
  append(el, ...children);
  return el;
}

/** Creates an SVG element: svg("rect", {x: 1, width: 2}, ...children). */
export function svg(tag: string, attrs: Record<string, string | number> = {}, ...children: Child[]): SVGElement {
  const el = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  append(el, ...children);
  return el;
}

/** Appends children, skipping empty ones. */
export function append(el: Element, ...children: Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    el.append(typeof c === "number" ? String(c) : c);
  }
}

/** Removes every child of el. */
export function clear(el: Element): void {
  el.replaceChildren();
}

/** Looks up an element by id, failing loudly when the page lacks it. */
export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (!el) throw new Error(`missing element #${id}`);
  return el as T;
}

/** Formats a rate (requests per second). */
export function fmtRate(v: number | undefined): string {
  if (v === undefined || !isFinite(v)) return "–";
  if (v === 0) return "0";
  if (v >= 1000) return (v / 1000).toFixed(1) + "k";
  if (v >= 100) return v.toFixed(0);
  if (v >= 1) return v.toFixed(1);
  return v.toFixed(2);
}

/** Formats a count. */
export function fmtCount(v: number | undefined): string {
  if (v === undefined || !isFinite(v)) return "–";
  if (v >= 1e9) return (v / 1e9).toFixed(1) + "G";
  if (v >= 1e6) return (v / 1e6).toFixed(1) + "M";
  if (v >= 1e4) return (v / 1e3).toFixed(1) + "k";
  return String(Math.round(v));
}

/** Formats a ratio (0.0123) as a percentage ("1.23%"). */
export function fmtPct(v: number | undefined): string {
  if (v === undefined || !isFinite(v)) return "–";
  const p = v * 100;
  if (p === 0) return "0%";
  if (p < 0.01) return "<0.01%";
  if (p < 10) return p.toFixed(2) + "%";
  return p.toFixed(1) + "%";
}

/** Formats milliseconds. */
export function fmtMs(v: number | undefined): string {
  if (v === undefined || !isFinite(v)) return "–";
  if (v >= 10000) return (v / 1000).toFixed(1) + " s";
  if (v >= 100) return v.toFixed(0) + " ms";
  if (v >= 10) return v.toFixed(1) + " ms";
  return v.toFixed(2) + " ms";
}

/** Formats bytes. */
export function fmtBytes(v: number | undefined): string {
  if (v === undefined || !isFinite(v)) return "–";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return (i === 0 ? v.toFixed(0) : v.toFixed(1)) + " " + units[i];
}

/** Formats nanoseconds as a duration. */
export function fmtNs(v: number | string | undefined): string {
  if (v === undefined) return "–";
  return fmtMs(Number(v) / 1e6);
}

/** Formats Unix nanoseconds as a local time. */
export function fmtUnixNano(v: number | string | undefined): string {
  if (v === undefined) return "–";
  const ms = Number(v) / 1e6;
  return new Date(ms).toLocaleString();
}

/** Triggers a download of text or a blob under the given file name. */
export function download(name: string, data: string | Blob, type = "text/plain"): void {
  const blob = typeof data === "string" ? new Blob([data], { type }) : data;
  const url = URL.createObjectURL(blob);
  const a = h("a", { href: url, download: name });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

/** Debounces f by ms. */
export function debounce<A extends unknown[]>(f: (...args: A) => void, ms: number): (...args: A) => void {
  let t: ReturnType<typeof setTimeout> | undefined;
  return (...args: A) => {
    if (t !== undefined) clearTimeout(t);
    t = setTimeout(() => f(...args), ms);
  };
}
