// @vitest-environment happy-dom
import { afterEach, describe, expect, it, vi } from 'vitest';
import { byLabel, click, fakeClient, mount, settle, type } from '../testing';
import { Exports } from './exports';

afterEach(() => {
  vi.useRealTimers();
  sessionStorage.clear();
});

const base = { kind: 'conversations', format: 'csv', created_at: '2026-03-01T10:00:00Z' };

describe('exports screen', () => {
  it('creates an export, polls it with its row count until done, then shows the link and its life', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    let reads = 0;
    const { client, calls } = fakeClient({
      'POST /v1/exports': () => ({ ...base, id: 'ex_1', status: 'queued', rows: 0 }),
      'GET /v1/exports/ex_1': () => {
        reads++;
        return reads < 2
          ? { ...base, id: 'ex_1', status: 'running', rows: 1200 }
          : { ...base, id: 'ex_1', status: 'done', rows: 5000, download_url: 'https://dl.example/ex_1?sig=x', expires_at: new Date(Date.now() + 15 * 60000).toISOString() };
      },
    });
    const { root, announced, unmount } = await mount(Exports, client, ['exports.create']);
    await type(byLabel(root, 'What'), 'customers');
    await type(byLabel(root, 'Format'), 'jsonl');
    await click(root.querySelector('[data-testid="export-create"]'));
    expect(calls[0]).toMatchObject({ method: 'POST', path: '/v1/exports', body: { kind: 'customers', format: 'jsonl' } });
    expect(root.querySelector('[data-testid="export-row"]')?.getAttribute('data-status')).toBe('queued');
    vi.advanceTimersByTime(2000);
    await settle();
    const row = () => root.querySelector('[data-testid="export-row"]');
    expect(row()?.getAttribute('data-status')).toBe('running');
    expect(row()?.textContent).toContain('1200');
    vi.advanceTimersByTime(2000);
    await settle();
    expect(row()?.getAttribute('data-status')).toBe('done');
    const link = root.querySelector<HTMLAnchorElement>('[data-testid="export-download"]');
    expect(link?.getAttribute('href')).toBe('https://dl.example/ex_1?sig=x');
    expect(row()?.textContent).toContain('15 minutes');
    expect(announced).toContain('Export ex_1 is ready to download.');
    // Done: no more reads.
    vi.advanceTimersByTime(6000);
    await settle();
    expect(reads).toBe(2);
    unmount();
  });

  it('says when the export waits for approval, and does not poll it', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    const { client, calls } = fakeClient({
      'POST /v1/exports': () => ({ approval_id: 'ap_9', status: 'pending', id: 'ex_2' }),
    });
    const { root, announced, unmount } = await mount(Exports, client, ['exports.create']);
    await click(root.querySelector('[data-testid="export-create"]'));
    expect(announced).toContain('This export needs approval: it starts once a reviewer approves it.');
    expect(root.querySelector('[data-testid="export-row"]')?.textContent).toContain('Waiting for approval (ap_9)');
    vi.advanceTimersByTime(6000);
    await settle();
    expect(calls.filter((c) => c.method === 'GET')).toEqual([]);
    unmount();
  });

  it('refuses an end before the start without asking the server', async () => {
    const { client, calls } = fakeClient({});
    const { root, unmount } = await mount(Exports, client, ['exports.create']);
    await type(byLabel(root, 'From'), '2026-03-02T00:00');
    await type(byLabel(root, 'Until (exclusive)'), '2026-03-01T00:00');
    await click(root.querySelector('[data-testid="export-create"]'));
    expect(calls).toEqual([]);
    expect(root.textContent).toContain('The end must be after the start.');
    unmount();
  });
});
