// The pre-chat form's rules, checked in the browser before the conversation starts (the server checks them
// again): required fields, email and phone shapes, select options.
import type { PreChatField } from './config';
import type { VisitorUser } from '../contract';

/** Why a field was refused (keys of the widget's dictionaries). */
export type FieldError = 'required' | 'invalid_email' | 'invalid_phone' | 'invalid_option';

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
// Digits with the usual separators, an optional leading +, and 5 to 20 digits in all.
const PHONE = /^\+?[0-9 ()-]+$/;

/** Checks one value; undefined when it is fine. */
export function checkField(field: PreChatField, raw: string | undefined): FieldError | undefined {
  const value = (raw ?? '').trim();
  if (value === '') return field.required ? 'required' : undefined;
  switch (field.type) {
    case 'email':
      return EMAIL.test(value) ? undefined : 'invalid_email';
    case 'phone': {
      const digits = value.replace(/\D/g, '').length;
      return PHONE.test(value) && digits >= 5 && digits <= 20 ? undefined : 'invalid_phone';
    }
    case 'select':
      return field.options && !field.options.includes(value) ? 'invalid_option' : undefined;
    default:
      return undefined;
  }
}

/** Every field's error, by field name (empty when the form may be sent). */
export function validatePreChat(fields: readonly PreChatField[], values: Record<string, string>): Record<string, FieldError> {
  const errors: Record<string, FieldError> = {};
  for (const f of fields) {
    const e = checkField(f, values[f.name]);
    if (e) errors[f.name] = e;
  }
  return errors;
}

/** The `pre_chat` body: the trimmed, non-empty values of the form's own fields. */
export function preChatBody(fields: readonly PreChatField[], values: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const f of fields) {
    const v = (values[f.name] ?? '').trim();
    if (v) out[f.name] = v;
  }
  return out;
}

/**
 * The `visitor` body: what the page said with `Kefu.setUser`, with the visitor's own answers to fields named
 * `name`, `email` or `phone` filling what the page left out (the page's word wins: it knows its signed-in user).
 */
export function visitorBody(user: VisitorUser | undefined, preChat: Record<string, string>): VisitorUser {
  const v: VisitorUser = {};
  for (const k of ['external_id', 'name', 'email', 'phone'] as const) {
    const fromPage = user?.[k];
    const value = typeof fromPage === 'string' && fromPage.trim() ? fromPage.trim() : k !== 'external_id' ? preChat[k] : undefined;
    if (value) v[k] = value;
  }
  return v;
}
