/**
 * The exports screen's pure parts: the form turned into `POST /v1/exports`' body (checked first), telling the 202
 * of a queued export from the 202 of one waiting for approval, which exports still need polling, and how long a
 * download link has left (it lives at most 15 minutes).
 */
import type { ExportView, NewExport, PendingApproval } from '../types';

export const EXPORT_KINDS = ['conversations', 'customers', 'audit'] as const;
export const EXPORT_FORMATS = ['csv', 'jsonl'] as const;

/** The form. */
export interface ExportForm {
  kind: (typeof EXPORT_KINDS)[number];
  format: (typeof EXPORT_FORMATS)[number];
  /** `datetime-local` values, or empty. */
  since: string;
  until: string;
}

/** What is wrong with the form, by field. */
export type ExportProblem = { field: 'since' | 'until'; key: 'exports.badTime' | 'exports.badRange' };

/** A `datetime-local` value as RFC 3339 (UTC); null when empty, undefined when not a time. */
function instant(v: string): string | null | undefined {
  if (!v) return null;
  const d = new Date(v);
  return Number.isNaN(d.getTime()) ? undefined : d.toISOString();
}

/** The body, or the first problem. */
export function exportBody(f: ExportForm): { body: NewExport } | { problem: ExportProblem } {
  const since = instant(f.since);
  if (since === undefined) return { problem: { field: 'since', key: 'exports.badTime' } };
  const until = instant(f.until);
  if (until === undefined) return { problem: { field: 'until', key: 'exports.badTime' } };
  if (since && until && since >= until) return { problem: { field: 'until', key: 'exports.badRange' } };
  const body: NewExport = { kind: f.kind, format: f.format };
  if (since) body.since = since;
  if (until) body.until = until;
  return { body };
}

/** `POST /v1/exports`' 202: a queued export, or an approval request. */
export function isPending(a: ExportView | PendingApproval): a is PendingApproval {
  return 'approval_id' in a && typeof a.approval_id === 'string';
}

/** Whether an export has stopped changing. */
export function finished(status: string): boolean {
  return status === 'done' || status === 'failed';
}

/** Whole minutes a link has left (0 once expired); null without an expiry. */
export function minutesLeft(expiresAt: string | null | undefined, now: Date = new Date()): number | null {
  if (!expiresAt) return null;
  const ms = new Date(expiresAt).getTime() - now.getTime();
  if (Number.isNaN(ms)) return null;
  return Math.max(0, Math.ceil(ms / 60000));
}

/** One export the screen follows: read from the API, or still waiting for approval. */
export type Tracked = { id: string; view: ExportView | null; approvalId?: string };

/** Puts a new or re-read export first in the list, replacing the entry of the same id. */
export function track(list: Tracked[], entry: Tracked): Tracked[] {
  return [entry, ...list.filter((e) => e.id !== entry.id)].slice(0, 20);
}

/** The entries still worth asking about (approved-or-not ones included: a pending one becomes an export later). */
export function toPoll(list: Tracked[]): Tracked[] {
  return list.filter((e) => !e.approvalId && (!e.view || !finished(e.view.status)));
}
