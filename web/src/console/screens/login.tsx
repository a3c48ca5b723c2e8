/**
 * Sign-in: tenant, email and password, then a second factor when the account has one (a TOTP code, or a
 * code emailed on request).
 */
import type { JSX } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { LangSelect } from '../ui';
import { lastTenant, rememberTenant } from '../lib/session';
import { useConsole } from '../state';
import type { LoginOk, MfaRequired } from '../types';
import { ErrorLine, Field } from '../ui';

/** The sign-in screen; `note` says why the last session ended, if it did. */
export function Login({ note }: { note: string | null }): JSX.Element {
  const { t, client, signedIn } = useConsole();
  const [tenant, setTenant] = useState(() => lastTenant(localStorage));
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [challenge, setChallenge] = useState<string | null>(null);
  const [code, setCode] = useState('');
  const [emailed, setEmailed] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const codeRef = useRef<HTMLInputElement>(null);
  useEffect(() => {
    if (challenge !== null) codeRef.current?.focus();
  }, [challenge]);

  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      if (challenge === null) {
        const answer = await client.post<LoginOk | MfaRequired>('/v1/auth/login', {
          tenant_id: tenant.trim(),
          email: email.trim(),
          password,
        });
        rememberTenant(localStorage, tenant.trim());
        if ('mfa_required' in answer && answer.mfa_required) {
          setChallenge(answer.challenge);
          setPassword('');
        } else {
          signedIn(answer as LoginOk);
        }
      } else {
        signedIn(await client.post<LoginOk>('/v1/auth/mfa', { challenge, code: code.trim() }));
      }
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  const emailCode = async () => {
    if (!challenge) return;
    setError(null);
    try {
      await client.post('/v1/auth/mfa/email', { challenge });
      setEmailed(true);
    } catch (err) {
      setError(err);
    }
  };

  return (
    <main id="main" class="login" tabIndex={-1}>
      <div class="login-card">
        <h1>{t('login.title')}</h1>
        <LangSelect />
        {note && <p role="status" class="note">{note}</p>}
        <form onSubmit={(e) => void submit(e)} aria-describedby={error ? 'login-error' : undefined}>
          {challenge === null ? (
            <>
              <Field label={t('login.tenant')} hint={t('login.tenantHint')}>
                {(a) => (
                  <input {...a} name="tenant" data-testid="login-tenant" required autoComplete="organization" value={tenant} onInput={(e) => setTenant(e.currentTarget.value)} />
                )}
              </Field>
              <Field label={t('login.email')}>
                {(a) => (
                  <input {...a} type="email" name="email" data-testid="login-email" required autoComplete="username" value={email} onInput={(e) => setEmail(e.currentTarget.value)} />
                )}
              </Field>
              <Field label={t('login.password')}>
                {(a) => (
                  <input {...a} type="password" name="password" data-testid="login-password" required autoComplete="current-password" value={password} onInput={(e) => setPassword(e.currentTarget.value)} />
                )}
              </Field>
            </>
          ) : (
            <>
              <p>{emailed ? t('login.mfaEmailed') : t('login.mfaPrompt')}</p>
              <Field label={t('login.mfaCode')}>
                {(a) => (
                  <input
                    {...a}
                    name="code"
                    data-testid="login-mfa-code"
                    required
                    inputMode="numeric"
                    autoComplete="one-time-code"
                    pattern="[0-9 ]{6,8}"
                    value={code}
                    onInput={(e) => setCode(e.currentTarget.value)}
                    ref={codeRef}
                  />
                )}
              </Field>
              <p>
                <button type="button" class="link" onClick={() => void emailCode()}>
                  {emailed ? t('login.mfaEmailAgain') : t('login.mfaEmail')}
                </button>{' '}
                <button
                  type="button"
                  class="link"
                  onClick={() => {
                    setChallenge(null);
                    setCode('');
                    setEmailed(false);
                  }}
                >
                  {t('login.back')}
                </button>
              </p>
            </>
          )}
          <ErrorLine error={error} id="login-error" />
          <button type="submit" data-testid="login-submit" disabled={busy}>
            {challenge === null ? t('login.submit') : t('login.verify')}
          </button>
        </form>
      </div>
    </main>
  );
}
