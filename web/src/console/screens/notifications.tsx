/**
 * My notifications (`#/me/notifications`, every signed-in account): how notifications reach me (desktop, my
 * phones, email, SMS to an E.164 number), when (working hours only, do-not-disturb until a time) and which kinds;
 * and the phones registered for push, each of which I can forget. The server's refusal is shown at the field it
 * names (an `sms_number` that is not E.164, say).
 */
import type { JSX } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { ApiError } from '../../shared/http';
import { bodyOf, EVENT_KINDS, formOf, prefsFieldOf, toggleEvent, type PrefsForm } from '../lib/notifications';
import { useConsole } from '../state';
import type { DeviceView, Page, PreferencesView } from '../types';
import { Check, ErrorLine, Field, Time } from '../ui';
import type { ScreenProps } from './props';

/** The fields a refusal can be shown at. */
const FIELDS = ['desktop', 'mobile', 'email', 'sms', 'sms_number', 'working_hours_only', 'dnd_until', 'events'];

/** `#/me/notifications`. */
export function Notifications({ headingRef }: ScreenProps): JSX.Element {
  const { t } = useConsole();
  return (
    <div class="account">
      <h1 ref={headingRef} tabIndex={-1}>
        {t('nav.notifications')}
      </h1>
      <Preferences />
      <Devices />
    </div>
  );
}

function Preferences(): JSX.Element {
  const { t, client, announce } = useConsole();
  const [form, setForm] = useState<PrefsForm | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [local, setLocal] = useState<string | null>(null);
  const [saving, setSaving] = useState(false);
  useEffect(() => {
    client
      .get<PreferencesView>('/v1/me/notifications')
      .then((p) => setForm(formOf(p)))
      .catch(setError);
  }, []);
  const serverField = error instanceof ApiError ? prefsFieldOf(error.field) : null;
  const shownAtField = serverField !== null && FIELDS.includes(serverField);
  const fieldError = (f: string): string | null => {
    if (f === local) return t('notifications.badDnd');
    return shownAtField && serverField === f && error instanceof ApiError ? error.message : null;
  };
  const save = async (e: Event) => {
    e.preventDefault();
    if (!form) return;
    setError(null);
    setLocal(null);
    const b = bodyOf(form);
    if (!b.ok) {
      setLocal(b.field);
      return;
    }
    setSaving(true);
    try {
      setForm(formOf(await client.put<PreferencesView>('/v1/me/notifications', b.body)));
      announce(t('common.saved'));
    } catch (err) {
      setError(err);
    } finally {
      setSaving(false);
    }
  };
  if (!form) {
    return (
      <section aria-labelledby="prefs-h" class="card">
        <h2 id="prefs-h">{t('notifications.channels')}</h2>
        {error ? <ErrorLine error={error} /> : <p role="status">{t('common.loading')}</p>}
      </section>
    );
  }
  const set = (patch: Partial<PrefsForm>) => setForm({ ...form, ...patch });
  const eventsError = fieldError('events');
  return (
    <form class="card settings" data-testid="notifications-form" aria-labelledby="prefs-h" onSubmit={(e) => void save(e)}>
      <h2 id="prefs-h">{t('notifications.channels')}</h2>
      <fieldset>
        <legend>{t('notifications.how')}</legend>
        <Check label={t('notifications.desktop')} name="desktop" checked={form.desktop} onChange={(v) => set({ desktop: v })} />
        <Check label={t('notifications.mobile')} name="mobile" checked={form.mobile} onChange={(v) => set({ mobile: v })} />
        <Check label={t('notifications.email')} name="email" checked={form.email} onChange={(v) => set({ email: v })} />
        <Check label={t('notifications.sms')} name="sms" checked={form.sms} onChange={(v) => set({ sms: v })} />
        <Field label={t('notifications.smsNumber')} hint={t('notifications.smsNumberHint')} error={fieldError('sms_number')}>
          {(p) => (
            <input
              {...p}
              type="tel"
              data-testid="sms-number"
              autoComplete="tel"
              placeholder="+8613800138000"
              value={form.smsNumber}
              onInput={(e) => set({ smsNumber: e.currentTarget.value })}
            />
          )}
        </Field>
      </fieldset>
      <fieldset>
        <legend>{t('notifications.when')}</legend>
        <Check label={t('notifications.workingHoursOnly')} name="working_hours_only" checked={form.workingHoursOnly} onChange={(v) => set({ workingHoursOnly: v })} />
        <Check label={t('notifications.dnd')} name="dnd" checked={form.dnd} onChange={(v) => set({ dnd: v })} />
        <Field label={t('notifications.dndUntil')} hint={t('notifications.dndHint')} error={fieldError('dnd_until')}>
          {(p) => (
            <input
              {...p}
              type="datetime-local"
              data-testid="dnd-until"
              disabled={!form.dnd}
              value={form.dndUntil}
              onInput={(e) => set({ dndUntil: e.currentTarget.value })}
            />
          )}
        </Field>
      </fieldset>
      <fieldset data-testid="notification-events" aria-describedby={eventsError ? 'events-err' : undefined}>
        <legend>{t('notifications.events')}</legend>
        {EVENT_KINDS.map((k) => (
          <Check key={k} label={t(`notifications.event.${k}`)} name={`event-${k}`} checked={form.events.includes(k)} onChange={(v) => set({ events: toggleEvent(form.events, k, v) })} />
        ))}
        {eventsError && (
          <small id="events-err" class="error">
            {eventsError}
          </small>
        )}
      </fieldset>
      {shownAtField && <p role="alert">{t('notifications.fixField')}</p>}
      {!shownAtField && <ErrorLine error={error} />}
      <button type="submit" data-testid="notifications-save" disabled={saving}>
        {t('common.save')}
      </button>
    </form>
  );
}

function Devices(): JSX.Element {
  const { t, client, announce } = useConsole();
  const [items, setItems] = useState<DeviceView[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const load = () =>
    client
      .get<Page<DeviceView>>('/v1/me/devices')
      .then((p) => setItems(p.items))
      .catch((e: unknown) => {
        setItems((have) => have ?? []);
        setError(e);
      });
  useEffect(() => {
    void load();
  }, []);
  const forget = async (d: DeviceView) => {
    if (!window.confirm(t('notifications.confirmForget'))) return;
    setError(null);
    try {
      await client.del(`/v1/me/devices/${encodeURIComponent(d.id)}`);
      announce(t('notifications.forgotten'));
      await load();
    } catch (err) {
      setError(err);
    }
  };
  return (
    <section aria-labelledby="devices-h" class="card">
      <h2 id="devices-h">{t('notifications.devices')}</h2>
      <p class="hint">{t('notifications.devicesAbout')}</p>
      <ErrorLine error={error} />
      {items === null ? (
        <p role="status">{t('common.loading')}</p>
      ) : items.length === 0 ? (
        <p class="empty" data-testid="devices-none">
          {t('notifications.noDevices')}
        </p>
      ) : (
        <table class="table" data-testid="devices">
          <thead>
            <tr>
              <th scope="col">{t('notifications.platform')}</th>
              <th scope="col">{t('notifications.registered')}</th>
              <th scope="col">
                <span class="sr-only">{t('common.actions')}</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {items.map((d) => (
              <tr key={d.id}>
                <td>{t(`notifications.platform.${d.platform}`)}</td>
                <td>
                  <Time at={d.created_at} />
                </td>
                <td>
                  <button type="button" aria-label={t('notifications.forgetNamed', { platform: t(`notifications.platform.${d.platform}`), id: d.id })} onClick={() => void forget(d)}>
                    {t('notifications.forget')}
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
