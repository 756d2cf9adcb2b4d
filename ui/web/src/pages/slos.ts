// SLO pages: the list of SLOs (#/slos, GET /api/v1/slos plus each SLO's
// status) and one SLO's detail (#/slos/NAME: GET /api/v1/slos/NAME/status
// and GET /api/v1/alerts?slo=NAME).

import { APIError, getJSON } from "../api";
import { lineChart, type Line } from "../charts";
import { fmtCount, h } from "../dom";
import { errorBox, keepFocus, shortNode, type SortState, sortableTable, type Column } from "./common";
import { deleteSLOButton, newSLOForm, newSLOFormOpen, type SLOPrefill } from "./sloform";

// ---- API shapes (slo.SLOView, slo.Status, slo.AlertView, slo.HistoryEvent, spec.SLO) ----

export interface BurnWindow {
  long: string;
  short: string;
  burn: number;
}

export interface SLOSpec {
  name: string;
  description?: string;
  target: {
    service?: string;
    edge?: { source: string; destination: string };
    filter?: { source?: string; destination?: string; method?: string; path_prefix?: string };
  };
  /** "availability" or {latency: {threshold: "300ms"}}. */
  sli: string | { latency?: { threshold: string } };
  objective: number;
  /** "28d" or {calendar: "month", timezone: "Europe/Berlin"}. */
  window: string | { rolling?: string; calendar?: string; timezone?: string };
  alerting?: {
    page?: BurnWindow[];
    ticket?: BurnWindow[];
    min_requests?: number;
    for?: string;
    no_data?: string;
    no_data_severity?: string;
  };
  labels?: Record<string, string>;
}

export interface SLOView {
  spec: SLOSpec;
  effective: SLOSpec;
  source: string;
  editable: boolean;
  loaded_at: string;
  state: string;
}

export interface WindowStatus {
  window: string;
  requests: number;
  bad: number;
  sli: number | null;
  burn_rate: number;
}

export interface Condition {
  window: BurnWindow;
  long_burn_rate: number;
  short_burn_rate: number;
  long_requests: number;
  short_requests: number;
  guarded: boolean;
  met: boolean;
}

export interface Verdict {
  severity: string;
  conditions: Condition[] | null;
  met: boolean;
  low_traffic: boolean;
}

export interface AlertView {
  slo: string;
  severity: string;
  state: string;
  active_at?: string;
  fired_at?: string;
  resolved_at?: string;
  since?: string;
  no_data?: boolean;
  peak_burn_rate: number;
  labels: Record<string, string> | null;
  annotations: Record<string, string> | null;
}

export interface SLOStatus {
  slo: string;
  evaluated_at?: string;
  state: string;
  source?: string;
  objective: number;
  window: string;
  sli: number | null;
  error_budget_remaining: number;
  budget: { total: number; bad: number };
  windows: WindowStatus[] | null;
  conditions: Verdict[] | null;
  min_requests: number;
  no_data: boolean;
  alerts: AlertView[] | null;
  error?: string;
}

export interface HistoryEvent {
  time: string;
  slo: string;
  severity: string;
  state: string;
  previous_state: string;
  service?: string;
  objective: number;
  sli: number | null;
  error_budget_remaining: number | null;
  burn_rates: Record<string, number> | null;
  requests: Record<string, number> | null;
  no_data?: boolean;
}

// ---- formatting ----

const UNITS: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86400, w: 604800 };

/** Seconds of a duration string such as "5m", "3d", "1h30m" or "300ms"; NaN when unreadable. */
export function durationSeconds(s: string): number {
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h|d|w)/g;
  let total = 0;
  let seen = "";
  for (const m of s.matchAll(re)) {
    total += parseFloat(m[1]!) * UNITS[m[2]!]!;
    seen += m[0];
  }
  return seen && seen === s.replace(/\s/g, "") ? total : NaN;
}

function byDuration(a: string, b: string): number {
  const da = durationSeconds(a);
  const db = durationSeconds(b);
  if (isNaN(da) || isNaN(db)) return a.localeCompare(b);
  return da - db;
}

function fmtPct(v: number | null | undefined, digits = 3): string {
  if (v === null || v === undefined || !isFinite(v)) return "–";
  return (v * 100).toFixed(digits).replace(/\.?0+$/, "") + "%";
}

function fmtBurn(v: number | null | undefined): string {
  if (v === null || v === undefined || !isFinite(v)) return "–";
  if (v >= 100) return v.toFixed(0) + "×";
  if (v >= 10) return v.toFixed(1) + "×";
  return v.toFixed(2) + "×";
}

function fmtTime(s: string | undefined): string {
  if (!s) return "–";
  const d = new Date(s);
  if (isNaN(d.getTime())) return s;
  return d.toLocaleString(undefined, { year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", second: "2-digit" });
}

/** Describes an SLO's target in a few words. */
export function targetText(t: SLOSpec["target"]): string {
  if (t.service) return shortNode(t.service);
  if (t.edge) return `${shortNode(t.edge.source)} → ${shortNode(t.edge.destination)}`;
  if (t.filter) {
    const f = t.filter;
    const parts: string[] = [];
    if (f.source || f.destination) parts.push(`${f.source ? shortNode(f.source) : "*"} → ${f.destination ? shortNode(f.destination) : "*"}`);
    if (f.method) parts.push(f.method);
    if (f.path_prefix) parts.push(f.path_prefix + "*");
    return parts.join(" ") || "all requests";
  }
  return "–";
}

/** The SLI kind: "availability" or "latency ≤ 300ms". */
export function sliText(s: SLOSpec["sli"]): string {
  if (typeof s === "string") return s;
  if (s && s.latency) return `latency ≤ ${s.latency.threshold}`;
  return "–";
}

/** The SLO window: "28d", "calendar week (UTC)". */
export function windowText(w: SLOSpec["window"]): string {
  if (typeof w === "string") return w;
  if (w.calendar) return `calendar ${w.calendar} (${w.timezone || "UTC"})`;
  return w.rolling ?? "–";
}

const STATE_TITLES: Record<string, string> = {
  ok: "Every alert condition is clear",
  pending: "A condition holds, waiting for `for` before firing",
  firing: "An alert fires",
  nodata: "No request in the shortest alerting window",
  low_traffic: "Below the low-traffic guard: nothing can fire",
  unknown: "Not evaluated yet",
  error: "The last evaluation failed",
  inactive: "Not active",
  resolved: "Resolved recently",
};

/** A coloured state badge. */
export function stateBadge(state: string): HTMLElement {
  const s = state || "unknown";
  return h("span", { class: `slo-state state-${s.replace(/[^a-z_]/g, "")}`, title: STATE_TITLES[s] ?? s }, s);
}

/** A small bar of the error budget remaining (1 full, negative overspent). */
export function budgetBar(remaining: number | null | undefined, label: string): HTMLElement {
  if (remaining === null || remaining === undefined || !isFinite(remaining)) return h("span", { class: "muted" }, "–");
  const pct = Math.max(0, Math.min(1, remaining)) * 100;
  const level = remaining <= 0 ? "out" : remaining < 0.25 ? "low" : remaining < 0.5 ? "mid" : "ok";
  const text = fmtPct(remaining, 1);
  return h(
    "span",
    { class: "budget" },
    h(
      "span",
      { class: `budget-bar budget-${level}`, role: "meter", "aria-valuemin": 0, "aria-valuemax": 100, "aria-valuenow": Math.round(pct), "aria-valuetext": text, "aria-label": label },
      h("span", { class: "budget-fill", style: `width: ${pct.toFixed(1)}%` }),
    ),
    h("span", { class: "budget-text" }, text),
  );
}

function sloLink(name: string): HTMLElement {
  return h("a", { href: `#/slos/${encodeURIComponent(name)}`, class: "slo-link", "aria-label": `SLO ${name}: details` }, name);
}

function page(root: HTMLElement, title: string, ...children: (Node | string)[]): void {
  const refocus = keepFocus(root);
  root.replaceChildren(h("h1", {}, title), ...children);
  refocus?.();
}

function notServed(root: HTMLElement): void {
  page(root, "SLOs", h("p", { class: "muted" }, "This server does not serve SLOs yet. Budgets and burn rates will show here."));
}

// ---- pages ----

let renderToken = 0;

/** The list's order, kept while the list is drawn again. */
const listSort: SortState = { key: "", desc: true };

/**
 * Renders the SLO list, or one SLO's detail when name is set. A refresh
 * draws the page again with fresh data without showing "Loading…" first.
 */
export async function renderSLOs(root: HTMLElement, name = "", refresh = false, prefill: SLOPrefill = {}): Promise<void> {
  // A refresh leaves the list alone while a new SLO is being written.
  if (refresh && !name && newSLOFormOpen()) return;
  const token = ++renderToken;
  const current = () => token === renderToken;
  if (!refresh) page(root, name ? `SLO ${name}` : "SLOs", h("p", { class: "muted", role: "status" }, "Loading…"));
  try {
    if (name) await renderDetail(root, name, current);
    else await renderList(root, current, prefill);
  } catch (err) {
    if (!current()) return;
    if (err instanceof APIError && err.status === 404) {
      if (name) {
        try {
          await getJSON<unknown>("slos");
        } catch (e2) {
          if (current() && e2 instanceof APIError && e2.status === 404) {
            notServed(root);
            return;
          }
        }
        if (current()) page(root, `SLO ${name}`, backLink(), errorBox(err));
        return;
      }
      notServed(root);
      return;
    }
    page(root, name ? `SLO ${name}` : "SLOs", ...(name ? [backLink()] : []), errorBox(err));
  }
}

function backLink(): HTMLElement {
  return h("p", {}, h("a", { href: "#/slos" }, "← All SLOs"));
}

interface ListRow {
  view: SLOView;
  status: SLOStatus | null;
  fastest: WindowStatus | null;
}

/** A Prometheus alerting rule as GET /api/v1/rules answers it. */
interface PromRule {
  name: string;
  query: string;
  duration: number;
  state: string;
  health: string;
  lastError?: string;
  alerts: { labels: Record<string, string>; state: string; activeAt: string; value: string }[] | null;
}

/**
 * The Prometheus alerting rules of serve --rule-files (GET /api/v1/rules):
 * each rule with its group, state, health and active alerts; nothing when
 * there are none or the server does not answer.
 */
async function rulesSection(): Promise<HTMLElement | string> {
  const r = await getJSON<{ data: { groups: { name: string; file: string; rules: PromRule[] | null }[] | null } }>("rules").catch(() => null);
  const rows = (r?.data.groups ?? []).flatMap((g) => (g.rules ?? []).map((rule) => ({ group: g.name, file: g.file, rule })));
  if (!rows.length) return "";
  const firing = rows.filter((x) => x.rule.state === "firing").length;
  // A rule's active alerts: how many in each state, and the first three
  // by the labels that tell them apart (those all of them share left out).
  const alertList = (x: (typeof rows)[number]): HTMLElement | string => {
    const alerts = x.rule.alerts ?? [];
    if (!alerts.length) return "–";
    const shared = (k: string, v: string) => alerts.length > 1 && alerts.every((a) => a.labels[k] === v);
    const named = alerts.map((a) => Object.entries(a.labels).filter(([k, v]) => k !== "alertname" && !shared(k, v)).map(([k, v]) => `${k}=${v}`).join(" ") || "(no labels)");
    const counts = ["firing", "pending"].map((st) => [st, alerts.filter((a) => a.state === st).length] as const).filter(([, n]) => n > 0);
    return h(
      "div",
      { class: "rule-alerts" },
      h("div", {}, counts.map(([st, n]) => `${n} ${st}`).join(", ")),
      ...named.slice(0, 3).map((t, i) => h("div", { class: "muted", title: t }, `${t} (${alerts[i]!.state})`)),
      alerts.length > 3 ? h("div", { class: "muted" }, `… and ${alerts.length - 3} more`) : "",
    );
  };
  return h(
    "section",
    { class: "rules", "aria-label": "Alerting rules" },
    h("h2", {}, "Alerting rules"),
    h("p", { class: "muted" }, `${rows.length} Prometheus alerting rule${rows.length === 1 ? "" : "s"} (--rule-files), ${firing} firing, evaluated over the stored metrics.`),
    h(
      "div",
      { class: "scroll" },
      sortableTable(
        "Alerting rules",
        [
          { key: "name", label: "Alert", value: (x) => x.rule.name, render: (x) => h("span", { title: x.rule.query }, x.rule.name) },
          { key: "group", label: "Group", value: (x) => x.group, render: (x) => h("span", { title: x.file }, x.group) },
          { key: "state", label: "State", value: (x) => x.rule.state, render: (x) => stateBadge(x.rule.state) },
          { key: "health", label: "Health", value: (x) => x.rule.health, render: (x) => (x.rule.health === "err" ? h("span", { class: "error-text", title: x.rule.lastError ?? "" }, `error: ${x.rule.lastError ?? ""}`) : x.rule.health) },
          { key: "for", label: "For", value: (x) => x.rule.duration, render: (x) => (x.rule.duration ? `${x.rule.duration}s` : "–"), numeric: true },
          { key: "alerts", label: "Active alerts", value: (x) => (x.rule.alerts ?? []).length, render: (x) => alertList(x) },
        ],
        rows,
        { id: "rules-table" },
      ),
    ),
  );
}

async function renderList(root: HTMLElement, current: () => boolean, prefill: SLOPrefill): Promise<void> {
  const rulesP = rulesSection();
  const body = await getJSON<{ slos: SLOView[] | null; errors?: { file: string; field?: string; error: string }[] | null }>("slos");
  const rules = await rulesP;
  if (!current()) return;
  const list = body?.slos ?? [];
  const fileErrors = body?.errors ?? [];
  const errorList = fileErrors.length
    ? h(
        "div",
        { class: "error", role: "alert" },
        h("strong", {}, "Spec files with errors:"),
        h("ul", {}, ...fileErrors.map((e) => h("li", {}, `${e.file}${e.field ? ` (${e.field})` : ""}: ${e.error}`))),
      )
    : "";
  const form = newSLOForm((created) => {
    void renderSLOs(root, "", true).then(() => document.querySelector<HTMLElement>(`#slo-table a[href="#/slos/${CSS.escape(created)}"]`)?.focus());
  }, prefill);
  if (!list.length) {
    page(root, "SLOs", errorList, h("p", { class: "muted" }, "No SLOs are defined."), form, rules);
    return;
  }
  const statuses = await Promise.allSettled(list.map((v) => getJSON<SLOStatus>(`slos/${encodeURIComponent(v.spec.name)}/status`)));
  if (!current()) return;
  const rows: ListRow[] = list.map((view, i) => {
    const r = statuses[i]!;
    const status = r.status === "fulfilled" ? r.value : null;
    const wins = [...(status?.windows ?? [])].sort((a, b) => byDuration(a.window, b.window));
    return { view, status, fastest: wins[0] ?? null };
  });
  const eff = (r: ListRow) => r.view.effective ?? r.view.spec;
  const columns: Column<ListRow>[] = [
    { key: "name", label: "Name", value: (r) => r.view.spec.name, render: (r) => sloLink(r.view.spec.name) },
    { key: "target", label: "Target", value: (r) => targetText(eff(r).target) },
    { key: "sli_kind", label: "SLI kind", value: (r) => sliText(eff(r).sli) },
    { key: "objective", label: "Objective", value: (r) => eff(r).objective, render: (r) => `${eff(r).objective}%`, numeric: true },
    { key: "window", label: "Window", value: (r) => windowText(eff(r).window) },
    { key: "state", label: "State", value: (r) => r.status?.state ?? r.view.state, render: (r) => stateBadge(r.status?.state ?? r.view.state) },
    { key: "sli", label: "SLI", value: (r) => r.status?.sli ?? -1, render: (r) => fmtPct(r.status?.sli), numeric: true },
    {
      key: "budget",
      label: "Error budget left",
      value: (r) => r.status?.error_budget_remaining ?? -Infinity,
      render: (r) => budgetBar(r.status ? r.status.error_budget_remaining : null, `Error budget remaining of ${r.view.spec.name}`),
      numeric: true,
    },
    {
      key: "burn",
      label: "Burn rate (fastest window)",
      value: (r) => r.fastest?.burn_rate ?? -1,
      render: (r) => (r.fastest ? h("span", {}, fmtBurn(r.fastest.burn_rate), h("span", { class: "muted" }, ` over ${r.fastest.window}`)) : "–"),
      numeric: true,
    },
  ];
  const table = sortableTable("SLOs", columns, rows, { id: "slo-table", sort: listSort, rowKey: (r) => r.view.spec.name });
  page(root, "SLOs", errorList, h("p", { class: "muted" }, `${list.length} SLO${list.length === 1 ? "" : "s"}. Choose a name for its windows, thresholds and alert history.`), form, h("div", { class: "scroll" }, table), rules);
}

/** The alerting threshold pairs of a spec, by severity. */
function thresholds(s: SLOSpec): { severity: string; bw: BurnWindow }[] {
  const out: { severity: string; bw: BurnWindow }[] = [];
  for (const sev of ["page", "ticket"] as const) for (const bw of s.alerting?.[sev] ?? []) out.push({ severity: sev, bw });
  return out;
}

async function renderDetail(root: HTMLElement, name: string, current: () => boolean): Promise<void> {
  const [status, views, alerts] = await Promise.all([
    getJSON<SLOStatus>(`slos/${encodeURIComponent(name)}/status`),
    getJSON<{ slos: SLOView[] | null }>("slos").catch(() => ({ slos: [] as SLOView[] })),
    getJSON<{ alerts: AlertView[] | null; history: HistoryEvent[] | null; history_error?: string }>("alerts", { slo: name }).catch((err: unknown) => ({ alerts: null, history: null, history_error: err instanceof Error ? err.message : String(err) })),
  ]);
  if (!current()) return;
  const view = (views.slos ?? []).find((v) => v.spec.name === name);
  const eff = view?.effective ?? view?.spec;
  const thr = eff ? thresholds(eff) : [];

  const parts: (Node | string)[] = [backLink()];
  if (eff?.description) parts.push(h("p", {}, eff.description));
  if (view?.editable) parts.push(deleteSLOButton(name, () => (location.hash = "#/slos")));
  if (status.error) parts.push(h("div", { class: "error", role: "alert" }, h("strong", {}, "Evaluation failed: "), status.error));

  // Summary.
  const stat = (label: string, value: Node | string) => h("div", { class: "stat" }, h("div", { class: "stat-v" }, value), h("div", { class: "stat-l" }, label));
  parts.push(
    h(
      "div",
      { class: "numbers slo-numbers", role: "group", "aria-label": "Summary" },
      stat("State", stateBadge(status.state)),
      stat("SLI", fmtPct(status.sli)),
      stat("Objective", `${status.objective}%`),
      stat("Window", eff ? windowText(eff.window) : status.window),
      stat("Error budget left", budgetBar(status.error_budget_remaining, "Error budget remaining")),
      stat("Bad / total", `${fmtCount(status.budget?.bad)} / ${fmtCount(status.budget?.total)}`),
    ),
  );
  const kv: [string, string][] = [];
  if (eff) kv.push(["Target", targetText(eff.target)], ["SLI kind", sliText(eff.sli)]);
  kv.push(["Evaluated", fmtTime(status.evaluated_at)]);
  if (status.source) kv.push(["Counted from", status.source]);
  kv.push(["Low-traffic guard", `${fmtCount(status.min_requests)} requests per window`]);
  if (eff?.alerting?.for) kv.push(["Pending for", eff.alerting.for]);
  if (view) kv.push(["Spec", view.source]);
  parts.push(h("dl", { class: "kv", id: "slo-facts" }, ...kv.flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, v)])));

  // Burn rates per window with the thresholds that use each window.
  const windows = [...(status.windows ?? [])].sort((a, b) => byDuration(a.window, b.window));
  const maxBurn = Math.max(1, ...windows.map((w) => w.burn_rate), ...thr.map((t) => t.bw.burn));
  const winRows = h("tbody");
  for (const w of windows) {
    const uses = thr.filter((t) => t.bw.long === w.window || t.bw.short === w.window);
    const exceeded = uses.some((t) => w.burn_rate > t.bw.burn);
    const bar = h(
      "span",
      { class: "burn-bar", "aria-hidden": "true" },
      h("span", { class: `burn-fill${exceeded ? " over" : ""}`, style: `width: ${((Math.min(w.burn_rate, maxBurn) / maxBurn) * 100).toFixed(1)}%` }),
      ...uses.map((t) => h("span", { class: `burn-mark mark-${t.severity}`, style: `left: ${((t.bw.burn / maxBurn) * 100).toFixed(1)}%`, title: `${t.severity} at ${t.bw.burn}×` })),
    );
    winRows.append(
      h(
        "tr",
        { "data-window": w.window },
        h("th", { scope: "row" }, w.window),
        h("td", { class: "num" }, fmtCount(w.requests)),
        h("td", { class: "num" }, fmtCount(w.bad)),
        h("td", { class: "num" }, fmtPct(w.sli)),
        h("td", { class: `num${exceeded ? " error-text" : ""}` }, fmtBurn(w.burn_rate)),
        h("td", { class: "burn-cell" }, bar),
        h("td", {}, uses.length ? uses.map((t) => `${t.severity} > ${t.bw.burn}× (${t.bw.long} & ${t.bw.short})`).join("; ") : h("span", { class: "muted" }, "–")),
      ),
    );
  }
  if (!windows.length) winRows.append(h("tr", {}, h("td", { colspan: 7, class: "muted" }, "Not evaluated yet.")));
  parts.push(
    h("h2", { id: "slo-windows-h" }, "Burn rate per window"),
    h(
      "div",
      { class: "scroll" },
      h(
        "table",
        { class: "data", id: "slo-windows", "aria-labelledby": "slo-windows-h" },
        h(
          "thead",
          {},
          h(
            "tr",
            {},
            h("th", { scope: "col" }, "Window"),
            h("th", { scope: "col", class: "num" }, "Requests"),
            h("th", { scope: "col", class: "num" }, "Bad"),
            h("th", { scope: "col", class: "num" }, "SLI"),
            h("th", { scope: "col", class: "num" }, "Burn rate"),
            h("th", { scope: "col" }, "Burn vs thresholds"),
            h("th", { scope: "col" }, "Alert thresholds"),
          ),
        ),
        winRows,
      ),
    ),
  );

  // Conditions as judged: page/ticket pairs.
  const verdicts = status.conditions ?? [];
  const condRows = h("tbody");
  for (const v of verdicts) {
    for (const c of v.conditions ?? []) {
      condRows.append(
        h(
          "tr",
          {},
          h("td", {}, v.severity),
          h("td", {}, `${c.window.long} & ${c.window.short}`),
          h("td", { class: "num" }, `${c.window.burn}×`),
          h("td", { class: "num" }, fmtBurn(c.long_burn_rate)),
          h("td", { class: "num" }, fmtBurn(c.short_burn_rate)),
          h("td", {}, c.met ? h("strong", { class: "error-text" }, "met") : c.guarded ? h("span", { class: "muted", title: "Fewer requests than the low-traffic guard" }, "guarded") : "clear"),
        ),
      );
    }
    if (!(v.conditions ?? []).length) condRows.append(h("tr", {}, h("td", {}, v.severity), h("td", { colspan: 5, class: "muted" }, "disabled")));
  }
  if (verdicts.length) {
    parts.push(
      h("h2", { id: "slo-conditions-h" }, "Alert conditions"),
      h(
        "table",
        { class: "data", id: "slo-conditions", "aria-labelledby": "slo-conditions-h" },
        h(
          "thead",
          {},
          h(
            "tr",
            {},
            ...["Severity", "Windows (long & short)", "Threshold", "Long burn", "Short burn", "Condition"].map((l, i) => h("th", { scope: "col", class: i >= 2 && i <= 4 ? "num" : "" }, l)),
          ),
        ),
        condRows,
      ),
    );
  }

  // Current alerts.
  const current_ = (status.alerts ?? alerts.alerts ?? []).filter((a) => a.state && a.state !== "inactive");
  parts.push(h("h2", {}, "Alerts"));
  if (!current_.length) parts.push(h("p", { class: "muted", id: "slo-alerts" }, "No alert is pending, firing or recently resolved."));
  else
    parts.push(
      sortableTable<AlertView>(
        "Current alerts",
        [
          { key: "severity", label: "Severity", value: (a) => a.severity },
          { key: "state", label: "State", value: (a) => a.state, render: (a) => stateBadge(a.state) },
          { key: "since", label: "Since", value: (a) => a.since ?? "", render: (a) => fmtTime(a.since) },
          { key: "peak", label: "Peak burn", value: (a) => a.peak_burn_rate, render: (a) => fmtBurn(a.peak_burn_rate), numeric: true },
          { key: "summary", label: "Summary", value: (a) => a.annotations?.["summary"] ?? "" },
        ],
        current_,
        { id: "slo-alerts" },
      ),
    );

  // History: chart of burn rates at each state change, and the table.
  const history = [...(alerts.history ?? [])].sort((a, b) => Date.parse(a.time) - Date.parse(b.time));
  parts.push(h("h2", {}, "Alert history"));
  if (alerts.history_error) parts.push(h("p", { class: "error-text" }, `History unavailable: ${alerts.history_error}`));
  if (!history.length) {
    parts.push(h("p", { class: "muted", id: "slo-history" }, "No state changes recorded in the last 24 hours."));
  } else {
    const keys = [...new Set(history.flatMap((e) => Object.keys(e.burn_rates ?? {})))].sort(byDuration);
    if (history.length >= 2 && keys.length) {
      const palette = ["#e03131", "#f08c00", "#1c7ed6", "#2f9e44", "#7048e8", "#0c8599", "#c2255c"];
      const time = history.map((e) => Date.parse(e.time) / 1000);
      const lines: Line[] = keys.map((k, i) => ({ label: k, color: palette[i % palette.length]!, values: history.map((e) => e.burn_rates?.[k] ?? null) }));
      const chart = lineChart("Burn rates at alert state changes", time, lines, (v) => fmtBurn(v), 720);
      chart.id = "slo-burn-chart";
      parts.push(chart);
    }
    const newestFirst = [...history].reverse();
    parts.push(
      sortableTable<HistoryEvent>(
        "Alert history",
        [
          { key: "time", label: "Time", value: (e) => e.time, render: (e) => h("time", { datetime: e.time }, fmtTime(e.time)) },
          { key: "severity", label: "Severity", value: (e) => e.severity },
          { key: "state", label: "State", value: (e) => e.state, render: (e) => h("span", {}, h("span", { class: "muted" }, `${e.previous_state || "–"} → `), stateBadge(e.state)) },
          {
            key: "burn",
            label: "Burn rates",
            value: (e) => Math.max(0, ...Object.values(e.burn_rates ?? {})),
            render: (e) =>
              Object.entries(e.burn_rates ?? {})
                .sort((a, b) => byDuration(a[0], b[0]))
                .map(([w, b]) => `${w} ${fmtBurn(b)}`)
                .join(", ") || "–",
            numeric: true,
          },
          { key: "budget", label: "Budget left", value: (e) => e.error_budget_remaining ?? -Infinity, render: (e) => fmtPct(e.error_budget_remaining, 1), numeric: true },
        ],
        newestFirst,
        { id: "slo-history" },
      ),
    );
  }

  page(root, `SLO ${name}`, ...parts);
}
