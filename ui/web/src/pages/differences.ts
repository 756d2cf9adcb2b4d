// What the failing (or slow) calls of a search have in common that its
// other calls do not (GET /api/v1/spans/differences on the Traces page,
// /api/v1/requests/differences on the Requests page): the attribute values
// more common among them, the biggest difference first, each with its
// share of both sides and a link to the calls that have it.

import { getJSON } from "../api";
import { fmtNs, h } from "../dom";
import { errorBox, sortableTable } from "./common";

/** Which calls are compared with the others. */
export type DiffSelect = "errors" | "slow";

/** An answer of the differences endpoints. */
export interface Differences {
  select: DiffSelect;
  slow_ns?: number;
  selected_total: number;
  baseline_total: number;
  selected_sample: number;
  baseline_sample: number;
  differences: { key: string; value: string; selected: number; baseline: number; selected_share: number; baseline_share: number; difference: number }[] | null;
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
  /** The link of a value to the calls that have it; null for none. */
  href: (key: string, value: string, d: Differences) => string | null;
}

/** Fills box with the comparison q asks for. */
export async function renderDifferences(box: HTMLElement, q: DifferencesQuery): Promise<void> {
  box.replaceChildren(h("p", { class: "muted" }, "Comparing…"));
  try {
    const d = await getJSON<Differences>(q.endpoint, { ...q.query, select: q.select });
    const failing = q.failing ?? "failing";
    const which = d.select === "errors" ? failing : `slow (${fmtNs(d.slow_ns ?? 0)} or more)`;
    const title = h("h2", {}, `What the ${which} ${q.noun} ${q.subject} share`);
    const sampled = d.selected_sample < d.selected_total || d.baseline_sample < d.baseline_total ? ` (an even sample of ${d.selected_sample.toLocaleString()} and ${d.baseline_sample.toLocaleString()} read)` : "";
    const summary = h("p", { class: "muted" }, `${d.selected_total.toLocaleString()} ${d.select === "errors" ? failing : "slow"} ${q.noun} against ${d.baseline_total.toLocaleString()} others${sampled}.`);
    const list = d.differences ?? [];
    if (!d.selected_total || !d.baseline_total || !list.length) {
      box.replaceChildren(title, summary, h("p", {}, d.selected_total && d.baseline_total ? "No attribute value is more common among them than among the others." : "Nothing to compare in the range."));
      return;
    }
    box.replaceChildren(
      title,
      summary,
      sortableTable(
        "What they share",
        [
          { key: "key", label: "Attribute", value: (x) => x.key, render: (x) => h("code", {}, x.key) },
          {
            key: "value",
            label: "Value",
            value: (x) => x.value,
            render: (x) => {
              const href = q.href(x.key, x.value, d);
              return href ? h("a", { href, title: `The ${q.noun} with it` }, x.value) : x.value;
            },
          },
          { key: "sel", label: d.select === "errors" ? (q.failingColumn ?? `Of the ${failing}`) : "Of the slow", value: (x) => x.selected_share, render: (x) => shareBar(x.selected_share, "selected"), numeric: true },
          { key: "base", label: "Of the others", value: (x) => x.baseline_share, render: (x) => shareBar(x.baseline_share, "baseline"), numeric: true },
        ],
        list,
        { id: "differences-table" },
      ),
    );
  } catch (err) {
    box.replaceChildren(errorBox(err));
  }
}
