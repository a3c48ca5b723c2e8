import { describe, expect, it } from 'vitest';
import { guard, matchRoute, navFor } from './routes';
import { autoReplyBody, autoReplyFormOf, maskSecret, statusOf } from './webhooks';

describe('webhooks and auto-replies', () => {
  it('masks a secret but its first four characters', () => {
    expect(maskSecret('whsec_abcdefgh')).toBe('whse••••••••••');
    expect(maskSecret('a'.repeat(64))).toBe(`aaaa${'•'.repeat(24)}`);
    expect(maskSecret('abc')).toBe('•••');
    expect(maskSecret('abcdef')).not.toContain('ef');
  });

  it('reads the status filter', () => {
    expect(statusOf('failed')).toBe('failed');
    expect(statusOf('pending')).toBe('pending');
    expect(statusOf('')).toBeNull();
    expect(statusOf('lost')).toBeNull();
    expect(statusOf(null)).toBeNull();
  });

  it('round-trips the auto-replies; a blank message is off', () => {
    const f = autoReplyFormOf({ enabled: true, welcome: 'Hi', off_hours: null });
    expect(f).toEqual({ enabled: true, welcome: 'Hi', offHours: '' });
    expect(autoReplyBody(f)).toEqual({ enabled: true, welcome: 'Hi', off_hours: null });
    expect(autoReplyBody({ enabled: false, welcome: '  ', offHours: ' Back at 9 ' })).toEqual({ enabled: false, welcome: null, off_hours: 'Back at 9' });
  });

  it('gives each screen its permission', () => {
    expect(guard(matchRoute('#/admin/auto-reply'), new Set(['settings.manage']), false)).toEqual({ ok: true });
    expect(guard(matchRoute('#/admin/auto-reply'), new Set(['rules.manage']), false)).toEqual({ ok: false, reason: 'forbidden' });
    expect(guard(matchRoute('#/admin/webhooks'), new Set(['rules.manage']), false)).toEqual({ ok: true });
    expect(guard(matchRoute('#/admin/webhooks'), new Set(['settings.manage']), false)).toEqual({ ok: false, reason: 'forbidden' });
    const admin = navFor(new Set(['rules.manage', 'settings.manage']), false).find((s) => s.section === 'admin');
    expect(admin?.entries.map((e) => e.id)).toEqual(expect.arrayContaining(['autoReply', 'webhooks']));
  });
});
