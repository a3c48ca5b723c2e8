import { describe, expect, it } from 'vitest';
import { format, pickLang, translator } from './i18n';

describe('pickLang', () => {
  it('keeps a fixed setting whatever the browser says', () => {
    expect(pickLang('en', ['zh-CN'])).toBe('en');
    expect(pickLang('zh-CN', ['en-US'])).toBe('zh-CN');
  });
  it('follows the browser on auto: any Chinese tag gives zh-CN', () => {
    for (const tag of ['zh', 'zh-CN', 'zh-TW', 'zh-Hans-CN', 'ZH_cn']) expect(pickLang('auto', [tag])).toBe('zh-CN');
  });
  it('takes the first language it knows, in the browser order', () => {
    expect(pickLang('auto', ['fr-FR', 'zh-CN', 'en'])).toBe('zh-CN');
    expect(pickLang('auto', ['de', 'en-GB', 'zh'])).toBe('en');
  });
  it('falls back to English for unknown languages, no languages, or an unknown setting', () => {
    expect(pickLang('auto', ['fr', 'ja'])).toBe('en');
    expect(pickLang('auto', [])).toBe('en');
    expect(pickLang('klingon', ['zh-CN'])).toBe('zh-CN');
    expect(pickLang(undefined, [])).toBe('en');
  });
});

describe('format and translator', () => {
  it('fills placeholders and leaves unknown ones', () => {
    expect(format('{n} unread of {m}', { n: 3 })).toBe('3 unread of {m}');
    expect(format('plain')).toBe('plain');
  });
  it('translates per language', () => {
    const t = translator({ en: { hi: 'Hello {name}' }, 'zh-CN': { hi: '你好，{name}' } }, 'zh-CN');
    expect(t('hi', { name: '李雷' })).toBe('你好，李雷');
  });
});
