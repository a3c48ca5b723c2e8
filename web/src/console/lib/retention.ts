/**
 * The retention screen's pure parts: the settings as a form and back (`messages_days` null keeps everything;
 * otherwise a whole number of days, at least 1), and the body of a run (a preview is a dry run, optionally as
 * of a later time; a real run never carries `as_of`).
 */
import type { RetentionSettings } from '../types';

/** The form. */
export interface RetentionForm {
  keepForever: boolean;
  days: string;
  archive: boolean;
}

/** The form for stored settings. */
export function retentionForm(s: RetentionSettings): RetentionForm {
  return { keepForever: s.messages_days == null, days: s.messages_days == null ? '365' : String(s.messages_days), archive: s.archive_before_delete };
}

/** The settings to PUT, or the problem's message key. */
export function retentionBody(f: RetentionForm): { body: RetentionSettings } | { problem: 'retention.badDays' } {
  if (f.keepForever) return { body: { messages_days: null, archive_before_delete: f.archive } };
  const t = f.days.trim();
  if (!/^\d+$/.test(t)) return { problem: 'retention.badDays' };
  const n = Number(t);
  if (n < 1 || n > 2147483647) return { problem: 'retention.badDays' };
  return { body: { messages_days: n, archive_before_delete: f.archive } };
}

/** `POST /v1/retention/run`'s body: a preview (dry, maybe as of a later `datetime-local` time) or a real run. */
export function runBody(dry: boolean, asOf = ''): { dry_run: boolean; as_of?: string } {
  if (!dry || !asOf) return { dry_run: dry };
  const d = new Date(asOf);
  return Number.isNaN(d.getTime()) ? { dry_run: true } : { dry_run: true, as_of: d.toISOString() };
}
