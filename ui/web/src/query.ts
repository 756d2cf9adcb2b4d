// The find box language. A query is terms separated by spaces, all of which
// must hold (AND):
//
//   rps>10  error>1%  ns=shop  p99>200ms  protocol=grpc  name~cart  kind=database
//
// Operators: = != ~ (contains) !~ > >= < <=. A bare word means name~word.
// Numbers may carry units: % for error rates and mTLS share, ms or s for
// latencies, k for rates. Error rates and mTLS shares are percentages, so
// "error>1" and "error>1%" are the same.
//
// exception~Timeout holds for the services that showed an exception type
// containing Timeout for the first time in the last hour (the header's new
// exceptions); exception~ for those that showed any.
//
// Terms over the graph's shape, Kiali's node graph: near=cart holds for
// the nodes named (or with the id) cart and those that call them or that
// they call; callers=cart for cart and what calls it (all that depends on
// it, with a depth), callees=cart for cart and what it calls. depth=N
// (default 1) is how many hops they reach. They take = and ~ (contains)
// on the name, and their negations.

import type { GraphEdge, GraphNode } from "./types";

export type Op = "=" | "!=" | "~" | "!~" | ">" | ">=" | "<" | "<=";

export interface Term {
  field: Field;
  op: Op;
  text: string;
  num: number;
}

export type Field =
  | "rps"
  | "error"
  | "p50"
  | "p90"
  | "p95"
  | "p99"
  | "mtls"
  | "ns"
  | "name"
  | "id"
  | "kind"
  | "health"
  | "protocol"
  | "cluster"
  | "provenance"
  | "near"
  | "callers"
  | "callees"
  | "exception";

export interface Query {
  terms: Term[];
  errors: string[];
  /** How many hops near=, callers= and callees= reach (depth=N; default 1). */
  depth?: number;
}

/** Fields judged over the graph's shape, not a node's own numbers. */
const graphFields = new Set<Field>(["near", "callers", "callees"]);

/** The largest depth= taken. */
export const MAX_DEPTH = 20;

const aliases: Record<string, Field> = {
  rps: "rps",
  rate: "rps",
  error: "error",
  errors: "error",
  err: "error",
  p50: "p50",
  p90: "p90",
  p95: "p95",
  p99: "p99",
  latency: "p99",
  mtls: "mtls",
  ns: "ns",
  namespace: "ns",
  name: "name",
  id: "id",
  kind: "kind",
  health: "health",
  protocol: "protocol",
  proto: "protocol",
  cluster: "cluster",
  provenance: "provenance",
  source: "provenance",
  near: "near",
  callers: "callers",
  upstream: "callers",
  callees: "callees",
  downstream: "callees",
  exception: "exception",
  exc: "exception",
};

const numericFields = new Set<Field>(["rps", "error", "p50", "p90", "p95", "p99", "mtls"]);

const termRE = /^([a-z0-9_]+)(!=|!~|>=|<=|=|~|>|<)(.*)$/i;

/** Parses a numeric value with its unit for the given field. */
function parseNumber(field: Field, raw: string): number {
  let s = raw.trim().toLowerCase();
  let scale = 1;
  if (field === "error" || field === "mtls") {
    if (s.endsWith("%")) s = s.slice(0, -1);
    scale = 0.01;
  } else if (field.startsWith("p")) {
    if (s.endsWith("ms")) s = s.slice(0, -2);
    else if (s.endsWith("s")) {
      s = s.slice(0, -1);
      scale = 1000;
    } else if (s.endsWith("us") || s.endsWith("µs")) {
      s = s.slice(0, -2);
      scale = 0.001;
    }
  } else if (field === "rps") {
    if (s.endsWith("/s")) s = s.slice(0, -2);
    if (s.endsWith("k")) {
      s = s.slice(0, -1);
      scale = 1000;
    }
  }
  if (s === "" || !/^[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/.test(s)) return NaN;
  return Number(s) * scale;
}

/** Parses a find query. Unknown fields and bad numbers are reported in errors. */
export function parseQuery(input: string): Query {
  const terms: Term[] = [];
  const errors: string[] = [];
  let depth: number | undefined;
  for (const word of input.trim().split(/\s+/)) {
    if (!word) continue;
    const m = termRE.exec(word);
    if (!m) {
      terms.push({ field: "name", op: "~", text: word.toLowerCase(), num: NaN });
      continue;
    }
    const op = m[2] as Op;
    const value = m[3] ?? "";
    if (m[1]!.toLowerCase() === "depth") {
      const n = Number(value);
      if (op !== "=" || !Number.isInteger(n) || n < 1 || n > MAX_DEPTH) {
        errors.push(`depth takes = and a whole number of hops from 1 to ${MAX_DEPTH}`);
        continue;
      }
      depth = n;
      continue;
    }
    const field = aliases[m[1]!.toLowerCase()];
    if (!field) {
      errors.push(`unknown field "${m[1]}"`);
      continue;
    }
    if (numericFields.has(field)) {
      if (op === "~" || op === "!~") {
        errors.push(`"${op}" does not apply to ${field}`);
        continue;
      }
      const num = parseNumber(field, value);
      if (isNaN(num)) {
        errors.push(`"${value}" is not a number for ${field}`);
        continue;
      }
      terms.push({ field, op, text: value, num });
    } else {
      if (op !== "=" && op !== "!=" && op !== "~" && op !== "!~") {
        errors.push(`"${op}" does not apply to ${field}`);
        continue;
      }
      if (graphFields.has(field) && !value) {
        errors.push(`${field} needs a node's name or id`);
        continue;
      }
      terms.push({ field, op, text: value.toLowerCase(), num: NaN });
    }
  }
  return depth === undefined ? { terms, errors } : { terms, errors, depth };
}

/** What a term is compared against: numbers, or one or more strings. */
export interface Subject {
  num(field: Field): number;
  str(field: Field): string[];
}

function cmpNum(op: Op, a: number, b: number): boolean {
  switch (op) {
    case ">":
      return a > b;
    case ">=":
      return a >= b;
    case "<":
      return a < b;
    case "<=":
      return a <= b;
    case "=":
      return Math.abs(a - b) < 1e-9 * Math.max(1, Math.abs(b));
    case "!=":
      return Math.abs(a - b) >= 1e-9 * Math.max(1, Math.abs(b));
    default:
      return false;
  }
}

function cmpStr(op: Op, values: string[], want: string): boolean {
  switch (op) {
    case "=":
      return values.some((v) => v.toLowerCase() === want);
    case "!=":
      return values.every((v) => v.toLowerCase() !== want);
    case "~":
      return values.some((v) => v.toLowerCase().includes(want));
    case "!~":
      return values.every((v) => !v.toLowerCase().includes(want));
    default:
      return false;
  }
}

/**
 * Reports whether every term of q holds for s. An empty query matches all.
 * Terms over the graph's shape are not judged here (see shapeMatches).
 */
export function matches(q: Query, s: Subject): boolean {
  for (const t of q.terms) {
    if (graphFields.has(t.field)) continue;
    if (numericFields.has(t.field)) {
      if (!cmpNum(t.op, s.num(t.field), t.num)) return false;
    } else if (!cmpStr(t.op, s.str(t.field), t.text)) {
      return false;
    }
  }
  return true;
}

/** Whether the query needs the edges around a node to judge it. */
export function needsEdges(q: Query): boolean {
  return q.terms.some((t) => ["p50", "p90", "p95", "p99", "mtls", "protocol", "provenance"].includes(t.field));
}

/** Whether the query has terms over the graph's shape (near=, callers=, callees=). */
export function needsShape(q: Query): boolean {
  return q.terms.some((t) => graphFields.has(t.field));
}

/** The graph as the shape terms walk it. */
export interface Shape {
  forEachNode(f: (id: string, n: GraphNode) => void): void;
  /** The nodes calling id ("in") or called by it ("out"). */
  neighbours(id: string, dir: "in" | "out"): string[];
}

/**
 * The nodes for which every shape term of q holds (null: q has none): the
 * named nodes and those within q.depth hops of them, in the term's
 * direction; a negated term holds for the nodes outside that set.
 */
export function shapeMatches(q: Query, g: Shape): Set<string> | null {
  const terms = q.terms.filter((t) => graphFields.has(t.field));
  if (!terms.length) return null;
  const depth = q.depth ?? 1;
  let out: Set<string> | null = null;
  for (const t of terms) {
    const negated = t.op === "!=" || t.op === "!~";
    const op: Op = t.op === "!=" ? "=" : t.op === "!~" ? "~" : t.op;
    const reach = new Set<string>();
    let frontier: string[] = [];
    g.forEachNode((id, n) => {
      if (cmpStr(op, [n.name, n.workload, id], t.text)) {
        reach.add(id);
        frontier.push(id);
      }
    });
    const dirs: ("in" | "out")[] = t.field === "callers" ? ["in"] : t.field === "callees" ? ["out"] : ["in", "out"];
    for (let hop = 0; hop < depth && frontier.length; hop++) {
      const next: string[] = [];
      for (const id of frontier) {
        for (const dir of dirs) {
          for (const o of g.neighbours(id, dir)) {
            if (!reach.has(o)) {
              reach.add(o);
              next.push(o);
            }
          }
        }
      }
      frontier = next;
    }
    const holds = new Set<string>();
    g.forEachNode((id) => {
      if (reach.has(id) !== negated && (!out || out.has(id))) holds.add(id);
    });
    out = holds;
  }
  return out;
}

/** Aggregates of the edges around a node, for edge fields asked of nodes. */
export interface NodeEdgeSummary {
  p50: number;
  p90: number;
  p95: number;
  p99: number;
  mtls: number;
  protocols: string[];
  provenance: string[];
}

/** Summarises the edges into a node (or out of it when none come in). */
export function summarise(incoming: GraphEdge[], outgoing: GraphEdge[]): NodeEdgeSummary {
  const edges = incoming.length ? incoming : outgoing;
  const s: NodeEdgeSummary = { p50: 0, p90: 0, p95: 0, p99: 0, mtls: 0, protocols: [], provenance: [] };
  let weight = 0;
  const protos = new Set<string>();
  const prov = new Set<string>();
  for (const e of edges) {
    s.p50 = Math.max(s.p50, e.p50_ms || 0);
    s.p90 = Math.max(s.p90, e.p90_ms || 0);
    s.p95 = Math.max(s.p95, e.p95_ms || 0);
    s.p99 = Math.max(s.p99, e.p99_ms || 0);
    const w = e.requests || 1;
    s.mtls += (e.mtls_share || 0) * w;
    weight += w;
  }
  for (const e of [...incoming, ...outgoing]) {
    for (const p of edgeProtocols(e)) protos.add(p);
    for (const p of e.provenance ?? []) prov.add(p);
  }
  s.mtls = weight ? s.mtls / weight : 0;
  s.protocols = [...protos];
  s.provenance = [...prov];
  return s;
}

/**
 * A Subject for a node; summary is needed only when needsEdges(q),
 * newExceptions are the exception types it showed for the first time lately.
 */
export function nodeSubject(n: GraphNode, summary?: NodeEdgeSummary, newExceptions: string[] = []): Subject {
  return {
    num(f) {
      switch (f) {
        case "rps":
          return n.rps_in || n.rps_out || 0;
        case "error":
          return n.error_rate_in || 0;
        case "p50":
        case "p90":
        case "p95":
        case "p99":
        case "mtls":
          return summary ? summary[f] : 0;
        default:
          return NaN;
      }
    },
    str(f) {
      switch (f) {
        case "ns":
          return [n.namespace];
        case "name":
          return [n.name, n.workload, n.id];
        case "id":
          return [n.id];
        case "kind":
          return [n.kind];
        case "health":
          return [n.health];
        case "cluster":
          return [n.cluster];
        case "protocol":
          return summary ? summary.protocols : [];
        case "provenance":
          return summary ? summary.provenance : [];
        case "exception":
          return newExceptions;
        default:
          return [];
      }
    },
  };
}

/** A Subject for an edge; name and namespace match either end. */
export function edgeSubject(e: GraphEdge, src?: GraphNode, dst?: GraphNode): Subject {
  return {
    num(f) {
      switch (f) {
        case "rps":
          return e.rps || 0;
        case "error":
          return e.error_rate || 0;
        case "p50":
          return e.p50_ms || 0;
        case "p90":
          return e.p90_ms || 0;
        case "p95":
          return e.p95_ms || 0;
        case "p99":
          return e.p99_ms || 0;
        case "mtls":
          return e.mtls_share || 0;
        default:
          return NaN;
      }
    },
    str(f) {
      switch (f) {
        case "ns":
          return [src?.namespace ?? "", dst?.namespace ?? ""];
        case "name":
          return [src?.name ?? "", dst?.name ?? "", e.id];
        case "id":
          return [e.id];
        case "protocol":
          return edgeProtocols(e);
        case "provenance":
          return e.provenance ?? [];
        case "kind":
          return [src?.kind ?? "", dst?.kind ?? ""];
        case "health":
          return [src?.health ?? "", dst?.health ?? ""];
        case "cluster":
          return [src?.cluster ?? "", dst?.cluster ?? ""];
        default:
          return [];
      }
    },
  };
}

/** The protocols an edge was seen with: all of them when the server lists them. */
export function edgeProtocols(e: GraphEdge): string[] {
  if (e.protocols && e.protocols.length) return e.protocols;
  return e.protocol ? [e.protocol] : [];
}
