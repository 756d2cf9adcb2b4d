// SQL console: a textarea editor, Ctrl+Enter to run, results table, CSV
// download, and a browser of the tables and their columns beside the
// editor. Errors are shown as the server returns them.

import { getJSON, postJSON } from "../api";
import { download, fmtBytes, fmtCount, h } from "../dom";
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
  const tables = h("aside", { class: "sql-tables", "aria-label": "Tables" }, h("h2", {}, "Tables"), h("p", { class: "muted" }, "Loading…"));
  void loadTables(tables, editor);
  root.replaceChildren(
    h("h1", {}, "SQL console"),
    h("p", { class: "muted" }, "Read-only queries over meshscope's tables: spans, logs, requests, metrics, edges and the rest, listed beside. Ctrl+Enter runs the query."),
    h("div", { class: "sql-layout" }, h("div", {}, editor, h("div", { class: "toolbar" }, runBtn, csvBtn, meta)), tables),
    results,
  );
  editor.focus();
}

interface SQLTable {
  name: string;
  doc: string;
  columns: { name: string; type: string; doc: string }[];
}

/** Puts text at the editor's cursor (over its selection) and focuses it. */
function insert(editor: HTMLTextAreaElement, text: string): void {
  editor.setRangeText(text, editor.selectionStart, editor.selectionEnd, "end");
  editor.focus();
}

/** GET /api/v1/storage: what each table holds. */
interface Storage {
  tables: { name: string; rows: number; bytes_on_disk: number; bytes_uncompressed: number; bytes_per_row: number; parts: number; oldest?: string; newest?: string }[] | null;
  bytes_on_disk: number;
}

/**
 * Fills the table browser: each table, with its rows and size on disk,
 * opens to its description, a button that writes a first query over it
 * into the editor, and its columns, whose names go in at the cursor.
 */
async function loadTables(aside: HTMLElement, editor: HTMLTextAreaElement): Promise<void> {
  let list: SQLTable[];
  // What each table holds (GET /api/v1/storage), beside its name; none if
  // the server cannot say.
  const storage = getJSON<Storage>("storage").catch(() => null);
  try {
    list = (await getJSON<{ tables: SQLTable[] | null }>("sql/tables")).tables ?? [];
  } catch (err) {
    aside.replaceChildren(h("h2", {}, "Tables"), errorBox(err));
    return;
  }
  const sizes = new Map(((await storage)?.tables ?? []).map((t) => [t.name, t]));
  const size = (name: string) => {
    const t = sizes.get(name);
    if (!t) return "";
    const span = t.oldest && t.newest ? `, ${new Date(t.oldest).toLocaleString()} to ${new Date(t.newest).toLocaleString()}` : "";
    return h(
      "span",
      { class: "table-size", title: `${t.rows} rows, ${fmtBytes(t.bytes_on_disk)} on disk (${fmtBytes(t.bytes_uncompressed)} uncompressed, ${t.bytes_per_row.toFixed(1)} B a row), ${t.parts} parts${span}` },
      `${fmtCount(t.rows)} · ${fmtBytes(t.bytes_on_disk)}`,
    );
  };
  const items = list.map((t) =>
    h(
      "details",
      { "data-table": t.name },
      h("summary", {}, h("code", {}, t.name), " ", size(t.name)),
      h("p", { class: "muted" }, t.doc),
      h(
        "button",
        {
          type: "button",
          class: "small",
          onclick: () => {
            editor.value = `SELECT *\nFROM ${t.name}\nLIMIT 100`;
            editor.focus();
          },
        },
        "Query it",
      ),
      h(
        "ul",
        { class: "sql-columns" },
        ...t.columns.map((c) =>
          h("li", {}, h("button", { type: "button", class: "link", title: c.doc, "aria-label": `Insert ${c.name}: ${c.doc}`, onclick: () => insert(editor, c.name) }, c.name), h("span", { class: "coltype" }, c.type)),
        ),
      ),
    ),
  );
  const total = (await storage)?.bytes_on_disk;
  aside.replaceChildren(
    h("h2", {}, "Tables"),
    h("p", { class: "muted" }, "Rows and size on disk beside each", total !== undefined ? h("span", { id: "storage-total" }, ` (${fmtBytes(total)} in all)`) : "", ". A column's name goes in at the cursor."),
    ...items,
  );
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
