/**
 * Assignment settings (`settings.manage`): strategy, queueing, sticky routing, default group and hours, and the
 * timers: reassigning an unanswered conversation after N seconds, handing an offline agent's conversations back,
 * setting an idle agent away after N minutes.
 */
import type { JSX } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { useConsole } from '../../state';
import type { AssignmentSettings, GroupView, ScheduleView } from '../../types';
import { Check, ErrorLine, Field } from '../../ui';
import { readAll } from '../directory';
import type { ScreenProps } from '../props';

/** `#/admin/assignment`. */
export function Assignment({ headingRef }: ScreenProps): JSX.Element {
  const { t, client, perms, announce } = useConsole();
  const [s, setS] = useState<AssignmentSettings | null>(null);
  const [groups, setGroups] = useState<GroupView[] | null>(null);
  const [schedules, setSchedules] = useState<ScheduleView[]>([]);
  const [error, setError] = useState<unknown>(null);
  const [reassign, setReassign] = useState('');
  const [reassignError, setReassignError] = useState(false);
  const [away, setAway] = useState('');
  const [awayError, setAwayError] = useState(false);
  useEffect(() => {
    client
      .get<AssignmentSettings>('/v1/settings/assignment')
      .then((got) => {
        setS(got);
        setReassign(got.reassign_unanswered_seconds == null ? '' : String(got.reassign_unanswered_seconds));
        setAway(got.auto_away_minutes == null ? '' : String(got.auto_away_minutes));
      })
      .catch(setError);
    if (perms.has('agents.manage')) readAll<GroupView>(client, '/v1/groups').then(setGroups).catch(() => undefined);
    readAll<ScheduleView>(client, '/v1/schedules').then(setSchedules).catch(() => undefined);
  }, []);
  const save = async (e: Event) => {
    e.preventDefault();
    if (!s) return;
    setError(null);
    const seconds = wholeOrNull(reassign);
    const minutes = wholeOrNull(away);
    setReassignError(seconds === undefined);
    setAwayError(minutes === undefined);
    if (seconds === undefined || minutes === undefined) return;
    try {
      setS(
        await client.put<AssignmentSettings>('/v1/settings/assignment', {
          ...s,
          reassign_unanswered_seconds: seconds,
          auto_away_minutes: minutes,
        }),
      );
      announce(t('common.saved'));
    } catch (err) {
      setError(err);
    }
  };
  return (
    <div class="admin">
      <h1 ref={headingRef} tabIndex={-1}>
        {t('nav.assignment')}
      </h1>
      {!s ? (
        error ? <ErrorLine error={error} /> : <p role="status">{t('common.loading')}</p>
      ) : (
        <form class="card settings" onSubmit={(e) => void save(e)}>
          <Field label={t('assignment.strategy')}>
            {(p) => (
              <select {...p} value={s.strategy} onChange={(e) => setS({ ...s, strategy: e.currentTarget.value })}>
                <option value="least_loaded">{t('strategy.least_loaded')}</option>
                <option value="round_robin">{t('strategy.round_robin')}</option>
              </select>
            )}
          </Field>
          <Check label={t('assignment.queueWhenFull')} checked={s.queue_when_full} onChange={(v) => setS({ ...s, queue_when_full: v })} />
          <Check label={t('assignment.sticky')} checked={s.sticky_returning_customers} onChange={(v) => setS({ ...s, sticky_returning_customers: v })} />
          <Field label={t('assignment.defaultGroup')} hint={groups ? undefined : t('assign.idHint')}>
            {(p) =>
              groups ? (
                <select {...p} value={s.default_group_id ?? ''} onChange={(e) => setS({ ...s, default_group_id: e.currentTarget.value || null })}>
                  <option value="">{t('assignment.everyAgent')}</option>
                  {groups.map((g) => (
                    <option key={g.id} value={g.id}>
                      {g.name}
                    </option>
                  ))}
                </select>
              ) : (
                <input {...p} value={s.default_group_id ?? ''} onInput={(e) => setS({ ...s, default_group_id: e.currentTarget.value.trim() || null })} />
              )
            }
          </Field>
          <Field label={t('assignment.hours')} hint={t('assignment.hoursHint')}>
            {(p) => (
              <select {...p} value={s.schedule_id ?? ''} onChange={(e) => setS({ ...s, schedule_id: e.currentTarget.value || null })}>
                <option value="">{t('groups.alwaysOpen')}</option>
                {schedules.map((x) => (
                  <option key={x.id} value={x.id}>
                    {x.name}
                  </option>
                ))}
              </select>
            )}
          </Field>
          <Field
            label={t('assignment.reassign')}
            hint={t('assignment.reassignHint')}
            error={reassignError ? t('assignment.reassignInvalid') : null}
          >
            {(p) => (
              <input {...p} name="reassign-unanswered-seconds" inputMode="numeric" value={reassign} onInput={(e) => setReassign(e.currentTarget.value)} />
            )}
          </Field>
          <Check
            name="requeue-on-offline"
            label={t('assignment.requeueOnOffline')}
            checked={s.requeue_on_offline ?? false}
            onChange={(v) => setS({ ...s, requeue_on_offline: v })}
          />
          <Field label={t('assignment.autoAway')} hint={t('assignment.autoAwayHint')} error={awayError ? t('assignment.autoAwayInvalid') : null}>
            {(p) => <input {...p} name="auto-away-minutes" inputMode="numeric" value={away} onInput={(e) => setAway(e.currentTarget.value)} />}
          </Field>
          <ErrorLine error={error} />
          <button type="submit">{t('common.save')}</button>
        </form>
      )}
    </div>
  );
}

/** A field's whole number ≥ 1, `null` when empty, `undefined` when it is neither. */
function wholeOrNull(text: string): number | null | undefined {
  if (text.trim() === '') return null;
  const n = Number(text.trim());
  return Number.isInteger(n) && n >= 1 ? n : undefined;
}
