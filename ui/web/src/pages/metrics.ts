// Metrics explorer: the stored metrics by name, and one metric charted as
// the server computes it (rates of counters, gauges' values), its series
// filtered by label and combined by the labels asked.

import { getJSON } from "../api";
import { lineChart, seriesColor, type Line } from "../charts";
import { fmtCount, h } from "../dom";
import { errorBox, field, sortableTable, type Column } from "./common";

/** One metric of GET /api/v1/metrics. */
interface MetricInfo {
  name: string;
  type: string;
  unit: string;
  description: string;
  temporality: string;
  series: number;
  sources: string[] | null;
}

/** GET /api/v1/metrics/query. */
interface MetricAnswer {
  name: string;
  /** The name PromQL knows the metric by (an OTLP metric's Prometheus name). */
  prom_name?: string;
  /** OTLP attribute keys whose Prometheus label names differ. */
  prom_labels?: Record<string, string>;
  type: string;
  unit: string;
  description: string;
  value: string;
  quantile: number;
  step_seconds: number;
  label_keys: string[] | null;
  lines_total: number;
  series_read: number;
  series_truncated: boolean;
  series: { labels: Record<string, string>; points: [number, number][] }[] | null;
}

/** A value with an SI suffix, as chart axes and the legend show it. */
export function fmtValue(v: number): string {
  if (!isFinite(v)) return "–";
  const a = Math.abs(v);
  if (a === 0) return "0";
  for (const [d, s] of [
    [1e12, "T"],
    [1e9, "G"],
    [1e6, "M"],
    [1e3, "k"],
  ] as const) {
    if (a >= d) return (v / d).toFixed(a / d >= 100 ? 0 : 1) + s;
  }
  if (a >= 100) return v.toFixed(0);
  if (a >= 1) return v.toFixed(2).replace(/\.?0+$/, "");
  return v.toPrecision(2);
}

/** What the chart's values are, in words. */
function valueWords(a: MetricAnswer): string {
  const unit = a.unit && a.unit !== "1" ? ` (${a.unit})` : "";
  switch (a.value) {
    case "quantile":
      return `p${+(a.quantile * 100).toFixed(2)}${unit}`;
    case "per_second":
      return `per second${unit}`;
    case "observations_per_second":
      return "observations per second";
    case "observations":
      return "observations";
  }
  return `value${unit}`;
}

function labelText(labels: Record<string, string>): string {
  const keys = Object.keys(labels).sort();
  return keys.length ? keys.map((k) => `${k}=${labels[k]}`).join(", ") : "(all series)";
}

interface LegendRow {
  color: string;
  labels: string;
  last: number;
  mean: number;
  max: number;
}

const legendColumns: Column<LegendRow>[] = [
  { key: "color", label: "", value: (r) => r.color, render: (r) => h("span", { class: "swatch", style: `background:${r.color}` }) },
  { key: "labels", label: "Series", value: (r) => r.labels },
  { key: "last", label: "Last", value: (r) => r.last, render: (r) => fmtValue(r.last), numeric: true },
  { key: "mean", label: "Mean", value: (r) => r.mean, render: (r) => fmtValue(r.mean), numeric: true },
  { key: "max", label: "Max", value: (r) => r.max, render: (r) => fmtValue(r.max), numeric: true },
];

/** The chart and legend of one metric's answer. */
function metricView(a: MetricAnswer): HTMLElement {
  const series = a.series ?? [];
  // One time axis for every line: the union of their steps.
  const times = [...new Set(series.flatMap((s) => s.points.map((p) => p[0])))].sort((x, y) => x - y);
  const at = new Map(times.map((t, i) => [t, i]));
  const lines: Line[] = series.map((s, i) => {
    const values: (number | null)[] = times.map(() => null);
    for (const [t, v] of s.points) values[at.get(t)!] = v;
    return { label: labelText(s.labels), color: seriesColor(i), values };
  });
  const rows: LegendRow[] = series.map((s, i) => {
    const vs = s.points.map((p) => p[1]);
    return {
      color: seriesColor(i),
      labels: labelText(s.labels),
      last: vs.length ? vs[vs.length - 1]! : NaN,
      mean: vs.length ? vs.reduce((x, y) => x + y, 0) / vs.length : NaN,
      max: vs.length ? Math.max(...vs) : NaN,
    };
  });
  const note = [
    `${a.type}${a.description ? ` · ${a.description}` : ""}`,
    `${series.length} of ${a.lines_total} ${a.lines_total === 1 ? "line" : "lines"} from ${fmtCount(a.series_read)} series${a.series_truncated ? " (more match: the first were read; add filters)" : ""}`,
    `step ${a.step_seconds}s`,
  ].join(" · ");
  return h(
    "div",
    { id: "metric-view" },
    h("p", { class: "muted" }, note),
    lineChart(`${a.name}: ${valueWords(a)}`, times, lines, fmtValue, 760),
    sortableTable("Lines", legendColumns, rows, { id: "metric-lines" }),
  );
}

/** A PromQL string literal. */
function promString(v: string): string {
  return `"${v.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;
}

/**
 * The PromQL that charts what the explorer shows (for Grafana's
 * Prometheus data source, which reads meshscope's /prometheus API), with
 * the names PromQL knows (an OTLP metric's and attributes' Prometheus
 * names; its service is the job): rates over two steps' window, quantiles
 * of the buckets' rates (of the native histogram's for an exponential
 * one), gauges as they are.
 */
export function promQL(
  a: Pick<MetricAnswer, "name" | "prom_name" | "prom_labels" | "type" | "value" | "quantile" | "step_seconds">,
  groupBy: string[],
  matches: string[],
  agg: string,
  service: string,
): string {
  const label = (k: string) => (k === "service.name" ? "job" : (a.prom_labels?.[k] ?? k));
  const sel: string[] = [];
  if (service) sel.push(`job=${promString(service)}`);
  for (const m of matches) {
    const i = m.indexOf("!=") >= 0 ? m.indexOf("!=") : m.indexOf("=");
    if (i <= 0) continue;
    const neg = m.slice(i, i + 2) === "!=";
    sel.push(`${label(m.slice(0, i))}${neg ? "!=" : "="}${promString(m.slice(i + (neg ? 2 : 1)))}`);
  }
  const name = a.prom_name || a.name;
  const keys = groupBy.map(label);
  const window = `[${Math.max(2 * a.step_seconds, 60)}s]`;
  const by = keys.length ? ` by (${keys.join(", ")})` : "";
  const selector = (n: string) => `${n}${sel.length ? `{${sel.join(", ")}}` : ""}`;
  switch (a.value) {
    case "quantile": {
      if (a.type === "exponential_histogram") {
        return `histogram_quantile(${a.quantile}, sum${by} (rate(${selector(name)}${window})))`;
      }
      const buckets = name.endsWith("_bucket") ? name : `${name}_bucket`;
      return `histogram_quantile(${a.quantile}, sum by (${["le", ...keys].join(", ")}) (rate(${selector(buckets)}${window})))`;
    }
    case "per_second":
      return `${agg}${by} (rate(${selector(name)}${window}))`;
    case "observations_per_second":
      return `${agg}${by} (rate(${selector(`${name}_count`)}${window}))`;
  }
  return `${agg}${by} (${selector(name)})`;
}

/** Renders the metrics explorer. */
export function renderMetrics(root: HTMLElement, params: Record<string, string>): void {
  const filter = h("input", { name: "filter", value: params["filter"] ?? "", placeholder: "name contains…", autocomplete: "off", "aria-label": "Filter metrics" });
  // A service's metrics only (its OTLP resource's service.name, or its Prometheus job).
  const service = h("input", { name: "service", value: params["service"] ?? "", placeholder: "any service", autocomplete: "off", "aria-label": "Service" });
  const list = h("ul", { class: "metric-list", id: "metric-list", "aria-label": "Metrics" });
  const name = params["name"] ?? "";
  let asked = "";
  const loadList = async () => {
    const q = filter.value.trim();
    const svc = service.value.trim();
    asked = `${q}\n${svc}`;
    try {
      const r = await getJSON<{ metrics: MetricInfo[] | null }>("metrics", { q, service: svc, limit: "1000" });
      if (asked !== `${q}\n${svc}`) return; // a later filter's answer is coming
      const ms = r.metrics ?? [];
      list.replaceChildren(
        ...(ms.length ? [] : [h("li", { class: "muted" }, q ? "No metric matches." : "No metrics stored yet.")]),
        ...ms.map((m) =>
          h(
            "li",
            { class: m.name === name ? "current" : "" },
            h("a", { href: `#/metrics?${new URLSearchParams({ name: m.name, ...(q ? { filter: q } : {}), ...(svc ? { service: svc } : {}) }).toString()}`, title: m.description || m.name }, m.name),
            h("span", { class: "muted" }, ` ${m.type}${m.temporality === "delta" ? " (delta)" : ""} · ${fmtCount(m.series)}`),
          ),
        ),
      );
    } catch (err) {
      list.replaceChildren(h("li", {}, errorBox(err)));
    }
  };
  let timer: ReturnType<typeof setTimeout> | undefined;
  for (const input of [filter, service]) {
    input.addEventListener("input", () => {
      clearTimeout(timer);
      timer = setTimeout(() => void loadList(), 250);
    });
  }

  const groupBy = h("input", { name: "group_by", value: params["group_by"] ?? "", placeholder: "label, label…", list: "metric-labels", autocomplete: "off" });
  const labelKeys = h("datalist", { id: "metric-labels" });
  const match = h("input", { name: "match", value: params["match"] ?? "", placeholder: "key=value key!=value", autocomplete: "off" });
  const agg = h("select", { name: "agg" }, ...["sum", "avg", "max", "min"].map((v) => h("option", { value: v }, v))) as HTMLSelectElement;
  agg.value = params["agg"] ?? "sum";
  // Of histograms: their buckets' quantile instead of their rate.
  const quantile = h("select", { name: "quantile" }, ...["", "0.5", "0.9", "0.95", "0.99"].map((v) => h("option", { value: v }, v ? `p${+v * 100}` : "none"))) as HTMLSelectElement;
  quantile.value = params["quantile"] ?? "";
  const from = h("input", { name: "from", value: params["from"] ?? "now-1h" });
  const to = h("input", { name: "to", value: params["to"] ?? "now" });
  const out = h("div", { class: "metric-main", "aria-live": "polite" });
  const show = () => {
    const p: Record<string, string> = {
      name,
      filter: filter.value.trim(),
      service: service.value.trim(),
      group_by: groupBy.value.trim(),
      match: match.value.trim(),
      agg: agg.value,
      quantile: quantile.value,
      from: from.value,
      to: to.value,
    };
    if (p["agg"] === "sum") delete p["agg"];
    for (const k of Object.keys(p)) if (!p[k]) delete p[k];
    location.hash = `#/metrics?${new URLSearchParams(p).toString()}`;
  };
  const form = h(
    "form",
    { class: "toolbar wrap", onsubmit: (ev: Event) => (ev.preventDefault(), show()) },
    field("group by", groupBy),
    field("match", match),
    field("combine", agg),
    field("quantile", quantile),
    field("from", from),
    field("to", to),
    h("button", { type: "submit", class: "primary" }, "Show"),
    labelKeys,
  );
  const draw = async () => {
    if (!name) {
      out.replaceChildren(h("p", { class: "muted" }, "Pick a metric."));
      return;
    }
    out.replaceChildren(h("h2", {}, name), form, h("p", { class: "muted" }, "Loading…"));
    // match holds space-separated key=value (or key!=value) filters.
    const q = new URLSearchParams({ name, from: from.value, to: to.value, agg: agg.value });
    if (groupBy.value.trim()) q.set("group_by", groupBy.value.trim());
    if (quantile.value) q.set("quantile", quantile.value);
    if (service.value.trim()) q.set("service", service.value.trim());
    for (const m of match.value.split(/\s+/).filter(Boolean)) q.append("match", m);
    try {
      const a = await getJSON<MetricAnswer>(`metrics/query?${q.toString()}`);
      labelKeys.replaceChildren(...(a.label_keys ?? []).map((k) => h("option", { value: k })));
      const promql = promQL(a, groupBy.value.split(",").map((k) => k.trim()).filter(Boolean), match.value.split(/\s+/).filter(Boolean), agg.value, service.value.trim());
      out.replaceChildren(
        h("h2", {}, name),
        form,
        metricView(a),
        h("p", { class: "muted" }, "In PromQL (Grafana's Prometheus data source at /prometheus): ", h("code", { id: "metric-promql" }, promql)),
      );
    } catch (err) {
      out.replaceChildren(h("h2", {}, name), form, errorBox(err));
    }
  };
  root.replaceChildren(h("h1", {}, "Metrics"), h("div", { class: "metrics-page" }, h("aside", { class: "metric-side" }, filter, service, list), out));
  void loadList();
  void draw();
}
