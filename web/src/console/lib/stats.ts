/**
 * The statistics screen's pure parts: the filters turned into `GET /v1/stats`' query (dates are whole local days,
 * `until` exclusive), the default range, and the per-day charts' series shaped from the report (drawn by uPlot in
 * `screens/chart.tsx`; everything here is testable without a canvas).
 */
import type { MsgKey } from '../i18n';
import type { StatsReport } from '../types';

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

/** The good ratings' share as a whole percentage, `null` without ratings (a gap in the chart, not a zero). */
export function csatPercent(c: { good: number; neutral: number; bad: number }): number | null {
  const all = c.good + c.neutral + c.bad;
  return all === 0 ? null : Math.round((c.good / all) * 100);
}

/** How a chart's figures read: counts, durations in seconds, or percentages. */
export type ChartUnit = 'count' | 'seconds' | 'percent';

/** One series of a per-day chart: its name (a dictionary key), how it is drawn, a figure or a gap per day. */
export interface DaySeries {
  label: MsgKey;
  style: 'bars' | 'line';
  values: (number | null)[];
}

/** A per-day chart of the statistics screen: `testId` is `chart-<id>`. */
export interface DayChart {
  id: 'conversations' | 'messages' | 'first-response' | 'resolution' | 'csat';
  title: MsgKey;
  unit: ChartUnit;
  days: string[];
  series: DaySeries[];
}

/**
 * The per-day charts for a report: conversations and messages as bars; first response and resolution as median
 * and p90 lines (a day without a figure is a gap); CSAT as the share of good ratings (a day without ratings is a
 * gap). Conversations are those started and those closed that day.
 */
export function dayCharts(byDay: StatsReport['by_day']): DayChart[] {
  const days = byDay.map((d) => d.day);
  const q = (which: 'first_response_seconds' | 'resolution_seconds', at: 'median' | 'p90') => byDay.map((d) => d[which][at] ?? null);
  return [
    { id: 'conversations', title: 'stats.conversations', unit: 'count', days, series: [
      { label: 'stats.started', style: 'bars', values: byDay.map((d) => d.conversations) },
      { label: 'stats.closed', style: 'bars', values: byDay.map((d) => d.closed) },
    ] },
    { id: 'messages', title: 'stats.messages', unit: 'count', days, series: [{ label: 'stats.messages', style: 'bars', values: byDay.map((d) => d.messages) }] },
    {
      id: 'first-response',
      title: 'stats.firstResponse',
      unit: 'seconds',
      days,
      series: [
        { label: 'stats.median', style: 'line', values: q('first_response_seconds', 'median') },
        { label: 'stats.p90', style: 'line', values: q('first_response_seconds', 'p90') },
      ],
    },
    {
      id: 'resolution',
      title: 'stats.resolution',
      unit: 'seconds',
      days,
      series: [
        { label: 'stats.median', style: 'line', values: q('resolution_seconds', 'median') },
        { label: 'stats.p90', style: 'line', values: q('resolution_seconds', 'p90') },
      ],
    },
    { id: 'csat', title: 'stats.csat', unit: 'percent', days, series: [{ label: 'stats.goodShare', style: 'bars', values: byDay.map((d) => csatPercent(d.csat)) }] },
  ];
}

/**
 * uPlot's data for a chart: x is the day's index (the days are the tenant's, so no time axis that would read them
 * in the browser's zone), then one array per series.
 */
export function alignedData(c: DayChart): [number[], ...(number | null)[][]] {
  return [c.days.map((_, i) => i), ...c.series.map((s) => s.values)];
}

/** A chart figure as its axis and legend show it (`–` for a gap). */
export function chartValue(unit: ChartUnit, v: number | null | undefined): string {
  if (v == null) return '–';
  if (unit === 'seconds') return secs(v);
  if (unit === 'percent') return `${Math.round(v)}%`;
  return String(Math.round(v * 100) / 100);
}

/** The steps the y axis may tick at: whole counts, round durations, tens of percent. */
export function yIncrs(unit: ChartUnit): number[] {
  if (unit === 'seconds') return [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14400, 28800, 86400, 172800];
  if (unit === 'percent') return [10, 20, 25, 50];
  const out: number[] = [];
  for (let p = 1; p <= 1e9; p *= 10) out.push(p, 2 * p, 5 * p);
  return out;
}

/** The y range: from 0 to a little above the largest figure (percentages to 100); an empty chart still has a scale. */
export function yRange(unit: ChartUnit, max: number | null | undefined): [number, number] {
  if (unit === 'percent') return [0, 100];
  const m = max ?? 0;
  return [0, m > 0 ? m * 1.1 : unit === 'seconds' ? 60 : 1];
}
