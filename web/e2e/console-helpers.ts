// Helpers for the console specs: signing in through the sign-in form, TOTP codes (RFC 6238 over node:crypto, so
// a spec can pass MFA like an authenticator app), axe-core on a console screen, and an agent account made
// through the API.
import AxeBuilder from '@axe-core/playwright';
import { createHmac } from 'node:crypto';
import { expect, type Page } from '@playwright/test';
import { call, type Staff } from './api';
import type { TestEnv, TestTenant } from './env';

/** Decodes RFC 4648 base32 (what authenticator apps take; padding and spaces ignored). */
export function base32Decode(text: string): Buffer {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  const clean = text.toUpperCase().replace(/[\s=]/g, '');
  let bits = 0;
  let value = 0;
  const out: number[] = [];
  for (const ch of clean) {
    const i = alphabet.indexOf(ch);
    if (i < 0) throw new Error(`not base32: ${ch}`);
    value = (value << 5) | i;
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return Buffer.from(out);
}

/** The HOTP code (RFC 4226, HMAC-SHA1, 6 digits) of `secret` for `counter`. */
export function hotp(secret: Buffer, counter: number): string {
  const msg = Buffer.alloc(8);
  msg.writeBigUInt64BE(BigInt(counter));
  const mac = createHmac('sha1', secret).update(msg).digest();
  const offset = (mac[mac.length - 1] ?? 0) & 0x0f;
  const bin = (mac.readUInt32BE(offset) & 0x7fffffff) % 1_000_000;
  return bin.toString().padStart(6, '0');
}

/** The TOTP code (30-second steps) of a base32 secret, `stepsAhead` steps after now. */
export function totp(secretBase32: string, stepsAhead = 0, now = Date.now()): string {
  return hotp(base32Decode(secretBase32), Math.floor(now / 30_000) + stepsAhead);
}

/** Opens the console and signs in through the form (answering no MFA step). */
export async function signIn(page: Page, env: TestEnv, tenant: TestTenant, email: string, password: string): Promise<void> {
  await page.goto(`${env.base}/`);
  await page.getByTestId('login-tenant').fill(tenant.tenant_id);
  await page.getByTestId('login-email').fill(email);
  await page.getByTestId('login-password').fill(password);
  await page.getByTestId('login-submit').click();
}

/** Runs axe-core (WCAG 2.1 A and AA) on the whole console page and expects no serious or critical violation. */
export async function expectAccessible(page: Page): Promise<void> {
  const results = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']).analyze();
  const bad = results.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
  expect(bad).toEqual([]);
  expect(results.passes.length).toBeGreaterThan(0);
}

/** Creates an account with a role through the API (as `admin`) and returns its sign-in. */
export async function createAgent(
  admin: Staff,
  role: string,
  name: string,
): Promise<{ id: string; email: string; password: string; name: string }> {
  const email = `${name.toLowerCase().replace(/\W+/g, '-')}-${Date.now()}@shop.example`;
  const password = 'another long passphrase 2';
  const created = await admin.call<{ id: string }>('POST', '/v1/agents', { email, name, password, role_id: role });
  return { id: created.id, email, password, name };
}

/**
 * Starts a visitor's conversation through the widget API (as the widget does), sends its first message, and
 * answers the conversation's id and a function that sends the visitor's next message.
 */
export async function startChat(
  env: TestEnv,
  tenant: TestTenant,
  visitor: { name?: string; email?: string; phone?: string },
  content: string,
): Promise<{ id: string; say: (content: string) => Promise<unknown> }> {
  const started = await call<{ conversation_id: string; visitor_token: string }>(env.base, 'POST', '/v1/widget/conversations', {
    headers: { 'x-widget-key': tenant.widget_key },
    body: { visitor },
  });
  const say = (text: string) => call(env.base, 'POST', '/v1/widget/messages', { token: started.visitor_token, body: { content: text } });
  await say(content);
  return { id: started.conversation_id, say };
}
