// SQL console: a textarea editor, Ctrl+Enter to run, results table, CSV
// download. Errors are shown as the server returns them.

import { postJSON } from "../api";
import { download, h } from "../dom";
import type { SQLResult } from "../types";
import { cell, errorBox } from "./common";

const STORAGE_KEY = "meshscope.sql";
const DEFAULT_QUERY = "SELECT source, destination, count() AS requests\nFROM requests\nGROUP BY source, destination\nORDER BY requests DESC\nLIMIT 20";

let last: SQLResult | null = null;

function csvCell(v: unknown): string {
  const s = cell(v);
  return /[",\n\r]/.test(s) ? '"' + s.replace(/"/g, '""') + '"' : s;
}

/** Converts a result to CSV text. */
export function toCSV(r: SQLResult): string {
  const lines = [r.columns.map((c) => csvCell(c.name)).join(",")];
  for (const row of r.rows) lines.push(row.map(csvCell).join(","));
  return lines.join("\r\n") + "\r\n";
}

/** Renders the SQL page into root. */
export function renderSQL(root: HTMLElement, params: Record<string, string>): void {
  const editor = h("textarea", {
    id: "sql-editor",
    class: "code",
    rows: 10,
    spellcheck: "false",
    "aria-label": "SQL query (Ctrl+Enter runs it)",
  });
  editor.value = params["q"] ?? localStorage.getItem(STORAGE_KEY) ?? DEFAULT_QUERY;
  const results = h("div", { id: "sql-results", "aria-live": "polite" });
  const meta = h("span", { class: "muted", id: "sql-meta" });
  const csvBtn = h("button", { type: "button", id: "sql-csv", disabled: true, onclick: () => last && download("meshscope-query.csv", toCSV(last), "text/csv") }, "Download CSV");
  const run = async () => {
    const query = editor.value.trim();
    if (!query) return;
    try {
      localStorage.setItem(STORAGE_KEY, editor.value);
    } catch {
      /* ignore */
    }
    runBtn.disabled = true;
    meta.textContent = "Running…";
    try {
      const r = await postJSON<SQLResult>("sql", { query, format: "json" });
      last = r;
      results.replaceChildren(resultTable(r));
      meta.textContent = `${r.rows.length} row${r.rows.length === 1 ? "" : "s"}` + (r.rows_read !== undefined ? ` · ${r.rows_read} rows read` : "") + (r.elapsed_ms !== undefined ? ` · ${r.elapsed_ms} ms` : "");
      csvBtn.disabled = false;
    } catch (err) {
      last = null;
      csvBtn.disabled = true;
      meta.textContent = "";
      results.replaceChildren(errorBox(err));
    } finally {
      runBtn.disabled = false;
    }
  };
  const runBtn = h("button", { type: "button", id: "sql-run", class: "primary", onclick: () => void run() }, "Run (Ctrl+Enter)");
  editor.addEventListener("keydown", (ev) => {
    if (ev.key === "Enter" && (ev.ctrlKey || ev.metaKey)) {
      ev.preventDefault();
      void run();
    }
  });
  root.replaceChildren(
    h("h1", {}, "SQL console"),
    h("p", { class: "muted" }, "Read-only queries over the requests, spans and metrics tables. Ctrl+Enter runs the query."),
    editor,
    h("div", { class: "toolbar" }, runBtn, csvBtn, meta),
    results,
  );
  editor.focus();
}

function resultTable(r: SQLResult): HTMLElement {
  const table = h("table", { class: "data", "aria-label": "Query results" });
  const head = h("tr");
  for (const c of r.columns) head.append(h("th", { scope: "col", title: c.type }, c.name, h("span", { class: "coltype" }, c.type)));
  table.append(h("thead", {}, head));
  const body = h("tbody");
  const frag = document.createDocumentFragment();
  for (const row of r.rows.slice(0, 5000)) {
    const tr = h("tr");
    for (const v of row) tr.append(h("td", { class: typeof v === "number" ? "num" : "" }, cell(v)));
    frag.append(tr);
  }
  body.append(frag);
  if (!r.rows.length) body.append(h("tr", {}, h("td", { colspan: Math.max(1, r.columns.length), class: "muted" }, "No rows.")));
  table.append(body);
  return h("div", { class: "scroll" }, table);
}
