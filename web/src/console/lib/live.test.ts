import { describe, expect, it } from 'vitest';
import { duration, load, queuedTotal } from './live';

describe('live board', () => {
  it('reads waits and idle times', () => {
    expect(duration(null)).toBe('–');
    expect(duration(0)).toBe('0 s');
    expect(duration(59)).toBe('59 s');
    expect(duration(60)).toBe('1 min');
    expect(duration(3599)).toBe('59 min');
    expect(duration(3 * 3600 + 5 * 60 + 7)).toBe('3 h 05 min');
  });

  it('shows load and when an agent is full', () => {
    expect(load(2, 5)).toEqual({ text: '2 / 5', full: false });
    expect(load(5, 5)).toEqual({ text: '5 / 5', full: true });
    expect(load(0, 0)).toEqual({ text: '0 / 0', full: false });
    expect(queuedTotal({ high: 1, normal: 2, low: 3 })).toBe(6);
  });
});
