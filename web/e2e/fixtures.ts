// The specs' `test`: Playwright's, plus the environment of the run (env), a way to make a fresh tenant for a
// spec that changes settings (newTenant), the URL of a host page on another origin that embeds a tenant's
// widget (hostPageUrl), and sign-in as that tenant's admin through the API (staff). Several browser contexts
// (a visitor and an agent, each with its own storage) come from Playwright's `browser.newContext()`.
import { test as base, expect } from '@playwright/test';
import { createTenant, Staff } from './api';
import { readEnv, type TestEnv, type TestTenant } from './env';

interface Fixtures {
  env: TestEnv;
  newTenant: (name?: string) => Promise<TestTenant>;
  hostPageUrl: (tenant?: TestTenant) => string;
  staff: (tenant?: TestTenant) => Promise<Staff>;
}

export const test = base.extend<Fixtures>({
  // eslint-disable-next-line no-empty-pattern
  env: async ({}, use) => {
    await use(readEnv());
  },
  newTenant: async ({ env }, use) => {
    await use((name) => createTenant(env.base, env.bootstrap_token, name));
  },
  hostPageUrl: async ({ env }, use) => {
    await use((tenant = env.tenant) => `${env.host_base}/?key=${encodeURIComponent(tenant.widget_key)}`);
  },
  staff: async ({ env }, use) => {
    await use((tenant = env.tenant) => Staff.signIn(env, tenant));
  },
});

export { expect };
