/**
 * A schedule as an admin types it and as the API stores it. Hours are written `09:00-12:00, 13:00-18:00`
 * (empty: closed); holidays one date per line; overrides one per line, `2026-10-01 10:00-16:00` (a date
 * alone: closed that day). Parsing checks only the shape; the server validates times and zones.
 */
import type { Hours } from '../types';

/** The week's days as the API names them, Monday first. */
export const DAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;

const TIME = /^([01]?\d|2[0-4]):[0-5]\d$/;
const DATE = /^\d{4}-\d{2}-\d{2}$/;

/** A parse result: the value, or the text that could not be read. */
export type Parsed<T> = { ok: true; value: T } | { ok: false; bad: string };

/** Hours as text. */
export function formatHours(hours: Hours | undefined): string {
  return (hours ?? []).map((r) => `${r[0] ?? ''}-${r[1] ?? ''}`).join(', ');
}

/** Text as hours. */
export function parseHours(text: string): Parsed<Hours> {
  const out: Hours = [];
  for (const part of text.split(/[,，;\n]/).map((p) => p.trim()).filter(Boolean)) {
    const m = /^(\S+)\s*[-–~至到]\s*(\S+)$/.exec(part);
    const from = m?.[1];
    const to = m?.[2];
    if (!from || !to || !TIME.test(from) || !TIME.test(to)) return { ok: false, bad: part };
    out.push([from.padStart(5, '0'), to.padStart(5, '0')]);
  }
  return { ok: true, value: out };
}

/** Holidays as text, one per line. */
export function formatDates(dates: readonly string[]): string {
  return dates.join('\n');
}

/** Text (one date per line, or separated by commas or spaces) as dates. */
export function parseDates(text: string): Parsed<string[]> {
  const out: string[] = [];
  for (const d of text.split(/[\s,，]+/).filter(Boolean)) {
    if (!DATE.test(d)) return { ok: false, bad: d };
    if (!out.includes(d)) out.push(d);
  }
  return { ok: true, value: out };
}

/** Overrides as text, one per line. */
export function formatOverrides(overrides: readonly { date: string; hours: Hours }[]): string {
  return overrides.map((o) => `${o.date} ${formatHours(o.hours)}`.trim()).join('\n');
}

/** Text as overrides. */
export function parseOverrides(text: string): Parsed<{ date: string; hours: Hours }[]> {
  const out: { date: string; hours: Hours }[] = [];
  for (const line of text.split('\n').map((l) => l.trim()).filter(Boolean)) {
    const [date, ...rest] = line.split(/\s+/);
    if (!date || !DATE.test(date)) return { ok: false, bad: line };
    const hours = parseHours(rest.join(' '));
    if (!hours.ok) return hours;
    out.push({ date, hours: hours.value });
  }
  return { ok: true, value: out };
}
