// @vitest-environment happy-dom
import { describe, expect, it, vi } from 'vitest';
import { byLabel, click, fakeClient, mount, type } from '../testing';
import { Retention } from './retention';

const report = (dry: boolean) => ({
  dry_run: dry,
  cutoff: '2025-03-01T00:00:00Z',
  conversations: 12,
  messages: 340,
  archived: dry ? 0 : 12,
  archives: dry ? [] : ['archive/tn_1/2025-02-01/cv_1.jsonl.gz'],
  skipped_open: 2,
  complete: true,
});

describe('retention screen', () => {
  it('loads and saves the period', async () => {
    const { client, calls } = fakeClient({
      'GET /v1/settings/retention': () => ({ messages_days: null, archive_before_delete: true }),
      'PUT /v1/settings/retention': (c) => c.body,
    });
    const { root, announced, unmount } = await mount(Retention, client, ['settings.manage']);
    await click(root.querySelector('input[name="retention-keep"]:not(:checked)'));
    await type(byLabel(root, 'Days'), '0');
    await click(root.querySelector('[data-testid="retention-form"] button[type="submit"]'));
    expect(calls.some((c) => c.method === 'PUT')).toBe(false);
    expect(root.textContent).toContain('Enter a whole number of days, at least 1.');
    await type(byLabel(root, 'Days'), '180');
    await click(root.querySelector('[data-testid="retention-form"] button[type="submit"]'));
    expect(calls.find((c) => c.method === 'PUT')?.body).toEqual({ messages_days: 180, archive_before_delete: true });
    expect(announced).toContain('Saved.');
    unmount();
  });

  it('previews with a dry run, and runs for real only after the confirm', async () => {
    const { client, calls } = fakeClient({
      'GET /v1/settings/retention': () => ({ messages_days: 365, archive_before_delete: true }),
      'POST /v1/retention/run': (c) => report((c.body as { dry_run: boolean }).dry_run),
    });
    const { root, unmount } = await mount(Retention, client, ['settings.manage']);
    await click(root.querySelector('[data-testid="retention-preview"]'));
    expect(calls.at(-1)?.body).toEqual({ dry_run: true });
    const shown = () => root.querySelector('[data-testid="retention-report"]')?.textContent ?? '';
    expect(shown()).toContain('A sweep would');
    expect(shown()).toContain('Conversations to delete12');
    const confirm = vi.fn().mockReturnValueOnce(false).mockReturnValueOnce(true);
    window.confirm = confirm;
    await click(root.querySelector('[data-testid="retention-run"]'));
    expect(calls.filter((c) => c.method === 'POST')).toHaveLength(1);
    await click(root.querySelector('[data-testid="retention-run"]'));
    expect(confirm).toHaveBeenCalledTimes(2);
    expect(calls.at(-1)?.body).toEqual({ dry_run: false });
    expect(shown()).toContain('Conversations deleted12');
    expect(shown()).toContain('Archive objects (1)');
    unmount();
  });
});
