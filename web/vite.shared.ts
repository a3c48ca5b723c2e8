// Settings that all three builds (console, widget chat UI, widget loader) share.
import type { UserConfig } from 'vite';

/** JSX compiles to Preact's automatic runtime (no plugin needed: Vite's own oxc transform does it). */
export const shared: UserConfig = {
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: { target: 'es2020', sourcemap: false, reportCompressedSize: true },
};
