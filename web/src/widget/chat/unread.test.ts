import { describe, expect, it } from 'vitest';
import { countUnread } from './unread';

const msgs = [
  { id: 'ms_01', author: 'visitor' },
  { id: 'ms_02', author: 'agent' },
  { id: 'ms_03', author: 'visitor' },
  { id: 'ms_04', author: 'agent' },
  { id: 'ms_05', author: 'bot' },
];

describe('countUnread', () => {
  it('counts replies after the last seen message, not the visitor’s own', () => {
    expect(countUnread(msgs, 'ms_02')).toBe(2);
    expect(countUnread(msgs, 'ms_05')).toBe(0);
  });
  it('counts every reply when nothing was seen', () => {
    expect(countUnread(msgs, undefined)).toBe(3);
    expect(countUnread([], undefined)).toBe(0);
  });
  it('falls back to id order when the seen message is gone', () => {
    expect(countUnread(msgs, 'ms_035')).toBe(2);
    expect(countUnread(msgs, 'ms_99')).toBe(0);
  });
});
