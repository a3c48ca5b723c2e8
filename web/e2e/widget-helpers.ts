// Helpers for the widget specs: changing a tenant's widget settings, finding the widget's parts on a host
// page, running axe-core on it, and saving screenshots for the docs.
import AxeBuilder from '@axe-core/playwright';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { expect, type Locator, type Page } from '@playwright/test';
import type { Staff } from './api';

/**
 * Where screenshots of the main screens go: docs/screenshots/ in the repository when `KEFU_SCREENSHOTS=1`
 * (`KEFU_SCREENSHOTS=1 npm run e2e` refreshes the docs' pictures), else test-results/screenshots/, so that a
 * test run leaves the checkout as it found it.
 */
export const SCREENSHOTS =
  process.env.KEFU_SCREENSHOTS === '1'
    ? join(import.meta.dirname, '..', '..', 'docs', 'screenshots')
    : join(import.meta.dirname, '..', 'test-results', 'screenshots');

/** Saves a screenshot of the page as <SCREENSHOTS>/<name>.png. */
export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`) });
}

/** Changes some of the tenant's widget settings (`PUT /v1/settings/widget` with the rest unchanged). */
export async function configureWidget(staff: Staff, patch: Record<string, unknown>): Promise<Record<string, unknown>> {
  // The answer also carries the tenant's `widget_key`, which is read-only: it is not sent back.
  const { widget_key: _key, ...current } = await staff.call<Record<string, unknown>>('GET', '/v1/settings/widget');
  return staff.call<Record<string, unknown>>('PUT', '/v1/settings/widget', { ...current, ...patch });
}

/**
 * Makes the tenant "offline" for the widget: its admin (the only agent) goes offline, and new chats no longer
 * wait in a queue (`queue_when_full` off), so `GET /v1/widget/config` answers `online: false`.
 */
export async function goOffline(staff: Staff): Promise<void> {
  await staff.setStatus('offline');
  const current = await staff.call<Record<string, unknown>>('GET', '/v1/settings/assignment');
  await staff.call('PUT', '/v1/settings/assignment', { ...current, queue_when_full: false });
}

/** The widget's parts (Playwright's locators reach into its open shadow root). */
export function widget(page: Page) {
  return {
    launcher: page.getByTestId('kefu-launcher'),
    panel: page.getByTestId('kefu-panel'),
    input: page.getByTestId('kefu-input'),
    send: page.getByTestId('kefu-send'),
    messages: page.getByTestId('kefu-message'),
    byAuthor: (author: string): Locator => page.locator(`[data-testid="kefu-message"][data-author="${author}"]`),
    badge: page.getByTestId('kefu-unread'),
    offline: page.getByTestId('kefu-offline'),
  };
}

/** Runs axe-core (WCAG 2.1 A and AA rules) on the widget only (the host page is the tenant's, not ours). */
export async function expectNoAxeViolations(page: Page): Promise<void> {
  const results = await new AxeBuilder({ page }).include('kefu-widget').withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']).analyze();
  const summary = results.violations.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).join(', ')})`);
  expect(summary).toEqual([]);
  // The check ran on the widget's own elements, not on an empty selection.
  expect(results.passes.length).toBeGreaterThan(0);
}

/** The staff member's conversations, once there is at least `n` of them. */
export async function waitForConversations(staff: Staff, n = 1): Promise<{ id: string; customer_id: string; status: string }[]> {
  let list: { id: string; customer_id: string; status: string }[] = [];
  await expect
    .poll(async () => {
      list = await staff.conversations();
      return list.length;
    })
    .toBeGreaterThanOrEqual(n);
  return list;
}
