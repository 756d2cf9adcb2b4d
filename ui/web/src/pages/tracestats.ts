// A trace's statistics (per service and operation: spans, errors, total,
// mean, min, max and self time, as Jaeger's trace statistics view gives
// them) and the comparison of two traces' shapes (Jaeger's trace compare:
// the call trees merged by service and operation, each step counted in
// both).

import { fmtNs, h } from "../dom";
import type { Span } from "../types";
import type { Column } from "./common";
import { childrenOf, failed } from "./waterfall";

/**
 * A span's self time: its duration less the time its children ran within
 * it (children run side by side counted once).
 */
export function selfTime(s: Span, kids: Span[]): number {
  const start = Number(s.start_unix_nano);
  const end = start + Number(s.duration_ns);
  const intervals = kids
    .map((k): [number, number] => [Math.max(start, Number(k.start_unix_nano)), Math.min(end, Number(k.start_unix_nano) + Number(k.duration_ns))])
    .filter(([a, b]) => b > a)
    .sort((x, y) => x[0] - y[0]);
  let covered = 0;
  let curA = -Infinity;
  let curB = -Infinity;
  for (const [a, b] of intervals) {
    if (a > curB) {
      if (curB > curA) covered += curB - curA;
      curA = a;
      curB = b;
    } else curB = Math.max(curB, b);
  }
  if (curB > curA) covered += curB - curA;
  return end - start - covered;
}

/** One service and operation of a trace. */
export interface StatRow {
  service: string;
  name: string;
  spans: number;
  errors: number;
  totalNs: number;
  minNs: number;
  maxNs: number;
  selfNs: number;
}

/** A trace's spans by service and operation, the most total time first. */
export function traceStats(spans: Span[]): StatRow[] {
  const children = childrenOf(spans);
  const rows = new Map<string, StatRow>();
  for (const s of spans) {
    const key = `${s.service}\u0000${s.name}`;
    let r = rows.get(key);
    if (!r) {
      r = { service: s.service, name: s.name, spans: 0, errors: 0, totalNs: 0, minNs: Infinity, maxNs: 0, selfNs: 0 };
      rows.set(key, r);
    }
    const d = Number(s.duration_ns);
    r.spans++;
    r.errors += failed(s) ? 1 : 0;
    r.totalNs += d;
    r.minNs = Math.min(r.minNs, d);
    r.maxNs = Math.max(r.maxNs, d);
    r.selfNs += selfTime(s, children.get(s.span_id) ?? []);
  }
  return [...rows.values()].sort((a, b) => b.totalNs - a.totalNs || (a.service < b.service ? -1 : 1));
}

/** The statistics table's columns; self % is of the trace's summed self time. */
export function statColumns(allSelf: number): Column<StatRow>[] {
  return [
    { key: "service", label: "Service", value: (r) => r.service },
    { key: "name", label: "Operation", value: (r) => r.name },
    { key: "spans", label: "Spans", value: (r) => r.spans, numeric: true },
    { key: "errors", label: "Errors", value: (r) => r.errors, numeric: true },
    { key: "total", label: "Total", value: (r) => r.totalNs, render: (r) => fmtNs(r.totalNs), numeric: true },
    { key: "avg", label: "Mean", value: (r) => r.totalNs / r.spans, render: (r) => fmtNs(r.totalNs / r.spans), numeric: true },
    { key: "min", label: "Min", value: (r) => r.minNs, render: (r) => fmtNs(r.minNs), numeric: true },
    { key: "max", label: "Max", value: (r) => r.maxNs, render: (r) => fmtNs(r.maxNs), numeric: true },
    { key: "self", label: "Self time", value: (r) => r.selfNs, render: (r) => fmtNs(r.selfNs), numeric: true },
    { key: "selfpct", label: "Self %", value: (r) => r.selfNs, render: (r) => (allSelf > 0 ? `${((100 * r.selfNs) / allSelf).toFixed(1)}%` : "–"), numeric: true },
  ];
}

/** One step of two traces' merged call trees: how many spans each had there. */
export interface CompareNode {
  service: string;
  name: string;
  a: number;
  b: number;
  /** The spans' summed durations in each trace, nanoseconds. */
  aNs: number;
  bNs: number;
  children: CompareNode[];
}

/**
 * Merges two traces' call trees: a step is a service and operation under
 * the same path of steps from a root, counted in each trace. Children keep
 * the order they first started in (a's, then b's new ones).
 */
export function compareTraces(a: Span[], b: Span[]): CompareNode[] {
  const roots: CompareNode[] = [];
  const index = new Map<string, CompareNode>();
  const walk = (spans: Span[], side: "a" | "b") => {
    const children = childrenOf(spans);
    const visit = (s: Span, parentKey: string, siblings: CompareNode[], depth: number) => {
      if (depth > 200) return; // a cycle of parents the tree missed
      const key = `${parentKey}\u0001${s.service}\u0000${s.name}`;
      let n = index.get(key);
      if (!n) {
        n = { service: s.service, name: s.name, a: 0, b: 0, aNs: 0, bNs: 0, children: [] };
        index.set(key, n);
        siblings.push(n);
      }
      n[side]++;
      n[side === "a" ? "aNs" : "bNs"] += Number(s.duration_ns);
      for (const k of children.get(s.span_id) ?? []) visit(k, key, n.children, depth + 1);
    };
    for (const r of children.get("") ?? []) visit(r, "", roots, 0);
  };
  walk(a, "a");
  walk(b, "b");
  return roots;
}

/** How a step compares: in a only, in b only, in both with other counts, or the same. */
export function compareClass(n: CompareNode): "only-a" | "only-b" | "changed" | "same" {
  if (n.b === 0) return "only-a";
  if (n.a === 0) return "only-b";
  return n.a === n.b ? "same" : "changed";
}

/** The merged tree as nested lists, each step with its counts. */
export function compareTree(nodes: CompareNode[]): HTMLElement {
  return h(
    "ul",
    { class: "tc-tree" },
    ...nodes.map((n) => {
      const cls = compareClass(n);
      const counts = cls === "same" ? `×${n.a}` : `A ×${n.a} · B ×${n.b}`;
      // Time spent there in each, where both have the step.
      const times = n.a && n.b ? ` · ${fmtNs(n.aNs)} → ${fmtNs(n.bNs)}` : "";
      return h(
        "li",
        { class: `tc-${cls}` },
        h("span", { class: "tc-step" }, h("strong", {}, n.service), " ", h("code", {}, n.name), " ", h("span", { class: "tc-count" }, counts + times)),
        n.children.length ? compareTree(n.children) : "",
      );
    }),
  );
}

/** Counts of the merged tree's steps by class, for the summary line. */
export function compareCounts(nodes: CompareNode[]): Record<ReturnType<typeof compareClass>, number> {
  const out = { "only-a": 0, "only-b": 0, changed: 0, same: 0 };
  const visit = (ns: CompareNode[]) => {
    for (const n of ns) {
      out[compareClass(n)]++;
      visit(n.children);
    }
  };
  visit(nodes);
  return out;
}
