// Span metrics on the Traces page: the rate, errors or latency of the
// spans the search's TraceQL spanset (and service) matches, over its
// range, by any field (a service, a route, a pod), charted from Tempo's
// metrics API (TraceQL metrics, which meshscope answers).

import { getTempoJSON } from "../api";
import { lineChart, seriesColor, type Line } from "../charts";
import { h } from "../dom";
import { errorBox, field } from "./common";

/** One series of /tempo/api/metrics/query_range. */
interface TempoSeries {
  labels: { key: string; value: { stringValue?: string } }[] | null;
  promLabels: string;
  samples: { timestampMs: string; value: number }[] | null;
}

/** The metrics offered, with the pipeline each asks and how values read. */
const METRICS: { value: string; label: string; pipeline: string; error?: boolean; fmt: (v: number) => string }[] = [
  { value: "rate", label: "Spans per second", pipeline: "rate()", fmt: (v) => v.toPrecision(3) },
  { value: "errors", label: "Errors per second", pipeline: "rate()", error: true, fmt: (v) => v.toPrecision(3) },
  { value: "p50", label: "p50 duration", pipeline: "quantile_over_time(duration, 0.5)", fmt: fmtSeconds },
  { value: "p99", label: "p99 duration", pipeline: "quantile_over_time(duration, 0.99)", fmt: fmtSeconds },
];

function fmtSeconds(v: number): string {
  if (v === 0) return "0";
  return v >= 1 ? `${v.toPrecision(3)} s` : `${(v * 1000).toPrecision(3)} ms`;
}

/**
 * The TraceQL metrics query of a search: its spanset (the TraceQL field's,
 * its pipeline left out) narrowed to the service and, for errors, to
 * failed spans, then the metric by the field asked.
 */
export function spanMetricsQuery(traceql: string, service: string, metric: string, by: string): string {
  const m = METRICS.find((x) => x.value === metric) ?? METRICS[0]!;
  let inner = traceql.trim();
  const pipe = inner.indexOf("}");
  if (pipe >= 0) inner = inner.slice(0, pipe + 1);
  inner = inner.replace(/^\{/, "").replace(/\}$/, "").trim();
  const conds = [inner && `(${inner})`, service && `resource.service.name = ${JSON.stringify(service)}`, m.error && "status = error"].filter(Boolean);
  const spanset = conds.length ? `{ ${conds.join(" && ")} }` : "{}";
  return `${spanset} | ${m.pipeline}${by.trim() ? ` by (${by.trim()})` : ""}`;
}

/** The panel: a metric, a field to group by, and the chart. */
export function spanMetricsPanel(form: () => { traceql: string; service: string; from: string; to: string }): HTMLElement {
  const metric = h("select", { name: "span-metric" }, ...METRICS.map((m) => h("option", { value: m.value }, m.label))) as HTMLSelectElement;
  const by = h("input", { name: "span-by", value: "resource.service.name", size: 24, placeholder: "span.http.route", autocomplete: "off" }) as HTMLInputElement;
  const out = h("div", { "aria-live": "polite" });
  const query = h("code", { class: "muted", id: "span-metrics-query" });
  const chart = async () => {
    const f = form();
    const q = spanMetricsQuery(f.traceql, f.service, metric.value, by.value);
    query.textContent = q;
    out.replaceChildren(h("p", { class: "muted" }, "Charting…"));
    try {
      const a = await getTempoJSON<{ series: TempoSeries[] | null }>("metrics/query_range", { q, start: f.from, end: f.to });
      const series = (a.series ?? []).slice(0, 20);
      if (!series.length) {
        out.replaceChildren(h("p", { class: "muted" }, "No spans match."));
        return;
      }
      const times = [...new Set(series.flatMap((s) => (s.samples ?? []).map((p) => Number(p.timestampMs) / 1000)))].sort((x, y) => x - y);
      const at = new Map(times.map((t, i) => [t, i]));
      const lines: Line[] = series.map((s, i) => {
        const values: (number | null)[] = times.map(() => null);
        for (const p of s.samples ?? []) values[at.get(Number(p.timestampMs) / 1000)!] = p.value;
        // The values the series is grouped by (the quantile's p left out).
        const named = (s.labels ?? []).filter((l) => l.key !== "p").map((l) => l.value.stringValue ?? "");
        return { label: named.length ? named.join(" · ") : "all", color: seriesColor(i), values };
      });
      const m = METRICS.find((x) => x.value === metric.value) ?? METRICS[0]!;
      const more = (a.series ?? []).length > series.length ? ` (the first 20 of ${(a.series ?? []).length} series)` : "";
      out.replaceChildren(lineChart(`${m.label}${by.value.trim() ? ` by ${by.value.trim()}` : ""}${more}`, times, lines, m.fmt, 760));
    } catch (err) {
      out.replaceChildren(errorBox(err));
    }
  };
  const bar = h(
    "form",
    { class: "toolbar wrap", onsubmit: (ev: Event) => (ev.preventDefault(), void chart()) },
    field("Metric", metric),
    field("By", by),
    h("button", { type: "submit", id: "span-metrics-chart" }, "Chart"),
  );
  return h("section", { id: "span-metrics", "aria-label": "Span metrics" }, h("h2", {}, "Span metrics"), bar, query, out);
}
