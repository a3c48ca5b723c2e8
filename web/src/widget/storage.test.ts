import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { clearSession, loadSession, saveSession, sessionKey } from './storage';

/** A Map-backed stand-in for the page's localStorage (Node has none). */
function fakeStorage(): Storage {
  const m = new Map<string, string>();
  return {
    get length() {
      return m.size;
    },
    clear: () => m.clear(),
    getItem: (k) => m.get(k) ?? null,
    key: (i) => [...m.keys()][i] ?? null,
    removeItem: (k) => void m.delete(k),
    setItem: (k, v) => void m.set(k, String(v)),
  };
}

const g = globalThis as { localStorage?: Storage };

describe('the visitor session in localStorage', () => {
  beforeEach(() => {
    g.localStorage = fakeStorage();
  });
  afterEach(() => {
    delete g.localStorage;
  });

  it('is kept per widget key, so two widgets on one site do not share a conversation', () => {
    saveSession('wk_a', { visitor_token: 'vt_a', conversation_id: 'cv_a' });
    saveSession('wk_b', { visitor_token: 'vt_b', conversation_id: 'cv_b', seen_up_to: 'ms_1' });
    expect(loadSession('wk_a')).toEqual({ visitor_token: 'vt_a', conversation_id: 'cv_a' });
    expect(loadSession('wk_b')?.seen_up_to).toBe('ms_1');
    clearSession('wk_a');
    expect(loadSession('wk_a')).toBeUndefined();
    expect(loadSession('wk_b')).toBeDefined();
  });

  it('ignores what it cannot use', () => {
    g.localStorage!.setItem(sessionKey('wk_x'), '{not json');
    expect(loadSession('wk_x')).toBeUndefined();
    g.localStorage!.setItem(sessionKey('wk_x'), JSON.stringify({ visitor_token: 7 }));
    expect(loadSession('wk_x')).toBeUndefined();
  });

  it('does nothing, and throws nothing, when storage is blocked', () => {
    const blocked = fakeStorage();
    const deny = () => {
      throw new DOMException('denied', 'SecurityError');
    };
    blocked.getItem = deny;
    blocked.setItem = deny;
    g.localStorage = blocked;
    expect(() => saveSession('wk_a', { visitor_token: 'vt', conversation_id: 'cv' })).not.toThrow();
    expect(loadSession('wk_a')).toBeUndefined();
  });
});
