/** Agent groups (`agents.manage`): name, members and working hours; create, edit, delete. */
import type { JSX } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { useConsole } from '../../state';
import type { AgentAdminView, GroupView, ScheduleView } from '../../types';
import { AdminHead, Check, Dialog, ErrorLine, Field } from '../../ui';
import { readAll } from '../directory';
import type { ScreenProps } from '../props';
import { useAdminList } from './list';

/** `#/admin/groups`. */
export function Groups({ headingRef }: ScreenProps): JSX.Element {
  const { t, client, perms, announce } = useConsole();
  const { items: groups, error, load, act } = useAdminList<GroupView>('/v1/groups');
  const [agents, setAgents] = useState<AgentAdminView[]>([]);
  const [schedules, setSchedules] = useState<ScheduleView[] | null>(null);
  const [editing, setEditing] = useState<GroupView | 'new' | null>(null);
  useEffect(() => {
    readAll<AgentAdminView>(client, '/v1/agents').then(setAgents).catch(() => undefined);
    if (perms.has('settings.manage')) readAll<ScheduleView>(client, '/v1/schedules').then(setSchedules).catch(() => undefined);
  }, []);
  const agentNames = (ids: string[]) => ids.map((id) => agents.find((a) => a.id === id)?.name ?? id).join(', ');
  const remove = async (g: GroupView) => {
    if (!window.confirm(t('groups.confirmDelete', { name: g.name }))) return;
    await act(() => client.del(`/v1/groups/${encodeURIComponent(g.id)}`), t('common.deletedNamed', { name: g.name }));
  };
  return (
    <div class="admin">
      <AdminHead
        title={t('nav.groups')}
        headingRef={headingRef}
        addLabel={t('groups.add')}
        onAdd={() => setEditing('new')} addTestId="group-add"
        error={error}
      />
      {groups === null ? (
        <p role="status">{t('common.loading')}</p>
      ) : groups.length === 0 ? (
        <p class="empty">{t('groups.none')}</p>
      ) : (
        <table class="table" data-testid="groups-table">
          <thead>
            <tr>
              <th scope="col">{t('account.name')}</th>
              <th scope="col">{t('groups.members')}</th>
              <th scope="col">{t('agents.schedule')}</th>
              <th scope="col">{t('common.actions')}</th>
            </tr>
          </thead>
          <tbody>
            {groups.map((g) => (
              <tr key={g.id}>
                <th scope="row">{g.name}</th>
                <td>{agentNames(g.agent_ids)}</td>
                <td>{g.schedule_id ? (schedules?.find((s) => s.id === g.schedule_id)?.name ?? g.schedule_id) : '—'}</td>
                <td class="row-actions">
                  <button type="button" onClick={() => setEditing(g)} aria-label={t('common.editNamed', { name: g.name })}>
                    {t('common.edit')}
                  </button>
                  <button type="button" onClick={() => void remove(g)} aria-label={t('common.deleteNamed', { name: g.name })}>
                    {t('common.delete')}
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {editing && (
        <GroupForm
          group={editing === 'new' ? null : editing}
          agents={agents}
          schedules={schedules}
          onClose={() => setEditing(null)}
          onSaved={(g) => {
            setEditing(null);
            announce(t('common.savedNamed', { name: g.name }));
            void load();
          }}
        />
      )}
    </div>
  );
}

function GroupForm(props: { group: GroupView | null; agents: AgentAdminView[]; schedules: ScheduleView[] | null; onClose: () => void; onSaved: (g: GroupView) => void }): JSX.Element {
  const { t, client } = useConsole();
  const g = props.group;
  const [name, setName] = useState(g?.name ?? '');
  const [members, setMembers] = useState<string[]>(g?.agent_ids ?? []);
  const [schedule, setSchedule] = useState(g?.schedule_id ?? '');
  const [error, setError] = useState<unknown>(null);
  const submit = async (e: Event) => {
    e.preventDefault();
    setError(null);
    const body = {
      name: name.trim(),
      agent_ids: members,
      // Without the schedules list (no `settings.manage`) the group's schedule is kept as it is.
      schedule_id: props.schedules ? schedule || null : (g?.schedule_id ?? null),
    };
    try {
      const saved = g ? await client.put<GroupView>(`/v1/groups/${encodeURIComponent(g.id)}`, body) : await client.post<GroupView>('/v1/groups', body);
      props.onSaved(saved);
    } catch (err) {
      setError(err);
    }
  };
  return (
    <Dialog title={g ? t('common.editNamed', { name: g.name }) : t('groups.add')} onClose={props.onClose}>
      <form onSubmit={(e) => void submit(e)}>
        <Field label={t('account.name')}>{(p) => <input {...p} name="group-name" required value={name} onInput={(e) => setName(e.currentTarget.value)} />}</Field>
        <fieldset>
          <legend>{t('groups.members')}</legend>
          {props.agents.map((a) => (
            <Check key={a.id} label={`${a.name} (${a.email})`} checked={members.includes(a.id)} onChange={(on) => setMembers(on ? [...members, a.id] : members.filter((x) => x !== a.id))} />
          ))}
        </fieldset>
        {props.schedules && (
          <Field label={t('agents.schedule')}>
            {(p) => (
              <select {...p} value={schedule} onChange={(e) => setSchedule(e.currentTarget.value)}>
                <option value="">{t('groups.alwaysOpen')}</option>
                {props.schedules?.map((s) => (
                  <option key={s.id} value={s.id}>
                    {s.name}
                  </option>
                ))}
              </select>
            )}
          </Field>
        )}
        <ErrorLine error={error} />
        <div class="dialog-actions">
          <button type="button" onClick={props.onClose}>
            {t('common.cancel')}
          </button>
          <button type="submit" data-testid="group-save">
            {t('common.save')}
          </button>
        </div>
      </form>
    </Dialog>
  );
}
