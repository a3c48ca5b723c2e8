// Messages arrive twice over: live on the WebSocket and again in a catch-up read after a reconnect (or as the
// answer to a send). The conversation view keeps one copy of each, in order.

/** What merging needs of a message: its id and when it was created. */
export interface Ordered {
  id: string;
  created_at: string;
}

/** Oldest first: by `created_at`, then by id (ids are time-ordered, so this is stable for equal times). */
export function compareMessages(a: Ordered, b: Ordered): number {
  const ta = Date.parse(a.created_at);
  const tb = Date.parse(b.created_at);
  if (ta !== tb && !Number.isNaN(ta) && !Number.isNaN(tb)) return ta - tb;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/**
 * `current` and `incoming` as one list, oldest first, one entry per id. An incoming copy replaces the current
 * one (it is the newer read: e.g. a recalled message, or the server's copy of a message sent here).
 * `current` is not changed; when nothing changes, `current` itself is returned (cheap re-render checks).
 */
export function mergeMessages<M extends Ordered>(current: readonly M[], incoming: readonly M[]): readonly M[] {
  if (incoming.length === 0) return current;
  const byId = new Map<string, M>();
  for (const m of current) byId.set(m.id, m);
  let changed = false;
  for (const m of incoming) {
    const old = byId.get(m.id);
    if (old === undefined || JSON.stringify(old) !== JSON.stringify(m)) {
      byId.set(m.id, m);
      changed = true;
    }
  }
  if (!changed) return current;
  return [...byId.values()].sort(compareMessages);
}

/** The id of the newest message, the `after=` of the next catch-up read (undefined for an empty list). */
export function lastId(messages: readonly Ordered[]): string | undefined {
  return messages.length > 0 ? messages[messages.length - 1]?.id : undefined;
}

/**
 * The ids of the messages whose `message.created` frame arrived already. A message's frame may come twice: the
 * server pushes it right after storing the message and its event path delivers it again (at least once), so a
 * repeat is dropped before it can beep, announce or count as unread a second time. Only the newest `limit` ids
 * are kept: a repeat comes within seconds.
 */
export class SeenMessages {
  private readonly ids = new Set<string>();

  constructor(private readonly limit = 1000) {}

  /**
   * Whether `frame` repeats a `message.created` frame seen before (same message id). A first sighting is
   * remembered and answers false; frames of other types, or without a message id, are never repeats.
   */
  isRepeat(frame: { type: string; message?: unknown }): boolean {
    if (frame.type !== 'message.created') return false;
    const id = (frame.message as { id?: unknown } | undefined)?.id;
    if (typeof id !== 'string') return false;
    if (this.ids.has(id)) return true;
    this.ids.add(id);
    if (this.ids.size > this.limit) {
      const oldest = this.ids.values().next().value;
      if (oldest !== undefined) this.ids.delete(oldest);
    }
    return false;
  }
}
