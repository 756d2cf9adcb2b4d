// The critical path of a trace: the sections of its spans that the trace's
// end waited on. Walking back from the root's end, a span's last-finishing
// child is on the path (its end clamped to its parent's), then the child
// that finished last before that one started, and so on; the stretches
// between them, where no child ran, are the span's own work. Children that
// ran beside the one on the path did not hold the trace up.

import type { Span } from "../types";

/** A stretch [start, end) of a span that is on the critical path (Unix ns). */
export interface Section {
  spanId: string;
  start: number;
  end: number;
}

const startOf = (s: Span) => Number(s.start_unix_nano);
const endOf = (s: Span) => Number(s.start_unix_nano) + Number(s.duration_ns);

/**
 * The critical path of the trace whose root is root, children mapping a
 * span id to the spans under it. Sections come latest first; their lengths
 * add up to the root's duration.
 */
export function criticalPath(root: Span, children: Map<string, Span[]>): Section[] {
  const out: Section[] = [];
  const seen = new Set<Span>(); // a malformed trace may loop
  const walk = (s: Span, until: number) => {
    if (seen.has(s)) return;
    seen.add(s);
    const begin = startOf(s);
    let cursor = Math.min(until, endOf(s));
    const kids = (children.get(s.span_id) ?? []).map((k) => ({ k, end: Math.min(endOf(k), endOf(s)) })).sort((a, b) => b.end - a.end);
    for (const { k, end } of kids) {
      if (cursor <= begin) break;
      if (end > cursor || end <= begin || seen.has(k)) continue; // beside the path, or outside the span
      if (end < cursor) out.push({ spanId: s.span_id, start: end, end: cursor });
      walk(k, end);
      cursor = Math.max(startOf(k), begin);
    }
    if (cursor > begin) out.push({ spanId: s.span_id, start: begin, end: cursor });
  };
  walk(root, endOf(root));
  return out;
}
