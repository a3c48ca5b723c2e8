// The chat's logic, apart from its looks: loads the configuration, starts the conversation, sends with
// Idempotency-Key, keeps the messages (live over the WebSocket, caught up by `after=` on every (re)connect,
// one copy per id), counts unread replies while the chat is closed, and keeps the visitor's session in
// localStorage so a reload continues the conversation. The view (view.tsx) renders its state.
import type { MessageView, Page, RealtimeTicket, Schemas } from '../../api/types';
import { ApiError, createClient, idempotencyKey, type Client } from '../../shared/http';
import { browserLangs, pickLang, type Lang } from '../../shared/i18n';
import { lastId, mergeMessages, SeenMessages } from '../../shared/messages';
import { connectLive, type Frame, type Live, type LiveState } from '../../shared/ws';
import type { ChatHost } from '../contract';
import { clearSession, loadSession, saveSession, type StoredSession } from '../storage';
import { normalizeConfig, type WidgetConfig, type WidgetMessage } from './config';
import { preChatBody, validatePreChat, visitorBody, type FieldError } from './prechat';
import { countUnread } from './unread';
import { typeAccepted, xhrUpload, type Uploader, type UploadTicket } from '../../shared/upload';

/** A file on its way: declared, uploading (with progress), then sent as a message; or failed. */
export interface Upload {
  key: string;
  name: string;
  /** 0..1 while uploading. */
  progress: number;
  status: 'uploading' | 'failed';
}

/** A message written here and not yet acknowledged by the server. */
export interface PendingMessage {
  /** Its Idempotency-Key (kept for a resend, so the server stores it once). */
  key: string;
  content: string;
  status: 'sending' | 'failed';
}

/** A problem to show the visitor, as a dictionary key (with values) or the server's own words. */
export type Notice =
  | { key: 'rate_limited'; s: number }
  | { key: 'too_long' }
  | { key: 'gone' }
  | { key: 'file_type' }
  | { key: 'file_too_large' }
  | { key: 'error'; message: string };

/** Everything the view shows. */
export interface ChatState {
  /** loading: fetching the configuration; failed: it could not be fetched; prechat: the form; chat: talking. */
  phase: 'loading' | 'failed' | 'prechat' | 'chat';
  config: WidgetConfig | undefined;
  lang: Lang;
  open: boolean;
  /** A conversation exists (the visitor has a token). */
  started: boolean;
  messages: readonly WidgetMessage[];
  pending: readonly PendingMessage[];
  live: LiveState | 'idle';
  /** The conversation was closed by an agent (writing again reopens it). */
  closed: boolean;
  /** Starting the conversation is under way. */
  starting: boolean;
  fieldErrors: Record<string, FieldError>;
  notice: Notice | undefined;
  /** Leaving a message (nobody online, `offline_mode` leave_message) is under way. */
  leaving: boolean;
  /** The visitor's message was left: the form is done. */
  left: boolean;
  /** The agent is typing (cleared by itself after a few seconds without news). */
  agentTyping: boolean;
  /** The last message an agent has read: the visitor's messages up to it show "read". */
  agentReadUpTo: string | undefined;
  /** The visitor's place in the queue while queued. */
  queue: { position: number; wait: number | null } | undefined;
  /** A rating was asked for (by the agent, or the visitor opened the form) and not given yet. */
  ratingAsked: boolean;
  /** The score given (3 good, 2 neutral, 1 bad). */
  rated: number | undefined;
  /** Files being uploaded (or that failed to). */
  uploads: readonly Upload[];
}

/** How long a typing indicator lasts without news. */
export const TYPING_EXPIRES_MS = 6000;
/** At most one `typing: true` per this while the visitor types (one per keystroke burst). */
export const TYPING_EVERY_MS = 2500;
/** The visitor stopped typing after this long without a keystroke. */
export const TYPING_IDLE_MS = 3000;

const MAX_CHARS = 4000;

/** The server no longer has the session's conversation (deleted by staff or by the tenant's retention). */
function isGone(e: unknown): boolean {
  return e instanceof ApiError && e.status === 404 && e.code === 'not_found';
}

/** Whether the visitor may write now: a conversation exists, someone is online, or the tenant queues. */
export function canWrite(s: Pick<ChatState, 'started' | 'config'>): boolean {
  return s.started || !s.config || s.config.online || s.config.offline_mode === 'queue';
}

export class ChatController {
  state: ChatState;
  private readonly listeners = new Set<(s: ChatState) => void>();
  /** Message frames seen: a repeated one (at-least-once delivery) is dropped. */
  private readonly seen = new SeenMessages();
  private readonly api: Client;
  private session: StoredSession | undefined;
  private live: Live | undefined;
  private loaded = false;
  private catchingUp: Promise<void> | undefined;
  private catchUpAgain = false;
  private typingTimer: ReturnType<typeof setTimeout> | undefined;
  private typingSentAt = 0;
  private idleTimer: ReturnType<typeof setTimeout> | undefined;
  private readSent: string | undefined;
  private trailing: ReturnType<typeof setTimeout> | undefined;
  private latestDraft = '';

  constructor(
    private readonly host: ChatHost,
    private readonly deps: { fetch?: typeof fetch; WebSocket?: typeof WebSocket; upload?: Uploader } = {},
  ) {
    this.session = loadSession(host.widgetKey);
    this.api = createClient({
      base: host.apiBase,
      headers: (): Record<string, string> => (this.session ? { Authorization: `Bearer ${this.session.visitor_token}` } : {}),
      ...(deps.fetch ? { fetch: deps.fetch } : {}),
    });
    this.state = {
      phase: 'loading',
      config: undefined,
      lang: pickLang('auto', browserLangs()),
      open: false,
      started: this.session !== undefined,
      messages: [],
      pending: [],
      live: 'idle',
      closed: false,
      starting: false,
      fieldErrors: {},
      notice: undefined,
      leaving: false,
      left: false,
      agentTyping: false,
      agentReadUpTo: undefined,
      queue: undefined,
      ratingAsked: false,
      uploads: [],
      rated: undefined,
    };
    if (typeof window !== 'undefined') window.addEventListener('online', () => this.live?.retryNow());
  }

  subscribe(fn: (s: ChatState) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  private set(patch: Partial<ChatState>): void {
    this.state = { ...this.state, ...patch };
    for (const fn of this.listeners) fn(this.state);
  }

  /** Fetches the configuration, then continues a stored conversation or shows what starts one. */
  async init(): Promise<void> {
    this.set({ phase: 'loading' });
    let config: WidgetConfig;
    try {
      config = normalizeConfig(await this.fetchConfig());
    } catch {
      this.set({ phase: 'failed' });
      return;
    }
    const lang = pickLang(config.language, browserLangs());
    this.host.setLang(lang);
    this.set({ config, lang, phase: this.session ? 'chat' : this.needsForm(config) ? 'prechat' : 'chat' });
    if (this.session) this.goLive();
  }

  private fetchConfig(): Promise<Schemas['WidgetConfig']> {
    return this.api.get<Schemas['WidgetConfig']>('/v1/widget/config', { headers: { 'X-Widget-Key': this.host.widgetKey } });
  }

  private needsForm(config: WidgetConfig): boolean {
    return config.pre_chat_form.enabled || config.groups.length > 0;
  }

  /** The configuration again (on open: whether someone is online changes during the day). */
  private async refreshConfig(): Promise<void> {
    try {
      const config = normalizeConfig(await this.fetchConfig());
      this.set({ config });
    } catch {
      // keep the one we have
    }
  }

  setOpen(open: boolean): void {
    if (open === this.state.open) return;
    this.set({ open, notice: undefined });
    if (open) {
      this.markSeen();
      if (this.state.phase === 'failed') void this.init();
      else if (this.state.phase !== 'loading') void this.refreshConfig();
    }
  }

  /** Checks the pre-chat form and shows its errors; answers whether it may be sent. */
  checkForm(values: Record<string, string>): boolean {
    const config = this.state.config;
    const fields = config?.pre_chat_form.enabled ? config.pre_chat_form.fields : [];
    const fieldErrors = validatePreChat(fields, values);
    this.set({ fieldErrors });
    return Object.keys(fieldErrors).length === 0;
  }

  /** Starts the conversation from the pre-chat form; answers whether it started. */
  async start(values: Record<string, string>, groupId: string | undefined): Promise<boolean> {
    const config = this.state.config;
    if (!config || this.state.starting) return false;
    const fields = config.pre_chat_form.enabled ? config.pre_chat_form.fields : [];
    const fieldErrors = validatePreChat(fields, values);
    if (Object.keys(fieldErrors).length > 0) {
      this.set({ fieldErrors });
      return false;
    }
    this.set({ fieldErrors: {}, starting: true, notice: undefined });
    try {
      await this.startConversation(preChatBody(fields, values), groupId);
      this.set({ phase: 'chat' });
      return true;
    } catch (e) {
      const field = e instanceof ApiError && e.field?.startsWith('pre_chat.') ? e.field.slice('pre_chat.'.length) : undefined;
      if (field) this.set({ fieldErrors: { [field]: 'required' } });
      this.set({ notice: this.noticeOf(e) });
      return false;
    } finally {
      this.set({ starting: false });
    }
  }

  /**
   * Leaves a message for when nobody is online (`POST /v1/widget/leave_message`): it becomes a ticket for the
   * team. Needs an email or a phone to answer, from the form or from `Kefu.setUser`; answers whether it was left.
   */
  async leaveMessage(content: string, contact: { email?: string; phone?: string }): Promise<boolean> {
    if (this.state.leaving || this.state.left) return false;
    const text = content.trim();
    if (!text) return false;
    if (text.length > MAX_CHARS) {
      this.set({ notice: { key: 'too_long' } });
      return false;
    }
    const way: { email?: string; phone?: string } = {};
    if (contact.email?.trim()) way.email = contact.email.trim();
    if (contact.phone?.trim()) way.phone = contact.phone.trim();
    const body = { visitor: visitorBody(this.host.user(), {}), content: text, contact: way };
    this.set({ leaving: true, notice: undefined });
    try {
      await this.api.post<Schemas['LeftMessage']>('/v1/widget/leave_message', body, { headers: { 'X-Widget-Key': this.host.widgetKey } });
      this.set({ left: true });
      return true;
    } catch (e) {
      this.set({ notice: this.noticeOf(e) });
      return false;
    } finally {
      this.set({ leaving: false });
    }
  }

  private async startConversation(preChat: Record<string, string>, groupId: string | undefined): Promise<void> {
    const body: Record<string, unknown> = {
      visitor: visitorBody(this.host.user(), preChat),
      page_url: typeof location !== 'undefined' ? location.href : undefined,
    };
    if (Object.keys(preChat).length > 0) body.pre_chat = preChat;
    if (groupId) body.group_id = groupId;
    const started = await this.api.post<Schemas['Started']>(
      '/v1/widget/conversations',
      body,
      { headers: { 'X-Widget-Key': this.host.widgetKey } },
    );
    this.session = { visitor_token: started.visitor_token, conversation_id: started.conversation_id, customer_id: started.customer_id };
    saveSession(this.host.widgetKey, this.session);
    // A new conversation has no history to load: from here on every message is news (Kefu.on('message')).
    this.loaded = true;
    this.set({ started: true, closed: false });
    this.goLive();
  }

  /** Sends a message (starting the conversation first when there is none and no form is needed). */
  async send(content: string): Promise<boolean> {
    const text = content.trim();
    if (!text) return false;
    if ([...text].length > MAX_CHARS) {
      this.set({ notice: { key: 'too_long' } });
      return false;
    }
    // The message itself ends the typing (the agent's indicator clears on it): no separate `typing: false`.
    if (this.idleTimer) clearTimeout(this.idleTimer);
    if (this.trailing) clearTimeout(this.trailing);
    this.trailing = undefined;
    this.typingSentAt = 0;
    const pending: PendingMessage = { key: idempotencyKey(), content: text, status: 'sending' };
    this.set({ pending: [...this.state.pending, pending], notice: undefined });
    return this.deliver(pending);
  }

  /**
   * Sends a file (picked, dropped or pasted): checked against the settings here first (the server checks again),
   * declared, uploaded with progress, then sent as a message of its own. Its links arrive with the next read.
   */
  async attach(file: File): Promise<boolean> {
    const limits = this.state.config?.attachments;
    if (!typeAccepted(limits?.content_types, file.type)) {
      this.set({ notice: { key: 'file_type' } });
      return false;
    }
    if (limits?.max_bytes !== undefined && file.size > limits.max_bytes) {
      this.set({ notice: { key: 'file_too_large' } });
      return false;
    }
    const up: Upload = { key: idempotencyKey(), name: file.name, progress: 0, status: 'uploading' };
    const update = (patch: Partial<Upload>) =>
      this.set({ uploads: this.state.uploads.map((u) => (u.key === up.key ? { ...u, ...patch } : u)) });
    this.set({ uploads: [...this.state.uploads, up], notice: undefined });
    try {
      if (!this.session) await this.startConversation({}, undefined);
      const ticket = await this.api.post<UploadTicket>('/v1/widget/attachments', {
        name: file.name,
        content_type: file.type,
        size: file.size,
      });
      await (this.deps.upload ?? xhrUpload)(ticket.upload_url, ticket.upload_headers, file, (progress) => update({ progress }));
      await this.api.post<Schemas['Sent']>(
        '/v1/widget/messages',
        { content: '', attachment_ids: [ticket.attachment_id] },
        { headers: { 'Idempotency-Key': up.key } },
      );
      this.set({ uploads: this.state.uploads.filter((u) => u.key !== up.key), closed: false });
      await this.catchUp();
      return true;
    } catch (e) {
      const gone = this.forgetIfRefused(e);
      update({ status: 'failed' });
      this.set({ notice: gone ? { key: 'gone' } : this.noticeOf(e) });
      return false;
    }
  }

  /** Clears a failed upload from view. */
  dismissUpload(key: string): void {
    this.set({ uploads: this.state.uploads.filter((u) => u.key !== key) });
  }

  /** Sends a failed message again, with the same Idempotency-Key. */
  resend(key: string): Promise<boolean> {
    const p = this.state.pending.find((x) => x.key === key);
    if (!p) return Promise.resolve(false);
    const again: PendingMessage = { ...p, status: 'sending' };
    this.set({ pending: this.state.pending.map((x) => (x.key === key ? again : x)), notice: undefined });
    return this.deliver(again);
  }

  /**
   * Sends a pending message. When its conversation is gone (deleted by staff, or by the tenant's retention), the
   * session is forgotten and the message goes once more, into a new conversation, unless a form comes first.
   */
  private async deliver(p: PendingMessage, again = false): Promise<boolean> {
    try {
      if (!this.session) await this.startConversation({}, undefined);
      const conversationId = this.session?.conversation_id;
      const sent = await this.api.post<Schemas['Sent']>(
        '/v1/widget/messages',
        { content: p.content },
        { headers: { 'Idempotency-Key': p.key } },
      );
      const mine: WidgetMessage = {
        id: sent.id,
        conversation_id: conversationId ?? '',
        author: 'visitor',
        content: p.content,
        internal: false,
        created_at: sent.created_at,
        recalled: false,
      };
      this.set({ pending: this.state.pending.filter((x) => x.key !== p.key), closed: false });
      this.addMessages([mine]);
      return true;
    } catch (e) {
      if (this.forgetIfRefused(e) && isGone(e) && !again && this.state.phase === 'chat') return this.deliver(p, true);
      this.set({
        pending: this.state.pending.map((x) => (x.key === p.key ? { ...x, status: 'failed' } : x)),
        notice: this.noticeOf(e),
      });
      return false;
    }
  }

  private noticeOf(e: unknown): Notice {
    if (e instanceof ApiError && e.code === 'rate_limited') return { key: 'rate_limited', s: e.retryAfter ?? 60 };
    return { key: 'error', message: e instanceof Error ? e.message : String(e) };
  }

  /**
   * When the server refused the session's token (401) or no longer has its conversation (404 `not_found`: deleted
   * by staff or by the tenant's retention), forgets the session so the next message starts afresh; answers
   * whether it did.
   */
  private forgetIfRefused(e: unknown): boolean {
    if (!this.session || !(e instanceof ApiError) || (e.status !== 401 && !isGone(e))) return false;
    this.forgetSession();
    return true;
  }

  /** The token was refused (the conversation is gone or the token expired): start afresh. */
  private forgetSession(): void {
    this.live?.stop();
    this.live = undefined;
    this.session = undefined;
    clearSession(this.host.widgetKey);
    const config = this.state.config;
    this.set({
      started: false,
      messages: [],
      live: 'idle',
      closed: false,
      phase: config && this.needsForm(config) ? 'prechat' : 'chat',
    });
    this.loaded = false;
  }

  private goLive(): void {
    if (this.live || !this.session) return;
    void this.catchUp();
    this.live = connectLive({
      ticket: () => this.api.post<RealtimeTicket>('/v1/realtime/ticket'),
      onFrame: (f) => this.onFrame(f),
      onOpen: () => {
        void this.catchUp();
        void this.refreshConversation();
      },
      onState: (live) => this.set({ live }),
      ...(this.deps.WebSocket ? { WebSocket: this.deps.WebSocket } : {}),
    });
  }

  private onFrame(frame: Frame): void {
    if (this.session && frame.conversation_id && frame.conversation_id !== this.session.conversation_id) return;
    if (this.seen.isRepeat(frame)) return;
    const data = (frame.data ?? {}) as Record<string, unknown>;
    switch (frame.type) {
      case 'message.created': {
        const m = frame.message as WidgetMessage | undefined;
        if (m && typeof m.id === 'string') {
          if (m.author !== 'visitor') this.setAgentTyping(false);
          // Frames carry a file's metadata, never its link: read the message for fresh links.
          if (m.attachments?.some((a) => !a.url)) void this.catchUp();
          else this.addMessages([m]);
        }
        break;
      }
      case 'conversation.closed':
        this.set({ closed: true });
        break;
      case 'conversation.assigned':
        this.set({ closed: false, queue: undefined });
        break;
      case 'conversation.queued':
        this.set({ closed: false });
        void this.refreshConversation();
        break;
      case 'typing':
        if (data.who === 'agent') this.setAgentTyping(data.typing === true);
        break;
      case 'message.read':
        if (data.reader === 'agent' && typeof data.up_to === 'string') this.set({ agentReadUpTo: data.up_to });
        break;
      case 'message.recalled':
        if (typeof data.message_id === 'string') this.recalled(data.message_id);
        break;
      case 'queue.position':
        if (typeof data.position === 'number') {
          const wait = typeof data.estimated_wait_seconds === 'number' ? data.estimated_wait_seconds : null;
          this.set({ queue: { position: data.position, wait } });
        } else this.set({ queue: undefined });
        break;
      case 'rating.requested':
        this.set({ ratingAsked: true, rated: undefined });
        break;
      default:
        break;
    }
  }

  private setAgentTyping(typing: boolean): void {
    if (this.typingTimer) clearTimeout(this.typingTimer);
    this.typingTimer = typing ? setTimeout(() => this.set({ agentTyping: false }), TYPING_EXPIRES_MS) : undefined;
    if (typing !== this.state.agentTyping) this.set({ agentTyping: typing });
  }

  private recalled(id: string): void {
    const messages = this.state.messages.map((m) => (m.id === id ? { ...m, content: '', recalled: true } : m));
    this.set({ messages });
  }

  /**
   * The visitor typed (the composer's text now): at most one `typing: true` per burst, with the draft when the
   * tenant shows drafts; `typing: false` after a pause or when the box is emptied. Never before a conversation.
   */
  typing(text: string): void {
    if (!this.session) return;
    if (this.idleTimer) clearTimeout(this.idleTimer);
    if (!text.trim()) {
      this.stopTyping();
      return;
    }
    const now = Date.now();
    const preview = this.state.config?.typing_preview === true;
    const sendNow = (draft: string) => {
      this.typingSentAt = Date.now();
      const body: Record<string, unknown> = { typing: true };
      if (preview) body.draft = draft.slice(0, 500);
      void this.api.post('/v1/widget/typing', body).catch(() => undefined);
    };
    this.latestDraft = text;
    if (now - this.typingSentAt >= TYPING_EVERY_MS) sendNow(text);
    else if (preview && !this.trailing) {
      // The draft keeps up: what was typed during the window goes once the window ends.
      this.trailing = setTimeout(() => {
        this.trailing = undefined;
        if (this.typingSentAt !== 0) sendNow(this.latestDraft);
      }, this.typingSentAt + TYPING_EVERY_MS - now);
    }
    this.idleTimer = setTimeout(() => this.stopTyping(), TYPING_IDLE_MS);
  }

  private stopTyping(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    if (this.trailing) clearTimeout(this.trailing);
    this.idleTimer = undefined;
    this.trailing = undefined;
    if (this.typingSentAt === 0 || !this.session) return;
    this.typingSentAt = 0;
    void this.api.post('/v1/widget/typing', { typing: false }).catch(() => undefined);
  }

  /** Tells the agent how far the visitor has read (the newest message not its own), once per new message. */
  private markRead(): void {
    if (!this.session) return;
    const theirs = this.state.messages.filter((m) => m.author !== 'visitor');
    const last = theirs[theirs.length - 1];
    if (!last || last.id === this.readSent) return;
    this.readSent = last.id;
    void this.api.post('/v1/widget/read', { up_to: last.id }).catch(() => {
      this.readSent = undefined;
    });
  }

  /** The conversation's state as the server has it: the queue, how far the agent read, the rating given. */
  async refreshConversation(): Promise<void> {
    if (!this.session) return;
    try {
      const c = await this.api.get<Schemas['WidgetConversation']>('/v1/widget/conversation');
      const queue = c.queue_position != null ? { position: c.queue_position, wait: c.estimated_wait_seconds ?? null } : undefined;
      this.set({ queue, agentReadUpTo: c.agent_read_up_to ?? undefined, rated: c.rating?.score ?? this.state.rated, closed: c.status === 'closed' });
    } catch (e) {
      // Gone: start afresh; anything else: the next reconnect asks again.
      if (this.forgetIfRefused(e) && isGone(e)) this.set({ notice: { key: 'gone' } });
    }
  }

  /** Asks for the conversation by email (without internal notes); answers whether it was accepted. */
  async transcript(email: string): Promise<boolean> {
    if (!this.session || !email.trim()) return false;
    try {
      await this.api.post('/v1/widget/transcript', { email: email.trim() });
      return true;
    } catch (e) {
      this.set({ notice: this.forgetIfRefused(e) ? { key: 'gone' } : this.noticeOf(e) });
      return false;
    }
  }

  /** Opens the rating form (the visitor rates on its own). */
  askRating(): void {
    this.set({ ratingAsked: true });
  }

  /** Rates the conversation; a later rating replaces this one. Answers whether it was stored. */
  async rate(score: 1 | 2 | 3, comment?: string): Promise<boolean> {
    if (!this.session) return false;
    const body: Record<string, unknown> = { score };
    if (comment?.trim()) body.comment = comment.trim();
    try {
      await this.api.post('/v1/widget/rating', body);
      this.set({ rated: score, ratingAsked: false });
      return true;
    } catch (e) {
      this.set({ notice: this.forgetIfRefused(e) ? { key: 'gone' } : this.noticeOf(e), ratingAsked: false });
      return false;
    }
  }

  /** Reads what came after the newest message here (everything, the first time), page by page. */
  catchUp(): Promise<void> {
    if (this.catchingUp) {
      this.catchUpAgain = true;
      return this.catchingUp;
    }
    this.catchingUp = (async () => {
      do {
        this.catchUpAgain = false;
        try {
          let cursor: string | undefined;
          const after = lastId(this.state.messages);
          do {
            const page = await this.api.get<Page<MessageView>>('/v1/widget/messages', {
              query: { after, cursor, limit: 200 },
            });
            this.addMessages(page.items);
            cursor = page.next_cursor ?? undefined;
          } while (cursor);
          this.loaded = true;
          this.updateUnread();
        } catch (e) {
          // Refused or gone: start afresh; anything else: the next reconnect catches up.
          if (this.forgetIfRefused(e) && isGone(e)) this.set({ notice: { key: 'gone' } });
        }
      } while (this.catchUpAgain && this.session);
    })().finally(() => {
      this.catchingUp = undefined;
    });
    return this.catchingUp;
  }

  private addMessages(incoming: readonly WidgetMessage[]): void {
    // Notes never reach visitors; should one ever arrive, it is not shown.
    const visible = incoming.filter((m) => m.internal !== true);
    const before = this.state.messages;
    const merged = mergeMessages(before, visible);
    if (merged === before) return;
    this.set({ messages: merged });
    if (this.loaded) {
      const known = new Set(before.map((m) => m.id));
      for (const m of merged) if (!known.has(m.id)) this.host.emit('message', m);
    }
    if (this.state.open) this.markSeen();
    else this.updateUnread();
  }

  private markSeen(): void {
    const id = lastId(this.state.messages);
    if (this.session && id && this.session.seen_up_to !== id) {
      this.session = { ...this.session, seen_up_to: id };
      saveSession(this.host.widgetKey, this.session);
    }
    this.host.setUnread(0);
    this.markRead();
  }

  private updateUnread(): void {
    if (this.state.open) return;
    this.host.setUnread(countUnread(this.state.messages, this.session?.seen_up_to));
  }

  /** Stops the live connection (the widget is being removed). */
  dispose(): void {
    if (this.typingTimer) clearTimeout(this.typingTimer);
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.live?.stop();
    this.live = undefined;
  }
}
