import { describe, expect, it } from 'vitest';
import type { PreChatField } from './config';
import { checkField, preChatBody, validatePreChat, visitorBody } from './prechat';

const fields: PreChatField[] = [
  { name: 'name', label: 'Name', type: 'text', required: true },
  { name: 'email', label: 'Email', type: 'email', required: true },
  { name: 'phone', label: 'Phone', type: 'phone', required: false },
  { name: 'topic', label: 'Topic', type: 'select', required: false, options: ['Sales', 'Support'] },
];

describe('validatePreChat', () => {
  it('asks for required fields, blank or whitespace alike', () => {
    expect(validatePreChat(fields, { name: '  ', phone: '' })).toEqual({ name: 'required', email: 'required' });
  });
  it('accepts a complete, well-formed form', () => {
    expect(validatePreChat(fields, { name: 'Li Lei', email: 'li@shop.example', phone: '+86 138-0013-8000', topic: 'Sales' })).toEqual({});
  });
  it('checks the shapes of email, phone and select values', () => {
    expect(validatePreChat(fields, { name: 'Li', email: 'li@', phone: 'call me', topic: 'Refunds' })).toEqual({
      email: 'invalid_email',
      phone: 'invalid_phone',
      topic: 'invalid_option',
    });
  });
  it('needs 5 to 20 digits in a phone number', () => {
    const phone = fields[2]!;
    expect(checkField(phone, '1234')).toBe('invalid_phone');
    expect(checkField(phone, '12345')).toBeUndefined();
    expect(checkField(phone, '1'.repeat(21))).toBe('invalid_phone');
  });
  it('leaves optional empty fields alone', () => {
    expect(checkField(fields[3]!, '')).toBeUndefined();
  });
});

describe('preChatBody and visitorBody', () => {
  it('keeps only the form fields, trimmed and non-empty', () => {
    expect(preChatBody(fields, { name: ' Li ', email: 'li@shop.example', phone: '', other: 'x' })).toEqual({
      name: 'Li',
      email: 'li@shop.example',
    });
  });
  it('prefers what the page said with setUser, filling gaps from the form', () => {
    expect(visitorBody({ external_id: 'u-1', email: 'page@shop.example' }, { name: 'Li', email: 'typed@shop.example' })).toEqual({
      external_id: 'u-1',
      name: 'Li',
      email: 'page@shop.example',
    });
    expect(visitorBody(undefined, {})).toEqual({});
  });
});
