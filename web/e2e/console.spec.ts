// The console as agents and admins use it, in Chromium against a real `kefu serve`: a visitor writes through the
// widget on a page of another origin and an agent signed in to the console sees the conversation arrive live,
// replies and adds a note (the visitor gets the reply, never the note); an admin adds an agent and a group and
// changes a schedule; the built-in `agent` role never sees the admin screens; sign-in with TOTP; axe-core on the
// main screens; auto-replies, webhooks (a real receiver) and my notification preferences; screenshots for the docs.
import { createHmac } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect, test } from './fixtures';
import { call, login } from './api';
import { createAgent, expectAccessible, hotp, signIn, startChat, totp } from './console-helpers';
import { configureWidget, screenshot, widget } from './widget-helpers';

test('a visitor writes from another origin; the agent sees it live, replies and notes; the visitor never sees the note', async ({
  browser,
  page,
  env,
  newTenant,
  staff,
  hostPageUrl,
}) => {
  const tenant = await newTenant('Acme Console');
  const admin = await staff(tenant);
  // No pre-chat form: the visitor writes at once.
  await configureWidget(admin, { pre_chat_form: { enabled: false, fields: [] } });

  // The agent signs in and goes online from the console's own status control.
  await signIn(page, env, tenant, tenant.admin_email, tenant.admin_password);
  await expect(page.getByRole('heading', { name: 'Inbox', level: 1 })).toBeVisible();
  await page.getByLabel('My status').selectOption('online');
  await expect.poll(async () => (await admin.call<{ status: string }>('GET', '/v1/me')).status).toBe('online');
  await expect(page.locator('.live-open')).toBeVisible();
  await expect(page.getByTestId('conversation-item')).toHaveCount(0);
  await expectAccessible(page);
  // Marks this document: a reload or navigation would lose the mark.
  await page.evaluate(() => ((window as unknown as { __sameDocument: boolean }).__sameDocument = true));

  // A visitor on another origin opens the widget and writes.
  const visitorContext = await browser.newContext();
  const visitor = await visitorContext.newPage();
  await visitor.goto(hostPageUrl(tenant));
  expect(new URL(visitor.url()).origin).not.toBe(new URL(env.base).origin);
  const w = widget(visitor);
  await w.launcher.click();
  await expect(w.input).toBeVisible();
  await w.input.fill('Hello, is my parcel on its way?');
  await w.input.press('Enter');
  await expect(w.byAuthor('visitor')).toHaveText(/is my parcel on its way/);

  // It arrives in the agent's inbox without a reload.
  const item = page.getByTestId('conversation-item');
  await expect(item).toHaveCount(1);
  expect(await page.evaluate(() => (window as unknown as { __sameDocument?: boolean }).__sameDocument)).toBe(true);
  const conversationId = await item.getAttribute('data-conversation-id');
  expect(conversationId).toMatch(/^cv_/);
  await item.click();
  await expect(page.getByTestId('message').and(page.locator('[data-author="visitor"]'))).toHaveText(/is my parcel on its way/);
  // Why this agent: the routing decision names the admin as chosen.
  await expect(page.getByTestId('routing')).toContainText('Li Lei');
  await expect(page.getByTestId('customer-panel')).toBeVisible();

  // A second visitor message arrives live in the open conversation.
  await w.input.fill('Order 1234');
  await w.input.press('Enter');
  await expect(page.locator('[data-testid="message"][data-author="visitor"]')).toHaveCount(2);
  expect(await page.evaluate(() => (window as unknown as { __sameDocument?: boolean }).__sameDocument)).toBe(true);

  // Reply, then a note (chosen with the `n` shortcut), then another reply.
  await page.getByTestId('composer').fill('It ships today.');
  await page.getByTestId('send').click();
  await expect(page.locator('[data-testid="message"][data-author="agent"]')).toHaveCount(1);
  await page.getByTestId('composer').blur();
  await page.keyboard.press('n');
  await expect(page.getByTestId('composer')).toBeFocused();
  await expect(page.getByTestId('mode-note')).toBeChecked();
  await page.getByTestId('composer').fill('VIP, handle with care (internal)');
  await page.getByTestId('send').click();
  await expect(page.locator('[data-testid="message"][data-internal="true"]')).toHaveText(/VIP, handle with care/);
  await page.getByTestId('mode-reply').check();
  await page.getByTestId('composer').fill('Anything else?');
  await page.getByTestId('composer').press('Control+Enter');
  await expect(page.locator('[data-testid="message"][data-author="agent"]')).toHaveCount(3);
  await page.setViewportSize({ width: 1440, height: 960 });
  await screenshot(page, 'console-inbox');
  await expectAccessible(page);

  // The visitor sees both replies, in order, and never the note (it was sent between them).
  await expect(w.byAuthor('agent')).toHaveCount(2);
  await expect(w.byAuthor('agent').nth(0)).toHaveText(/It ships today\./);
  await expect(w.byAuthor('agent').nth(1)).toHaveText(/Anything else\?/);
  await expect(visitor.getByText('VIP, handle with care (internal)')).toHaveCount(0);

  // The server agrees: one note, two replies.
  const stored = await admin.messages(conversationId!);
  expect(stored.filter((m) => m.internal).map((m) => m.content)).toEqual(['VIP, handle with care (internal)']);

  // Tags, and the inbox's tag filter.
  await page.getByTestId('tags-input').fill('vip, delivery');
  await page.getByTestId('tags-input').press('Enter');
  await expect.poll(async () => (await admin.call<{ tags: string[] }>('GET', `/v1/conversations/${conversationId}`)).tags).toEqual([
    'vip',
    'delivery',
  ]);
  await expect(item).toContainText('#vip');
  const tagFilter = page.getByRole('form', { name: 'Filters' }).getByLabel('Tag');
  await tagFilter.fill('nothing-like-it');
  await tagFilter.press('Enter');
  await expect(page.getByTestId('conversation-item')).toHaveCount(0);
  await tagFilter.fill('vip');
  await tagFilter.press('Enter');
  await expect(page.getByTestId('conversation-item')).toHaveCount(1);

  // Close from the keyboard (c), then reopen.
  // Esc leaves the text field; then c closes.
  await page.keyboard.press('Escape');
  await page.keyboard.press('c');
  await expect(page.getByTestId('conversation-status')).toHaveText('Closed');
  await page.getByTestId('reopen-conversation').click();
  await expect(page.getByTestId('conversation-status')).not.toHaveText('Closed');
  await visitorContext.close();
});

test('an admin adds an agent and a group and changes a schedule', async ({ page, env, newTenant, staff }) => {
  const tenant = await newTenant('Acme Admin');
  const admin = await staff(tenant);
  await signIn(page, env, tenant, tenant.admin_email, tenant.admin_password);
  await expect(page.getByRole('heading', { name: 'Inbox', level: 1 })).toBeVisible();

  // Agents: add one.
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Agents' }).click();
  await expect(page.getByRole('heading', { name: 'Agents', level: 1 })).toBeFocused();
  await page.getByTestId('agent-add').click();
  const dialog = page.getByRole('dialog', { name: 'Add agent' });
  await dialog.getByLabel('Name').fill('Han Meimei');
  const email = `han-${Date.now()}@shop.example`;
  await dialog.getByLabel('Email').fill(email);
  await dialog.getByLabel('Password').fill('a long passphrase for han');
  await dialog.getByLabel('Role').selectOption('agent');
  await dialog.getByLabel('Skills').fill('refunds, english');
  await dialog.getByLabel('Most conversations at once').fill('3');
  await expectAccessible(page);
  await page.getByTestId('agent-save').click();
  await expect(dialog).toHaveCount(0);
  const row = page.locator(`tr[data-agent-email="${email}"]`);
  await expect(row).toContainText('Han Meimei');
  await expect(row).toContainText('0 / 3');
  await screenshot(page, 'console-admin-agents');
  await expectAccessible(page);

  // Groups: add one with the new agent in it.
  await page.getByRole('link', { name: 'Groups' }).click();
  await page.getByTestId('group-add').click();
  const gdialog = page.getByRole('dialog', { name: 'Add group' });
  await gdialog.getByLabel('Name').fill('After-sales');
  await gdialog.getByLabel(`Han Meimei (${email})`).check();
  await page.getByTestId('group-save').click();
  await expect(page.getByTestId('groups-table')).toContainText('After-sales');
  await expect(page.getByTestId('groups-table')).toContainText('Han Meimei');
  const groups = await admin.call<{ items: { name: string; agent_ids: string[] }[] }>('GET', '/v1/groups');
  expect(groups.items.find((g) => g.name === 'After-sales')?.agent_ids).toHaveLength(1);

  // Edit the agent, then disable it and enable it again.
  await page.getByRole('link', { name: 'Agents' }).click();
  await row.getByRole('button', { name: 'Edit Han Meimei' }).click();
  const edit = page.getByRole('dialog', { name: 'Edit Han Meimei' });
  await expect(edit.getByLabel('After-sales')).toBeChecked();
  await edit.getByLabel('Most conversations at once').fill('4');
  await page.getByTestId('agent-save').click();
  await expect(row).toContainText('0 / 4');
  await row.getByRole('button', { name: 'Disable Han Meimei' }).click();
  await expect(row).toContainText('Disabled');
  await expect(row.getByRole('button', { name: 'Enable Han Meimei' })).toBeVisible();
  const disabledOf = async () =>
    (await admin.call<{ items: { email: string; disabled: boolean }[] }>('GET', '/v1/agents')).items.find((a) => a.email === email)?.disabled;
  expect(await disabledOf()).toBe(true);
  await row.getByRole('button', { name: 'Enable Han Meimei' }).click();
  await expect(row.getByRole('button', { name: 'Disable Han Meimei' })).toBeVisible();
  await expect(row).not.toContainText('Disabled');
  expect(await disabledOf()).toBe(false);

  // Assignment settings: round robin, conversations without a group go to After-sales.
  await page.getByRole('link', { name: 'Assignment' }).click();
  await page.getByLabel('Strategy').selectOption('round_robin');
  await page.getByLabel('Group for conversations without one').selectOption({ label: 'After-sales' });
  await page.getByRole('button', { name: 'Save' }).click();
  await expect
    .poll(async () => admin.call<{ strategy: string; default_group_id: string | null }>('GET', '/v1/settings/assignment'))
    .toMatchObject({ strategy: 'round_robin', default_group_id: expect.stringMatching(/^gr_/) as unknown as string });

  // Overflow: a conversation queued in After-sales for two minutes is offered to Pre-sales too; kept after a reload.
  const presales = await admin.call<{ id: string }>('POST', '/v1/groups', { name: 'Pre-sales', agent_ids: [] });
  const aftersales = (await admin.call<{ items: { id: string; name: string }[] }>('GET', '/v1/groups')).items.find((g) => g.name === 'After-sales');
  await page.reload();
  const rule = page.getByTestId('overflow-rule');
  await expect(rule).toHaveCount(0);
  await page.getByTestId('overflow-add').click();
  await expect(rule).toHaveCount(1);
  await rule.getByLabel('From group').selectOption({ label: 'After-sales' });
  await rule.getByLabel('To group').selectOption({ label: 'Pre-sales' });
  await rule.getByLabel('After (seconds in the queue)').fill('120');
  await expectAccessible(page);
  await page.getByRole('button', { name: 'Save' }).click();
  await expect
    .poll(async () => admin.call<{ strategy: string; overflow: unknown }>('GET', '/v1/settings/assignment'))
    .toMatchObject({ strategy: 'round_robin', overflow: [{ from_group_id: aftersales?.id, to_group_id: presales.id, after_seconds: 120 }] });
  await page.reload();
  await expect(rule).toHaveCount(1);
  await expect(rule.getByLabel('From group').locator('option:checked')).toHaveText('After-sales');
  await expect(rule.getByLabel('To group').locator('option:checked')).toHaveText('Pre-sales');
  await expect(rule.getByLabel('After (seconds in the queue)')).toHaveValue('120');
  await screenshot(page, 'console-admin-assignment');

  // Roles: a custom role from the catalogue.
  await page.getByRole('link', { name: 'Roles and permissions' }).click();
  await page.getByRole('button', { name: 'Add role' }).click();
  await page.getByLabel('Name').fill('Auditor');
  await page.getByLabel('audit.view').check();
  await page.getByRole('button', { name: 'Save' }).click();
  await expect(page.getByRole('columnheader', { name: 'Auditor' })).toBeVisible();
  const roles = await admin.call<{ items: { name: string; permissions: string[] }[] }>('GET', '/v1/roles');
  expect(roles.items.find((r) => r.name === 'Auditor')?.permissions).toEqual(['audit.view']);

  // Schedules: add one, then change Monday's hours and add a holiday.
  await page.getByRole('link', { name: 'Schedules' }).click();
  await page.getByTestId('schedule-add').click();
  let sdialog = page.getByRole('dialog', { name: 'Add schedule' });
  await sdialog.getByLabel('Name').fill('Shanghai office');
  await sdialog.getByLabel('Time zone').fill('Asia/Shanghai');
  await page.getByTestId('schedule-save').click();
  const srow = page.locator('tr[data-schedule-name="Shanghai office"]');
  await expect(srow.locator('[data-day="mon"]')).toHaveText('09:00-18:00');
  await srow.getByRole('button', { name: 'Edit Shanghai office' }).click();
  sdialog = page.getByRole('dialog', { name: 'Edit Shanghai office' });
  await sdialog.getByLabel('Monday').fill('10:00-12:00, 13:00-19:30');
  await sdialog.getByLabel('Holidays').fill('2026-10-01');
  await page.getByTestId('schedule-save').click();
  await expect(srow.locator('[data-day="mon"]')).toHaveText('10:00-12:00, 13:00-19:30');
  const schedules = await admin.call<{ items: { name: string; weekly: Record<string, string[][]>; holidays: string[] }[] }>('GET', '/v1/schedules');
  const shanghai = schedules.items.find((s) => s.name === 'Shanghai office');
  expect(shanghai?.weekly.mon).toEqual([
    ['10:00', '12:00'],
    ['13:00', '19:30'],
  ]);
  expect(shanghai?.holidays).toEqual(['2026-10-01']);

  // Security settings: an allowlist without the admin's own IP asks first, and cancelling saves nothing.
  await page.getByRole('link', { name: 'Security' }).click();
  await page.getByTestId('ip-allowlist').fill('203.0.113.0/24');
  await page.getByTestId('security-save').click();
  await expect(page.getByRole('dialog', { name: 'You would lock yourself out' })).toBeVisible();
  await screenshot(page, 'console-security-lockout');
  await page.getByTestId('lockout-cancel').click();
  expect((await admin.call<{ ip_allowlist: string[] }>('GET', '/v1/settings/security')).ip_allowlist).toEqual([]);
  // With the loopback network in it, it saves at once.
  await page.getByTestId('ip-allowlist').fill('203.0.113.0/24\n127.0.0.0/8');
  await page.getByTestId('security-save').click();
  await expect.poll(async () => (await admin.call<{ ip_allowlist: string[] }>('GET', '/v1/settings/security')).ip_allowlist).toEqual([
    '203.0.113.0/24',
    '127.0.0.0/8',
  ]);
  await screenshot(page, 'console-security');
  await expectAccessible(page);

  // API keys: the key is shown once, then only its prefix.
  await page.getByRole('link', { name: 'API keys' }).click();
  await page.getByLabel('Name').fill('CRM sync');
  await page.getByLabel('customers.edit').check();
  await page.getByRole('button', { name: 'Create key' }).click();
  const keyDialog = page.getByRole('dialog', { name: 'Key “CRM sync” created' });
  const key = (await keyDialog.getByTestId('api-key-value').textContent()) ?? '';
  expect(key).toMatch(/^kfk_/);
  await keyDialog.getByRole('button', { name: 'I have stored it' }).click();
  await expect(page.getByRole('table')).toContainText('CRM sync');
  await expect(page.getByText(key)).toHaveCount(0);

  // The audit log, filtered by action.
  await page.getByRole('link', { name: 'Audit log' }).click();
  await page.getByLabel('Action').fill('agent.create');
  await page.getByRole('button', { name: 'Filter' }).click();
  const actions = page.getByTestId('audit-table').locator('tbody tr td:nth-child(3)');
  await expect(actions.first()).toHaveText('agent.create');
  expect(new Set(await actions.allTextContents())).toEqual(new Set(['agent.create']));

  // Widget settings: a title and an allowed site, and the embed snippet for the tenant's widget key.
  await page.getByRole('link', { name: 'Chat widget' }).click();
  await page.getByLabel('Title').fill('Acme help');
  await page.getByLabel('Allowed sites').fill('https://shop.example');
  await page.getByRole('button', { name: 'Save' }).click();
  await expect
    .poll(async () => admin.call<{ title: string; allowed_origins: string[] }>('GET', '/v1/settings/widget'))
    .toMatchObject({ title: 'Acme help', allowed_origins: ['https://shop.example'] });
  // The snippet carries the tenant's own widget key, read from the settings (nothing to paste).
  await expect(page.getByTestId('embed-snippet')).toContainText(`data-widget-key="${tenant.widget_key}"`);
  await expect(page.getByTestId('embed-snippet')).toHaveText(
    `<script src="${env.base}/widget/kefu.js" data-widget-key="${tenant.widget_key}" async></script>`,
  );
  await page.evaluate(() => window.scrollTo(0, 0));
  await screenshot(page, 'console-admin-widget');
  await expectAccessible(page);
});

test('a supervisor works the shared queue: the all view, j and k, a masked customer, assign, history window', async ({
  page,
  env,
  newTenant,
  staff,
}) => {
  const tenant = await newTenant('Acme Floor');
  const admin = await staff(tenant);
  const supervisor = await createAgent(admin, 'supervisor', 'Zhou Min');
  const first = (await startChat(env, tenant, { name: 'Han Meimei', email: 'han@shop.example', phone: '13812345678' }, 'Call me on 13812345678')).id;
  const second = (await startChat(env, tenant, { name: 'Wei Hua' }, 'A second question')).id;

  await signIn(page, env, tenant, supervisor.email, supervisor.password);
  await expect(page.getByRole('heading', { name: 'Inbox', level: 1 })).toBeVisible();
  await page.getByRole('button', { name: 'All', exact: true }).click();
  const items = page.getByTestId('conversation-item');
  await expect(items).toHaveCount(2);

  // j and k move through the list (newest activity first), and focus follows.
  const order = await items.evaluateAll((els) => els.map((e) => e.getAttribute('data-conversation-id')));
  expect(new Set(order)).toEqual(new Set([first, second]));
  await page.keyboard.press('j');
  await expect(page.locator(`[data-conversation-id="${order[0]}"]`)).toHaveAttribute('aria-current', 'true');
  await page.keyboard.press('j');
  await expect(page.locator(`[data-conversation-id="${order[1]}"]`)).toHaveAttribute('aria-current', 'true');
  await expect(page.locator(`[data-conversation-id="${order[1]}"]`)).toBeFocused();
  await page.keyboard.press('k');
  await expect(page.locator(`[data-conversation-id="${order[0]}"]`)).toHaveAttribute('aria-current', 'true');
  await page.keyboard.press('?');
  await expect(page.getByRole('dialog', { name: 'Keyboard shortcuts' })).toBeVisible();
  await page.keyboard.press('Escape');
  await expect(page.getByRole('dialog', { name: 'Keyboard shortcuts' })).toHaveCount(0);

  // A supervisor lacks customers.view_sensitive: contact data comes masked, in the profile and in messages.
  await page.locator(`[data-conversation-id="${first}"]`).click();
  await expect(page.getByRole('heading', { name: 'Conversation with Han Meimei', level: 1 })).toBeVisible();
  await expect(page.getByTestId('customer-phone')).toHaveText('138****5678');
  await expect(page.getByTestId('customer-email')).toContainText('***');
  await expect(page.getByTestId('customer-email')).not.toContainText('han@shop.example');
  await expect(page.getByTestId('message').first()).toContainText('Call me on');
  await expect(page.getByTestId('message').first()).not.toContainText('13812345678');
  await expect(page.getByTestId('routing')).toBeVisible();

  // The history window: 30 days, then wider.
  await page.getByRole('button', { name: 'Last 30 days' }).click();
  await expect(page.getByRole('button', { name: 'Last 30 days' })).toHaveAttribute('aria-pressed', 'true');
  await page.getByTestId('load-older').click();
  await expect(page.getByTestId('message')).toHaveCount(1);

  // Assign it to themselves (a supervisor cannot list agents, so the id is typed).
  await page.getByTestId('assign-open').click();
  const dialog = page.getByRole('dialog', { name: 'Assign or transfer' });
  await dialog.getByTestId('assign-agent').fill(supervisor.id);
  await dialog.getByTestId('assign-submit').click();
  await expect(dialog).toHaveCount(0);
  await expect(page.locator('.conversation-meta')).toContainText('Assigned to: Zhou Min');
  const detail = await admin.call<{ assignee_id: string | null }>('GET', `/v1/conversations/${first}`);
  expect(detail.assignee_id).toBe(supervisor.id);
  await expectAccessible(page);

  // After moving to the other conversation with the keyboard, r and n act on that one.
  const other = order.find((id) => id !== first)!;
  await page.locator(`[data-conversation-id="${first}"]`).focus();
  await page.keyboard.press(order.indexOf(other) > order.indexOf(first) ? 'j' : 'k');
  await expect(page.getByRole('heading', { name: 'Conversation with Wei Hua', level: 1 })).toBeVisible();
  await page.keyboard.press('n');
  await expect(page.getByTestId('composer')).toBeFocused();
  await expect(page.getByTestId('mode-note')).toBeChecked();
  await page.getByTestId('composer').fill('Asked about delivery times');
  await page.getByTestId('composer').press('Control+Enter');
  await expect.poll(async () => (await admin.messages(other)).filter((m) => m.internal).map((m) => m.content)).toEqual([
    'Asked about delivery times',
  ]);
});

test('a new conversation and a new message beep and raise desktop notifications once alerts are on', async ({
  page,
  env,
  newTenant,
  staff,
}) => {
  const tenant = await newTenant('Acme Alerts');
  const admin = await staff(tenant);
  // Record notifications and beeps; the console is treated as in the background (not focused).
  await page.addInitScript(() => {
    const w = window as unknown as { __notes: string[]; __beeps: number; Notification: unknown; AudioContext: typeof AudioContext };
    w.__notes = [];
    w.__beeps = 0;
    class RecordedNotification {
      static permission: NotificationPermission = 'default';
      static requestPermission(): Promise<NotificationPermission> {
        RecordedNotification.permission = 'granted';
        return Promise.resolve('granted');
      }
      onclick: (() => void) | null = null;
      constructor(title: string, options?: { body?: string }) {
        w.__notes.push(`${title}: ${options?.body ?? ''}`);
      }
      close(): void {}
    }
    w.Notification = RecordedNotification;
    const Real = w.AudioContext;
    w.AudioContext = class extends Real {
      override createOscillator(): OscillatorNode {
        const o = super.createOscillator();
        const start = o.start.bind(o);
        o.start = (when?: number) => {
          w.__beeps += 1;
          start(when);
        };
        return o;
      }
    };
    document.hasFocus = () => false;
  });
  await signIn(page, env, tenant, tenant.admin_email, tenant.admin_password);
  await page.getByRole('button', { name: 'Turn on alerts' }).click();
  await expect(page.getByRole('button', { name: 'Alerts on' })).toBeDisabled();
  await page.getByLabel('My status').selectOption('online');
  await expect.poll(async () => (await admin.call<{ status: string }>('GET', '/v1/me')).status).toBe('online');
  await expect(page.locator('.live-open')).toBeVisible();

  const chat = await startChat(env, tenant, { name: 'Li Na' }, 'Hello there');
  const notes = () => page.evaluate(() => (window as unknown as { __notes: string[] }).__notes);
  await expect.poll(notes).toContain('New conversation: A conversation was assigned to you.');
  await chat.say('Are you there?');
  await expect.poll(notes).toContain('New message: Are you there?');
  expect(await page.evaluate(() => (window as unknown as { __beeps: number }).__beeps)).toBeGreaterThanOrEqual(2);
});

test('the built-in agent role never sees the admin screens', async ({ page, env, newTenant, staff }) => {
  const tenant = await newTenant('Acme Roles');
  const admin = await staff(tenant);
  const agent = await createAgent(admin, 'agent', 'Wang Fang');
  await signIn(page, env, tenant, agent.email, agent.password);
  await expect(page.getByRole('heading', { name: 'Inbox', level: 1 })).toBeVisible();

  const nav = page.getByRole('navigation', { name: 'Main' });
  await expect(nav.getByRole('link', { name: 'Inbox' })).toBeVisible();
  await expect(nav.getByRole('link', { name: 'My account' })).toBeVisible();
  await expect(nav.getByText('Administration')).toHaveCount(0);
  for (const name of ['Agents', 'Groups', 'Schedules', 'Assignment', 'Roles and permissions', 'Security', 'API keys', 'Audit log', 'Chat widget', 'Auto-replies', 'Webhooks']) {
    await expect(nav.getByRole('link', { name })).toHaveCount(0);
  }
  // A direct URL to an admin screen is refused too, and shows none of it.
  for (const path of ['/admin/agents', '/admin/security', '/admin/audit', '/admin/roles', '/admin/api-keys', '/admin/widget', '/admin/auto-reply', '/admin/webhooks']) {
    await page.goto(`${env.base}/#${path}`);
    await expect(page.getByTestId('route-refused')).toHaveText('Not available');
    await expect(page.getByTestId('agents-table')).toHaveCount(0);
    await expect(page.getByTestId('security-form')).toHaveCount(0);
  }
  await expectAccessible(page);
});

test('a custom role sees exactly its admin screens (here: the audit log)', async ({ page, env, newTenant, staff }) => {
  const tenant = await newTenant('Acme Custom');
  const admin = await staff(tenant);
  const role = await admin.call<{ id: string }>('POST', '/v1/roles', {
    name: 'Auditor',
    permissions: ['conversations.view_group', 'conversations.reply', 'audit.view'],
  });
  const auditor = await createAgent(admin, role.id, 'Qian Yu');
  await signIn(page, env, tenant, auditor.email, auditor.password);
  await expect(page.getByRole('heading', { name: 'Inbox', level: 1 })).toBeVisible();
  const nav = page.getByRole('navigation', { name: 'Main' });
  await expect(nav.getByRole('link', { name: 'Audit log' })).toBeVisible();
  for (const name of ['Agents', 'Groups', 'Schedules', 'Security', 'API keys', 'Roles and permissions']) {
    await expect(nav.getByRole('link', { name })).toHaveCount(0);
  }
  await nav.getByRole('link', { name: 'Audit log' }).click();
  await expect(page.getByTestId('audit-table')).toContainText('auth.login');
  await page.goto(`${env.base}/#/admin/agents`);
  await expect(page.getByTestId('route-refused')).toHaveText('Not available');
  // A reload reads /v1/me again and offers the same screens.
  await page.reload();
  await expect(nav.getByRole('link', { name: 'Audit log' })).toBeVisible();
  await expect(nav.getByRole('link', { name: 'Agents' })).toHaveCount(0);
  // The console learnt its screens from /v1/me and refused the direct URL itself: it never called a route the
  // role lacks, so the audit log holds no refusal of this account.
  const denied = () =>
    admin.call<{ items: { actor_id: string | null; action: string }[] }>('GET', `/v1/audit?action=permission.denied&actor_id=${auditor.id}`);
  expect((await denied()).items).toEqual([]);
  // The same query does find a refusal once the account really asks for a route its role lacks.
  const token = await login(env.base, tenant, auditor.email, auditor.password);
  await expect(call(env.base, 'GET', '/v1/agents', { token })).rejects.toThrow(/answered 403/);
  expect((await denied()).items.map((e) => [e.action, e.actor_id])).toEqual([['permission.denied', auditor.id]]);
});

test('a session ended elsewhere sends the console back to sign-in with a message', async ({ page, env, newTenant, staff }) => {
  const tenant = await newTenant('Acme Revoke');
  const admin = await staff(tenant);
  const agent = await createAgent(admin, 'agent', 'Zhou Min');
  await signIn(page, env, tenant, agent.email, agent.password);
  await expect(page.getByRole('heading', { name: 'Inbox', level: 1 })).toBeVisible();
  // The live connection is up before the session is ended.
  await expect(page.locator('.live')).toHaveClass(/live-open/);
  const tickets: number[] = [];
  page.on('response', (r) => {
    if (r.url().endsWith('/v1/realtime/ticket')) tickets.push(r.status());
  });

  // An admin ends all the agent's sessions. The agent comes back to the tab: the console pings, the server
  // re-checks the session and closes the socket, the console reconnects, its ticket request answers 401, and it
  // returns to sign-in saying why. (Without the ping the server's own re-check, within a minute, does the same.)
  await admin.call('DELETE', `/v1/agents/${agent.id}/sessions`);
  await page.evaluate(() => document.dispatchEvent(new Event('visibilitychange')));
  await expect(page.getByRole('button', { name: 'Sign in' })).toBeVisible();
  await expect(page.getByRole('status').filter({ hasText: 'Your session has ended. Sign in again.' })).toBeVisible();
  expect(tickets).toEqual([401]);
  // It stays there: the one refused ticket stopped the connection (no reconnecting loop).
  await expect(page.getByTestId('sign-out')).toHaveCount(0);
  await expectAccessible(page);
});

test('the TOTP helper matches RFC 4226', () => {
  // RFC 4226, appendix D: the secret "12345678901234567890", counters 0 and 9.
  const secret = Buffer.from('12345678901234567890');
  expect(hotp(secret, 0)).toBe('755224');
  expect(hotp(secret, 9)).toBe('520489');
});

test('my sessions, and sign-in with TOTP: enrol from the account screen, then sign in with a code', async ({ page, env, newTenant, staff }) => {
  const tenant = await newTenant('Acme MFA');
  const admin = await staff(tenant);
  const agent = await createAgent(admin, 'supervisor', 'Zhao Lei');
  await signIn(page, env, tenant, agent.email, agent.password);
  await expect(page.getByRole('heading', { name: 'Inbox', level: 1 })).toBeVisible();

  // Another session of the same account (another device), listed on My account and signed out from there.
  await login(env.base, tenant, agent.email, agent.password);
  await page.getByRole('link', { name: 'My account' }).click();
  const sessions = page.getByTestId('sessions').locator('tbody tr');
  await expect(sessions).toHaveCount(2);
  await sessions.filter({ hasNotText: 'this one' }).getByRole('button', { name: 'Sign out' }).click();
  await expect(sessions).toHaveCount(1);
  await expect(sessions).toContainText('this one');
  await expectAccessible(page);

  await expect(page.getByTestId('mfa-state')).toHaveText('Two-step verification is off.');
  await page.getByTestId('mfa-enrol').click();
  const secret = (await page.getByTestId('mfa-secret').textContent())?.replace(/\s/g, '') ?? '';
  expect(secret).toMatch(/^[A-Z2-7]+$/);
  await page.getByTestId('mfa-confirm-code').fill(totp(secret));
  await page.getByTestId('mfa-confirm').click();
  await expect(page.getByTestId('mfa-state')).toHaveText('Two-step verification is on.');
  await page.getByTestId('sign-out').click();

  // Sign in again: the password step asks for a code; a wrong one is refused, the next step's code works (each
  // step is accepted once, and the enrolment spent this one).
  await signIn(page, env, tenant, agent.email, agent.password);
  const code = page.getByTestId('login-mfa-code');
  await expect(code).toBeFocused();
  await code.fill(totp(secret, 1) === '000000' ? '111111' : '000000');
  await page.getByTestId('login-submit').click();
  await expect(page.getByRole('alert')).toHaveText('That code is wrong, used or expired.');
  await code.fill(totp(secret, 1));
  await page.getByTestId('login-submit').click();
  await expect(page.getByRole('heading', { name: 'Inbox', level: 1 })).toBeVisible();
  // The session is listed as signed in with a second factor.
  await page.getByRole('link', { name: 'My account' }).click();
  await expect(page.getByTestId('sessions')).toContainText('yes');
});

test('the sign-in screen passes axe-core and switches to Chinese', async ({ page, env }) => {
  await page.goto(`${env.base}/`);
  await expect(page.getByRole('heading', { name: 'Sign in to Kefu', level: 1 })).toBeVisible();
  await expectAccessible(page);
  await screenshot(page, 'console-sign-in');
  await page.getByLabel('Language').selectOption('zh-CN');
  await expect(page.getByRole('heading', { name: '登录客服系统', level: 1 })).toBeVisible();
  await expect(page.locator('html')).toHaveAttribute('lang', 'zh-CN');
  await expectAccessible(page);
});

test('a session restricted by the MFA policy can only enrol, then works', async ({ page, env, newTenant, staff }) => {
  const tenant = await newTenant('Acme Restricted');
  const admin = await staff(tenant);
  const agent = await createAgent(admin, 'agent', 'Sun Li');
  // MFA required for everyone: the agent's next session may only enrol.
  await admin.call('PUT', '/v1/settings/security', { mfa_required: true });
  await signIn(page, env, tenant, agent.email, agent.password);
  await expect(page.getByTestId('restriction')).toContainText('requires two-step verification');
  await expect(page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Inbox' })).toHaveCount(0);
  await page.goto(`${env.base}/#/inbox`);
  await expect(page.getByRole('heading', { name: 'My account', level: 1 })).toBeVisible();
  await page.getByTestId('mfa-enrol').click();
  const secret = (await page.getByTestId('mfa-secret').textContent())?.replace(/\s/g, '') ?? '';
  await page.getByTestId('mfa-confirm-code').fill(totp(secret));
  await page.getByTestId('mfa-confirm').click();
  await expect(page.getByTestId('restriction')).toHaveCount(0);
  await page.getByRole('link', { name: 'Inbox' }).click();
  await expect(page.getByRole('heading', { name: 'Inbox', level: 1 })).toBeVisible();
});

test('an agent makes a ticket from a conversation, moves it along its statuses, comments and finds it by filter', async ({
  page,
  env,
  newTenant,
  staff,
}) => {
  const tenant = await newTenant('Acme Tickets');
  const admin = await staff(tenant);
  const agent = await createAgent(admin, 'agent', 'Wang Fang');
  const chat = await startChat(env, tenant, { name: 'Han Meimei' }, 'My kettle leaks');

  await signIn(page, env, tenant, agent.email, agent.password);
  await expect(page.getByRole('heading', { name: 'Inbox', level: 1 })).toBeVisible();
  await page.goto(`${env.base}/#/conversations/${chat.id}`);
  await page.getByTestId('ticket-from-conversation').click();
  await page.getByTestId('ticket-title').fill('Replace the leaking kettle');
  await page.getByTestId('ticket-save').click();
  await expect(page.getByTestId('ticket-detail')).toBeVisible();
  await expect(page.getByRole('heading', { name: 'Replace the leaking kettle', level: 1 })).toBeVisible();
  await expect(page.getByTestId('ticket-status')).toHaveText('Open');
  await expect(page.getByTestId('ticket-move-solved')).toHaveCount(0);
  await page.getByTestId('ticket-move-pending').click();
  await expect(page.getByTestId('ticket-status')).toHaveText('Pending');
  await page.getByTestId('ticket-comment-input').fill('Asked for a photo of the kettle');
  await page.getByTestId('ticket-comment-submit').click();
  await expect(page.getByTestId('ticket-comment')).toContainText('Asked for a photo of the kettle');
  await expectAccessible(page);

  const nav = page.getByRole('navigation', { name: 'Main' });
  await nav.getByRole('link', { name: 'Tickets' }).click();
  await expect(page.getByTestId('ticket-item')).toHaveCount(1);
  await page.getByTestId('ticket-filter-status').selectOption('open');
  await expect(page.getByText('No tickets match.')).toBeVisible();
  await page.getByTestId('ticket-filter-status').selectOption('pending');
  await expect(page.getByTestId('ticket-item')).toHaveCount(1);
  const tickets = await admin.call<{ items: { conversation_id: string | null; customer_id: string | null }[] }>('GET', '/v1/tickets');
  expect(tickets.items[0]?.conversation_id).toBe(chat.id);
  expect(tickets.items[0]?.customer_id).toMatch(/^cu_/);
});

test('the statistics page draws its charts (uPlot, loaded only there) once conversations exist', async ({ page, env, newTenant, staff }) => {
  const tenant = await newTenant('Acme Stats');
  const admin = await staff(tenant);
  await admin.call('PUT', '/v1/me/status', { status: 'online' });
  // Two conversations: both answered, one closed and rated good by its visitor.
  const rated = await call<{ conversation_id: string; visitor_token: string }>(env.base, 'POST', '/v1/widget/conversations', {
    headers: { 'x-widget-key': tenant.widget_key },
    body: { visitor: { name: 'Visitor One' } },
  });
  await call(env.base, 'POST', '/v1/widget/messages', { token: rated.visitor_token, body: { content: 'Where is my parcel?' } });
  const other = await startChat(env, tenant, { name: 'Visitor Two' }, 'Can I change my order?');
  await admin.call('POST', `/v1/conversations/${rated.conversation_id}/messages`, { content: 'It ships today.' });
  await admin.call('POST', `/v1/conversations/${other.id}/messages`, { content: 'Yes, until it ships.' });
  await admin.call('POST', `/v1/conversations/${rated.conversation_id}/close`);
  await call(env.base, 'POST', '/v1/widget/rating', { token: rated.visitor_token, body: { score: 3 } });
  // Statistics are counted as events happen: wait until the report has all of it.
  const range = `since=${encodeURIComponent(new Date(Date.now() - 7 * 86_400_000).toISOString())}&until=${encodeURIComponent(new Date(Date.now() + 86_400_000).toISOString())}`;
  type Report = { conversations: number; resolution_seconds: { median: number | null }; csat: { good: number } };
  await expect
    .poll(async () => {
      const r = await admin.call<Report>('GET', `/v1/stats?${range}`);
      return [r.conversations, r.resolution_seconds.median !== null, r.csat.good];
    })
    .toEqual([2, true, 1]);

  await signIn(page, env, tenant, tenant.admin_email, tenant.admin_password);
  await expect(page.getByRole('heading', { name: 'Inbox', level: 1 })).toBeVisible();
  const loadedChartLib = () =>
    page.evaluate(() => performance.getEntriesByType('resource').some((e) => /\/assets\/uPlot[^/]*\.js$/.test(new URL(e.name).pathname)));
  // The console's first load does not fetch the chart library.
  expect(await loadedChartLib()).toBe(false);

  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Statistics' }).click();
  await expect(page.getByRole('heading', { name: 'Statistics', level: 1 })).toBeVisible();
  await expect(page.getByTestId('stats-totals').locator('dd').first()).toHaveText('2');
  for (const id of ['conversations', 'messages', 'first-response', 'resolution', 'csat']) {
    const canvas = page.getByTestId(`chart-${id}`).locator('canvas');
    await expect(canvas).toBeVisible();
    const box = await canvas.boundingBox();
    expect(box?.width ?? 0).toBeGreaterThan(100);
    expect(box?.height ?? 0).toBeGreaterThan(50);
  }
  expect(await loadedChartLib()).toBe(true);
  // The conversations chart has painted something (its bars and axes), not just an empty canvas.
  const painted = await page
    .getByTestId('chart-conversations')
    .locator('canvas')
    .evaluate((c: HTMLCanvasElement) => {
      const data = c.getContext('2d')?.getImageData(0, 0, c.width, c.height).data ?? new Uint8ClampedArray();
      let n = 0;
      for (let i = 3; i < data.length; i += 4) if ((data[i] ?? 0) > 0) n++;
      return n;
    });
  expect(painted).toBeGreaterThan(100);
  // Its stylesheet came with it, and each chart is named and points at the per-day table.
  await expect(page.locator('link[rel="stylesheet"][href*="uPlot"]')).toHaveCount(1);
  await expect(page.getByRole('img', { name: /^Conversations, per day/ })).toHaveAttribute('aria-describedby', 'stats-days-table');
  await expect(page.getByTestId('stats-days').locator('tbody td:nth-of-type(1)').filter({ hasText: /^2$/ })).toHaveCount(1);
  await expectAccessible(page);
  await page.setViewportSize({ width: 1440, height: 1100 });
  await screenshot(page, 'console-stats');
});

test('an admin saves the auto-replies and rotates the webhook signing secret', async ({ page, env, newTenant, staff }) => {
  const tenant = await newTenant('Acme Auto');
  const admin = await staff(tenant);
  await signIn(page, env, tenant, tenant.admin_email, tenant.admin_password);
  await expect(page.getByRole('heading', { name: 'Inbox', level: 1 })).toBeVisible();
  const nav = page.getByRole('navigation', { name: 'Main' });

  // Auto-replies: turn them on with a welcome; the server keeps it, and a reload shows it.
  await nav.getByRole('link', { name: 'Auto-replies' }).click();
  await expect(page.getByRole('heading', { name: 'Auto-replies', level: 1 })).toBeFocused();
  const form = page.getByTestId('auto-reply-form');
  await form.getByLabel('Send auto-replies').check();
  await form.getByLabel('Welcome message').fill('Welcome to Acme! An agent will be with you shortly.');
  await form.getByLabel('Off-hours message').fill('We are closed now; we answer from 9:00.');
  await page.getByTestId('auto-reply-save').click();
  await expect
    .poll(() => admin.call('GET', '/v1/settings/auto_reply'))
    .toEqual({ enabled: true, welcome: 'Welcome to Acme! An agent will be with you shortly.', off_hours: 'We are closed now; we answer from 9:00.' });
  await expectAccessible(page);
  await page.reload();
  await expect(page.getByTestId('auto-reply-form').getByLabel('Welcome message')).toHaveValue('Welcome to Acme! An agent will be with you shortly.');
  await expect(page.getByTestId('auto-reply-form').getByLabel('Send auto-replies')).toBeChecked();

  // A receiver on 127.0.0.1 for a rule's webhook action; it keeps what it got and answers 200.
  const got: { signature: string; body: string }[] = [];
  const receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      got.push({ signature: String(req.headers['x-kefu-signature'] ?? ''), body });
      res.writeHead(200, { 'content-type': 'text/plain' }).end('thanks');
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/crm`;
  await admin.call('POST', '/v1/rules', {
    name: 'Leads to the CRM',
    event: 'message.received',
    conditions: { all: [{ field: 'message.content', op: 'contains', value: 'price' }] },
    actions: [{ type: 'webhook', url }],
  });
  const signed = (secretText: string, b: { signature: string; body: string }) =>
    b.signature === `sha256=${createHmac('sha256', secretText).update(b.body).digest('hex')}`;

  // Webhooks: the secret is masked until revealed; rotating asks first, then shows (and uses) a new one.
  await nav.getByRole('link', { name: 'Webhooks' }).click();
  await expect(page.getByRole('heading', { name: 'Webhooks', level: 1 })).toBeFocused();
  const first = (await admin.call<{ secret: string }>('GET', '/v1/settings/webhooks')).secret;
  const secret = page.getByTestId('webhook-secret');
  await expect(secret).toHaveAttribute('data-shown', 'no');
  await expect(secret).not.toHaveText(first);
  await page.getByTestId('webhook-reveal').click();
  await expect(secret).toHaveText(first);
  await expect(page.getByTestId('webhook-none')).toHaveText('No deliveries.');
  // A visitor asks about prices: the rule's webhook is delivered, signed with this secret, and logged.
  await startChat(env, tenant, { name: 'Wang' }, 'What is the price for 500 units?');
  await expect.poll(() => got.length).toBeGreaterThanOrEqual(1);
  expect(signed(first, got[0]!)).toBe(true);
  const deliveries = page.getByTestId('webhook-deliveries').locator('tbody tr');
  await expect(async () => {
    await page.getByTestId('webhook-refresh').click();
    await expect(deliveries.filter({ hasText: 'Succeeded' })).toHaveCount(1, { timeout: 1000 });
  }).toPass({ timeout: 30_000 });
  await expect(deliveries).toContainText('message.received');
  await expect(deliveries).toContainText(url);
  await expect(deliveries).toContainText('200 thanks');
  await page.getByLabel('Delivery status').selectOption('failed');
  await expect(page.getByTestId('webhook-none')).toHaveText('No deliveries.');
  await page.getByLabel('Delivery status').selectOption('succeeded');
  await expect(deliveries).toHaveCount(1);
  await expectAccessible(page);

  await page.getByTestId('webhook-rotate').click();
  const dialog = page.getByRole('dialog', { name: 'Rotate the signing secret?' });
  await dialog.getByRole('button', { name: 'Cancel' }).click();
  await expect(dialog).toHaveCount(0);
  expect((await admin.call<{ secret: string }>('GET', '/v1/settings/webhooks')).secret).toBe(first);
  await page.getByTestId('webhook-rotate').click();
  await page.getByTestId('webhook-rotate-confirm').click();
  await expect(dialog).toHaveCount(0);
  await expect(secret).toHaveAttribute('data-shown', 'no');
  await page.getByTestId('webhook-reveal').click();
  await expect(secret).not.toHaveText(first);
  const second = (await secret.textContent()) ?? '';
  expect((await admin.call<{ secret: string }>('GET', '/v1/settings/webhooks')).secret).toBe(second);
  // The next webhook is signed with the new secret, not the old one.
  await startChat(env, tenant, { name: 'Li' }, 'Any price list?');
  await expect.poll(() => got.length).toBeGreaterThanOrEqual(2);
  expect(signed(second, got[1]!)).toBe(true);
  expect(signed(first, got[1]!)).toBe(false);
  await new Promise<void>((r) => receiver.close(() => r()));
});

test('an agent saves its notification preferences; a bad SMS number is shown at its field', async ({ page, env, newTenant, staff }) => {
  const tenant = await newTenant('Acme Notify');
  const admin = await staff(tenant);
  const agent = await createAgent(admin, 'agent', 'Sun Li');
  const token = await login(env.base, tenant, agent.email, agent.password);
  await call(env.base, 'POST', '/v1/me/devices', { token, body: { platform: 'fcm', token: `fcm-token-${Date.now()}` } });
  await signIn(page, env, tenant, agent.email, agent.password);
  await expect(page.getByRole('heading', { name: 'Inbox', level: 1 })).toBeVisible();
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'My notifications' }).click();
  await expect(page.getByRole('heading', { name: 'My notifications', level: 1 })).toBeFocused();

  const form = page.getByTestId('notifications-form');
  await form.getByLabel('Email when I am not in the console').uncheck();
  await form.getByLabel('SMS when I am not in the console').check();
  const number = form.getByLabel('SMS number');
  await number.fill('138 0013 8000');
  await page.getByTestId('notifications-save').click();
  // The server refuses it and names the field; the console marks that field with the server's words.
  await expect(number).toHaveAttribute('aria-invalid', 'true');
  await expect(form.getByText(/E\.164/)).toBeVisible();
  await expect(form.getByRole('alert')).toHaveText('The server refused the preferences: see the marked field.');
  await expectAccessible(page);

  await number.fill('+8613800138000');
  await form.getByLabel('Only during my working hours (urgent ones always come)').check();
  await form.getByLabel('Do not disturb', { exact: true }).check();
  await form.getByLabel('Do not disturb until').fill('2030-06-01T18:30');
  await form.getByLabel('A new message').uncheck();
  await page.getByTestId('notifications-save').click();
  await expect(number).not.toHaveAttribute('aria-invalid', 'true');
  await expect
    .poll(() => call<Record<string, unknown>>(env.base, 'GET', '/v1/me/notifications', { token }))
    .toMatchObject({
      email: false,
      sms: true,
      sms_number: '+8613800138000',
      working_hours_only: true,
      events: ['conversation.new', 'conversation.assigned', 'ticket.assigned', 'conversation.unanswered', 'approval.requested'],
    });
  const saved = await call<{ dnd_until: string }>(env.base, 'GET', '/v1/me/notifications', { token });
  const until = await page.evaluate(() => new Date(2030, 5, 1, 18, 30).toISOString());
  expect(new Date(saved.dnd_until).toISOString()).toBe(until);
  await page.reload();
  await expect(page.getByTestId('notifications-form').getByLabel('Do not disturb until')).toHaveValue('2030-06-01T18:30');
  await expect(page.getByTestId('notifications-form').getByLabel('A new message')).not.toBeChecked();

  // My registered phone, forgotten after the confirm.
  const phones = page.getByTestId('devices').locator('tbody tr');
  await expect(phones).toHaveCount(1);
  await expect(phones).toContainText('Android (FCM)');
  page.once('dialog', (d) => void d.accept());
  await phones.getByRole('button', { name: 'Forget' }).click();
  await expect(page.getByTestId('devices-none')).toHaveText('No phone is registered.');
  expect((await call<{ items: unknown[] }>(env.base, 'GET', '/v1/me/devices', { token })).items).toEqual([]);
});
