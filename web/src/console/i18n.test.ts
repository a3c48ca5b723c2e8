import { describe, expect, it } from 'vitest';
import { MESSAGES } from './i18n';

const placeholders = (s: string) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();

describe('console dictionaries', () => {
  it('say everything in both languages, with the same placeholders', () => {
    const en = MESSAGES.en;
    const zh = MESSAGES['zh-CN'];
    expect(Object.keys(zh).sort()).toEqual(Object.keys(en).sort());
    for (const [k, v] of Object.entries(en)) {
      const z = zh[k as keyof typeof zh];
      expect(v.trim(), k).not.toBe('');
      expect(z.trim(), k).not.toBe('');
      expect(placeholders(z), k).toEqual(placeholders(v));
    }
  });

  it('has Chinese text in the Chinese dictionary', () => {
    expect(MESSAGES['zh-CN']['login.title']).toMatch(/[\u4e00-\u9fff]/);
  });
});
