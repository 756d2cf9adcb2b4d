// Shapes of the meshscope HTTP and websocket API (docs/api.md, docs/websocket.md).

export type Granularity = "service" | "workload" | "version";
export type Health = "healthy" | "degraded" | "failing" | "idle";
export type NodeKind = "service" | "workload" | "version" | "external" | "database" | "messaging" | "client";
export type DiffState = "added" | "removed" | "changed" | "same";

export interface GraphNode {
  id: string;
  kind: NodeKind | string;
  namespace: string;
  name: string;
  workload: string;
  version: string;
  cluster: string;
  health: Health | string;
  requests_in: number;
  errors_in: number;
  rps_in: number;
  error_rate_in: number;
  requests_out: number;
  errors_out: number;
  rps_out: number;
  diff?: DiffState;
}

export interface GraphEdge {
  id: string;
  source: string;
  target: string;
  protocol: string;
  /** Every protocol the inputs saw on the edge (a database's: db and tcp). */
  protocols?: string[];
  requests: number;
  errors: number;
  rps: number;
  error_rate: number;
  p50_ms: number;
  p90_ms: number;
  p95_ms: number;
  p99_ms: number;
  mean_ms: number;
  bytes_sent: number;
  bytes_received: number;
  bytes_sent_per_second?: number;
  bytes_received_per_second?: number;
  mtls_share: number;
  provenance: string[];
  diff?: DiffState;
  base?: Partial<GraphEdge>;
}

export interface MeshGraph {
  granularity?: Granularity;
  from?: string;
  to?: string;
  window_seconds?: number;
  nodes: GraphNode[];
  edges: GraphEdge[];
}

export interface SnapshotMessage {
  type: "snapshot";
  seq: number;
  graph: MeshGraph;
}

export interface DeltaMessage {
  type: "delta";
  seq: number;
  base_seq: number;
  time?: string;
  nodes_added?: GraphNode[] | null;
  nodes_updated?: GraphNode[] | null;
  nodes_removed?: string[] | null;
  edges_added?: GraphEdge[] | null;
  edges_updated?: GraphEdge[] | null;
  edges_removed?: string[] | null;
}

export interface HeartbeatMessage {
  type: "heartbeat";
  seq: number;
  time?: string;
}

export interface ErrorMessage {
  type: "error";
  error: string;
  field?: string;
}

export type ServerMessage = SnapshotMessage | DeltaMessage | HeartbeatMessage | ErrorMessage;

export interface SubscribeMessage {
  type: "subscribe";
  granularity: Granularity;
  namespaces: string[];
}

export interface Series {
  time: number[];
  rps?: number[];
  error_rate?: number[];
  p50_ms?: number[];
  p90_ms?: number[];
  p95_ms?: number[];
  p99_ms?: number[];
  /** With versions=true: the series of each version, busiest first. */
  versions?: VersionSeries[];
}

/** One version's part of a service's series (versions=true). */
export interface VersionSeries extends Series {
  version: string;
  /** Unix seconds of the first step with calls to the version in the range. */
  first_seen: number;
  /** No calls in the 24 hours before the range: first_seen is its deploy. */
  new: boolean;
  total_requests: number;
  total_errors: number;
}

export interface ServiceDetail {
  node: GraphNode;
  series: Series;
  callers: GraphEdge[] | null;
  callees: GraphEdge[] | null;
  /** Which calls the series counts: those the service took, or, when it took none, those it made. */
  direction?: "inbound" | "outbound";
}

export interface EdgeDetail {
  edge: GraphEdge;
  series: Series;
  errors_by_code: Record<string, number> | null;
  top_paths?: EdgePath[] | null;
}

/** One HTTP method and path of an edge's requests (from the access logs). */
export interface EdgePath {
  method: string;
  path: string;
  requests: number;
  failed: number;
  error_rate: number;
  p50_ms: number;
  p99_ms: number;
}

export interface SQLColumn {
  name: string;
  type: string;
}

export interface SQLResult {
  columns: SQLColumn[];
  rows: unknown[][];
  rows_read?: number;
  elapsed_ms?: number;
}

export interface Span {
  trace_id: string;
  span_id: string;
  parent_span_id: string;
  name: string;
  kind: string | number;
  service: string;
  start_unix_nano: number | string;
  duration_ns: number | string;
  status_code: string | number;
  status_message: string;
  attributes?: Record<string, unknown>;
  resource?: Record<string, unknown>;
  namespace?: string;
  events?: { time_unix_nano: number | string; name: string; attributes?: unknown }[];
}

export interface TraceDetail {
  trace_id: string;
  spans: Span[];
}

export interface TraceSummary {
  trace_id: string;
  root_service: string;
  root_name: string;
  start_unix_nano: number | string;
  duration_ns: number | string;
  spans: number;
  errors: number;
}

export interface APIErrorBody {
  error: string;
  field?: string;
}
