// @vitest-environment happy-dom
import { describe, expect, it, vi } from 'vitest';
import { byLabel, click, fakeClient, mount, type } from '../testing';
import { Stats } from './stats';

// happy-dom has no canvas: a stand-in for uPlot records what each chart was given.
const drawn = vi.hoisted(() => [] as { opts: { series: { label?: string }[] }; data: unknown[]; target: HTMLElement; destroyed: boolean }[]);
vi.mock('uplot', () => {
  class FakePlot {
    static paths = { bars: () => () => null };
    rec: (typeof drawn)[number];
    constructor(opts: (typeof drawn)[number]['opts'], data: unknown[], target: HTMLElement) {
      this.rec = { opts, data, target, destroyed: false };
      drawn.push(this.rec);
      target.appendChild(document.createElement('canvas'));
    }
    setSize(): void {}
    destroy(): void {
      this.rec.destroyed = true;
    }
  }
  return { default: FakePlot };
});

const fig = (conversations: number, median: number | null) => ({
  conversations,
  closed: Math.max(0, conversations - 1),
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
  it('shows totals, a chart per figure fed from the days, and the per-agent and per-group tables; filters ask again', async () => {
    drawn.length = 0;
    const { client, calls } = fakeClient({ 'GET /v1/stats': () => ({ ...answer }) });
    const { root, unmount } = await mount(Stats, client, ['stats.view']);
    const totals = root.querySelector('[data-testid="stats-totals"]')?.textContent ?? '';
    expect(totals).toContain('median 42 s, p90 2 min 06 s');
    expect(totals).toContain('3 good, 1 neutral, 0 bad (75% good)');
    const chart = root.querySelector('[data-testid="chart-conversations"] [role="img"]');
    expect(chart?.getAttribute('aria-label')).toBe('Conversations, per day; the per-day table below has the same figures.');
    expect(chart?.getAttribute('aria-describedby')).toBe(root.querySelector('[data-testid="stats-days"]')?.id);
    // uPlot is loaded on first use; each chart gets the days' series.
    await vi.waitFor(() => expect(drawn).toHaveLength(5));
    const plot = (id: string) => drawn.find((d) => root.querySelector(`[data-testid="chart-${id}"]`)?.contains(d.target));
    expect(plot('conversations')?.data).toEqual([[0, 1, 2], [2, 0, 3], [1, 0, 2]]);
    expect(plot('conversations')?.target.querySelector('canvas')).not.toBeNull();
    expect(plot('messages')?.data).toEqual([[0, 1, 2], [20, 0, 30]]);
    expect(plot('first-response')?.data).toEqual([[0, 1, 2], [30, null, 60], [90, null, 180]]);
    expect(plot('first-response')?.opts.series.map((s) => s.label)).toEqual(['Day', 'Median', 'p90']);
    expect(plot('resolution')?.data).toEqual([[0, 1, 2], [600, 600, 600], [1800, 1800, 1800]]);
    expect(plot('csat')?.data).toEqual([[0, 1, 2], [75, 75, 75]]);
    expect(root.querySelectorAll('[data-testid="stats-days"] tbody tr')).toHaveLength(3);
    expect(root.querySelector('[data-testid="stats-days"] tbody tr')?.textContent).toContain('median 30 s, p90 1 min 30 s');
    expect(root.querySelector('[data-testid="stats-agents"] tbody th')?.textContent).toBe('ag_1');
    expect(root.querySelector('[data-testid="stats-groups"] tbody th')?.textContent).toBe('Default group');
    expect(root.querySelector('[data-testid="stats-csv"]')?.getAttribute('href')).toContain('format=csv');

    await type(byLabel(root, 'Agent'), 'ag_1');
    await click(byLabel(root, 'Count working hours only'));
    await click(root.querySelector('[data-testid="stats-filters"] button[type="submit"]'));
    expect(calls).toHaveLength(2);
    expect(calls[1]?.query).toMatchObject({ agent_id: 'ag_1', business_hours: 'true' });
    expect(root.querySelector('[data-testid="stats-csv"]')?.getAttribute('href')).toContain('agent_id=ag_1');
    // The new report redraws the charts: the old plots are gone.
    await vi.waitFor(() => expect(drawn).toHaveLength(10));
    expect(drawn.slice(0, 5).every((d) => d.destroyed)).toBe(true);
    unmount();
    expect(drawn.every((d) => d.destroyed)).toBe(true);
  });

  it('offers agents and groups by name when the directory can be read, through the same picker', async () => {
    const page = <T,>(items: T[]) => ({ items, next_cursor: null });
    const { client, calls } = fakeClient({
      'GET /v1/stats': () => ({ ...answer }),
      'GET /v1/agents': () => page([{ id: 'ag_1', name: 'Li Lei' }]),
      'GET /v1/groups': () => page([{ id: 'gr_1', name: 'Sales' }]),
    });
    const { root, unmount } = await mount(Stats, client, ['stats.view', 'agents.manage']);
    await vi.waitFor(() => expect(byLabel(root, 'Group')?.tagName).toBe('SELECT'));
    const options = (label: string) => [...(byLabel(root, label)?.querySelectorAll('option') ?? [])].map((o) => [o.value, o.textContent]);
    expect(options('Agent')).toEqual([
      ['', 'All'],
      ['ag_1', 'Li Lei'],
    ]);
    expect(options('Group')).toEqual([
      ['', 'All'],
      ['gr_1', 'Sales'],
    ]);
    expect(root.querySelector('[data-testid="stats-agents"] tbody th')?.textContent).toBe('Li Lei');
    await type(byLabel(root, 'Group'), 'gr_1');
    await click(root.querySelector('[data-testid="stats-filters"] button[type="submit"]'));
    expect(calls.filter((c) => c.path === '/v1/stats').at(-1)?.query).toMatchObject({ group_id: 'gr_1' });
    expect('agent_id' in (calls.filter((c) => c.path === '/v1/stats').at(-1)?.query ?? {})).toBe(false);
    unmount();
  });

  it('says so when a chart cannot be drawn, and keeps the table', async () => {
    const { client } = fakeClient({ 'GET /v1/stats': () => ({ ...answer, by_day: [] }) });
    // This report's charts are drawn by a uPlot that fails, as without a canvas.
    const uplot = await import('uplot');
    const spy = vi.spyOn(uplot.default.paths, 'bars').mockImplementation(() => {
      throw new Error('no canvas');
    });
    const { root, unmount } = await mount(Stats, client, ['stats.view']);
    await vi.waitFor(() => expect(root.querySelector('[data-testid="chart-conversations"]')?.textContent).toContain('could not be drawn'));
    expect(root.querySelector<HTMLElement>('[data-testid="chart-conversations"] [role="img"]')?.hidden).toBe(true);
    expect(root.querySelector('[data-testid="stats-days"]')).not.toBeNull();
    spy.mockRestore();
    unmount();
  });
});
