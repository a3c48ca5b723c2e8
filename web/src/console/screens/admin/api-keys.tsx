/** API keys (`settings.manage`): keys for integrations with their permissions; a new key is shown once. */
import type { JSX } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { PERMISSIONS } from '../../lib/permissions';
import { useConsole } from '../../state';
import type { ApiKeyView, CreatedApiKey } from '../../types';
import { copyText, Dialog, ErrorLine, Field, Time } from '../../ui';
import { readAll } from '../directory';
import type { ScreenProps } from '../props';

/** `#/admin/api-keys`. */
export function ApiKeys({ headingRef }: ScreenProps): JSX.Element {
  const { t, client, perms, announce } = useConsole();
  const [keys, setKeys] = useState<ApiKeyView[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [name, setName] = useState('');
  const [chosen, setChosen] = useState<string[]>([]);
  const [created, setCreated] = useState<CreatedApiKey | null>(null);
  const [copied, setCopied] = useState(false);
  const load = async () => {
    try {
      setKeys(await readAll<ApiKeyView>(client, '/v1/api_keys'));
    } catch (e) {
      setError(e);
    }
  };
  useEffect(() => {
    void load();
  }, []);
  const create = async (e: Event) => {
    e.preventDefault();
    setError(null);
    try {
      const k = await client.post<CreatedApiKey>('/v1/api_keys', { name: name.trim(), permissions: PERMISSIONS.filter((p) => chosen.includes(p)) });
      setName('');
      setChosen([]);
      setCopied(false);
      setCreated(k);
      await load();
    } catch (err) {
      setError(err);
    }
  };
  const revoke = async (k: ApiKeyView) => {
    if (!window.confirm(t('apiKeys.confirmRevoke', { name: k.name }))) return;
    setError(null);
    try {
      await client.del(`/v1/api_keys/${encodeURIComponent(k.id)}`);
      announce(t('apiKeys.revoked', { name: k.name }));
      await load();
    } catch (err) {
      setError(err);
    }
  };
  return (
    <div class="admin">
      <h1 ref={headingRef} tabIndex={-1}>
        {t('nav.apiKeys')}
      </h1>
      <ErrorLine error={error} />
      {keys === null ? (
        <p role="status">{t('common.loading')}</p>
      ) : keys.length === 0 ? (
        <p class="empty">{t('apiKeys.none')}</p>
      ) : (
        <table class="table">
          <thead>
            <tr>
              <th scope="col">{t('account.name')}</th>
              <th scope="col">{t('apiKeys.prefix')}</th>
              <th scope="col">{t('roles.permissions')}</th>
              <th scope="col">{t('apiKeys.created')}</th>
              <th scope="col">{t('common.actions')}</th>
            </tr>
          </thead>
          <tbody>
            {keys.map((k) => (
              <tr key={k.id}>
                <th scope="row">{k.name}</th>
                <td>
                  <code>{k.prefix}…</code>
                </td>
                <td>{k.permissions.join(', ')}</td>
                <td>
                  <Time at={k.created_at} />
                </td>
                <td>
                  <button type="button" onClick={() => void revoke(k)} aria-label={t('apiKeys.revokeNamed', { name: k.name })}>
                    {t('apiKeys.revoke')}
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <form class="card" onSubmit={(e) => void create(e)} aria-labelledby="new-key-h">
        <h2 id="new-key-h">{t('apiKeys.add')}</h2>
        <Field label={t('account.name')} hint={t('apiKeys.nameHint')}>
          {(p) => <input {...p} required value={name} onInput={(e) => setName(e.currentTarget.value)} />}
        </Field>
        <fieldset class="perm-grid">
          <legend>{t('roles.permissions')}</legend>
          {PERMISSIONS.filter((p) => perms.has(p)).map((p) => (
            <label key={p} class="check">
              <input type="checkbox" checked={chosen.includes(p)} onChange={(e) => setChosen(e.currentTarget.checked ? [...chosen, p] : chosen.filter((x) => x !== p))} />
              <code>{p}</code>
            </label>
          ))}
        </fieldset>
        <button type="submit">{t('apiKeys.create')}</button>
      </form>
      {created && (
        <Dialog title={t('apiKeys.createdTitle', { name: created.name })} onClose={() => setCreated(null)}>
          <p role="alert">{t('apiKeys.shownOnce')}</p>
          <p>
            <code class="secret" data-testid="api-key-value">
              {created.key}
            </code>
          </p>
          <div class="dialog-actions">
            <button
              type="button"
              onClick={() =>
                void copyText(created.key).then((ok) => {
                  setCopied(ok);
                  announce(ok ? t('common.copied') : t('common.copyFailed'));
                })
              }
            >
              {copied ? t('common.copied') : t('common.copy')}
            </button>
            <button type="button" onClick={() => setCreated(null)}>
              {t('apiKeys.stored')}
            </button>
          </div>
        </Dialog>
      )}
    </div>
  );
}
