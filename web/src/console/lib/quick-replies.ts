/**
 * Quick replies as the console uses them: the list's query string, the `/shortcut` the composer completes,
 * and the variables the form offers to insert.
 */

/** The variables a quick reply's content may use (API.md), with an optional fallback `{{name|fallback}}`. */
export const QUICK_REPLY_VARIABLES = ['customer.name', 'customer.email', 'agent.name', 'conversation.id'] as const;

/** `GET /v1/quick_replies` with a search and a category, each only when given. */
export function quickRepliesPath(q: string, category: string): string {
  const params = new URLSearchParams();
  if (q.trim()) params.set('q', q.trim());
  if (category.trim()) params.set('category', category.trim());
  const s = params.toString();
  return s ? `/v1/quick_replies?${s}` : '/v1/quick_replies';
}

/**
 * The shortcut being typed in a composer: the text is exactly `/` and a partial shortcut (a-z, 0-9, `-`, `_`),
 * so `/ref` completes to the replies whose shortcut starts with `ref`. `null` for anything else (a message
 * that merely contains a slash).
 */
export function typedShortcut(text: string): string | null {
  const m = /^\/([a-z0-9_-]*)$/i.exec(text);
  return m ? (m[1] ?? '').toLowerCase() : null;
}

/** The replies whose shortcut starts with `typed`, exact match first, then by shortcut. */
export function shortcutMatches<T extends { shortcut?: string | null }>(replies: readonly T[], typed: string): T[] {
  return replies
    .filter((r) => r.shortcut != null && r.shortcut.startsWith(typed))
    .sort((a, b) => Number(b.shortcut === typed) - Number(a.shortcut === typed) || (a.shortcut ?? '').localeCompare(b.shortcut ?? ''));
}

/** The distinct categories of a list, sorted, for the filter. */
export function categoriesOf<T extends { category?: string | null }>(replies: readonly T[]): string[] {
  return [...new Set(replies.map((r) => r.category).filter((c): c is string => !!c))].sort();
}
