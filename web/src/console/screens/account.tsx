/**
 * The account's own screen: who it is, its password, its second factor (TOTP enrolment) and its sessions.
 * A restricted session (expired password, MFA required but not set up) is kept here until it acts.
 */
import type { JSX } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { ApiError } from '../../shared/http';
import { accessOf } from '../lib/access';
import type { Restriction } from '../lib/session';
import { useConsole } from '../state';
import type { MeView, Page, SessionView, TotpEnrolment } from '../types';
import { ErrorLine, Field, Time } from '../ui';
import type { ScreenProps } from './props';

/** `#/me`. */
export function Account({ headingRef }: ScreenProps): JSX.Element {
  const { t, me, restriction } = useConsole();
  return (
    <div class="account">
      <h1 ref={headingRef} tabIndex={-1}>
        {t('account.title')}
      </h1>
      {restriction && (
        <p class="banner" role="alert" data-testid="restriction">
          {t(restriction === 'password_expired' ? 'account.mustChangePassword' : 'account.mustEnrolMfa')}
        </p>
      )}
      <section aria-labelledby="profile-h" class="card">
        <h2 id="profile-h">{t('account.profile')}</h2>
        <dl class="pairs">
          <dt>{t('account.name')}</dt>
          <dd>{me?.name}</dd>
          <dt>{t('login.email')}</dt>
          <dd>{me?.email}</dd>
          <dt>{t('account.role')}</dt>
          <dd>{me?.role_id}</dd>
          <dt>{t('account.lastLogin')}</dt>
          <dd>
            <Time at={me?.last_login_at} />
          </dd>
        </dl>
      </section>
      <PasswordForm />
      <MfaSection />
      {restriction === null && <Sessions />}
    </div>
  );
}

/**
 * After a change that may lift a restriction, asks the server whether the session may work now: `GET /v1/me`
 * answers the session's restriction (null once lifted).
 */
async function recheck(client: ReturnType<typeof useConsole>['client']): Promise<Restriction | null> {
  return accessOf(await client.get<MeView>('/v1/me')).restriction;
}

function PasswordForm(): JSX.Element {
  const { t, client, restriction, setRestriction, announce } = useConsole();
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const [again, setAgain] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [done, setDone] = useState(false);
  const mismatch = again !== '' && next !== again;
  const submit = async (e: Event) => {
    e.preventDefault();
    if (mismatch) return;
    setError(null);
    setDone(false);
    try {
      await client.post('/v1/me/password', { current_password: current, new_password: next });
      setCurrent('');
      setNext('');
      setAgain('');
      setDone(true);
      announce(t('account.passwordChanged'));
      if (restriction) setRestriction(await recheck(client));
    } catch (err) {
      setError(err);
    }
  };
  const fieldError = (f: string) => (error instanceof ApiError && error.field === f ? error.message : null);
  return (
    <section aria-labelledby="pw-h" class="card">
      <h2 id="pw-h">{t('account.password')}</h2>
      <form onSubmit={(e) => void submit(e)}>
        <Field label={t('account.currentPassword')} error={fieldError('current_password')}>
          {(a) => <input {...a} type="password" data-testid="current-password" autoComplete="current-password" required value={current} onInput={(e) => setCurrent(e.currentTarget.value)} />}
        </Field>
        <Field label={t('account.newPassword')} hint={t('account.passwordHint')} error={fieldError('new_password')}>
          {(a) => <input {...a} type="password" data-testid="new-password" autoComplete="new-password" required value={next} onInput={(e) => setNext(e.currentTarget.value)} />}
        </Field>
        <Field label={t('account.repeatPassword')} error={mismatch ? t('account.mismatch') : null}>
          {(a) => <input {...a} type="password" data-testid="repeat-password" autoComplete="new-password" required value={again} onInput={(e) => setAgain(e.currentTarget.value)} />}
        </Field>
        {!(error instanceof ApiError && error.field) && <ErrorLine error={error} />}
        {done && <p role="status">{t('account.passwordChanged')}</p>}
        <button type="submit" data-testid="change-password">
          {t('account.changePassword')}
        </button>
      </form>
    </section>
  );
}

function MfaSection(): JSX.Element {
  const { t, client, me, setMe, restriction, setRestriction, announce } = useConsole();
  const [enrolment, setEnrolment] = useState<TotpEnrolment | null>(null);
  const [code, setCode] = useState('');
  const [error, setError] = useState<unknown>(null);
  const start = async () => {
    setError(null);
    try {
      setEnrolment(await client.post<TotpEnrolment>('/v1/me/mfa/totp'));
    } catch (err) {
      setError(err);
    }
  };
  const confirm = async (e: Event) => {
    e.preventDefault();
    setError(null);
    try {
      await client.post('/v1/me/mfa/totp/confirm', { code: code.trim() });
      setEnrolment(null);
      setCode('');
      if (me) setMe({ ...me, mfa_enabled: true });
      announce(t('account.mfaOn'));
      if (restriction) setRestriction(await recheck(client));
    } catch (err) {
      setError(err);
    }
  };
  return (
    <section aria-labelledby="mfa-h" class="card">
      <h2 id="mfa-h">{t('account.mfa')}</h2>
      <p data-testid="mfa-state">{me?.mfa_enabled ? t('account.mfaOn') : t('account.mfaOff')}</p>
      {!enrolment ? (
        <button type="button" data-testid="mfa-enrol" onClick={() => void start()}>
          {me?.mfa_enabled ? t('account.mfaReplace') : t('account.mfaEnrol')}
        </button>
      ) : (
        <form onSubmit={(e) => void confirm(e)}>
          <p>{t('account.mfaScan')}</p>
          <p>
            <code class="secret" data-testid="mfa-secret" aria-label={t('account.mfaSecret')}>
              {enrolment.secret.replace(/(.{4})/g, '$1 ').trim()}
            </code>
          </p>
          <p>
            <a href={enrolment.otpauth_url}>{t('account.mfaOpenApp')}</a>
          </p>
          <Field label={t('login.mfaCode')}>
            {(a) => (
              <input {...a} data-testid="mfa-confirm-code" inputMode="numeric" autoComplete="one-time-code" required value={code} onInput={(e) => setCode(e.currentTarget.value)} />
            )}
          </Field>
          <button type="submit" data-testid="mfa-confirm">
            {t('account.mfaConfirm')}
          </button>
        </form>
      )}
      <ErrorLine error={error} />
    </section>
  );
}

function Sessions(): JSX.Element {
  const { t, client, signOut, announce } = useConsole();
  const [items, setItems] = useState<SessionView[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const load = () =>
    client
      .get<Page<SessionView>>('/v1/me/sessions', { query: { limit: 200 } })
      .then((p) => setItems(p.items))
      .catch((e: unknown) => setError(e));
  useEffect(() => {
    void load();
  }, []);
  const revoke = async (s: SessionView) => {
    setError(null);
    try {
      await client.del(`/v1/me/sessions/${encodeURIComponent(s.id)}`);
      if (s.current) {
        await signOut();
        return;
      }
      announce(t('account.sessionEnded'));
      await load();
    } catch (err) {
      setError(err);
    }
  };
  return (
    <section aria-labelledby="sessions-h" class="card">
      <h2 id="sessions-h">{t('account.sessions')}</h2>
      <ErrorLine error={error} />
      {items === null ? (
        <p role="status">{t('common.loading')}</p>
      ) : (
        <table class="table" data-testid="sessions">
          <thead>
            <tr>
              <th scope="col">{t('account.sessionStarted')}</th>
              <th scope="col">{t('account.sessionEnds')}</th>
              <th scope="col">{t('audit.ip')}</th>
              <th scope="col">{t('account.sessionClient')}</th>
              <th scope="col">{t('account.mfa')}</th>
              <th scope="col">
                <span class="sr-only">{t('common.actions')}</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {items.map((s) => (
              <tr key={s.id}>
                <td>
                  <Time at={s.created_at} /> {s.current && <strong>({t('account.thisSession')})</strong>}
                </td>
                <td>
                  <Time at={s.expires_at} />
                </td>
                <td>{s.ip}</td>
                <td class="ua">{s.user_agent ?? ''}</td>
                <td>{s.mfa ? t('common.yes') : t('common.no')}</td>
                <td>
                  <button type="button" onClick={() => void revoke(s)}>
                    {s.current ? t('nav.signOut') : t('account.revoke')}
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
