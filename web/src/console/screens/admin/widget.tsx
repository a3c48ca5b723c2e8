/**
 * Widget settings (`settings.manage`, `GET|PUT /v1/settings/widget`): look, language, allowed origins, the
 * pre-chat form, the groups a visitor may choose, what happens offline, and the embed snippet to copy.
 */
import type { JSX } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { embedSnippet } from '../../lib/embed';
import { useConsole } from '../../state';
import type { GroupView, PreChatField, WidgetSettings } from '../../types';
import { Check, copyText, ErrorLine, Field, splitList } from '../../ui';
import { readAll } from '../directory';
import type { ScreenProps } from '../props';

/** The fields of API.md this screen writes back (anything else the answer carries is read-only). */
const WRITABLE = [
  'title',
  'color',
  'greeting',
  'language',
  'allowed_origins',
  'pre_chat_form',
  'visitor_group_ids',
  'offline_mode',
  'leave_message_group_id',
  'typing_preview',
  'attachments',
] as const;

/** `#/admin/widget`. */
export function WidgetSettingsScreen({ headingRef }: ScreenProps): JSX.Element {
  const { t, client, perms, announce } = useConsole();
  const [s, setS] = useState<WidgetSettings | null>(null);
  const [origins, setOrigins] = useState('');
  const [groups, setGroups] = useState<GroupView[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [copied, setCopied] = useState(false);
  const show = (x: WidgetSettings) => {
    setS(x);
    setOrigins((x.allowed_origins ?? []).join('\n'));
  };
  useEffect(() => {
    client.get<WidgetSettings>('/v1/settings/widget').then(show).catch(setError);
    if (perms.has('agents.manage')) readAll<GroupView>(client, '/v1/groups').then(setGroups).catch(() => undefined);
  }, []);
  const save = async (e: Event) => {
    e.preventDefault();
    if (!s) return;
    setError(null);
    const next: Record<string, unknown> = { ...s, allowed_origins: splitList(origins.replace(/\s+/g, '\n')) };
    const body = Object.fromEntries(WRITABLE.filter((k) => k in s).map((k) => [k, next[k]]));
    try {
      show(await client.put<WidgetSettings>('/v1/settings/widget', body));
      announce(t('common.saved'));
    } catch (err) {
      setError(err);
    }
  };
  const fields = s?.pre_chat_form?.fields ?? [];
  const setField = (i: number, f: Partial<PreChatField>) =>
    s && setS({ ...s, pre_chat_form: { ...s.pre_chat_form, fields: fields.map((x, j) => (j === i ? { ...x, ...f } : x)) } });
  const snippet = s?.widget_key ? embedSnippet(location.origin, s.widget_key) : '';
  return (
    <div class="admin">
      <h1 ref={headingRef} tabIndex={-1}>
        {t('nav.widget')}
      </h1>
      <section class="card" aria-labelledby="embed-h">
        <h2 id="embed-h">{t('widget.embed')}</h2>
        {snippet && (
          <>
            <p>{t('widget.embedHint')}</p>
            <pre class="snippet" data-testid="embed-snippet">
              <code>{snippet}</code>
            </pre>
            <button
              type="button"
              onClick={() =>
                void copyText(snippet).then((ok) => {
                  setCopied(ok);
                  announce(ok ? t('common.copied') : t('common.copyFailed'));
                })
              }
            >
              {copied ? t('common.copied') : t('common.copy')}
            </button>
          </>
        )}
      </section>
      {!s ? (
        error ? <ErrorLine error={error} /> : <p role="status">{t('common.loading')}</p>
      ) : (
        <form class="card settings" onSubmit={(e) => void save(e)}>
          <Field label={t('widget.title')}>{(p) => <input {...p} value={s.title} onInput={(e) => setS({ ...s, title: e.currentTarget.value })} />}</Field>
          <Field label={t('widget.color')}>{(p) => <input {...p} type="color" value={s.color} onInput={(e) => setS({ ...s, color: e.currentTarget.value })} />}</Field>
          <Field label={t('widget.greeting')}>
            {(p) => <textarea {...p} rows={2} value={s.greeting} onInput={(e) => setS({ ...s, greeting: e.currentTarget.value })} />}
          </Field>
          <Field label={t('lang.label')}>
            {(p) => (
              <select {...p} value={s.language} onChange={(e) => setS({ ...s, language: e.currentTarget.value as WidgetSettings['language'] })}>
                <option value="auto">{t('widget.langAuto')}</option>
                <option value="zh-CN">简体中文</option>
                <option value="en">English</option>
              </select>
            )}
          </Field>
          <Field label={t('widget.origins')} hint={t('widget.originsHint')}>
            {(p) => <textarea {...p} rows={3} value={origins} onInput={(e) => setOrigins(e.currentTarget.value)} />}
          </Field>
          <fieldset>
            <legend>{t('widget.preChat')}</legend>
            <Check label={t('widget.preChatOn')} checked={s.pre_chat_form?.enabled ?? false} onChange={(v) => setS({ ...s, pre_chat_form: { fields, enabled: v } })} />
            {fields.map((f, i) => (
              <div key={i} class="prechat-row" role="group" aria-label={t('widget.fieldN', { n: i + 1 })}>
                <Field label={t('widget.fieldName')}>{(p) => <input {...p} value={f.name} onInput={(e) => setField(i, { name: e.currentTarget.value })} />}</Field>
                <Field label={t('widget.fieldLabel')}>{(p) => <input {...p} value={f.label} onInput={(e) => setField(i, { label: e.currentTarget.value })} />}</Field>
                <Field label={t('widget.fieldType')}>
                  {(p) => (
                    <select {...p} value={f.type} onChange={(e) => setField(i, { type: e.currentTarget.value as PreChatField['type'] })}>
                      {(['text', 'email', 'phone', 'select'] as const).map((ty) => (
                        <option key={ty} value={ty}>
                          {t(`widget.type.${ty}`)}
                        </option>
                      ))}
                    </select>
                  )}
                </Field>
                {f.type === 'select' && (
                  <Field label={t('widget.fieldOptions')} hint={t('common.commaHint')}>
                    {(p) => <input {...p} value={(f.options ?? []).join(', ')} onInput={(e) => setField(i, { options: splitList(e.currentTarget.value) })} />}
                  </Field>
                )}
                <Check label={t('widget.fieldRequired')} checked={f.required ?? false} onChange={(v) => setField(i, { required: v })} />
                <button
                  type="button"
                  onClick={() => setS({ ...s, pre_chat_form: { ...s.pre_chat_form, fields: fields.filter((_, j) => j !== i) } })}
                >
                  {t('common.delete')}
                </button>
              </div>
            ))}
            <button
              type="button"
              onClick={() => setS({ ...s, pre_chat_form: { ...s.pre_chat_form, fields: [...fields, { name: '', label: '', type: 'text', required: false }] } })}
            >
              {t('widget.addField')}
            </button>
          </fieldset>
          {groups && (
            <fieldset>
              <legend>{t('widget.visitorGroups')}</legend>
              {groups.map((g) => (
                <Check
                  key={g.id}
                  label={g.name}
                  checked={(s.visitor_group_ids ?? []).includes(g.id)}
                  onChange={(on) =>
                    setS({ ...s, visitor_group_ids: on ? [...(s.visitor_group_ids ?? []), g.id] : (s.visitor_group_ids ?? []).filter((x) => x !== g.id) })
                  }
                />
              ))}
            </fieldset>
          )}
          <Field label={t('widget.offline')}>
            {(p) => (
              <select {...p} value={s.offline_mode} onChange={(e) => setS({ ...s, offline_mode: e.currentTarget.value as WidgetSettings['offline_mode'] })}>
                <option value="leave_message">{t('widget.offline.leave_message')}</option>
                <option value="queue">{t('widget.offline.queue')}</option>
              </select>
            )}
          </Field>
          {groups && s.offline_mode === 'leave_message' && (
            <Field label={t('widget.leaveGroup')}>
              {(p) => (
                <select {...p} value={s.leave_message_group_id ?? ''} onChange={(e) => setS({ ...s, leave_message_group_id: e.currentTarget.value || null })}>
                  <option value="">—</option>
                  {groups.map((g) => (
                    <option key={g.id} value={g.id}>
                      {g.name}
                    </option>
                  ))}
                </select>
              )}
            </Field>
          )}
          {'typing_preview' in s && (
            <Check label={t('widget.typingPreview')} checked={s.typing_preview === true} onChange={(v) => setS({ ...s, typing_preview: v })} />
          )}
          <ErrorLine error={error} />
          <button type="submit">{t('common.save')}</button>
        </form>
      )}
    </div>
  );
}
