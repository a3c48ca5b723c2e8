/**
 * Webhook settings and the delivery log (`rules.manage`), and the auto-replies (`settings.manage`): the pure parts
 * of the two admin screens.
 */

/** A delivery's states, as `GET /v1/webhook_deliveries?status` filters them. */
export const DELIVERY_STATUSES = ['pending', 'succeeded', 'failed'] as const;

/** One state. */
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];

/** The status filter a query names; null (all) for none or an unknown one. */
export function statusOf(value: string | null | undefined): DeliveryStatus | null {
  return (DELIVERY_STATUSES as readonly string[]).includes(value ?? '') ? (value as DeliveryStatus) : null;
}

/** A secret as shown before it is revealed: its first four characters, the rest as dots. */
export function maskSecret(secret: string): string {
  if (secret.length <= 4) return '•'.repeat(secret.length);
  return `${secret.slice(0, 4)}${'•'.repeat(Math.min(secret.length - 4, 24))}`;
}

/** The auto-replies as the form holds them. */
export interface AutoReplyForm {
  enabled: boolean;
  welcome: string;
  offHours: string;
}

/** The most characters a message may have (API: 1..=4000). */
export const AUTO_REPLY_MAX = 4000;

/** The form for an answer. */
export function autoReplyFormOf(s: { enabled: boolean; welcome?: string | null; off_hours?: string | null }): AutoReplyForm {
  return { enabled: s.enabled, welcome: s.welcome ?? '', offHours: s.off_hours ?? '' };
}

/** The `PUT /v1/settings/auto_reply` body: a blank message is null (that message off). */
export function autoReplyBody(f: AutoReplyForm): { enabled: boolean; welcome: string | null; off_hours: string | null } {
  const text = (s: string) => (s.trim() === '' ? null : s.trim());
  return { enabled: f.enabled, welcome: text(f.welcome), off_hours: text(f.offHours) };
}
