// @vitest-environment happy-dom
import { describe, expect, it, vi } from 'vitest';
import { byLabel, click, fakeClient, mount, type } from '../../testing';
import { Webhooks } from './webhooks';

const delivery = (id: string, status: 'pending' | 'succeeded' | 'failed', last_status: number | null, last_answer: string | null) => ({
  id,
  event: 'message.created',
  url: 'https://hooks.example.com/kefu',
  status,
  attempts: status === 'failed' ? 5 : 1,
  last_status,
  last_answer,
  created_at: '2026-12-01T10:00:00Z',
  updated_at: '2026-12-01T10:20:00Z',
});

describe('webhooks screen', () => {
  it('masks the secret until revealed, copies it, and rotates it only after the confirm', async () => {
    let secret = 'whsec_first_secret_value';
    const { client, calls } = fakeClient({
      'GET /v1/settings/webhooks': () => ({ secret }),
      'POST /v1/settings/webhooks/rotate': () => {
        secret = 'whsec_second_secret_value';
        return { secret };
      },
      'GET /v1/webhook_deliveries': () => ({ items: [], next_cursor: null }),
    });
    const writeText = vi.fn().mockResolvedValue(undefined);
    Object.defineProperty(navigator, 'clipboard', { value: { writeText }, configurable: true });
    const { root, announced, unmount } = await mount(Webhooks, client, ['rules.manage']);
    const shown = () => root.querySelector('[data-testid="webhook-secret"]')?.textContent ?? '';
    expect(shown()).toBe('whse••••••••••••••••••••');
    expect(shown()).not.toContain('first');
    await click(root.querySelector('[data-testid="webhook-reveal"]'));
    expect(shown()).toBe('whsec_first_secret_value');
    expect(root.querySelector('[data-testid="webhook-reveal"]')?.getAttribute('aria-pressed')).toBe('true');
    await click(root.querySelector('[data-testid="webhook-copy"]'));
    expect(writeText).toHaveBeenCalledWith('whsec_first_secret_value');
    expect(announced).toContain('Copied');

    await click(root.querySelector('[data-testid="webhook-rotate"]'));
    expect(document.body.textContent).toContain('Rotate the signing secret?');
    await click(document.querySelector('[data-testid="webhook-rotate-cancel"]'));
    expect(calls.some((c) => c.method === 'POST')).toBe(false);
    await click(root.querySelector('[data-testid="webhook-rotate"]'));
    await click(document.querySelector('[data-testid="webhook-rotate-confirm"]'));
    expect(calls.filter((c) => c.method === 'POST')).toHaveLength(1);
    expect(announced).toContain('A new signing secret is in use.');
    // The new one is masked again.
    expect(shown()).not.toContain('second');
    await click(root.querySelector('[data-testid="webhook-reveal"]'));
    expect(shown()).toBe('whsec_second_secret_value');
    unmount();
  });

  it('lists deliveries with tries and last answer, filters by status and refreshes', async () => {
    let answer = [delivery('wh_1', 'failed', 500, 'Internal Server Error'), delivery('wh_2', 'succeeded', 200, 'ok')];
    const { client, calls } = fakeClient({
      'GET /v1/settings/webhooks': () => ({ secret: 'whsec_x_secret' }),
      'GET /v1/webhook_deliveries': (c) => {
        const status = (c.query as { status?: string } | undefined)?.status;
        return { items: status ? answer.filter((d) => d.status === status) : answer, next_cursor: null };
      },
    });
    const { root, unmount } = await mount(Webhooks, client, ['rules.manage']);
    const rows = () => [...root.querySelectorAll('[data-testid="webhook-deliveries"] tbody tr')].map((r) => r.textContent ?? '');
    expect(rows()).toHaveLength(2);
    expect(rows()[0]).toContain('message.created');
    expect(rows()[0]).toContain('Failed');
    expect(rows()[0]).toContain('500 Internal Server Error');
    expect(rows()[0]).toContain('5');
    const lists = () => calls.filter((c) => c.path === '/v1/webhook_deliveries');
    expect(lists()[0]?.query).toEqual({ status: undefined });

    await type(byLabel(root, 'Delivery status'), 'failed');
    await new Promise((r) => setTimeout(r, 0));
    await click(root.querySelector('[data-testid="webhook-refresh"]'));
    expect(lists().at(-1)?.query).toEqual({ status: 'failed' });
    expect(rows()).toHaveLength(1);

    answer = [delivery('wh_3', 'failed', null, 'connection refused'), ...answer];
    await click(root.querySelector('[data-testid="webhook-refresh"]'));
    expect(rows()).toHaveLength(2);
    expect(rows()[0]).toContain('connection refused');

    await type(byLabel(root, 'Delivery status'), 'pending');
    await click(root.querySelector('[data-testid="webhook-refresh"]'));
    expect(root.querySelector('[data-testid="webhook-none"]')?.textContent).toBe('No deliveries.');
    unmount();
  });
});
