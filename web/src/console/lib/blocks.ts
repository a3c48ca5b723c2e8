/**
 * The blocks screen's form, checked before it is sent: what `POST /v1/blocks` takes (a customer id or an IP
 * range, a reason, an optional expiry), and how a block's target reads in the list. The server checks again;
 * this spares a round trip for the mistakes a person makes while typing.
 */

/** What the form holds. */
export interface BlockForm {
  kind: 'customer' | 'ip';
  /** A customer id (`cu_…`) or an IPv4/IPv6 address or CIDR. */
  target: string;
  reason: string;
  /** A `datetime-local` value (local time), or empty for "until lifted". */
  expires: string;
}

/** `POST /v1/blocks`'s body. */
export interface NewBlockBody {
  customer_id?: string;
  ip_cidr?: string;
  reason: string;
  expires_at?: string;
}

/** Why the form cannot be sent: the field and an i18n key. */
export interface FormProblem {
  field: 'target' | 'reason' | 'expires';
  key: 'blocks.needCustomer' | 'blocks.needIp' | 'blocks.needReason' | 'blocks.pastExpiry';
}

const IPV4 = /^(\d{1,3})(\.\d{1,3}){3}(\/\d{1,2})?$/;
const IPV6 = /^[0-9a-fA-F:.]*:[0-9a-fA-F:.]*(\/\d{1,3})?$/;

/** The body to send, or what is wrong; `now` is the time the expiry must follow. */
export function blockBody(form: BlockForm, now: Date): { body: NewBlockBody } | { problem: FormProblem } {
  const target = form.target.trim();
  const reason = form.reason.trim();
  if (form.kind === 'customer' && !/^cu_[0-9a-z]{26}$/.test(target)) return { problem: { field: 'target', key: 'blocks.needCustomer' } };
  if (form.kind === 'ip' && !IPV4.test(target) && !IPV6.test(target)) return { problem: { field: 'target', key: 'blocks.needIp' } };
  if (!reason) return { problem: { field: 'reason', key: 'blocks.needReason' } };
  const body: NewBlockBody = form.kind === 'customer' ? { customer_id: target, reason } : { ip_cidr: target, reason };
  if (form.expires) {
    const at = new Date(form.expires);
    if (Number.isNaN(at.getTime()) || at.getTime() <= now.getTime()) return { problem: { field: 'expires', key: 'blocks.pastExpiry' } };
    body.expires_at = at.toISOString();
  }
  return { body };
}

/** What a listed block refuses, as the list shows it. */
export function blockTarget(b: { customer_id?: string | null; ip_cidr?: string | null }): string {
  return b.ip_cidr ?? b.customer_id ?? '';
}
