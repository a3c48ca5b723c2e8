/**
 * Exports (`exports.create`): ask for an export (kind, format, range), follow it (`GET /v1/exports/{id}` every two
 * seconds while queued or running, with its row count) and download it once done (the link lives 15 minutes).
 * When the tenant wants approval, the 202 says so and the export waits. The exports asked for in this tab are kept
 * in `sessionStorage`, since the API has no list of them.
 */
import type { JSX } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError } from '../../shared/http';
import { EXPORT_FORMATS, EXPORT_KINDS, exportBody, finished, isPending, minutesLeft, toPoll, track, type ExportForm, type Tracked } from '../lib/exports';
import { useConsole } from '../state';
import type { ExportView, PendingApproval } from '../types';
import { ErrorLine, Field, Time } from '../ui';
import type { ScreenProps } from './props';

const POLL_MS = 2000;
const STATUSES: readonly string[] = ['queued', 'running', 'done', 'failed'];
const KEY = 'kefu.console.exports';

function loadTracked(): Tracked[] {
  try {
    const v: unknown = JSON.parse(sessionStorage.getItem(KEY) ?? '[]');
    return Array.isArray(v) ? (v as Tracked[]) : [];
  } catch {
    return [];
  }
}

/** `#/exports`. */
export function Exports({ headingRef }: ScreenProps): JSX.Element {
  const { t, client, announce } = useConsole();
  const [form, setForm] = useState<ExportForm>({ kind: 'conversations', format: 'csv', since: '', until: '' });
  const [list, setList] = useState<Tracked[]>(loadTracked);
  const [error, setError] = useState<unknown>(null);
  const [problem, setProblem] = useState<{ field: string; key: 'exports.badTime' | 'exports.badRange' } | null>(null);
  const [, setTick] = useState(0);
  const listRef = useRef(list);
  listRef.current = list;
  useEffect(() => {
    try {
      sessionStorage.setItem(KEY, JSON.stringify(list));
    } catch {
      // storage full or off: the list lives as long as the screen
    }
  }, [list]);
  const inFlight = useRef(new Set<string>());
  const read = async (id: string, approvalId?: string) => {
    // A slow answer is not asked for again before it comes.
    if (inFlight.current.has(id)) return;
    inFlight.current.add(id);
    try {
      const v = await client.get<ExportView>(`/v1/exports/${encodeURIComponent(id)}`);
      const before = listRef.current.find((e) => e.id === id)?.view?.status;
      setList((l) => l.map((e) => (e.id === id ? { id, view: v } : e)));
      if (v.status !== before && finished(v.status)) announce(t(v.status === 'done' ? 'exports.ready' : 'exports.failedNamed', { id }));
    } catch (e) {
      // An export waiting for approval has no record yet.
      if (approvalId && e instanceof ApiError && e.status === 404) announce(t('exports.stillWaiting'));
      else setError(e);
    } finally {
      inFlight.current.delete(id);
    }
  };
  // Poll what is still queued or running; also re-render each tick so the link's minutes count down.
  useEffect(() => {
    const timer = setInterval(() => {
      setTick((n) => n + 1);
      for (const e of toPoll(listRef.current)) void read(e.id);
    }, POLL_MS);
    return () => clearInterval(timer);
  }, [client]);
  const submit = async (e: Event) => {
    e.preventDefault();
    setError(null);
    const r = exportBody(form);
    if ('problem' in r) {
      setProblem(r.problem);
      return;
    }
    setProblem(null);
    try {
      const a = await client.post<ExportView | PendingApproval>('/v1/exports', r.body);
      if (isPending(a)) {
        setList((l) => track(l, { id: a.id ?? a.approval_id, view: null, approvalId: a.approval_id }));
        announce(t('exports.pending'));
      } else {
        setList((l) => track(l, { id: a.id, view: a }));
        announce(t('exports.queued'));
      }
    } catch (err) {
      setError(err);
    }
  };
  const fieldError = (f: string) => (problem?.field === f ? t(problem.key) : null);
  return (
    <div class="admin">
      <h1 ref={headingRef} tabIndex={-1}>
        {t('nav.exports')}
      </h1>
      <ErrorLine error={error} />
      <form class="card" onSubmit={(e) => void submit(e)} aria-labelledby="new-export-h" data-testid="export-form">
        <h2 id="new-export-h">{t('exports.new')}</h2>
        <Field label={t('exports.kind')}>
          {(p) => (
            <select {...p} value={form.kind} onChange={(e) => setForm({ ...form, kind: e.currentTarget.value as ExportForm['kind'] })}>
              {EXPORT_KINDS.map((k) => (
                <option key={k} value={k}>
                  {t(`exports.kind.${k}`)}
                </option>
              ))}
            </select>
          )}
        </Field>
        <Field label={t('exports.format')}>
          {(p) => (
            <select {...p} value={form.format} onChange={(e) => setForm({ ...form, format: e.currentTarget.value as ExportForm['format'] })}>
              {EXPORT_FORMATS.map((f) => (
                <option key={f} value={f}>
                  {f.toUpperCase()}
                </option>
              ))}
            </select>
          )}
        </Field>
        <Field label={t('exports.since')} hint={t('exports.rangeHint')} error={fieldError('since')}>
          {(p) => <input {...p} type="datetime-local" value={form.since} onInput={(e) => setForm({ ...form, since: e.currentTarget.value })} />}
        </Field>
        <Field label={t('exports.until')} error={fieldError('until')}>
          {(p) => <input {...p} type="datetime-local" value={form.until} onInput={(e) => setForm({ ...form, until: e.currentTarget.value })} />}
        </Field>
        <button type="submit" data-testid="export-create">
          {t('exports.create')}
        </button>
      </form>
      <h2>{t('exports.mine')}</h2>
      {list.length === 0 ? (
        <p class="empty">{t('exports.none')}</p>
      ) : (
        <table class="table" data-testid="exports-table">
          <thead>
            <tr>
              <th scope="col">{t('exports.id')}</th>
              <th scope="col">{t('exports.kind')}</th>
              <th scope="col">{t('exports.status')}</th>
              <th scope="col">{t('exports.rows')}</th>
              <th scope="col">{t('exports.download')}</th>
            </tr>
          </thead>
          <tbody>
            {list.map((e) => (
              <ExportRow key={e.id} entry={e} onCheck={() => void read(e.id, e.approvalId)} />
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}

function ExportRow({ entry, onCheck }: { entry: Tracked; onCheck: () => void }): JSX.Element {
  const { t } = useConsole();
  const v = entry.view;
  if (!v) {
    return (
      <tr data-testid="export-row" data-status="pending">
        <th scope="row">
          <code>{entry.id}</code>
        </th>
        <td>–</td>
        <td colSpan={2}>{t('exports.pendingShort', { id: entry.approvalId ?? '' })}</td>
        <td>
          <button type="button" onClick={onCheck}>
            {t('exports.check')}
          </button>
        </td>
      </tr>
    );
  }
  const left = minutesLeft(v.expires_at);
  return (
    <tr data-testid="export-row" data-status={v.status}>
      <th scope="row">
        <code>{v.id}</code>
        <br />
        <Time at={v.created_at} />
      </th>
      <td>
        {(EXPORT_KINDS as readonly string[]).includes(v.kind) ? t(`exports.kind.${v.kind as ExportForm['kind']}`) : v.kind} ·{' '}
        {v.format.toUpperCase()}
      </td>
      <td>
        {STATUSES.includes(v.status) ? t(`exports.status.${v.status as 'done'}`) : v.status}
        {v.status === 'failed' && v.error ? `: ${v.error}` : ''}
      </td>
      <td>{v.rows}</td>
      <td>
        {v.status === 'done' && v.download_url ? (
          left === 0 ? (
            t('exports.expired')
          ) : (
            <>
              <a href={v.download_url} download data-testid="export-download">
                {t('exports.downloadNamed', { id: v.id })}
              </a>
              <br />
              <small class="hint">{t('exports.lives', { minutes: left ?? 15 })}</small>
            </>
          )
        ) : finished(v.status) ? (
          '–'
        ) : (
          <span role="status">{t('exports.working')}</span>
        )}
      </td>
    </tr>
  );
}
