/**
 * The tag registry (`tags.manage`): every tag with its scope and colour; add one, delete one (it is removed
 * from every conversation and customer that carries it). Once a tenant has a tag, only registered tags may
 * be newly put on conversations and customers.
 */
import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { DEFAULT_TAG_COLOR, TAG_SCOPES, isTagColor, type TagScope } from '../../lib/tags';
import { useConsole } from '../../state';
import type { TagView } from '../../types';
import { AdminHead, Dialog, ErrorLine, Field } from '../../ui';
import type { ScreenProps } from '../props';
import { useAdminList } from './list';

/** The label of each scope. */
const SCOPE_LABELS = { both: 'tags.scope.both', conversation: 'tags.scope.conversation', customer: 'tags.scope.customer' } as const;

/** `#/admin/tags`. */
export function Tags({ headingRef }: ScreenProps): JSX.Element {
  const { t, client, announce } = useConsole();
  const { items: tags, error, load, act } = useAdminList<TagView>('/v1/tags');
  const [adding, setAdding] = useState(false);
  const remove = async (tag: TagView) => {
    if (!window.confirm(t('tags.confirmDelete', { name: tag.name }))) return;
    await act(() => client.del(`/v1/tags/${encodeURIComponent(tag.id)}`), t('common.deletedNamed', { name: tag.name }));
  };
  return (
    <div class="admin">
      <AdminHead title={t('nav.tags')} headingRef={headingRef} addLabel={t('tags.add')} onAdd={() => setAdding(true)} addTestId="tag-add" error={error} />
      <p class="hint">{t('tags.about')}</p>
      {tags === null ? (
        <p role="status">{t('common.loading')}</p>
      ) : tags.length === 0 ? (
        <p class="empty">{t('tags.none')}</p>
      ) : (
        <table class="table" data-testid="tags-table">
          <thead>
            <tr>
              <th scope="col">{t('account.name')}</th>
              <th scope="col">{t('tags.scope')}</th>
              <th scope="col">{t('tags.color')}</th>
              <th scope="col">{t('common.actions')}</th>
            </tr>
          </thead>
          <tbody>
            {tags.map((tag) => (
              <tr key={tag.id} data-testid="tag-row">
                <th scope="row">
                  <span class="tag-swatch" style={{ background: tag.color }} aria-hidden="true" /> {tag.name}
                </th>
                <td>{t(SCOPE_LABELS[tag.scope as TagScope] ?? 'tags.scope.both')}</td>
                <td>
                  <code>{tag.color}</code>
                </td>
                <td class="row-actions">
                  <button type="button" onClick={() => void remove(tag)} aria-label={t('common.deleteNamed', { name: tag.name })}>
                    {t('common.delete')}
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {adding && (
        <TagForm
          onClose={() => setAdding(false)}
          onSaved={(tag) => {
            setAdding(false);
            announce(t('common.savedNamed', { name: tag.name }));
            void load();
          }}
        />
      )}
    </div>
  );
}

function TagForm(props: { onClose: () => void; onSaved: (t: TagView) => void }): JSX.Element {
  const { t, client } = useConsole();
  const [name, setName] = useState('');
  const [scope, setScope] = useState<TagScope>('both');
  const [color, setColor] = useState(DEFAULT_TAG_COLOR);
  const [error, setError] = useState<unknown>(null);
  const colorError = isTagColor(color) ? null : t('tags.badColor');
  const submit = async (e: Event) => {
    e.preventDefault();
    if (colorError) return;
    setError(null);
    try {
      props.onSaved(await client.post<TagView>('/v1/tags', { name: name.trim(), scope, color: color.trim() }));
    } catch (err) {
      setError(err);
    }
  };
  return (
    <Dialog title={t('tags.add')} onClose={props.onClose}>
      <form onSubmit={(e) => void submit(e)}>
        <Field label={t('account.name')}>{(p) => <input {...p} name="tag-name" required maxLength={32} value={name} onInput={(e) => setName(e.currentTarget.value)} />}</Field>
        <Field label={t('tags.scope')}>
          {(p) => (
            <select {...p} name="tag-scope" value={scope} onChange={(e) => setScope(e.currentTarget.value as TagScope)}>
              {TAG_SCOPES.map((s) => (
                <option key={s} value={s}>
                  {t(SCOPE_LABELS[s])}
                </option>
              ))}
            </select>
          )}
        </Field>
        <Field label={t('tags.color')} error={colorError}>
          {(p) => (
            <span class="color-pick">
              <input type="color" aria-hidden="true" tabIndex={-1} value={isTagColor(color) ? color.trim().toLowerCase() : DEFAULT_TAG_COLOR} onInput={(e) => setColor(e.currentTarget.value)} />
              <input {...p} name="tag-color" value={color} onInput={(e) => setColor(e.currentTarget.value)} />
            </span>
          )}
        </Field>
        <ErrorLine error={error} />
        <div class="dialog-actions">
          <button type="button" onClick={props.onClose}>
            {t('common.cancel')}
          </button>
          <button type="submit" data-testid="tag-save">
            {t('common.save')}
          </button>
        </div>
      </form>
    </Dialog>
  );
}
