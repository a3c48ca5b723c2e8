/**
 * Agents (`agents.manage`): the list with status, last sign-in and load; adding an agent; editing its role,
 * groups, skills, capacity and shift schedule; disabling and enabling; ending its sessions.
 */
import type { JSX } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { BUILTIN_ROLE_IDS } from '../../lib/permissions';
import { useConsole } from '../../state';
import type { AgentAdminView, GroupView, RoleView, ScheduleView } from '../../types';
import { AdminHead, Check, Dialog, ErrorLine, Field, splitList, Time } from '../../ui';
import { readAll } from '../directory';
import type { ScreenProps } from '../props';
import { useAdminList } from './list';

interface Choices {
  roles: { id: string; name: string }[];
  groups: GroupView[];
  schedules: ScheduleView[] | null;
}

/** `#/admin/agents`. */
export function Agents({ headingRef }: ScreenProps): JSX.Element {
  const { t, client, perms, announce } = useConsole();
  const { items: agents, error, load, act } = useAdminList<AgentAdminView>('/v1/agents');
  const [choices, setChoices] = useState<Choices>({ roles: BUILTIN_ROLE_IDS.map((id) => ({ id, name: id })), groups: [], schedules: null });
  const [editing, setEditing] = useState<AgentAdminView | 'new' | null>(null);

  useEffect(() => {
    void (async () => {
      const roles = perms.has('roles.manage') ? await readAll<RoleView>(client, '/v1/roles').catch(() => null) : null;
      const groups = await readAll<GroupView>(client, '/v1/groups').catch(() => []);
      const schedules = perms.has('settings.manage') ? await readAll<ScheduleView>(client, '/v1/schedules').catch(() => null) : null;
      setChoices((c) => ({ roles: roles ? roles.map((r) => ({ id: r.id, name: r.name })) : c.roles, groups, schedules }));
    })();
  }, []);

  const groupNames = (ids: string[]) => ids.map((id) => choices.groups.find((g) => g.id === id)?.name ?? id).join(', ');
  const roleName = (id: string) => choices.roles.find((r) => r.id === id)?.name ?? id;

  const toggle = (a: AgentAdminView) =>
    act(
      () => client.post(`/v1/agents/${encodeURIComponent(a.id)}/${a.disabled ? 'enable' : 'disable'}`),
      a.disabled ? t('agents.enabled', { name: a.name }) : t('agents.disabled', { name: a.name }),
    );
  const endSessions = (a: AgentAdminView) =>
    act(() => client.del(`/v1/agents/${encodeURIComponent(a.id)}/sessions`), t('agents.sessionsEnded', { name: a.name }));

  return (
    <div class="admin">
      <AdminHead
        title={t('nav.agents')}
        headingRef={headingRef}
        addLabel={t('agents.add')}
        onAdd={() => setEditing('new')} addTestId="agent-add"
        error={error}
      />
      {agents === null ? (
        <p role="status">{t('common.loading')}</p>
      ) : (
        <table class="table" data-testid="agents-table">
          <thead>
            <tr>
              <th scope="col">{t('account.name')}</th>
              <th scope="col">{t('login.email')}</th>
              <th scope="col">{t('account.role')}</th>
              <th scope="col">{t('agents.groups')}</th>
              <th scope="col">{t('inbox.status')}</th>
              <th scope="col">{t('agents.load')}</th>
              <th scope="col">{t('account.lastLogin')}</th>
              <th scope="col">{t('common.actions')}</th>
            </tr>
          </thead>
          <tbody>
            {agents.map((a) => (
              <tr key={a.id} data-agent-email={a.email} class={a.disabled ? 'disabled' : undefined}>
                <th scope="row">{a.name}</th>
                <td>{a.email}</td>
                <td>{roleName(a.role_id)}</td>
                <td>{groupNames(a.group_ids)}</td>
                <td>{a.disabled ? t('agents.isDisabled') : t(`presence.${a.status}` as 'presence.online')}</td>
                <td>
                  {a.active_conversations} / {a.max_concurrent}
                </td>
                <td>
                  <Time at={a.last_login_at} />
                </td>
                <td class="row-actions">
                  <button type="button" onClick={() => setEditing(a)} aria-label={t('agents.editNamed', { name: a.name })}>
                    {t('common.edit')}
                  </button>
                  <button type="button" onClick={() => void toggle(a)} aria-label={t(a.disabled ? 'agents.enableNamed' : 'agents.disableNamed', { name: a.name })}>
                    {a.disabled ? t('agents.enable') : t('agents.disable')}
                  </button>
                  <button type="button" onClick={() => void endSessions(a)} aria-label={t('agents.endSessionsNamed', { name: a.name })}>
                    {t('agents.endSessions')}
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {editing && (
        <AgentForm
          agent={editing === 'new' ? null : editing}
          choices={choices}
          onClose={() => setEditing(null)}
          onSaved={(a) => {
            setEditing(null);
            announce(t('common.savedNamed', { name: a.name }));
            void load();
          }}
        />
      )}
    </div>
  );
}

function AgentForm(props: { agent: AgentAdminView | null; choices: Choices; onClose: () => void; onSaved: (a: AgentAdminView) => void }): JSX.Element {
  const { t, client, me } = useConsole();
  const a = props.agent;
  // One's own password changes only on My account (with the current one); the server refuses it here.
  const own = a !== null && me !== null && a.id === me.id;
  const [email, setEmail] = useState(a?.email ?? '');
  const [name, setName] = useState(a?.name ?? '');
  const [password, setPassword] = useState('');
  const [role, setRole] = useState(a?.role_id ?? 'agent');
  const [groups, setGroups] = useState<string[]>(a?.group_ids ?? []);
  const [skills, setSkills] = useState((a?.skills ?? []).join(', '));
  const [max, setMax] = useState(String(a?.max_concurrent ?? 5));
  const [schedule, setSchedule] = useState(a?.schedule_id ?? '');
  const [error, setError] = useState<unknown>(null);
  const submit = async (e: Event) => {
    e.preventDefault();
    setError(null);
    const common = {
      name: name.trim(),
      email: email.trim(),
      role_id: role,
      group_ids: groups,
      skills: splitList(skills),
      max_concurrent: Number(max),
      schedule_id: schedule || null,
    };
    try {
      const saved = a
        ? await client.patch<AgentAdminView>(`/v1/agents/${encodeURIComponent(a.id)}`, {
            ...(common.email !== a.email ? { email: common.email } : {}),
            ...(password ? { password } : {}),
            name: common.name,
            ...(common.role_id !== a.role_id ? { role_id: common.role_id } : {}),
            group_ids: common.group_ids,
            skills: common.skills,
            max_concurrent: common.max_concurrent,
            ...(props.choices.schedules ? { schedule_id: common.schedule_id } : {}),
          })
        : await client.post<AgentAdminView>('/v1/agents', { ...common, password, schedule_id: common.schedule_id ?? undefined });
      props.onSaved(saved);
    } catch (err) {
      setError(err);
    }
  };
  return (
    <Dialog title={a ? t('agents.editNamed', { name: a.name }) : t('agents.add')} onClose={props.onClose} wide>
      <form onSubmit={(e) => void submit(e)} class="grid-form">
        <Field label={t('account.name')}>{(p) => <input {...p} name="name" required value={name} onInput={(e) => setName(e.currentTarget.value)} />}</Field>
        <Field label={t('login.email')}>{(p) => <input {...p} name="email" type="email" required value={email} onInput={(e) => setEmail(e.currentTarget.value)} />}</Field>
        {own ? (
          <p class="hint">{t('agents.ownPassword')}</p>
        ) : (
          <Field label={a ? t('agents.newPassword') : t('login.password')} hint={a ? t('agents.passwordKeep') : t('account.passwordHint')}>
            {(p) => <input {...p} name="password" type="password" autoComplete="new-password" required={!a} value={password} onInput={(e) => setPassword(e.currentTarget.value)} />}
          </Field>
        )}
        <Field label={t('account.role')}>
          {(p) => (
            <select {...p} name="role" value={role} onChange={(e) => setRole(e.currentTarget.value)}>
              {props.choices.roles.map((r) => (
                <option key={r.id} value={r.id}>
                  {r.name}
                </option>
              ))}
            </select>
          )}
        </Field>
        <fieldset class="span">
          <legend>{t('agents.groups')}</legend>
          {props.choices.groups.length === 0 && <p class="hint">{t('agents.noGroups')}</p>}
          {props.choices.groups.map((g) => (
            <Check key={g.id} label={g.name} checked={groups.includes(g.id)} onChange={(on) => setGroups(on ? [...groups, g.id] : groups.filter((x) => x !== g.id))} />
          ))}
        </fieldset>
        <Field label={t('agents.skills')} hint={t('common.commaHint')}>
          {(p) => <input {...p} name="skills" value={skills} onInput={(e) => setSkills(e.currentTarget.value)} />}
        </Field>
        <Field label={t('agents.maxConcurrent')}>
          {(p) => <input {...p} name="max_concurrent" type="number" min={1} max={100} required value={max} onInput={(e) => setMax(e.currentTarget.value)} />}
        </Field>
        {props.choices.schedules && (
          <Field label={t('agents.schedule')}>
            {(p) => (
              <select {...p} name="schedule" value={schedule} onChange={(e) => setSchedule(e.currentTarget.value)}>
                <option value="">{t('agents.noSchedule')}</option>
                {props.choices.schedules?.map((s) => (
                  <option key={s.id} value={s.id}>
                    {s.name}
                  </option>
                ))}
              </select>
            )}
          </Field>
        )}
        <ErrorLine error={error} />
        <div class="dialog-actions span">
          <button type="button" onClick={props.onClose}>
            {t('common.cancel')}
          </button>
          <button type="submit" data-testid="agent-save">
            {t('common.save')}
          </button>
        </div>
      </form>
    </Dialog>
  );
}
