import { describe, expect, it } from 'vitest';
import { loadSession, restrictionOf, restrictionOfLogin, saveSession, type StorageLike } from './session';

function memory(): StorageLike & { map: Map<string, string> } {
  const map = new Map<string, string>();
  return {
    map,
    getItem: (k) => map.get(k) ?? null,
    setItem: (k, v) => void map.set(k, v),
    removeItem: (k) => void map.delete(k),
  };
}

describe('session storage', () => {
  const now = new Date('2026-12-01T12:00:00Z');

  it('round-trips a session and forgets it', () => {
    const s = memory();
    const session = { token: 'kfs_x', session_id: 'se_1', expires_at: '2026-12-02T00:00:00Z', restriction: null };
    saveSession(s, session);
    expect(loadSession(s, now)).toEqual(session);
    saveSession(s, null);
    expect(loadSession(s, now)).toBeNull();
  });

  it('drops expired and malformed sessions', () => {
    const s = memory();
    saveSession(s, { token: 'kfs_x', session_id: 'se_1', expires_at: '2026-12-01T11:59:59Z', restriction: null });
    expect(loadSession(s, now)).toBeNull();
    s.map.set('kefu.console.session', '{not json');
    expect(loadSession(s, now)).toBeNull();
    s.map.set('kefu.console.session', JSON.stringify({ token: '' }));
    expect(loadSession(s, now)).toBeNull();
  });

  it('keeps only known restrictions', () => {
    const s = memory();
    s.map.set('kefu.console.session', JSON.stringify({ token: 't', restriction: 'root' }));
    expect(loadSession(s, now)?.restriction).toBeNull();
    expect(restrictionOf('mfa_enrollment_required')).toBe('mfa_enrollment_required');
    expect(restrictionOf('forbidden')).toBeNull();
    expect(restrictionOfLogin({ password_change_required: true })).toBe('password_expired');
    expect(restrictionOfLogin({ mfa_enrollment_required: true })).toBe('mfa_enrollment_required');
    expect(restrictionOfLogin({})).toBeNull();
  });
});
