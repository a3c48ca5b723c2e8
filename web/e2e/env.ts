// What the global setup hands the specs: the running server, a tenant with its admin, and the "host page"
// server on another origin. global-setup.ts puts it in the environment variable KEFU_E2E_ENV (Playwright passes
// the runner's environment, as the global setup left it, to its workers), so two runs in one checkout do not
// see each other's servers.

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

/** The environment variable that carries the environment, as JSON. */
export const ENV_VAR = 'KEFU_E2E_ENV';

/** Reads the environment the global setup left. */
export function readEnv(): TestEnv {
  const raw = process.env[ENV_VAR];
  if (!raw) throw new Error(`${ENV_VAR} is not set: run the browser tests with \`npm run e2e\` (its global setup sets it)`);
  return JSON.parse(raw) as TestEnv;
}
