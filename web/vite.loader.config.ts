// The widget loader (third build): src/widget/loader.ts becomes dist/widget/kefu.js, a small IIFE with a fixed
// name (it is what tenants embed, so it is not fingerprinted). The chat UI's hashed file name, from the second
// build's manifest, is compiled in as __KEFU_CHAT_FILE__.
import { readFileSync } from 'node:fs';
import { defineConfig } from 'vite';
import { shared } from './vite.shared.ts';

interface ManifestEntry {
  file: string;
  isEntry?: boolean;
}

function chatFile(): string {
  const manifest = JSON.parse(readFileSync('dist/widget/.vite/manifest.json', 'utf8')) as Record<string, ManifestEntry>;
  const entry = manifest['src/widget/chat/index.tsx'];
  if (!entry) throw new Error('the chat UI build left no manifest entry; run the widget build first');
  return entry.file;
}

export default defineConfig(({ command }) => ({
  ...shared,
  define: { __KEFU_CHAT_FILE__: JSON.stringify(command === 'build' ? chatFile() : 'chat.js') },
  build: {
    ...shared.build,
    outDir: 'dist/widget',
    emptyOutDir: false,
    copyPublicDir: false,
    lib: { entry: 'src/widget/loader.ts', formats: ['iife'], name: 'KefuLoader', fileName: () => 'kefu.js' },
  },
}));
