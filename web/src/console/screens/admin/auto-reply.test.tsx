// @vitest-environment happy-dom
import { describe, expect, it } from 'vitest';
import { ApiError } from '../../../shared/http';
import { byLabel, click, fakeClient, mount, type } from '../../testing';
import { AutoReply } from './auto-reply';

describe('auto-reply screen', () => {
  it('loads the messages and saves them, a blank one as null', async () => {
    const { client, calls } = fakeClient({
      'GET /v1/settings/auto_reply': () => ({ enabled: false, welcome: null, off_hours: 'We open at 9.' }),
      'PUT /v1/settings/auto_reply': (c) => c.body,
    });
    const { root, announced, unmount } = await mount(AutoReply, client, ['settings.manage']);
    expect((byLabel(root, 'Off-hours message') as HTMLTextAreaElement).value).toBe('We open at 9.');
    await click(root.querySelector('input[name="auto-reply-enabled"]'));
    await type(byLabel(root, 'Welcome message'), ' Hello! How can we help? ');
    await type(byLabel(root, 'Off-hours message'), '   ');
    await click(root.querySelector('[data-testid="auto-reply-save"]'));
    expect(calls.find((c) => c.method === 'PUT')?.body).toEqual({ enabled: true, welcome: 'Hello! How can we help?', off_hours: null });
    expect(announced).toContain('Saved.');
    // The form shows what the server kept.
    expect((byLabel(root, 'Welcome message') as HTMLTextAreaElement).value).toBe('Hello! How can we help?');
    unmount();
  });

  it('shows a refusal at the field it names', async () => {
    const { client } = fakeClient({
      'GET /v1/settings/auto_reply': () => ({ enabled: true, welcome: 'Hi', off_hours: null }),
      'PUT /v1/settings/auto_reply': () => {
        throw new ApiError(400, { code: 'validation_failed', message: 'must be 1..=4000 characters', field: 'welcome' });
      },
    });
    const { root, announced, unmount } = await mount(AutoReply, client, ['settings.manage']);
    await click(root.querySelector('[data-testid="auto-reply-save"]'));
    const welcome = byLabel(root, 'Welcome message');
    expect(welcome?.getAttribute('aria-invalid')).toBe('true');
    const describedBy = welcome?.getAttribute('aria-describedby') ?? '';
    expect(describedBy.split(' ').map((id) => root.querySelector(`[id="${id}"]`)?.textContent)).toContain('must be 1..=4000 characters');
    expect(byLabel(root, 'Off-hours message')?.getAttribute('aria-invalid')).toBeNull();
    expect(announced).not.toContain('Saved.');
    unmount();
  });
});
