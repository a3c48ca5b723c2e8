// @vitest-environment happy-dom
import { describe, expect, it, vi } from 'vitest';
import { ApiError } from '../../shared/http';
import { byLabel, click, fakeClient, mount, type } from '../testing';
import { Notifications } from './notifications';

const prefs = {
  desktop: true,
  mobile: true,
  email: true,
  sms: false,
  sms_number: null,
  working_hours_only: false,
  dnd_until: null,
  events: ['conversation.new', 'message.new', 'conversation.assigned', 'ticket.assigned', 'conversation.unanswered', 'approval.requested'],
};

const devices = () => ({
  items: [
    { id: 'dv_1', platform: 'apns', created_at: '2026-11-20T08:00:00Z' },
    { id: 'dv_2', platform: 'fcm', created_at: '2026-11-25T08:00:00Z' },
  ],
  next_cursor: null,
});

describe('my notifications screen', () => {
  it('saves the channels, the quiet times and the kinds', async () => {
    const { client, calls } = fakeClient({
      'GET /v1/me/notifications': () => prefs,
      'PUT /v1/me/notifications': (c) => c.body,
      'GET /v1/me/devices': () => ({ items: [], next_cursor: null }),
    });
    const { root, announced, unmount } = await mount(Notifications, client);
    await click(root.querySelector('input[name="email"]'));
    await click(root.querySelector('input[name="sms"]'));
    await type(byLabel(root, 'SMS number'), '+8613800138000');
    await click(root.querySelector('input[name="working_hours_only"]'));
    await click(root.querySelector('input[name="event-message.new"]'));
    expect((byLabel(root, 'Do not disturb until') as HTMLInputElement).disabled).toBe(true);
    await click(root.querySelector('input[name="dnd"]'));
    await type(byLabel(root, 'Do not disturb until'), '2027-01-01T09:30');
    await click(root.querySelector('[data-testid="notifications-save"]'));
    expect(calls.find((c) => c.method === 'PUT')?.body).toEqual({
      desktop: true,
      mobile: true,
      email: false,
      sms: true,
      sms_number: '+8613800138000',
      working_hours_only: true,
      dnd_until: new Date(2027, 0, 1, 9, 30).toISOString(),
      events: ['conversation.new', 'conversation.assigned', 'ticket.assigned', 'conversation.unanswered', 'approval.requested'],
    });
    expect(announced).toContain('Saved.');
    expect(root.querySelector('[data-testid="devices-none"]')?.textContent).toBe('No phone is registered.');
    unmount();
  });

  it('shows a refused sms_number at its field, and a missing do-not-disturb time before sending', async () => {
    const { client, calls } = fakeClient({
      'GET /v1/me/notifications': () => prefs,
      'PUT /v1/me/notifications': () => {
        throw new ApiError(400, { code: 'validation_failed', message: 'must be a number in E.164 form (+ then 8 to 15 digits) or null', field: 'sms_number' });
      },
      'GET /v1/me/devices': () => ({ items: [], next_cursor: null }),
    });
    const { root, announced, unmount } = await mount(Notifications, client);
    await click(root.querySelector('input[name="dnd"]'));
    await click(root.querySelector('[data-testid="notifications-save"]'));
    expect(calls.some((c) => c.method === 'PUT')).toBe(false);
    expect(byLabel(root, 'Do not disturb until')?.getAttribute('aria-invalid')).toBe('true');
    expect(root.textContent).toContain('Choose a date and time, or turn do-not-disturb off.');

    await click(root.querySelector('input[name="dnd"]'));
    await type(byLabel(root, 'SMS number'), '13800138000');
    await click(root.querySelector('[data-testid="notifications-save"]'));
    expect(calls.find((c) => c.method === 'PUT')?.body).toMatchObject({ sms_number: '13800138000', dnd_until: null });
    const number = byLabel(root, 'SMS number');
    expect(number?.getAttribute('aria-invalid')).toBe('true');
    const described = (number?.getAttribute('aria-describedby') ?? '').split(' ').map((id) => root.querySelector(`[id="${id}"]`)?.textContent);
    expect(described).toContain('must be a number in E.164 form (+ then 8 to 15 digits) or null');
    expect(root.querySelector('[role="alert"]')?.textContent).toBe('The server refused the preferences: see the marked field.');
    expect(byLabel(root, 'Do not disturb until')?.getAttribute('aria-invalid')).toBeNull();
    expect(announced).not.toContain('Saved.');
    unmount();
  });

  it('lists my phones and forgets one after the confirm', async () => {
    let have = devices();
    const { client, calls } = fakeClient({
      'GET /v1/me/notifications': () => prefs,
      'GET /v1/me/devices': () => have,
      'DELETE /v1/me/devices/dv_1': () => {
        have = { ...have, items: have.items.filter((d) => d.id !== 'dv_1') };
        return null;
      },
    });
    const { root, announced, unmount } = await mount(Notifications, client);
    const rows = () => [...root.querySelectorAll('[data-testid="devices"] tbody tr')].map((r) => r.textContent ?? '');
    expect(rows()).toHaveLength(2);
    expect(rows()[0]).toContain('iPhone (APNs)');
    expect(rows()[1]).toContain('Android (FCM)');
    window.confirm = vi.fn().mockReturnValueOnce(false).mockReturnValueOnce(true);
    const forget = () => root.querySelector('button[aria-label="Forget iPhone (APNs) dv_1"]');
    await click(forget());
    expect(calls.some((c) => c.method === 'DELETE')).toBe(false);
    await click(forget());
    expect(calls.filter((c) => c.method === 'DELETE').map((c) => c.path)).toEqual(['/v1/me/devices/dv_1']);
    expect(announced).toContain('Phone forgotten.');
    expect(rows()).toHaveLength(1);
    expect(rows()[0]).toContain('Android (FCM)');
    unmount();
  });
});
