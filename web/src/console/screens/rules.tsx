/**
 * Automation rules (`rules.manage`): the rules in the order they run; create and edit one (conditions and
 * actions as JSON, checked here first, the server's validation error shown at the field it names), enable or
 * disable, delete; and a dry run (`POST /v1/rules/dry_run`) against a real conversation or made-up facts,
 * showing which rules match and what they would do.
 */
import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { ApiError } from '../../shared/http';
import {
  actionText,
  bodyOf,
  draftOf,
  dryRunBody,
  emptyDraft,
  fieldOf,
  inRunOrder,
  parseDraft,
  RULE_EVENTS,
  type DraftProblems,
  type RuleDraft,
  type RuleField,
  type SampleForm,
} from '../lib/rules';
import { useConsole } from '../state';
import type { DryRunResult, RuleView } from '../types';
import { AdminHead, Check, Dialog, ErrorLine, Field } from '../ui';
import { useAdminList } from './admin/list';
import type { ScreenProps } from './props';

/** `#/rules`. */
export function Rules({ headingRef }: ScreenProps): JSX.Element {
  const { t, client } = useConsole();
  const { items, error, act } = useAdminList<RuleView>('/v1/rules');
  const [editing, setEditing] = useState<{ id: string | null; draft: RuleDraft } | null>(null);
  const rules = items ? inRunOrder(items) : null;
  const toggle = (r: RuleView) =>
    act(
      () => client.put(`/v1/rules/${encodeURIComponent(r.id)}`, { ...bodyOf(r), enabled: !r.enabled }),
      t(r.enabled ? 'rules.disabledNamed' : 'rules.enabledNamed', { name: r.name }),
    );
  const remove = async (r: RuleView) => {
    if (!window.confirm(t('rules.confirmDelete', { name: r.name }))) return;
    await act(() => client.del(`/v1/rules/${encodeURIComponent(r.id)}`), t('common.deletedNamed', { name: r.name }));
  };
  return (
    <div class="admin">
      <AdminHead
        title={t('nav.rules')}
        headingRef={headingRef}
        addLabel={t('rules.add')}
        onAdd={() => setEditing({ id: null, draft: emptyDraft(items ?? []) })}
        addTestId="rule-add"
        error={error}
      />
      {rules === null ? (
        <p role="status">{t('common.loading')}</p>
      ) : rules.length === 0 ? (
        <p class="empty">{t('rules.none')}</p>
      ) : (
        <table class="table" data-testid="rules-table">
          <thead>
            <tr>
              <th scope="col">{t('rules.position')}</th>
              <th scope="col">{t('rules.name')}</th>
              <th scope="col">{t('rules.event')}</th>
              <th scope="col">{t('rules.actions')}</th>
              <th scope="col">{t('rules.state')}</th>
              <th scope="col">{t('common.actions')}</th>
            </tr>
          </thead>
          <tbody>
            {rules.map((r) => (
              <tr key={r.id} class={r.enabled ? undefined : 'disabled'} data-testid="rule-row">
                <td>{r.position}</td>
                <th scope="row">
                  {r.name}
                  {r.stop_processing && <small class="hint"> · {t('rules.stops')}</small>}
                </th>
                <td>
                  <code>{r.event}</code>
                </td>
                <td>
                  <ul class="plain">
                    {r.actions.map((a, i) => (
                      <li key={i}>
                        <code>{actionText(a)}</code>
                      </li>
                    ))}
                  </ul>
                </td>
                <td>{t(r.enabled ? 'rules.on' : 'rules.off')}</td>
                <td class="row-actions">
                  <button type="button" onClick={() => setEditing({ id: r.id, draft: draftOf(r) })} aria-label={t('common.editNamed', { name: r.name })}>
                    {t('common.edit')}
                  </button>
                  <button type="button" onClick={() => void toggle(r)} aria-label={t(r.enabled ? 'rules.disableNamed' : 'rules.enableNamed', { name: r.name })}>
                    {t(r.enabled ? 'rules.disable' : 'rules.enable')}
                  </button>
                  <button type="button" onClick={() => void remove(r)} aria-label={t('common.deleteNamed', { name: r.name })}>
                    {t('common.delete')}
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <DryRun />
      {editing && (
        <RuleEditor
          id={editing.id}
          initial={editing.draft}
          onClose={() => setEditing(null)}
          onSave={(body) =>
            editing.id
              ? client.put(`/v1/rules/${encodeURIComponent(editing.id)}`, body)
              : client.post('/v1/rules', body)
          }
          onSaved={(name) => {
            setEditing(null);
            void act(() => Promise.resolve(), t('common.savedNamed', { name }));
          }}
        />
      )}
    </div>
  );
}

/** The create/edit dialog. */
function RuleEditor(props: {
  id: string | null;
  initial: RuleDraft;
  onClose: () => void;
  onSave: (body: unknown) => Promise<unknown>;
  onSaved: (name: string) => void;
}): JSX.Element {
  const { t } = useConsole();
  const [d, setD] = useState(props.initial);
  const [problems, setProblems] = useState<DraftProblems>({});
  const [server, setServer] = useState<{ field: RuleField | null; message: string } | null>(null);
  const [error, setError] = useState<unknown>(null);
  const errorOf = (f: RuleField): string | null => {
    const p = problems[f];
    if (p) return p.detail ? `${t(p.key)} (${p.detail})` : t(p.key);
    return server && server.field === f ? server.message : null;
  };
  const save = async (e: Event) => {
    e.preventDefault();
    setError(null);
    setServer(null);
    const r = parseDraft(d);
    if ('problems' in r) {
      setProblems(r.problems);
      return;
    }
    setProblems({});
    try {
      await props.onSave(r.body);
      props.onSaved(r.body.name);
    } catch (err) {
      const field = err instanceof ApiError ? fieldOf(err.field) : null;
      if (err instanceof ApiError && field) setServer({ field, message: err.field && err.field !== field ? `${err.field}: ${err.message}` : err.message });
      else setError(err);
    }
  };
  return (
    <Dialog title={t(props.id ? 'rules.edit' : 'rules.add')} onClose={props.onClose} wide>
      <form onSubmit={(e) => void save(e)} data-testid="rule-form" noValidate>
        <ErrorLine error={error} />
        {server && <p class="error" role="alert">{t('rules.fixField')}</p>}
        <Field label={t('rules.name')} error={errorOf('name')}>
          {(p) => <input {...p} required maxLength={100} value={d.name} onInput={(e) => setD({ ...d, name: e.currentTarget.value })} />}
        </Field>
        <Field label={t('rules.event')} error={errorOf('event')}>
          {(p) => (
            <select {...p} value={d.event} onChange={(e) => setD({ ...d, event: e.currentTarget.value })}>
              {RULE_EVENTS.map((ev) => (
                <option key={ev} value={ev}>
                  {ev}
                </option>
              ))}
            </select>
          )}
        </Field>
        <Field label={t('rules.position')} hint={t('rules.positionHint')} error={errorOf('position')}>
          {(p) => <input {...p} type="number" step={1} value={d.position} onInput={(e) => setD({ ...d, position: e.currentTarget.value })} />}
        </Field>
        <Check label={t('rules.enabled')} checked={d.enabled} onChange={(v) => setD({ ...d, enabled: v })} />
        <Check label={t('rules.stopProcessing')} checked={d.stopProcessing} onChange={(v) => setD({ ...d, stopProcessing: v })} />
        <Field label={t('rules.conditions')} hint={t('rules.conditionsHint')} error={errorOf('conditions')}>
          {(p) => (
            <textarea
              {...p}
              class="json-edit"
              spellcheck={false}
              data-testid="rule-conditions"
              value={d.conditions}
              onInput={(e) => setD({ ...d, conditions: e.currentTarget.value })}
            />
          )}
        </Field>
        <Field label={t('rules.actions')} hint={t('rules.actionsHint')} error={errorOf('actions')}>
          {(p) => (
            <textarea
              {...p}
              class="json-edit"
              spellcheck={false}
              data-testid="rule-actions"
              value={d.actions}
              onInput={(e) => setD({ ...d, actions: e.currentTarget.value })}
            />
          )}
        </Field>
        <button type="submit" data-testid="rule-save">
          {t('common.save')}
        </button>{' '}
        <button type="button" onClick={props.onClose}>
          {t('common.cancel')}
        </button>
      </form>
    </Dialog>
  );
}

const NO_SAMPLE: SampleForm = { content: '', groupId: '', tags: '', pageUrl: '', unansweredMinutes: '' };

/** The dry-run panel. */
function DryRun(): JSX.Element {
  const { t, client, announce } = useConsole();
  const [event, setEvent] = useState<string>('message.received');
  const [conversationId, setConversationId] = useState('');
  const [sample, setSample] = useState<SampleForm>(NO_SAMPLE);
  const [result, setResult] = useState<DryRunResult | null>(null);
  const [error, setError] = useState<unknown>(null);
  const run = async (e: Event) => {
    e.preventDefault();
    setError(null);
    try {
      const r = await client.post<DryRunResult>('/v1/rules/dry_run', dryRunBody(event, conversationId, sample));
      setResult(r);
      announce(t('rules.matchedCount', { count: r.matched.length }));
    } catch (err) {
      setError(err);
    }
  };
  const s = (p: Partial<SampleForm>) => setSample({ ...sample, ...p });
  return (
    <form class="card" onSubmit={(e) => void run(e)} aria-labelledby="dry-run-h" data-testid="rule-dry-run">
      <h2 id="dry-run-h">{t('rules.dryRun')}</h2>
      <p class="hint">{t('rules.dryRunAbout')}</p>
      <Field label={t('rules.event')}>
        {(p) => (
          <select {...p} value={event} onChange={(e) => setEvent(e.currentTarget.value)}>
            {RULE_EVENTS.map((ev) => (
              <option key={ev} value={ev}>
                {ev}
              </option>
            ))}
          </select>
        )}
      </Field>
      <Field label={t('rules.conversationId')} hint={t('rules.conversationIdHint')}>
        {(p) => <input {...p} placeholder="cv_…" value={conversationId} onInput={(e) => setConversationId(e.currentTarget.value)} />}
      </Field>
      <fieldset disabled={conversationId.trim() !== ''}>
        <legend>{t('rules.sample')}</legend>
        <Field label={t('rules.sampleContent')}>
          {(p) => <input {...p} value={sample.content} onInput={(e) => s({ content: e.currentTarget.value })} />}
        </Field>
        <Field label={t('rules.sampleGroup')}>{(p) => <input {...p} value={sample.groupId} onInput={(e) => s({ groupId: e.currentTarget.value })} />}</Field>
        <Field label={t('rules.sampleTags')} hint={t('common.commaHint')}>
          {(p) => <input {...p} value={sample.tags} onInput={(e) => s({ tags: e.currentTarget.value })} />}
        </Field>
        <Field label={t('rules.samplePage')}>{(p) => <input {...p} type="url" value={sample.pageUrl} onInput={(e) => s({ pageUrl: e.currentTarget.value })} />}</Field>
        <Field label={t('rules.sampleMinutes')}>
          {(p) => <input {...p} type="number" min={0} value={sample.unansweredMinutes} onInput={(e) => s({ unansweredMinutes: e.currentTarget.value })} />}
        </Field>
      </fieldset>
      <button type="submit" data-testid="rule-dry-run-submit">
        {t('rules.runDry')}
      </button>
      <ErrorLine error={error} />
      {result && (
        <div data-testid="rule-dry-run-result">
          <h3>{t('rules.matchedCount', { count: result.matched.length })}</h3>
          {result.matched.length > 0 && (
            <ol>
              {result.matched.map((m, i) => (
                <li key={`${m.rule_id ?? 'draft'}-${i}`} data-testid="rule-matched">
                  <strong>{m.name}</strong> {m.rule_id && <code>{m.rule_id}</code>}
                  <ul>
                    {m.actions.map((a, j) => (
                      <li key={j}>
                        <code>{actionText(a)}</code>
                      </li>
                    ))}
                  </ul>
                </li>
              ))}
            </ol>
          )}
        </div>
      )}
    </form>
  );
}
