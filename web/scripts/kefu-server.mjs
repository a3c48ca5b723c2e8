// Starts a real `kefu serve` for the browser tests and the OpenAPI type generation: on 127.0.0.1:0 with a fresh
// data directory, reading the address from its first line of output ("kefu serve listening on http://...").
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

/** web/ */
export const webDir = resolve(dirname(fileURLToPath(import.meta.url)), '..');
/** The repository root. */
export const repoDir = resolve(webDir, '..');

/**
 * The kefu binary: $KEFU_BIN, else $CARGO_TARGET_DIR/debug/kefu, else <repo>/target/debug/kefu.
 * @returns {string}
 */
export function kefuBin() {
  const candidates = [
    process.env.KEFU_BIN,
    process.env.CARGO_TARGET_DIR && join(process.env.CARGO_TARGET_DIR, 'debug', 'kefu'),
    join(repoDir, 'target', 'debug', 'kefu'),
  ].filter(/** @returns {c is string} */ (c) => typeof c === 'string' && c.length > 0);
  const found = candidates.find((c) => existsSync(c));
  if (!found) {
    throw new Error(`no kefu binary (looked at ${candidates.join(', ')}); run \`cargo build --bin kefu\` or set KEFU_BIN`);
  }
  return found;
}

/**
 * @typedef {object} RunningServer
 * @property {string} base     e.g. http://127.0.0.1:41234
 * @property {number} pid
 * @property {string} dataDir
 * @property {string} bootstrapToken
 * @property {() => Promise<void>} stop  stops the server (SIGTERM, then SIGKILL after 10 s) and removes its data
 */

/**
 * Starts `kefu serve`.
 * @param {{ bootstrapToken?: string, webDir?: string, logFile?: string, env?: Record<string, string> }} [options]
 * @returns {Promise<RunningServer>}
 */
export async function startKefu(options = {}) {
  const bin = kefuBin();
  const dataDir = mkdtempSync(join(tmpdir(), 'kefu-web-'));
  const bootstrapToken = options.bootstrapToken ?? `web-tests-${process.pid}-${Date.now()}`;
  /** @type {Record<string, string>} */
  const env = {
    ...Object.fromEntries(Object.entries(process.env).filter((e) => typeof e[1] === 'string')),
    KEFU_ADDR: '127.0.0.1:0',
    KEFU_DATA_DIR: dataDir,
    KEFU_BOOTSTRAP_TOKEN: bootstrapToken,
    RUST_LOG: process.env.RUST_LOG ?? 'warn',
    ...(options.webDir ? { KEFU_WEB_DIR: options.webDir } : {}),
    ...options.env,
  };
  const child = spawn(bin, ['serve'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  /** @type {string[]} */
  const stderr = [];
  child.stderr.on('data', (/** @type {Buffer} */ chunk) => {
    stderr.push(chunk.toString());
    if (stderr.length > 200) stderr.shift();
  });
  const lines = createInterface({ input: child.stdout });
  const base = await new Promise((resolveBase, reject) => {
    const timer = setTimeout(() => reject(new Error(`kefu serve printed no address within 60 s\n${stderr.join('')}`)), 60_000);
    lines.once('line', (line) => {
      clearTimeout(timer);
      const m = /(http:\/\/\S+)/.exec(line);
      if (m?.[1]) resolveBase(m[1].replace(/\/+$/, ''));
      else reject(new Error(`unexpected first line from kefu serve: ${line}`));
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`kefu serve exited with ${code}\n${stderr.join('')}`));
    });
  });
  // Keep draining stdout so the server never blocks on a full pipe.
  lines.on('line', () => {});
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(dataDir, { recursive: true, force: true });
  };
  return { base: /** @type {string} */ (base), pid: child.pid ?? 0, dataDir, bootstrapToken, stop };
}
