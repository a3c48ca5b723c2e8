/**
 * Statistics (`stats.view`): `GET /v1/stats` over a range of days, optionally for one agent or group and counting
 * working hours only: totals, per-day charts (uPlot, loaded on first use; each an image whose figures are in the
 * per-day table), per-agent and per-group tables, and the same report as CSV (`format=csv`, fetched with the
 * session's token).
 */
import type { JSX } from 'preact';
import { useEffect, useMemo, useState } from 'preact/hooks';
import { buildUrl, toApiError } from '../../shared/http';
import { loadSession } from '../lib/session';
import { csatShare, dayCharts, defaultFilters, rangeOk, secs, statsQuery, type StatsFilters } from '../lib/stats';
import { useConsole } from '../state';
import type { StatsReport } from '../types';
import { Check, ErrorLine, Field } from '../ui';
import { DayChartView } from './chart';
import { agentName, groupName, useDirectory } from './directory';
import type { ScreenProps } from './props';

/** The per-day table's id: each chart points at it as its description. */
const DAYS_TABLE = 'stats-days-table';

/**
 * The agent or the group filter: a choice list when the directory could be read, else the id typed in (an
 * account without `agents.manage` cannot list names).
 */
function DirectoryPicker(props: {
  label: string;
  value: string;
  onChange: (id: string) => void;
  choices: Map<string, { id: string; name: string }>;
  complete: boolean;
  placeholder: string;
}): JSX.Element {
  const { t } = useConsole();
  return (
    <Field label={props.label}>
      {(p) =>
        props.complete ? (
          <select {...p} value={props.value} onChange={(e) => props.onChange(e.currentTarget.value)}>
            <option value="">{t('stats.all')}</option>
            {[...props.choices.values()].map((c) => (
              <option key={c.id} value={c.id}>
                {c.name}
              </option>
            ))}
          </select>
        ) : (
          <input {...p} placeholder={props.placeholder} value={props.value} onInput={(e) => props.onChange(e.currentTarget.value.trim())} />
        )
      }
    </Field>
  );
}

/** `#/stats`. */
export function Stats({ headingRef }: ScreenProps): JSX.Element {
  const { t, client, perms, me } = useConsole();
  const [dir] = useDirectory(client, perms, me);
  const [form, setForm] = useState<StatsFilters>(() => defaultFilters());
  const [applied, setApplied] = useState<StatsFilters>(form);
  const [report, setReport] = useState<StatsReport | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    let live = true;
    setBusy(true);
    client
      .get<StatsReport>('/v1/stats', { query: statsQuery(applied) })
      .then((r) => {
        if (live) {
          setReport(r);
          setError(null);
        }
      })
      .catch((e: unknown) => {
        if (live) setError(e);
      })
      .finally(() => {
        if (live) setBusy(false);
      });
    return () => {
      live = false;
    };
  }, [client, applied]);
  const apply = (e: Event) => {
    e.preventDefault();
    if (!rangeOk(form)) return;
    setApplied({ ...form });
  };
  const csvUrl = buildUrl(location.origin, '/v1/stats', statsQuery(applied, true));
  // A plain link would go without the session's token: fetch it and hand the browser the file.
  const download = async (e: Event) => {
    e.preventDefault();
    setError(null);
    try {
      const token = loadSession(sessionStorage)?.token;
      const res = await fetch(csvUrl, { headers: token ? { Authorization: `Bearer ${token}` } : {} });
      if (!res.ok) throw await toApiError(res);
      const url = URL.createObjectURL(await res.blob());
      const a = document.createElement('a');
      a.href = url;
      a.download = `stats-${applied.from}-${applied.to}.csv`;
      a.click();
      setTimeout(() => URL.revokeObjectURL(url), 1000);
    } catch (err) {
      setError(err);
    }
  };
  const set = (p: Partial<StatsFilters>) => setForm({ ...form, ...p });
  const badRange = !rangeOk(form);
  const charts = useMemo(() => (report ? dayCharts(report.by_day) : []), [report]);
  return (
    <div class="admin">
      <h1 ref={headingRef} tabIndex={-1}>
        {t('nav.stats')}
      </h1>
      <form class="card filters" onSubmit={apply} aria-label={t('stats.filters')} data-testid="stats-filters">
        <Field label={t('stats.from')}>
          {(p) => <input {...p} type="date" required value={form.from} onInput={(e) => set({ from: e.currentTarget.value })} />}
        </Field>
        <Field label={t('stats.to')} error={badRange ? t('stats.badRange') : null}>
          {(p) => <input {...p} type="date" required value={form.to} onInput={(e) => set({ to: e.currentTarget.value })} />}
        </Field>
        <DirectoryPicker
          label={t('stats.agent')}
          value={form.agentId}
          onChange={(v) => set({ agentId: v })}
          choices={dir.agents}
          complete={dir.complete}
          placeholder="ag_…"
        />
        <DirectoryPicker
          label={t('stats.group')}
          value={form.groupId}
          onChange={(v) => set({ groupId: v })}
          choices={dir.groups}
          complete={dir.complete}
          placeholder="gr_…"
        />
        <Check label={t('stats.businessHours')} checked={form.businessHours} onChange={(v) => set({ businessHours: v })} />
        <button type="submit" disabled={badRange}>
          {t('stats.apply')}
        </button>
        <a href={csvUrl} onClick={(e) => void download(e)} data-testid="stats-csv">
          {t('stats.csv')}
        </a>
      </form>
      <ErrorLine error={error} />
      {report === null ? (
        busy && <p role="status">{t('common.loading')}</p>
      ) : (
        <div aria-busy={busy}>
          <dl class="card stats-totals" data-testid="stats-totals">
            <dt>{t('stats.conversations')}</dt>
            <dd>{report.conversations}</dd>
            <dt>{t('stats.messages')}</dt>
            <dd>{report.messages}</dd>
            <dt>{t('stats.firstResponse')}</dt>
            <dd>
              {t('stats.medianP90', { median: secs(report.first_response_seconds.median), p90: secs(report.first_response_seconds.p90) })}
            </dd>
            <dt>{t('stats.resolution')}</dt>
            <dd>{t('stats.medianP90', { median: secs(report.resolution_seconds.median), p90: secs(report.resolution_seconds.p90) })}</dd>
            <dt>{t('stats.csat')}</dt>
            <dd>
              {t('stats.csatCounts', { good: report.csat.good, neutral: report.csat.neutral, bad: report.csat.bad, share: csatShare(report.csat) })}
            </dd>
          </dl>
          <p class="hint">{t('stats.zone', { zone: report.timezone })}</p>
          <h2>{t('stats.byDay')}</h2>
          <div class="charts">
            {charts.map((c) => (
              <DayChartView key={c.id} chart={c} testId={`chart-${c.id}`} tableId={DAYS_TABLE} />
            ))}
          </div>
          <div class="table-scroll">
            <table class="table" id={DAYS_TABLE} data-testid="stats-days">
              <caption>{t('stats.byDay')}</caption>
              <thead>
                <tr>
                  <th scope="col">{t('stats.day')}</th>
                  <th scope="col">{t('stats.conversations')}</th>
                  <th scope="col">{t('stats.messages')}</th>
                  <th scope="col">{t('stats.firstResponse')}</th>
                  <th scope="col">{t('stats.resolution')}</th>
                  <th scope="col">{t('stats.csat')}</th>
                </tr>
              </thead>
              <tbody>
                {report.by_day.map((d) => (
                  <tr key={d.day}>
                    <th scope="row">{d.day}</th>
                    <td>{d.conversations}</td>
                    <td>{d.messages}</td>
                    <td>{t('stats.medianP90', { median: secs(d.first_response_seconds.median), p90: secs(d.first_response_seconds.p90) })}</td>
                    <td>{t('stats.medianP90', { median: secs(d.resolution_seconds.median), p90: secs(d.resolution_seconds.p90) })}</td>
                    <td>{t('stats.csatCounts', { good: d.csat.good, neutral: d.csat.neutral, bad: d.csat.bad, share: csatShare(d.csat) })}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <SliceTable
            caption={t('stats.byAgent')}
            who={t('stats.agent')}
            testId="stats-agents"
            rows={report.by_agent.map((a) => ({ key: a.agent_id, name: agentName(dir, a.agent_id), f: a }))}
          />
          <SliceTable
            caption={t('stats.byGroup')}
            who={t('stats.group')}
            testId="stats-groups"
            rows={report.by_group.map((g) => ({
              key: g.group_id ?? '',
              name: g.group_id ? groupName(dir, g.group_id) : t('stats.defaultGroup'),
              f: g,
            }))}
          />
        </div>
      )}
    </div>
  );
}

type Figures = StatsReport['by_agent'][number];

/** A table of per-agent or per-group figures. */
function SliceTable(props: { caption: string; who: string; testId: string; rows: { key: string; name: string; f: Omit<Figures, 'agent_id'> }[] }): JSX.Element {
  const { t } = useConsole();
  return (
    <div class="table-scroll">
      <table class="table" data-testid={props.testId}>
        <caption>{props.caption}</caption>
        <thead>
          <tr>
            <th scope="col">{props.who}</th>
            <th scope="col">{t('stats.conversations')}</th>
            <th scope="col">{t('stats.messages')}</th>
            <th scope="col">{t('stats.firstResponse')}</th>
            <th scope="col">{t('stats.resolution')}</th>
            <th scope="col">{t('stats.csat')}</th>
          </tr>
        </thead>
        <tbody>
          {props.rows.length === 0 ? (
            <tr>
              <td colSpan={6}>{t('stats.none')}</td>
            </tr>
          ) : (
            props.rows.map((r) => (
              <tr key={r.key}>
                <th scope="row">{r.name}</th>
                <td>{r.f.conversations}</td>
                <td>{r.f.messages}</td>
                <td>{t('stats.medianP90', { median: secs(r.f.first_response_seconds.median), p90: secs(r.f.first_response_seconds.p90) })}</td>
                <td>{t('stats.medianP90', { median: secs(r.f.resolution_seconds.median), p90: secs(r.f.resolution_seconds.p90) })}</td>
                <td>{t('stats.csatCounts', { good: r.f.csat.good, neutral: r.f.csat.neutral, bad: r.f.csat.bad, share: csatShare(r.f.csat) })}</td>
              </tr>
            ))
          )}
        </tbody>
      </table>
    </div>
  );
}
