// The chat panel: a dialog in the loader's shadow root with the pre-chat form or the conversation, the offline
// notice, and the composer. Keyboard: Esc closes, Tab stays inside the open panel, Enter sends (Shift+Enter
// for a new line; never while an input method is composing). Screen readers: the panel is a labelled dialog,
// new messages are announced politely (role=log), every control has a label.
import type { JSX } from 'preact';
import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import { translator, type Translate } from '../../shared/i18n';
import type { ChatHost } from '../contract';
import { humanSize, isImage, pastedFiles } from '../../shared/upload';
import type { PreChatField, WidgetConfig, WidgetMessage } from './config';
import { canWrite, type ChatController, type ChatState, type Notice } from './controller';
import { DICTS, type Key } from './strings';

type T = Translate<Key>;

const FOCUSABLE = 'button:not([disabled]), input:not([disabled]), textarea:not([disabled]), select:not([disabled]), [tabindex="0"]';

function CloseIcon() {
  return (
    <svg viewBox="0 0 24 24" width="20" height="20" aria-hidden="true" focusable="false">
      <path fill="none" stroke="currentColor" stroke-width="2.5" stroke-linecap="round" d="M6 6l12 12M18 6L6 18" />
    </svg>
  );
}

function noticeText(t: T, n: Notice): string {
  if (n.key === 'rate_limited') return t('rate_limited', { s: n.s });
  if (n.key === 'too_long') return t('too_long');
  if (n.key === 'gone') return t('gone');
  if (n.key === 'file_type') return t('file_type');
  if (n.key === 'file_too_large') return t('file_too_large');
  return t('error', { message: n.message });
}

function authorLabel(t: T, author: string): string {
  if (author === 'visitor') return t('you');
  if (author === 'agent') return t('agent');
  if (author === 'bot') return t('bot');
  return t('system');
}

function timeOf(iso: string, lang: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  return d.toLocaleTimeString(lang, { hour: '2-digit', minute: '2-digit' });
}

/** The offline notice: honest about nobody being there, and about what the visitor can still do. */
function OfflineNotice({ t, writable }: { t: T; writable: boolean }) {
  return (
    <div class="kefu-offline" role="status" data-testid="kefu-offline">
      <p>
        <strong>{t('offline')}</strong> {writable ? t('offline_queue') : t('offline_leave')}
      </p>
    </div>
  );
}

/** The leave-a-message form (留言): the message and a way back, for when nobody is online and the tenant does not queue. */
function LeaveMessageForm({ t, state, controller }: { t: T; state: ChatState; controller: ChatController }) {
  const [content, setContent] = useState('');
  const [email, setEmail] = useState('');
  const [phone, setPhone] = useState('');
  if (state.left) {
    return (
      <p class="kefu-status" role="status" data-testid="kefu-left">
        {t('left')}
      </p>
    );
  }
  return (
    <form
      class="kefu-prechat"
      data-testid="kefu-leave-message"
      onSubmit={(e) => {
        e.preventDefault();
        void controller.leaveMessage(content, { email, phone });
      }}
    >
      <div class="kefu-field">
        <label for="kefu-leave-content">{t('message_label')} *</label>
        <textarea id="kefu-leave-content" data-testid="kefu-leave-content" rows={4} maxLength={4000} required value={content} onInput={(e) => setContent(e.currentTarget.value)} />
      </div>
      <div class="kefu-field">
        <label for="kefu-leave-email">{t('leave_email')}</label>
        <input id="kefu-leave-email" data-testid="kefu-leave-email" type="email" autocomplete="email" value={email} onInput={(e) => setEmail(e.currentTarget.value)} />
      </div>
      <div class="kefu-field">
        <label for="kefu-leave-phone">{t('leave_phone')}</label>
        <input id="kefu-leave-phone" data-testid="kefu-leave-phone" type="tel" autocomplete="tel" value={phone} onInput={(e) => setPhone(e.currentTarget.value)} />
      </div>
      <button type="submit" class="kefu-primary" data-testid="kefu-leave-submit" disabled={state.leaving || !content.trim()}>
        {state.leaving ? t('sending') : t('leave_submit')}
      </button>
    </form>
  );
}

function PreChatForm({ t, state, controller }: { t: T; state: ChatState; controller: ChatController }) {
  const config = state.config as WidgetConfig;
  const fields: PreChatField[] = config.pre_chat_form.enabled ? config.pre_chat_form.fields : [];
  const [values, setValues] = useState<Record<string, string>>({});
  const [group, setGroup] = useState('');
  const [groupError, setGroupError] = useState(false);
  const formRef = useRef<HTMLFormElement>(null);
  // Bumped after a refused submit: the first field in error then gets focus (once the errors are rendered).
  const [refused, setRefused] = useState(0);
  useEffect(() => {
    if (refused > 0) formRef.current?.querySelector<HTMLElement>('[aria-invalid="true"]')?.focus();
  }, [refused]);

  const onSubmit = async (e: Event) => {
    e.preventDefault();
    const needGroup = config.groups.length > 0 && !group;
    setGroupError(needGroup);
    if (needGroup) {
      // Still check the other fields, so every problem shows at once.
      controller.checkForm(values);
      setRefused(refused + 1);
      return;
    }
    const ok = await controller.start(values, group || undefined);
    if (!ok) setRefused(refused + 1);
  };

  const set = (name: string) => (e: JSX.TargetedEvent<HTMLInputElement | HTMLSelectElement>) =>
    setValues({ ...values, [name]: e.currentTarget.value });

  return (
    <form class="kefu-prechat" noValidate onSubmit={(e) => void onSubmit(e)} ref={formRef} data-testid="kefu-prechat">
      <p class="kefu-intro">{t('prechat_intro')}</p>
      {fields.map((f) => {
        const id = `kefu-f-${f.name}`;
        const error = state.fieldErrors[f.name];
        const common = {
          id,
          name: f.name,
          value: values[f.name] ?? '',
          'aria-required': f.required,
          'aria-invalid': error ? true : undefined,
          'aria-describedby': error ? `${id}-error` : undefined,
          'data-testid': `kefu-field-${f.name}`,
        };
        return (
          <div class="kefu-field" key={f.name}>
            <label for={id}>
              {f.label}
              {f.required ? ' *' : ` ${t('optional')}`}
            </label>
            {f.type === 'select' ? (
              <select {...common} onChange={set(f.name)}>
                <option value="">—</option>
                {(f.options ?? []).map((o) => (
                  <option key={o} value={o}>
                    {o}
                  </option>
                ))}
              </select>
            ) : (
              <input
                {...common}
                type={f.type === 'email' ? 'email' : f.type === 'phone' ? 'tel' : 'text'}
                autocomplete={f.type === 'email' ? 'email' : f.type === 'phone' ? 'tel' : f.name === 'name' ? 'name' : 'off'}
                onInput={set(f.name)}
              />
            )}
            {error ? (
              <p class="kefu-error" id={`${id}-error`}>
                {t(error)}
              </p>
            ) : null}
          </div>
        );
      })}
      {config.groups.length > 0 ? (
        <div class="kefu-field">
          <label for="kefu-group">{t('group')} *</label>
          <select
            id="kefu-group"
            data-testid="kefu-group"
            value={group}
            aria-required
            aria-invalid={groupError ? true : undefined}
            aria-describedby={groupError ? 'kefu-group-error' : undefined}
            onChange={(e) => setGroup(e.currentTarget.value)}
          >
            <option value="">{t('group_placeholder')}</option>
            {config.groups.map((g) => (
              <option key={g.id} value={g.id}>
                {g.name}
              </option>
            ))}
          </select>
          {groupError ? (
            <p class="kefu-error" id="kefu-group-error">
              {t('required')}
            </p>
          ) : null}
        </div>
      ) : null}
      <button type="submit" class="kefu-primary" data-testid="kefu-start" disabled={state.starting}>
        {state.starting ? t('starting') : t('start')}
      </button>
    </form>
  );
}

/** A message's files: pictures inline, anything else as a download link (links expire; every read renews them). */
function Files({ files }: { files: NonNullable<WidgetMessage['attachments']> }) {
  return (
    <div class="kefu-files">
      {files.map((f) =>
        isImage(f.content_type) ? (
          <a key={f.id} href={f.url} target="_blank" rel="noopener noreferrer">
            <img class="kefu-image" src={f.url} alt={f.name} data-testid="kefu-attachment-image" />
          </a>
        ) : (
          <a key={f.id} class="kefu-file" href={f.url} target="_blank" rel="noopener noreferrer" download={f.name} data-testid="kefu-attachment-link">
            {f.name} ({humanSize(f.size)})
          </a>
        ),
      )}
    </div>
  );
}

function Conversation({ t, state, controller }: { t: T; state: ChatState; controller: ChatController }) {
  const logRef = useRef<HTMLDivElement>(null);
  const count = state.messages.length + state.pending.length;
  useEffect(() => {
    const log = logRef.current;
    if (log) log.scrollTop = log.scrollHeight;
  }, [count, state.open]);
  const greeting = state.config?.greeting;
  return (
    <div class="kefu-log" role="log" aria-live="polite" aria-label={t('messages')} tabIndex={0} ref={logRef}>
      {greeting ? <p class="kefu-greeting">{greeting}</p> : null}
      {state.queue ? (
        <p class="kefu-note" role="status" data-testid="kefu-queue-position" data-position={state.queue.position}>
          {t('queue_position', { n: state.queue.position })}
          {state.queue.wait != null ? ` ${t('queue_wait', { m: Math.max(1, Math.round(state.queue.wait / 60)) })}` : ''}
        </p>
      ) : null}
      {state.messages.map((m) => {
        const side = m.author === 'visitor' ? 'kefu-mine' : m.author === 'system' ? 'kefu-system' : 'kefu-theirs';
        const read = m.author === 'visitor' && state.agentReadUpTo !== undefined && m.id <= state.agentReadUpTo;
        return (
          <div class={`kefu-msg ${side}`} key={m.id} data-testid="kefu-message" data-author={m.author} data-message-id={m.id} data-recalled={m.recalled ? 'true' : undefined}>
            <span class="kefu-sr">{authorLabel(t, m.author)}: </span>
            {m.recalled ? <p class="kefu-text kefu-recalled">{t('recalled')}</p> : m.content ? <p class="kefu-text">{m.content}</p> : null}
            {!m.recalled && m.attachments?.length ? <Files files={m.attachments} /> : null}
            <span class="kefu-time">
              {timeOf(m.created_at, state.lang)}
              {m.author === 'visitor' ? (
                <span class="kefu-mark" data-testid="kefu-read-mark" data-read={read ? 'true' : 'false'}>
                  {' · '}
                  {read ? t('read') : t('sent')}
                </span>
              ) : null}
            </span>
          </div>
        );
      })}
      {state.pending.map((p) => (
        <div class="kefu-msg kefu-mine kefu-pending" key={p.key} data-testid="kefu-pending" data-status={p.status}>
          <span class="kefu-sr">{t('you')}: </span>
          <p class="kefu-text">{p.content}</p>
          {p.status === 'sending' ? (
            <span class="kefu-time">{t('sending')}</span>
          ) : (
            <span class="kefu-failed">
              {t('send_failed')}{' '}
              <button type="button" class="kefu-link" onClick={() => void controller.resend(p.key)}>
                {t('resend')}
              </button>
            </span>
          )}
        </div>
      ))}
      {state.uploads.map((u) => (
        <div class="kefu-msg kefu-mine kefu-pending" key={u.key} data-testid="kefu-upload" data-status={u.status}>
          {u.status === 'uploading' ? (
            <>
              <span class="kefu-time">{t('uploading', { name: u.name })}</span>
              <progress max={1} value={u.progress} aria-label={t('uploading', { name: u.name })} />
            </>
          ) : (
            <span class="kefu-failed">
              {t('upload_failed', { name: u.name })}{' '}
              <button type="button" class="kefu-link" onClick={() => controller.dismissUpload(u.key)}>
                {t('dismiss')}
              </button>
            </span>
          )}
        </div>
      ))}
      {state.agentTyping ? (
        <p class="kefu-note kefu-typing" role="status" data-testid="kefu-typing">
          {t('agent_typing')}
        </p>
      ) : null}
      {state.closed ? <p class="kefu-note">{t('closed')}</p> : null}
      {state.started ? <Rating t={t} state={state} controller={controller} /> : null}
      {state.started ? <Transcript t={t} controller={controller} /> : null}
    </div>
  );
}

/** "Email me this conversation": the transcript, without internal notes, sent by the server. */
function Transcript({ t, controller }: { t: T; controller: ChatController }) {
  const [open, setOpen] = useState(false);
  const [email, setEmail] = useState('');
  const [sent, setSent] = useState(false);
  if (sent) {
    return (
      <p class="kefu-note" role="status" data-testid="kefu-transcript-sent">
        {t('transcript_sent')}
      </p>
    );
  }
  if (!open) {
    return (
      <button type="button" class="kefu-link" data-testid="kefu-transcript-open" onClick={() => setOpen(true)}>
        {t('transcript_open')}
      </button>
    );
  }
  return (
    <form
      class="kefu-rating"
      data-testid="kefu-transcript"
      onSubmit={(e) => {
        e.preventDefault();
        void controller.transcript(email).then(setSent);
      }}
    >
      <label for="kefu-transcript-email">{t('transcript_email')}</label>
      <input id="kefu-transcript-email" data-testid="kefu-transcript-email" type="email" autocomplete="email" required value={email} onInput={(e) => setEmail(e.currentTarget.value)} />
      <button type="submit" class="kefu-primary" data-testid="kefu-transcript-send">
        {t('transcript_send')}
      </button>
    </form>
  );
}

/** The rating (3 good, 2 neutral, 1 bad, and a comment): asked for by the agent, or opened by the visitor. */
function Rating({ t, state, controller }: { t: T; state: ChatState; controller: ChatController }) {
  const [comment, setComment] = useState('');
  if (state.rated !== undefined && !state.ratingAsked) {
    return (
      <p class="kefu-note" role="status" data-testid="kefu-rated" data-score={state.rated}>
        {t('rate_thanks')}
      </p>
    );
  }
  if (!state.ratingAsked && !state.closed) {
    return (
      <button type="button" class="kefu-link" data-testid="kefu-rate-open" onClick={() => controller.askRating()}>
        {t('rate_open')}
      </button>
    );
  }
  const choices: [1 | 2 | 3, Key][] = [
    [3, 'rate_good'],
    [2, 'rate_neutral'],
    [1, 'rate_bad'],
  ];
  return (
    <div class="kefu-rating" role="group" aria-label={t('rate_prompt')} data-testid="kefu-rating">
      <p>{t('rate_prompt')}</p>
      <div class="kefu-choices">
        {choices.map(([score, key]) => (
          <button type="button" key={score} data-testid={`kefu-rate-${score}`} onClick={() => void controller.rate(score, comment)}>
            {t(key)}
          </button>
        ))}
      </div>
      <label class="kefu-sr" for="kefu-rate-comment">
        {t('rate_comment')}
      </label>
      <input id="kefu-rate-comment" data-testid="kefu-rate-comment" maxLength={1000} placeholder={t('rate_comment')} value={comment} onInput={(e) => setComment(e.currentTarget.value)} />
    </div>
  );
}

function Composer({ t, controller, inputRef, preview, attach }: { t: T; controller: ChatController; inputRef: { current: HTMLTextAreaElement | null }; preview: boolean; attach: boolean }) {
  const [text, setText] = useState('');
  const fileRef = useRef<HTMLInputElement>(null);
  const sendFiles = (files: readonly File[]) => {
    for (const f of files) void controller.attach(f);
  };
  const submit = () => {
    if (!text.trim()) return;
    const content = text;
    setText('');
    void controller.send(content);
  };
  return (
    <form
      class="kefu-composer"
      onSubmit={(e) => {
        e.preventDefault();
        submit();
      }}
    >
      <label class="kefu-sr" for="kefu-input">
        {t('message_label')}
      </label>
      {preview ? (
        <p class="kefu-preview-note" data-testid="kefu-typing-preview-note">
          {t('typing_preview_note')}
        </p>
      ) : null}
      <textarea
        id="kefu-input"
        ref={inputRef}
        data-testid="kefu-input"
        rows={2}
        maxLength={4000}
        placeholder={t('placeholder')}
        value={text}
        onInput={(e) => {
          setText(e.currentTarget.value);
          controller.typing(e.currentTarget.value);
        }}
        onKeyDown={(e) => {
          if (e.key === 'Enter' && !e.shiftKey && !e.isComposing && e.keyCode !== 229) {
            e.preventDefault();
            submit();
          }
        }}
        onPaste={(e) => {
          if (!attach) return;
          const files = pastedFiles(e.clipboardData);
          if (files.length === 0) return;
          e.preventDefault();
          sendFiles(files);
        }}
      />
      {attach ? (
        <>
          <input
            type="file"
            ref={fileRef}
            class="kefu-sr"
            tabIndex={-1}
            aria-hidden="true"
            data-testid="kefu-file-input"
            onChange={(e) => {
              sendFiles(Array.from(e.currentTarget.files ?? []));
              e.currentTarget.value = '';
            }}
          />
          <button type="button" class="kefu-icon" aria-label={t('attach')} title={t('attach')} data-testid="kefu-attach" onClick={() => fileRef.current?.click()}>
            📎
          </button>
        </>
      ) : null}
      <button type="submit" class="kefu-primary" data-testid="kefu-send">
        {t('send')}
      </button>
    </form>
  );
}

/** The whole panel. */
export function ChatPanel({ controller, host }: { controller: ChatController; host: ChatHost }) {
  const [state, setState] = useState<ChatState>(controller.state);
  // Subscribe before the browser paints, and take the state as it is now: changes made between the first render
  // and the subscription (the loader opens the chat right after mounting it; the configuration may already
  // have arrived) would otherwise be lost.
  useLayoutEffect(() => {
    setState(controller.state);
    return controller.subscribe(setState);
  }, [controller]);
  const panelRef = useRef<HTMLDivElement>(null);
  const inputRef = useRef<HTMLTextAreaElement | null>(null);
  const t = translator(DICTS, state.lang);
  const config = state.config;
  const writable = canWrite(state);

  // On open, and when the panel's content changes while open (loading → form → conversation): focus the first
  // field of the form, or the message box; the close button while there is neither. Focus the visitor moved
  // somewhere else in the panel stays where it is.
  const autoFocused = useRef<HTMLElement | null>(null);
  useEffect(() => {
    if (!state.open) return;
    const panel = panelRef.current;
    if (!panel) return;
    const active = host.root.activeElement;
    if (active && panel.contains(active) && active !== autoFocused.current) return;
    const first =
      inputRef.current && state.phase === 'chat'
        ? inputRef.current
        : panel.querySelector<HTMLElement>('.kefu-body input, .kefu-body select, .kefu-body textarea, .kefu-body button');
    const target = first ?? panel.querySelector<HTMLElement>('.kefu-close');
    target?.focus();
    autoFocused.current = target;
  }, [state.open, state.phase, writable]);

  const onKeyDown = (e: KeyboardEvent) => {
    if (e.key === 'Escape') {
      e.stopPropagation();
      host.requestClose();
      return;
    }
    if (e.key !== 'Tab') return;
    const panel = panelRef.current;
    if (!panel) return;
    const items = [...panel.querySelectorAll<HTMLElement>(FOCUSABLE)].filter((el) => el.offsetParent !== null);
    if (items.length === 0) return;
    const first = items[0] as HTMLElement;
    const last = items[items.length - 1] as HTMLElement;
    const active = host.root.activeElement;
    if (e.shiftKey && (active === first || !panel.contains(active))) {
      e.preventDefault();
      last.focus();
    } else if (!e.shiftKey && (active === last || !panel.contains(active))) {
      e.preventDefault();
      first.focus();
    }
  };

  let body: JSX.Element;
  if (state.phase === 'loading') body = <p class="kefu-status">{t('loading')}</p>;
  else if (state.phase === 'failed')
    body = (
      <div class="kefu-status">
        <p role="alert">{t('load_failed')}</p>
        <button type="button" class="kefu-primary" onClick={() => void controller.init()}>
          {t('retry')}
        </button>
      </div>
    );
  else if (!writable) body = <LeaveMessageForm t={t} state={state} controller={controller} />;
  else if (state.phase === 'prechat') body = <PreChatForm t={t} state={state} controller={controller} />;
  else body = <Conversation t={t} state={state} controller={controller} />;

  return (
    <div
      class="kefu-panel"
      role="dialog"
      aria-modal="true"
      aria-labelledby="kefu-title"
      hidden={!state.open}
      ref={panelRef}
      onKeyDown={onKeyDown}
      data-testid="kefu-panel"
      lang={state.lang}
    >
      <div class="kefu-header">
        <h2 id="kefu-title">{config?.title || t('title')}</h2>
        <button type="button" class="kefu-close" aria-label={t('close')} onClick={() => host.requestClose()}>
          <CloseIcon />
        </button>
      </div>
      {config && !config.online ? <OfflineNotice t={t} writable={writable} /> : null}
      {state.live === 'waiting' ? (
        <p class="kefu-conn" role="status">
          {t('reconnecting')}
        </p>
      ) : null}
      <div class="kefu-body">{body}</div>
      {state.notice ? (
        <p class="kefu-notice" role="alert">
          {noticeText(t, state.notice)}
        </p>
      ) : null}
      {state.phase === 'chat' && writable ? <Composer t={t} controller={controller} inputRef={inputRef} preview={config?.typing_preview === true} attach={config?.attachments.enabled === true} /> : null}
    </div>
  );
}
