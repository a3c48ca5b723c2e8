/**
 * My notification preferences (`GET|PUT /v1/me/notifications`): the kinds of notification an agent can pick, and
 * the conversions between the form (a `datetime-local` do-not-disturb time, a free-text SMS number) and the API's
 * body. The server validates (E.164, RFC 3339) and names the refused field; the console shows it there.
 */

/** The six kinds of notification, in the order the form shows them (API.md). */
export const EVENT_KINDS = [
  'conversation.new',
  'message.new',
  'conversation.assigned',
  'ticket.assigned',
  'conversation.unanswered',
  'approval.requested',
] as const;

/** One kind. */
export type EventKind = (typeof EVENT_KINDS)[number];

/** The preferences as the form holds them. */
export interface PrefsForm {
  desktop: boolean;
  mobile: boolean;
  email: boolean;
  sms: boolean;
  /** As typed; blank means none. */
  smsNumber: string;
  workingHoursOnly: boolean;
  /** Whether do-not-disturb is on (then `dndUntil` holds its end). */
  dnd: boolean;
  /** A `datetime-local` value (`2026-12-01T18:30`), in the browser's time zone. */
  dndUntil: string;
  events: string[];
}

/** The preferences as the API answers them. */
export interface PrefsView {
  desktop: boolean;
  mobile: boolean;
  email: boolean;
  sms: boolean;
  sms_number?: string | null;
  working_hours_only: boolean;
  dnd_until?: string | null;
  events: string[];
}

const pad = (n: number) => String(n).padStart(2, '0');

/** A time (RFC 3339) as a `datetime-local` value in the browser's zone; blank for none or an unreadable one. */
export function isoToLocal(iso: string | null | undefined): string {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/** A `datetime-local` value (browser's zone) as an RFC 3339 time in UTC; null when blank or unreadable. */
export function localToIso(local: string): string | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?$/.exec(local.trim());
  if (!m) return null;
  const [, y, mo, d, h, mi, s] = m;
  const at = new Date(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s ?? 0));
  return Number.isNaN(at.getTime()) ? null : at.toISOString();
}

/** The form for an answer. */
export function formOf(p: PrefsView): PrefsForm {
  const until = isoToLocal(p.dnd_until);
  return {
    desktop: p.desktop,
    mobile: p.mobile,
    email: p.email,
    sms: p.sms,
    smsNumber: p.sms_number ?? '',
    workingHoursOnly: p.working_hours_only,
    dnd: until !== '',
    dndUntil: until,
    events: EVENT_KINDS.filter((k) => p.events.includes(k)),
  };
}

/**
 * The `PUT` body for a form, or the form field to fix: do-not-disturb on without a readable time is refused here
 * (`dnd_until`); everything else goes to the server as typed, which names what it refuses.
 */
export function bodyOf(f: PrefsForm): { ok: true; body: Record<string, unknown> } | { ok: false; field: 'dnd_until' } {
  let dnd: string | null = null;
  if (f.dnd) {
    dnd = localToIso(f.dndUntil);
    if (dnd === null) return { ok: false, field: 'dnd_until' };
  }
  const number = f.smsNumber.trim();
  return {
    ok: true,
    body: {
      desktop: f.desktop,
      mobile: f.mobile,
      email: f.email,
      sms: f.sms,
      sms_number: number === '' ? null : number,
      working_hours_only: f.workingHoursOnly,
      dnd_until: dnd,
      events: EVENT_KINDS.filter((k) => f.events.includes(k)),
    },
  };
}

/** The form with `kind` ticked or not, keeping the kinds in their order. */
export function toggleEvent(events: readonly string[], kind: string, on: boolean): string[] {
  return EVENT_KINDS.filter((k) => (k === kind ? on : events.includes(k)));
}

/** The field of a server error, with `events[3]` counted as `events`. */
export function prefsFieldOf(field: string | null | undefined): string | null {
  if (!field) return null;
  return field.replace(/\[\d+\]$/, '');
}
