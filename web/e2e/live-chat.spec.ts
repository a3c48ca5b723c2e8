// Live chat as a new user tries it (issue 15): two browsers, a visitor on another origin and an agent in the
// console. Each sees the other typing (the visitor's draft with typing_preview), read marks move both ways, a
// recalled message disappears for the visitor but not for the supervisor, a requested rating shows on the
// conversation, and a queued visitor sees its place fall as an agent frees up.
import { login } from './api';
import { createAgent, signIn } from './console-helpers';
import { expect, test } from './fixtures';
import { configureWidget, widget } from './widget-helpers';

test('typing, read marks, a recall and a rating between a visitor and an agent', async ({ browser, page, env, newTenant, staff, hostPageUrl }) => {
  const tenant = await newTenant('Acme Live');
  const admin = await staff(tenant);
  await configureWidget(admin, { pre_chat_form: { enabled: false, fields: [] }, typing_preview: true });

  await signIn(page, env, tenant, tenant.admin_email, tenant.admin_password);
  await page.getByLabel('My status').selectOption('online');
  await expect.poll(async () => (await admin.call<{ status: string }>('GET', '/v1/me')).status).toBe('online');
  await expect(page.locator('.live-open')).toBeVisible();

  const visitorContext = await browser.newContext();
  const visitor = await visitorContext.newPage();
  await visitor.goto(hostPageUrl(tenant));
  const w = widget(visitor);
  await w.launcher.click();
  await w.input.fill('Hello, where is my parcel?');
  await w.input.press('Enter');
  await expect(w.byAuthor('visitor')).toHaveText(/where is my parcel/);
  // The widget says drafts are visible to the agent.
  await expect(visitor.getByTestId('kefu-typing-preview-note')).toBeVisible();

  const item = page.getByTestId('conversation-item');
  await expect(item).toHaveCount(1);
  await item.click();
  await expect(page.locator('[data-testid="message"][data-author="visitor"]')).toHaveCount(1);

  // The agent opened it: the visitor's message reads "read".
  await expect(visitor.getByTestId('kefu-read-mark')).toHaveAttribute('data-read', 'true');

  // The visitor types: the agent sees it, with the draft.
  await w.input.pressSequentially('Order 12', { delay: 30 });
  await expect(page.getByTestId('visitor-typing')).toContainText('Order 12');
  // …and the indicator goes away by itself once the visitor stops.
  await expect(page.getByTestId('visitor-typing')).toHaveCount(0, { timeout: 15_000 });
  await w.input.fill('');

  // The agent types: the visitor sees it.
  await page.getByTestId('composer').pressSequentially('Let me check', { delay: 30 });
  await expect(visitor.getByTestId('kefu-typing')).toBeVisible();
  await page.getByTestId('send').click();
  await expect(w.byAuthor('agent')).toHaveText(/Let me check/);
  await expect(visitor.getByTestId('kefu-typing')).toHaveCount(0);
  // The visitor (chat open) read the reply: the console marks it read.
  await expect(page.locator('[data-testid="message"][data-author="agent"] [data-testid="read-mark"]')).toHaveAttribute('data-read', 'true');

  // A wrong answer, recalled: gone for the visitor, still readable by the admin (audit.view).
  await page.getByTestId('composer').fill('The price is 99');
  await page.getByTestId('send').click();
  await expect(w.byAuthor('agent')).toHaveCount(2);
  await expect(w.byAuthor('agent').nth(1)).toHaveText(/price is 99/);
  await page.locator('[data-testid="message"][data-author="agent"]').nth(1).getByTestId('recall-message').click();
  await expect(w.byAuthor('agent').nth(1)).toHaveAttribute('data-recalled', 'true');
  await expect(visitor.getByText('The price is 99')).toHaveCount(0);
  await expect(page.locator('[data-testid="message"][data-recalled="true"]')).toContainText('The price is 99');

  // The agent asks for a rating; the visitor gives one; the console shows it.
  await page.getByTestId('request-rating').click();
  await expect(visitor.getByTestId('kefu-rating')).toBeVisible();
  await visitor.getByTestId('kefu-rate-comment').fill('很快，谢谢');
  await visitor.getByTestId('kefu-rate-3').click();
  await expect(visitor.getByTestId('kefu-rated')).toBeVisible();
  await expect(page.getByTestId('conversation-rating')).toHaveAttribute('data-score', '3');
  await expect(page.getByTestId('conversation-rating')).toContainText('很快，谢谢');

  // The visitor asks for the conversation by email: it arrives (here: the server's mail outbox), without notes.
  await visitor.getByTestId('kefu-transcript-open').click();
  await visitor.getByTestId('kefu-transcript-email').fill('visitor@example.com');
  await visitor.getByTestId('kefu-transcript-send').click();
  await expect(visitor.getByTestId('kefu-transcript-sent')).toBeVisible();
  await visitorContext.close();
});

test('a queued visitor sees its place fall as the agent frees up', async ({ browser, env, newTenant, staff, hostPageUrl }) => {
  const tenant = await newTenant('Acme Queue');
  const admin = await staff(tenant);
  await configureWidget(admin, { pre_chat_form: { enabled: false, fields: [] }, offline_mode: 'queue' });
  const agent = await createAgent(admin, 'agent', 'Zhao Queue');
  await admin.call('PATCH', `/v1/agents/${agent.id}`, { max_concurrent: 1 });
  const agentToken = await login(env.base, tenant, agent.email, agent.password);
  const asAgent = (method: string, path: string, body?: unknown) =>
    fetch(`${env.base}${path}`, {
      method,
      headers: { authorization: `Bearer ${agentToken}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });

  // Two visitors write while nobody is online: both wait in the queue.
  const contexts = [await browser.newContext(), await browser.newContext()];
  const pages = await Promise.all(contexts.map((c) => c.newPage()));
  for (const [i, p] of pages.entries()) {
    await p.goto(hostPageUrl(tenant));
    const w = widget(p);
    await w.launcher.click();
    await w.input.fill(`Visitor ${i + 1} here`);
    await w.input.press('Enter');
    await expect(w.byAuthor('visitor')).toHaveCount(1);
  }
  const second = pages[1]!;
  await expect(second.getByTestId('kefu-queue-position')).toHaveAttribute('data-position', '2');

  // The agent comes online and takes the first: the second visitor moves up to first.
  expect((await asAgent('PUT', '/v1/me/status', { status: 'online' })).status).toBe(200);
  await expect(second.getByTestId('kefu-queue-position')).toHaveAttribute('data-position', '1');

  // The agent closes the first conversation: the second is taken, and its place disappears.
  const mine = (await (await asAgent('GET', '/v1/conversations?assignee=me&status=open')).json()) as { items: { id: string }[] };
  expect(mine.items).toHaveLength(1);
  expect((await asAgent('POST', `/v1/conversations/${mine.items[0]!.id}/close`)).status).toBe(200);
  await expect(second.getByTestId('kefu-queue-position')).toHaveCount(0);
  for (const c of contexts) await c.close();
});
