// @vitest-environment happy-dom
import { describe, expect, it } from 'vitest';
import { byLabel, click, fakeClient, mount, type } from '../../testing';
import { Assignment } from './assignment';

const settings = {
  strategy: 'least_loaded',
  queue_when_full: true,
  sticky_returning_customers: true,
  default_group_id: null,
  schedule_id: null,
  reassign_unanswered_seconds: null,
  requeue_on_offline: false,
  auto_away_minutes: null,
};

describe('assignment settings screen', () => {
  it('saves the reassignment seconds and requeue on offline, refusing a bad number', async () => {
    const { client, calls } = fakeClient({
      'GET /v1/settings/assignment': () => settings,
      'GET /v1/schedules': () => ({ items: [], next_cursor: null }),
      'PUT /v1/settings/assignment': (c) => c.body,
    });
    const { root, announced, unmount } = await mount(Assignment, client, ['settings.manage']);
    const submit = () => click(root.querySelector('form button[type="submit"]'));
    const seconds = byLabel(root, 'Move an unanswered conversation to another agent after (seconds)');
    expect((seconds as HTMLInputElement).value).toBe('');
    await type(seconds, '0');
    await submit();
    expect(calls.some((c) => c.method === 'PUT')).toBe(false);
    expect(root.textContent).toContain('Enter a whole number of seconds, at least 1, or leave it empty.');
    await type(seconds, '90');
    await click(root.querySelector('input[name="requeue-on-offline"]'));
    await submit();
    expect(calls.find((c) => c.method === 'PUT')?.body).toEqual({
      ...settings,
      reassign_unanswered_seconds: 90,
      requeue_on_offline: true,
    });
    expect(announced).toContain('Saved.');
    await type(seconds, '');
    await submit();
    expect((calls.filter((c) => c.method === 'PUT').at(-1)?.body as { reassign_unanswered_seconds: unknown }).reassign_unanswered_seconds).toBeNull();
    unmount();
  });

  it('saves auto-away minutes, refusing a bad number, and clears them', async () => {
    const { client, calls } = fakeClient({
      'GET /v1/settings/assignment': () => ({ ...settings, auto_away_minutes: 10 }),
      'GET /v1/schedules': () => ({ items: [], next_cursor: null }),
      'PUT /v1/settings/assignment': (c) => c.body,
    });
    const { root, unmount } = await mount(Assignment, client, ['settings.manage']);
    const submit = () => click(root.querySelector('form button[type="submit"]'));
    const minutes = byLabel(root, 'Set an idle agent away after (minutes)');
    expect((minutes as HTMLInputElement).value).toBe('10');
    await type(minutes, '1.5');
    await submit();
    expect(calls.some((c) => c.method === 'PUT')).toBe(false);
    expect(root.textContent).toContain('Enter a whole number of minutes, at least 1, or leave it empty.');
    await type(minutes, '5');
    await submit();
    expect(calls.find((c) => c.method === 'PUT')?.body).toEqual({ ...settings, auto_away_minutes: 5 });
    await type(minutes, '');
    await submit();
    expect((calls.filter((c) => c.method === 'PUT').at(-1)?.body as { auto_away_minutes: unknown }).auto_away_minutes).toBeNull();
    unmount();
  });
});
