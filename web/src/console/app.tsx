/**
 * The console's shell: session, language, live connection, the header with the account's status and menu,
 * the navigation its permissions allow, and the guarded screen of the current hash route.
 */
import type { JSX } from 'preact';
import { useCallback, useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { ApiError, createClient, type Client } from '../shared/http';
import { browserLangs, pickLang, translator, type Lang } from '../shared/i18n';
import { SeenMessages } from '../shared/messages';
import { connectLive, type Frame, type LiveState, type Ticket } from '../shared/ws';
import { MESSAGES } from './i18n';
import { beep, desktopNotify, enableAlerts as unlockAlerts, notificationPermission } from './lib/notify';
import { accessOf } from './lib/access';
import type { PermissionSet } from './lib/permissions';
import { guard, HOME, matchRoute, navFor } from './lib/routes';
import { loadSession, restrictionOf, restrictionOfLogin, saveSession, type Restriction, type StoredSession } from './lib/session';
import { Login } from './screens/login';
import { SCREENS } from './screens';
import { ConsoleContext, useConsole, type ConsoleState } from './state';
import type { AgentView, LoginOk, MeView, MessageView } from './types';
import { errorText, LangSelect } from './ui';

const LANG_KEY = 'kefu.console.lang';

function storedLang(): string | null {
  try {
    return localStorage.getItem(LANG_KEY);
  } catch {
    return null;
  }
}

/** The current location hash, kept in state. */
function useHash(): string {
  const [hash, setHash] = useState(location.hash);
  useEffect(() => {
    const on = () => setHash(location.hash);
    window.addEventListener('hashchange', on);
    return () => window.removeEventListener('hashchange', on);
  }, []);
  return hash;
}

/** The whole console. */
export function App(): JSX.Element {
  const [lang, setLangState] = useState<Lang>(() => pickLang(storedLang(), browserLangs()));
  const t = useMemo(() => translator(MESSAGES, lang), [lang]);
  const setLang = useCallback((l: Lang) => {
    setLangState(l);
    try {
      localStorage.setItem(LANG_KEY, l);
    } catch {
      // not remembered
    }
  }, []);
  useEffect(() => {
    document.documentElement.lang = lang;
  }, [lang]);

  const [session, setSession] = useState<StoredSession | null>(() => loadSession(sessionStorage));
  const sessionRef = useRef(session);
  sessionRef.current = session;
  const [me, setMe] = useState<AgentView | null>(null);
  // Null until the account's permissions are known: no screen is guarded on a guess.
  const [perms, setPerms] = useState<PermissionSet | null>(null);
  const [loadError, setLoadError] = useState<unknown>(null);
  const [endedNote, setEndedNote] = useState<string | null>(null);
  const [announcement, setAnnouncement] = useState('');
  const announce = useCallback((text: string) => {
    // Clearing first makes a repeated text be read again.
    setAnnouncement('');
    setTimeout(() => setAnnouncement(text), 50);
  }, []);

  const updateSession = useCallback((s: StoredSession | null) => {
    sessionRef.current = s;
    saveSession(sessionStorage, s);
    setSession(s);
  }, []);

  const setRestriction = useCallback(
    (r: Restriction | null) => {
      const s = sessionRef.current;
      if (s && s.restriction !== r) updateSession({ ...s, restriction: r });
    },
    [updateSession],
  );

  const client: Client = useMemo(() => {
    const base = createClient({
      base: location.origin,
      headers: (): Record<string, string> => {
        const s = sessionRef.current;
        return s ? { Authorization: `Bearer ${s.token}` } : {};
      },
    });
    const watch = async <T,>(run: () => Promise<T>): Promise<T> => {
      try {
        return await run();
      } catch (e) {
        if (e instanceof ApiError && sessionRef.current) {
          if (e.status === 401 && e.code === 'unauthenticated') {
            updateSession(null);
            setMe(null);
            setPerms(null);
            setEndedNote(t('login.sessionEnded'));
          } else if (e.status === 403) {
            const r = restrictionOf(e.code);
            if (r) setRestriction(r);
          }
        }
        throw e;
      }
    };
    return {
      request: (m, p, o) => watch(() => base.request(m, p, o)),
      get: (p, o) => watch(() => base.get(p, o)),
      post: (p, b, o) => watch(() => base.post(p, b, o)),
      put: (p, b, o) => watch(() => base.put(p, b, o)),
      patch: (p, b, o) => watch(() => base.patch(p, b, o)),
      del: (p, o) => watch(() => base.del(p, o)),
    };
    // The client reads the session through its ref; it never needs rebuilding.
  }, []);

  // Takes a `GET /v1/me` answer: the account, its role's permissions and the session's restriction.
  const applyMe = useCallback(
    (m: MeView) => {
      const access = accessOf(m);
      setMe(m);
      setPerms(access.perms);
      setRestriction(access.restriction);
    },
    [setRestriction],
  );

  // Load the account (and its permissions) whenever the session's token changes.
  const token = session?.token ?? null;
  const restriction = session?.restriction ?? null;
  useEffect(() => {
    if (!token) return;
    let live = true;
    setLoadError(null);
    client
      .get<MeView>('/v1/me')
      .then((m) => {
        if (live) applyMe(m);
      })
      .catch((e: unknown) => {
        if (live) setLoadError(e);
      });
    return () => {
      live = false;
    };
  }, [token, client, restriction, applyMe]);

  const signedIn = useCallback(
    (ok: LoginOk) => {
      setEndedNote(null);
      const r = restrictionOfLogin(ok);
      updateSession({ token: ok.token, session_id: ok.session_id, expires_at: ok.expires_at, restriction: r });
      setPerms(null);
      setMe(ok.agent);
      if (r) location.hash = '#/me';
      else if (!matchRoute(location.hash)) location.hash = `#${HOME}`;
    },
    [updateSession],
  );

  const signOut = useCallback(async () => {
    try {
      await client.post('/v1/auth/logout');
    } catch {
      // The session may be gone already; it is forgotten here either way.
    }
    updateSession(null);
    setMe(null);
    setPerms(null);
    location.hash = `#${HOME}`;
  }, [client, updateSession]);

  // Live frames: one connection per unrestricted session, fanned out to the screens that listen.
  const frameListeners = useRef(new Set<(f: Frame) => void>());
  const seenMessages = useRef(new SeenMessages());
  const reconnectListeners = useRef(new Set<() => void>());
  const [liveState, setLiveState] = useState<LiveState>('stopped');
  const [alertsOn, setAlertsOn] = useState(() => notificationPermission() === 'granted');
  const alertsRef = useRef(alertsOn);
  alertsRef.current = alertsOn;
  const meRef = useRef(me);
  meRef.current = me;
  const tRef = useRef(t);
  tRef.current = t;

  const alertFor = useCallback((f: Frame) => {
    const tt = tRef.current;
    const open = () => {
      if (f.conversation_id) location.hash = `#/conversations/${encodeURIComponent(f.conversation_id)}`;
    };
    const tag = `kefu-${f.type}-${f.conversation_id ?? ''}`;
    if (f.type === 'message.created') {
      const m = f.message as MessageView | undefined;
      if (!m || m.author !== 'visitor') return;
      if (alertsRef.current) beep();
      desktopNotify(tt('alert.newMessage'), m.content.slice(0, 140), tag, open);
    } else if (f.type === 'conversation.assigned') {
      const data = f.data as { agent_id?: string } | undefined;
      if (data?.agent_id !== meRef.current?.id) return;
      if (alertsRef.current) beep();
      desktopNotify(tt('alert.newConversation'), tt('alert.assignedToYou'), tag, open);
    } else if (f.type === 'notification') {
      const data = f.data as { text?: string; event?: string } | undefined;
      if (alertsRef.current) beep();
      desktopNotify(tt('alert.notification'), data?.text ?? data?.event ?? '', tag, open);
    }
  }, []);

  const signedInId = me?.id ?? null;
  useEffect(() => {
    if (!token || restriction || !signedInId) return;
    const live = connectLive({
      ticket: () => client.post<Ticket>('/v1/realtime/ticket'),
      onFrame: (f) => {
        // A message's frame may come twice (pushed at once, then by the event path): the first one counts.
        if (seenMessages.current.isRepeat(f)) return;
        alertFor(f);
        // A notification may be about the account itself (set away after idling): read it again.
        if (f.type === 'notification') client.get<MeView>('/v1/me').then(applyMe, () => undefined);
        for (const l of frameListeners.current) l(f);
      },
      onOpen: (reconnected) => {
        if (reconnected) for (const l of reconnectListeners.current) l();
      },
      onState: setLiveState,
    });
    const online = () => live.retryNow();
    window.addEventListener('online', online);
    return () => {
      window.removeEventListener('online', online);
      live.stop();
    };
  }, [token, restriction, signedInId, client, alertFor, applyMe]);

  const enableAlerts = useCallback(async () => {
    const p = await unlockAlerts();
    setAlertsOn(true);
    announce(p === 'granted' ? t('alert.enabled') : t('alert.soundOnly'));
  }, [announce, t]);

  const state: ConsoleState = {
    lang,
    setLang,
    t,
    client,
    me,
    setMe,
    perms: perms ?? new Set(),
    restriction,
    setRestriction,
    signedIn,
    signOut,
    announce,
    onFrame: (l) => {
      frameListeners.current.add(l);
      return () => frameListeners.current.delete(l);
    },
    onReconnect: (l) => {
      reconnectListeners.current.add(l);
      return () => reconnectListeners.current.delete(l);
    },
    liveState,
    alertsOn,
    enableAlerts,
  };

  const hash = useHash();
  return (
    <ConsoleContext.Provider value={state}>
      {!session ? (
        <Login note={endedNote} />
      ) : !me || perms === null ? (
        <main id="main" class="loading">
          {loadError ? (
            <>
              <p role="alert">{errorText(t, loadError)}</p>
              <button type="button" onClick={() => void signOut()}>
                {t('nav.signOut')}
              </button>
            </>
          ) : (
            <p role="status">{t('common.loading')}</p>
          )}
        </main>
      ) : (
        <Shell hash={hash} />
      )}
      <div class="sr-only" aria-live="polite" role="status">
        {announcement}
      </div>
    </ConsoleContext.Provider>
  );
}

/** The signed-in layout around the current screen. */
function Shell({ hash }: { hash: string }): JSX.Element {
  const s = useConsole();
  const { t, perms, restriction, me } = s;
  const restricted = restriction !== null;
  const match = matchRoute(hash);
  const verdict = guard(match, perms, restricted);
  const nav = navFor(perms, restricted);

  // A restricted session is sent to its account screen; an empty or unknown hash goes home.
  useEffect(() => {
    if (!verdict.ok && verdict.reason === 'restricted') location.hash = '#/me';
    else if (!verdict.ok && verdict.reason === 'not_found' && (hash === '' || hash === '#' || hash === '#/')) {
      location.hash = `#${HOME}`;
    }
  }, [verdict.ok, verdict.ok ? '' : verdict.reason, hash]);

  const title = verdict.ok && match ? t(match.route.title as Parameters<typeof t>[0]) : verdict.ok ? '' : t(`guard.${verdict.reason}`);
  useEffect(() => {
    document.title = title ? `${title} · Kefu` : 'Kefu';
  }, [title]);

  // Move focus to the screen's heading when the screen changes, so screen readers announce it.
  const screenKey = match ? `${match.route.id}` : 'none';
  const headingRef = useRef<HTMLHeadingElement>(null);
  const first = useRef(true);
  useEffect(() => {
    if (first.current) {
      first.current = false;
      return;
    }
    headingRef.current?.focus();
  }, [screenKey]);

  const Screen = verdict.ok && match ? SCREENS[match.route.id] : undefined;
  return (
    <div class="shell">
      <a class="skip" href="#main" onClick={(e) => { e.preventDefault(); document.getElementById('main')?.focus(); }}>
        {t('nav.skip')}
      </a>
      <header class="top">
        <span class="brand">{t('app.name')}</span>
        <Presence />
        <button type="button" class="alerts" aria-pressed={s.alertsOn} onClick={() => void s.enableAlerts()} disabled={s.alertsOn}>
          {s.alertsOn ? t('alert.on') : t('alert.enable')}
        </button>
        <span class={`live live-${s.liveState}`} title={t(`live.${s.liveState}`)}>
          <span class="sr-only">{t('live.label')}: </span>
          {t(`live.${s.liveState}`)}
        </span>
        <LangSelect />
        <span class="who">{me?.name}</span>
        <button type="button" onClick={() => void s.signOut()} data-testid="sign-out">
          {t('nav.signOut')}
        </button>
      </header>
      <nav class="side" aria-label={t('nav.label')}>
        {nav.map((section) => (
          <div key={section.section} class="nav-section">
            <h2 class="nav-title">{t(`nav.section.${section.section}`)}</h2>
            <ul>
              {section.entries.map((e) => (
                <li key={e.id}>
                  <a href={e.href} aria-current={match?.route.id === e.id ? 'page' : undefined} data-nav={e.id}>
                    {t(e.label as Parameters<typeof t>[0])}
                  </a>
                </li>
              ))}
            </ul>
          </div>
        ))}
      </nav>
      <main id="main" tabIndex={-1} class={`screen screen-${match?.route.id ?? 'none'}`}>
        {Screen && match ? (
          <Screen params={match.params} query={match.query} headingRef={headingRef} />
        ) : (
          <section class="refused">
            <h1 ref={headingRef} tabIndex={-1} data-testid="route-refused">
              {title}
            </h1>
            <p>{verdict.ok ? '' : t(`guard.${verdict.reason}.text`)}</p>
            <p>
              <a href={`#${HOME}`}>{t('guard.home')}</a>
            </p>
          </section>
        )}
      </main>
    </div>
  );
}

/** The account's presence: online, away or offline (`PUT /v1/me/status`). */
function Presence(): JSX.Element {
  const { t, me, setMe, client, restriction, announce } = useConsole();
  const [error, setError] = useState<unknown>(null);
  if (!me) return <span />;
  return (
    <span class="presence">
      <label for="presence">{t('presence.label')}</label>
      <select
        id="presence"
        data-testid="presence"
        value={me.status}
        disabled={restriction !== null}
        onChange={(e) => {
          const status = e.currentTarget.value;
          setError(null);
          client
            .put('/v1/me/status', { status })
            .then(() => {
              setMe({ ...me, status });
              announce(t('presence.changed', { status: t(`presence.${status}` as Parameters<typeof t>[0]) }));
            })
            .catch((err: unknown) => setError(err));
        }}
      >
        {(['online', 'away', 'offline'] as const).map((v) => (
          <option key={v} value={v}>
            {t(`presence.${v}`)}
          </option>
        ))}
      </select>
      {error != null && (
        <span class="error" role="alert">
          {errorText(t, error)}
        </span>
      )}
    </span>
  );
}

