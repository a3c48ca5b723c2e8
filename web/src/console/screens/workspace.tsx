/**
 * The inbox and the open conversation side by side: the list (views and filters as the account's
 * permissions allow, live), the conversation (history by window, reply and note, actions, why this agent)
 * and the customer beside it. Keyboard: j/k next/previous, r reply, n note, c close, ? help.
 */
import type { JSX } from 'preact';
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import type { Frame } from '../../shared/ws';
import { bump, inboxQuery, type InboxFilters } from '../lib/history';
import { inboxViews, type InboxView } from '../lib/permissions';
import { hrefOf } from '../lib/routes';
import { SHORTCUTS, shortcutFor, step } from '../lib/shortcuts';
import { useConsole } from '../state';
import type { ConversationView, MessageView, Page } from '../types';
import { Dialog, ErrorLine, Time } from '../ui';
import { Conversation, type PaneControl } from './conversation';
import { groupName, useDirectory } from './directory';
import type { ScreenProps } from './props';

/** The view and filters survive moving between conversations and screens. */
const remembered: { view: InboxView; filters: InboxFilters } = { view: 'mine', filters: {} };

/** How often the views that frames do not cover (unassigned, queued, all) are read again, in ms. */
const REFRESH_MS = 15_000;

/** `#/inbox` and `#/conversations/{id}`. */
export function Workspace({ params, headingRef }: ScreenProps): JSX.Element {
  const { t, client, perms, me, onFrame, onReconnect, announce } = useConsole();
  const views = inboxViews(perms);
  const [view, setView] = useState<InboxView>(views.includes(remembered.view) ? remembered.view : 'mine');
  const [filters, setFilters] = useState<InboxFilters>(remembered.filters);
  const [tagDraft, setTagDraft] = useState(filters.tag ?? '');
  const [items, setItems] = useState<ConversationView[]>([]);
  const [next, setNext] = useState<string | null>(null);
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState<unknown>(null);
  const [unread, setUnread] = useState<ReadonlySet<string>>(new Set());
  const [help, setHelp] = useState(false);
  const [dir, reloadDir] = useDirectory(client, perms, me);
  const selected = params.id ?? null;
  const pane = useRef<PaneControl | null>(null);
  remembered.view = view;
  remembered.filters = filters;

  const load = useCallback(
    async (quiet = false) => {
      if (!quiet) setLoading(true);
      try {
        const q = inboxQuery(view, filters);
        const page = await client.get<Page<ConversationView>>(`/v1/conversations?${q.toString()}`);
        setItems(page.items);
        setNext(page.next_cursor);
        setError(null);
      } catch (e) {
        setError(e);
      } finally {
        setLoading(false);
      }
    },
    [client, view, filters],
  );

  const more = async () => {
    if (!next) return;
    try {
      const page = await client.get<Page<ConversationView>>(`/v1/conversations?${inboxQuery(view, filters, next).toString()}`);
      setItems((have) => [...have, ...page.items.filter((c) => !have.some((h) => h.id === c.id))]);
      setNext(page.next_cursor);
    } catch (e) {
      setError(e);
    }
  };

  useEffect(() => {
    void load();
  }, [load]);

  // Live: frames move conversations up and mark them unread; other changes read the list again.
  const itemsRef = useRef(items);
  itemsRef.current = items;
  const selectedRef = useRef(selected);
  selectedRef.current = selected;
  useEffect(() => {
    const off = onFrame((f: Frame) => {
      const id = f.conversation_id;
      if (!id) return;
      if (f.type === 'message.created') {
        const m = f.message as MessageView | undefined;
        if (itemsRef.current.some((c) => c.id === id)) setItems((list) => bump(list, id, m?.created_at ?? new Date().toISOString()));
        else void load(true);
        if (id !== selectedRef.current && m?.author === 'visitor') setUnread((u) => new Set(u).add(id));
      } else if (f.type.startsWith('conversation.')) {
        void load(true);
        if (f.type === 'conversation.assigned' && (f.data as { agent_id?: string } | undefined)?.agent_id === me?.id) {
          announce(t('alert.newConversation'));
          if (id !== selectedRef.current) setUnread((u) => new Set(u).add(id));
        }
      }
    });
    const offRe = onReconnect(() => void load(true));
    return () => {
      off();
      offRe();
    };
  }, [onFrame, onReconnect, load, me?.id, announce, t]);

  // Frames reach the assignee only, so the shared views are read again now and then while visible.
  useEffect(() => {
    if (view === 'mine') return;
    const timer = setInterval(() => {
      if (document.visibilityState === 'visible') void load(true);
    }, REFRESH_MS);
    return () => clearInterval(timer);
  }, [view, load]);

  useEffect(() => {
    if (selected) setUnread((u) => (u.has(selected) ? new Set([...u].filter((x) => x !== selected)) : u));
  }, [selected]);

  // Keyboard shortcuts.
  const helpRef = useRef(help);
  helpRef.current = help;
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.defaultPrevented) return;
      const target = e.target as HTMLElement | null;
      if (target?.closest('dialog')) return;
      const action = shortcutFor({
        key: e.key,
        ctrlKey: e.ctrlKey,
        metaKey: e.metaKey,
        altKey: e.altKey,
        isComposing: e.isComposing,
        targetTag: target?.tagName,
        targetEditable: target?.isContentEditable,
      });
      if (!action) return;
      const ids = itemsRef.current.map((c) => c.id);
      switch (action) {
        case 'next':
        case 'previous': {
          const to = step(ids, selectedRef.current, action === 'next' ? 1 : -1);
          if (to) {
            e.preventDefault();
            location.hash = hrefOf('/conversations/:id', { id: to });
            requestAnimationFrame(() => document.querySelector<HTMLElement>(`[data-conversation-id="${CSS.escape(to)}"]`)?.focus());
          }
          break;
        }
        case 'reply':
        case 'note':
          if (pane.current) {
            e.preventDefault();
            pane.current.compose(action);
          }
          break;
        case 'close':
          if (pane.current) {
            e.preventDefault();
            void pane.current.close();
          }
          break;
        case 'help':
          e.preventDefault();
          setHelp(true);
          break;
        case 'escape':
          if (target && (target.tagName === 'TEXTAREA' || target.tagName === 'INPUT')) target.blur();
          break;
      }
    };
    document.addEventListener('keydown', onKey);
    return () => document.removeEventListener('keydown', onKey);
  }, []);

  const groupOptions = dir.complete ? [...dir.groups.values()].map((g) => ({ id: g.id, name: g.name })) : (me?.group_ids ?? []).map((id) => ({ id, name: id }));

  return (
    <div class="workspace">
      <section class="inbox" aria-labelledby="inbox-h">
        <div class="inbox-head">
          <h1 id="inbox-h" ref={selected ? undefined : headingRef} tabIndex={-1}>
            {t('nav.inbox')}
          </h1>
          <button type="button" class="link" onClick={() => setHelp(true)} aria-keyshortcuts="?">
            {t('shortcuts.title')}
          </button>
        </div>
        <div class="views" role="group" aria-label={t('inbox.views')}>
          {views.map((v) => (
            <button key={v} type="button" aria-pressed={view === v} data-view={v} onClick={() => setView(v)}>
              {t(`inbox.view.${v}`)}
            </button>
          ))}
        </div>
        <form
          class="filters"
          aria-label={t('inbox.filters')}
          onSubmit={(e) => {
            e.preventDefault();
            setFilters({ ...filters, tag: tagDraft.trim() || undefined });
          }}
        >
          <label>
            <span>{t('inbox.status')}</span>
            <select
              value={view === 'queued' ? 'queued' : (filters.status ?? '')}
              disabled={view === 'queued'}
              onChange={(e) => setFilters({ ...filters, status: e.currentTarget.value || undefined })}
            >
              <option value="">{t('inbox.anyStatus')}</option>
              {(['pending', 'open', 'queued', 'closed'] as const).map((s) => (
                <option key={s} value={s}>
                  {t(`status.${s}`)}
                </option>
              ))}
            </select>
          </label>
          <label>
            <span>{t('inbox.tag')}</span>
            <input value={tagDraft} onInput={(e) => setTagDraft(e.currentTarget.value)} onBlur={() => (tagDraft.trim() || undefined) !== filters.tag && setFilters({ ...filters, tag: tagDraft.trim() || undefined })} />
          </label>
          {groupOptions.length > 0 && (
            <label>
              <span>{t('inbox.group')}</span>
              <select value={filters.group_id ?? ''} onChange={(e) => setFilters({ ...filters, group_id: e.currentTarget.value || undefined })}>
                <option value="">{t('inbox.anyGroup')}</option>
                {groupOptions.map((g) => (
                  <option key={g.id} value={g.id}>
                    {g.name}
                  </option>
                ))}
              </select>
            </label>
          )}
        </form>
        <ErrorLine error={error} />
        {loading && items.length === 0 ? (
          <p role="status">{t('common.loading')}</p>
        ) : items.length === 0 ? (
          <p class="empty">{t('inbox.empty')}</p>
        ) : (
          <ul class="conversation-list" aria-label={t('inbox.list')}>
            {items.map((c) => (
              <li key={c.id}>
                <a
                  href={hrefOf('/conversations/:id', { id: c.id })}
                  data-testid="conversation-item"
                  data-conversation-id={c.id}
                  aria-current={c.id === selected ? 'true' : undefined}
                  class={`conversation-item${unread.has(c.id) ? ' unread' : ''}`}
                >
                  <span class="ci-top">
                    <span class="ci-customer">{c.customer_id}</span>
                    <Time at={c.last_message_at} relative />
                  </span>
                  <span class="ci-meta">
                    <span class={`badge status-${c.status}`}>{t(`status.${c.status}` as 'status.open')}</span>
                    {c.priority === 'high' && <span class="badge high">{t('priority.high')}</span>}
                    {c.group_id && <span class="badge">{groupName(dir, c.group_id)}</span>}
                    {c.tags.map((tag) => (
                      <span key={tag} class="badge tag">
                        #{tag}
                      </span>
                    ))}
                    {c.unread > 0 && c.id !== selected ? (
                      <span class="badge new" data-testid="unread-count" aria-label={t('inbox.unread', { n: c.unread })}>
                        {c.unread}
                      </span>
                    ) : (
                      unread.has(c.id) && <span class="badge new">{t('inbox.new')}</span>
                    )}
                  </span>
                </a>
              </li>
            ))}
          </ul>
        )}
        {next && (
          <button type="button" onClick={() => void more()}>
            {t('common.more')}
          </button>
        )}
      </section>
      {selected ? (
        <Conversation key={selected} id={selected} headingRef={headingRef} dir={dir} reloadDir={reloadDir} control={pane} onChanged={() => void load(true)} />
      ) : (
        <section class="conversation placeholder" aria-label={t('nav.conversation')}>
          <p>{t('inbox.pick')}</p>
        </section>
      )}
      {help && (
        <Dialog title={t('shortcuts.title')} onClose={() => setHelp(false)}>
          <dl class="shortcuts">
            {SHORTCUTS.map((s) => (
              <div key={s.action}>
                <dt>
                  {s.keys.map((k) => (
                    <kbd key={k}>{k}</kbd>
                  ))}
                </dt>
                <dd>{t(s.label as 'shortcuts.next')}</dd>
              </div>
            ))}
          </dl>
        </Dialog>
      )}
    </div>
  );
}
