// The header's badges: the count of firing SLO alerts, a link to the SLOs
// page (polled from GET /api/v1/alerts, hidden when none fire or no SLO
// engine answers), and the count of exception types first seen in the last
// hour, a link to them.

import { APIError, getJSON } from "./api";
import { h } from "./dom";

/** How often the firing alerts are counted again. */
const POLL_MS = 30_000;

/** Creates the badge and starts counting; the badge is hidden until an alert fires. */
export function alertsBadge(): { el: HTMLElement; refresh: () => Promise<void> } {
  const el = h("a", { id: "alerts-badge", class: "alerts-badge", href: "#/slos", hidden: true });
  let timer: ReturnType<typeof setInterval> | undefined;
  const refresh = async () => {
    try {
      const r = await getJSON<{ alerts: { slo: string; state: string }[] | null }>("alerts");
      const firing = (r.alerts ?? []).filter((a) => a.state === "firing");
      const slos = new Set(firing.map((a) => a.slo));
      el.hidden = firing.length === 0;
      el.textContent = `${firing.length} SLO alert${firing.length === 1 ? "" : "s"} firing`;
      el.title = [...slos].sort().join(", ");
    } catch (err) {
      el.hidden = true;
      // No SLO engine on this server: stop asking.
      if (err instanceof APIError && err.status === 404 && timer !== undefined) clearInterval(timer);
    }
  };
  timer = setInterval(() => void (document.hidden ? undefined : refresh()), POLL_MS);
  void refresh();
  return { el, refresh };
}

/** An exception type first seen recently (GET /api/v1/exceptions/new). */
export interface NewException {
  service: string;
  namespace: string;
  type: string;
}

/** How often the new exception types are counted again. */
const NEW_EXCEPTIONS_POLL_MS = 60_000;

/**
 * The header's count of exception types first seen in the last hour, a
 * link to the Exceptions page's new ones: polled from GET
 * /api/v1/exceptions/new (the exception history alone, cheap), hidden when
 * there are none or the history is incomplete. onList gets the types
 * after each count (the graph's tooltips name them).
 */
export function newExceptionsBadge(onList: (list: NewException[]) => void = () => {}): { el: HTMLElement; refresh: () => Promise<void> } {
  const el = h("a", { id: "new-exceptions-badge", class: "alerts-badge new-exc-badge", href: "#/exceptions?new=true&from=now-1h", hidden: true });
  let timer: ReturnType<typeof setInterval> | undefined;
  const refresh = async () => {
    try {
      const r = await getJSON<{ exceptions: NewException[] | null; new_known: boolean }>("exceptions/new", { from: "now-1h", limit: "100" });
      const fresh = r.new_known ? (r.exceptions ?? []) : [];
      onList(fresh);
      el.hidden = !r.new_known || fresh.length === 0;
      el.textContent = `${fresh.length === 100 ? "100+" : fresh.length} new exception${fresh.length === 1 ? "" : "s"}`;
      el.title = fresh
        .slice(0, 10)
        .map((e) => `${e.type || "(no type)"} in ${e.service}`)
        .join("\n");
    } catch (err) {
      el.hidden = true;
      if (err instanceof APIError && err.status === 404 && timer !== undefined) clearInterval(timer);
    }
  };
  timer = setInterval(() => void (document.hidden ? undefined : refresh()), NEW_EXCEPTIONS_POLL_MS);
  void refresh();
  return { el, refresh };
}
