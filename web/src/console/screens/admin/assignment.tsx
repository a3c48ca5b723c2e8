/**
 * Assignment settings (`settings.manage`): strategy, queueing, sticky routing, default group and hours, and the
 * timers: reassigning an unanswered conversation after N seconds, handing an offline agent's conversations back,
 * setting an idle agent away after N minutes; and the overflow rules between groups (a conversation queued in one
 * group that long is offered to another too), checked here before the server checks them again.
 */
import type { JSX } from 'preact';
import { useEffect, useId, useState } from 'preact/hooks';
import { ApiError } from '../../../shared/http';
import type { MsgKey } from '../../i18n';
import { useConsole } from '../../state';
import type { AssignmentSettings, GroupView, OverflowRule, ScheduleView } from '../../types';
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
  const [rules, setRules] = useState<OverflowDraft[]>([]);
  const [ruleProblems, setRuleProblems] = useState<OverflowProblems>({});
  const overflowHintId = useId();
  const [ruleServer, setRuleServer] = useState<{ at: OverflowAt; message: string } | null>(null);
  const showRules = (got: AssignmentSettings) =>
    setRules((got.overflow ?? []).map((r) => ({ from: r.from_group_id, to: r.to_group_id, seconds: String(r.after_seconds) })));
  const editRules = (next: OverflowDraft[]) => {
    // Row numbers shift when a row goes, so marks from the last save no longer point at the right row.
    if (next.length !== rules.length) {
      setRuleProblems({});
      setRuleServer(null);
    }
    setRules(next);
  };
  const setRule = (i: number, r: Partial<OverflowDraft>) => editRules(rules.map((x, j) => (j === i ? { ...x, ...r } : x)));
  const ruleError = (i: number, f: OverflowField): string | null => {
    const key = ruleProblems[i]?.[f];
    if (key) return t(key);
    return ruleServer && ruleServer.at.row === i && ruleServer.at.field === f ? ruleServer.message : null;
  };
  useEffect(() => {
    client
      .get<AssignmentSettings>('/v1/settings/assignment')
      .then((got) => {
        setS(got);
        setReassign(got.reassign_unanswered_seconds == null ? '' : String(got.reassign_unanswered_seconds));
        setAway(got.auto_away_minutes == null ? '' : String(got.auto_away_minutes));
        showRules(got);
      })
      .catch(setError);
    if (perms.has('agents.manage')) readAll<GroupView>(client, '/v1/groups').then(setGroups).catch(() => undefined);
    readAll<ScheduleView>(client, '/v1/schedules').then(setSchedules).catch(() => undefined);
  }, []);
  const save = async (e: Event) => {
    e.preventDefault();
    if (!s) return;
    setError(null);
    setRuleServer(null);
    const seconds = wholeOrNull(reassign);
    const minutes = wholeOrNull(away);
    const overflow = parseOverflow(rules);
    setReassignError(seconds === undefined);
    setAwayError(minutes === undefined);
    setRuleProblems('problems' in overflow ? overflow.problems : {});
    if (seconds === undefined || minutes === undefined || 'problems' in overflow) return;
    try {
      const saved = await client.put<AssignmentSettings>('/v1/settings/assignment', {
        ...s,
        reassign_unanswered_seconds: seconds,
        auto_away_minutes: minutes,
        overflow: overflow.rules,
      });
      setS(saved);
      showRules(saved);
      announce(t('common.saved'));
    } catch (err) {
      const at = err instanceof ApiError ? overflowAt(err.field) : null;
      if (err instanceof ApiError && at) setRuleServer({ at, message: err.message });
      else setError(err);
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
          <fieldset aria-describedby={overflowHintId}>
            <legend>{t('assignment.overflow')}</legend>
            <p class="hint" id={overflowHintId}>{t('assignment.overflowHint')}</p>
            {ruleServer && (
              <p class="error" role="alert">
                {t('assignment.overflowFix')}
              </p>
            )}
            {rules.map((r, i) => (
              <div key={i} class="overflow-row" role="group" aria-label={t('assignment.overflowN', { n: i + 1 })} data-testid="overflow-rule">
                <GroupPicker
                  label={t('assignment.overflowFrom')}
                  groups={groups}
                  value={r.from}
                  error={ruleError(i, 'from_group_id')}
                  onChange={(from) => setRule(i, { from })}
                />
                <GroupPicker label={t('assignment.overflowTo')} groups={groups} value={r.to} error={ruleError(i, 'to_group_id')} onChange={(to) => setRule(i, { to })} />
                <Field label={t('assignment.overflowAfter')} error={ruleError(i, 'after_seconds')}>
                  {(p) => (
                    <input {...p} name="overflow-after-seconds" inputMode="numeric" value={r.seconds} onInput={(e) => setRule(i, { seconds: e.currentTarget.value })} />
                  )}
                </Field>
                <button type="button" aria-label={t('assignment.overflowRemoveN', { n: i + 1 })} onClick={() => editRules(rules.filter((_, j) => j !== i))}>
                  {t('assignment.overflowRemove')}
                </button>
              </div>
            ))}
            <button
              type="button"
              data-testid="overflow-add"
              disabled={rules.length >= MAX_OVERFLOW_RULES}
              onClick={() => editRules([...rules, { from: '', to: '', seconds: '' }])}
            >
              {t('assignment.overflowAdd')}
            </button>
          </fieldset>
          <ErrorLine error={error} />
          <button type="submit">{t('common.save')}</button>
        </form>
      )}
    </div>
  );
}

/** A group select (names from `/v1/groups`), or an id input when the caller cannot list groups. */
function GroupPicker(props: {
  label: string;
  groups: GroupView[] | null;
  value: string;
  error: string | null;
  onChange: (id: string) => void;
}): JSX.Element {
  const { t } = useConsole();
  const { groups, value } = props;
  return (
    <Field label={props.label} hint={groups ? undefined : t('assign.idHint')} error={props.error}>
      {(p) =>
        groups ? (
          <select {...p} value={value} onChange={(e) => props.onChange(e.currentTarget.value)}>
            <option value="">{t('assignment.overflowChoose')}</option>
            {groups.map((g) => (
              <option key={g.id} value={g.id}>
                {g.name}
              </option>
            ))}
            {/* A group the list no longer has (deleted since) stays visible rather than silently changing. */}
            {value && !groups.some((g) => g.id === value) && <option value={value}>{value}</option>}
          </select>
        ) : (
          <input {...p} value={value} onInput={(e) => props.onChange(e.currentTarget.value)} />
        )
      }
    </Field>
  );
}

/** The most overflow rules the server keeps (API.md). */
const MAX_OVERFLOW_RULES = 20;
/** The longest overflow wait the server takes: a day. */
const MAX_OVERFLOW_SECONDS = 86_400;

/** One overflow rule as typed: group ids and the seconds text. */
interface OverflowDraft {
  from: string;
  to: string;
  seconds: string;
}
/** The fields of an overflow rule, as the server names them in `error.field`. */
type OverflowField = 'from_group_id' | 'to_group_id' | 'after_seconds';
/** What is wrong with each row (by index), field by field. */
type OverflowProblems = Record<number, Partial<Record<OverflowField, MsgKey>>>;
/** The row and field a server refusal names. */
interface OverflowAt {
  row: number;
  field: OverflowField;
}

/**
 * The rules to send, or what is wrong with them: both groups chosen and different, no pair twice, whole seconds
 * from 1 to a day (the server checks the same, and that the groups exist).
 */
function parseOverflow(drafts: OverflowDraft[]): { rules: OverflowRule[] } | { problems: OverflowProblems } {
  const problems: OverflowProblems = {};
  const rules: OverflowRule[] = [];
  drafts.forEach((d, i) => {
    const p: Partial<Record<OverflowField, MsgKey>> = {};
    const from = d.from.trim();
    const to = d.to.trim();
    const seconds = Number(d.seconds.trim());
    if (!from) p.from_group_id = 'assignment.overflowGroupMissing';
    if (!to) p.to_group_id = 'assignment.overflowGroupMissing';
    else if (to === from) p.to_group_id = 'assignment.overflowSameGroup';
    else if (rules.some((r) => r.from_group_id === from && r.to_group_id === to)) p.to_group_id = 'assignment.overflowDuplicate';
    if (d.seconds.trim() === '' || !Number.isInteger(seconds) || seconds < 1 || seconds > MAX_OVERFLOW_SECONDS) {
      p.after_seconds = 'assignment.overflowSecondsInvalid';
    }
    if (Object.keys(p).length > 0) problems[i] = p;
    rules.push({ from_group_id: from, to_group_id: to, after_seconds: seconds });
  });
  return Object.keys(problems).length > 0 ? { problems } : { rules };
}

/**
 * The row and field of a refusal's `error.field`: `overflow[1].to_group_id`, or `overflow[1]` (the same two
 * groups twice, shown on the second group); `null` for any other field (`overflow` itself: too many rules).
 */
function overflowAt(field: string | undefined): OverflowAt | null {
  const m = /^overflow\[(\d+)\](?:\.(from_group_id|to_group_id|after_seconds))?$/.exec(field ?? '');
  return m ? { row: Number(m[1]), field: (m[2] as OverflowField | undefined) ?? 'to_group_id' } : null;
}

/** A field's whole number ≥ 1, `null` when empty, `undefined` when it is neither. */
function wholeOrNull(text: string): number | null | undefined {
  if (text.trim() === '') return null;
  const n = Number(text.trim());
  return Number.isInteger(n) && n >= 1 ? n : undefined;
}
