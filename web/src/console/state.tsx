/**
 * The console's shared state: language, the API client with the session's token, the signed-in account and
 * its permissions, the live connection, and the screen-reader announcer. Screens read it with `useConsole`.
 */
import { createContext } from 'preact';
import { useContext } from 'preact/hooks';
import type { Client } from '../shared/http';
import type { Lang, Translate } from '../shared/i18n';
import type { Frame, LiveState } from '../shared/ws';
import type { MsgKey } from './i18n';
import type { PermissionSet } from './lib/permissions';
import type { Restriction } from './lib/session';
import type { AgentView, LoginOk } from './types';

/** What every screen can reach. */
export interface ConsoleState {
  lang: Lang;
  setLang: (l: Lang) => void;
  t: Translate<MsgKey>;
  client: Client;
  /** The signed-in account (null while signed out or loading). */
  me: AgentView | null;
  setMe: (me: AgentView) => void;
  perms: PermissionSet;
  restriction: Restriction | null;
  /** Records that the session is (or no longer is) restricted. */
  setRestriction: (r: Restriction | null) => void;
  /** Starts the session a sign-in answered. */
  signedIn: (ok: LoginOk) => void;
  /** Ends the session on the server and here. */
  signOut: () => Promise<void>;
  /** Says `text` to screen readers (polite). */
  announce: (text: string) => void;
  /** Registers a listener for live frames; answers the function that removes it. */
  onFrame: (listener: (f: Frame) => void) => () => void;
  /** Registers a listener called after the live connection reconnects (catch up there). */
  onReconnect: (listener: () => void) => () => void;
  liveState: LiveState;
  /** Sound and desktop alerts: whether they are on, and the click handler that turns them on. */
  alertsOn: boolean;
  enableAlerts: () => Promise<void>;
}

/** The context carrying the state. */
export const ConsoleContext = createContext<ConsoleState | null>(null);

/** The console's state, inside the app. */
export function useConsole(): ConsoleState {
  const s = useContext(ConsoleContext);
  if (!s) throw new Error('useConsole outside the console');
  return s;
}
