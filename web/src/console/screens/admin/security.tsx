/**
 * Security settings (`settings.manage`): password policy, lockout, MFA, IP allowlist, session lifetime. An
 * allowlist that would shut out the admin's own IP is refused by the server (409 on `ip_allowlist`); the
 * console then asks, and saves it only when confirmed (`allow_self_lockout`).
 */
import type { JSX } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { ApiError } from '../../../shared/http';
import { useConsole } from '../../state';
import type { SecuritySettings } from '../../types';
import { Check, Dialog, ErrorLine, Field, splitList } from '../../ui';
import type { ScreenProps } from '../props';

/** `#/admin/security`. */
export function Security({ headingRef }: ScreenProps): JSX.Element {
  const { t, client, announce } = useConsole();
  const [s, setS] = useState<SecuritySettings | null>(null);
  const [allowlist, setAllowlist] = useState('');
  const [maxAge, setMaxAge] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [confirm, setConfirm] = useState<string | null>(null);
  const show = (x: SecuritySettings) => {
    setS(x);
    setAllowlist(x.ip_allowlist.join('\n'));
    setMaxAge(x.password_max_age_days == null ? '' : String(x.password_max_age_days));
  };
  useEffect(() => {
    client.get<SecuritySettings>('/v1/settings/security').then(show).catch(setError);
  }, []);
  const save = async (allowSelfLockout: boolean) => {
    if (!s) return;
    setError(null);
    const body = {
      password_min_length: s.password_min_length,
      password_max_age_days: maxAge.trim() === '' ? null : Number(maxAge),
      lockout_threshold: s.lockout_threshold,
      lockout_minutes: s.lockout_minutes,
      mfa_required: s.mfa_required,
      ip_allowlist: splitList(allowlist.replace(/\s+/g, '\n')),
      session_ttl_minutes: s.session_ttl_minutes,
      ...(allowSelfLockout ? { allow_self_lockout: true } : {}),
    };
    try {
      show(await client.put<SecuritySettings>('/v1/settings/security', body));
      setConfirm(null);
      announce(t('common.saved'));
    } catch (e) {
      if (e instanceof ApiError && e.status === 409 && e.field === 'ip_allowlist' && !allowSelfLockout) setConfirm(e.message);
      else {
        setConfirm(null);
        setError(e);
      }
    }
  };
  const num = (k: keyof SecuritySettings) => (e: Event) => s && setS({ ...s, [k]: Number((e.currentTarget as HTMLInputElement).value) });
  return (
    <div class="admin">
      <h1 ref={headingRef} tabIndex={-1}>
        {t('nav.security')}
      </h1>
      {!s ? (
        error ? <ErrorLine error={error} /> : <p role="status">{t('common.loading')}</p>
      ) : (
        <form
          class="card settings"
          data-testid="security-form"
          onSubmit={(e) => {
            e.preventDefault();
            void save(false);
          }}
        >
          <fieldset>
            <legend>{t('security.passwords')}</legend>
            <Field label={t('security.minLength')} hint="8–128">
              {(p) => <input {...p} type="number" min={8} max={128} required value={s.password_min_length} onInput={num('password_min_length')} />}
            </Field>
            <Field label={t('security.maxAge')} hint={t('security.maxAgeHint')}>
              {(p) => <input {...p} type="number" min={1} max={3650} value={maxAge} onInput={(e) => setMaxAge(e.currentTarget.value)} />}
            </Field>
          </fieldset>
          <fieldset>
            <legend>{t('security.lockout')}</legend>
            <Field label={t('security.threshold')} hint="3–100">
              {(p) => <input {...p} type="number" min={3} max={100} required value={s.lockout_threshold} onInput={num('lockout_threshold')} />}
            </Field>
            <Field label={t('security.lockMinutes')} hint="1–1440">
              {(p) => <input {...p} type="number" min={1} max={1440} required value={s.lockout_minutes} onInput={num('lockout_minutes')} />}
            </Field>
          </fieldset>
          <fieldset>
            <legend>{t('security.access')}</legend>
            <Check label={t('security.mfaRequired')} checked={s.mfa_required} onChange={(v) => setS({ ...s, mfa_required: v })} />
            <Field label={t('security.sessionTtl')} hint="5–43200">
              {(p) => <input {...p} type="number" min={5} max={43200} required value={s.session_ttl_minutes} onInput={num('session_ttl_minutes')} />}
            </Field>
            <Field label={t('security.allowlist')} hint={t('security.allowlistHint')}>
              {(p) => <textarea {...p} data-testid="ip-allowlist" rows={4} value={allowlist} onInput={(e) => setAllowlist(e.currentTarget.value)} />}
            </Field>
          </fieldset>
          <ErrorLine error={error} />
          <button type="submit" data-testid="security-save">
            {t('common.save')}
          </button>
        </form>
      )}
      {confirm !== null && (
        <Dialog title={t('security.lockoutTitle')} onClose={() => setConfirm(null)}>
          <p role="alert">{t('security.lockoutText')}</p>
          <p class="hint">{confirm}</p>
          <div class="dialog-actions">
            <button type="button" data-testid="lockout-cancel" onClick={() => setConfirm(null)}>
              {t('common.cancel')}
            </button>
            <button type="button" class="danger" data-testid="lockout-confirm" onClick={() => void save(true)}>
              {t('security.lockoutConfirm')}
            </button>
          </div>
        </Dialog>
      )}
    </div>
  );
}
