import { describe, expect, it } from 'vitest';
import { hexColor, normalizeConfig, readableOn } from './config';

describe('normalizeConfig', () => {
  it('keeps a well-formed answer', () => {
    const c = normalizeConfig({
      title: 'Acme',
      color: '#0a7c3e',
      greeting: 'Hi!',
      language: 'zh-CN',
      pre_chat_form: { enabled: true, fields: [{ name: 'email', label: 'Email', type: 'email', required: true }] },
      groups: [{ id: 'gr_1', name: 'Sales' }],
      online: false,
      offline_mode: 'queue',
      typing_preview: false,
      attachments: { enabled: false },
    });
    expect(c).toMatchObject({ title: 'Acme', color: '#0a7c3e', language: 'zh-CN', online: false, offline_mode: 'queue' });
    expect(c.pre_chat_form).toEqual({ enabled: true, fields: [{ name: 'email', label: 'Email', type: 'email', required: true }] });
    expect(c.groups).toEqual([{ id: 'gr_1', name: 'Sales' }]);
  });
  it('fills gaps and drops what it cannot use', () => {
    const c = normalizeConfig({
      color: 'red; background: url(x)',
      language: 'fr',
      pre_chat_form: { enabled: true, fields: [{ label: 'no name' }, { name: 'n', type: 'date' }] },
      groups: [{ name: 'no id' }],
    });
    expect(c.color).toBe('#1d4ed8');
    expect(c.language).toBe('auto');
    expect(c.pre_chat_form.fields).toEqual([{ name: 'n', label: 'n', type: 'text', required: false }]);
    expect(c.groups).toEqual([]);
    expect(c.online).toBe(true);
    expect(c.offline_mode).toBe('leave_message');
  });
  it('treats a form without fields as no form', () => {
    expect(normalizeConfig({ pre_chat_form: { enabled: true, fields: [] } }).pre_chat_form.enabled).toBe(false);
    expect(normalizeConfig(null).pre_chat_form.enabled).toBe(false);
  });
});

describe('hexColor', () => {
  it('accepts #rrggbb and #rgb, nothing else', () => {
    expect(hexColor('#1A73E8')).toBe('#1a73e8');
    expect(hexColor('#f80')).toBe('#ff8800');
    expect(hexColor('red')).toBeUndefined();
    expect(hexColor('#12345')).toBeUndefined();
    expect(hexColor(7)).toBeUndefined();
  });
});

describe('readableOn', () => {
  it('puts white on dark colours and black on light ones', () => {
    expect(readableOn('#1d4ed8')).toBe('#ffffff');
    expect(readableOn('#000000')).toBe('#ffffff');
    expect(readableOn('#fde047')).toBe('#000000');
    expect(readableOn('#ffffff')).toBe('#000000');
  });
});
