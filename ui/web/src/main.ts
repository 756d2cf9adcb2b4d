// meshscope browser UI: wires the graph store, renderer, live stream, panels
// and pages together, keeps the view state in the URL hash, and exposes a
// small test hook on window.meshscope.

import "./styles.css";
import { getJSON } from "./api";
import { edgeTooltip, nodeTooltip } from "./badges";
import { diffColor, edgeColor, healthColor, kindLegend, markColor, markText } from "./colors";
import { debounce, download, h } from "./dom";
import { toDOT, toJSON, toSVG } from "./export";
import { numbers as edgeNumbers, openEdgePanel } from "./panels/edge";
import { nodeNumbers, openNodePanel } from "./panels/node";
import { hidePanel, type PanelContext } from "./panels/panel";
import { renderDeployments } from "./pages/deployments";
import { renderExceptions } from "./pages/exceptions";
import { renderLogs } from "./pages/logs";
import { renderMetrics } from "./pages/metrics";
import { renderRequests } from "./pages/requests";
import { renderSLOs } from "./pages/slos";
import { renderSQL } from "./pages/sql";
import { newTableView, renderTable } from "./pages/table";
import { renderTraces } from "./pages/traces";
import { alertsBadge, newExceptionsBadge, recentDeployments, type Badge } from "./alertsbadge";
import { TrafficAnimation } from "./animation";
import { chartCount } from "./charts";
import { parseQuery } from "./query";
import { edgeLabelText, Renderer, segmentDistance } from "./renderer";
import { baseSeconds, type EdgeLabels, formatHash, parseHash, rangeSeconds, rfc3339, type ViewState } from "./state";
import type { LayoutMode } from "./layout";
import { GraphStore } from "./store";
import { GraphStream, type StreamStatus } from "./stream";
import type { Granularity, GraphEdge, MeshGraph, ServerMessage } from "./types";

/** The test hook published on window.meshscope. */
export interface TestHooks {
  nodeCount(): number;
  edgeCount(): number;
  positions(): Record<string, [number, number]>;
  lastSeq(): number;
  lastApplyMs(): number;
  /** The part of lastApplyMs spent updating the graph, before drawing. */
  lastApplySyncMs(): number;
  /** How long the last frame took to draw. */
  lastRenderMs(): number;
  /** Time the last layout refinement spent in the worker. */
  layoutMs(): number;
  /** Time the last layered placement of every node took. */
  layeredMs(): number;
  /** The camera zoom ratio (1 shows the whole graph). */
  cameraRatio(): number;
  /** The current graph exported as "svg", "json" or "dot" text. */
  exportText(kind: "svg" | "json" | "dot"): string;
  /** The current picture exported as a PNG data URL. */
  exportPNG(): Promise<string>;
  /** Draws one frame with nothing changed and resolves with its duration. */
  frameMs(): Promise<number>;
  firstRenderMs(): number;
  readonly ready: boolean;
  /** Page coordinates of a node's centre, for clicking it in tests. */
  nodeScreenPosition(id: string): [number, number] | null;
  /** Page coordinates of the point a fraction t along an edge's line, from its source. */
  edgeScreenPoint(id: string, t: number): [number, number] | null;
  /** The edge drawn hovered ("" for none). */
  hoveredEdge(): string;
  /** The edge the pointer would hover at a page point ("" for none). */
  edgeAt(x: number, y: number): string;
  /** Every edge's id. */
  edgeIds(): string[];
  /** The time, in ms, of finding the edge under a point: the first of 50 points of the view (the edges' ends gathered when the graph changed since), and the mean of the other 49. */
  edgeHitMs(): [number, number];
  /** How many visible edges' lines pass within px pixels of a page point. */
  edgesNear(x: number, y: number, px: number): number;
  /** The drawn colour of an edge. */
  edgeColor(id: string): string;
  /** Nodes not hidden by the find box. */
  visibleNodeCount(): number;
  /** The ids of the nodes the find query matches, sorted (none without a query). */
  matchingNodeIds(): string[];
  /** The shape a node is drawn with. */
  nodeShape(id: string): string;
  /** The colour of the ring drawn around a node ("" for none), from what sigma draws. */
  nodeRing(id: string): string;
  /** The start ("now-1h" or a time) of the range whose deployments are ringed. */
  ringsFrom(): string;
  /** Edges drawn dashed (removed in diff mode). */
  dashedEdgeCount(): number;
  /** Traffic dots drawn in the last animation frame (0 when off). */
  animatedDots(): number;
  /** Draws the page shown again with fresh data, as its timer does. */
  refreshPage(): Promise<void>;
  /** Counts the firing SLO alerts again, as the header's timer does. */
  refreshAlerts(): Promise<void>;
  /** The label an edge is drawn with ("" without edge labels). */
  edgeLabel(id: string): string;
  /** Whether sigma draws edge labels. */
  edgeLabelsDrawn(): boolean;
  /** How many charts exist (shown, or left since the last chart was drawn). */
  liveCharts(): number;
}

declare global {
  interface Window {
    meshscope: TestHooks;
  }
}

const REPLAY_STEPS = 24;

/** How often the SLO pages fetch their data again while shown. */
const SLO_REFRESH_MS = 15_000;

/** Room around the fitted graph: the layered layout's last column has its labels on the right. */
function stagePadding(mode: LayoutMode): number {
  return mode === "layered" ? 110 : 40;
}

function viewKey(s: ViewState): string {
  return s.granularity + (s.group ? "+ns" : "") + (s.layout ? "+" + s.layout : "");
}

class App {
  state: ViewState;
  readonly store: GraphStore;
  readonly renderer: Renderer;
  readonly stream: GraphStream;
  readonly animation: TrafficAnimation;
  private firstRender = -1;
  private lastApply = -1;
  private lastApplySync = -1;
  private resyncTimer: ReturnType<typeof setTimeout> | undefined;
  /** The table page's order, kept while it is drawn again. */
  private readonly tableView = newTableView();
  /** A pending redraw of the table page after the graph changed. */
  private tableTimer: ReturnType<typeof setTimeout> | undefined;
  private tableRenderMs = 0;
  /** Fetches the SLO page's data again while it is shown. */
  private sloTimer: ReturnType<typeof setInterval> | undefined;
  private snapshotSeen = false;
  private renderPending = false;
  private panelOpenedFor = "";
  private knownNamespaces = new Set<string>();
  private loadToken = 0;
  private replaySteps: [number, number][] = [];
  private replayIndex = 0;
  private replayTimer: ReturnType<typeof setInterval> | undefined;
  private streamStatus: StreamStatus = "closed";
  private statusDetail = "";
  private lastHash = "";

  // Elements.
  private readonly status = h("div", { id: "status", role: "status", "aria-live": "polite" });
  /** The count of firing SLO alerts in the header. */
  private alerts!: Badge;
  /** The count of new exception types in the header. */
  private newExceptions!: Badge;
  /** The exception types first seen in the last hour, by namespace/service, for the node tooltips. */

  private readonly graphEl = h("div", { id: "graph", role: "img", tabindex: 0, "aria-label": "Service dependency graph. Use the Table page for a text version. Keys: + and - zoom, 0 or f fits, / finds." });
  private readonly panel = h("aside", { id: "panel", hidden: true, "aria-label": "Details", tabindex: -1 });
  private readonly graphPage = h("section", { id: "page-graph", class: "page graph-page" });
  private readonly otherPage = h("section", { id: "page-other", class: "page other-page", hidden: true, tabindex: -1 });
  /**
   * The element the page shown draws into, new for every page opened, so
   * that an answer arriving after the page was left (a trace, an SLO list)
   * draws into an element no longer shown instead of over the next page.
   */
  private pageView = h("div");
  private readonly granularity = h("select", { id: "granularity", "aria-label": "Granularity" });
  private readonly namespace = h("select", { id: "namespace", multiple: true, size: 3, "aria-label": "Namespace filter (Ctrl or Shift to pick several)", title: "Namespaces: Ctrl/Shift-click or Shift+arrows to pick several" });
  private readonly find = h("input", { id: "find", type: "search", placeholder: "Find: rps>10 error>1% ns=shop p99>200ms protocol=grpc name~cart", "aria-label": "Find nodes (press / to focus)", autocomplete: "off", spellcheck: "false" });
  private readonly findInfo = h("span", { id: "find-info", class: "muted", "aria-live": "polite" });
  private readonly hideOthers = h("input", { id: "hide-others", type: "checkbox" });
  private readonly groupNs = h("input", { id: "group-ns", type: "checkbox" });
  private readonly animate = h("input", { id: "animate", type: "checkbox" });
  private readonly edgeLabels = h(
    "select",
    { id: "edge-labels", "aria-label": "Edge labels" },
    h("option", { value: "" }, "No edge labels"),
    h("option", { value: "rps" }, "Label: rps"),
    h("option", { value: "errors" }, "Label: error rate"),
    h("option", { value: "p50" }, "Label: p50"),
    h("option", { value: "p95" }, "Label: p95"),
    h("option", { value: "p99" }, "Label: p99"),
    h("option", { value: "share" }, "Label: share of caller"),
    h("option", { value: "throughput" }, "Label: throughput"),
    h("option", { value: "mtls" }, "Label: mTLS"),
  );
  private readonly layoutSel = h(
    "select",
    { id: "layout", "aria-label": "Layout", title: "Force: nodes stay where they are placed. Layered: callers left of their callees." },
    h("option", { value: "" }, "Layout: force"),
    h("option", { value: "layered" }, "Layout: layered"),
  );
  private readonly range = h("select", { id: "range", "aria-label": "Time range" });
  private readonly rangeFrom = h("input", { id: "range-from", type: "datetime-local", "aria-label": "Range start" });
  private readonly rangeTo = h("input", { id: "range-to", type: "datetime-local", "aria-label": "Range end" });
  private readonly customBox = h("span", { class: "custom", hidden: true });
  private readonly diff = h("select", { id: "diff", "aria-label": "Compare with a baseline" });
  private readonly baseFrom = h("input", { id: "base-from", type: "datetime-local", "aria-label": "Baseline start" });
  private readonly baseTo = h("input", { id: "base-to", type: "datetime-local", "aria-label": "Baseline end" });
  private readonly baseBox = h("span", { class: "custom", hidden: true });
  private readonly replayToggle = h("button", { id: "replay-toggle", type: "button", "aria-pressed": "false", title: "Replay the range step by step" }, "Replay");
  private readonly replayBar = h("div", { id: "replay-bar", class: "toolbar replay", hidden: true, role: "group", "aria-label": "Replay" });
  private readonly replaySlider = h("input", { id: "replay-slider", type: "range", min: 0, max: REPLAY_STEPS - 1, value: 0, "aria-label": "Replay position" });
  private readonly replayPlay = h("button", { id: "replay-play", type: "button", "aria-label": "Play" }, "▶");
  private readonly replayLabel = h("span", { id: "replay-label", class: "muted" });
  private readonly legend = h("div", { class: "legend", "aria-label": "Legend" });

  constructor(root: HTMLElement) {
    this.state = parseHash(location.hash);
    this.store = new GraphStore(viewKey(this.state));
    this.store.grouped = this.state.group;
    this.store.layout.mode = this.state.layout;
    this.store.inPlace = true;
    this.buildDOM(root);
    this.renderer = new Renderer(this.graphEl, this.store.graph, {
      clickNode: (id) => this.selectNode(id),
      clickEdge: (id) => this.selectEdge(id),
      clickStage: () => this.closePanel(),
      nodeTooltip: (id) => {
        const n = this.store.node(id);
        return n
          ? nodeTooltip(n, this.store.edgesOf(id), { newExceptions: this.store.newExceptionsOf(n), deployed: this.store.deployedOf(n), worse: this.store.markOf(n) === "worse" })
          : id;
      },
      edgeTooltip: (id) => {
        const e = this.store.edge(id);
        return e ? edgeTooltip(e, (x) => this.label(x)) : id;
      },
      dragEnd: (id) => this.store.pin(id),
    });
    this.renderer.setStagePadding(stagePadding(this.state.layout));
    this.animation = new TrafficAnimation(this.graphEl, () => this.renderer.sigma);
    const refreshPanel = debounce(() => this.refreshPanelNumbers(), 300);
    this.store.onChange = () => {
      refreshPanel();
      this.renderer.refreshTooltip();
      this.updateStatus();
      this.updateFindInfo();
    };
    this.store.onSettled = () => this.afterChange();
    this.stream = new GraphStream({
      message: (m, at) => this.onMessage(m, at),
      status: (s, detail) => {
        this.streamStatus = s;
        this.statusDetail = detail;
        this.updateStatus();
      },
    });
    this.syncControls();
    this.applyDecor();
    window.addEventListener("hashchange", () => this.onHashChange());
    document.addEventListener("keydown", (ev) => this.onKey(ev));
    window.addEventListener("beforeunload", () => this.store.layout.cache.flush());
    this.route();
    this.startData();
  }

  // ---- DOM ----

  private buildDOM(root: HTMLElement): void {
    const nav = h("nav", { class: "pages", "aria-label": "Pages" });
    for (const [page, label] of [
      ["graph", "Graph"],
      ["table", "Table"],
      ["sql", "SQL"],
      ["traces", "Traces"],
      ["requests", "Requests"],
      ["logs", "Logs"],
      ["exceptions", "Exceptions"],
      ["deployments", "Deployments"],
      ["metrics", "Metrics"],
      ["slos", "SLOs"],
    ] as const) {
      nav.append(h("a", { href: `#/${page}`, "data-page": page }, label));
    }
    const deployAlerts = h("a", { id: "deploy-alerts-badge", class: "alerts-badge", href: "#/deployments" });
    const instanceAlerts = h("a", { id: "instance-alerts-badge", class: "alerts-badge", href: "#/graph" }) as HTMLAnchorElement;
    // The graph's rings: versions deployed in the last hour, and those of
    // them alerted on as worse.
    let deployed = new Map<string, Map<string, string>>();
    let worse = new Map<string, Set<string>>();
    this.alerts = alertsBadge(deployAlerts, instanceAlerts, (list) => {
      worse = new Map();
      for (const a of list) worse.set(`${a.namespace}/${a.service}`, (worse.get(`${a.namespace}/${a.service}`) ?? new Set()).add(a.version));
      this.store.setDeployments(deployed, worse);
    });
    this.refreshRings = recentDeployments(() => this.ringsRange(), (list, asked) => {
      this.ringsFrom = asked.from;
      deployed = new Map();
      for (const d of list) {
        const key = `${d.namespace}/${d.service}`;
        deployed.set(key, (deployed.get(key) ?? new Map<string, string>()).set(d.version, d.first_seen));
      }
      this.store.setDeployments(deployed, worse);
    });
    this.newExceptions = newExceptionsBadge((list) => {
      const by = new Map<string, string[]>();
      for (const e of list) by.set(`${e.namespace}/${e.service}`, [...(by.get(`${e.namespace}/${e.service}`) ?? []), e.type || "(no type)"]);
      this.store.setNewExceptions(by);
    });
    const header = h("header", { class: "top" }, h("a", { class: "brand", href: "#/graph" }, "meshscope"), nav, h("span", { class: "top-badges" }, this.newExceptions.el, deployAlerts, instanceAlerts, this.alerts.el), this.status);

    for (const g of ["service", "workload", "version"]) this.granularity.append(h("option", { value: g }, g));
    this.granularity.addEventListener("change", () => this.setGranularity(this.granularity.value as Granularity));
    this.namespace.addEventListener("change", () => {
      const picked = [...this.namespace.selectedOptions].map((o) => o.value);
      // "All namespaces" wins when it is picked while a filter is set.
      const all = picked.includes("") && this.state.namespaces.length > 0;
      const ns = all ? [] : picked.filter(Boolean);
      this.setNamespaces(ns);
      this.refreshNamespaceOptions(true);
    });
    const onFind = debounce(() => this.setQuery(this.find.value), 150);
    this.find.addEventListener("input", onFind);
    this.find.addEventListener("keydown", (ev) => {
      if (ev.key === "Enter") this.setQuery(this.find.value);
    });
    this.hideOthers.addEventListener("change", () => {
      this.state.hide = this.hideOthers.checked;
      this.applyDecor();
      this.writeHash();
    });
    this.groupNs.addEventListener("change", () => this.setGroup(this.groupNs.checked));
    this.layoutSel.addEventListener("change", () => this.setLayout(this.layoutSel.value as LayoutMode));
    this.animate.addEventListener("change", () => {
      this.state.animate = this.animate.checked;
      this.updateAnimation();
      this.writeHash();
    });
    this.edgeLabels.addEventListener("change", () => {
      this.state.edgeLabels = this.edgeLabels.value as EdgeLabels;
      this.renderer.setEdgeLabels(this.state.edgeLabels);
      this.writeHash();
    });
    for (const [v, l] of [
      ["live", "Live"],
      ["15m", "Last 15 min"],
      ["1h", "Last hour"],
      ["6h", "Last 6 hours"],
      ["24h", "Last 24 hours"],
      ["custom", "Custom…"],
    ]) {
      this.range.append(h("option", { value: v }, l));
    }
    this.range.addEventListener("change", () => this.setRange(this.range.value));
    const applyCustom = h("button", { type: "button", onclick: () => this.setCustomRange() }, "Apply");
    this.customBox.append(this.rangeFrom, "–", this.rangeTo, applyCustom);
    for (const [v, l] of [
      ["", "No diff"],
      ["prev", "Diff vs previous period"],
      ["custom", "Diff vs custom baseline…"],
    ]) {
      this.diff.append(h("option", { value: v }, l));
    }
    this.diff.addEventListener("change", () => this.setDiff(this.diff.value));
    const applyBase = h("button", { type: "button", onclick: () => this.setDiff("custom") }, "Apply");
    this.baseBox.append(this.baseFrom, "–", this.baseTo, applyBase);
    this.replayToggle.addEventListener("click", () => this.setReplay(!this.state.replay));
    this.replaySlider.addEventListener("input", () => this.loadReplayStep(Number(this.replaySlider.value)));
    this.replayPlay.addEventListener("click", () => this.toggleReplayPlay());
    this.replayBar.append(this.replayPlay, this.replaySlider, this.replayLabel);

    const exportMenu = h(
      "span",
      { class: "group", role: "group", "aria-label": "Export" },
      h("span", { class: "muted" }, "Export"),
      h("button", { type: "button", id: "export-png", onclick: () => void this.exportPNG() }, "PNG"),
      h("button", { type: "button", id: "export-svg", onclick: () => download("meshscope-graph.svg", toSVG(this.store.graph), "image/svg+xml") }, "SVG"),
      h("button", { type: "button", id: "export-json", onclick: () => download("meshscope-graph.json", toJSON(this.store.graph, this.exportMeta()), "application/json") }, "JSON"),
      h("button", { type: "button", id: "export-dot", onclick: () => download("meshscope-graph.dot", toDOT(this.store.graph), "text/vnd.graphviz") }, "DOT"),
    );
    const zoom = h(
      "span",
      { class: "group", role: "group", "aria-label": "Zoom" },
      h("button", { type: "button", "aria-label": "Zoom in (+)", title: "Zoom in (+)", onclick: () => this.renderer.zoomIn() }, "+"),
      h("button", { type: "button", "aria-label": "Zoom out (-)", title: "Zoom out (-)", onclick: () => this.renderer.zoomOut() }, "−"),
      h("button", { type: "button", "aria-label": "Fit graph (0 or f)", title: "Fit (0 or f)", onclick: () => this.renderer.fit() }, "Fit"),
    );
    const toolbar1 = h(
      "div",
      { class: "toolbar", role: "toolbar", "aria-label": "View" },
      h("label", { class: "inline" }, h("span", { class: "muted" }, "By"), this.granularity),
      this.namespace,
      h("label", { class: "inline", title: "Collapse each namespace into one node" }, this.groupNs, "Group by namespace"),
      h("label", { class: "inline", title: "Dots move along edges, more and faster with more requests per second" }, this.animate, "Animate traffic"),
      this.edgeLabels,
      h("span", { class: "sep" }),
      this.range,
      this.customBox,
      this.replayToggle,
      this.diff,
      this.baseBox,
      h("span", { class: "spacer" }),
      zoom,
      exportMenu,
    );
    const toolbar2 = h(
      "div",
      { class: "toolbar" },
      h("span", { class: "group", role: "search", "aria-label": "Find" }, this.find, h("label", { class: "inline" }, this.hideOthers, "Hide others"), this.findInfo),
      h("span", { class: "spacer" }),
      this.layoutSel,
    );
    this.renderLegend();
    const wrap = h("div", { class: "graph-wrap" }, this.graphEl, this.legend, this.panel);
    this.graphPage.append(toolbar1, toolbar2, this.replayBar, wrap);
    root.append(header, h("main", {}, this.graphPage, this.otherPage));
  }

  private renderLegend(): void {
    const sw = (color: string, text: string, shape = "●") => h("span", { class: "lg" }, h("span", { style: `color:${color}` }, shape), " ", text);
    const items: HTMLElement[] = [];
    if (this.state.diff) {
      items.push(h("strong", {}, "Diff "), sw(diffColor["added"]!, "added", "━"), sw(diffColor["removed"]!, "removed (dashed)", "╌"), sw(diffColor["changed"]!, "changed", "━"));
    } else {
      items.push(h("strong", {}, "Health "));
      for (const k of ["healthy", "degraded", "failing", "idle"]) items.push(sw(healthColor[k]!, k));
      items.push(h("strong", {}, " Errors "), sw(edgeColor(0), "<0.1%", "━"), sw(edgeColor(0.005), "<1%", "━"), sw(edgeColor(0.02), "<5%", "━"), sw(edgeColor(0.1), "≥5%", "━"));
    }
    items.push(h("strong", {}, " Kind "));
    for (const [k, s] of kindLegend) items.push(sw("#495057", k, s));
    items.push(h("strong", {}, " Rings "));
    if (this.ringsLive()) for (const k of ["worse", "exception", "deployed"]) items.push(sw(markColor[k]!, markText[k]!, "◯"));
    else items.push(sw(markColor["deployed"]!, "deployed in the range", "◯"));
    this.legend.replaceChildren(...items);
  }

  private syncControls(): void {
    const s = this.state;
    this.granularity.value = s.granularity;
    this.refreshNamespaceOptions();
    if (document.activeElement !== this.find) this.find.value = s.query;
    this.hideOthers.checked = s.hide;
    this.groupNs.checked = s.group;
    this.animate.checked = s.animate;
    this.edgeLabels.value = s.edgeLabels;
    this.layoutSel.value = s.layout;
    this.renderer?.setEdgeLabels(s.edgeLabels);
    // Only a diff draws edges dashed (those removed).
    this.renderer?.setDashes(!!s.diff);
    this.range.value = ["live", "15m", "1h", "6h", "24h", "custom"].includes(s.range) ? s.range : "live";
    this.customBox.hidden = s.range !== "custom";
    if (s.range === "custom") {
      this.rangeFrom.value = toLocalInput(s.from);
      this.rangeTo.value = toLocalInput(s.to);
    }
    this.diff.value = s.diff;
    this.baseBox.hidden = s.diff !== "custom";
    if (s.diff === "custom") {
      this.baseFrom.value = toLocalInput(s.baseFrom);
      this.baseTo.value = toLocalInput(s.baseTo);
    }
    this.replayToggle.setAttribute("aria-pressed", String(s.replay));
    this.replayToggle.classList.toggle("on", s.replay);
    this.replayBar.hidden = !s.replay || s.range === "live";
    this.renderLegend();
  }

  private refreshNamespaceOptions(force = false): void {
    if (!force && document.activeElement === this.namespace) return;
    for (const ns of this.state.namespaces) this.knownNamespaces.add(ns);
    const want = new Set(this.state.namespaces);
    const sorted = [...this.knownNamespaces].filter(Boolean).sort();
    const values = ["", ...sorted];
    const current = [...this.namespace.options].map((o) => o.value).join("|");
    if (current !== values.join("|")) {
      this.namespace.replaceChildren(h("option", { value: "" }, "All namespaces"), ...sorted.map((ns) => h("option", { value: ns }, ns)));
    }
    for (const o of this.namespace.options) o.selected = o.value === "" ? want.size === 0 : want.has(o.value);
  }

  private updateAnimation(): void {
    this.animation.setEnabled(this.state.animate && this.state.page === "graph");
  }

  // ---- routing and hash ----

  private writeHash(): void {
    const hash = formatHash(this.state);
    this.lastHash = hash;
    if (location.hash !== hash) history.replaceState(null, "", hash);
  }

  private onHashChange(): void {
    if (location.hash === this.lastHash) return;
    const prev = this.state;
    const next = parseHash(location.hash);
    this.state = next;
    this.syncControls();
    const dataChanged =
      prev.granularity !== next.granularity ||
      prev.namespaces.join() !== next.namespaces.join() ||
      prev.range !== next.range ||
      prev.from !== next.from ||
      prev.to !== next.to ||
      prev.diff !== next.diff ||
      prev.baseFrom !== next.baseFrom ||
      prev.baseTo !== next.baseTo ||
      prev.replay !== next.replay ||
      prev.group !== next.group;
    if (prev.group !== next.group) {
      this.store.grouped = next.group;
      this.store.setView(viewKey(next));
    }
    if (prev.layout !== next.layout) {
      this.store.layout.mode = next.layout;
      this.store.setView(viewKey(next));
      this.store.relayout();
      this.renderer.setStagePadding(stagePadding(next.layout));
    }
    const selectionChanged = prev.selected !== next.selected || prev.edge !== next.edge;
    if (selectionChanged) {
      hidePanel(this.panel);
      this.panelOpenedFor = "";
      this.store.setDecor({ blast: null });
    }
    if (dataChanged) this.startData();
    this.applyDecor();
    this.route();
  }

  private route(): void {
    const s = this.state;
    if (this.sloTimer !== undefined) clearInterval(this.sloTimer);
    this.sloTimer = undefined;
    for (const a of document.querySelectorAll<HTMLAnchorElement>("nav.pages a")) {
      if (a.dataset["page"] === s.page) a.setAttribute("aria-current", "page");
      else a.removeAttribute("aria-current");
    }
    const graph = s.page === "graph";
    this.graphPage.hidden = !graph;
    this.otherPage.hidden = graph;
    this.updateAnimation();
    if (graph) {
      document.title = "meshscope · graph";
      this.renderer.sigma.resize();
      this.renderer.sigma.refresh();
      this.restoreSelection();
      return;
    }
    this.closePanelQuiet();
    document.title = `meshscope · ${s.page}`;
    this.pageView = h("div", { class: "page-view" });
    this.otherPage.replaceChildren(this.pageView);
    switch (s.page) {
      case "table":
        this.renderTablePage();
        break;
      case "sql":
        renderSQL(this.pageView, s.params);
        break;
      case "traces":
        renderTraces(this.pageView, s.sub, s.params);
        break;
      case "requests":
        renderRequests(this.pageView, s.params);
        break;
      case "logs":
        renderLogs(this.pageView, s.params);
        break;
      case "exceptions":
        renderExceptions(this.pageView, s.params);
        break;
      case "deployments":
        renderDeployments(this.pageView, s.params);
        break;
      case "metrics":
        renderMetrics(this.pageView, s.params);
        break;
      case "slos":
        void renderSLOs(this.pageView, s.sub, false, s.params);
        this.sloTimer = setInterval(() => void this.refreshPage(), SLO_REFRESH_MS);
        break;
    }
  }

  private renderTablePage(): void {
    if (this.tableTimer !== undefined) clearTimeout(this.tableTimer);
    this.tableTimer = undefined;
    const t0 = performance.now();
    renderTable(this.pageView, this.store, this.state.query, this.tableView, (kind, id) => {
      this.state.page = "graph";
      this.state.sub = "";
      if (kind === "node") this.state.selected = id;
      else this.state.edge = id;
      location.hash = formatHash(this.state);
    });
    this.tableRenderMs = performance.now() - t0;
  }

  /** Draws the page shown again with fresh data (not while the tab is hidden). */
  private refreshPage(): Promise<void> {
    if (document.hidden) return Promise.resolve();
    if (this.state.page === "slos") return renderSLOs(this.pageView, this.state.sub, true);
    if (this.state.page === "table") this.renderTablePage();
    return Promise.resolve();
  }

  /**
   * Draws the table page again after the graph changed while it is shown:
   * at once for a whole new graph; for deltas at most once a second, or
   * less often when drawing takes long (thousands of rows), so that the
   * tables take at most a tenth of the time.
   */
  private refreshTable(whole: boolean): void {
    if (this.state.page !== "table") return;
    if (whole) {
      this.renderTablePage();
      return;
    }
    if (this.tableTimer !== undefined) return;
    this.tableTimer = setTimeout(() => {
      this.tableTimer = undefined;
      if (this.state.page === "table") this.renderTablePage();
    }, Math.max(1000, 10 * this.tableRenderMs));
  }

  // ---- data ----

  /** Starts the data source the view asks for: live stream or REST queries. */
  private startData(): void {
    this.stopReplayPlay();
    this.loadToken++;
    const s = this.state;
    this.store.setRingsLive(this.ringsLive());
    void this.refreshRings();
    if (s.range === "live" && !s.diff) {
      this.stream.start(s.granularity, s.namespaces);
      this.updateStatus();
      return;
    }
    this.stream.stop();
    if (s.diff) {
      void this.loadDiff();
    } else if (s.replay) {
      this.prepareReplay();
    } else {
      void this.loadRange();
    }
  }

  private onMessage(m: ServerMessage, at: number): void {
    if (this.stream.running === false) return;
    switch (m.type) {
      case "snapshot": {
        if (this.resyncTimer !== undefined) clearTimeout(this.resyncTimer);
        this.resyncTimer = undefined;
        this.collectNamespaces(m.graph);
        const g = this.store.applySnapshot(m.graph, m.seq);
        this.renderer.setGraph(g);
        this.snapshotSeen = true;
        this.measure(at, true);
        this.restoreSelection();
        this.refreshTable(true);
        break;
      }
      case "delta": {
        const t0 = performance.now();
        const ok = this.store.applyDelta(m);
        const rp = this.store.takeRepaint();
        this.renderer.repaint(rp.nodes, rp.edges);
        this.lastApplySync = performance.now() - t0;
        if (!ok) {
          this.expectSnapshot();
          return;
        }
        for (const n of m.nodes_added ?? []) if (n.namespace) this.knownNamespaces.add(n.namespace);
        this.measure(at, false);
        this.refreshTable(false);
        break;
      }
      case "heartbeat":
        if (this.store.seq >= 0 && m.seq !== this.store.seq) this.expectSnapshot();
        this.statusDetail = m.time ? `updated ${new Date(m.time).toLocaleTimeString()}` : "";
        this.updateStatus();
        break;
      case "error":
        this.statusDetail = `server: ${m.error}${m.field ? ` (${m.field})` : ""}`;
        this.updateStatus();
        break;
    }
  }

  /**
   * The state fell behind the server: the server sends a snapshot on its own
   * (docs/websocket.md); ask for one only if it does not come soon.
   */
  private expectSnapshot(): void {
    if (this.resyncTimer !== undefined) return;
    this.resyncTimer = setTimeout(() => {
      this.resyncTimer = undefined;
      this.stream.resync();
    }, 3000);
  }

  /** Records how long a change took to reach the screen. */
  private measure(receivedAt: number, snapshot: boolean): void {
    this.renderPending = true;
    const first = snapshot && this.firstRender < 0;
    void this.waitRender().then(() => {
      const ms = performance.now() - receivedAt;
      if (first) this.firstRender = ms;
      if (!snapshot) this.lastApply = ms;
    });
  }

  private waitRender(): Promise<void> {
    this.renderPending = true;
    const p = this.state.page === "graph" ? this.renderer.nextRender() : Promise.resolve();
    return p.then(() => {
      this.renderPending = false;
    });
  }

  private afterChange(): void {
    void this.waitRender();
  }

  private collectNamespaces(g: MeshGraph): void {
    for (const n of g.nodes ?? []) if (n.namespace) this.knownNamespaces.add(n.namespace);
    this.refreshNamespaceOptions();
  }

  /** Applies a graph fetched over REST (range, replay step or diff). */
  private showGraph(g: MeshGraph, started: number): void {
    this.collectNamespaces(g);
    const dg = this.store.applySnapshot(g, -1);
    this.renderer.setGraph(dg);
    this.snapshotSeen = true;
    this.measure(started, true);
    this.restoreSelection();
    this.updateStatus();
    this.refreshTable(true);
  }

  /** The start of the range of the deployments ringed last (a test hook reads it). */
  private ringsFrom = "";

  /** Polls the versions deployed in the range the graph shows now (recentDeployments). */
  private refreshRings: () => Promise<void> = async () => {};

  /** Whether the graph shows the present: live and not a diff. */
  private ringsLive(): boolean {
    return this.state.range === "live" && !this.state.diff;
  }

  /** The range whose deployments the graph rings: the last hour when live, else the graph's range. */
  private ringsRange(): { from: string; to?: string } {
    const s = this.state;
    const r = this.ringsLive() ? null : rangeSeconds(s.range === "live" ? { ...s, range: "15m" } : s);
    return r ? { from: rfc3339(r[0]), to: rfc3339(r[1]) } : { from: "now-1h" };
  }

  private graphParams(): Record<string, string> {
    return { granularity: this.state.granularity, namespace: this.state.namespaces.join(",") };
  }

  private async loadRange(): Promise<void> {
    const token = this.loadToken;
    const r = rangeSeconds(this.state);
    if (!r) return;
    this.statusDetail = "loading…";
    this.updateStatus();
    const t0 = performance.now();
    try {
      const g = await getJSON<MeshGraph>("graph", { ...this.graphParams(), from: rfc3339(r[0]), to: rfc3339(r[1]) });
      if (token !== this.loadToken) return;
      this.statusDetail = "";
      this.showGraph(g, t0);
    } catch (err) {
      if (token !== this.loadToken) return;
      this.statusDetail = `failed: ${err instanceof Error ? err.message : String(err)}`;
      this.updateStatus();
    }
  }

  private async loadDiff(): Promise<void> {
    const token = this.loadToken;
    const s = this.state;
    const r = rangeSeconds(s.range === "live" ? { ...s, range: "15m" } : s);
    if (!r) return;
    const b = baseSeconds(s, r);
    if (!b) {
      this.statusDetail = "choose a baseline range";
      this.updateStatus();
      return;
    }
    this.statusDetail = "loading diff…";
    this.updateStatus();
    const t0 = performance.now();
    try {
      const g = await getJSON<MeshGraph>("graph/diff", { ...this.graphParams(), from: rfc3339(r[0]), to: rfc3339(r[1]), base_from: rfc3339(b[0]), base_to: rfc3339(b[1]) });
      if (token !== this.loadToken) return;
      this.statusDetail = "";
      this.showGraph(g, t0);
      this.applyDecor();
    } catch (err) {
      if (token !== this.loadToken) return;
      this.statusDetail = `diff failed: ${err instanceof Error ? err.message : String(err)}`;
      this.updateStatus();
    }
  }

  private prepareReplay(): void {
    const r = rangeSeconds(this.state);
    if (!r) return;
    const step = Math.max(60, Math.floor((r[1] - r[0]) / REPLAY_STEPS));
    this.replaySteps = [];
    for (let t = r[0]; t < r[1]; t += step) this.replaySteps.push([t, Math.min(r[1], t + step)]);
    this.replaySlider.max = String(this.replaySteps.length - 1);
    this.replaySlider.value = "0";
    this.loadReplayStep(0);
  }

  private loadReplayStep(i: number): void {
    const step = this.replaySteps[i];
    if (!step) return;
    this.replayIndex = i;
    this.replaySlider.value = String(i);
    const fmt = (t: number) => new Date(t * 1000).toLocaleString();
    this.replayLabel.textContent = `${i + 1}/${this.replaySteps.length}: ${fmt(step[0])} – ${fmt(step[1])}`;
    const token = ++this.loadToken;
    const t0 = performance.now();
    getJSON<MeshGraph>("graph", { ...this.graphParams(), from: rfc3339(step[0]), to: rfc3339(step[1]) })
      .then((g) => {
        if (token !== this.loadToken) return;
        this.statusDetail = "";
        this.showGraph(g, t0);
      })
      .catch((err) => {
        if (token !== this.loadToken) return;
        this.statusDetail = `replay failed: ${err instanceof Error ? err.message : String(err)}`;
        this.updateStatus();
      });
  }

  private toggleReplayPlay(): void {
    if (this.replayTimer !== undefined) {
      this.stopReplayPlay();
      return;
    }
    this.replayPlay.textContent = "⏸";
    this.replayPlay.setAttribute("aria-label", "Pause");
    this.replayTimer = setInterval(() => {
      const next = this.replayIndex + 1;
      if (next >= this.replaySteps.length) {
        this.stopReplayPlay();
        return;
      }
      this.loadReplayStep(next);
    }, 1500);
  }

  private stopReplayPlay(): void {
    if (this.replayTimer !== undefined) clearInterval(this.replayTimer);
    this.replayTimer = undefined;
    this.replayPlay.textContent = "▶";
    this.replayPlay.setAttribute("aria-label", "Play");
  }

  // ---- view changes ----

  private setGranularity(g: Granularity): void {
    this.state.granularity = g;
    this.store.setView(viewKey(this.state));
    this.closePanel();
    this.writeHash();
    if (this.state.range === "live" && !this.state.diff) this.stream.subscribe(g, this.state.namespaces);
    else this.startData();
  }

  private setNamespaces(ns: string[]): void {
    this.state.namespaces = ns;
    this.writeHash();
    if (this.state.range === "live" && !this.state.diff) this.stream.subscribe(this.state.granularity, ns);
    else this.startData();
  }

  private setQuery(q: string): void {
    if (q === this.state.query) return;
    this.state.query = q;
    this.applyDecor();
    this.writeHash();
  }

  private setGroup(on: boolean): void {
    this.state.group = on;
    this.store.grouped = on;
    this.store.setView(viewKey(this.state));
    this.closePanel();
    const g = this.store.rebuild();
    this.renderer.setGraph(g);
    void this.waitRender();
    this.writeHash();
  }

  private setLayout(mode: LayoutMode): void {
    this.state.layout = mode;
    this.store.layout.mode = mode;
    this.store.setView(viewKey(this.state));
    this.store.relayout();
    this.renderer.setStagePadding(stagePadding(mode));
    this.renderer.fit();
    void this.waitRender();
    this.writeHash();
  }

  private setRange(r: string): void {
    this.state.range = r;
    if (r === "custom") {
      const now = Date.now();
      if (!this.state.from) this.state.from = new Date(now - 3600e3).toISOString();
      if (!this.state.to) this.state.to = new Date(now).toISOString();
    }
    if (r === "live") this.state.replay = false;
    this.syncControls();
    this.writeHash();
    this.startData();
  }

  private setCustomRange(): void {
    const f = fromLocalInput(this.rangeFrom.value);
    const t = fromLocalInput(this.rangeTo.value);
    if (!f || !t) return;
    this.state.range = "custom";
    this.state.from = f;
    this.state.to = t;
    this.writeHash();
    this.startData();
  }

  private setDiff(d: string): void {
    this.state.diff = d;
    if (d === "custom") {
      const f = fromLocalInput(this.baseFrom.value);
      const t = fromLocalInput(this.baseTo.value);
      if (f && t) {
        this.state.baseFrom = f;
        this.state.baseTo = t;
      } else if (!this.state.baseFrom) {
        const now = Date.now();
        this.state.baseFrom = new Date(now - 2 * 86400e3).toISOString();
        this.state.baseTo = new Date(now - 86400e3).toISOString();
      }
    }
    if (d) this.state.replay = false;
    this.syncControls();
    this.applyDecor();
    this.writeHash();
    this.startData();
  }

  private setReplay(on: boolean): void {
    if (on && this.state.range === "live") {
      this.state.range = "1h";
    }
    this.state.replay = on;
    if (on) this.state.diff = "";
    this.syncControls();
    this.writeHash();
    this.startData();
  }

  private applyDecor(): void {
    const q = parseQuery(this.state.query);
    this.store.setDecor({
      query: q.terms.length ? q : null,
      hideOthers: this.state.hide,
      selected: this.state.selected,
      diff: !!this.state.diff,
    });
    this.updateFindInfo(q.errors);
    void this.waitRender();
  }

  private updateFindInfo(errors: string[] = parseQuery(this.state.query).errors): void {
    if (errors.length) {
      this.findInfo.textContent = errors.join("; ");
      this.findInfo.className = "error-text";
      return;
    }
    this.findInfo.className = "muted";
    const m = this.store.matchingNodes();
    this.findInfo.textContent = m ? `${m.size} of ${this.store.graph.order} nodes match` : "";
  }

  // ---- selection and panels ----

  private panelContext(): PanelContext {
    return {
      store: this.store,
      range: () => rangeSeconds(this.state),
      selectNode: (id) => this.selectNode(id),
      selectEdge: (id) => this.selectEdge(id),
      close: () => this.closePanel(),
      setBlast: (ids) => {
        if (this.state.selected) {
          this.store.setDecor({ blast: ids });
          void this.waitRender();
        }
      },
      label: (id) => this.label(id),
      find: (q, hide) => {
        this.find.value = q;
        this.state.query = q;
        this.state.hide = hide;
        this.hideOthers.checked = hide;
        this.applyDecor();
        this.writeHash();
      },
    };
  }

  private label(id: string): string {
    const g = this.store.graph;
    if (g.hasNode(id)) return String(g.getNodeAttribute(id, "label"));
    return id.replace(/^[a-z]+:/, "");
  }

  selectNode(id: string): void {
    if (!this.store.graph.hasNode(id)) return;
    this.state.selected = id;
    this.state.edge = "";
    this.store.setDecor({ selected: id, blast: null });
    this.panelOpenedFor = "n:" + id;
    openNodePanel(this.panel, this.panelContext(), id);
    void this.waitRender();
    this.writeHash();
  }

  selectEdge(id: string): void {
    if (!this.store.graph.hasEdge(id)) return;
    this.state.edge = id;
    this.state.selected = "";
    this.store.setDecor({ selected: "", blast: null });
    this.panelOpenedFor = "e:" + id;
    openEdgePanel(this.panel, this.panelContext(), id);
    void this.waitRender();
    this.writeHash();
  }

  /** Updates the live numbers of the open panel after a delta. */
  private refreshPanelNumbers(): void {
    const box = this.panel.querySelector(".numbers");
    if (this.panel.hidden || !box) return;
    const [kind, id] = [this.panelOpenedFor.slice(0, 2), this.panelOpenedFor.slice(2)];
    if (kind === "n:") {
      const n = this.store.graph.hasNode(id) ? this.store.node(id) : undefined;
      if (n) box.replaceWith(nodeNumbers(n));
    } else if (kind === "e:") {
      const e = this.store.graph.hasEdge(id) ? this.store.edge(id) : undefined;
      if (e) box.replaceWith(edgeNumbers(e));
    }
  }

  /** Opens the panel named in the hash once its node or edge is known. */
  private restoreSelection(): void {
    if (this.state.page !== "graph") return;
    const s = this.state;
    if (s.selected && this.panelOpenedFor !== "n:" + s.selected && this.store.graph.hasNode(s.selected)) this.selectNode(s.selected);
    else if (s.edge && this.panelOpenedFor !== "e:" + s.edge && this.store.graph.hasEdge(s.edge)) this.selectEdge(s.edge);
  }

  closePanel(): void {
    this.closePanelQuiet();
    this.writeHash();
  }

  private closePanelQuiet(): void {
    const had = this.state.selected || this.state.edge || !this.panel.hidden;
    this.state.selected = "";
    this.state.edge = "";
    this.panelOpenedFor = "";
    hidePanel(this.panel);
    if (had) {
      this.store.setDecor({ selected: "", blast: null });
      void this.waitRender();
    }
  }

  // ---- keyboard ----

  private onKey(ev: KeyboardEvent): void {
    const t = ev.target as HTMLElement | null;
    const typing = !!t && (t.tagName === "INPUT" || t.tagName === "TEXTAREA" || t.tagName === "SELECT" || t.isContentEditable);
    if (ev.key === "Escape") {
      if (typing) t!.blur();
      if (!this.panel.hidden) this.closePanel();
      return;
    }
    if (typing || ev.ctrlKey || ev.metaKey || ev.altKey) return;
    if (this.state.page !== "graph") return;
    switch (ev.key) {
      case "/":
        ev.preventDefault();
        this.find.focus();
        this.find.select();
        break;
      case "+":
      case "=":
        ev.preventDefault();
        this.renderer.zoomIn();
        break;
      case "-":
      case "_":
        ev.preventDefault();
        this.renderer.zoomOut();
        break;
      case "0":
      case "f":
        ev.preventDefault();
        this.renderer.fit();
        break;
    }
  }

  // ---- status and export ----

  private updateStatus(): void {
    const s = this.state;
    const mode = s.diff ? "diff" : s.range === "live" ? this.streamStatus : s.replay ? "replay" : `range ${s.range}`;
    const dot = h("span", { class: `dot ${mode === "live" ? "live" : mode === "reconnecting" ? "bad" : "idle"}`, "aria-hidden": "true" });
    const parts = [mode];
    if (s.range === "live" && !s.diff && this.store.seq >= 0) parts.push(`seq ${this.store.seq}`);
    parts.push(`${this.store.graph.order} nodes`, `${this.store.graph.size} edges`);
    if (this.statusDetail) parts.push(this.statusDetail);
    this.status.replaceChildren(dot, " ", parts.join(" · "));
  }

  exportMeta(): Record<string, unknown> {
    const r = rangeSeconds(this.state);
    return {
      granularity: this.state.granularity,
      from: r ? rfc3339(r[0]) : undefined,
      to: r ? rfc3339(r[1]) : undefined,
      grouped_by_namespace: this.state.group || undefined,
    };
  }

  private async exportPNG(): Promise<void> {
    const blob = await this.renderer.toPNG();
    download("meshscope-graph.png", blob);
  }

  // ---- test hooks ----

  hooks(): TestHooks {
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const app = this;
    return {
      nodeCount: () => app.store.graph.order,
      edgeCount: () => app.store.graph.size,
      positions: () => app.store.positions(),
      lastSeq: () => app.store.seq,
      lastApplyMs: () => app.lastApply,
      lastApplySyncMs: () => app.lastApplySync,
      lastRenderMs: () => app.renderer.lastRenderMs,
      layoutMs: () => app.store.layout.lastWorkerMs,
      layeredMs: () => app.store.layout.lastLayeredMs,
      cameraRatio: () => app.renderer.sigma.getCamera().ratio,
      exportText: (kind) => (kind === "svg" ? toSVG(app.store.graph) : kind === "dot" ? toDOT(app.store.graph) : toJSON(app.store.graph, app.exportMeta())),
      exportPNG: () =>
        app.renderer.toPNG().then(
          (blob) =>
            new Promise<string>((resolve, reject) => {
              const r = new FileReader();
              r.onload = () => resolve(String(r.result));
              r.onerror = () => reject(r.error);
              r.readAsDataURL(blob);
            }),
        ),
      frameMs: () => app.renderer.nextRender().then(() => app.renderer.lastRenderMs),
      firstRenderMs: () => app.firstRender,
      get ready() {
        return app.snapshotSeen && app.store.layout.busy === 0 && !app.renderPending;
      },
      nodeScreenPosition: (id) => {
        const p = app.renderer.nodeViewport(id);
        if (!p) return null;
        const r = app.graphEl.getBoundingClientRect();
        return [r.left + p.x, r.top + p.y];
      },
      edgeScreenPoint: (id, t) => {
        const g = app.store.graph;
        if (!g.hasEdge(id)) return null;
        const a = app.renderer.nodeViewport(g.source(id));
        const b = app.renderer.nodeViewport(g.target(id));
        if (!a || !b) return null;
        const r = app.graphEl.getBoundingClientRect();
        return [r.left + a.x + t * (b.x - a.x), r.top + a.y + t * (b.y - a.y)];
      },
      edgeIds: () => app.store.graph.edges(),
      edgeHitMs: () => {
        const { width, height } = app.renderer.sigma.getDimensions();
        const t0 = performance.now();
        app.renderer.edgeAt(width / 2, height / 2);
        const t1 = performance.now();
        for (let i = 1; i < 50; i++) app.renderer.edgeAt(((i * 37) % 50) / 50 * width, ((i * 53) % 50) / 50 * height);
        return [t1 - t0, (performance.now() - t1) / 49];
      },
      edgesNear: (x, y, px) => {
        const g = app.store.graph;
        const r = app.graphEl.getBoundingClientRect();
        return g.filterEdges((_id, a, src, dst) => {
          const p = app.renderer.nodeViewport(src);
          const q = app.renderer.nodeViewport(dst);
          return !a["hidden"] && !!p && !!q && segmentDistance(x - r.left, y - r.top, p.x, p.y, q.x, q.y) <= px;
        }).length;
      },
      edgeAt: (x, y) => {
        const r = app.graphEl.getBoundingClientRect();
        return app.renderer.edgeAt(x - r.left, y - r.top) ?? "";
      },
      hoveredEdge: () => app.renderer.sigma.getGraph().findEdge((id) => app.renderer.sigma.getEdgeState(id).isHovered) ?? "",
      edgeColor: (id) => (app.store.graph.hasEdge(id) ? String(app.store.graph.getEdgeAttribute(id, "color")) : ""),
      visibleNodeCount: () => app.store.graph.filterNodes((_id, a) => !a["hidden"]).length,
      matchingNodeIds: () => [...(app.store.matchingNodes() ?? [])].sort(),
      nodeShape: (id) => (app.store.graph.hasNode(id) ? String(app.store.graph.getNodeAttribute(id, "shape")) : ""),
      ringsFrom: () => app.ringsFrom,
      nodeRing: (id) => {
        const d = app.renderer.sigma.getNodeDisplayData(id);
        return d && d.backdropVisibility === "visible" && (d.backdropBorderWidth ?? 0) > 0 ? (d.backdropBorderColor ?? "") : "";
      },
      dashedEdgeCount: () => app.store.graph.filterEdges((_id, a) => !!a["dash"]).length,
      animatedDots: () => app.animation.lastDots,
      refreshPage: () => app.refreshPage(),
      refreshAlerts: () => app.alerts.refresh(),
      edgeLabelsDrawn: () => !!app.renderer.sigma.getSetting("renderEdgeLabels"),
      edgeLabel: (id) => {
        if (!app.store.graph.hasEdge(id)) return "";
        const e = app.store.graph.getEdgeAttribute(id, "data") as GraphEdge;
        return edgeLabelText(e, app.state.edgeLabels, app.renderer.callerOut(e.source));
      },
      liveCharts: () => chartCount(),
    };
  }
}

function toLocalInput(iso: string): string {
  const t = Date.parse(iso);
  if (isNaN(t)) return "";
  const d = new Date(t);
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

function fromLocalInput(v: string): string {
  if (!v) return "";
  const t = new Date(v).getTime();
  return isNaN(t) ? "" : new Date(t).toISOString();
}

const root = document.getElementById("app");
if (root) {
  const app = new App(root);
  window.meshscope = app.hooks();
}
