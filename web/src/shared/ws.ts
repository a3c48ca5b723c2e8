// The live connection: asks for a one-time ticket (`POST /v1/realtime/ticket`), opens the WebSocket, hands each
// frame to the caller, and when the socket drops reconnects with backoff. After every (re)connect it calls
// `onOpen`, where the caller catches up on what it missed (e.g. `GET /v1/widget/messages?after=<last id>`).
// While open it sends `{"action":"ping"}` every few minutes and when the tab becomes visible again: the server
// (like API Gateway) closes a socket after 10 minutes without a client message, and a ping also makes it check
// the session again (a session that ended has its socket closed, and the next ticket request answers 401).

import { backoffDelay, type BackoffOptions } from './backoff';
import { ApiError } from './http';

/** A server frame (API.md, Real time). */
export interface Frame {
  type: string;
  conversation_id?: string;
  message?: unknown;
  data?: unknown;
}

/** A ticket as `POST /v1/realtime/ticket` answers it. */
export interface Ticket {
  ticket: string;
  url: string;
}

/** Where the connection stands, for a status line in the UI. */
export type LiveState = 'connecting' | 'open' | 'waiting' | 'stopped';

/** How the connection is made and what it reports. */
export interface LiveOptions {
  /** Gets a fresh ticket (called before every attempt: a ticket works once). */
  ticket: () => Promise<Ticket>;
  /** Every frame the server sends. */
  onFrame: (frame: Frame) => void;
  /** After each successful (re)connect: catch up here. `reconnected` is false the first time. */
  onOpen?: (reconnected: boolean) => void;
  onState?: (state: LiveState) => void;
  /**
   * A ticket request failed this way: return true to stop for good (e.g. 401: the token is no longer valid).
   * By default a 401 or 403 stops, anything else is retried.
   */
  isFatal?: (error: unknown) => boolean;
  backoff?: BackoffOptions;
  /** For tests. */
  WebSocket?: typeof WebSocket;
  /** For tests: schedules a retry (setTimeout by default). */
  schedule?: (fn: () => void, ms: number) => () => void;
  /** How often an open socket sends `{"action":"ping"}`, in ms ({@link PING_EVERY_MS} by default; 0: never). */
  pingEveryMs?: number;
  /** Where tab visibility is watched (`document` by default, when there is one). */
  visibility?: Pick<Document, 'visibilityState' | 'addEventListener' | 'removeEventListener'>;
}

/** Every 5 minutes: half the 10 minutes after which the server closes a socket that has heard nothing. */
export const PING_EVERY_MS = 5 * 60_000;

/** The frame a client sends to keep its socket alive and have its session checked again. */
export const PING = '{"action":"ping"}';

/** A running live connection. */
export interface Live {
  /** Closes the socket and stops reconnecting. */
  stop(): void;
  /** Skips the current wait and reconnects now (e.g. when the browser says it is back online). */
  retryNow(): void;
  readonly state: LiveState;
}

function defaultFatal(e: unknown): boolean {
  return e instanceof ApiError && (e.status === 401 || e.status === 403);
}

/** The URL to open for a ticket: `{url}?ticket=...` (keeping any query the url already has). */
export function ticketUrl(t: Ticket): string {
  const sep = t.url.includes('?') ? '&' : '?';
  return `${t.url}${sep}ticket=${encodeURIComponent(t.ticket)}`;
}

/** Parses a frame; anything that is not a JSON object with a string `type` is dropped (undefined). */
export function parseFrame(data: unknown): Frame | undefined {
  if (typeof data !== 'string') return undefined;
  try {
    const v: unknown = JSON.parse(data);
    if (typeof v === 'object' && v !== null && typeof (v as Frame).type === 'string') return v as Frame;
  } catch {
    // not JSON
  }
  return undefined;
}

/** Starts the live connection. */
export function connectLive(options: LiveOptions): Live {
  const WS = options.WebSocket ?? WebSocket;
  const schedule =
    options.schedule ??
    ((fn: () => void, ms: number) => {
      const t = setTimeout(fn, ms);
      return () => clearTimeout(t);
    });
  const isFatal = options.isFatal ?? defaultFatal;
  const pingEvery = options.pingEveryMs ?? PING_EVERY_MS;
  const visibility = options.visibility ?? (typeof document === 'undefined' ? undefined : document);
  let state: LiveState = 'connecting';
  let socket: WebSocket | undefined;
  let pinger: ReturnType<typeof setInterval> | undefined;
  let cancelWait: (() => void) | undefined;
  let attempt = 0;
  let everOpened = false;
  let stopped = false;
  // Each connect() gets a generation; events from an older socket are ignored.
  let generation = 0;

  const setState = (s: LiveState) => {
    state = s;
    options.onState?.(s);
  };

  const ping = () => {
    if (state !== 'open' || !socket) return;
    try {
      socket.send(PING);
    } catch {
      // The socket is closing: its close event reconnects.
    }
  };
  const stopPinging = () => {
    if (pinger !== undefined) clearInterval(pinger);
    pinger = undefined;
  };
  // Back in view: ping (a sleeping tab's timers may have been held back) or, when not connected, try now.
  const onVisibility = () => {
    if (visibility?.visibilityState !== 'visible') return;
    if (state === 'open') ping();
    else api.retryNow();
  };

  const retryLater = () => {
    if (stopped) return;
    setState('waiting');
    const ms = backoffDelay(attempt, options.backoff);
    attempt += 1;
    cancelWait = schedule(() => {
      cancelWait = undefined;
      void connect();
    }, ms);
  };

  async function connect(): Promise<void> {
    if (stopped) return;
    const gen = ++generation;
    setState('connecting');
    let t: Ticket;
    try {
      t = await options.ticket();
    } catch (e) {
      if (stopped || gen !== generation) return;
      if (isFatal(e)) {
        stopped = true;
        visibility?.removeEventListener('visibilitychange', onVisibility);
        setState('stopped');
        return;
      }
      retryLater();
      return;
    }
    if (stopped || gen !== generation) return;
    let ws: WebSocket;
    try {
      ws = new WS(ticketUrl(t));
    } catch {
      retryLater();
      return;
    }
    socket = ws;
    ws.onopen = () => {
      if (gen !== generation) return;
      attempt = 0;
      setState('open');
      const reconnected = everOpened;
      everOpened = true;
      stopPinging();
      if (pingEvery > 0) pinger = setInterval(ping, pingEvery);
      options.onOpen?.(reconnected);
    };
    ws.onmessage = (ev: MessageEvent) => {
      if (gen !== generation) return;
      const frame = parseFrame(ev.data);
      // The answer to a ping says nothing to the caller.
      if (frame && frame.type !== 'pong') options.onFrame(frame);
    };
    ws.onclose = () => {
      if (gen !== generation) return;
      socket = undefined;
      stopPinging();
      retryLater();
    };
  }

  const api: Live = {
    stop() {
      stopped = true;
      generation += 1;
      stopPinging();
      visibility?.removeEventListener('visibilitychange', onVisibility);
      cancelWait?.();
      cancelWait = undefined;
      socket?.close();
      socket = undefined;
      setState('stopped');
    },
    retryNow() {
      if (stopped || state === 'open' || state === 'connecting') return;
      cancelWait?.();
      cancelWait = undefined;
      void connect();
    },
    get state() {
      return state;
    },
  };
  visibility?.addEventListener('visibilitychange', onVisibility);
  void connect();
  return api;
}
