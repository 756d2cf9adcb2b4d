// SLO page: lists GET /api/v1/slos when the server answers it.

import { APIError, getJSON } from "../api";
import { h } from "../dom";
import { cell, errorBox } from "./common";

/** Renders the SLO page. */
export async function renderSLOs(root: HTMLElement): Promise<void> {
  root.replaceChildren(h("h1", {}, "SLOs"), h("p", { class: "muted" }, "Loading…"));
  try {
    const body = await getJSON<unknown>("slos");
    const list = Array.isArray(body) ? body : ((body as Record<string, unknown>)?.["slos"] as unknown[]) ?? [];
    if (!list.length) {
      root.replaceChildren(h("h1", {}, "SLOs"), h("p", { class: "muted" }, "No SLOs are defined."));
      return;
    }
    const keys: string[] = [];
    for (const s of list) for (const k of Object.keys(s as object)) if (!keys.includes(k)) keys.push(k);
    const table = h("table", { class: "data", "aria-label": "SLOs" });
    table.append(h("thead", {}, h("tr", {}, ...keys.map((k) => h("th", { scope: "col" }, k)))));
    const tbody = h("tbody");
    for (const s of list) tbody.append(h("tr", {}, ...keys.map((k) => h("td", {}, cell((s as Record<string, unknown>)[k])))));
    table.append(tbody);
    root.replaceChildren(h("h1", {}, "SLOs"), h("div", { class: "scroll" }, table));
  } catch (err) {
    if (err instanceof APIError && err.status === 404) {
      root.replaceChildren(h("h1", {}, "SLOs"), h("p", { class: "muted" }, "This server does not serve SLOs yet. Budgets and burn rates will show here."));
      return;
    }
    root.replaceChildren(h("h1", {}, "SLOs"), errorBox(err));
  }
}
