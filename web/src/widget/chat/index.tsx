// The widget's chat UI, the chunk kefu.js imports on first use (see ../loader.ts and ../contract.ts): mounts
// the chat panel into the loader's shadow root, with its styles, and answers the loader's open/close calls.
import { render } from 'preact';
import type { ChatHost, ChatUI } from '../contract';
import { readableOn } from './config';
import { ChatController } from './controller';
import css from './styles.css?inline';
import { ChatPanel } from './view';

/** Mounts the chat into `host.root`; the configuration starts loading at once. */
export function mount(host: ChatHost): ChatUI {
  const style = document.createElement('style');
  style.textContent = css;
  const container = document.createElement('div');
  container.className = 'kefu-root';
  host.root.append(style, container);

  const controller = new ChatController(host);
  controller.subscribe((s) => {
    if (!s.config) return;
    const hostEl = host.root.host as HTMLElement;
    hostEl.style.setProperty('--kefu-color', s.config.color);
    hostEl.style.setProperty('--kefu-on-color', readableOn(s.config.color));
  });
  render(<ChatPanel controller={controller} host={host} />, container);
  void controller.init();

  return {
    open() {
      controller.setOpen(true);
    },
    close() {
      // Focus goes back to the launcher when it was inside the panel (not when the page closed the chat
      // while the visitor was elsewhere).
      const active = host.root.activeElement;
      const hadFocus = active !== null && container.contains(active);
      controller.setOpen(false);
      if (hadFocus) host.launcher.focus();
    },
    userChanged() {
      // The visitor is read when the conversation starts; nothing to do before that.
    },
  };
}
