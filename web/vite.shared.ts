// Settings that all three builds (console, widget chat UI, widget loader) share.
import type { UserConfig } from 'vite';

/**
 * Fingerprinted output names: 12 hex digits of content hash. `kefu serve` gives files whose name ends in a hash
 * a one-year immutable cache; hex (not base64's `-` and `_`) keeps the hash one recognizable name segment.
 */
export const hashedOutput = {
  hashCharacters: 'hex',
  entryFileNames: '[name]-[hash:12].js',
  chunkFileNames: '[name]-[hash:12].js',
  assetFileNames: '[name]-[hash:12][extname]',
} as const;

/** JSX compiles to Preact's automatic runtime (no plugin needed: Vite's own oxc transform does it). */
export const shared: UserConfig = {
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: { target: 'es2020', sourcemap: false, reportCompressedSize: true },
};
