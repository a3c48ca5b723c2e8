import { describe, expect, it } from 'vitest';
import { backoffDelay } from './backoff';

describe('backoffDelay', () => {
  it('doubles from the base up to the maximum when there is no randomness', () => {
    const noJitter = { baseMs: 500, maxMs: 8000, jitter: 0 };
    expect([0, 1, 2, 3, 4, 5, 10].map((n) => backoffDelay(n, noJitter))).toEqual([500, 1000, 2000, 4000, 8000, 8000, 8000]);
  });
  it('takes off at most the jitter share', () => {
    const opts = { baseMs: 1000, maxMs: 60_000, jitter: 0.5 };
    expect(backoffDelay(2, opts, () => 0)).toBe(4000);
    expect(backoffDelay(2, opts, () => 0.999999)).toBe(2000);
    expect(backoffDelay(2, opts, () => 0.5)).toBe(3000);
  });
  it('never exceeds the maximum, even for huge attempt counts', () => {
    expect(backoffDelay(5000, { maxMs: 30_000, jitter: 0 })).toBe(30_000);
    expect(backoffDelay(Number.MAX_SAFE_INTEGER, {}, () => 0)).toBe(30_000);
  });
  it('treats negative or fractional attempts as whole non-negative ones, and clamps jitter', () => {
    expect(backoffDelay(-3, { baseMs: 100, jitter: 0 })).toBe(100);
    expect(backoffDelay(1.7, { baseMs: 100, jitter: 0 })).toBe(200);
    expect(backoffDelay(0, { baseMs: 100, jitter: 7 }, () => 0.5)).toBe(50);
  });
});
