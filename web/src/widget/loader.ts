// kefu.js, the loader tenants embed: `<script src="{base}/widget/kefu.js" data-widget-key="..." async>`.
// It stays small (≤ 5 KB gzipped, enforced by scripts/size.mjs): it draws the launcher inside a shadow root
// (so the host page's CSS cannot reach it), defines `window.Kefu`, and imports the chat UI chunk only on first
// use — the first open, or at once (when the browser is idle) for a returning visitor, whose conversation may
// bring unread replies. Calls made before the chat UI is there are kept and replayed.
import type { ChatModule, ChatUI, KefuApi, KefuEvent, VisitorUser } from './contract';
import { loadSession } from './storage';

declare const __KEFU_CHAT_FILE__: string;

type Listener = (payload?: unknown) => void;

/** `window.Kefu` may exist before this script runs: a stub page code made, with calls queued in `q`. */
interface KefuStub {
  q?: ArrayLike<ArrayLike<unknown>>;
  __kefu?: true;
}

declare global {
  interface Window {
    Kefu?: KefuApi & KefuStub;
  }
}

const LABELS = {
  en: { open: 'Open chat', close: 'Close chat', unread: '{n} unread' },
  'zh-CN': { open: '打开在线客服', close: '关闭在线客服', unread: '{n} 条未读' },
} as const;

// A speech bubble and a cross, drawn with currentColor.
const ICON_CHAT =
  '<svg viewBox="0 0 24 24" width="28" height="28" aria-hidden="true" focusable="false"><path fill="currentColor" d="M12 3C6.5 3 2 6.6 2 11c0 2.4 1.3 4.5 3.4 6L4.5 21l4.3-2.3c1 .2 2.1.3 3.2.3 5.5 0 10-3.6 10-8s-4.5-8-10-8z"/></svg>';
const ICON_CLOSE =
  '<svg viewBox="0 0 24 24" width="24" height="24" aria-hidden="true" focusable="false"><path fill="none" stroke="currentColor" stroke-width="2.5" stroke-linecap="round" d="M6 6l12 12M18 6L6 18"/></svg>';

// The host element's own styles are !important so that host-page rules aimed at it cannot move or hide it. On a
// phone the open chat fills the screen, and the launcher steps aside (the chat's own close button closes it).
const CSS = `
:host{all:initial!important;position:fixed!important;z-index:2147483000!important;right:0!important;bottom:0!important;width:0!important;height:0!important;display:block!important}
.kefu-launcher{position:fixed;right:20px;bottom:20px;width:56px;height:56px;border-radius:50%;border:0;padding:0;cursor:pointer;
background:var(--kefu-color,#1d4ed8);color:var(--kefu-on-color,#fff);box-shadow:0 4px 14px rgba(0,0,0,.25);display:flex;align-items:center;justify-content:center;font:14px/1 system-ui,sans-serif}
.kefu-launcher:focus-visible{outline:3px solid #111;outline-offset:3px;box-shadow:0 0 0 6px #fff}
.kefu-badge{position:absolute;top:-4px;right:-4px;min-width:20px;height:20px;padding:0 6px;box-sizing:border-box;border-radius:10px;
background:#b91c1c;color:#fff;font:bold 12px/20px system-ui,sans-serif;text-align:center}
.kefu-badge[hidden]{display:none}
@media (max-width:480px){.kefu-launcher[aria-expanded=true]{display:none}}
`;

function init(): void {
  const script = document.currentScript as HTMLScriptElement | null;
  const existing = window.Kefu;
  if (existing?.__kefu) return; // embedded twice: the first one wins
  const widgetKey = script?.dataset.widgetKey ?? '';
  if (!script || !widgetKey) {
    console.error('Kefu: the <script> needs data-widget-key');
    return;
  }
  const src = new URL(script.src, location.href);
  const apiBase = (script.dataset.apiBase || src.origin).replace(/\/+$/, '');
  const chatUrl = new URL(__KEFU_CHAT_FILE__, src).href;

  const listeners: Record<KefuEvent, Listener[]> = { ready: [], message: [], unread: [] };
  let lang: 'en' | 'zh-CN' = /^zh/i.test(navigator.language || '') ? 'zh-CN' : 'en';
  let user: VisitorUser | undefined;
  let unread = 0;
  let isOpen = false;
  let ready = false;
  let ui: ChatUI | undefined;
  let loading: Promise<ChatUI | undefined> | undefined;

  const host = document.createElement('kefu-widget');
  const root = host.attachShadow({ mode: 'open' });
  const style = document.createElement('style');
  style.textContent = CSS;
  const launcher = document.createElement('button');
  launcher.type = 'button';
  launcher.className = 'kefu-launcher';
  launcher.setAttribute('data-testid', 'kefu-launcher');
  launcher.setAttribute('aria-expanded', 'false');
  launcher.setAttribute('aria-haspopup', 'dialog');
  const icon = document.createElement('span');
  icon.style.display = 'contents';
  const badge = document.createElement('span');
  badge.className = 'kefu-badge';
  badge.setAttribute('aria-hidden', 'true');
  badge.setAttribute('data-testid', 'kefu-unread');
  badge.hidden = true;
  launcher.append(icon, badge);
  root.append(style, launcher);

  const emit = (event: KefuEvent, payload?: unknown) => {
    for (const cb of listeners[event]) {
      try {
        cb(payload);
      } catch (e) {
        console.error('Kefu: a listener threw', e);
      }
    }
  };

  const paint = () => {
    const l = LABELS[lang];
    let label = isOpen ? l.close : l.open;
    if (unread > 0 && !isOpen) label += ` (${l.unread.replace('{n}', String(unread))})`;
    launcher.setAttribute('aria-label', label);
    launcher.setAttribute('aria-expanded', String(isOpen));
    icon.innerHTML = isOpen ? ICON_CLOSE : ICON_CHAT;
    badge.hidden = unread === 0 || isOpen;
    badge.textContent = unread > 99 ? '99+' : String(unread);
  };

  const ensureUI = (): Promise<ChatUI | undefined> => {
    loading ??= (import(/* @vite-ignore */ chatUrl) as Promise<ChatModule>).then(
      (mod) => {
        ui = mod.mount({
          root,
          launcher,
          apiBase,
          widgetKey,
          user: () => user,
          emit,
          setUnread(n) {
            if (n === unread) return;
            unread = n;
            paint();
            emit('unread', n);
          },
          requestClose: () => api.close(),
          setLang(l) {
            lang = l;
            paint();
          },
        });
        if (isOpen) ui.open();
        return ui;
      },
      (e: unknown) => {
        console.error('Kefu: the chat could not be loaded', e);
        loading = undefined; // a later open tries again
        isOpen = false;
        launcher.removeAttribute('aria-busy');
        paint();
        return undefined;
      },
    );
    return loading;
  };

  const api: KefuApi & KefuStub = {
    __kefu: true,
    open() {
      if (isOpen) return;
      isOpen = true;
      paint();
      if (ui) ui.open();
      else {
        launcher.setAttribute('aria-busy', 'true');
        void ensureUI().then(() => launcher.removeAttribute('aria-busy'));
      }
    },
    close() {
      if (!isOpen) return;
      isOpen = false;
      paint();
      ui?.close();
    },
    setUser(u) {
      user = u && typeof u === 'object' ? { ...u } : undefined;
      ui?.userChanged();
    },
    on(event, callback) {
      if (!(event in listeners) || typeof callback !== 'function') return;
      listeners[event].push(callback);
      if (event === 'ready' && ready) callback();
      if (event === 'unread' && unread > 0) callback(unread);
    },
  };

  launcher.addEventListener('click', () => (isOpen ? api.close() : api.open()));
  window.Kefu = api;
  paint();

  // Calls the page queued on a stub before this script ran, e.g. `Kefu.q.push(['setUser', {...}])`.
  const queued = existing?.q ? Array.from(existing.q) : [];
  for (const call of queued) {
    const [name, ...args] = Array.from(call);
    const fn = typeof name === 'string' ? (api as unknown as Record<string, unknown>)[name] : undefined;
    if (typeof fn === 'function') (fn as (...a: unknown[]) => void).apply(api, args);
  }

  const attach = () => {
    document.body.appendChild(host);
    ready = true;
    emit('ready');
    // A returning visitor has a conversation: load the chat now so its unread replies show on the badge.
    if (loadSession(widgetKey)) {
      if ('requestIdleCallback' in window) window.requestIdleCallback(() => void ensureUI());
      else setTimeout(() => void ensureUI(), 200);
    }
  };
  if (document.body) attach();
  else document.addEventListener('DOMContentLoaded', attach, { once: true });
}

init();
