// Helpers shared by the pages: a generic sortable table and an error box.

import { APIError } from "../api";
import { h, svg } from "../dom";

export interface Column<T> {
  key: string;
  label: string;
  value: (row: T) => string | number;
  render?: (row: T) => string | Node;
  numeric?: boolean;
}

/** The column a table is sorted by ("" for none) and the order. */
export interface SortState {
  key: string;
  desc: boolean;
}

/**
 * A table whose columns sort when their header button is pressed (keyboard
 * reachable; aria-sort tells the order). opts.sort, when given, is the
 * initial order and is updated as the user sorts, so that a table drawn
 * again with fresh rows keeps it; opts.rowKey sets each row's data-key.
 */
export function sortableTable<T>(
  label: string,
  columns: Column<T>[],
  rows: T[],
  opts: { onRow?: (row: T) => void; limit?: number; id?: string; sort?: SortState; rowKey?: (row: T) => string } = {},
): HTMLElement {
  const sort = opts.sort ?? { key: "", desc: true };
  const table = h("table", { class: "data", "aria-label": label, id: opts.id });
  const thead = h("thead");
  const tbody = h("tbody");
  table.append(thead, tbody);
  const draw = () => {
    const headRow = h("tr");
    for (const c of columns) {
      const sorted = c.key === sort.key;
      const btn = h(
        "button",
        {
          class: "sort",
          type: "button",
          onclick: () => {
            if (sort.key === c.key) sort.desc = !sort.desc;
            else {
              sort.key = c.key;
              sort.desc = !!c.numeric;
            }
            draw();
            // The header was drawn anew: keep the focus on this column's button.
            thead.querySelector<HTMLElement>(`th:nth-child(${columns.indexOf(c) + 1}) button`)?.focus();
          },
        },
        c.label,
        sorted ? (sort.desc ? " ▼" : " ▲") : "",
      );
      headRow.append(h("th", { scope: "col", class: c.numeric ? "num" : "", "aria-sort": sorted ? (sort.desc ? "descending" : "ascending") : "none" }, btn));
    }
    thead.replaceChildren(headRow);
    let data = rows;
    const col = columns.find((c) => c.key === sort.key);
    if (col) {
      data = [...rows].sort((a, b) => {
        const va = col.value(a);
        const vb = col.value(b);
        const r = typeof va === "number" && typeof vb === "number" ? va - vb : String(va).localeCompare(String(vb));
        return sort.desc ? -r : r;
      });
    }
    const limit = opts.limit ?? 2000;
    const frag = document.createDocumentFragment();
    for (const row of data.slice(0, limit)) {
      const tr = h("tr");
      if (opts.rowKey) tr.dataset["key"] = opts.rowKey(row);
      for (const c of columns) tr.append(h("td", { class: c.numeric ? "num" : "" }, c.render ? c.render(row) : String(c.value(row))));
      if (opts.onRow) {
        tr.tabIndex = 0;
        tr.classList.add("clickable");
        tr.addEventListener("click", () => opts.onRow!(row));
        tr.addEventListener("keydown", (ev) => {
          if (ev.key === "Enter") opts.onRow!(row);
        });
      }
      frag.append(tr);
    }
    tbody.replaceChildren(frag);
    if (data.length > limit) tbody.append(h("tr", {}, h("td", { colspan: columns.length, class: "muted" }, `${data.length - limit} more rows not shown`)));
    if (!data.length) tbody.append(h("tr", {}, h("td", { colspan: columns.length, class: "muted" }, "No rows.")));
  };
  draw();
  return table;
}

/** An error box with the API's message and field. */
export function errorBox(err: unknown): HTMLElement {
  if (err instanceof APIError) {
    return h("div", { class: "error", role: "alert" }, h("strong", {}, `Error ${err.status}: `), err.message, err.field ? h("span", { class: "muted" }, ` (field: ${err.field})`) : "");
  }
  return h("div", { class: "error", role: "alert" }, String(err instanceof Error ? err.message : err));
}

/** A labelled form input. */
export function field(label: string, input: HTMLElement): HTMLElement {
  return h("label", { class: "field" }, h("span", {}, label), input);
}

/** A node id as people read it: services without their kind ("service:shop/web" -> "shop/web"), others whole. */
export function shortNode(id: string): string {
  return id.replace(/^service:/, "");
}

/** Renders an arbitrary value compactly for a table cell. */
export function cell(v: unknown): string {
  if (v === null || v === undefined) return "";
  if (typeof v === "object") return JSON.stringify(v);
  return String(v);
}

/**
 * Notes where in root the keyboard focus is (a link, by its address; a
 * table's sort button, by its column; a table row, by its data-key), and
 * returns what puts it back on the same place once root is drawn again.
 */
export function keepFocus(root: HTMLElement): (() => void) | undefined {
  const el = document.activeElement;
  if (!(el instanceof HTMLElement) || !root.contains(el)) return undefined;
  const find = findAgain(el);
  if (!find) return undefined;
  return () => find()?.focus({ preventScroll: true });
}

function findAgain(el: HTMLElement): (() => HTMLElement | null) | undefined {
  const href = el instanceof HTMLAnchorElement ? el.getAttribute("href") : null;
  if (href) return () => document.querySelector<HTMLElement>(`a[href="${CSS.escape(href)}"]`);
  const table = el.closest("table");
  if (!table?.id) return undefined;
  const byID = () => document.getElementById(table.id);
  const key = el.tagName === "TR" ? el.dataset["key"] : undefined;
  if (key !== undefined) return () => Array.from(byID()?.querySelectorAll<HTMLElement>("tbody tr") ?? []).find((tr) => tr.dataset["key"] === key) ?? null;
  const th = el.closest("th");
  if (!th || el.tagName !== "BUTTON") return undefined;
  const col = Array.prototype.indexOf.call(th.parentElement?.children ?? [], th);
  return () => byID()?.querySelectorAll<HTMLElement>("thead th button")[col] ?? null;
}

/** A search page: its form and what a search shows. */
export interface SearchPage {
  title: string;
  /** The text inputs, in order, filled from the address's params, else defaults. */
  names: readonly string[];
  labels?: Record<string, string>;
  defaults?: Record<string, string>;
  /** Example values shown in empty inputs, by name. */
  placeholders?: Record<string, string>;
  /** A select, labelled selectLabel, placed after the input named selectAfter (at the end when absent); none when absent. */
  select?: HTMLSelectElement;
  selectLabel?: string;
  selectAfter?: string;
  /** Checkboxes after the inputs, by name and label: "true" under the name when checked, else "". */
  checks?: Record<string, string>;
  /**
   * A "Live" checkbox: while ticked the search runs again every LIVE_MS
   * (the newest first, as the results are), until it is unticked, a row
   * is opened or the page is left.
   */
  live?: boolean;
  /**
   * Searches with the form's values (the select's under its name) and
   * returns what shows below the form; live is true for a live search's
   * refreshes.
   */
  run: (q: Record<string, string>, live: boolean) => Promise<Node[]>;
  /** A panel between the form and the results, given the form's values as they are when it asks. */
  panel?: (form: () => Record<string, string>) => HTMLElement;
}

/** How often a live search runs again. */
export const LIVE_MS = 2000;

/** A live search asks its volume chart again at every this many refreshes (the chart spans the whole range; the rows are the news). */
export const LIVE_VOLUME_EVERY = 5;

/**
 * Keeps a search's volume for a live search's refreshes: fetch runs for a
 * search of the form, for other parameters, and at every
 * LIVE_VOLUME_EVERY-th refresh; the other refreshes reuse its answer.
 */
export function liveVolume<T>(): (live: boolean, q: Record<string, unknown>, fetch: () => Promise<T>) => Promise<T> {
  let last: Promise<T> | undefined;
  let key = "";
  let refreshes = 0;
  return (live, q, fetch) => {
    const k = JSON.stringify(q);
    refreshes = live ? refreshes + 1 : 0;
    if (!last || k !== key || !live || refreshes % LIVE_VOLUME_EVERY === 0) {
      key = k;
      last = fetch();
    }
    return last;
  };
}

/** Renders a search page: a form, searched once at first and on every submit, errors in place of results. */
export function renderSearchPage(root: HTMLElement, params: Record<string, string>, p: SearchPage): void {
  const inputs: Record<string, HTMLInputElement> = {};
  for (const n of p.names) inputs[n] = h("input", { name: n, value: params[n] ?? p.defaults?.[n] ?? "", ...(p.placeholders?.[n] ? { placeholder: p.placeholders[n] } : {}) });
  if (p.select) p.select.value = params[p.select.name] ?? "";
  const checks: Record<string, HTMLInputElement> = {};
  for (const n of Object.keys(p.checks ?? {})) {
    checks[n] = h("input", { type: "checkbox", name: n }) as HTMLInputElement;
    checks[n].checked = params[n] === "true";
  }
  const out = h("div", { "aria-live": "polite" });
  /** The form's values: the select's under its name, checkboxes "true" or "". */
  const values = (): Record<string, string> => {
    const q: Record<string, string> = p.select ? { [p.select.name]: p.select.value } : {};
    for (const n of p.names) q[n] = inputs[n]!.value.trim();
    for (const [n, box] of Object.entries(checks)) q[n] = box.checked ? "true" : "";
    return q;
  };
  let running = false;
  // A live refresh's answer is dropped when the live search stopped, or a
  // search of the form's began, after it was sent.
  let generation = 0;
  /** Runs the search; quiet (a live refresh) keeps the results shown until the new ones arrive. */
  const search = async (quiet = false) => {
    if (running && quiet) return;
    if (!quiet) generation++;
    const gen = generation;
    running = true;
    if (!quiet) out.replaceChildren(h("p", { class: "muted" }, "Searching…"));
    const q = values();
    try {
      const nodes = await p.run(q, quiet);
      if (gen === generation) out.replaceChildren(...nodes);
    } catch (err) {
      if (gen === generation) out.replaceChildren(errorBox(err));
    } finally {
      running = false;
    }
  };
  const fields: HTMLElement[] = [];
  for (const n of p.names) {
    fields.push(field(p.labels?.[n] ?? n, inputs[n]!));
    if (p.select && n === p.selectAfter) fields.push(field(p.selectLabel ?? p.select.name, p.select));
  }
  if (p.select && !p.selectAfter) fields.push(field(p.selectLabel ?? p.select.name, p.select));
  for (const [n, label] of Object.entries(p.checks ?? {})) fields.push(field(label, checks[n]!));
  if (p.live) {
    const live = h("input", { type: "checkbox", name: "live", title: `Search again every ${LIVE_MS / 1000} s` }) as HTMLInputElement;
    let timer: ReturnType<typeof setInterval> | undefined;
    const stop = () => {
      live.checked = false;
      clearInterval(timer);
      timer = undefined;
      generation++;
    };
    live.addEventListener("change", () => {
      if (!live.checked) return stop();
      void search(true);
      timer = setInterval(() => (root.isConnected && out.isConnected ? void search(true) : stop()), LIVE_MS);
    });
    // A row opened stops the refreshes, which would replace it.
    out.addEventListener("click", (ev) => {
      if ((ev.target as Element).closest("tbody tr")) stop();
    });
    fields.push(field("Live", live));
  }
  const form = h(
    "form",
    { class: "toolbar wrap", onsubmit: (ev: Event) => (ev.preventDefault(), void search()) },
    ...fields,
    h("button", { type: "submit", class: "primary" }, "Search"),
  );
  root.replaceChildren(h("h1", {}, p.title), form, ...(p.panel ? [p.panel(values)] : []), out);
  void search();
}

/**
 * Search results: a line saying what was found, the rows' table, and below
 * it the detail of the row chosen (heading and body), scrolled into view.
 */
export function resultsWithDetail<T>(
  summary: string,
  label: string,
  columns: Column<T>[],
  rows: T[],
  opts: { id: string; detailId: string; rowKey?: (row: T) => string; heading: (row: T) => string; detail: (row: T) => Node },
): Node[] {
  const detail = h("div", { id: opts.detailId });
  const table = sortableTable(label, columns, rows, {
    id: opts.id,
    rowKey: opts.rowKey,
    onRow: (row) => {
      detail.replaceChildren(h("h2", {}, opts.heading(row)), opts.detail(row));
      detail.scrollIntoView({ block: "nearest" });
    },
  });
  return [h("p", { class: "muted" }, summary), h("div", { class: "scroll" }, table), detail];
}

/** A bar per bucket of the range, scaled to the busiest bucket. */
export function trendBars(trend: number[], w = 90, ht = 18): SVGElement {
  const top = Math.max(1, ...trend);
  const bw = w / Math.max(1, trend.length);
  const bars = trend.map((n, i) => {
    const bh = n ? Math.max(1.5, (n / top) * ht) : 0;
    return svg("rect", { x: (i * bw).toFixed(1), y: (ht - bh).toFixed(1), width: Math.max(1, bw - 0.6).toFixed(1), height: bh.toFixed(1) });
  });
  return svg("svg", { class: "trend", width: w, height: ht, viewBox: `0 0 ${w} ${ht}`, role: "img", "aria-label": `trend, at most ${top} per bucket` }, ...bars);
}

/** GET /api/v1/logs/volume or /api/v1/requests/volume: a search's rows by class and bucket. */
export interface Volume {
  bucket_seconds: number;
  levels?: Record<string, number[]> | null;
  outcomes?: Record<string, number[]> | null;
}

/**
 * A search's rows over the range, a bar per bucket stacked by class (the
 * classes in order, bottom to top, with their colours), with a legend of
 * the classes present and their totals.
 */
export function volumeChart(v: Volume, key: "levels" | "outcomes", classes: [string, string][], noun: string, id: string): HTMLElement {
  const series = v[key] ?? {};
  const present = classes.filter(([name]) => series[name]?.some((n) => n > 0));
  const buckets = Math.max(0, ...present.map(([name]) => series[name]!.length));
  const totals = Array.from({ length: buckets }, (_, i) => present.reduce((sum, [name]) => sum + (series[name]![i] ?? 0), 0));
  const top = Math.max(1, ...totals);
  const w = 600;
  const ht = 60;
  const bw = w / Math.max(1, buckets);
  const bars: SVGElement[] = [];
  for (let i = 0; i < buckets; i++) {
    let y = ht;
    for (const [name, color] of present) {
      const n = series[name]![i] ?? 0;
      if (!n) continue;
      const bh = Math.max(1, (n / top) * ht);
      y -= bh;
      bars.push(svg("rect", { x: (i * bw).toFixed(1), y: y.toFixed(1), width: Math.max(1, bw - 0.8).toFixed(1), height: bh.toFixed(1), fill: color, "data-class": name }));
    }
  }
  const every = v.bucket_seconds >= 60 ? `${Math.round(v.bucket_seconds / 60)} min` : `${Math.round(v.bucket_seconds)} s`;
  const legend = present.map(([name, color]) =>
    h("span", { class: "vol-key" }, h("span", { class: "vol-swatch", style: `background:${color}` }), `${name} ${(series[name] ?? []).reduce((a, b) => a + b, 0)}`),
  );
  return h(
    "figure",
    { class: "volume", id },
    svg("svg", { width: "100%", height: ht, viewBox: `0 0 ${w} ${ht}`, preserveAspectRatio: "none", role: "img", "aria-label": `${noun.toLowerCase()} per ${every}` }, ...bars),
    h("figcaption", { class: "muted" }, `${noun} per ${every}: `, ...legend),
  );
}

/** rows as CSV: a header of the columns' labels, then each row's values (the raw ones the table sorts by). */
export function toCSV<T>(columns: Column<T>[], rows: T[]): string {
  const quote = (v: string | number) => {
    const t = String(v ?? "");
    return /[",\n\r]/.test(t) ? `"${t.replace(/"/g, '""')}"` : t;
  };
  const lines = [columns.map((c) => quote(c.label)).join(",")];
  for (const r of rows) lines.push(columns.map((c) => quote(c.value(r))).join(","));
  return lines.join("\n") + "\n";
}

/**
 * A field's key=value pairs (logfmt: separated by spaces, a value with
 * spaces in double quotes). A word without = is an error naming the field.
 */
export function logfmtPairs(text: string, what: string): Record<string, string> {
  const out: Record<string, string> = {};
  const re = /\s*([^\s=]+)=("([^"]*)"|\S*)\s*/y;
  let rest = text.trim();
  while (rest) {
    re.lastIndex = 0;
    const m = re.exec(rest);
    if (!m) throw new Error(`${what}: want key=value pairs separated by spaces, got "${rest.split(/\s/)[0]}"`);
    out[m[1]!] = m[3] ?? m[2]!;
    rest = rest.slice(re.lastIndex);
  }
  return out;
}
