// The contract between the loader (kefu.js, always on the page) and the chat UI (loaded on first use). Types
// only: nothing here ends up in either bundle.

/** The visitor as the host page describes it with `Kefu.setUser` (API.md, Web). */
export interface VisitorUser {
  external_id?: string;
  name?: string;
  email?: string;
  phone?: string;
}

/**
 * The events `Kefu.on` accepts: `ready` (the launcher is drawn; a late listener is called at once), `message`
 * (each new message of the conversation, the visitor's own included, with the message as payload; not the
 * history loaded on a page load), `unread` (the number of unread replies, whenever it changes while the chat is
 * closed, and 0 when it opens).
 */
export type KefuEvent = 'ready' | 'message' | 'unread';

/** What the loader gives the chat UI when it mounts it. */
export interface ChatHost {
  /** The shadow root the widget lives in (the launcher is already there). */
  root: ShadowRoot;
  /** The launcher button: focus goes back to it when the chat closes. */
  launcher: HTMLButtonElement;
  /** The API's origin (data-api-base, else the origin kefu.js was loaded from). */
  apiBase: string;
  widgetKey: string;
  /** The visitor set with `Kefu.setUser`, if any. */
  user(): VisitorUser | undefined;
  /** Fires a `Kefu.on` event. */
  emit(event: KefuEvent, payload?: unknown): void;
  /** Shows `count` on the launcher's badge (0 hides it); also fires `unread` when it changes. */
  setUnread(count: number): void;
  /** Asks the loader to close the chat (the close button, Esc). */
  requestClose(): void;
  /** The language the chat UI settled on, for the launcher's own label. */
  setLang(lang: 'zh-CN' | 'en'): void;
}

/** What the chat UI module gives back to the loader. */
export interface ChatUI {
  open(): void;
  close(): void;
  /** A later `Kefu.setUser` (used for a conversation not yet started). */
  userChanged(): void;
}

/** The chat UI module's shape: `import(chatUrl)` resolves to this. */
export interface ChatModule {
  mount(host: ChatHost): ChatUI;
}

/** What `window.Kefu` offers the host page. */
export interface KefuApi {
  open(): void;
  close(): void;
  setUser(user: VisitorUser): void;
  on(event: KefuEvent, callback: (payload?: unknown) => void): void;
}
