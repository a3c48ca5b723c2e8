/**
 * What a customer did besides chatting, on its profile beside the conversation: how many conversations it
 * started, its latest purchases (as the shop pushed them) and the last pages it opened on the tenant's site.
 */
import type { JSX } from 'preact';
import { useConsole } from '../state';
import type { CustomerProfile } from '../types';
import { Time } from '../ui';

/** The purchases, page trail and conversation count of a profile. */
export function CustomerHistory({ profile }: { profile: CustomerProfile }): JSX.Element {
  const { t } = useConsole();
  return (
    <>
      <p class="hint" data-testid="customer-conversations-count">
        {t('customer.conversationsCount', { count: String(profile.conversations_count) })}
      </p>
      <h3>{t('customer.purchases')}</h3>
      {profile.purchases.length === 0 ? (
        <p class="hint">{t('customer.noPurchases')}</p>
      ) : (
        <table class="table compact" data-testid="customer-purchases">
          <thead>
            <tr>
              <th scope="col">{t('customer.order')}</th>
              <th scope="col">{t('customer.amount')}</th>
              <th scope="col">{t('customer.items')}</th>
              <th scope="col">{t('customer.purchasedAt')}</th>
            </tr>
          </thead>
          <tbody>
            {profile.purchases.map((p) => (
              <tr key={p.order_id} data-testid="customer-purchase">
                <th scope="row">{p.order_id}</th>
                <td>
                  {p.amount} {p.currency}
                </td>
                <td>{p.items.map((i) => (i.quantity > 1 ? `${i.name} × ${i.quantity}` : i.name)).join(', ')}</td>
                <td>
                  <Time at={p.purchased_at} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <h3>{t('customer.pages')}</h3>
      {profile.recent_pages.length === 0 ? (
        <p class="hint">{t('customer.noPages')}</p>
      ) : (
        <ol class="past" data-testid="customer-pages">
          {profile.recent_pages.map((p, i) => (
            <li key={`${p.viewed_at}-${i}`}>
              <a href={p.url} target="_blank" rel="noopener noreferrer">
                {p.title ?? p.url}
              </a>{' '}
              <Time at={p.viewed_at} relative />
            </li>
          ))}
        </ol>
      )}
    </>
  );
}
