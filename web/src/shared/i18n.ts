// The i18n helper: Kefu speaks zh-CN and English. Each screen brings its own dictionaries (one per language, the
// same keys, checked by the type system); this file picks the language and fills `{placeholders}`.

/** The languages Kefu ships. */
export type Lang = 'zh-CN' | 'en';

/** The languages, in the order they are offered. */
export const LANGS: readonly Lang[] = ['zh-CN', 'en'];

/** A language setting as stored by admins: a fixed language, or `auto` (follow the browser). */
export type LangSetting = Lang | 'auto';

/**
 * The language to show: a fixed setting wins; `auto` (or anything unknown) follows the browser's preferred
 * languages, in order: the first that is Chinese (`zh`, `zh-CN`, `zh-TW`, `zh-Hans`…) gives zh-CN, the first
 * that is English gives en; with neither, English.
 */
export function pickLang(setting: string | null | undefined, browser: readonly string[]): Lang {
  if (setting === 'zh-CN' || setting === 'en') return setting;
  for (const tag of browser) {
    const primary = tag.toLowerCase().split(/[-_]/)[0];
    if (primary === 'zh') return 'zh-CN';
    if (primary === 'en') return 'en';
  }
  return 'en';
}

/** The browser's preferred languages (`navigator.languages`, else `navigator.language`). */
export function browserLangs(): readonly string[] {
  if (typeof navigator === 'undefined') return [];
  if (navigator.languages && navigator.languages.length > 0) return navigator.languages;
  return navigator.language ? [navigator.language] : [];
}

/** Replaces each `{name}` in `text` with `vars[name]` (unknown names are left as they are). */
export function format(text: string, vars?: Record<string, string | number>): string {
  if (!vars) return text;
  return text.replace(/\{(\w+)\}/g, (m, k: string) => (k in vars ? String(vars[k]) : m));
}

/** A translate function for one language. */
export type Translate<K extends string> = (key: K, vars?: Record<string, string | number>) => string;

/** Makes the translate function for `lang` from per-language dictionaries with the same keys. */
export function translator<K extends string>(dicts: Record<Lang, Record<K, string>>, lang: Lang): Translate<K> {
  const dict = dicts[lang];
  return (key, vars) => format(dict[key], vars);
}
