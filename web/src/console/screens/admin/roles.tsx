/** Roles and permissions (`roles.manage`): the built-in roles and custom roles from the catalogue. */
import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { PERMISSIONS } from '../../lib/permissions';
import { useConsole } from '../../state';
import type { RoleView } from '../../types';
import { AdminHead, ErrorLine, Field } from '../../ui';
import type { ScreenProps } from '../props';
import { useAdminList } from './list';

/** `#/admin/roles`. */
export function Roles({ headingRef }: ScreenProps): JSX.Element {
  const { t, client, announce } = useConsole();
  const { items: roles, error, load, act } = useAdminList<RoleView>('/v1/roles');
  const [editing, setEditing] = useState<RoleView | 'new' | null>(null);
  const remove = async (r: RoleView) => {
    if (!window.confirm(t('roles.confirmDelete', { name: r.name }))) return;
    await act(() => client.del(`/v1/roles/${encodeURIComponent(r.id)}`), t('common.deletedNamed', { name: r.name }));
  };
  return (
    <div class="admin">
      <AdminHead
        title={t('nav.roles')}
        headingRef={headingRef}
        addLabel={t('roles.add')}
        onAdd={() => setEditing('new')}
        error={error}
      />
      {editing && (
        <RoleForm
          role={editing === 'new' ? null : editing}
          onClose={() => setEditing(null)}
          onSaved={(r) => {
            setEditing(null);
            announce(t('common.savedNamed', { name: r.name }));
            void load();
          }}
        />
      )}
      {roles === null ? (
        <p role="status">{t('common.loading')}</p>
      ) : (
        <div class="table-scroll">
          <table class="table matrix">
            <caption class="sr-only">{t('roles.matrix')}</caption>
            <thead>
              <tr>
                <th scope="col">{t('roles.permission')}</th>
                {roles.map((r) => (
                  <th scope="col" key={r.id}>
                    {r.name}
                    {r.builtin ? ` (${t('roles.builtin')})` : ''}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {PERMISSIONS.map((p) => (
                <tr key={p}>
                  <th scope="row">
                    <code>{p}</code> <span class="hint">{t(`perm.${p}`)}</span>
                  </th>
                  {roles.map((r) => (
                    <td key={r.id}>
                      <span aria-hidden="true">{r.permissions.includes(p) ? '✓' : '·'}</span>
                      <span class="sr-only">{r.permissions.includes(p) ? t('common.yes') : t('common.no')}</span>
                    </td>
                  ))}
                </tr>
              ))}
              <tr>
                <th scope="row">{t('common.actions')}</th>
                {roles.map((r) => (
                  <td key={r.id} class="row-actions">
                    {!r.builtin && (
                      <>
                        <button type="button" onClick={() => setEditing(r)} aria-label={t('common.editNamed', { name: r.name })}>
                          {t('common.edit')}
                        </button>
                        <button type="button" onClick={() => void remove(r)} aria-label={t('common.deleteNamed', { name: r.name })}>
                          {t('common.delete')}
                        </button>
                      </>
                    )}
                  </td>
                ))}
              </tr>
            </tbody>
          </table>
        </div>
      )}
    </div>
  );
}

function RoleForm(props: { role: RoleView | null; onClose: () => void; onSaved: (r: RoleView) => void }): JSX.Element {
  const { t, client, perms } = useConsole();
  const r = props.role;
  const [name, setName] = useState(r?.name ?? '');
  const [chosen, setChosen] = useState<string[]>(r?.permissions ?? []);
  const [error, setError] = useState<unknown>(null);
  const submit = async (e: Event) => {
    e.preventDefault();
    setError(null);
    const body = { name: name.trim(), permissions: PERMISSIONS.filter((p) => chosen.includes(p)) };
    try {
      props.onSaved(r ? await client.put<RoleView>(`/v1/roles/${encodeURIComponent(r.id)}`, body) : await client.post<RoleView>('/v1/roles', body));
    } catch (err) {
      setError(err);
    }
  };
  return (
    <form class="card" onSubmit={(e) => void submit(e)} aria-labelledby="role-form-h">
      <h2 id="role-form-h">{r ? t('common.editNamed', { name: r.name }) : t('roles.add')}</h2>
      <Field label={t('account.name')}>{(p) => <input {...p} required value={name} onInput={(e) => setName(e.currentTarget.value)} />}</Field>
      <fieldset class="perm-grid">
        <legend>{t('roles.permissions')}</legend>
        {PERMISSIONS.map((p) => (
          <label key={p} class="check">
            <input
              type="checkbox"
              checked={chosen.includes(p)}
              disabled={!perms.has(p) && !chosen.includes(p)}
              onChange={(e) => setChosen(e.currentTarget.checked ? [...chosen, p] : chosen.filter((x) => x !== p))}
            />
            <code>{p}</code> <span class="hint">{t(`perm.${p}`)}</span>
          </label>
        ))}
      </fieldset>
      <p class="hint">{t('roles.grantHint')}</p>
      <ErrorLine error={error} />
      <div class="dialog-actions">
        <button type="button" onClick={props.onClose}>
          {t('common.cancel')}
        </button>
        <button type="submit">{t('common.save')}</button>
      </div>
    </form>
  );
}
