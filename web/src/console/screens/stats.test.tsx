// @vitest-environment happy-dom
import { describe, expect, it } from 'vitest';
import { byLabel, click, fakeClient, mount, type } from '../testing';
import { Stats } from './stats';

const fig = (conversations: number, median: number | null) => ({
  conversations,
  messages: conversations * 10,
  first_response_seconds: { median, p90: median == null ? null : median * 3 },
  resolution_seconds: { median: 600, p90: 1800 },
  csat: { good: 3, neutral: 1, bad: 0 },
});

const answer = {
  ...fig(5, 42),
  since: '',
  until: '',
  timezone: 'Asia/Shanghai',
  business_hours: false,
  by_day: [
    { day: '2026-03-01', ...fig(2, 30) },
    { day: '2026-03-02', ...fig(0, null) },
    { day: '2026-03-03', ...fig(3, 60) },
  ],
  by_agent: [{ agent_id: 'ag_1', ...fig(4, 40) }],
  by_group: [{ group_id: null, ...fig(5, 42) }],
};

describe('statistics screen', () => {
  it('shows totals, a bar per day, and the per-agent and per-group tables; filters ask again', async () => {
    const { client, calls } = fakeClient({ 'GET /v1/stats': () => answer });
    const { root, unmount } = await mount(Stats, client, ['stats.view']);
    const totals = root.querySelector('[data-testid="stats-totals"]')?.textContent ?? '';
    expect(totals).toContain('median 42 s, p90 2 min 06 s');
    expect(totals).toContain('3 good, 1 neutral, 0 bad (75% good)');
    const chart = root.querySelector('[data-testid="chart-conversations"] svg');
    expect(chart?.getAttribute('role')).toBe('img');
    expect(chart?.getAttribute('aria-label')).toBe('Conversations');
    expect(chart?.querySelectorAll('rect')).toHaveLength(3);
    expect(root.querySelectorAll('[data-testid="stats-days"] tbody tr')).toHaveLength(3);
    expect(root.querySelector('[data-testid="stats-agents"] tbody th')?.textContent).toBe('ag_1');
    expect(root.querySelector('[data-testid="stats-groups"] tbody th')?.textContent).toBe('Default group');
    expect(root.querySelector('[data-testid="stats-csv"]')?.getAttribute('href')).toContain('format=csv');

    await type(byLabel(root, 'Agent'), 'ag_1');
    await click(byLabel(root, 'Count working hours only'));
    await click(root.querySelector('[data-testid="stats-filters"] button[type="submit"]'));
    expect(calls).toHaveLength(2);
    expect(calls[1]?.query).toMatchObject({ agent_id: 'ag_1', business_hours: 'true' });
    expect(root.querySelector('[data-testid="stats-csv"]')?.getAttribute('href')).toContain('agent_id=ag_1');
    unmount();
  });
});
