// The console build (the first of three, see package.json's "build"): web/index.html and src/console/main.tsx
// become dist/index.html and dist/assets/* (fingerprinted). It empties dist/ first; the widget builds run after
// it. Vitest's settings live here too.
import { defineConfig } from 'vitest/config';
import { shared } from './vite.shared.ts';

export default defineConfig({
  ...shared,
  base: '/',
  build: { ...shared.build, outDir: 'dist', emptyOutDir: true, assetsDir: 'assets' },
  test: {
    include: ['src/**/*.test.ts', 'src/**/*.test.tsx'],
    environment: 'node',
  },
});
