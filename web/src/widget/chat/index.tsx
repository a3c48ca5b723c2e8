// The widget's chat UI, loaded by kefu.js on first use (see ../loader.ts and ../contract.ts).
import { render } from 'preact';
import type { ChatHost, ChatUI } from '../contract';

/** Mounts the chat panel into the loader's shadow root. */
export function mount(host: ChatHost): ChatUI {
  const el = document.createElement('div');
  host.root.appendChild(el);
  let open = false;
  const paint = () => render(open ? <div role="dialog" aria-label="Chat" /> : null, el);
  return {
    open() {
      open = true;
      paint();
    },
    close() {
      open = false;
      paint();
    },
    userChanged() {},
  };
}
