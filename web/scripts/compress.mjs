// Writes precompressed siblings (`.br`, `.gz`) of the built text files in dist/, the last step of
// `npm run build`: `kefu serve` (and a CDN in front of the bucket) sends them to browsers that accept them, so
// nothing is compressed per request. Files under 1 KB are left alone.
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import { webDir } from './kefu-server.mjs';

const TEXT = /\.(js|mjs|css|html|svg|json|txt)$/;
const dist = join(webDir, 'dist');
let count = 0;

/** @param {string} dir */
function walk(dir) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) {
      if (name !== '.vite') walk(path);
      continue;
    }
    if (!TEXT.test(name)) continue;
    const data = readFileSync(path);
    if (data.length < 1024) continue;
    writeFileSync(`${path}.gz`, gzipSync(data, { level: 9 }));
    writeFileSync(
      `${path}.br`,
      brotliCompressSync(data, { params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_SIZE_HINT]: data.length } }),
    );
    count += 1;
  }
}

walk(dist);
console.log(`precompressed ${count} files in dist/ (.br and .gz)`);
