/**
 * Tickets (`tickets.manage`): the list with its filters (status, assignee, group), a new standalone ticket, and
 * one ticket with its comments, its status moves (only the ones the server accepts), its priority and its
 * assignee or group. A ticket from a conversation is made in the conversation (`CreateTicketDialog`).
 */
import type { JSX } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { hrefOf } from '../lib/routes';
import { TICKET_PRIORITIES, TICKET_STATUSES, filtersOf, nextStatuses, ticketQuery, type TicketFilters, type TicketPriority, type TicketSource, type TicketStatus } from '../lib/tickets';
import { useConsole } from '../state';
import type { Client } from '../../shared/http';
import type { CommentView, Page, TicketDetail, TicketView } from '../types';
import { AdminHead, Dialog, ErrorLine, Field, Time } from '../ui';
import { agentName, groupName, useDirectory } from './directory';
import type { ScreenProps } from './props';

/** The most pages of tickets the list reads at once (200 each). */
const MAX_PAGES = 5;

/** The tickets `GET /v1/tickets` answers for `query`, every page up to [`MAX_PAGES`]. */
async function readTickets(client: Client, query: Record<string, string>): Promise<TicketView[]> {
  const out: TicketView[] = [];
  let cursor: string | null = null;
  for (let i = 0; i < MAX_PAGES; i++) {
    const page: Page<TicketView> = await client.get<Page<TicketView>>('/v1/tickets', { query: { ...query, limit: 200, cursor: cursor ?? undefined } });
    out.push(...page.items);
    cursor = page.next_cursor;
    if (!cursor) break;
  }
  return out;
}

/** `#/tickets`. */
export function Tickets({ headingRef, query }: ScreenProps): JSX.Element {
  const { t, client, perms, me } = useConsole();
  const [dir] = useDirectory(client, perms, me ? { id: me.id, name: me.name } : null);
  const [filters, setFilters] = useState<TicketFilters>(() => filtersOf(query));
  const [items, setItems] = useState<TicketView[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [creating, setCreating] = useState(false);
  const key = JSON.stringify(ticketQuery(filters));
  useEffect(() => {
    let live = true;
    setItems(null);
    setError(null);
    readTickets(client, ticketQuery(filters))
      .then((list) => live && setItems(list))
      .catch((e: unknown) => {
        if (!live) return;
        setError(e);
        setItems([]);
      });
    return () => {
      live = false;
    };
  }, [client, key]);
  const set = (k: keyof TicketFilters) => (e: Event) => setFilters({ ...filters, [k]: (e.currentTarget as HTMLSelectElement).value });
  return (
    <div class="admin">
      <AdminHead title={t('nav.tickets')} headingRef={headingRef} addLabel={t('tickets.add')} onAdd={() => setCreating(true)} addTestId="ticket-add" error={error} />
      <div class="filters" role="group" aria-label={t('tickets.filters')}>
        <Field label={t('tickets.status')}>
          {(p) => (
            <select {...p} data-testid="ticket-filter-status" value={filters.status} onChange={set('status')}>
              <option value="">{t('tickets.any')}</option>
              {TICKET_STATUSES.map((s) => (
                <option key={s} value={s}>
                  {t(`tickets.status.${s}`)}
                </option>
              ))}
            </select>
          )}
        </Field>
        <Field label={t('tickets.assignee')}>
          {(p) => (
            <select {...p} data-testid="ticket-filter-assignee" value={filters.assignee} onChange={set('assignee')}>
              <option value="">{t('tickets.any')}</option>
              <option value="me">{t('tickets.me')}</option>
              <option value="unassigned">{t('tickets.unassigned')}</option>
              {[...dir.agents.values()].map((a) => (
                <option key={a.id} value={a.id}>
                  {a.name}
                </option>
              ))}
            </select>
          )}
        </Field>
        {dir.groups.size > 0 && (
          <Field label={t('tickets.group')}>
            {(p) => (
              <select {...p} value={filters.group_id} onChange={set('group_id')}>
                <option value="">{t('tickets.any')}</option>
                {[...dir.groups.values()].map((g) => (
                  <option key={g.id} value={g.id}>
                    {g.name}
                  </option>
                ))}
              </select>
            )}
          </Field>
        )}
      </div>
      {items === null ? (
        <p role="status">{t('common.loading')}</p>
      ) : items.length === 0 ? (
        <p class="empty">{t('tickets.none')}</p>
      ) : (
        <table class="table" data-testid="tickets-table">
          <thead>
            <tr>
              <th scope="col">{t('tickets.title')}</th>
              <th scope="col">{t('tickets.status')}</th>
              <th scope="col">{t('tickets.priority')}</th>
              <th scope="col">{t('tickets.assignee')}</th>
              <th scope="col">{t('tickets.updated')}</th>
            </tr>
          </thead>
          <tbody>
            {items.map((tk) => (
              <tr key={tk.id} data-testid="ticket-item" data-ticket-id={tk.id}>
                <th scope="row">
                  <a href={hrefOf('/tickets/:id', { id: tk.id })}>{tk.title}</a>
                </th>
                <td>{t(`tickets.status.${tk.status as TicketStatus}`)}</td>
                <td>{t(`tickets.priority.${tk.priority as TicketPriority}`)}</td>
                <td>{tk.assignee_id ? agentName(dir, tk.assignee_id) : tk.group_id ? groupName(dir, tk.group_id) : t('tickets.unassigned')}</td>
                <td>
                  <Time at={tk.updated_at} relative />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {creating && <CreateTicketDialog onClose={() => setCreating(false)} />}
    </div>
  );
}

/** `#/tickets/:id`. */
export function Ticket({ headingRef, params }: ScreenProps): JSX.Element {
  const { t, client, perms, me, announce } = useConsole();
  const [dir] = useDirectory(client, perms, me ? { id: me.id, name: me.name } : null);
  const id = params.id ?? '';
  const path = `/v1/tickets/${encodeURIComponent(id)}`;
  const [ticket, setTicket] = useState<TicketDetail | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [comment, setComment] = useState('');
  const load = async () => {
    try {
      setTicket(await client.get<TicketDetail>(path));
    } catch (e) {
      setError(e);
    }
  };
  useEffect(() => {
    void load();
  }, [path]);
  const change = async (body: Record<string, unknown>, done: string) => {
    setError(null);
    try {
      await client.patch<TicketView>(path, body);
      announce(done);
      await load();
    } catch (e) {
      setError(e);
    }
  };
  const addComment = async (e: Event) => {
    e.preventDefault();
    setError(null);
    try {
      await client.post<CommentView>(`${path}/comments`, { content: comment });
      setComment('');
      announce(t('tickets.commented'));
      await load();
    } catch (err) {
      setError(err);
    }
  };
  if (!ticket) {
    return (
      <div class="admin">
        <h1 ref={headingRef} tabIndex={-1}>
          {t('nav.ticket')}
        </h1>
        {error ? <ErrorLine error={error} /> : <p role="status">{t('common.loading')}</p>}
      </div>
    );
  }
  const assignee = ticket.assignee_id ?? '';
  return (
    <div class="admin ticket" data-testid="ticket-detail">
      <h1 ref={headingRef} tabIndex={-1}>
        {ticket.title}
      </h1>
      <p>
        <a href={hrefOf('/tickets')}>{t('tickets.back')}</a>
      </p>
      <ErrorLine error={error} />
      <dl class="facts">
        <dt>{t('tickets.status')}</dt>
        <dd data-testid="ticket-status">{t(`tickets.status.${ticket.status as TicketStatus}`)}</dd>
        <dt>{t('tickets.source')}</dt>
        <dd>{t(`tickets.source.${ticket.source as TicketSource}`)}</dd>
        {ticket.conversation_id && (
          <>
            <dt>{t('nav.conversation')}</dt>
            <dd>
              <a href={hrefOf('/conversations/:id', { id: ticket.conversation_id })}>{ticket.conversation_id}</a>
            </dd>
          </>
        )}
        {ticket.group_id && (
          <>
            <dt>{t('tickets.group')}</dt>
            <dd>{groupName(dir, ticket.group_id)}</dd>
          </>
        )}
        {ticket.contact && (ticket.contact.email || ticket.contact.phone) && (
          <>
            <dt>{t('tickets.contact')}</dt>
            <dd>{[ticket.contact.email, ticket.contact.phone].filter(Boolean).join(' · ')}</dd>
          </>
        )}
        <dt>{t('tickets.updated')}</dt>
        <dd>
          <Time at={ticket.updated_at} />
        </dd>
      </dl>
      {ticket.description && <p class="description">{ticket.description}</p>}
      <div class="actions" role="group" aria-label={t('tickets.moves')}>
        {nextStatuses(ticket.status).map((s) => (
          <button key={s} type="button" data-testid={`ticket-move-${s}`} onClick={() => void change({ status: s }, t(`tickets.status.${s}`))}>
            {s === 'open' ? t('tickets.reopen') : t('tickets.moveTo', { status: t(`tickets.status.${s}`) })}
          </button>
        ))}
      </div>
      <div class="filters">
        <Field label={t('tickets.priority')}>
          {(p) => (
            <select {...p} value={ticket.priority} onChange={(e) => void change({ priority: e.currentTarget.value }, t('common.saved'))}>
              {TICKET_PRIORITIES.map((x) => (
                <option key={x} value={x}>
                  {t(`tickets.priority.${x}`)}
                </option>
              ))}
            </select>
          )}
        </Field>
        <Field label={t('tickets.assignee')}>
          {(p) => (
            <select {...p} data-testid="ticket-assignee" value={assignee} onChange={(e) => void change({ assignee_id: e.currentTarget.value || null }, t('common.saved'))}>
              <option value="">{t('tickets.unassigned')}</option>
              {me && !dir.agents.has(me.id) && <option value={me.id}>{me.name}</option>}
              {assignee && !dir.agents.has(assignee) && assignee !== me?.id && <option value={assignee}>{assignee}</option>}
              {[...dir.agents.values()].map((a) => (
                <option key={a.id} value={a.id}>
                  {a.name}
                </option>
              ))}
            </select>
          )}
        </Field>
      </div>
      <h2>{t('tickets.comments')}</h2>
      <ol class="comments">
        {ticket.comments.length === 0 && <li class="empty">{t('tickets.noComments')}</li>}
        {ticket.comments.map((c) => (
          <li key={c.id} data-testid="ticket-comment">
            <strong>{agentName(dir, c.author_id)}</strong> <Time at={c.created_at} relative />
            <p>{c.content}</p>
          </li>
        ))}
      </ol>
      <form onSubmit={(e) => void addComment(e)}>
        <Field label={t('tickets.addComment')}>
          {(p) => <textarea {...p} data-testid="ticket-comment-input" required value={comment} onInput={(e) => setComment(e.currentTarget.value)} />}
        </Field>
        <button type="submit" data-testid="ticket-comment-submit" disabled={!comment.trim()}>
          {t('tickets.comment')}
        </button>
      </form>
    </div>
  );
}

/** A new ticket: standalone, or from a conversation (linked to it and its customer). Opens the ticket made. */
export function CreateTicketDialog(props: { conversationId?: string; initialTitle?: string; onClose: () => void }): JSX.Element {
  const { t, client, announce } = useConsole();
  const [title, setTitle] = useState(props.initialTitle ?? '');
  const [description, setDescription] = useState('');
  const [priority, setPriority] = useState('normal');
  const [error, setError] = useState<unknown>(null);
  const submit = async (e: Event) => {
    e.preventDefault();
    setError(null);
    try {
      const made = await client.post<TicketView>('/v1/tickets', {
        title: title.trim(),
        description,
        priority,
        ...(props.conversationId ? { conversation_id: props.conversationId } : {}),
      });
      announce(t('tickets.created'));
      props.onClose();
      location.hash = hrefOf('/tickets/:id', { id: made.id });
    } catch (err) {
      setError(err);
    }
  };
  return (
    <Dialog title={t('tickets.add')} onClose={props.onClose}>
      <form onSubmit={(e) => void submit(e)}>
        <Field label={t('tickets.title')}>
          {(p) => <input {...p} data-testid="ticket-title" required maxLength={200} value={title} onInput={(e) => setTitle(e.currentTarget.value)} />}
        </Field>
        <Field label={t('tickets.description')}>{(p) => <textarea {...p} value={description} onInput={(e) => setDescription(e.currentTarget.value)} />}</Field>
        <Field label={t('tickets.priority')}>
          {(p) => (
            <select {...p} value={priority} onChange={(e) => setPriority(e.currentTarget.value)}>
              {TICKET_PRIORITIES.map((x) => (
                <option key={x} value={x}>
                  {t(`tickets.priority.${x}`)}
                </option>
              ))}
            </select>
          )}
        </Field>
        <ErrorLine error={error} />
        <div class="dialog-actions">
          <button type="button" onClick={props.onClose}>
            {t('common.cancel')}
          </button>
          <button type="submit" data-testid="ticket-save">
            {t('common.save')}
          </button>
        </div>
      </form>
    </Dialog>
  );
}
