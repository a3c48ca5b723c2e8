// Reconnect delays: exponential backoff with jitter, so that many clients cut off together (a deploy, a network
// blip) do not all come back in the same instant.

/** How the delays grow. */
export interface BackoffOptions {
  /** The first delay in milliseconds (default 500). */
  baseMs?: number;
  /** The longest delay in milliseconds (default 30 000). */
  maxMs?: number;
  /** The share of the delay that is random, 0..1 (default 0.5: a delay lands in [d/2, d]). */
  jitter?: number;
}

/**
 * The delay before reconnect attempt `attempt` (0 for the first retry): `min(max, base * 2^attempt)`, less a
 * random part of up to `jitter` of it. `random` returns a number in [0, 1) (Math.random by default).
 */
export function backoffDelay(attempt: number, options: BackoffOptions = {}, random: () => number = Math.random): number {
  const base = options.baseMs ?? 500;
  const max = options.maxMs ?? 30_000;
  const jitter = Math.min(1, Math.max(0, options.jitter ?? 0.5));
  const n = Math.max(0, Math.floor(attempt));
  // 2^n overflows to Infinity for large n; min() brings it back to max.
  const ceiling = Math.min(max, base * 2 ** n);
  return Math.round(ceiling * (1 - jitter * random()));
}
