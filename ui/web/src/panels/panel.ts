// The side panel (#panel) that shows a node or an edge.

import type { GraphStore } from "../store";
import { h } from "../dom";
import { rfc3339 } from "../state";

/** What panels need from the application. */
export interface PanelContext {
  store: GraphStore;
  /** The time range of the view in Unix seconds, or null when live. */
  range(): [number, number] | null;
  selectNode(id: string): void;
  selectEdge(id: string): void;
  close(): void;
  /** Highlights a set of nodes (blast radius) or clears it with null. */
  setBlast(ids: Set<string> | null): void;
  /** Label of a node id for display. */
  label(id: string): string;
  /** Sets the find query, and whether the nodes it does not match are hidden. */
  find(query: string, hideOthers: boolean): void;
}

/** Makes the panel header with a title and a close button. */
export function panelHeader(ctx: PanelContext, title: string | Node, subtitle: string | Node): HTMLElement {
  return h(
    "header",
    { class: "panel-head" },
    h("div", {}, h("h2", { id: "panel-title" }, title), h("div", { class: "panel-sub" }, subtitle)),
    h("button", { class: "icon", "aria-label": "Close panel (Esc)", title: "Close (Esc)", onclick: () => ctx.close() }, "×"),
  );
}

/** Shows content in the panel element. */
export function showPanel(panel: HTMLElement, ...content: Node[]): void {
  panel.replaceChildren(...content);
  panel.hidden = false;
  panel.setAttribute("aria-labelledby", "panel-title");
}

/** Hides the panel. */
export function hidePanel(panel: HTMLElement): void {
  panel.hidden = true;
  panel.replaceChildren();
}

/** The range a panel's queries cover: the view's, or the last hour when live, as RFC 3339 times. */
export function panelRange(ctx: PanelContext): { from: string; to: string } {
  const now = Math.floor(Date.now() / 1000);
  const [from, to] = ctx.range() ?? [now - 3600, now];
  return { from: rfc3339(from), to: rfc3339(to) };
}
