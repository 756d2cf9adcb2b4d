// Charts of a search's matches over its range, by any field: the Traces
// page's span metrics (TraceQL metrics from Tempo's API, which meshscope
// answers) and the Logs page's field metrics (LogQL metric queries from
// Loki's API). Each panel builds its query from the search's form, a
// metric and the fields to group by, and draws the series answered.

import { getLokiJSON, getTempoJSON } from "../api";
import { lineChart, seriesColor, type Line } from "../charts";
import { h } from "../dom";
import { errorBox, field } from "./common";

/** A series to draw: its label and its [unix seconds, value] points. */
interface Series {
  label: string;
  points: [number, number][];
}

/** A metric a panel offers, and how its values read. */
interface Metric {
  value: string;
  label: string;
  fmt: (v: number) => string;
}

const fmtNumber = (v: number) => (v === 0 ? "0" : v.toPrecision(3));

function fmtSeconds(v: number): string {
  if (v === 0) return "0";
  return v >= 1 ? `${v.toPrecision(3)} s` : `${(v * 1000).toPrecision(3)} ms`;
}

/** A panel: its inputs, a Chart button, the query shown and the chart. */
function chartPanel(p: {
  id: string;
  title: string;
  metrics: Metric[];
  inputs: [string, HTMLElement][];
  by: HTMLInputElement;
  build: (metric: string) => string;
  fetch: (q: string) => Promise<Series[]>;
  /** How a metric's values read, when the panel's inputs decide it (a duration field). */
  format?: (metric: Metric) => (v: number) => string;
}): HTMLElement {
  const metric = h("select", { name: `${p.id}-metric` }, ...p.metrics.map((m) => h("option", { value: m.value }, m.label))) as HTMLSelectElement;
  const out = h("div", { "aria-live": "polite" });
  const query = h("code", { class: "muted", id: `${p.id}-query` });
  const chart = async () => {
    const q = p.build(metric.value);
    query.textContent = q;
    out.replaceChildren(h("p", { class: "muted" }, "Charting…"));
    try {
      const all = await p.fetch(q);
      const series = all.slice(0, 20);
      if (!series.length) {
        out.replaceChildren(h("p", { class: "muted" }, "Nothing matches."));
        return;
      }
      const times = [...new Set(series.flatMap((s) => s.points.map((pt) => pt[0])))].sort((x, y) => x - y);
      const at = new Map(times.map((t, i) => [t, i]));
      const lines: Line[] = series.map((s, i) => {
        const values: (number | null)[] = times.map(() => null);
        for (const [t, v] of s.points) values[at.get(t)!] = v;
        return { label: s.label, color: seriesColor(i), values };
      });
      const m = p.metrics.find((x) => x.value === metric.value) ?? p.metrics[0]!;
      const by = p.by.value.trim();
      const more = all.length > series.length ? ` (the first 20 of ${all.length} series)` : "";
      out.replaceChildren(lineChart(`${m.label}${by ? ` by ${by}` : ""}${more}`, times, lines, p.format?.(m) ?? m.fmt, 760));
    } catch (err) {
      out.replaceChildren(errorBox(err));
    }
  };
  const bar = h(
    "form",
    { class: "toolbar wrap", onsubmit: (ev: Event) => (ev.preventDefault(), void chart()) },
    field("Metric", metric),
    ...p.inputs.map(([label, input]) => field(label, input)),
    field("By", p.by),
    h("button", { type: "submit", id: `${p.id}-chart` }, "Chart"),
  );
  return h("section", { id: p.id, "aria-label": p.title }, h("h2", {}, p.title), bar, query, out);
}

/** The values a series is grouped by, joined ("all" for none). */
const seriesLabel = (values: string[]) => (values.length ? values.join(" · ") : "all");

/** The span metrics offered, with the TraceQL pipeline each asks. */
const SPAN_METRICS: (Metric & { pipeline: string; error?: boolean })[] = [
  { value: "rate", label: "Spans per second", pipeline: "rate()", fmt: fmtNumber },
  { value: "errors", label: "Errors per second", pipeline: "rate()", error: true, fmt: fmtNumber },
  { value: "p50", label: "p50 duration", pipeline: "quantile_over_time(duration, 0.5)", fmt: fmtSeconds },
  { value: "p99", label: "p99 duration", pipeline: "quantile_over_time(duration, 0.99)", fmt: fmtSeconds },
];

/**
 * The TraceQL metrics query of a trace search: its spanset (the TraceQL
 * field's first, its pipeline left out) narrowed to the service and, for
 * errors, to failed spans, then the metric by the fields asked.
 */
export function spanMetricsQuery(traceql: string, service: string, metric: string, by: string): string {
  const m = SPAN_METRICS.find((x) => x.value === metric) ?? SPAN_METRICS[0]!;
  let inner = traceql.trim();
  const close = inner.indexOf("}");
  if (close >= 0) inner = inner.slice(0, close + 1);
  inner = inner.replace(/^\{/, "").replace(/\}$/, "").trim();
  const conds = [inner && `(${inner})`, service && `resource.service.name = ${JSON.stringify(service)}`, m.error && "status = error"].filter(Boolean);
  const spanset = conds.length ? `{ ${conds.join(" && ")} }` : "{}";
  return `${spanset} | ${m.pipeline}${by.trim() ? ` by (${by.trim()})` : ""}`;
}

/** One series of /tempo/api/metrics/query_range. */
interface TempoSeries {
  labels: { key: string; value: { stringValue?: string } }[] | null;
  samples: { timestampMs: string; value: number }[] | null;
}

/** The Traces page's span metrics: rate, errors, p50, p99 by any field. */
export function spanMetricsPanel(form: () => { traceql: string; service: string; from: string; to: string }): HTMLElement {
  const by = h("input", { name: "span-by", value: "resource.service.name", size: 24, placeholder: "span.http.route", autocomplete: "off" }) as HTMLInputElement;
  return chartPanel({
    id: "span-metrics",
    title: "Span metrics",
    metrics: SPAN_METRICS,
    inputs: [],
    by,
    build: (metric) => {
      const f = form();
      return spanMetricsQuery(f.traceql, f.service, metric, by.value);
    },
    fetch: async (q) => {
      const f = form();
      const a = await getTempoJSON<{ series: TempoSeries[] | null }>("metrics/query_range", { q, start: f.from, end: f.to });
      return (a.series ?? []).map((s) => ({
        // The grouped values (a quantile's p left out).
        label: seriesLabel((s.labels ?? []).filter((l) => l.key !== "p").map((l) => l.value.stringValue ?? "")),
        points: (s.samples ?? []).map((pt) => [Number(pt.timestampMs) / 1000, pt.value] as [number, number]),
      }));
    },
  });
}

/** The field metrics offered: lines, or a field's values (unwrapped). */
const FIELD_METRICS: (Metric & { fn: string; quantile?: number })[] = [
  { value: "rate", label: "Lines per second", fn: "rate", fmt: fmtNumber },
  { value: "p50", label: "p50 of the field", fn: "quantile_over_time", quantile: 0.5, fmt: fmtNumber },
  { value: "p99", label: "p99 of the field", fn: "quantile_over_time", quantile: 0.99, fmt: fmtNumber },
  { value: "avg", label: "Average of the field", fn: "avg_over_time", fmt: fmtNumber },
  { value: "max", label: "Maximum of the field", fn: "max_over_time", fmt: fmtNumber },
];

/** A LogQL string literal. */
const logqlString = (v: string) => JSON.stringify(v);

/**
 * The LogQL metric query of a log search: its service, namespace and
 * minimum severity as the stream selector, its text as a line filter, the
 * bodies parsed (json, then logfmt), its fields filter, then lines per
 * second or a field's values (as numbers, or as durations in seconds) in
 * each step, by the fields asked.
 */
export function fieldMetricsQuery(
  f: { service: string; namespace: string; severity: string; q: string; fields: string },
  metric: string,
  fieldName: string,
  unit: string,
  by: string,
  step: string,
): string {
  const m = FIELD_METRICS.find((x) => x.value === metric) ?? FIELD_METRICS[0]!;
  const levels = ["trace", "debug", "info", "warn", "error", "fatal"];
  const matchers = [f.service && `service_name=${logqlString(f.service)}`, f.namespace && `service_namespace=${logqlString(f.namespace)}`];
  const from = levels.indexOf(f.severity);
  if (from > 0) matchers.push(`level=~"${levels.slice(from).join("|")}"`);
  if (!f.service && !f.namespace && from <= 0) matchers.push('service_name=~".+"');
  let pipeline = `{${matchers.filter(Boolean).join(", ")}}`;
  if (f.q) pipeline += ` |~ ${logqlString("(?i)" + f.q.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"))}`;
  pipeline += " | json | logfmt";
  if (f.fields) pipeline += ` | ${f.fields}`;
  const grouped = by.trim() ? ` by (${by.trim()})` : "";
  if (m.fn === "rate") return `sum${grouped} (rate(${pipeline} [${step}]))`;
  const unwrap = unit === "duration" ? `duration(${fieldName})` : fieldName;
  const q = m.quantile !== undefined ? `${m.quantile}, ` : "";
  return `${m.fn}(${q}${pipeline} | unwrap ${unwrap} [${step}])${grouped || " by ()"}`;
}

/** Unix seconds of a time as the API reads it (now, now-15m, RFC 3339, Unix seconds); NaN for anything else. */
function timeSeconds(v: string, now = Date.now() / 1000): number {
  const s = v.trim();
  if (s === "" || s === "now") return now;
  const rel = /^now-(\d+(?:\.\d+)?)(s|m|h|d|w)$/.exec(s);
  const units: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 };
  if (rel) return now - Number(rel[1]) * units[rel[2]!]!;
  if (/^\d+(\.\d+)?$/.test(s)) return Number(s);
  return Date.parse(s) / 1000;
}

/**
 * The step of a range's chart, in seconds: about 240 points, whole
 * minutes, a minute at least (a minute when the range does not read).
 */
export function chartStep(from: string, to: string): number {
  const span = timeSeconds(to) - timeSeconds(from);
  if (!(span > 0)) return 60;
  return Math.max(1, Math.ceil(span / 240 / 60)) * 60;
}

/** A step as a LogQL range: whole minutes, or hours. */
const logqlRange = (step: number) => (step % 3600 === 0 ? `${step / 3600}h` : `${step / 60}m`);

/** One series of Loki's matrix. */
interface LokiSeries {
  metric: Record<string, string>;
  values: [number, string][];
}

/** The Logs page's field metrics: lines per second, or a field's p50, p99, average or maximum, by any field. */
export function fieldMetricsPanel(form: () => { service: string; namespace: string; severity: string; q: string; fields: string; from: string; to: string }): HTMLElement {
  const fieldInput = h("input", { name: "field-name", value: "", size: 14, placeholder: "duration", autocomplete: "off" }) as HTMLInputElement;
  const unit = h("select", { name: "field-unit" }, h("option", { value: "number" }, "a number"), h("option", { value: "duration" }, "a duration (seconds)")) as HTMLSelectElement;
  const by = h("input", { name: "field-by", value: "service_name", size: 20, placeholder: "path", autocomplete: "off" }) as HTMLInputElement;
  // Each point counts the step before it: the LogQL range is the step.
  const step = () => chartStep(form().from, form().to);
  return chartPanel({
    id: "field-metrics",
    title: "Field metrics",
    metrics: FIELD_METRICS,
    inputs: [
      ["Field", fieldInput],
      ["Read as", unit],
    ],
    by,
    build: (metric) => fieldMetricsQuery(form(), metric, fieldInput.value.trim(), unit.value, by.value, logqlRange(step())),
    // A duration field's values are seconds.
    format: (m) => (m.value !== "rate" && unit.value === "duration" ? fmtSeconds : m.fmt),
    fetch: async (q) => {
      const f = form();
      const a = await getLokiJSON<{ data: { result: LokiSeries[] | null } }>("query_range", { query: q, start: f.from, end: f.to, step: String(step()) });
      return (a.data.result ?? []).map((s) => ({
        label: seriesLabel(Object.values(s.metric)),
        points: s.values.map(([t, v]) => [t, Number(v)] as [number, number]),
      }));
    },
  });
}
