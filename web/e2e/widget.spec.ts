// The widget as a visitor meets it: on a tenant's page served from another origin, through the embed snippet,
// against a real `kefu serve`. The agent's side is played through the API here; the console's own spec plays it
// in a second browser context.
import { expect, test } from './fixtures';
import { configureWidget, expectNoAxeViolations, goOffline, screenshot, waitForConversations, widget } from './widget-helpers';

const PRE_CHAT = {
  enabled: true,
  fields: [
    { name: 'name', label: 'Your name', type: 'text', required: true },
    { name: 'email', label: 'Email', type: 'email', required: true },
    { name: 'order', label: 'Order number', type: 'text', required: false },
  ],
};

test('a visitor on another origin fills the pre-chat form, writes, and sees the reply live but never the note', async ({
  page,
  env,
  newTenant,
  staff,
  hostPageUrl,
}) => {
  const tenant = await newTenant('Acme Shop');
  const agent = await staff(tenant);
  await configureWidget(agent, { title: 'Acme support', greeting: 'Hi! How can we help?', pre_chat_form: PRE_CHAT });
  await agent.setStatus('online');

  await page.goto(hostPageUrl(tenant));
  expect(new URL(page.url()).origin).not.toBe(new URL(env.base).origin);
  const w = widget(page);

  // The launcher is drawn, named, and untouched by the host page's `button { background: hotpink !important }`.
  await expect(w.launcher).toBeVisible();
  await expect(w.launcher).toHaveAccessibleName('Open chat');
  const launcherBg = await w.launcher.evaluate((el) => getComputedStyle(el).backgroundColor);
  expect(launcherBg).not.toBe('rgb(255, 105, 180)');
  // Calls made through window.Kefu work from the page, and "ready" has fired.
  expect(await page.evaluate(() => new Promise<boolean>((resolve) => window.Kefu?.on('ready', () => resolve(true))))).toBe(true);

  await w.launcher.click();
  await expect(w.panel).toBeVisible();
  await expect(page.getByRole('dialog', { name: 'Acme support' })).toBeVisible();
  await expect(w.launcher).toHaveAttribute('aria-expanded', 'true');

  // The form's rules are checked before anything is sent.
  await page.getByLabel('Your name').fill('Han Meimei');
  await page.getByLabel('Email').fill('not an email');
  await page.getByTestId('kefu-start').click();
  await expect(page.getByText('Please enter a valid email address.')).toBeVisible();
  await expect(page.getByLabel('Email')).toBeFocused();
  await page.getByLabel('Email').fill('han@shop.example');
  await screenshot(page, 'widget-prechat');
  await page.getByTestId('kefu-start').click();

  await expect(w.input).toBeVisible();
  await expect(w.input).toBeFocused();
  await expect(page.getByText('Hi! How can we help?')).toBeVisible();
  await w.input.fill('Where is my order 1234?');
  await w.input.press('Enter');
  await expect(w.byAuthor('visitor')).toHaveText(/Where is my order 1234\?/);
  await expect(w.input).toHaveValue('');

  // The agent sees the conversation, with the visitor's name from the form, and answers; then writes a note.
  const [conversation] = await waitForConversations(agent);
  expect(conversation).toBeDefined();
  const customer = await agent.call<{ name?: string; email?: string }>('GET', `/v1/customers/${conversation!.customer_id}`);
  expect(customer.name).toBe('Han Meimei');
  await expect.poll(async () => (await agent.messages(conversation!.id)).map((m) => m.content)).toContain('Where is my order 1234?');

  await agent.reply(conversation!.id, 'It ships today.');
  await expect(w.byAuthor('agent')).toHaveText(/It ships today\./);
  await agent.reply(conversation!.id, 'VIP customer, be nice (internal)', true);
  await agent.reply(conversation!.id, 'Anything else?');
  // The second reply came after the note: had the note been sent to the visitor, it would be there by now.
  await expect(w.byAuthor('agent')).toHaveCount(2);
  await expect(w.byAuthor('agent').nth(1)).toHaveText(/Anything else\?/);
  await expect(page.getByText('VIP customer, be nice (internal)')).toHaveCount(0);
  await screenshot(page, 'widget-chat');

  // A reload continues the same conversation (the visitor token is kept per widget key).
  await page.reload();
  await w.launcher.click();
  await expect(w.messages).toHaveCount(3);
  await expect(page.getByTestId('kefu-prechat')).toHaveCount(0);
  await expect(page.getByText('VIP customer, be nice (internal)')).toHaveCount(0);
});

test('a reply while the chat is closed shows the unread badge and fires Kefu.on("unread")', async ({
  page,
  newTenant,
  staff,
  hostPageUrl,
}) => {
  const tenant = await newTenant();
  const agent = await staff(tenant);
  await agent.setStatus('online');
  await page.goto(hostPageUrl(tenant));
  const w = widget(page);

  // No pre-chat form: the visitor writes at once; setUser tells who it is.
  await page.evaluate(() => {
    window.Kefu?.setUser({ external_id: 'shop-user-42', name: 'Wang Fang', email: 'wang@shop.example' });
    window.Kefu?.open();
  });
  await w.input.fill('Hello?');
  await w.send.click();
  await expect(w.byAuthor('visitor')).toHaveText(/Hello\?/);
  const [conversation] = await waitForConversations(agent);
  const customer = await agent.call<{ name?: string; external_id?: string }>('GET', `/v1/customers/${conversation!.customer_id}`);
  expect(customer.name).toBe('Wang Fang');

  await page.evaluate(() => {
    const w = window as unknown as { unread: unknown[]; messages: unknown[] };
    w.unread = [];
    w.messages = [];
    window.Kefu?.on('unread', (n) => w.unread.push(n));
    window.Kefu?.on('message', (m) => w.messages.push(m));
    window.Kefu?.close();
  });
  await expect(w.panel).toBeHidden();

  await agent.reply(conversation!.id, 'Hi Wang, how can I help?');
  await expect(w.badge).toHaveText('1');
  await expect(w.launcher).toHaveAccessibleName('Open chat (1 unread)');
  expect(await page.evaluate(() => (window as unknown as { unread: unknown[] }).unread)).toEqual([1]);
  const messages = await page.evaluate(() => (window as unknown as { messages: { author: string; content: string }[] }).messages);
  expect(messages.map((m) => [m.author, m.content])).toEqual([['agent', 'Hi Wang, how can I help?']]);
  await screenshot(page, 'widget-unread');

  // Opening reads them: the badge goes, and stays gone after a reload.
  await w.launcher.click();
  await expect(w.badge).toBeHidden();
  await page.reload();
  await expect(w.launcher).toHaveAccessibleName('Open chat');
  // A returning visitor's chat loads in the background (the panel stays closed), so a reply shows on the badge.
  await expect.poll(() => page.evaluate(() => document.querySelector('kefu-widget')?.shadowRoot?.querySelector('.kefu-panel') != null)).toBe(true);
  await agent.reply(conversation!.id, 'Still there?');
  await expect(w.badge).toHaveText('1');
  await expect(w.panel).toBeHidden();
  await w.launcher.click();
  await expect(w.byAuthor('agent')).toHaveCount(2);
  await expect(w.byAuthor('agent').nth(1)).toHaveText(/Still there\?/);
  await expect(w.badge).toBeHidden();
});

test('the visitor chooses a group and answers a select field; calls queued before kefu.js loaded are replayed', async ({
  page,
  newTenant,
  staff,
  hostPageUrl,
}) => {
  const tenant = await newTenant();
  const admin = await staff(tenant);
  await admin.setStatus('online');
  const sales = await admin.call<{ id: string }>('POST', '/v1/groups', { name: 'Sales', agent_ids: [tenant.admin_id] });
  const support = await admin.call<{ id: string }>('POST', '/v1/groups', { name: 'Support', agent_ids: [tenant.admin_id] });
  await configureWidget(admin, {
    visitor_group_ids: [sales.id, support.id],
    pre_chat_form: {
      enabled: true,
      fields: [
        { name: 'phone', label: 'Phone', type: 'phone', required: false },
        { name: 'plan', label: 'Your plan', type: 'select', required: true, options: ['Basic', 'Pro'] },
      ],
    },
  });
  // The page queues setUser and open before the loader runs (window.Kefu = {q: [...]}).
  const stub = JSON.stringify([['setUser', { external_id: 'crm-7', name: 'Zhao Lei' }], ['open']]);
  await page.goto(`${hostPageUrl(tenant)}&stub=${encodeURIComponent(stub)}`);
  const w = widget(page);
  await expect(page.getByTestId('kefu-prechat')).toBeVisible();

  await page.getByLabel('Phone').fill('12');
  await page.getByTestId('kefu-start').click();
  await expect(page.getByText('Please enter a valid phone number.')).toBeVisible();
  // The plan (required) and the group are missing too.
  await expect(page.getByText('Please fill this in.')).toHaveCount(2);
  await page.getByLabel('Phone').fill('+86 138 0013 8000');
  await page.getByLabel('Your plan').selectOption('Pro');
  await page.getByLabel('What is it about?').selectOption({ label: 'Support' });
  await page.getByTestId('kefu-start').click();
  await w.input.fill('My invoice is wrong');
  await w.send.click();
  await expect(w.byAuthor('visitor')).toHaveText(/My invoice is wrong/);

  const [conversation] = await waitForConversations(admin);
  const detail = await admin.call<{ group_id: string | null }>('GET', `/v1/conversations/${conversation!.id}`);
  expect(detail.group_id).toBe(support.id);
  const customer = await admin.call<{ name?: string; external_id?: string; phone?: string }>('GET', `/v1/customers/${conversation!.customer_id}`);
  expect(customer).toMatchObject({ name: 'Zhao Lei', external_id: 'crm-7' });
});

test('when the live connection drops, the widget reconnects and catches up on what it missed', async ({
  page,
  newTenant,
  staff,
  hostPageUrl,
}) => {
  const tenant = await newTenant();
  const agent = await staff(tenant);
  await agent.setStatus('online');
  // Every WebSocket the page opens goes through this route, so the test can cut it and refuse new ones.
  let refuse = false;
  let opened = 0;
  const open: { close: () => Promise<void> }[] = [];
  await page.routeWebSocket(/\/v1\/realtime/, (ws) => {
    if (refuse) {
      void ws.close({ code: 1011, reason: 'test: refused' });
      return;
    }
    opened += 1;
    ws.connectToServer();
    open.push({ close: () => ws.close({ code: 1012, reason: 'test: cut' }) });
  });

  await page.goto(hostPageUrl(tenant));
  const w = widget(page);
  await w.launcher.click();
  await w.input.fill('Hello');
  await w.input.press('Enter');
  await expect(w.byAuthor('visitor')).toHaveText(/Hello/);
  const [conversation] = await waitForConversations(agent);
  // The widget has opened its socket (the reply may still come by the catch-up read that follows the open).
  await expect.poll(() => opened).toBe(1);
  await agent.reply(conversation!.id, 'First reply, live');
  await expect(w.byAuthor('agent')).toHaveText(/First reply, live/);
  expect(opened).toBe(1);

  // Cut the connection and refuse new ones: the widget says so and keeps trying.
  refuse = true;
  for (const s of open.splice(0)) await s.close();
  await expect(page.getByText('Connection lost. Reconnecting…')).toBeVisible();
  await agent.reply(conversation!.id, 'Sent while you were away');
  await agent.reply(conversation!.id, 'And one more');

  // Let it back in: the next attempt connects, and the catch-up read brings both replies, once each.
  refuse = false;
  await expect(w.byAuthor('agent')).toHaveCount(3);
  await expect(w.byAuthor('agent').nth(1)).toHaveText(/Sent while you were away/);
  await expect(w.byAuthor('agent').nth(2)).toHaveText(/And one more/);
  await expect(page.getByText('Connection lost. Reconnecting…')).toHaveCount(0);
  expect(opened).toBe(2);
  // And it is live again.
  await agent.reply(conversation!.id, 'Live again');
  await expect(w.byAuthor('agent')).toHaveCount(4);
});

test('the widget is keyboard usable: Enter opens it, Tab stays inside, Esc closes and focus returns', async ({
  page,
  newTenant,
  staff,
  hostPageUrl,
}) => {
  const tenant = await newTenant();
  await (await staff(tenant)).setStatus('online');
  await page.goto(hostPageUrl(tenant));
  const w = widget(page);
  await expect(w.launcher).toBeVisible();
  await w.launcher.focus();
  await page.keyboard.press('Enter');
  await expect(w.panel).toBeVisible();
  await expect(w.input).toBeFocused();
  // Tab stays inside the dialog: input → send → close → back to the input (through the message log).
  for (let i = 0; i < 6; i++) {
    await page.keyboard.press('Tab');
    const inside = await page.evaluate(() => {
      const root = document.querySelector('kefu-widget')?.shadowRoot;
      const panel = root?.querySelector('.kefu-panel');
      return !!root?.activeElement && !!panel?.contains(root.activeElement);
    });
    expect(inside).toBe(true);
  }
  await page.keyboard.press('Escape');
  await expect(w.panel).toBeHidden();
  await expect(w.launcher).toBeFocused();
  await expect(w.launcher).toHaveAttribute('aria-expanded', 'false');
});

test('the open widget passes axe-core, in the form and in the conversation', async ({ page, newTenant, staff, hostPageUrl }) => {
  const tenant = await newTenant();
  const agent = await staff(tenant);
  await configureWidget(agent, { pre_chat_form: PRE_CHAT });
  await agent.setStatus('online');
  await page.goto(hostPageUrl(tenant));
  const w = widget(page);
  await expectNoAxeViolations(page);
  await w.launcher.click();
  await expect(page.getByTestId('kefu-prechat')).toBeVisible();
  await page.getByTestId('kefu-start').click();
  await expect(page.getByText('Please fill this in.').first()).toBeVisible();
  await expectNoAxeViolations(page);
  await page.getByLabel('Your name').fill('Li');
  await page.getByLabel('Email').fill('li@shop.example');
  await page.getByTestId('kefu-start').click();
  await w.input.fill('Hello');
  await w.input.press('Enter');
  await expect(w.byAuthor('visitor')).toHaveCount(1);
  await expectNoAxeViolations(page);
});

test.describe('offline', () => {
  test('with offline_mode queue: says nobody is online, and the visitor may still write', async ({ page, newTenant, staff, hostPageUrl }) => {
    const tenant = await newTenant();
    const admin = await staff(tenant);
    await goOffline(admin);
    await configureWidget(admin, { offline_mode: 'queue' });
    await page.goto(hostPageUrl(tenant));
    const w = widget(page);
    await w.launcher.click();
    await expect(w.offline).toContainText('Nobody is online right now.');
    await expect(w.offline).toContainText('a reply may take longer');
    await w.input.fill('Anyone there?');
    await w.input.press('Enter');
    await expect(w.byAuthor('visitor')).toHaveText(/Anyone there\?/);
    await screenshot(page, 'widget-offline');
  });

  test('with offline_mode leave_message: says nobody is online and offers the leave-a-message form instead of a chat', async ({
    page,
    newTenant,
    staff,
    hostPageUrl,
  }) => {
    const tenant = await newTenant();
    const admin = await staff(tenant);
    await goOffline(admin);
    await configureWidget(admin, { offline_mode: 'leave_message' });
    await page.goto(hostPageUrl(tenant));
    const w = widget(page);
    await w.launcher.click();
    await expect(w.offline).toContainText('Nobody is online right now.');
    await expect(w.offline).toContainText('Leave us a message');
    await expect(w.input).toHaveCount(0);
    await expect(page.getByTestId('kefu-leave-message')).toBeVisible();
    await expectNoAxeViolations(page);
    await page.getByTestId('kefu-leave-content').fill('我想退货，订单 123');
    await page.getByTestId('kefu-leave-phone').fill('13800138000');
    await page.getByTestId('kefu-leave-submit').click();
    await expect(page.getByTestId('kefu-left')).toContainText('we got your message');
    const tickets = await admin.call<{ items: { title: string; source: string; contact: { phone: string | null } | null }[] }>('GET', '/v1/tickets');
    expect(tickets.items.map((t) => [t.title, t.source, t.contact?.phone])).toEqual([['我想退货，订单 123', 'widget', '13800138000']]);
  });
});

test.describe('on a phone', () => {
  test.use({ viewport: { width: 375, height: 667 }, hasTouch: true, isMobile: true });

  test('the chat fills the screen, nothing covers the composer, and the close button closes it', async ({
    page,
    newTenant,
    staff,
    hostPageUrl,
  }) => {
    const tenant = await newTenant();
    await (await staff(tenant)).setStatus('online');
    await page.goto(hostPageUrl(tenant));
    const w = widget(page);
    await w.launcher.tap();
    await expect(w.panel).toBeVisible();
    const box = await w.panel.boundingBox();
    expect(box).toMatchObject({ x: 0, y: 0, width: 375, height: 667 });
    await w.input.fill('Hi from my phone');
    // A tap fails if anything (the launcher) lies over the button.
    await w.send.tap();
    await expect(w.byAuthor('visitor')).toHaveText(/Hi from my phone/);
    await screenshot(page, 'widget-phone');
    await page.getByRole('button', { name: 'Close chat' }).tap();
    await expect(w.panel).toBeHidden();
    await expect(w.launcher).toBeVisible();
  });
});

test.describe('in Chinese', () => {
  test.use({ locale: 'zh-CN' });

  test('a browser set to zh-CN gets the widget in Chinese', async ({ page, newTenant, staff, hostPageUrl }) => {
    const tenant = await newTenant();
    const agent = await staff(tenant);
    await configureWidget(agent, {
      title: '爱客商城客服',
      language: 'auto',
      pre_chat_form: { enabled: true, fields: [{ name: 'name', label: '姓名', type: 'text', required: true }] },
    });
    await agent.setStatus('online');
    await page.goto(hostPageUrl(tenant));
    const w = widget(page);
    await expect(w.launcher).toHaveAccessibleName('打开在线客服');
    await w.launcher.click();
    await expect(page.getByRole('dialog', { name: '爱客商城客服' })).toBeVisible();
    await expect(page.getByText('开始之前，请简单介绍一下您自己。')).toBeVisible();
    await expect(page.getByTestId('kefu-start')).toHaveText('开始咨询');
    await page.getByTestId('kefu-start').click();
    await expect(page.getByText('请填写此项。')).toBeVisible();
    await page.getByLabel('姓名').fill('韩梅梅');
    await page.getByTestId('kefu-start').click();
    await expect(w.input).toHaveAttribute('placeholder', '输入消息…');
    await w.input.fill('你好，我想咨询一下');
    await w.input.press('Enter');
    await expect(w.byAuthor('visitor')).toHaveText(/你好，我想咨询一下/);
    const [conversation] = await waitForConversations(agent);
    await agent.reply(conversation!.id, '您好，请问有什么可以帮您？');
    await expect(w.byAuthor('agent')).toHaveText(/您好，请问有什么可以帮您？/);
    await expect(page.getByRole('button', { name: '关闭聊天' })).toBeVisible();
    await screenshot(page, 'widget-zh-CN');
  });

  test('a fixed language in the settings wins over the browser', async ({ page, newTenant, staff, hostPageUrl }) => {
    const tenant = await newTenant();
    const agent = await staff(tenant);
    await configureWidget(agent, { language: 'en' });
    await agent.setStatus('online');
    await page.goto(hostPageUrl(tenant));
    const w = widget(page);
    await w.launcher.click();
    await expect(w.input).toHaveAttribute('placeholder', 'Write a message…');
    await expect(w.send).toHaveText('Send');
    await expect(w.launcher).toHaveAccessibleName('Close chat');
  });
});
