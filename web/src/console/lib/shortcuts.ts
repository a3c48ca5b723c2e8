/**
 * The inbox's keyboard shortcuts: which key does what, decided without the DOM so it is tested alone.
 * Single keys only (no modifiers), and never while the agent types in a field.
 */

/** What a shortcut does. */
export type ShortcutAction = 'next' | 'previous' | 'reply' | 'note' | 'close' | 'help' | 'escape';

/** The shortcuts in the order the help lists them, with their keys and the i18n key of their description. */
export const SHORTCUTS: readonly { keys: readonly string[]; action: ShortcutAction; label: string }[] = [
  { keys: ['j'], action: 'next', label: 'shortcuts.next' },
  { keys: ['k'], action: 'previous', label: 'shortcuts.previous' },
  { keys: ['r'], action: 'reply', label: 'shortcuts.reply' },
  { keys: ['n'], action: 'note', label: 'shortcuts.note' },
  { keys: ['c'], action: 'close', label: 'shortcuts.close' },
  { keys: ['?'], action: 'help', label: 'shortcuts.help' },
  { keys: ['Escape'], action: 'escape', label: 'shortcuts.escape' },
];

/** The parts of a keyboard event a shortcut depends on. */
export interface KeyLike {
  key: string;
  ctrlKey?: boolean;
  metaKey?: boolean;
  altKey?: boolean;
  /** Whether the event is part of an IME composition (typing Chinese). */
  isComposing?: boolean;
  /** The focused element's tag name (`INPUT`, `TEXTAREA`…), if any. */
  targetTag?: string;
  /** Whether the focused element is editable (`contenteditable`). */
  targetEditable?: boolean;
}

const TYPING_TAGS = new Set(['INPUT', 'TEXTAREA', 'SELECT']);

/** The action a key press triggers, or `null` when it is not a shortcut here. */
export function shortcutFor(e: KeyLike): ShortcutAction | null {
  if (e.ctrlKey || e.metaKey || e.altKey || e.isComposing) return null;
  const typing = e.targetEditable || (e.targetTag !== undefined && TYPING_TAGS.has(e.targetTag.toUpperCase()));
  if (typing) return e.key === 'Escape' ? 'escape' : null;
  const hit = SHORTCUTS.find((s) => s.keys.includes(e.key) || s.keys.includes(e.key.toLowerCase()));
  // Upper-case letters (Shift held) are not shortcuts, except `?`, which needs Shift on most layouts.
  if (hit && e.key.length === 1 && e.key !== '?' && e.key !== e.key.toLowerCase()) return null;
  return hit ? hit.action : null;
}

/** The id `next`/`previous` moves to in a list of ids, from `current` (wrapping stops at the ends). */
export function step(ids: readonly string[], current: string | null, dir: 1 | -1): string | null {
  if (ids.length === 0) return null;
  const at = current === null ? -1 : ids.indexOf(current);
  if (at < 0) return dir === 1 ? (ids[0] ?? null) : (ids[ids.length - 1] ?? null);
  const to = Math.min(ids.length - 1, Math.max(0, at + dir));
  return ids[to] ?? null;
}
