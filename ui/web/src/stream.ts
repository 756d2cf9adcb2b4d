// The live graph stream: a websocket to /api/v1/graph/stream that reconnects
// with exponential backoff and re-subscribes when the view changes.

import { streamURL } from "./api";
import type { Granularity, ServerMessage, SubscribeMessage } from "./types";

export type StreamStatus = "connecting" | "live" | "reconnecting" | "closed";

export interface StreamHandlers {
  message(m: ServerMessage, receivedAt: number): void;
  status(s: StreamStatus, detail: string): void;
}

const MIN_BACKOFF = 500;
const MAX_BACKOFF = 15000;

/** A reconnecting websocket client for the live graph. */
export class GraphStream {
  private ws: WebSocket | null = null;
  private backoff = MIN_BACKOFF;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private stopped = true;
  private granularity: Granularity = "service";
  private namespaces: string[] = [];

  constructor(private readonly handlers: StreamHandlers) {}

  /** Opens the stream (or re-subscribes when it is open). */
  start(granularity: Granularity, namespaces: string[]): void {
    this.granularity = granularity;
    this.namespaces = namespaces;
    if (!this.stopped && this.ws && this.ws.readyState === WebSocket.OPEN) {
      this.subscribe(granularity, namespaces);
      return;
    }
    this.stopped = false;
    if (!this.ws) this.connect();
  }

  /** Sends a subscribe message; the server answers with a fresh snapshot. */
  subscribe(granularity: Granularity, namespaces: string[]): void {
    this.granularity = granularity;
    this.namespaces = namespaces;
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) return;
    const msg: SubscribeMessage = { type: "subscribe", granularity, namespaces };
    this.ws.send(JSON.stringify(msg));
  }

  /** Asks for a fresh snapshot with the current subscription. */
  resync(): void {
    this.subscribe(this.granularity, this.namespaces);
  }

  /** Closes the stream and stops reconnecting. */
  stop(): void {
    this.stopped = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    const ws = this.ws;
    this.ws = null;
    if (ws) {
      ws.onclose = null;
      ws.onerror = null;
      ws.onmessage = null;
      ws.close();
    }
    this.handlers.status("closed", "");
  }

  get running(): boolean {
    return !this.stopped;
  }

  private connect(): void {
    this.handlers.status(this.backoff === MIN_BACKOFF ? "connecting" : "reconnecting", "");
    let ws: WebSocket;
    try {
      ws = new WebSocket(streamURL(this.granularity, this.namespaces));
    } catch (err) {
      this.retry(String(err));
      return;
    }
    this.ws = ws;
    ws.onopen = () => {
      this.backoff = MIN_BACKOFF;
      this.handlers.status("live", "");
    };
    ws.onmessage = (ev) => {
      const at = performance.now();
      let msg: ServerMessage;
      try {
        msg = JSON.parse(String(ev.data)) as ServerMessage;
      } catch {
        return;
      }
      this.handlers.message(msg, at);
    };
    ws.onerror = () => {
      /* onclose follows and schedules the retry */
    };
    ws.onclose = (ev) => {
      if (this.ws !== ws) return;
      this.ws = null;
      if (this.stopped) return;
      this.retry(ev.reason || `connection closed (${ev.code})`);
    };
  }

  private retry(reason: string): void {
    const delay = this.backoff * (0.8 + Math.random() * 0.4);
    this.backoff = Math.min(MAX_BACKOFF, this.backoff * 2);
    this.handlers.status("reconnecting", `${reason}; retrying in ${(delay / 1000).toFixed(1)} s`);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (!this.stopped) this.connect();
    }, delay);
  }
}
