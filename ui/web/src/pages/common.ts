// Helpers shared by the pages: a generic sortable table and an error box.

import { APIError } from "../api";
import { h } from "../dom";

export interface Column<T> {
  key: string;
  label: string;
  value: (row: T) => string | number;
  render?: (row: T) => string | Node;
  numeric?: boolean;
}

/**
 * A table whose columns sort when their header button is pressed (keyboard
 * reachable; aria-sort tells the order).
 */
export function sortableTable<T>(label: string, columns: Column<T>[], rows: T[], opts: { onRow?: (row: T) => void; limit?: number; id?: string } = {}): HTMLElement {
  let sortKey = "";
  let desc = true;
  const table = h("table", { class: "data", "aria-label": label, id: opts.id });
  const thead = h("thead");
  const tbody = h("tbody");
  table.append(thead, tbody);
  const draw = () => {
    const headRow = h("tr");
    for (const c of columns) {
      const sorted = c.key === sortKey;
      const btn = h(
        "button",
        {
          class: "sort",
          type: "button",
          onclick: () => {
            if (sortKey === c.key) desc = !desc;
            else {
              sortKey = c.key;
              desc = !!c.numeric;
            }
            draw();
          },
        },
        c.label,
        sorted ? (desc ? " ▼" : " ▲") : "",
      );
      headRow.append(h("th", { scope: "col", class: c.numeric ? "num" : "", "aria-sort": sorted ? (desc ? "descending" : "ascending") : "none" }, btn));
    }
    thead.replaceChildren(headRow);
    let data = rows;
    const col = columns.find((c) => c.key === sortKey);
    if (col) {
      data = [...rows].sort((a, b) => {
        const va = col.value(a);
        const vb = col.value(b);
        const r = typeof va === "number" && typeof vb === "number" ? va - vb : String(va).localeCompare(String(vb));
        return desc ? -r : r;
      });
    }
    const limit = opts.limit ?? 2000;
    const frag = document.createDocumentFragment();
    for (const row of data.slice(0, limit)) {
      const tr = h("tr");
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

/** Renders an arbitrary value compactly for a table cell. */
export function cell(v: unknown): string {
  if (v === null || v === undefined) return "";
  if (typeof v === "object") return JSON.stringify(v);
  return String(v);
}
