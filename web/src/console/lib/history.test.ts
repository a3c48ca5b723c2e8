import { describe, expect, it } from 'vitest';
import { bump, inboxQuery, inWindow, olderWindow } from './history';

describe('history windows', () => {
  it('widens step by step up to the API maximum', () => {
    expect(olderWindow(7)).toBe(30);
    expect(olderWindow(30)).toBe(90);
    expect(olderWindow(90)).toBe(366);
    expect(olderWindow(366)).toBeNull();
    expect(olderWindow(10)).toBe(30);
  });

  it('tells whether a time is inside a window', () => {
    const now = new Date('2026-12-01T12:00:00Z');
    expect(inWindow('2026-11-25T12:00:00Z', 7, now)).toBe(true);
    expect(inWindow('2026-11-24T11:59:59Z', 7, now)).toBe(false);
    expect(inWindow('2026-11-02T12:00:00Z', 30, now)).toBe(true);
    expect(inWindow('not a time', 30, now)).toBe(false);
  });
});

describe('inbox query', () => {
  it('maps views to the API filters', () => {
    expect(inboxQuery('mine', {}).toString()).toBe('assignee=me');
    expect(inboxQuery('unassigned', { status: 'open' }).toString()).toBe('assignee=unassigned&status=open');
    expect(inboxQuery('queued', { status: 'closed' }).toString()).toBe('status=queued');
    expect(inboxQuery('all', { tag: ' vip ', group_id: 'gr_1' }, 'cur').toString()).toBe('tag=vip&group_id=gr_1&cursor=cur');
    expect(inboxQuery('all', { tag: '  ' }).toString()).toBe('');
  });

  it('moves a conversation with new activity to the top', () => {
    const list = [
      { id: 'a', last_message_at: '2026-12-01T10:00:00Z' },
      { id: 'b', last_message_at: '2026-12-01T09:00:00Z' },
    ];
    expect(bump(list, 'b', '2026-12-01T11:00:00Z')).toEqual([
      { id: 'b', last_message_at: '2026-12-01T11:00:00Z' },
      { id: 'a', last_message_at: '2026-12-01T10:00:00Z' },
    ]);
    expect(bump(list, 'zz', '2026-12-01T11:00:00Z')).toEqual(list);
  });
});
