/**
 * Quick replies (`#/quick-replies`, every signed-in agent): the agent's personal replies and the team's, with
 * search by words of the title or content and a category filter; create, edit and delete. Team replies are
 * written only with `quick_replies.manage`; the server says so for the others.
 */
import type { JSX } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { QUICK_REPLY_VARIABLES, categoriesOf, quickRepliesPath } from '../lib/quick-replies';
import { useConsole } from '../state';
import type { Page, QuickReplyView } from '../types';
import { AdminHead, Dialog, ErrorLine, Field } from '../ui';
import type { ScreenProps } from './props';

/** `#/quick-replies`. */
export function QuickReplies({ headingRef }: ScreenProps): JSX.Element {
  const { t, client, perms, announce } = useConsole();
  const [q, setQ] = useState('');
  const [category, setCategory] = useState('');
  const [items, setItems] = useState<QuickReplyView[] | null>(null);
  const [all, setAll] = useState<QuickReplyView[]>([]);
  const [error, setError] = useState<unknown>(null);
  const [editing, setEditing] = useState<QuickReplyView | 'new' | null>(null);
  const load = async () => {
    try {
      const page = await client.get<Page<QuickReplyView>>(quickRepliesPath(q, category));
      setItems(page.items);
      if (!q.trim() && !category) setAll(page.items);
    } catch (e) {
      setError(e);
    }
  };
  useEffect(() => {
    void load();
  }, [q, category]);
  const mayWrite = (r: QuickReplyView) => r.scope === 'personal' || perms.has('quick_replies.manage');
  const remove = async (r: QuickReplyView) => {
    if (!window.confirm(t('quickReplies.confirmDelete', { name: r.title }))) return;
    setError(null);
    try {
      await client.del(`/v1/quick_replies/${encodeURIComponent(r.id)}`);
      announce(t('common.deletedNamed', { name: r.title }));
      await load();
    } catch (e) {
      setError(e);
    }
  };
  return (
    <div class="admin">
      <AdminHead title={t('nav.quickReplies')} headingRef={headingRef} addLabel={t('quickReplies.add')} onAdd={() => setEditing('new')} addTestId="quick-reply-add" error={error} />
      <div class="filters" role="search">
        <Field label={t('quickReplies.search')}>
          {(p) => <input {...p} type="search" name="quick-reply-search" data-testid="quick-reply-search" value={q} onInput={(e) => setQ(e.currentTarget.value)} />}
        </Field>
        <Field label={t('quickReplies.category')}>
          {(p) => (
            <select {...p} value={category} onChange={(e) => setCategory(e.currentTarget.value)}>
              <option value="">{t('quickReplies.allCategories')}</option>
              {categoriesOf(all).map((c) => (
                <option key={c} value={c}>
                  {c}
                </option>
              ))}
            </select>
          )}
        </Field>
      </div>
      {items === null ? (
        <p role="status">{t('common.loading')}</p>
      ) : items.length === 0 ? (
        <p class="empty">{q || category ? t('quickReplies.noMatch') : t('quickReplies.none')}</p>
      ) : (
        <table class="table" data-testid="quick-replies-table">
          <thead>
            <tr>
              <th scope="col">{t('quickReplies.title')}</th>
              <th scope="col">{t('quickReplies.shortcut')}</th>
              <th scope="col">{t('quickReplies.category')}</th>
              <th scope="col">{t('quickReplies.scope')}</th>
              <th scope="col">{t('common.actions')}</th>
            </tr>
          </thead>
          <tbody>
            {items.map((r) => (
              <tr key={r.id} data-testid="quick-reply-row">
                <th scope="row">
                  {r.title}
                  <span class="hint">{r.content}</span>
                </th>
                <td>{r.shortcut ? <code>/{r.shortcut}</code> : '—'}</td>
                <td>{r.category ?? '—'}</td>
                <td>{t(r.scope === 'team' ? 'quickReplies.scope.team' : 'quickReplies.scope.personal')}</td>
                <td class="row-actions">
                  {mayWrite(r) && (
                    <>
                      <button type="button" onClick={() => setEditing(r)} aria-label={t('common.editNamed', { name: r.title })}>
                        {t('common.edit')}
                      </button>
                      <button type="button" onClick={() => void remove(r)} aria-label={t('common.deleteNamed', { name: r.title })}>
                        {t('common.delete')}
                      </button>
                    </>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {editing && (
        <QuickReplyForm
          reply={editing === 'new' ? null : editing}
          mayTeam={perms.has('quick_replies.manage')}
          onClose={() => setEditing(null)}
          onSaved={(r) => {
            setEditing(null);
            announce(t('common.savedNamed', { name: r.title }));
            void load();
          }}
        />
      )}
    </div>
  );
}

function QuickReplyForm(props: { reply: QuickReplyView | null; mayTeam: boolean; onClose: () => void; onSaved: (r: QuickReplyView) => void }): JSX.Element {
  const { t, client } = useConsole();
  const r = props.reply;
  const [title, setTitle] = useState(r?.title ?? '');
  const [content, setContent] = useState(r?.content ?? '');
  const [category, setCategory] = useState(r?.category ?? '');
  const [shortcut, setShortcut] = useState(r?.shortcut ?? '');
  const [scope, setScope] = useState(r?.scope ?? 'personal');
  const [error, setError] = useState<unknown>(null);
  const submit = async (e: Event) => {
    e.preventDefault();
    setError(null);
    const body = { title: title.trim(), content, category: category.trim() || null, shortcut: shortcut.trim() || null, scope };
    try {
      const saved = r
        ? await client.put<QuickReplyView>(`/v1/quick_replies/${encodeURIComponent(r.id)}`, body)
        : await client.post<QuickReplyView>('/v1/quick_replies', body);
      props.onSaved(saved);
    } catch (err) {
      setError(err);
    }
  };
  return (
    <Dialog title={r ? t('common.editNamed', { name: r.title }) : t('quickReplies.add')} onClose={props.onClose} wide>
      <form onSubmit={(e) => void submit(e)}>
        <Field label={t('quickReplies.title')}>{(p) => <input {...p} name="quick-reply-title" required maxLength={100} value={title} onInput={(e) => setTitle(e.currentTarget.value)} />}</Field>
        <Field label={t('quickReplies.content')} hint={t('quickReplies.variablesHint', { list: QUICK_REPLY_VARIABLES.map((v) => `{{${v}}}`).join(' ') })}>
          {(p) => <textarea {...p} name="quick-reply-content" required rows={5} maxLength={4000} value={content} onInput={(e) => setContent(e.currentTarget.value)} />}
        </Field>
        <Field label={t('quickReplies.category')}>{(p) => <input {...p} name="quick-reply-category" maxLength={50} value={category} onInput={(e) => setCategory(e.currentTarget.value)} />}</Field>
        <Field label={t('quickReplies.shortcut')} hint={t('quickReplies.shortcutHint')}>
          {(p) => <input {...p} name="quick-reply-shortcut" maxLength={33} value={shortcut} onInput={(e) => setShortcut(e.currentTarget.value)} />}
        </Field>
        <Field label={t('quickReplies.scope')}>
          {(p) => (
            <select {...p} value={scope} disabled={!!r} onChange={(e) => setScope(e.currentTarget.value)}>
              <option value="personal">{t('quickReplies.scope.personal')}</option>
              {(props.mayTeam || r?.scope === 'team') && <option value="team">{t('quickReplies.scope.team')}</option>}
            </select>
          )}
        </Field>
        <ErrorLine error={error} />
        <div class="dialog-actions">
          <button type="button" onClick={props.onClose}>
            {t('common.cancel')}
          </button>
          <button type="submit" data-testid="quick-reply-save">
            {t('common.save')}
          </button>
        </div>
      </form>
    </Dialog>
  );
}
