// A service's (or an edge's) series by version: the versions deployed in
// the range as chart markers, and the rate and errors of each version.

import { lineChart, seriesColor, type Marker } from "../charts";
import { fmtPct, fmtRate, h } from "../dom";
import type { ServiceDetail, VersionSeries } from "../types";

/** The versions first seen within the range, as chart markers. */
export function deployMarkers(versions: VersionSeries[]): Marker[] {
  return versions.filter((v) => v.new && v.version).map((v) => ({ time: v.first_seen, label: v.version })).sort((a, b) => a.time - b.time);
}

/** Most versions charted one by one; the rest are left out of the charts. */
const MAX_VERSION_LINES = 6;

/**
 * Rate and error rate by version, when the service had more than one
 * version in the range: a canary's share and errors beside its stable
 * version's, against time.
 */
export function versionCharts(t: number[], versions: VersionSeries[], markers: Marker[]): HTMLElement[] {
  if (versions.length < 2) return [];
  const shown = versions.slice(0, MAX_VERSION_LINES);
  const line = (pick: (v: VersionSeries) => number[] | undefined) => shown.map((v, i) => ({ label: v.version || "(none)", values: pick(v) ?? [], color: seriesColor(i) }));
  return [lineChart("Rate by version (rps)", t, line((v) => v.rps), fmtRate, undefined, markers), lineChart("Errors by version", t, line((v) => v.error_rate), fmtPct, undefined, markers)];
}

/** Says that a service's series are of the calls it made (it took none), when they are. */
export function directionNote(d: ServiceDetail): HTMLElement[] {
  return d.direction === "outbound" ? [h("p", { class: "muted direction-note" }, "It took no calls in the range: these are the calls it made.")] : [];
}
