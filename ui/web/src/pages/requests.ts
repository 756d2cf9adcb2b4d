// Request explorer over the requests table.

import { getJSON } from "../api";
import { h } from "../dom";
import { cell, errorBox, field, sortableTable, type Column } from "./common";

type Row = Record<string, unknown>;

/** Renders the request explorer. */
export function renderRequests(root: HTMLElement, params: Record<string, string>): void {
  const names = ["source", "destination", "code", "flags", "path_prefix", "from", "to", "limit"] as const;
  const inputs: Record<string, HTMLInputElement> = {};
  const defaults: Record<string, string> = { from: "now-1h", to: "now", limit: "100" };
  for (const n of names) inputs[n] = h("input", { name: n, value: params[n] ?? defaults[n] ?? "" });
  const out = h("div", { "aria-live": "polite" });
  const search = async () => {
    out.replaceChildren(h("p", { class: "muted" }, "Searching…"));
    const q: Record<string, string> = {};
    for (const n of names) q[n] = inputs[n]!.value.trim();
    try {
      const r = await getJSON<{ requests: Row[] | null }>("requests", q);
      const rows = r.requests ?? [];
      const keys: string[] = [];
      for (const row of rows.slice(0, 50)) for (const k of Object.keys(row)) if (!keys.includes(k)) keys.push(k);
      const cols: Column<Row>[] = keys.map((k) => ({
        key: k,
        label: k,
        value: (row: Row) => (typeof row[k] === "number" ? (row[k] as number) : cell(row[k])),
        numeric: rows.length > 0 && typeof rows[0]![k] === "number",
      }));
      out.replaceChildren(h("p", { class: "muted" }, `${rows.length} requests`), h("div", { class: "scroll" }, sortableTable("Requests", cols, rows)));
    } catch (err) {
      out.replaceChildren(errorBox(err));
    }
  };
  const form = h(
    "form",
    { class: "toolbar wrap", onsubmit: (ev: Event) => (ev.preventDefault(), void search()) },
    ...names.map((n) => field(n.replace("_", " "), inputs[n]!)),
    h("button", { type: "submit", class: "primary" }, "Search"),
  );
  root.replaceChildren(h("h1", {}, "Requests"), form, out);
  void search();
}
