// Unread replies: what the visitor has not seen, counted from the last message it saw with the chat open.

/** The replies (anything not written by the visitor) after `seenUpTo`; all of them when nothing was seen. */
export function countUnread(messages: readonly { id: string; author: string }[], seenUpTo: string | undefined): number {
  let start = 0;
  if (seenUpTo !== undefined) {
    const i = messages.findIndex((m) => m.id === seenUpTo);
    // A seen message no longer in the list (recalled, or out of the window): by id order, since ids grow.
    start = i >= 0 ? i + 1 : messages.findIndex((m) => m.id > seenUpTo);
    if (start < 0) return 0;
  }
  let n = 0;
  for (let i = start; i < messages.length; i++) if (messages[i]?.author !== 'visitor') n++;
  return n;
}
