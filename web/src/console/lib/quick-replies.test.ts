import { describe, expect, it } from 'vitest';
import { ROUTES, guard, matchRoute } from './routes';
import { categoriesOf, quickRepliesPath, shortcutMatches, typedShortcut } from './quick-replies';

describe('quick replies', () => {
  it('builds the list path from the search and category', () => {
    expect(quickRepliesPath('', '')).toBe('/v1/quick_replies');
    expect(quickRepliesPath(' 退款 ', '售后')).toBe(`/v1/quick_replies?q=${encodeURIComponent('退款')}&category=${encodeURIComponent('售后')}`);
  });

  it('reads a typed /shortcut only when the composer holds just that', () => {
    expect(typedShortcut('/ref')).toBe('ref');
    expect(typedShortcut('/')).toBe('');
    expect(typedShortcut('/Refund')).toBe('refund');
    expect(typedShortcut('see /ref')).toBeNull();
    expect(typedShortcut('/ref now')).toBeNull();
  });

  it('completes shortcuts, the exact one first', () => {
    const replies = [{ shortcut: 'refund-late' }, { shortcut: 'refund' }, { shortcut: 'hello' }, { shortcut: null }];
    expect(shortcutMatches(replies, 'ref').map((r) => r.shortcut)).toEqual(['refund', 'refund-late']);
    expect(shortcutMatches(replies, 'refund-').map((r) => r.shortcut)).toEqual(['refund-late']);
    expect(categoriesOf([{ category: 'b' }, { category: 'a' }, { category: null }, { category: 'b' }])).toEqual(['a', 'b']);
  });

  it('is a screen every signed-in agent opens', () => {
    const m = matchRoute('#/quick-replies');
    expect(ROUTES.find((r) => r.id === 'quickReplies')?.nav).toBe('work');
    expect(guard(m, new Set([]), false)).toEqual({ ok: true });
  });
});
