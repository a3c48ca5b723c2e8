/** The audit log (`audit.view`), newest first, filtered by actor, action and time. */
import type { JSX } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { useConsole } from '../../state';
import type { AuditView, Page } from '../../types';
import { ErrorLine, Time } from '../../ui';
import type { ScreenProps } from '../props';

/** The filters of `GET /v1/audit`. */
interface Filters {
  actor_id: string;
  action: string;
  since: string;
  until: string;
}

/** A `datetime-local` value (the reader's zone) as RFC 3339 UTC, or undefined when empty or invalid. */
export function localToIso(v: string): string | undefined {
  if (!v) return undefined;
  const d = new Date(v);
  return Number.isNaN(d.getTime()) ? undefined : d.toISOString();
}

/** `#/admin/audit`. */
export function Audit({ headingRef }: ScreenProps): JSX.Element {
  const { t, client } = useConsole();
  const [draft, setDraft] = useState<Filters>({ actor_id: '', action: '', since: '', until: '' });
  const [filters, setFilters] = useState<Filters>(draft);
  const [items, setItems] = useState<AuditView[] | null>(null);
  const [next, setNext] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const query = (f: Filters, cursor?: string | null) => ({
    actor_id: f.actor_id.trim() || undefined,
    action: f.action.trim() || undefined,
    since: localToIso(f.since),
    until: localToIso(f.until),
    cursor: cursor ?? undefined,
  });
  useEffect(() => {
    setItems(null);
    setError(null);
    client
      .get<Page<AuditView>>('/v1/audit', { query: query(filters) })
      .then((p) => {
        setItems(p.items);
        setNext(p.next_cursor);
      })
      .catch((e: unknown) => {
        setItems([]);
        setError(e);
      });
  }, [filters]);
  const more = async () => {
    if (!next) return;
    try {
      const p = await client.get<Page<AuditView>>('/v1/audit', { query: query(filters, next) });
      setItems((have) => [...(have ?? []), ...p.items]);
      setNext(p.next_cursor);
    } catch (e) {
      setError(e);
    }
  };
  const input = (k: keyof Filters, type = 'text') => (
    <label>
      <span>{t(`audit.${k}`)}</span>
      <input type={type} name={k} value={draft[k]} onInput={(e) => setDraft({ ...draft, [k]: e.currentTarget.value })} />
    </label>
  );
  return (
    <div class="admin">
      <h1 ref={headingRef} tabIndex={-1}>
        {t('nav.audit')}
      </h1>
      <form
        class="filters card"
        aria-label={t('inbox.filters')}
        onSubmit={(e) => {
          e.preventDefault();
          setFilters(draft);
        }}
      >
        {input('actor_id')}
        <label>
          <span>{t('audit.action')}</span>
          <input name="action" list="audit-actions" value={draft.action} onInput={(e) => setDraft({ ...draft, action: e.currentTarget.value })} />
        </label>
        <datalist id="audit-actions">
          {['auth.login', 'auth.logout', 'auth.mfa', 'customer.read', 'customer.update', 'conversation.read', 'conversation.delete', 'export.create', 'settings.update', 'role.update', 'agent.update', 'approval.decide', 'permission.denied'].map((a) => (
            <option key={a} value={a} />
          ))}
        </datalist>
        {input('since', 'datetime-local')}
        {input('until', 'datetime-local')}
        <button type="submit">{t('audit.apply')}</button>
      </form>
      <ErrorLine error={error} />
      {items === null ? (
        <p role="status">{t('common.loading')}</p>
      ) : items.length === 0 ? (
        <p class="empty">{next ? t('audit.keepLooking') : t('audit.none')}</p>
      ) : (
        <table class="table" data-testid="audit-table">
          <thead>
            <tr>
              <th scope="col">{t('audit.at')}</th>
              <th scope="col">{t('audit.actor_id')}</th>
              <th scope="col">{t('audit.action')}</th>
              <th scope="col">{t('audit.target')}</th>
              <th scope="col">{t('audit.ip')}</th>
              <th scope="col">{t('audit.outcome')}</th>
            </tr>
          </thead>
          <tbody>
            {items.map((a) => (
              <tr key={a.id}>
                <td>
                  <Time at={a.at} />
                </td>
                <td>
                  <code>{a.actor_id ?? '—'}</code>
                </td>
                <td>
                  <code>{a.action}</code>
                </td>
                <td>{a.target_type ? `${a.target_type} ${a.target_id ?? ''}` : '—'}</td>
                <td>{a.ip ?? '—'}</td>
                <td class={`outcome-${a.outcome}`}>{t(`audit.outcome.${a.outcome}` as 'audit.outcome.success')}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {next && (
        <button type="button" onClick={() => void more()}>
          {t('common.more')}
        </button>
      )}
    </div>
  );
}
