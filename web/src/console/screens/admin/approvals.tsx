/** Approvals (`approvals.review`): the pending requests of sensitive operations; approve (it runs once) or reject. */
import type { JSX } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { approvalSummary, OPERATION_KEYS, operationKey } from '../../lib/approvals';
import { useConsole } from '../../state';
import type { ApprovalView } from '../../types';
import { ErrorLine, Time } from '../../ui';
import type { ScreenProps } from '../props';
import { useAdminList } from './list';

/** `#/approvals`. */
export function Approvals({ headingRef }: ScreenProps): JSX.Element {
  const { t, client, perms } = useConsole();
  const { items, error, act } = useAdminList<ApprovalView>('/v1/approvals?status=pending');
  const decide = async (a: ApprovalView, verb: 'approve' | 'reject') => {
    await act(
      () => client.post(`/v1/approvals/${encodeURIComponent(a.id)}/${verb}`, {}),
      t(verb === 'approve' ? 'approvals.approved' : 'approvals.rejected', { id: a.id }),
    );
  };
  return (
    <div class="admin">
      <h1 ref={headingRef} tabIndex={-1}>
        {t('nav.approvals')}
      </h1>
      <ErrorLine error={error} />
      {perms.has('settings.manage') && <ApprovalSettingsForm />}
      {items === null ? (
        <p role="status">{t('common.loading')}</p>
      ) : items.length === 0 ? (
        <p class="empty">{t('approvals.none')}</p>
      ) : (
        <table class="table" data-testid="approvals-table">
          <thead>
            <tr>
              <th scope="col">{t('approvals.operation')}</th>
              <th scope="col">{t('approvals.target')}</th>
              <th scope="col">{t('approvals.requestedBy')}</th>
              <th scope="col">{t('approvals.expires')}</th>
              <th scope="col">{t('common.actions')}</th>
            </tr>
          </thead>
          <tbody>
            {items.map((a) => (
              <tr key={a.id} data-testid="approval-row">
                <th scope="row">{((k) => (k ? t(k) : a.operation))(operationKey(a.operation))}</th>
                <td>
                  <code>{approvalSummary(a)}</code>
                </td>
                <td>
                  <code>{a.requested_by}</code>
                </td>
                <td>{a.status === 'expired' ? t('approvals.expired') : <Time at={a.expires_at} />}</td>
                <td>
                  <button type="button" disabled={a.status !== 'pending'} onClick={() => void decide(a, 'approve')}>
                    {t('approvals.approve')}
                  </button>{' '}
                  <button type="button" disabled={a.status !== 'pending'} onClick={() => void decide(a, 'reject')}>
                    {t('approvals.reject')}
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}

type Settings = Record<string, boolean | number>;

/** The tenant's approval settings (`settings.manage`): which operations wait for a second person. */
function ApprovalSettingsForm(): JSX.Element {
  const { t, client, announce } = useConsole();
  const [settings, setSettings] = useState<Settings | null>(null);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    client.get<Settings>('/v1/settings/approvals').then(setSettings).catch(setError);
  }, [client]);
  const save = async (e: Event) => {
    e.preventDefault();
    if (!settings) return;
    setError(null);
    try {
      setSettings(await client.put<Settings>('/v1/settings/approvals', settings));
      announce(t('common.saved'));
    } catch (err) {
      setError(err);
    }
  };
  return (
    <form class="card" onSubmit={(e) => void save(e)} data-testid="approval-settings">
      <h2>{t('approvals.settings')}</h2>
      <ErrorLine error={error} />
      {settings &&
        (Object.keys(OPERATION_KEYS) as (keyof typeof OPERATION_KEYS)[]).map((op) => (
          <label key={op} class="check">
            <input
              type="checkbox"
              checked={settings[op] === true}
              onChange={(e) => setSettings({ ...settings, [op]: e.currentTarget.checked })}
            />
            {t(OPERATION_KEYS[op])}
          </label>
        ))}
      <button type="submit">{t('common.save')}</button>
    </form>
  );
}
