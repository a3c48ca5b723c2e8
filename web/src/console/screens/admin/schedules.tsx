/** Schedules (`settings.manage`): weekly hours per day, holidays and dated overrides, in a time zone. */
import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { DAYS, formatDates, formatHours, formatOverrides, parseDates, parseHours, parseOverrides } from '../../lib/schedule';
import { useConsole } from '../../state';
import type { Hours, ScheduleView } from '../../types';
import { AdminHead, Dialog, ErrorLine, Field } from '../../ui';
import type { ScreenProps } from '../props';
import { useAdminList } from './list';

/** `#/admin/schedules`. */
export function Schedules({ headingRef }: ScreenProps): JSX.Element {
  const { t, announce } = useConsole();
  const { items, error, load } = useAdminList<ScheduleView>('/v1/schedules');
  const [editing, setEditing] = useState<ScheduleView | 'new' | null>(null);
  return (
    <div class="admin">
      <AdminHead
        title={t('nav.schedules')}
        headingRef={headingRef}
        addLabel={t('schedules.add')}
        onAdd={() => setEditing('new')} addTestId="schedule-add"
        error={error}
      />
      {items === null ? (
        <p role="status">{t('common.loading')}</p>
      ) : items.length === 0 ? (
        <p class="empty">{t('schedules.none')}</p>
      ) : (
        <table class="table" data-testid="schedules-table">
          <thead>
            <tr>
              <th scope="col">{t('account.name')}</th>
              <th scope="col">{t('schedules.timezone')}</th>
              {DAYS.map((d) => (
                <th scope="col" key={d}>
                  {t(`day.${d}`)}
                </th>
              ))}
              <th scope="col">{t('schedules.holidays')}</th>
              <th scope="col">{t('common.actions')}</th>
            </tr>
          </thead>
          <tbody>
            {items.map((s) => (
              <tr key={s.id} data-schedule-name={s.name}>
                <th scope="row">{s.name}</th>
                <td>{s.timezone}</td>
                {DAYS.map((d) => (
                  <td key={d} data-day={d}>
                    {formatHours(s.weekly[d]) || t('schedules.closed')}
                  </td>
                ))}
                <td>{s.holidays.length + s.overrides.length > 0 ? `${s.holidays.length} / ${s.overrides.length}` : '—'}</td>
                <td>
                  <button type="button" onClick={() => setEditing(s)} aria-label={t('common.editNamed', { name: s.name })}>
                    {t('common.edit')}
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {editing && (
        <ScheduleForm
          schedule={editing === 'new' ? null : editing}
          onClose={() => setEditing(null)}
          onSaved={(s) => {
            setEditing(null);
            announce(t('common.savedNamed', { name: s.name }));
            void load();
          }}
        />
      )}
    </div>
  );
}

function ScheduleForm(props: { schedule: ScheduleView | null; onClose: () => void; onSaved: (s: ScheduleView) => void }): JSX.Element {
  const { t, client } = useConsole();
  const s = props.schedule;
  const [name, setName] = useState(s?.name ?? '');
  const [zone, setZone] = useState(s?.timezone ?? Intl.DateTimeFormat().resolvedOptions().timeZone ?? 'UTC');
  const [week, setWeek] = useState<Record<string, string>>(() =>
    Object.fromEntries(DAYS.map((d) => [d, s ? formatHours(s.weekly[d]) : ['sat', 'sun'].includes(d) ? '' : '09:00-18:00'])),
  );
  const [holidays, setHolidays] = useState(formatDates(s?.holidays ?? []));
  const [overrides, setOverrides] = useState(formatOverrides(s?.overrides ?? []));
  const [bad, setBad] = useState<Record<string, string>>({});
  const [error, setError] = useState<unknown>(null);
  const submit = async (e: Event) => {
    e.preventDefault();
    setError(null);
    const problems: Record<string, string> = {};
    const weekly: Record<string, Hours> = {};
    for (const d of DAYS) {
      const p = parseHours(week[d] ?? '');
      if (p.ok) {
        if (p.value.length > 0) weekly[d] = p.value;
      } else problems[d] = t('schedules.badHours', { text: p.bad });
    }
    const h = parseDates(holidays);
    if (!h.ok) problems.holidays = t('schedules.badDate', { text: h.bad });
    const o = parseOverrides(overrides);
    if (!o.ok) problems.overrides = t('schedules.badOverride', { text: o.bad });
    setBad(problems);
    if (Object.keys(problems).length > 0 || !h.ok || !o.ok) return;
    const body = { name: name.trim(), timezone: zone.trim(), weekly, holidays: h.value, overrides: o.value };
    try {
      const saved = s ? await client.put<ScheduleView>(`/v1/schedules/${encodeURIComponent(s.id)}`, body) : await client.post<ScheduleView>('/v1/schedules', body);
      props.onSaved(saved);
    } catch (err) {
      setError(err);
    }
  };
  return (
    <Dialog title={s ? t('common.editNamed', { name: s.name }) : t('schedules.add')} onClose={props.onClose} wide>
      <form onSubmit={(e) => void submit(e)} class="grid-form">
        <Field label={t('account.name')}>{(p) => <input {...p} name="schedule-name" required value={name} onInput={(e) => setName(e.currentTarget.value)} />}</Field>
        <Field label={t('schedules.timezone')} hint={t('schedules.timezoneHint')}>
          {(p) => <input {...p} name="timezone" required value={zone} onInput={(e) => setZone(e.currentTarget.value)} />}
        </Field>
        <fieldset class="span week">
          <legend>{t('schedules.weekly')}</legend>
          <p class="hint">{t('schedules.hoursHint')}</p>
          {DAYS.map((d) => (
            <Field key={d} label={t(`day.${d}`)} error={bad[d] ?? null}>
              {(p) => <input {...p} name={`hours-${d}`} data-day={d} value={week[d]} onInput={(e) => setWeek({ ...week, [d]: e.currentTarget.value })} />}
            </Field>
          ))}
        </fieldset>
        <Field label={t('schedules.holidays')} hint={t('schedules.holidaysHint')} error={bad.holidays ?? null}>
          {(p) => <textarea {...p} name="holidays" rows={3} value={holidays} onInput={(e) => setHolidays(e.currentTarget.value)} />}
        </Field>
        <Field label={t('schedules.overrides')} hint={t('schedules.overridesHint')} error={bad.overrides ?? null}>
          {(p) => <textarea {...p} name="overrides" rows={3} value={overrides} onInput={(e) => setOverrides(e.currentTarget.value)} />}
        </Field>
        <ErrorLine error={error} />
        <div class="dialog-actions span">
          <button type="button" onClick={props.onClose}>
            {t('common.cancel')}
          </button>
          <button type="submit" data-testid="schedule-save">
            {t('common.save')}
          </button>
        </div>
      </form>
    </Dialog>
  );
}
