// What the failing (or slow) calls of a search have in common that its
// other calls do not (GET /api/v1/spans/differences on the Traces page,
// /api/v1/requests/differences on the Requests page): the attribute values
// more common among them, the biggest difference first, each with its
// share of both sides and a link to the calls that have it. "What changed"
// compares the range's calls with those of the range before it instead
// (baseline=previous): what they gained, and what they lost.

import { getJSON } from "../api";
import { fmtNs, h } from "../dom";
import { errorBox, sortableTable } from "./common";

/** Which calls are compared with the others; changed: every call of the range with those of the range before. */
export type DiffSelect = "errors" | "slow" | "changed";

/** Whether v (a page's diff= parameter) names a comparison. */
export function isDiffSelect(v: string | undefined): v is DiffSelect {
  return v === "errors" || v === "slow" || v === "changed";
}

/** One attribute value of an answer. */
interface Difference {
  key: string;
  value: string;
  selected: number;
  baseline: number;
  selected_share: number;
  baseline_share: number;
  difference: number;
}

/** An answer of the differences endpoints. */
export interface Differences {
  select: "errors" | "slow" | "all";
  slow_ns?: number;
  baseline: "rest" | "previous";
  baseline_from?: string;
  baseline_to?: string;
  selected_total: number;
  baseline_total: number;
  selected_sample: number;
  baseline_sample: number;
  differences: Difference[] | null;
  shrunk?: Difference[] | null;
}

/**
 * The buttons that compare the failing and the slow calls (noun: "calls",
 * "requests"); failing names the failing ones ("error" records), and
 * withSlow=false leaves the slow ones out (what has no duration).
 */
export function differencesBar(noun: string, run: (select: DiffSelect) => void, failing = "failing", withSlow = true): HTMLElement {
  return h(
    "div",
    { class: "toolbar wrap" },
    h("button", { type: "button", id: "diff-errors", title: `The attribute values the ${failing} ${noun} have more often than the others`, onclick: () => run("errors") }, `What ${failing} ${noun} share`),
    withSlow ? h("button", { type: "button", id: "diff-slow", title: `The same for the slowest tenth of the ${noun}`, onclick: () => run("slow") }, `What slow ${noun} share`) : "",
    h(
      "button",
      { type: "button", id: "diff-changed", title: `The attribute values the ${noun} of the range have more often than those of the range of the same length before, and those they have less often`, onclick: () => run("changed") },
      "What changed",
    ),
  );
}

/** A share as a bar and its percentage. */
function shareBar(share: number, cls: string): HTMLElement {
  return h("span", { class: "share" }, h("span", { class: `share-bar ${cls}`, style: `width:${Math.round(Math.min(1, share) * 60)}px` }), ` ${(share * 100).toFixed(1)}%`);
}

/** What renderDifferences compares and how it names and links it. */
export interface DifferencesQuery {
  endpoint: string;
  query: Record<string, string | string[]>;
  select: DiffSelect;
  /** Whose calls they are, for the title ("of cart", "to cart"). */
  subject: string;
  noun: string;
  /** What the failing ones are called ("failing" by default, "error"), and their column ("Of the failing"). */
  failing?: string;
  failingColumn?: string;
  /**
   * The link of a value to the calls that have it; null for none. range,
   * when given, is the range before the one asked (what a value that fell
   * was on), as the API's times.
   */
  href: (key: string, value: string, d: Differences, range?: { from: string; to: string }) => string | null;
}

/** A time of the answer as the clock shows it (14:05). */
function clock(iso: string | undefined): string {
  return iso ? new Date(iso).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }) : "";
}

/** Fills box with the comparison q asks for. */
export async function renderDifferences(box: HTMLElement, q: DifferencesQuery): Promise<void> {
  box.replaceChildren(h("p", { class: "muted" }, "Comparing…"));
  try {
    const changed = q.select === "changed";
    const d = await getJSON<Differences>(q.endpoint, { ...q.query, ...(changed ? { select: "all", baseline: "previous" } : { select: q.select }) });
    const failing = q.failing ?? "failing";
    const which = d.select === "errors" ? failing : `slow (${fmtNs(d.slow_ns ?? 0)} or more)`;
    const title = h("h2", {}, changed ? `What changed in the ${q.noun} ${q.subject}` : `What the ${which} ${q.noun} ${q.subject} share`);
    const sampled = d.selected_sample < d.selected_total || d.baseline_sample < d.baseline_total ? ` (an even sample of ${d.selected_sample.toLocaleString()} and ${d.baseline_sample.toLocaleString()} read)` : "";
    const summary = h(
      "p",
      { class: "muted" },
      changed
        ? `${d.selected_total.toLocaleString()} ${q.noun} in the range against ${d.baseline_total.toLocaleString()} in the range of the same length before it (${clock(d.baseline_from)} to ${clock(d.baseline_to)})${sampled}.`
        : `${d.selected_total.toLocaleString()} ${d.select === "errors" ? failing : "slow"} ${q.noun} against ${d.baseline_total.toLocaleString()} others${sampled}.`,
    );
    const list = d.differences ?? [];
    const shrunk = d.shrunk ?? [];
    if (!d.selected_total || !d.baseline_total || (!list.length && !shrunk.length)) {
      const none = changed ? "No attribute value is more or less common than before." : "No attribute value is more common among them than among the others.";
      box.replaceChildren(title, summary, h("p", {}, d.selected_total && d.baseline_total ? none : changed ? "Nothing to compare: no calls in the range or in the one before." : "Nothing to compare in the range."));
      return;
    }
    const before = d.baseline_from && d.baseline_to ? { from: d.baseline_from, to: d.baseline_to } : undefined;
    const table = (caption: string, id: string, rows: Difference[], range?: { from: string; to: string }) =>
      sortableTable(
        caption,
        [
          { key: "key", label: "Attribute", value: (x) => x.key, render: (x) => h("code", {}, x.key) },
          {
            key: "value",
            label: "Value",
            value: (x) => x.value,
            render: (x) => {
              const href = q.href(x.key, x.value, d, range);
              return href ? h("a", { href, title: `The ${q.noun} with it` }, x.value) : x.value;
            },
          },
          {
            key: "sel",
            label: changed ? "Now" : d.select === "errors" ? (q.failingColumn ?? `Of the ${failing}`) : "Of the slow",
            value: (x) => x.selected_share,
            render: (x) => shareBar(x.selected_share, changed && d.select === "all" ? "now" : "selected"),
            numeric: true,
          },
          { key: "base", label: changed ? "Before" : "Of the others", value: (x) => x.baseline_share, render: (x) => shareBar(x.baseline_share, "baseline"), numeric: true },
        ],
        rows,
        { id },
      );
    box.replaceChildren(
      title,
      summary,
      ...(list.length ? [...(changed ? [h("h3", {}, "More common than before")] : []), table(changed ? "More common than before" : "What they share", "differences-table", list)] : []),
      ...(changed && shrunk.length ? [h("h3", {}, "Less common than before"), table("Less common than before", "differences-shrunk", shrunk, before)] : []),
    );
  } catch (err) {
    box.replaceChildren(errorBox(err));
  }
}
