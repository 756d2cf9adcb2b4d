// The SLOs a panel's node or edge is the target of, with their states.

import { getJSON } from "../api";
import { h } from "../dom";
import { stateBadge, type SLOSpec, type SLOView } from "../pages/slos";

/** Whether an SLO counts calls into node id: its service, or the destination of its edge or filter. */
export function sloOnNode(id: string): (s: SLOSpec) => boolean {
  return (s) => s.target.service === id || s.target.edge?.destination === id || s.target.filter?.destination === id;
}

/** Whether an SLO counts exactly the calls of an edge: its edge, or a filter on both ends and nothing else. */
export function sloOnEdge(source: string, target: string): (s: SLOSpec) => boolean {
  return (s) => {
    const { edge, filter } = s.target;
    if (edge) return edge.source === source && edge.destination === target;
    return !!filter && filter.source === source && filter.destination === target && !filter.method && !filter.path_prefix;
  };
}

/**
 * An empty section that fills with the SLOs matching, each a link to its
 * page with its state, and goes away when there are none (or no SLO
 * engine answers).
 */
export function sloSection(matches: (s: SLOSpec) => boolean): HTMLElement {
  const section = h("section", { class: "panel-slos", "aria-label": "SLOs" });
  void getJSON<{ slos: SLOView[] | null }>("slos").then(
    (body) => {
      const mine = (body.slos ?? []).filter((v) => matches(v.effective ?? v.spec));
      if (!mine.length) {
        section.remove();
        return;
      }
      section.replaceChildren(
        h("h3", {}, "SLOs"),
        h("ul", { class: "slo-list" }, ...mine.map((v) => h("li", {}, h("a", { href: `#/slos/${encodeURIComponent(v.spec.name)}` }, v.spec.name), " ", stateBadge(v.state)))),
      );
    },
    () => section.remove(),
  );
  return section;
}
