// Starts what the browser tests run against, once per run: a real `kefu serve` (binary from $KEFU_BIN, else
// $CARGO_TARGET_DIR/debug/kefu, else <repo>/target/debug/kefu) on 127.0.0.1:0 with a temporary data directory,
// a bootstrap token and KEFU_WEB_DIR=web/dist; a tenant made through the API; and the host-page server on
// another origin. The specs read it all from the environment variable KEFU_E2E_ENV (see env.ts). The returned
// function stops both servers when the run ends.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { startKefu, webDir } from '../scripts/kefu-server.mjs';
import { createTenant } from './api';
import { ENV_VAR, type TestEnv } from './env';
import { startHostServer } from './host-server';

export default async function globalSetup(): Promise<() => Promise<void>> {
  const dist = join(webDir, 'dist');
  if (!existsSync(join(dist, 'index.html')) || !existsSync(join(dist, 'widget', 'kefu.js'))) {
    throw new Error('web/dist is not built: run `npm run build` before the browser tests');
  }
  const kefu = await startKefu({ webDir: dist });
  try {
    const host = await startHostServer(kefu.base);
    const tenant = await createTenant(kefu.base, kefu.bootstrapToken, 'Acme');
    const env: TestEnv = { base: kefu.base, bootstrap_token: kefu.bootstrapToken, host_base: host.base, tenant };
    process.env[ENV_VAR] = JSON.stringify(env);
    console.log(`kefu serve on ${kefu.base} (pid ${kefu.pid}); host pages on ${host.base}`);
    return async () => {
      await new Promise<void>((resolve) => host.server.close(() => resolve()));
      await kefu.stop();
    };
  } catch (e) {
    await kefu.stop();
    throw e;
  }
}
