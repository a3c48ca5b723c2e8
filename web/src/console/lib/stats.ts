/**
 * The statistics screen's pure parts: the filters turned into `GET /v1/stats`' query (dates are whole local days,
 * `until` exclusive), the default range, and the geometry of the per-day bar charts (inline SVG, no library).
 */

/** What the statistics screen filters by. */
export interface StatsFilters {
  /** First day, `YYYY-MM-DD` (inclusive). */
  from: string;
  /** Last day, `YYYY-MM-DD` (inclusive). */
  to: string;
  agentId: string;
  groupId: string;
  businessHours: boolean;
}

/** `YYYY-MM-DD` of a local date. */
export function dayOf(d: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}`;
}

/** The last seven days up to today. */
export function defaultFilters(now: Date = new Date()): StatsFilters {
  const from = new Date(now.getFullYear(), now.getMonth(), now.getDate() - 6);
  return { from: dayOf(from), to: dayOf(now), agentId: '', groupId: '', businessHours: false };
}

/** Local midnight of a `YYYY-MM-DD` day, `plus` days later, as RFC 3339 (UTC). */
export function midnight(day: string, plus = 0): string | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(day);
  if (!m) return undefined;
  return new Date(Number(m[1]), Number(m[2]) - 1, Number(m[3]) + plus).toISOString();
}

/** Whether the range is usable (both days given, `from` not after `to`). */
export function rangeOk(f: StatsFilters): boolean {
  const a = midnight(f.from);
  const b = midnight(f.to);
  return a !== undefined && b !== undefined && a <= b;
}

/** `GET /v1/stats`' query for the filters; `csv` asks for the CSV form. */
export function statsQuery(f: StatsFilters, csv = false): Record<string, string> {
  const q: Record<string, string> = {};
  const since = midnight(f.from);
  const until = midnight(f.to, 1);
  if (since) q.since = since;
  if (until) q.until = until;
  if (f.agentId) q.agent_id = f.agentId;
  if (f.groupId) q.group_id = f.groupId;
  if (f.businessHours) q.business_hours = 'true';
  if (csv) q.format = 'csv';
  return q;
}

/** A seconds figure for people: `–` when absent. */
export function secs(v: number | null | undefined): string {
  if (v == null) return '–';
  const s = Math.round(v);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
  return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')} min`;
}

/** A CSAT share: the good ratings over all, as a whole percentage (`–` without ratings). */
export function csatShare(c: { good: number; neutral: number; bad: number }): string {
  const all = c.good + c.neutral + c.bad;
  return all === 0 ? '–' : `${Math.round((c.good / all) * 100)}%`;
}

/** One bar of a chart. */
export interface Bar {
  x: number;
  y: number;
  width: number;
  height: number;
  value: number;
}

/** Bars for `values` in a `width` × `height` box (0 at the bottom; the tallest fills the box). */
export function bars(values: (number | null | undefined)[], width: number, height: number, gap = 2): Bar[] {
  const n = values.length;
  if (n === 0) return [];
  const max = Math.max(0, ...values.map((v) => v ?? 0));
  const step = width / n;
  const w = Math.max(1, step - gap);
  return values.map((raw, i) => {
    const value = raw ?? 0;
    const h = max > 0 ? (value / max) * height : 0;
    return { x: i * step + (step - w) / 2, y: height - h, width: w, height: h, value };
  });
}
