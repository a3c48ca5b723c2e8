// The widget's chat UI (second build): src/widget/chat/index.tsx becomes dist/widget/chat-<hash>.js (12 hex digits), one ES
// module that the loader (kefu.js) imports on first use. Its file name is recorded in
// dist/widget/.vite/manifest.json, which the loader build (third) reads.
import { defineConfig } from 'vite';
import { hashedOutput, shared } from './vite.shared.ts';

export default defineConfig({
  ...shared,
  // The chunk is fetched from the tenant's page, so its own imports (none today) resolve relative to it.
  base: './',
  build: {
    ...shared.build,
    outDir: 'dist/widget',
    emptyOutDir: true,
    manifest: true,
    // CSS is inlined into the shadow root as a string (`?inline`), so no stylesheet is emitted.
    cssCodeSplit: false,
    rolldownOptions: {
      input: { chat: 'src/widget/chat/index.tsx' },
      preserveEntrySignatures: 'exports-only',
      output: { format: 'es', ...hashedOutput },
    },
  },
});
