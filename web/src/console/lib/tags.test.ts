import { describe, expect, it } from 'vitest';
import { ROUTES, guard, matchRoute } from './routes';
import { isTagColor, scopeAllows, tagNamesFor } from './tags';

describe('tags', () => {
  it('checks colours as the server does', () => {
    expect(isTagColor('#1677FF')).toBe(true);
    expect(isTagColor(' #00aa00 ')).toBe(true);
    for (const bad of ['1677ff', '#1677f', '#1677ffa', 'red', '', '#ggg000']) expect(isTagColor(bad)).toBe(false);
  });

  it('offers only the tags a target allows', () => {
    const tags = [
      { name: 'vip', scope: 'both' },
      { name: 'refund', scope: 'conversation' },
      { name: 'wholesale', scope: 'customer' },
    ];
    expect(tagNamesFor(tags, 'conversation')).toEqual(['vip', 'refund']);
    expect(tagNamesFor(tags, 'customer')).toEqual(['vip', 'wholesale']);
    expect(scopeAllows('customer', 'conversation')).toBe(false);
  });

  it('opens the tags screen only with tags.manage', () => {
    expect(ROUTES.some((r) => r.id === 'tags')).toBe(true);
    const m = matchRoute('#/admin/tags');
    expect(guard(m, new Set(['tags.manage']), false)).toEqual({ ok: true });
    expect(guard(m, new Set(['conversations.reply']), false)).toEqual({ ok: false, reason: 'forbidden' });
  });
});
