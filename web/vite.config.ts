// The console build (the first of three, see package.json's "build"): web/index.html and src/console/main.tsx
// become dist/index.html and dist/assets/* (fingerprinted). It empties dist/ first; the widget builds run after
// it. Vitest's settings live here too.
import { defineConfig } from 'vitest/config';
import { hashedOutput, shared } from './vite.shared.ts';

export default defineConfig({
  ...shared,
  base: '/',
  build: {
    ...shared.build,
    outDir: 'dist',
    emptyOutDir: true,
    assetsDir: 'assets',
    rolldownOptions: {
      output: {
        ...hashedOutput,
        entryFileNames: 'assets/[name]-[hash:12].js',
        chunkFileNames: 'assets/[name]-[hash:12].js',
        assetFileNames: 'assets/[name]-[hash:12][extname]',
      },
    },
  },
  test: {
    include: ['src/**/*.test.ts', 'src/**/*.test.tsx'],
    environment: 'node',
  },
});
