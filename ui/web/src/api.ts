// Small client for the meshscope REST API: same origin, bearer token taken
// from the page URL's ?token= parameter when present.

import type { APIErrorBody } from "./types";

/** The token from the page URL (?token=), or "" when there is none. */
export function pageToken(): string {
  return new URLSearchParams(location.search).get("token") ?? "";
}

/** An error answered by the API, with the field it names when it names one. */
export class APIError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly field: string = "",
  ) {
    super(message);
    this.name = "APIError";
  }
}

function headers(extra: Record<string, string> = {}): Record<string, string> {
  const h: Record<string, string> = { Accept: "application/json", ...extra };
  const token = pageToken();
  if (token) h["Authorization"] = "Bearer " + token;
  return h;
}

/** Builds "/api/v1/PATH?k=v" leaving out empty parameters. */
export function apiURL(path: string, params: Record<string, string | number | string[] | undefined> = {}): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (Array.isArray(v)) {
      for (const x of v) if (x !== "") q.append(k, x); // a repeated parameter
      continue;
    }
    if (v === undefined || v === "") continue;
    q.set(k, String(v));
  }
  const qs = q.toString();
  return "/api/v1/" + path.replace(/^\//, "") + (qs ? "?" + qs : "");
}

async function decode<T>(res: Response): Promise<T> {
  const text = await res.text();
  let body: unknown = undefined;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    /* not JSON */
  }
  if (!res.ok) {
    const b = body as APIErrorBody | undefined;
    const msg = b && typeof b.error === "string" ? b.error : text || res.statusText || `HTTP ${res.status}`;
    throw new APIError(msg, res.status, b?.field ?? "");
  }
  return body as T;
}

/** GET a JSON document from another API meshscope answers (base: /tempo/api, /loki/api/v1). */
async function getOtherJSON<T>(base: string, path: string, params: Record<string, string>): Promise<T> {
  const q = new URLSearchParams(Object.entries(params).filter(([, v]) => v !== ""));
  const res = await fetch(`${base}/${path}?${q.toString()}`, { headers: headers() });
  return decode<T>(res);
}

/** GET from Tempo's API (/tempo/api/PATH), which meshscope answers. */
export const getTempoJSON = <T>(path: string, params: Record<string, string>) => getOtherJSON<T>("/tempo/api", path, params);

/** GET from Loki's API (/loki/api/v1/PATH), which meshscope answers. */
export const getLokiJSON = <T>(path: string, params: Record<string, string>) => getOtherJSON<T>("/loki/api/v1", path, params);

/** GET a JSON document from the API. */
export async function getJSON<T>(path: string, params: Record<string, string | number | string[] | undefined> = {}, signal?: AbortSignal): Promise<T> {
  const res = await fetch(apiURL(path, params), { headers: headers(), signal: signal ?? null });
  return decode<T>(res);
}

/** POST a JSON body and decode the JSON answer. */
export async function postJSON<T>(path: string, body: unknown, signal?: AbortSignal): Promise<T> {
  const res = await fetch(apiURL(path), {
    method: "POST",
    headers: headers({ "Content-Type": "application/json" }),
    body: JSON.stringify(body),
    signal: signal ?? null,
  });
  return decode<T>(res);
}

/** DELETE a resource; resolves when the API answers 2xx. */
export async function deleteJSON(path: string): Promise<void> {
  const res = await fetch(apiURL(path), { method: "DELETE", headers: headers() });
  await decode<unknown>(res);
}

/** The websocket URL of the live graph stream, with the first subscription. */
export function streamURL(granularity: string, namespaces: string[]): string {
  const proto = location.protocol === "https:" ? "wss:" : "ws:";
  const q = new URLSearchParams();
  q.set("granularity", granularity);
  if (namespaces.length) q.set("namespace", namespaces.join(","));
  const token = pageToken();
  if (token) q.set("token", token);
  return `${proto}//${location.host}/api/v1/graph/stream?${q.toString()}`;
}
