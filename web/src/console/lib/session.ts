/**
 * The signed-in session as the console keeps it: the bearer token and what login said about restrictions, in
 * `sessionStorage` (so it ends with the tab and is not shared with other tabs), and the tenant id last used
 * in `localStorage` (not a secret; it saves typing it at every sign-in).
 */

/** What restricts a session until its owner acts (API.md: 403 `password_expired` / `mfa_enrollment_required`). */
export type Restriction = 'password_expired' | 'mfa_enrollment_required';

/** The stored session. */
export interface StoredSession {
  token: string;
  session_id: string;
  expires_at: string;
  restriction: Restriction | null;
}

const KEY = 'kefu.console.session';
const TENANT_KEY = 'kefu.console.tenant';

/** A storage like `sessionStorage` (tests pass a map). */
export type StorageLike = Pick<Storage, 'getItem' | 'setItem' | 'removeItem'>;

/** The restriction an error code names, if any. */
export function restrictionOf(code: string): Restriction | null {
  return code === 'password_expired' || code === 'mfa_enrollment_required' ? code : null;
}

/** The restriction a successful sign-in reports. */
export function restrictionOfLogin(ok: { password_change_required?: boolean; mfa_enrollment_required?: boolean }): Restriction | null {
  if (ok.password_change_required) return 'password_expired';
  if (ok.mfa_enrollment_required) return 'mfa_enrollment_required';
  return null;
}

/** Reads the stored session; a malformed or expired one counts as none. */
export function loadSession(store: StorageLike, now: Date = new Date()): StoredSession | null {
  let raw: string | null;
  try {
    raw = store.getItem(KEY);
  } catch {
    return null;
  }
  if (!raw) return null;
  try {
    const s = JSON.parse(raw) as Partial<StoredSession>;
    if (typeof s.token !== 'string' || !s.token) return null;
    const ends = Date.parse(s.expires_at ?? '');
    if (Number.isFinite(ends) && ends <= now.getTime()) return null;
    return {
      token: s.token,
      session_id: typeof s.session_id === 'string' ? s.session_id : '',
      expires_at: typeof s.expires_at === 'string' ? s.expires_at : '',
      restriction: restrictionOf(String(s.restriction ?? '')),
    };
  } catch {
    return null;
  }
}

/** Stores the session (or forgets it, with `null`). */
export function saveSession(store: StorageLike, s: StoredSession | null): void {
  try {
    if (s) store.setItem(KEY, JSON.stringify(s));
    else store.removeItem(KEY);
  } catch {
    // Storage refused (private mode quota): the session lives in memory only.
  }
}

/** The tenant id last signed in to. */
export function lastTenant(store: StorageLike): string {
  try {
    return store.getItem(TENANT_KEY) ?? '';
  } catch {
    return '';
  }
}

/** Remembers the tenant id for the next sign-in. */
export function rememberTenant(store: StorageLike, tenant: string): void {
  try {
    store.setItem(TENANT_KEY, tenant);
  } catch {
    // not remembered: the field is simply empty next time
  }
}
