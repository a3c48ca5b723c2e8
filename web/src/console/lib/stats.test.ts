import { describe, expect, it } from 'vitest';
import { matchRoute } from './routes';
import type { StatsReport } from '../types';
import { alignedData, chartValue, csatPercent, csatShare, dayCharts, defaultFilters, midnight, rangeOk, secs, statsQuery, yIncrs, yRange } from './stats';

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

  it('shapes the per-day charts from the report: bars for counts, median and p90 lines, CSAT share, gaps for no figure', () => {
    const day = (d: string, conversations: number, fr: number | null, csat: [number, number, number]): StatsReport['by_day'][number] => ({
      day: d,
      conversations,
      closed: Math.floor(conversations / 2),
      messages: conversations * 4,
      first_response_seconds: { median: fr, p90: fr == null ? null : fr * 2 },
      resolution_seconds: { median: fr == null ? null : 600, p90: fr == null ? undefined : 900 },
      csat: { good: csat[0], neutral: csat[1], bad: csat[2] },
    });
    const charts = dayCharts([day('2026-03-01', 2, 30, [3, 1, 0]), day('2026-03-02', 0, null, [0, 0, 0]), day('2026-03-03', 5, 90, [0, 0, 2])]);
    expect(charts.map((c) => c.id)).toEqual(['conversations', 'messages', 'first-response', 'resolution', 'csat']);
    const by = Object.fromEntries(charts.map((c) => [c.id, c]));
    expect(by.conversations?.days).toEqual(['2026-03-01', '2026-03-02', '2026-03-03']);
    expect(by.conversations?.series).toEqual([
      { label: 'stats.started', style: 'bars', values: [2, 0, 5] },
      { label: 'stats.closed', style: 'bars', values: [1, 0, 2] },
    ]);
    expect(by.messages?.series[0]?.values).toEqual([8, 0, 20]);
    expect(by['first-response']?.unit).toBe('seconds');
    expect(by['first-response']?.series).toEqual([
      { label: 'stats.median', style: 'line', values: [30, null, 90] },
      { label: 'stats.p90', style: 'line', values: [60, null, 180] },
    ]);
    expect(by.resolution?.series.map((s) => s.values)).toEqual([
      [600, null, 600],
      [900, null, 900],
    ]);
    expect(by.csat?.unit).toBe('percent');
    expect(by.csat?.series[0]?.values).toEqual([75, null, 0]);
    expect(alignedData(by['first-response']!)).toEqual([[0, 1, 2], [30, null, 90], [60, null, 180]]);
    expect(dayCharts([]).every((c) => c.days.length === 0 && c.series.every((s) => s.values.length === 0))).toBe(true);
  });

  it('reads chart figures and scales', () => {
    expect(csatPercent({ good: 1, neutral: 1, bad: 1 })).toBe(33);
    expect(csatPercent({ good: 0, neutral: 0, bad: 0 })).toBeNull();
    expect(chartValue('seconds', 125)).toBe('2 min 05 s');
    expect(chartValue('percent', 74.6)).toBe('75%');
    expect(chartValue('count', 3)).toBe('3');
    expect(chartValue('count', null)).toBe('–');
    expect(yRange('percent', 30)).toEqual([0, 100]);
    expect(yRange('count', 10)).toEqual([0, 11]);
    expect(yRange('count', null)).toEqual([0, 1]);
    expect(yRange('seconds', 0)).toEqual([0, 60]);
    expect(yIncrs('count').slice(0, 4)).toEqual([1, 2, 5, 10]);
    expect(yIncrs('count').every(Number.isInteger)).toBe(true);
    expect(yIncrs('seconds')).toContain(3600);
  });

  it('is the stats.view screen at #/stats', () => {
    expect(matchRoute('#/stats')?.route.requires).toBe('stats.view');
  });
});
