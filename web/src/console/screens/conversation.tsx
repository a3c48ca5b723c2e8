/**
 * One conversation: its history by window, the composer (reply or internal note), assign and transfer,
 * close and reopen, tags, the routing decision ("why this agent"), the customer beside it, and a ticket made
 * from it (`tickets.manage`).
 */
import type { JSX, RefObject } from 'preact';
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { idempotencyKey } from '../../shared/http';
import { mergeMessages } from '../../shared/messages';
import { humanSize, isImage, pastedFiles, xhrUpload, type Uploader, type UploadTicket } from '../../shared/upload';
import type { Frame } from '../../shared/ws';
import { olderWindow, WINDOWS } from '../lib/history';
import { shortcutMatches, typedShortcut } from '../lib/quick-replies';
import { hrefOf } from '../lib/routes';
import { titleFromConversation } from '../lib/tickets';
import { useConsole } from '../state';
import type {
  ConversationDetail,
  ConversationView,
  CustomerProfile,
  MessageView,
  Page,
  QuickReplyView,
} from '../types';
import { Dialog, ErrorLine, Field, splitList, Time } from '../ui';
import { CustomerHistory } from './customer-history';
import { agentName, groupName, type Directory } from './directory';
import { CreateTicketDialog } from './tickets';

/** What the inbox's shortcuts do to the open conversation. */
export interface PaneControl {
  compose: (mode: 'reply' | 'note') => void;
  close: () => Promise<void>;
}

/** The most pages of history read at once for one window (200 messages each). */
const MAX_PAGES = 10;
/** A visitor's typing indicator lasts this long without news. */
const TYPING_EXPIRES_MS = 6000;
/** At most one `typing: true` per this while the agent types; "stopped" after `TYPING_IDLE_MS` without a key. */
const TYPING_EVERY_MS = 2500;
const TYPING_IDLE_MS = 3000;
/** An author may recall its message this long after sending (the server decides; this only hides the button). */
const RECALL_WINDOW_MS = 120_000;

/** The conversation pane. */
export function Conversation(props: {
  id: string;
  headingRef: RefObject<HTMLHeadingElement>;
  dir: Directory;
  reloadDir: () => void;
  control: { current: PaneControl | null };
  onChanged: () => void;
  /** How files are put to their upload link (tests replace it). */
  upload?: Uploader;
}): JSX.Element {
  const { id, dir } = props;
  const { t, client, perms, onFrame, onReconnect, announce, me: meView } = useConsole();
  const me = meView?.id;
  const [detail, setDetail] = useState<ConversationDetail | null>(null);
  const [messages, setMessages] = useState<readonly MessageView[]>([]);
  const [days, setDays] = useState<number>(7);
  const [truncated, setTruncated] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [mode, setMode] = useState<'reply' | 'note'>('reply');
  const [draft, setDraft] = useState('');
  const [sending, setSending] = useState(false);
  const [assigning, setAssigning] = useState(false);
  const [ticketing, setTicketing] = useState(false);
  const [customerName, setCustomerName] = useState<string | null>(null);
  const composer = useRef<HTMLTextAreaElement>(null);
  const fileInput = useRef<HTMLInputElement>(null);
  // Files on their way (declared, uploading with progress) or that failed to go.
  const [uploads, setUploads] = useState<readonly { key: string; name: string; progress: number; failed: boolean }[]>([]);
  // The visitor typing now (with its draft when the tenant shows drafts); cleared after a few quiet seconds.
  const [visitorTyping, setVisitorTyping] = useState<{ draft: string | null } | null>(null);
  const typingExpiry = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  const typingSentAt = useRef(0);
  const typingIdle = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  const readSent = useRef<string | undefined>(undefined);
  // Supervisors (audit.view) read recalled messages' original text.
  const seesRecalled = perms.has('audit.view');
  const listEnd = useRef<HTMLLIElement>(null);
  // Quick replies for `/shortcut` completion in the composer (the agent's own and the team's).
  const [replies, setReplies] = useState<QuickReplyView[]>([]);
  useEffect(() => {
    client
      .get<Page<QuickReplyView>>('/v1/quick_replies')
      .then((p) => setReplies(p.items))
      .catch(() => undefined);
  }, [client]);
  const typed = typedShortcut(draft);
  const suggestions = typed === null ? [] : shortcutMatches(replies, typed).slice(0, 8);
  const insertReply = async (r: QuickReplyView) => {
    setError(null);
    try {
      const out = await client.post<{ content: string }>(`/v1/quick_replies/${encodeURIComponent(r.id)}/render`, { conversation_id: id });
      setDraft(out.content);
    } catch (err) {
      setError(err);
    }
    composer.current?.focus();
  };

  const loadDetail = useCallback(async () => {
    try {
      setDetail(await client.get<ConversationDetail>(`/v1/conversations/${encodeURIComponent(id)}`));
    } catch (e) {
      setError(e);
    }
  }, [client, id]);

  const loadHistory = useCallback(
    async (windowDays: number) => {
      try {
        let all: readonly MessageView[] = [];
        let cursor: string | null = null;
        let pages = 0;
        do {
          const page: Page<MessageView> = await client.get<Page<MessageView>>(`/v1/conversations/${encodeURIComponent(id)}/messages`, {
            query: { days: windowDays, limit: 200, cursor: cursor ?? undefined, include_recalled: seesRecalled ? 'true' : undefined },
          });
          all = mergeMessages(all, page.items);
          cursor = page.next_cursor;
          pages += 1;
        } while (cursor && pages < MAX_PAGES);
        setTruncated(cursor !== null);
        setMessages((have) => mergeMessages(have.filter((m) => all.some((a) => a.id === m.id) || Date.parse(m.created_at) > Date.now() - windowDays * 86_400_000), all));
      } catch (e) {
        setError(e);
      }
    },
    [client, id, seesRecalled],
  );

  useEffect(() => {
    void loadDetail();
  }, [loadDetail]);
  useEffect(() => {
    void loadHistory(days);
  }, [loadHistory, days]);

  // Live frames for this conversation.
  useEffect(() => {
    const off = onFrame((f: Frame) => {
      if (f.conversation_id !== id) return;
      const data = (f.data ?? {}) as Record<string, unknown>;
      if (f.type === 'message.created' && f.message) {
        const m = f.message as MessageView;
        // Frames carry a file's metadata, never its link: read the history again for fresh links.
        if (m.attachments?.some((a) => !a.url)) void loadHistory(days);
        else setMessages((have) => mergeMessages(have, [m]));
        if (m.author === 'visitor') {
          setVisitorTyping(null);
          announce(t('conversation.visitorWrote', { text: m.content.slice(0, 120) }));
        }
      } else if (f.type === 'typing' && data.who === 'visitor') {
        clearTimeout(typingExpiry.current);
        if (data.typing === true) {
          setVisitorTyping({ draft: typeof data.draft === 'string' ? data.draft : null });
          typingExpiry.current = setTimeout(() => setVisitorTyping(null), TYPING_EXPIRES_MS);
        } else setVisitorTyping(null);
      } else if (f.type === 'message.read' && data.reader === 'visitor' && typeof data.up_to === 'string') {
        const upTo = data.up_to;
        setDetail((d) => (d ? { ...d, visitor_read_up_to: upTo } : d));
      } else if (f.type === 'message.recalled' && typeof data.message_id === 'string') {
        const gone = data.message_id;
        setMessages((have) => have.map((m) => (m.id === gone ? { ...m, recalled: true, content: seesRecalled ? m.content : '' } : m)));
      } else if (f.type === 'notification' && data.kind === 'conversation.rated') {
        void loadDetail();
      } else if (f.type.startsWith('conversation.')) {
        void loadDetail();
      }
    });
    const offRe = onReconnect(() => {
      void loadDetail();
      void loadHistory(days);
    });
    return () => {
      off();
      offRe();
    };
  }, [id, onFrame, onReconnect, loadDetail, loadHistory, days, announce, t, seesRecalled]);
  useEffect(() => () => clearTimeout(typingExpiry.current), []);

  // Mark the visitor's messages read as they show (the visitor sees "read"), once per new message. Only the
  // conversation's handler may; for anyone else the server says no and nothing changes.
  useEffect(() => {
    const theirs = messages.filter((m) => m.author === 'visitor');
    const last = theirs[theirs.length - 1];
    if (!last || !detail || last.id === readSent.current) return;
    if (detail.agent_read_up_to && last.id <= detail.agent_read_up_to) return;
    if (detail.assignee_id !== me && !perms.has('conversations.reply')) return;
    readSent.current = last.id;
    client
      .post(`/v1/conversations/${encodeURIComponent(id)}/read`, { up_to: last.id })
      .then(() => props.onChanged())
      .catch(() => undefined);
  }, [messages, detail, client, id, me, perms, props]);

  // The agent's typing reaches the visitor: one frame per burst, "stopped" after a pause.
  const typingNow = (text: string) => {
    clearTimeout(typingIdle.current);
    const path = `/v1/conversations/${encodeURIComponent(id)}/typing`;
    if (!text.trim() || mode === 'note') return;
    const now = Date.now();
    if (now - typingSentAt.current >= TYPING_EVERY_MS) {
      typingSentAt.current = now;
      client.post(path, { typing: true }).catch(() => undefined);
    }
    typingIdle.current = setTimeout(() => {
      typingSentAt.current = 0;
      client.post(path, { typing: false }).catch(() => undefined);
    }, TYPING_IDLE_MS);
  };

  const recall = async (m: MessageView) => {
    setError(null);
    try {
      await client.del(`/v1/conversations/${encodeURIComponent(id)}/messages/${encodeURIComponent(m.id)}`);
      setMessages((have) => have.map((x) => (x.id === m.id ? { ...x, recalled: true, content: seesRecalled ? x.content : '' } : x)));
      announce(t('conversation.recalled'));
    } catch (e) {
      setError(e);
    }
  };

  const requestRating = async () => {
    setError(null);
    try {
      await client.post(`/v1/conversations/${encodeURIComponent(id)}/rating_request`);
      announce(t('conversation.ratingRequested'));
    } catch (e) {
      setError(e);
    }
  };

  useEffect(() => {
    listEnd.current?.scrollIntoView?.({ block: 'end' });
  }, [messages.length]);

  const act = async (path: string, done: string) => {
    setError(null);
    try {
      setDetail(await client.post<ConversationDetail>(`/v1/conversations/${encodeURIComponent(id)}/${path}`));
      announce(done);
      props.onChanged();
    } catch (e) {
      setError(e);
    }
  };

  /** Sends files (picked or pasted) each as a message of its own, in the composer's mode (reply or note). */
  const attachFiles = async (files: readonly File[]) => {
    for (const file of files) {
      const key = idempotencyKey();
      const patch = (p: Partial<{ progress: number; failed: boolean }>) => setUploads((have) => have.map((u) => (u.key === key ? { ...u, ...p } : u)));
      setUploads((have) => [...have, { key, name: file.name, progress: 0, failed: false }]);
      setError(null);
      try {
        const ticket = await client.post<UploadTicket>(`/v1/conversations/${encodeURIComponent(id)}/attachments`, {
          name: file.name,
          content_type: file.type,
          size: file.size,
        });
        await (props.upload ?? xhrUpload)(ticket.upload_url, ticket.upload_headers, file, (progress) => patch({ progress }));
        const m = await client.post<MessageView>(
          `/v1/conversations/${encodeURIComponent(id)}/messages`,
          { content: '', internal: mode === 'note', attachment_ids: [ticket.attachment_id] },
          { headers: { 'Idempotency-Key': key } },
        );
        setMessages((have) => mergeMessages(have, [m]));
        setUploads((have) => have.filter((u) => u.key !== key));
        announce(t('conversation.fileSent'));
        props.onChanged();
      } catch (err) {
        patch({ failed: true });
        setError(err);
      }
    }
  };

  const send = async (e?: Event) => {
    e?.preventDefault();
    const content = draft.trim();
    if (!content || sending) return;
    setSending(true);
    setError(null);
    try {
      const m = await client.post<MessageView>(
        `/v1/conversations/${encodeURIComponent(id)}/messages`,
        { content, internal: mode === 'note' },
        { headers: { 'Idempotency-Key': idempotencyKey() } },
      );
      setMessages((have) => mergeMessages(have, [m]));
      setDraft('');
      clearTimeout(typingIdle.current);
      typingSentAt.current = 0;
      announce(mode === 'note' ? t('conversation.noteAdded') : t('conversation.replySent'));
      props.onChanged();
    } catch (err) {
      setError(err);
    } finally {
      setSending(false);
      composer.current?.focus();
    }
  };

  // The inbox's shortcuts reach this pane through `control`; a pane that is replaced (another conversation)
  // only clears it when it is still its own.
  const latest = useRef<PaneControl | null>(null);
  latest.current = {
    compose: (m) => {
      setMode(m);
      composer.current?.focus();
    },
    close: async () => {
      if (detail && detail.status !== 'closed') await act('close', t('conversation.closed'));
    },
  };
  useEffect(() => {
    const control = props.control;
    const mine: PaneControl = {
      compose: (m) => latest.current?.compose(m),
      close: async () => latest.current?.close(),
    };
    control.current = mine;
    return () => {
      if (control.current === mine) control.current = null;
    };
  }, [props.control]);

  // The offered windows are buttons of their own; "show older" widens past the widest of them.
  const wider = olderWindow(Math.max(days, ...WINDOWS));
  const title = detail ? t('conversation.title', { customer: customerName ?? t('author.visitor') }) : t('nav.conversation');

  return (
    <div class="conversation-wrap">
      <section class="conversation" aria-labelledby="conversation-h">
        <header class="conversation-head">
          <h1 id="conversation-h" ref={props.headingRef} tabIndex={-1}>
            {title}
          </h1>
          {detail && (
            <p class="conversation-meta">
              <span class="hint">{detail.customer_id}</span>
              <span class={`badge status-${detail.status}`} data-testid="conversation-status">
                {t(`status.${detail.status}` as 'status.open')}
              </span>{' '}
              {detail.priority === 'high' && <span class="badge high">{t('priority.high')}</span>}{' '}
              {t('conversation.assignee')}: <strong>{detail.assignee_id ? agentName(dir, detail.assignee_id) : t('conversation.nobody')}</strong>
              {detail.group_id && (
                <>
                  {' · '}
                  {t('inbox.group')}: {groupName(dir, detail.group_id)}
                </>
              )}
              {detail.rating && (
                <>
                  {' · '}
                  <span data-testid="conversation-rating" data-score={detail.rating.score}>
                    {t('conversation.rating')}: {t(`conversation.rating.${detail.rating.score}` as 'conversation.rating.3')}
                    {detail.rating.comment ? ` — ${detail.rating.comment}` : ''}
                  </span>
                </>
              )}
            </p>
          )}
          {detail && (
            <div class="actions" role="group" aria-label={t('common.actions')}>
              {detail.status === 'closed' ? (
                <button type="button" data-testid="reopen-conversation" onClick={() => void act('reopen', t('conversation.reopened'))}>
                  {t('conversation.reopen')}
                </button>
              ) : (
                <button type="button" data-testid="close-conversation" aria-keyshortcuts="c" onClick={() => void act('close', t('conversation.closed'))}>
                  {t('conversation.close')}
                </button>
              )}
              {perms.has('conversations.assign') && (
                <button type="button" data-testid="assign-open" onClick={() => setAssigning(true)}>
                  {t('conversation.assign')}
                </button>
              )}
              {detail.status !== 'closed' && (
                <button type="button" data-testid="request-rating" onClick={() => void requestRating()}>
                  {t('conversation.requestRating')}
                </button>
              )}
              {perms.has('tickets.manage') && (
                <button type="button" data-testid="ticket-from-conversation" onClick={() => setTicketing(true)}>
                  {t('tickets.fromConversation')}
                </button>
              )}
            </div>
          )}
        </header>
        {detail && <Tags detail={detail} onSaved={(c) => { setDetail({ ...detail, ...c }); props.onChanged(); }} />}
        <div class="history-window" role="group" aria-label={t('conversation.window')}>
          {WINDOWS.map((d) => (
            <button key={d} type="button" aria-pressed={days === d} onClick={() => setDays(d)}>
              {t('conversation.lastDays', { days: d })}
            </button>
          ))}
          {wider && (
            <button type="button" data-testid="load-older" onClick={() => setDays(wider)}>
              {t('conversation.older', { days: wider })}
            </button>
          )}
          {!wider && <span class="hint">{t('conversation.oldest')}</span>}
        </div>
        {truncated && <p class="hint">{t('conversation.truncated')}</p>}
        <ol class="messages" aria-label={t('conversation.messages')}>
          {messages.length === 0 && <li class="empty">{t('conversation.noMessages', { days })}</li>}
          {messages.map((m) => {
            const readByVisitor = !m.internal && m.author !== 'visitor' && detail?.visitor_read_up_to != null && m.id <= detail.visitor_read_up_to;
            const mayRecall =
              !m.recalled &&
              ((m.author === 'agent' && m.author_id === me && Date.now() - Date.parse(m.created_at) < RECALL_WINDOW_MS) || perms.has('conversations.delete'));
            return (
              <li
                key={m.id}
                data-testid="message"
                data-author={m.author}
                data-internal={m.internal ? 'true' : 'false'}
                data-recalled={m.recalled ? 'true' : 'false'}
                class={`message from-${m.author}${m.internal ? ' internal' : ''}${m.recalled ? ' recalled' : ''}`}
              >
                <span class="message-who">
                  {m.internal ? `${t('conversation.note')} · ` : ''}
                  {m.author === 'agent' ? agentName(dir, m.author_id) || t('author.agent') : t(`author.${m.author}` as 'author.visitor')}
                  {' · '}
                  <Time at={m.created_at} relative />
                  {m.recalled && ` · ${t('conversation.recalledLabel')}`}
                  {m.author !== 'visitor' && !m.internal && !m.recalled && (
                    <span class="read-mark" data-testid="read-mark" data-read={readByVisitor ? 'true' : 'false'}>
                      {' · '}
                      {readByVisitor ? t('conversation.readByVisitor') : t('conversation.unreadByVisitor')}
                    </span>
                  )}
                </span>
                <span class="message-text">{m.recalled && !m.content ? t('conversation.recalledLabel') : m.content}</span>
                {!m.recalled && m.attachments && m.attachments.length > 0 && (
                  <span class="message-files">
                    {m.attachments.map((f) =>
                      isImage(f.content_type) ? (
                        <a key={f.id} href={f.url} target="_blank" rel="noopener noreferrer">
                          <img src={f.url} alt={f.name} class="message-image" data-testid="attachment-image" />
                        </a>
                      ) : (
                        <a key={f.id} href={f.url} target="_blank" rel="noopener noreferrer" download={f.name} data-testid="attachment-link">
                          {f.name} ({humanSize(f.size)})
                        </a>
                      ),
                    )}
                  </span>
                )}
                {mayRecall && (
                  <button type="button" class="link recall" data-testid="recall-message" onClick={() => void recall(m)}>
                    {t('conversation.recall')}
                  </button>
                )}
              </li>
            );
          })}
          {uploads.map((u) => (
            <li key={u.key} class="message upload" data-testid="upload" data-status={u.failed ? 'failed' : 'uploading'}>
              {u.failed ? (
                <>
                  {t('conversation.uploadFailed', { name: u.name })}{' '}
                  <button type="button" class="link" onClick={() => setUploads((have) => have.filter((x) => x.key !== u.key))}>
                    ✕
                  </button>
                </>
              ) : (
                <>
                  {t('conversation.uploading', { name: u.name })}
                  <progress max={1} value={u.progress} aria-label={t('conversation.uploading', { name: u.name })} />
                </>
              )}
            </li>
          ))}
          {visitorTyping && (
            <li class="typing" role="status" data-testid="visitor-typing">
              {visitorTyping.draft ? t('conversation.visitorDraft', { draft: visitorTyping.draft }) : t('conversation.visitorTyping')}
            </li>
          )}
          <li ref={listEnd} class="end" aria-hidden="true" />
        </ol>
        <form class={`composer-form mode-${mode}`} onSubmit={(e) => void send(e)}>
          <div class="modes" role="radiogroup" aria-label={t('conversation.mode')}>
            <label>
              <input type="radio" name="mode" value="reply" data-testid="mode-reply" checked={mode === 'reply'} onChange={() => setMode('reply')} />
              {t('conversation.reply')} <kbd>r</kbd>
            </label>
            <label>
              <input type="radio" name="mode" value="note" data-testid="mode-note" checked={mode === 'note'} onChange={() => setMode('note')} />
              {t('conversation.note')} <kbd>n</kbd>
            </label>
          </div>
          <label for="composer" class="sr-only">
            {mode === 'note' ? t('conversation.noteLabel') : t('conversation.replyLabel')}
          </label>
          <textarea
            id="composer"
            ref={composer}
            data-testid="composer"
            rows={3}
            maxLength={4000}
            placeholder={mode === 'note' ? t('conversation.notePlaceholder') : t('conversation.replyPlaceholder')}
            value={draft}
            onInput={(e) => {
              setDraft(e.currentTarget.value);
              typingNow(e.currentTarget.value);
            }}
            aria-controls={suggestions.length > 0 ? 'quick-reply-suggestions' : undefined}
            onPaste={(e) => {
              const files = pastedFiles(e.clipboardData);
              if (files.length === 0) return;
              e.preventDefault();
              void attachFiles(files);
            }}
            onKeyDown={(e) => {
              if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) void send(e);
              else if ((e.key === 'Tab' || e.key === 'Enter') && suggestions[0]) {
                e.preventDefault();
                void insertReply(suggestions[0]);
              }
            }}
          />
          {suggestions.length > 0 && (
            <ul id="quick-reply-suggestions" class="quick-reply-suggestions" data-testid="quick-reply-suggestions" aria-label={t('quickReplies.pick')}>
              {suggestions.map((r) => (
                <li key={r.id}>
                  <button type="button" onClick={() => void insertReply(r)}>
                    <code>/{r.shortcut}</code> {r.title}
                  </button>
                </li>
              ))}
            </ul>
          )}
          <ErrorLine error={error} />
          <input
            type="file"
            ref={fileInput}
            class="sr-only"
            tabIndex={-1}
            aria-hidden="true"
            data-testid="attach-input"
            onChange={(e) => {
              const files = Array.from(e.currentTarget.files ?? []);
              e.currentTarget.value = '';
              void attachFiles(files);
            }}
          />
          <button type="button" data-testid="attach" onClick={() => fileInput.current?.click()}>
            {t('conversation.attach')}
          </button>
          <button type="submit" data-testid="send" disabled={sending || !draft.trim()}>
            {mode === 'note' ? t('conversation.addNote') : t('conversation.send')}
          </button>
        </form>
        {detail && <WhyThisAgent detail={detail} dir={dir} />}
      </section>
      {detail && perms.has('customers.view') && <CustomerPanel customerId={detail.customer_id} current={id} onName={setCustomerName} />}
      {assigning && detail && (
        <AssignDialog
          detail={detail}
          dir={dir}
          onClose={() => setAssigning(false)}
          onDone={(d) => {
            setDetail(d);
            setAssigning(false);
            props.reloadDir();
            props.onChanged();
          }}
        />
      )}
      {ticketing && detail && (
        <CreateTicketDialog conversationId={detail.id} initialTitle={titleFromConversation(customerName, detail.id)} onClose={() => setTicketing(false)} />
      )}
    </div>
  );
}

function Tags({ detail, onSaved }: { detail: ConversationDetail; onSaved: (c: ConversationView) => void }): JSX.Element {
  const { t, client, announce } = useConsole();
  const [text, setText] = useState(detail.tags.join(', '));
  const [error, setError] = useState<unknown>(null);
  useEffect(() => setText(detail.tags.join(', ')), [detail.tags.join(',')]);
  const save = async (e: Event) => {
    e.preventDefault();
    setError(null);
    try {
      const c = await client.put<ConversationView>(`/v1/conversations/${encodeURIComponent(detail.id)}/tags`, { tags: splitList(text) });
      onSaved(c);
      announce(t('conversation.tagsSaved'));
    } catch (err) {
      setError(err);
    }
  };
  return (
    <form class="tags" onSubmit={(e) => void save(e)}>
      <label for="tags-input">{t('conversation.tags')}</label>
      <input id="tags-input" data-testid="tags-input" value={text} onInput={(e) => setText(e.currentTarget.value)} aria-describedby="tags-hint" />
      <small id="tags-hint" class="hint">
        {t('conversation.tagsHint')}
      </small>
      <button type="submit">{t('common.save')}</button>
      <ErrorLine error={error} />
    </form>
  );
}

function WhyThisAgent({ detail, dir }: { detail: ConversationDetail; dir: Directory }): JSX.Element {
  const { t } = useConsole();
  const r = detail.routing;
  return (
    <section class="routing card" aria-labelledby="routing-h" data-testid="routing">
      <h2 id="routing-h">{t('routing.title')}</h2>
      {!r ? (
        <p>{t('routing.none')}</p>
      ) : (
        <>
          <p>
            {r.chosen_agent_id
              ? t('routing.chosen', { agent: agentName(dir, r.chosen_agent_id), strategy: t(`strategy.${r.strategy}` as 'strategy.least_loaded') })
              : t(r.outcome === 'queued' ? 'routing.queued' : 'routing.unassigned')}
            {r.sticky && ` ${t('routing.sticky')}`}
            {r.outside_working_hours && ` ${t('routing.offHours')}`}{' '}
            <Time at={r.decided_at} />
          </p>
          {r.candidates.length === 0 ? (
            <p>{t('routing.noCandidates')}</p>
          ) : (
            <table class="table">
              <caption class="sr-only">{t('routing.candidates')}</caption>
              <thead>
                <tr>
                  <th scope="col">{t('routing.agent')}</th>
                  <th scope="col">{t('routing.verdict')}</th>
                </tr>
              </thead>
              <tbody>
                {r.candidates.map((c) => (
                  <tr key={c.agent_id} class={c.agent_id === r.chosen_agent_id ? 'chosen' : undefined}>
                    <td>{agentName(dir, c.agent_id)}</td>
                    <td>
                      {c.agent_id === r.chosen_agent_id
                        ? t('routing.picked')
                        : c.excluded
                          ? t(`routing.excluded.${c.excluded}`)
                          : t('routing.eligible')}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          {r.candidates_omitted && Object.keys(r.candidates_omitted).length > 0 && (
            <p class="hint">
              {t('routing.omitted')}{' '}
              {Object.entries(r.candidates_omitted)
                .map(([k, n]) => `${k === 'eligible' ? t('routing.eligible') : t(`routing.excluded.${k}` as 'routing.excluded.offline')}: ${n}`)
                .join(', ')}
            </p>
          )}
        </>
      )}
    </section>
  );
}

function CustomerPanel({ customerId, current, onName }: { customerId: string; current: string; onName: (n: string | null) => void }): JSX.Element {
  const { t, client } = useConsole();
  const [customer, setCustomer] = useState<CustomerProfile | null>(null);
  const [past, setPast] = useState<ConversationView[]>([]);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    let live = true;
    const enc = encodeURIComponent(customerId);
    Promise.all([
      client.get<CustomerProfile>(`/v1/customers/${enc}`),
      client.get<Page<ConversationView>>(`/v1/customers/${enc}/conversations`, { query: { limit: 20 } }),
    ])
      .then(([c, p]) => {
        if (!live) return;
        setCustomer(c);
        onName(c.name ?? null);
        setPast(p.items);
      })
      .catch((e: unknown) => live && setError(e));
    return () => {
      live = false;
    };
  }, [client, customerId]);
  const attrs = customer?.attributes && typeof customer.attributes === 'object' ? Object.entries(customer.attributes) : [];
  return (
    <aside class="customer card" aria-labelledby="customer-h" data-testid="customer-panel">
      <h2 id="customer-h">{t('customer.title')}</h2>
      <ErrorLine error={error} />
      {customer && (
        <dl class="pairs">
          <dt>{t('customer.name')}</dt>
          <dd>{customer.name ?? '—'}</dd>
          <dt>{t('login.email')}</dt>
          <dd data-testid="customer-email">{customer.email ?? '—'}</dd>
          <dt>{t('customer.phone')}</dt>
          <dd data-testid="customer-phone">{customer.phone ?? '—'}</dd>
          {customer.external_id && (
            <>
              <dt>{t('customer.externalId')}</dt>
              <dd>{customer.external_id}</dd>
            </>
          )}
          {customer.tags.length > 0 && (
            <>
              <dt>{t('conversation.tags')}</dt>
              <dd>{customer.tags.join(', ')}</dd>
            </>
          )}
          {attrs.map(([k, v]) => (
            <div key={k} class="pair">
              <dt>{k}</dt>
              <dd>{typeof v === 'string' ? v : JSON.stringify(v)}</dd>
            </div>
          ))}
          <dt>{t('customer.since')}</dt>
          <dd>
            <Time at={customer.created_at} />
          </dd>
        </dl>
      )}
      {customer && <CustomerHistory profile={customer} />}
      <h3>{t('customer.past')}</h3>
      {past.length === 0 ? (
        <p class="hint">{t('customer.noPast')}</p>
      ) : (
        <ul class="past">
          {past.map((c) => (
            <li key={c.id}>
              <a href={hrefOf('/conversations/:id', { id: c.id })} aria-current={c.id === current ? 'true' : undefined}>
                <Time at={c.created_at} /> · {t(`status.${c.status}` as 'status.open')}
              </a>
            </li>
          ))}
        </ul>
      )}
    </aside>
  );
}

function AssignDialog(props: { detail: ConversationDetail; dir: Directory; onClose: () => void; onDone: (d: ConversationDetail) => void }): JSX.Element {
  const { t, client, announce, me } = useConsole();
  const { dir, detail } = props;
  const [target, setTarget] = useState<'agent' | 'group'>('agent');
  const [agentId, setAgentId] = useState('');
  const [groupId, setGroupId] = useState('');
  const [error, setError] = useState<unknown>(null);
  const candidates = detail.routing?.candidates.map((c) => c.agent_id) ?? [];
  const agentChoices = dir.complete
    ? [...dir.agents.values()].filter((a) => !a.disabled).map((a) => ({ id: a.id, label: `${a.name} (${t(`presence.${a.status}` as 'presence.online')}, ${a.active_conversations}/${a.max_concurrent})` }))
    : [...new Set([...(me ? [me.id] : []), ...candidates])].map((id) => ({ id, label: id === me?.id ? `${me.name} (${t('conversation.me')})` : id }));
  const groupChoices = dir.complete ? [...dir.groups.values()].map((g) => ({ id: g.id, label: g.name })) : (me?.group_ids ?? []).map((id) => ({ id, label: id }));
  const submit = async (e: Event) => {
    e.preventDefault();
    setError(null);
    try {
      const body = target === 'agent' ? { agent_id: agentId.trim() } : { group_id: groupId.trim() };
      const d = await client.post<ConversationDetail>(`/v1/conversations/${encodeURIComponent(detail.id)}/assign`, body);
      announce(t('conversation.assigned'));
      props.onDone(d);
    } catch (err) {
      setError(err);
    }
  };
  return (
    <Dialog title={t('conversation.assign')} onClose={props.onClose}>
      <form onSubmit={(e) => void submit(e)}>
        <fieldset>
          <legend>{t('assign.to')}</legend>
          <label class="check">
            <input type="radio" name="target" checked={target === 'agent'} onChange={() => setTarget('agent')} />
            {t('assign.agent')}
          </label>
          <label class="check">
            <input type="radio" name="target" checked={target === 'group'} onChange={() => setTarget('group')} />
            {t('assign.group')}
          </label>
        </fieldset>
        {target === 'agent' ? (
          <Field label={t('assign.agent')} hint={dir.complete ? undefined : t('assign.idHint')}>
            {(a) => <Choice attrs={a} testId="assign-agent" choices={agentChoices} known={dir.complete} value={agentId} onChange={setAgentId} />}
          </Field>
        ) : (
          <Field label={t('assign.group')} hint={dir.complete ? undefined : t('assign.idHint')}>
            {(a) => <Choice attrs={a} testId="assign-group" choices={groupChoices} known={dir.complete} value={groupId} onChange={setGroupId} />}
          </Field>
        )}
        <ErrorLine error={error} />
        <div class="dialog-actions">
          <button type="button" onClick={props.onClose}>
            {t('common.cancel')}
          </button>
          <button type="submit" data-testid="assign-submit">
            {t('conversation.assign')}
          </button>
        </div>
      </form>
    </Dialog>
  );
}

/**
 * A choice among known options (a select), or, when the account cannot list them, an id typed in with the
 * ids it does know offered as suggestions.
 */
function Choice(props: {
  attrs: { id: string; 'aria-describedby'?: string; 'aria-invalid'?: boolean };
  testId: string;
  choices: { id: string; label: string }[];
  known: boolean;
  value: string;
  onChange: (v: string) => void;
}): JSX.Element {
  const { t } = useConsole();
  const listId = `${props.attrs.id}-list`;
  if (props.known) {
    return (
      <select {...props.attrs} data-testid={props.testId} required value={props.value} onChange={(e) => props.onChange(e.currentTarget.value)}>
        <option value="">{t('assign.choose')}</option>
        {props.choices.map((c) => (
          <option key={c.id} value={c.id}>
            {c.label}
          </option>
        ))}
      </select>
    );
  }
  return (
    <>
      <input {...props.attrs} list={listId} data-testid={props.testId} required value={props.value} onInput={(e) => props.onChange(e.currentTarget.value)} />
      <datalist id={listId}>
        {props.choices.map((c) => (
          <option key={c.id} value={c.id}>
            {c.label}
          </option>
        ))}
      </datalist>
    </>
  );
}
