import { describe, expect, it } from 'vitest';
import { matchRoute } from './routes';
import { bars, csatShare, defaultFilters, midnight, rangeOk, secs, statsQuery } from './stats';

describe('statistics', () => {
  it('defaults to the last seven days', () => {
    const f = defaultFilters(new Date(2026, 2, 3, 15, 0));
    expect(f).toEqual({ from: '2026-02-25', to: '2026-03-03', agentId: '', groupId: '', businessHours: false });
  });

  it('asks for whole days, the last one included, with the filters given', () => {
    const f = { from: '2026-03-01', to: '2026-03-03', agentId: 'ag_1', groupId: '', businessHours: true };
    const q = statsQuery(f);
    expect(q.since).toBe(new Date(2026, 2, 1).toISOString());
    expect(q.until).toBe(new Date(2026, 2, 4).toISOString());
    expect(q.agent_id).toBe('ag_1');
    expect(q.business_hours).toBe('true');
    expect('group_id' in q).toBe(false);
    expect('format' in q).toBe(false);
    expect(statsQuery(f, true).format).toBe('csv');
    expect('business_hours' in statsQuery({ ...f, businessHours: false })).toBe(false);
  });

  it('checks the range', () => {
    expect(midnight('nope')).toBeUndefined();
    expect(rangeOk({ ...defaultFilters(), from: '2026-03-02', to: '2026-03-01' })).toBe(false);
    expect(rangeOk({ ...defaultFilters(), from: '2026-03-01', to: '2026-03-01' })).toBe(true);
    expect(rangeOk({ ...defaultFilters(), from: '', to: '2026-03-01' })).toBe(false);
  });

  it('reads durations and CSAT', () => {
    expect(secs(null)).toBe('–');
    expect(secs(42.4)).toBe('42 s');
    expect(secs(125)).toBe('2 min 05 s');
    expect(secs(3 * 3600 + 7 * 60)).toBe('3 h 07 min');
    expect(csatShare({ good: 3, neutral: 1, bad: 0 })).toBe('75%');
    expect(csatShare({ good: 0, neutral: 0, bad: 0 })).toBe('–');
  });

  it('draws bars scaled to the tallest, missing values as zero', () => {
    const b = bars([2, null, 4], 30, 100, 0);
    expect(b.map((x) => x.height)).toEqual([50, 0, 100]);
    expect(b.map((x) => x.y)).toEqual([50, 100, 0]);
    expect(b.map((x) => x.x)).toEqual([0, 10, 20]);
    expect(bars([0, 0], 10, 10).every((x) => x.height === 0)).toBe(true);
    expect(bars([], 10, 10)).toEqual([]);
  });

  it('is the stats.view screen at #/stats', () => {
    expect(matchRoute('#/stats')?.route.requires).toBe('stats.view');
  });
});
