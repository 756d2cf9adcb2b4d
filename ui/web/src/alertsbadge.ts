// The header's badges: the count of firing SLO alerts (and Prometheus rule
// alerts), a link to the SLOs page, and of the deployed versions alerted on as worse than their
// services' others, a link to the Deployments page (both polled from GET
// /api/v1/alerts, hidden when none fire or no SLO engine answers), and the
// count of exception types first seen in the last hour, a link to them;
// and the versions deployed in the last hour, which the graph rings.

import { APIError, getJSON } from "./api";
import { h } from "./dom";

/** A header badge: its element and a refresh that counts again now. */
export interface Badge {
  el: HTMLElement;
  refresh: () => Promise<void>;
}

/**
 * A hidden link in the header that update fills (and shows or hides)
 * every everyMs while the tab is shown, and at once. A server that does not
 * answer the path (404) is not asked again.
 */
function pollingBadge(attrs: { id: string; class: string; href: string }, everyMs: number, update: (el: HTMLElement) => Promise<void>): Badge {
  const el = h("a", { ...attrs, hidden: true });
  const refresh = poll(everyMs, () => update(el), () => (el.hidden = true));
  return { el, refresh };
}

/**
 * Calls update every everyMs while the tab is shown, and at once; failed
 * after a failed call. A server that does not answer the path (404) is not
 * asked again. Returns a refresh that calls update now.
 */
function poll(everyMs: number, update: () => Promise<void>, failed: () => void = () => {}): () => Promise<void> {
  let timer: ReturnType<typeof setInterval> | undefined;
  const refresh = async () => {
    try {
      await update();
    } catch (err) {
      failed();
      if (err instanceof APIError && err.status === 404 && timer !== undefined) clearInterval(timer);
    }
  };
  timer = setInterval(() => void (document.hidden ? undefined : refresh()), everyMs);
  void refresh();
  return refresh;
}

/** A deployment regression alert of GET /api/v1/alerts. */
export interface DeploymentAlert {
  service: string;
  namespace: string;
  version: string;
  summary: string;
}

/** An instance outlier alert of GET /api/v1/alerts. */
export interface InstanceAlert {
  service: string;
  namespace: string;
  instance: string;
  summary: string;
}

/**
 * Creates the firing SLO alerts' badge and starts counting; hidden until an
 * alert fires. deployments, the deployment regressions' badge (a link to
 * the Deployments page), and instances, the instance outliers' (a link to
 * the first one's service on the graph), are filled from the same answer.
 */
export function alertsBadge(deployments: HTMLElement, instances: HTMLAnchorElement, onWorse: (list: DeploymentAlert[]) => void = () => {}): Badge {
  deployments.hidden = true;
  instances.hidden = true;
  const badge = pollingBadge({ id: "alerts-badge", class: "alerts-badge", href: "#/slos" }, 30_000, async (el) => {
    deployments.hidden = true;
    instances.hidden = true;
    const r = await getJSON<{
      alerts: { slo: string; state: string }[] | null;
      deployment_alerts?: DeploymentAlert[] | null;
      instance_alerts?: InstanceAlert[] | null;
      rule_alerts?: { name: string; state: string }[] | null;
    }>("alerts");
    const firing = (r.alerts ?? []).filter((a) => a.state === "firing");
    const slos = new Set(firing.map((a) => a.slo));
    // The alerts of Prometheus rules (--rule-files) count too; the SLOs
    // page lists them under the SLOs.
    const rules = (r.rule_alerts ?? []).filter((a) => a.state === "firing");
    const n = firing.length + rules.length;
    el.hidden = n === 0;
    el.textContent = rules.length ? `${n} alert${n === 1 ? "" : "s"} firing` : `${n} SLO alert${n === 1 ? "" : "s"} firing`;
    el.title = [...[...slos].sort(), ...[...new Set(rules.map((a) => a.name))].sort()].join(", ");
    const regressed = r.deployment_alerts ?? [];
    onWorse(regressed);
    const versions = new Set(regressed.map((a) => `${a.service} ${a.version}`));
    deployments.hidden = versions.size === 0;
    deployments.textContent = `${versions.size} worse deployment${versions.size === 1 ? "" : "s"}`;
    deployments.title = regressed.map((a) => a.summary).join("\n");
    const outliers = r.instance_alerts ?? [];
    const pods = new Set(outliers.map((a) => `${a.namespace}/${a.service} ${a.instance}`));
    instances.hidden = pods.size === 0;
    instances.textContent = `${pods.size} outlier instance${pods.size === 1 ? "" : "s"}`;
    instances.title = outliers.map((a) => a.summary).join("\n");
    if (outliers[0]) instances.href = `#/graph?${new URLSearchParams({ sel: `service:${outliers[0].namespace}/${outliers[0].service}` }).toString()}`;
  });
  return badge;
}

/** An exception type first seen recently (GET /api/v1/exceptions/new). */
export interface NewException {
  service: string;
  namespace: string;
  type: string;
}

/**
 * The header's count of exception types first seen in the last hour, a
 * link to the Exceptions page's new ones: polled every minute from GET
 * /api/v1/exceptions/new (the exception history alone, cheap), hidden when
 * there are none or the history is incomplete. onList gets the types
 * after each count (the graph's tooltips name them).
 */
export function newExceptionsBadge(onList: (list: NewException[]) => void = () => {}): Badge {
  const attrs = { id: "new-exceptions-badge", class: "alerts-badge new-exc-badge", href: "#/exceptions?new=true&from=now-1h" };
  return pollingBadge(attrs, 60_000, async (el) => {
    const r = await getJSON<{ exceptions: NewException[] | null; new_known: boolean }>("exceptions/new", { from: "now-1h", limit: "100" });
    const fresh = r.new_known ? (r.exceptions ?? []) : [];
    onList(fresh);
    el.hidden = fresh.length === 0;
    el.textContent = `${fresh.length === 100 ? "100+" : fresh.length} new exception${fresh.length === 1 ? "" : "s"}`;
    el.title = fresh
      .slice(0, 10)
      .map((e) => `${e.type || "(no type)"} in ${e.service}`)
      .join("\n");
  });
}

/** A version deployed lately (GET /api/v1/deployments?numbers=false). */
export interface RecentDeployment {
  namespace: string;
  service: string;
  version: string;
  first_seen: string;
}

/**
 * Polls every minute which versions were deployed in the range that range
 * answers (from and to; their first calls, nothing compared: cheap), for
 * the graph's rings; onList gets them after each poll, none when the
 * server cannot tell. The refresh it returns polls now (the range changed).
 */
export function recentDeployments(
  range: () => { from: string; to?: string },
  onList: (list: RecentDeployment[], asked: { from: string; to?: string }) => void,
): () => Promise<void> {
  let asked = range();
  return poll(
    60_000,
    async () => {
      asked = range();
      const r = await getJSON<{ deployments: RecentDeployment[] | null }>("deployments", { ...asked, numbers: "false", limit: "500" });
      onList(r.deployments ?? [], asked);
    },
    () => onList([], asked),
  );
}
