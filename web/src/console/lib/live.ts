/** The live board's figures as a person reads them (`GET /v1/live`). */

/** A wait or idle time in seconds as `45 s`, `12 min`, `3 h 05 min`; `–` when there is none. */
export function duration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined) return '–';
  if (seconds < 60) return `${seconds} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min`;
  const h = Math.floor(minutes / 60);
  return `${h} h ${String(minutes % 60).padStart(2, '0')} min`;
}

/** An agent's load as `active / max` and whether it is full. */
export function load(active: number, max: number): { text: string; full: boolean } {
  return { text: `${active} / ${max}`, full: max > 0 && active >= max };
}

/** Everyone waiting, whatever the priority. */
export function queuedTotal(q: { high: number; normal: number; low: number }): number {
  return q.high + q.normal + q.low;
}
