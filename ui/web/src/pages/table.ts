// Table view of the graph's nodes and edges: an accessible alternative to the
// picture, sortable and filtered by the find query.

import { download, fmtBytes, fmtCount, fmtMs, fmtPct, fmtRate, h } from "../dom";
import { matches, nodeSubject, parseQuery } from "../query";
import { edgeMatches, type GraphStore } from "../store";
import type { GraphEdge, GraphNode } from "../types";
import { keepFocus, sortableTable, toCSV, type Column, type SortState } from "./common";

/** What the table page keeps while it is drawn again: each table's order. */
export interface TableView {
  nodes: SortState;
  edges: SortState;
}

/** A table page view with neither table sorted. */
export function newTableView(): TableView {
  return { nodes: { key: "", desc: true }, edges: { key: "", desc: true } };
}

/**
 * Renders node and edge tables from the store. Drawn again as the graph
 * changes, the tables keep their order (view) and the keyboard focus stays
 * on the same sort button or row.
 */
export function renderTable(root: HTMLElement, store: GraphStore, query: string, view: TableView, select: (kind: "node" | "edge", id: string) => void): void {
  const refocus = keepFocus(root);
  const q = parseQuery(query);
  const g = store.graph;
  const nodes: GraphNode[] = [];
  const edges: GraphEdge[] = [];
  const shaped = store.shapeMatches(q);
  g.forEachNode((id, a) => {
    const n = a["data"] as GraphNode;
    if (!q.terms.length || ((!shaped || shaped.has(id)) && matches(q, nodeSubject(n, undefined, store.newExceptionsOf(n))))) nodes.push(n);
  });
  g.forEachEdge((_id, a) => {
    const e = a["data"] as GraphEdge;
    if (!q.terms.length || edgeMatches(q, e, (id) => store.node(id), shaped)) edges.push(e);
  });
  const label = (id: string) => (g.hasNode(id) ? String(g.getNodeAttribute(id, "label")) : id);
  const nodeColumns: Column<GraphNode>[] = [
    { key: "name", label: "Name", value: (n) => n.name || n.id },
    { key: "kind", label: "Kind", value: (n) => n.kind },
    { key: "ns", label: "Namespace", value: (n) => n.namespace },
    { key: "health", label: "Health", value: (n) => n.health },
    { key: "rps_in", label: "rps in", value: (n) => n.rps_in, render: (n) => fmtRate(n.rps_in), numeric: true },
    { key: "err", label: "errors in", value: (n) => n.error_rate_in, render: (n) => fmtPct(n.error_rate_in), numeric: true },
    { key: "rps_out", label: "rps out", value: (n) => n.rps_out, render: (n) => fmtRate(n.rps_out), numeric: true },
    { key: "req", label: "requests in", value: (n) => n.requests_in, render: (n) => fmtCount(n.requests_in), numeric: true },
  ];
  const edgeColumns: Column<GraphEdge>[] = [
    { key: "src", label: "Source", value: (e) => label(e.source) },
    { key: "dst", label: "Destination", value: (e) => label(e.target) },
    { key: "proto", label: "Protocol", value: (e) => e.protocol },
    { key: "rps", label: "rps", value: (e) => e.rps, render: (e) => fmtRate(e.rps), numeric: true },
    { key: "err", label: "error rate", value: (e) => e.error_rate, render: (e) => fmtPct(e.error_rate), numeric: true },
    { key: "p50", label: "p50", value: (e) => e.p50_ms, render: (e) => fmtMs(e.p50_ms), numeric: true },
    { key: "p99", label: "p99", value: (e) => e.p99_ms, render: (e) => fmtMs(e.p99_ms), numeric: true },
    { key: "bytes", label: "bytes/s", value: (e) => (e.bytes_sent_per_second ?? 0) + (e.bytes_received_per_second ?? 0), render: (e) => `${fmtBytes((e.bytes_sent_per_second ?? 0) + (e.bytes_received_per_second ?? 0))}/s`, numeric: true },
    { key: "mtls", label: "mTLS", value: (e) => e.mtls_share, render: (e) => fmtPct(e.mtls_share), numeric: true },
    { key: "prov", label: "Provenance", value: (e) => (e.provenance ?? []).join(", ") },
  ];
  const csv = <T,>(name: string, columns: Column<T>[], rows: T[]) =>
    h("button", { type: "button", class: "csv", onclick: () => download(name, toCSV(columns, rows), "text/csv") }, "Download CSV");
  root.replaceChildren(
    h("h1", {}, "Nodes and edges"),
    h("p", { class: "muted" }, query ? `Filtered by “${query}”. ` : "", `${nodes.length} nodes, ${edges.length} edges. Select a row to show it on the graph.`),
    h("h2", {}, "Nodes ", csv("nodes.csv", nodeColumns, nodes)),
    h(
      "div",
      { class: "scroll" },
      sortableTable(
        "Nodes",
        nodeColumns,
        nodes,
        { onRow: (n) => select("node", n.id), id: "nodes-table", sort: view.nodes, rowKey: (n) => n.id },
      ),
    ),
    h("h2", {}, "Edges ", csv("edges.csv", edgeColumns, edges)),
    h(
      "div",
      { class: "scroll" },
      sortableTable(
        "Edges",
        edgeColumns,
        edges,
        { onRow: (e) => select("edge", e.id), id: "edges-table", sort: view.edges, rowKey: (e) => e.id },
      ),
    ),
  );
  refocus?.();
}
