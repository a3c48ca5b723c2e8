/**
 * Auto-replies (`settings.manage`): the welcome sent to every new conversation and the message sent when one
 * arrives outside working hours, and whether either is sent. A blank message turns that one off. The server's
 * refusal (a message over 4000 characters) is shown at the field it names.
 */
import type { JSX } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { ApiError } from '../../../shared/http';
import { AUTO_REPLY_MAX, autoReplyBody, autoReplyFormOf, type AutoReplyForm } from '../../lib/webhooks';
import { useConsole } from '../../state';
import type { AutoReplySettings } from '../../types';
import { Check, ErrorLine, Field } from '../../ui';
import type { ScreenProps } from '../props';

/** `#/admin/auto-reply`. */
export function AutoReply({ headingRef }: ScreenProps): JSX.Element {
  const { t, client, announce } = useConsole();
  const [form, setForm] = useState<AutoReplyForm | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [saving, setSaving] = useState(false);
  useEffect(() => {
    client
      .get<AutoReplySettings>('/v1/settings/auto_reply')
      .then((s) => setForm(autoReplyFormOf(s)))
      .catch(setError);
  }, []);
  const fieldError = (f: string) => (error instanceof ApiError && error.field === f ? error.message : null);
  const save = async (e: Event) => {
    e.preventDefault();
    if (!form) return;
    setError(null);
    setSaving(true);
    try {
      setForm(autoReplyFormOf(await client.put<AutoReplySettings>('/v1/settings/auto_reply', autoReplyBody(form))));
      announce(t('common.saved'));
    } catch (err) {
      setError(err);
    } finally {
      setSaving(false);
    }
  };
  return (
    <div class="admin">
      <h1 ref={headingRef} tabIndex={-1}>
        {t('nav.autoReply')}
      </h1>
      <p>{t('autoReply.about')}</p>
      {!form ? (
        error ? <ErrorLine error={error} /> : <p role="status">{t('common.loading')}</p>
      ) : (
        <form class="card settings" data-testid="auto-reply-form" onSubmit={(e) => void save(e)}>
          <Check label={t('autoReply.enabled')} name="auto-reply-enabled" checked={form.enabled} onChange={(v) => setForm({ ...form, enabled: v })} />
          <Field label={t('autoReply.welcome')} hint={t('autoReply.welcomeHint')} error={fieldError('welcome')}>
            {(p) => (
              <textarea
                {...p}
                data-testid="auto-reply-welcome"
                rows={3}
                maxLength={AUTO_REPLY_MAX}
                value={form.welcome}
                onInput={(e) => setForm({ ...form, welcome: e.currentTarget.value })}
              />
            )}
          </Field>
          <Field label={t('autoReply.offHours')} hint={t('autoReply.offHoursHint')} error={fieldError('off_hours')}>
            {(p) => (
              <textarea
                {...p}
                data-testid="auto-reply-off-hours"
                rows={3}
                maxLength={AUTO_REPLY_MAX}
                value={form.offHours}
                onInput={(e) => setForm({ ...form, offHours: e.currentTarget.value })}
              />
            )}
          </Field>
          {!(error instanceof ApiError && (error.field === 'welcome' || error.field === 'off_hours')) && <ErrorLine error={error} />}
          <button type="submit" data-testid="auto-reply-save" disabled={saving}>
            {t('common.save')}
          </button>
        </form>
      )}
    </div>
  );
}
