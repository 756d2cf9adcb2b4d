// The header's count of firing SLO alerts, a link to the SLOs page: polled
// from GET /api/v1/alerts, hidden when none fire or no SLO engine answers.

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
