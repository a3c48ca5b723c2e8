import { describe, expect, it } from 'vitest';
import { formatHours, formatOverrides, parseDates, parseHours, parseOverrides } from './schedule';

describe('schedule text', () => {
  it('reads and writes hours', () => {
    expect(parseHours('09:00-12:00, 13:00 - 18:00')).toEqual({ ok: true, value: [['09:00', '12:00'], ['13:00', '18:00']] });
    expect(parseHours('9:00-17:30')).toEqual({ ok: true, value: [['09:00', '17:30']] });
    expect(parseHours('22:00-06:00')).toEqual({ ok: true, value: [['22:00', '06:00']] });
    expect(parseHours('')).toEqual({ ok: true, value: [] });
    expect(parseHours('9-5')).toEqual({ ok: false, bad: '9-5' });
    expect(parseHours('09:00-25:00')).toEqual({ ok: false, bad: '09:00-25:00' });
    expect(formatHours([['09:00', '12:00'], ['13:00', '18:00']])).toBe('09:00-12:00, 13:00-18:00');
    expect(formatHours(undefined)).toBe('');
  });

  it('reads dates', () => {
    expect(parseDates('2026-10-01\n2026-10-02, 2026-10-01')).toEqual({ ok: true, value: ['2026-10-01', '2026-10-02'] });
    expect(parseDates('10/01')).toEqual({ ok: false, bad: '10/01' });
  });

  it('reads and writes overrides', () => {
    const text = '2026-12-24 10:00-16:00\n2026-12-25';
    const parsed = parseOverrides(text);
    expect(parsed).toEqual({
      ok: true,
      value: [
        { date: '2026-12-24', hours: [['10:00', '16:00']] },
        { date: '2026-12-25', hours: [] },
      ],
    });
    expect(parsed.ok && formatOverrides(parsed.value)).toBe(text);
    expect(parseOverrides('Christmas 10:00-16:00')).toEqual({ ok: false, bad: 'Christmas 10:00-16:00' });
    expect(parseOverrides('2026-12-24 ten-four')).toEqual({ ok: false, bad: 'ten-four' });
  });
});
