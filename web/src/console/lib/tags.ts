/**
 * The tag registry as the console shows and edits it: the scopes in the order the form offers them, what a
 * scope allows, and the colour check the server makes (`#rrggbb`), so the form can say so before sending.
 */

/** Where a tag may be written (API.md: `scope`). */
export type TagScope = 'customer' | 'conversation' | 'both';

/** The scopes, in the order the form offers them. */
export const TAG_SCOPES: readonly TagScope[] = ['both', 'conversation', 'customer'];

/** The colour a tag gets when none is picked (the server's default). */
export const DEFAULT_TAG_COLOR = '#8c8c8c';

/** Whether `c` is a colour the server accepts: `#` and six hexadecimal digits. */
export function isTagColor(c: string): boolean {
  return /^#[0-9a-fA-F]{6}$/.test(c.trim());
}

/** Whether a tag of `scope` may be put on `target`. */
export function scopeAllows(scope: string, target: 'customer' | 'conversation'): boolean {
  return scope === 'both' || scope === target;
}

/** The names of the registered tags that may be put on `target`, for pickers. */
export function tagNamesFor<T extends { name: string; scope: string }>(tags: readonly T[], target: 'customer' | 'conversation'): string[] {
  return tags.filter((t) => scopeAllows(t.scope, target)).map((t) => t.name);
}
