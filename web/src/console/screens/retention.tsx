/**
 * Retention (`settings.manage`): how long closed conversations are kept (`GET|PUT /v1/settings/retention`), a
 * preview of what a sweep would archive and delete (`POST /v1/retention/run` with `dry_run`, optionally as of a
 * later time) and, after a confirmation, a run now.
 */
import type { JSX } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { retentionBody, retentionForm, runBody, type RetentionForm } from '../lib/retention';
import { useConsole } from '../state';
import type { RetentionSettings, RunReport } from '../types';
import { Check, ErrorLine, Field, Time } from '../ui';
import type { ScreenProps } from './props';

/** `#/retention`. */
export function Retention({ headingRef }: ScreenProps): JSX.Element {
  const { t, client, announce } = useConsole();
  const [form, setForm] = useState<RetentionForm | null>(null);
  const [problem, setProblem] = useState<'retention.badDays' | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [asOf, setAsOf] = useState('');
  const [report, setReport] = useState<RunReport | null>(null);
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    client
      .get<RetentionSettings>('/v1/settings/retention')
      .then((s) => setForm(retentionForm(s)))
      .catch((e: unknown) => setError(e));
  }, [client]);
  const save = async (e: Event) => {
    e.preventDefault();
    if (!form) return;
    const r = retentionBody(form);
    if ('problem' in r) {
      setProblem(r.problem);
      return;
    }
    setProblem(null);
    setError(null);
    try {
      setForm(retentionForm(await client.put<RetentionSettings>('/v1/settings/retention', r.body)));
      announce(t('common.saved'));
    } catch (err) {
      setError(err);
    }
  };
  const run = async (dry: boolean) => {
    if (!dry && !window.confirm(t('retention.confirmRun'))) return;
    setError(null);
    setBusy(true);
    try {
      const r = await client.post<RunReport>('/v1/retention/run', runBody(dry, asOf));
      setReport(r);
      announce(t(dry ? 'retention.previewed' : 'retention.ran', { conversations: r.conversations }));
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <div class="admin">
      <h1 ref={headingRef} tabIndex={-1}>
        {t('nav.retention')}
      </h1>
      <ErrorLine error={error} />
      {form === null ? (
        error == null && <p role="status">{t('common.loading')}</p>
      ) : (
        <form class="card" onSubmit={(e) => void save(e)} aria-labelledby="retention-h" data-testid="retention-form" noValidate>
          <h2 id="retention-h">{t('retention.settings')}</h2>
          <fieldset>
            <legend>{t('retention.keep')}</legend>
            <label class="check">
              <input type="radio" name="retention-keep" checked={form.keepForever} onChange={() => setForm({ ...form, keepForever: true })} />
              {t('retention.forever')}
            </label>
            <label class="check">
              <input type="radio" name="retention-keep" checked={!form.keepForever} onChange={() => setForm({ ...form, keepForever: false })} />
              {t('retention.forDays')}
            </label>
          </fieldset>
          {!form.keepForever && (
            <Field label={t('retention.days')} hint={t('retention.daysHint')} error={problem ? t(problem) : null}>
              {(p) => <input {...p} type="number" min={1} step={1} required value={form.days} onInput={(e) => setForm({ ...form, days: e.currentTarget.value })} />}
            </Field>
          )}
          <Check label={t('retention.archive')} checked={form.archive} onChange={(v) => setForm({ ...form, archive: v })} />
          <button type="submit">{t('common.save')}</button>
        </form>
      )}
      <section class="card" aria-labelledby="retention-run-h">
        <h2 id="retention-run-h">{t('retention.run')}</h2>
        <Field label={t('retention.asOf')} hint={t('retention.asOfHint')}>
          {(p) => <input {...p} type="datetime-local" value={asOf} onInput={(e) => setAsOf(e.currentTarget.value)} />}
        </Field>
        <button type="button" disabled={busy} onClick={() => void run(true)} data-testid="retention-preview">
          {t('retention.preview')}
        </button>{' '}
        <button type="button" class="danger" disabled={busy} onClick={() => void run(false)} data-testid="retention-run">
          {t('retention.runNow')}
        </button>
        {report && (
          <div data-testid="retention-report">
            <h3>{t(report.dry_run ? 'retention.wouldDo' : 'retention.did')}</h3>
            <dl class="stats-totals">
              <dt>{t('retention.cutoff')}</dt>
              <dd>{report.cutoff ? <Time at={report.cutoff} /> : t('retention.noPeriod')}</dd>
              <dt>{t(report.dry_run ? 'retention.dueConversations' : 'retention.deletedConversations')}</dt>
              <dd>{report.conversations}</dd>
              <dt>{t('retention.messages')}</dt>
              <dd>{report.messages}</dd>
              <dt>{t('retention.archived')}</dt>
              <dd>{report.archived}</dd>
              <dt>{t('retention.skippedOpen')}</dt>
              <dd>{report.skipped_open}</dd>
            </dl>
            {!report.complete && <p class="hint">{t('retention.incomplete')}</p>}
            {report.archives.length > 0 && (
              <details>
                <summary>{t('retention.archives', { count: report.archives.length })}</summary>
                <ul>
                  {report.archives.map((a) => (
                    <li key={a}>
                      <code>{a}</code>
                    </li>
                  ))}
                </ul>
              </details>
            )}
          </div>
        )}
      </section>
    </div>
  );
}
