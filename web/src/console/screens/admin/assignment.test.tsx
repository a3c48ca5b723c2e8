// @vitest-environment happy-dom
import { describe, expect, it } from 'vitest';
import { ApiError } from '../../../shared/http';
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
  overflow: [],
};

const groups = {
  items: [
    { id: 'gr_sales', name: 'Sales', agent_ids: [], schedule_id: null },
    { id: 'gr_support', name: 'Support', agent_ids: [], schedule_id: null },
    { id: 'gr_vip', name: 'VIP', agent_ids: [], schedule_id: null },
  ],
  next_cursor: null,
};

/** The overflow rows on screen. */
const rows = (root: HTMLElement) => [...root.querySelectorAll<HTMLElement>('[data-testid="overflow-rule"]')];
/** The control of a row labelled `text`. */
const inRow = (row: HTMLElement | undefined, text: string) => {
  const el = row && byLabel(row, text);
  if (!(el instanceof HTMLInputElement || el instanceof HTMLSelectElement)) throw new Error(`no control "${text}" in the row`);
  return el;
};
/** The text of the error a control's `aria-describedby` points at. */
const errorOf = (el: Element) =>
  (el.getAttribute('aria-describedby') ?? '')
    .split(' ')
    .map((id) => document.getElementById(id))
    .filter((e) => e?.classList.contains('error'))
    .map((e) => e?.textContent)
    .join(' ');

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

  it('shows the saved overflow rules with group names, and saves them after adding and removing rows', async () => {
    const { client, calls } = fakeClient({
      'GET /v1/settings/assignment': () => ({
        ...settings,
        overflow: [
          { from_group_id: 'gr_sales', to_group_id: 'gr_support', after_seconds: 60 },
          { from_group_id: 'gr_support', to_group_id: 'gr_vip', after_seconds: 300 },
        ],
      }),
      'GET /v1/groups': () => groups,
      'GET /v1/schedules': () => ({ items: [], next_cursor: null }),
      'PUT /v1/settings/assignment': (c) => c.body,
    });
    const { root, announced, unmount } = await mount(Assignment, client, ['settings.manage', 'agents.manage']);
    expect(root.querySelector('fieldset legend')?.textContent).toBe('Overflow between groups');
    let r = rows(root);
    expect(r).toHaveLength(2);
    expect(r[0]?.getAttribute('aria-label')).toBe('Overflow rule 1');
    const from = inRow(r[0], 'From group');
    expect(from.tagName).toBe('SELECT');
    expect(from.value).toBe('gr_sales');
    expect((from as HTMLSelectElement).selectedOptions[0]?.textContent).toBe('Sales');
    expect(inRow(r[0], 'To group').value).toBe('gr_support');
    expect(inRow(r[0], 'After (seconds in the queue)').value).toBe('60');
    expect(inRow(r[1], 'To group').value).toBe('gr_vip');

    // Remove the first rule; add a new one.
    await click(root.querySelector('button[aria-label="Remove overflow rule 1"]'));
    expect(rows(root)).toHaveLength(1);
    expect(inRow(rows(root)[0], 'From group').value).toBe('gr_support');
    await click(root.querySelector('[data-testid="overflow-add"]'));
    r = rows(root);
    expect(r).toHaveLength(2);
    expect(inRow(r[1], 'From group').value).toBe('');
    await type(inRow(r[1], 'From group'), 'gr_vip');
    await type(inRow(r[1], 'To group'), 'gr_sales');
    await type(inRow(r[1], 'After (seconds in the queue)'), '45');
    await click(root.querySelector('form button[type="submit"]'));
    expect(calls.find((c) => c.method === 'PUT')?.body).toEqual({
      ...settings,
      overflow: [
        { from_group_id: 'gr_support', to_group_id: 'gr_vip', after_seconds: 300 },
        { from_group_id: 'gr_vip', to_group_id: 'gr_sales', after_seconds: 45 },
      ],
    });
    expect(announced).toContain('Saved.');

    // Removing every rule sends an empty list.
    await click(root.querySelector('button[aria-label="Remove overflow rule 2"]'));
    await click(root.querySelector('button[aria-label="Remove overflow rule 1"]'));
    expect(rows(root)).toHaveLength(0);
    await click(root.querySelector('form button[type="submit"]'));
    expect((calls.filter((c) => c.method === 'PUT').at(-1)?.body as { overflow: unknown }).overflow).toEqual([]);
    unmount();
  });

  it('refuses an overflow rule without whole seconds from 1 to 86400, into its own group, or twice, marking the row', async () => {
    const { client, calls } = fakeClient({
      'GET /v1/settings/assignment': () => settings,
      'GET /v1/groups': () => groups,
      'GET /v1/schedules': () => ({ items: [], next_cursor: null }),
      'PUT /v1/settings/assignment': (c) => c.body,
    });
    const { root, unmount } = await mount(Assignment, client, ['settings.manage', 'agents.manage']);
    const submit = () => click(root.querySelector('form button[type="submit"]'));
    expect(rows(root)).toHaveLength(0);
    await click(root.querySelector('[data-testid="overflow-add"]'));
    await click(root.querySelector('[data-testid="overflow-add"]'));
    const [a, b] = rows(root);
    // Nothing chosen yet.
    await submit();
    expect(calls.some((c) => c.method === 'PUT')).toBe(false);
    expect(inRow(a, 'From group').getAttribute('aria-invalid')).toBe('true');
    expect(errorOf(inRow(a, 'From group'))).toBe('Choose a group.');

    await type(inRow(a, 'From group'), 'gr_sales');
    await type(inRow(a, 'To group'), 'gr_sales');
    await type(inRow(b, 'From group'), 'gr_support');
    await type(inRow(b, 'To group'), 'gr_vip');
    for (const bad of ['0', '1.5', '86401', 'soon']) {
      await type(inRow(a, 'After (seconds in the queue)'), bad);
      await type(inRow(b, 'After (seconds in the queue)'), '30');
      await submit();
      expect(calls.some((c) => c.method === 'PUT')).toBe(false);
      const seconds = inRow(a, 'After (seconds in the queue)');
      expect(seconds.getAttribute('aria-invalid')).toBe('true');
      expect(errorOf(seconds)).toBe('Enter a whole number of seconds from 1 to 86400.');
      expect(errorOf(inRow(a, 'To group'))).toBe('Choose a group other than the one it overflows from.');
      // The other row is fine and stays unmarked.
      expect(inRow(b, 'After (seconds in the queue)').getAttribute('aria-invalid')).toBeNull();
      expect(inRow(b, 'To group').getAttribute('aria-invalid')).toBeNull();
    }

    // The same pair twice is marked on the second rule.
    await type(inRow(a, 'To group'), 'gr_vip');
    await type(inRow(a, 'From group'), 'gr_support');
    await type(inRow(a, 'After (seconds in the queue)'), '86400');
    await submit();
    expect(calls.some((c) => c.method === 'PUT')).toBe(false);
    expect(inRow(a, 'To group').getAttribute('aria-invalid')).toBeNull();
    expect(errorOf(inRow(b, 'To group'))).toBe('Another rule already joins these two groups.');

    await type(inRow(b, 'From group'), 'gr_sales');
    await submit();
    expect(calls.find((c) => c.method === 'PUT')?.body).toEqual({
      ...settings,
      overflow: [
        { from_group_id: 'gr_support', to_group_id: 'gr_vip', after_seconds: 86400 },
        { from_group_id: 'gr_sales', to_group_id: 'gr_vip', after_seconds: 30 },
      ],
    });
    expect(inRow(a, 'After (seconds in the queue)').getAttribute('aria-invalid')).toBeNull();
    unmount();
  });

  it('shows the server refusing overflow[0].to_group_id on that row, with id inputs when groups cannot be listed', async () => {
    const { client, calls } = fakeClient({
      'GET /v1/settings/assignment': () => ({
        ...settings,
        overflow: [
          { from_group_id: 'gr_sales', to_group_id: 'gr_gone', after_seconds: 60 },
          { from_group_id: 'gr_support', to_group_id: 'gr_vip', after_seconds: 120 },
        ],
      }),
      'GET /v1/schedules': () => ({ items: [], next_cursor: null }),
      'PUT /v1/settings/assignment': () => {
        throw new ApiError(400, { code: 'validation_failed', message: 'no such group', field: 'overflow[0].to_group_id' });
      },
    });
    const { root, announced, unmount } = await mount(Assignment, client, ['settings.manage']);
    expect(calls.some((c) => c.path === '/v1/groups')).toBe(false);
    const [a, b] = rows(root);
    const to = inRow(a, 'To group');
    expect(to.tagName).toBe('INPUT');
    expect(to.value).toBe('gr_gone');
    expect(errorOf(to)).toBe('');
    expect(to.getAttribute('aria-describedby')).toMatch(/-hint$/);
    await click(root.querySelector('form button[type="submit"]'));
    expect((calls.find((c) => c.method === 'PUT')?.body as { overflow: unknown }).overflow).toEqual([
      { from_group_id: 'gr_sales', to_group_id: 'gr_gone', after_seconds: 60 },
      { from_group_id: 'gr_support', to_group_id: 'gr_vip', after_seconds: 120 },
    ]);
    expect(to.getAttribute('aria-invalid')).toBe('true');
    expect(errorOf(to)).toBe('no such group');
    expect(root.querySelector('[role="alert"]')?.textContent).toBe('The server refused an overflow rule: see the marked field.');
    expect(inRow(a, 'From group').getAttribute('aria-invalid')).toBeNull();
    expect(inRow(b, 'To group').getAttribute('aria-invalid')).toBeNull();
    expect(announced).not.toContain('Saved.');
    unmount();
  });
});
