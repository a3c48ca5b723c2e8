// The tiny HTTP client every screen uses: JSON in and out, and API.md's error envelope turned into an ApiError
// the UI can show (`message`) or act on (`code`, `field`, `retryAfter`).

/** API.md's error body: `{"error": {"code", "message", "field"?}}`. */
export interface ErrorBody {
  code: string;
  message: string;
  field?: string | null;
}

/** A failed request: an HTTP error answered by the server, or `network_error` when no answer came. */
export class ApiError extends Error {
  /** HTTP status, or 0 when the request never got an answer. */
  readonly status: number;
  /** API.md's snake_case error code (`validation_failed`, `rate_limited`…), or `network_error`. */
  readonly code: string;
  /** The request field the error is about, when the server names one. */
  readonly field: string | undefined;
  /** Seconds to wait before retrying (from `Retry-After`), for 429 and 503. */
  readonly retryAfter: number | undefined;

  constructor(status: number, body: ErrorBody, retryAfter?: number) {
    super(body.message);
    this.name = 'ApiError';
    this.status = status;
    this.code = body.code;
    this.field = body.field ?? undefined;
    this.retryAfter = retryAfter;
  }
}

/** What a request may carry besides its method and path. */
export interface RequestOptions {
  /** Serialized as JSON (with `Content-Type: application/json`). */
  body?: unknown;
  /** Query parameters; `undefined` values are left out. */
  query?: Record<string, string | number | boolean | undefined>;
  /** Extra headers for this request (e.g. `Idempotency-Key`). */
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

/** How a client is set up: where the API is and which headers every request carries (auth). */
export interface ClientOptions {
  /** The API's origin, e.g. `https://kefu.example` (no trailing slash needed). */
  base: string;
  /** Called for every request, so a token set later is picked up. */
  headers?: () => Record<string, string>;
  /** For tests. */
  fetch?: typeof fetch;
}

/** A JSON client bound to one API base. */
export interface Client {
  request<T>(method: string, path: string, options?: RequestOptions): Promise<T>;
  get<T>(path: string, options?: RequestOptions): Promise<T>;
  post<T>(path: string, body?: unknown, options?: RequestOptions): Promise<T>;
  put<T>(path: string, body?: unknown, options?: RequestOptions): Promise<T>;
  patch<T>(path: string, body?: unknown, options?: RequestOptions): Promise<T>;
  del<T>(path: string, options?: RequestOptions): Promise<T>;
}

/** Builds `base + path + ?query`, leaving out undefined query values. */
export function buildUrl(base: string, path: string, query?: RequestOptions['query']): string {
  const url = base.replace(/\/+$/, '') + path;
  if (!query) return url;
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined) params.set(k, String(v));
  const qs = params.toString();
  return qs ? `${url}?${qs}` : url;
}

function isErrorEnvelope(v: unknown): v is { error: ErrorBody } {
  if (typeof v !== 'object' || v === null || !('error' in v)) return false;
  const e = v.error;
  return typeof e === 'object' && e !== null && typeof (e as ErrorBody).code === 'string';
}

/** Turns a non-2xx response into an ApiError (the envelope when there is one, else a generic one). */
export async function toApiError(res: Response): Promise<ApiError> {
  const retry = res.headers.get('retry-after');
  const retryAfter = retry != null && /^\d+$/.test(retry) ? Number(retry) : undefined;
  let body: unknown = undefined;
  try {
    body = await res.json();
  } catch {
    // not JSON: fall through to the generic error
  }
  if (isErrorEnvelope(body)) return new ApiError(res.status, body.error, retryAfter);
  return new ApiError(res.status, { code: `http_${res.status}`, message: res.statusText || `HTTP ${res.status}` }, retryAfter);
}

/** Creates a client. 204 answers resolve to `undefined`. */
export function createClient(options: ClientOptions): Client {
  const doFetch = options.fetch ?? ((input: RequestInfo | URL, init?: RequestInit) => fetch(input, init));
  async function request<T>(method: string, path: string, o: RequestOptions = {}): Promise<T> {
    const headers: Record<string, string> = { Accept: 'application/json', ...options.headers?.(), ...o.headers };
    let body: string | undefined;
    if (o.body !== undefined) {
      headers['Content-Type'] = 'application/json';
      body = JSON.stringify(o.body);
    }
    let res: Response;
    try {
      res = await doFetch(buildUrl(options.base, path, o.query), { method, headers, body, signal: o.signal });
    } catch (e) {
      if (e instanceof DOMException && e.name === 'AbortError') throw e;
      throw new ApiError(0, { code: 'network_error', message: e instanceof Error ? e.message : String(e) });
    }
    if (!res.ok) throw await toApiError(res);
    if (res.status === 204) return undefined as T;
    const text = await res.text();
    return (text ? JSON.parse(text) : undefined) as T;
  }
  return {
    request,
    get: (path, o) => request('GET', path, o),
    post: (path, body, o) => request('POST', path, { ...o, body }),
    put: (path, body, o) => request('PUT', path, { ...o, body }),
    patch: (path, body, o) => request('PATCH', path, { ...o, body }),
    del: (path, o) => request('DELETE', path, o),
  };
}

/** A fresh random key for `Idempotency-Key`, so a retried send stores one message. */
export function idempotencyKey(): string {
  if (typeof crypto !== 'undefined' && 'randomUUID' in crypto) return crypto.randomUUID();
  return `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
}
