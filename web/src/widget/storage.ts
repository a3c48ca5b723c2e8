// Where the widget keeps the visitor's session in the host page's localStorage: one entry per widget key, so
// a reload (or another page of the same site) continues the same conversation. Shared by the loader (which
// only checks whether a session exists) and the chat UI (which reads and writes it).

/** What is kept: the visitor token and the conversation it belongs to. */
export interface StoredSession {
  visitor_token: string;
  conversation_id: string;
  customer_id?: string;
  /** The newest message the visitor has seen with the chat open (unread replies are counted after it). */
  seen_up_to?: string;
}

/** The localStorage key for a widget key. */
export function sessionKey(widgetKey: string): string {
  return `kefu:${widgetKey}:session`;
}

/** The stored session, or undefined (none, unreadable, or storage blocked). */
export function loadSession(widgetKey: string): StoredSession | undefined {
  try {
    const raw = localStorage.getItem(sessionKey(widgetKey));
    if (!raw) return undefined;
    const v = JSON.parse(raw) as Partial<StoredSession>;
    if (typeof v.visitor_token === 'string' && typeof v.conversation_id === 'string') return v as StoredSession;
  } catch {
    // blocked storage or bad JSON: no session
  }
  return undefined;
}

/** Keeps the session (silently does nothing when storage is blocked: the chat then lasts one page). */
export function saveSession(widgetKey: string, s: StoredSession): void {
  try {
    localStorage.setItem(sessionKey(widgetKey), JSON.stringify(s));
  } catch {
    // storage blocked
  }
}

/** Forgets the session (e.g. the token was refused). */
export function clearSession(widgetKey: string): void {
  try {
    localStorage.removeItem(sessionKey(widgetKey));
  } catch {
    // storage blocked
  }
}
