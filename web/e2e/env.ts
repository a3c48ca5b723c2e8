// What the global setup hands the specs: the running server, a tenant with its admin, and the "host page"
// server on another origin. Written to .e2e/env.json by global-setup.ts, read here.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** A tenant created for the tests, with its admin's credentials. */
export interface TestTenant {
  tenant_id: string;
  widget_key: string;
  admin_id: string;
  admin_email: string;
  admin_password: string;
  admin_name: string;
}

/** The test environment. */
export interface TestEnv {
  /** The kefu server, e.g. http://127.0.0.1:41234: the console is at `/`, the widget at `/widget/kefu.js`. */
  base: string;
  /** The operator's bootstrap token (to create more tenants). */
  bootstrap_token: string;
  /** A static server on another origin (another port) whose pages embed the widget snippet. */
  host_base: string;
  /** A tenant made by the setup. Specs that change settings should make their own (fixtures.ts, newTenant). */
  tenant: TestTenant;
}

/** Where the setup writes the environment. */
export const ENV_FILE = join(import.meta.dirname, '..', '.e2e', 'env.json');

/** Reads the environment the global setup wrote. */
export function readEnv(): TestEnv {
  return JSON.parse(readFileSync(ENV_FILE, 'utf8')) as TestEnv;
}
