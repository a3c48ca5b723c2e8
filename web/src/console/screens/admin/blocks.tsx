/** Blocks (`customers.edit`): customers and IP ranges the widget refuses, with reason and expiry; add, lift. */
import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { type BlockForm, blockBody, blockTarget } from '../../lib/blocks';
import { useConsole } from '../../state';
import type { BlockView } from '../../types';
import { ErrorLine, Field, Time } from '../../ui';
import type { ScreenProps } from '../props';
import { useAdminList } from './list';

const EMPTY: BlockForm = { kind: 'ip', target: '', reason: '', expires: '' };

/** `#/admin/blocks`. */
export function Blocks({ headingRef }: ScreenProps): JSX.Element {
  const { t, client } = useConsole();
  const { items: blocks, error, act } = useAdminList<BlockView>('/v1/blocks');
  const [form, setForm] = useState<BlockForm>(EMPTY);
  const [problem, setProblem] = useState<ReturnType<typeof blockBody> | null>(null);
  const fieldError = (f: 'target' | 'reason' | 'expires') =>
    problem && 'problem' in problem && problem.problem.field === f ? t(problem.problem.key) : null;
  const add = async (e: Event) => {
    e.preventDefault();
    const r = blockBody(form, new Date());
    setProblem(r);
    if ('problem' in r) return;
    await act(async () => {
      await client.post('/v1/blocks', r.body);
      setForm(EMPTY);
    }, t('blocks.added', { target: r.body.ip_cidr ?? r.body.customer_id ?? '' }));
  };
  const lift = async (b: BlockView) => {
    const target = blockTarget(b);
    if (!window.confirm(t('blocks.confirmLift', { target }))) return;
    await act(() => client.del(`/v1/blocks/${encodeURIComponent(b.id)}`), t('blocks.lifted', { target }));
  };
  return (
    <div class="admin">
      <h1 ref={headingRef} tabIndex={-1}>
        {t('nav.blocks')}
      </h1>
      <ErrorLine error={error} />
      {blocks === null ? (
        <p role="status">{t('common.loading')}</p>
      ) : blocks.length === 0 ? (
        <p class="empty">{t('blocks.none')}</p>
      ) : (
        <table class="table" data-testid="blocks-table">
          <thead>
            <tr>
              <th scope="col">{t('blocks.target')}</th>
              <th scope="col">{t('blocks.reason')}</th>
              <th scope="col">{t('blocks.expires')}</th>
              <th scope="col">{t('apiKeys.created')}</th>
              <th scope="col">{t('common.actions')}</th>
            </tr>
          </thead>
          <tbody>
            {blocks.map((b) => (
              <tr key={b.id} data-testid="block-row">
                <th scope="row">
                  <code>{blockTarget(b)}</code>
                </th>
                <td>{b.reason}</td>
                <td>{b.expires_at ? <Time at={b.expires_at} /> : t('blocks.untilLifted')}</td>
                <td>
                  <Time at={b.created_at} />
                </td>
                <td>
                  <button type="button" onClick={() => void lift(b)} aria-label={t('blocks.liftNamed', { target: blockTarget(b) })}>
                    {t('blocks.lift')}
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <form class="card" onSubmit={(e) => void add(e)} aria-labelledby="new-block-h" data-testid="block-form">
        <h2 id="new-block-h">{t('blocks.add')}</h2>
        <fieldset>
          <legend>{t('blocks.kind')}</legend>
          {(['ip', 'customer'] as const).map((k) => (
            <label key={k} class="check">
              <input type="radio" name="block-kind" checked={form.kind === k} onChange={() => setForm({ ...form, kind: k })} />
              {t(k === 'ip' ? 'blocks.byIp' : 'blocks.byCustomer')}
            </label>
          ))}
        </fieldset>
        <Field label={t('blocks.target')} hint={t(form.kind === 'ip' ? 'blocks.ipHint' : 'blocks.customerHint')} error={fieldError('target')}>
          {(p) => <input {...p} required value={form.target} onInput={(e) => setForm({ ...form, target: e.currentTarget.value })} />}
        </Field>
        <Field label={t('blocks.reason')} error={fieldError('reason')}>
          {(p) => <input {...p} required maxLength={500} value={form.reason} onInput={(e) => setForm({ ...form, reason: e.currentTarget.value })} />}
        </Field>
        <Field label={t('blocks.expires')} hint={t('blocks.expiresHint')} error={fieldError('expires')}>
          {(p) => <input {...p} type="datetime-local" value={form.expires} onInput={(e) => setForm({ ...form, expires: e.currentTarget.value })} />}
        </Field>
        <button type="submit">{t('blocks.create')}</button>
      </form>
    </div>
  );
}
