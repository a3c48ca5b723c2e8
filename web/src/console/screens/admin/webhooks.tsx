/**
 * Webhooks (`rules.manage`): the signing secret (the key of `X-Kefu-Signature`'s HMAC-SHA256) masked until
 * revealed, copied with a button and rotated after a confirm (the old one stops working at once); and the
 * latest deliveries with their tries and last answer, filtered by status and refreshed on demand.
 */
import type { JSX } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { DELIVERY_STATUSES, maskSecret, statusOf, type DeliveryStatus } from '../../lib/webhooks';
import { useConsole } from '../../state';
import type { DeliveryView, Page, WebhookSettings } from '../../types';
import { copyText, Dialog, ErrorLine, Field, Time } from '../../ui';
import type { ScreenProps } from '../props';

/** `#/admin/webhooks` (`?status=failed` opens the log filtered). */
export function Webhooks({ headingRef, query }: ScreenProps): JSX.Element {
  const { t } = useConsole();
  return (
    <div class="admin">
      <h1 ref={headingRef} tabIndex={-1}>
        {t('nav.webhooks')}
      </h1>
      <Secret />
      <Deliveries initial={statusOf(query.get('status'))} />
    </div>
  );
}

function Secret(): JSX.Element {
  const { t, client, announce } = useConsole();
  const [secret, setSecret] = useState<string | null>(null);
  const [shown, setShown] = useState(false);
  const [copied, setCopied] = useState(false);
  const [confirm, setConfirm] = useState(false);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    client
      .get<WebhookSettings>('/v1/settings/webhooks')
      .then((s) => setSecret(s.secret))
      .catch(setError);
  }, []);
  const rotate = async () => {
    setError(null);
    try {
      const s = await client.post<WebhookSettings>('/v1/settings/webhooks/rotate');
      setSecret(s.secret);
      setShown(false);
      setCopied(false);
      announce(t('webhooks.rotated'));
    } catch (err) {
      setError(err);
    } finally {
      setConfirm(false);
    }
  };
  return (
    <section aria-labelledby="webhook-secret-h" class="card">
      <h2 id="webhook-secret-h">{t('webhooks.secret')}</h2>
      <p class="hint">{t('webhooks.secretAbout')}</p>
      <ErrorLine error={error} />
      {secret === null ? (
        !error && <p role="status">{t('common.loading')}</p>
      ) : (
        <>
          <p>
            <code class="secret" data-testid="webhook-secret" data-shown={shown ? 'yes' : 'no'} aria-label={t('webhooks.secret')}>
              {shown ? secret : maskSecret(secret)}
            </code>
          </p>
          <div class="dialog-actions">
            <button type="button" data-testid="webhook-reveal" aria-pressed={shown} onClick={() => setShown(!shown)}>
              {shown ? t('webhooks.hide') : t('webhooks.reveal')}
            </button>
            <button
              type="button"
              data-testid="webhook-copy"
              onClick={() =>
                void copyText(secret).then((ok) => {
                  setCopied(ok);
                  announce(ok ? t('common.copied') : t('common.copyFailed'));
                })
              }
            >
              {copied ? t('common.copied') : t('common.copy')}
            </button>
            <button type="button" class="danger" data-testid="webhook-rotate" onClick={() => setConfirm(true)}>
              {t('webhooks.rotate')}
            </button>
          </div>
        </>
      )}
      {confirm && (
        <Dialog title={t('webhooks.rotateTitle')} onClose={() => setConfirm(false)}>
          <p>{t('webhooks.rotateText')}</p>
          <div class="dialog-actions">
            <button type="button" data-testid="webhook-rotate-cancel" onClick={() => setConfirm(false)}>
              {t('common.cancel')}
            </button>
            <button type="button" class="danger" data-testid="webhook-rotate-confirm" onClick={() => void rotate()}>
              {t('webhooks.rotate')}
            </button>
          </div>
        </Dialog>
      )}
    </section>
  );
}

function Deliveries({ initial }: { initial: DeliveryStatus | null }): JSX.Element {
  const { t, client } = useConsole();
  const [status, setStatus] = useState<DeliveryStatus | null>(initial);
  const [items, setItems] = useState<DeliveryView[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [loading, setLoading] = useState(false);
  const load = async (s: DeliveryStatus | null) => {
    setLoading(true);
    setError(null);
    try {
      const p = await client.get<Page<DeliveryView>>('/v1/webhook_deliveries', { query: { status: s ?? undefined } });
      setItems(p.items);
    } catch (err) {
      setItems((have) => have ?? []);
      setError(err);
    } finally {
      setLoading(false);
    }
  };
  useEffect(() => {
    void load(status);
  }, [status]);
  return (
    <section aria-labelledby="webhook-deliveries-h" class="card">
      <h2 id="webhook-deliveries-h">{t('webhooks.deliveries')}</h2>
      <div class="filters">
        <Field label={t('webhooks.filterStatus')}>
          {(p) => (
            <select {...p} data-testid="webhook-status" value={status ?? ''} onChange={(e) => setStatus(statusOf(e.currentTarget.value))}>
              <option value="">{t('webhooks.status.all')}</option>
              {DELIVERY_STATUSES.map((s) => (
                <option key={s} value={s}>
                  {t(`webhooks.status.${s}`)}
                </option>
              ))}
            </select>
          )}
        </Field>
        <button type="button" data-testid="webhook-refresh" disabled={loading} onClick={() => void load(status)}>
          {t('webhooks.refresh')}
        </button>
      </div>
      <ErrorLine error={error} />
      {items === null ? (
        <p role="status">{t('common.loading')}</p>
      ) : items.length === 0 ? (
        <p class="empty" data-testid="webhook-none">
          {t('webhooks.none')}
        </p>
      ) : (
        <table class="table" data-testid="webhook-deliveries">
          <thead>
            <tr>
              <th scope="col">{t('webhooks.at')}</th>
              <th scope="col">{t('webhooks.event')}</th>
              <th scope="col">{t('webhooks.url')}</th>
              <th scope="col">{t('webhooks.status')}</th>
              <th scope="col">{t('webhooks.attempts')}</th>
              <th scope="col">{t('webhooks.lastAnswer')}</th>
              <th scope="col">{t('webhooks.updated')}</th>
            </tr>
          </thead>
          <tbody>
            {items.map((d) => (
              <tr key={d.id}>
                <td>
                  <Time at={d.created_at} />
                </td>
                <td>
                  <code>{d.event}</code>
                </td>
                <td class="ua">{d.url}</td>
                <td class={`delivery-${d.status}`}>{t(`webhooks.status.${d.status}`)}</td>
                <td>{d.attempts}</td>
                <td class="ua">
                  {d.last_status != null && <strong>{d.last_status} </strong>}
                  {d.last_answer ?? (d.last_status == null ? '—' : '')}
                </td>
                <td>
                  <Time at={d.updated_at} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
