// The widget's size budgets (API.md, Web): the loader dist/widget/kefu.js at most 5 KB gzipped, and the chat UI
// it loads (the chunk named in the chat build's manifest, with everything that chunk imports) at most 60 KB
// gzipped. Prints the sizes; exits 1 when a budget is exceeded. Run after `npm run build`.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { webDir } from './kefu-server.mjs';

const LOADER_BUDGET = 5 * 1024;
const CHAT_BUDGET = 60 * 1024;
const widgetDir = join(webDir, 'dist', 'widget');

/** @param {string} file */
const gz = (file) => gzipSync(readFileSync(join(widgetDir, file)), { level: 9 }).length;

/** @type {Record<string, { file: string, imports?: string[], dynamicImports?: string[], css?: string[] }>} */
const manifest = JSON.parse(readFileSync(join(widgetDir, '.vite', 'manifest.json'), 'utf8'));
const entryKey = 'src/widget/chat/index.tsx';
if (!manifest[entryKey]) throw new Error(`no ${entryKey} in the chat build's manifest`);

// The chat entry and everything it pulls in (static and dynamic imports, CSS).
const chatFiles = new Set();
const visit = (/** @type {string} */ key) => {
  const m = manifest[key];
  if (!m || chatFiles.has(m.file)) return;
  chatFiles.add(m.file);
  for (const c of m.css ?? []) chatFiles.add(c);
  for (const i of [...(m.imports ?? []), ...(m.dynamicImports ?? [])]) visit(i);
};
visit(entryKey);

const loader = gz('kefu.js');
const chat = [...chatFiles].reduce((sum, f) => sum + gz(f), 0);
const line = (/** @type {string} */ name, /** @type {number} */ size, /** @type {number} */ budget) =>
  `${size <= budget ? 'ok  ' : 'OVER'} ${name}: ${size} bytes gzipped (budget ${budget})`;
console.log(line('loader widget/kefu.js', loader, LOADER_BUDGET));
console.log(line(`chat UI ${[...chatFiles].map((f) => `widget/${f}`).join(' + ')}`, chat, CHAT_BUDGET));
if (loader > LOADER_BUDGET || chat > CHAT_BUDGET) process.exit(1);
