import { describe, expect, it } from 'vitest';
import { ApiError } from '../shared/http';
import { translator } from '../shared/i18n';
import { MESSAGES } from './i18n';
import { errorText, splitList } from './ui';

const t = translator(MESSAGES, 'en');

describe('error text', () => {
  it('says known codes in the console’s words, with the wait', () => {
    expect(errorText(t, new ApiError(401, { code: 'invalid_credentials', message: 'invalid credentials' }))).toBe(
      'The tenant, email or password is wrong.',
    );
    expect(errorText(t, new ApiError(429, { code: 'rate_limited', message: 'slow down' }, 42))).toBe(
      'Too many attempts. Wait 42 seconds and try again.',
    );
    expect(errorText(translator(MESSAGES, 'zh-CN'), new ApiError(423, { code: 'account_locked', message: '' }, 60))).toContain('60');
  });

  it('keeps the server’s reason beside a refusal', () => {
    expect(errorText(t, new ApiError(403, { code: 'forbidden', message: 'this needs the `agents.manage` permission' }))).toBe(
      'You do not have permission for this. (this needs the `agents.manage` permission)',
    );
  });

  it('shows the server’s message for other codes, and a plain error’s message', () => {
    expect(errorText(t, new ApiError(400, { code: 'validation_failed', message: 'name: must not be empty', field: 'name' }))).toBe(
      'name: must not be empty',
    );
    expect(errorText(t, new Error('boom'))).toBe('boom');
    expect(errorText(t, 'what')).toBe('Something went wrong.');
  });
});

describe('splitList', () => {
  it('splits on commas (also full-width) and lines, trims, drops empties and repeats', () => {
    expect(splitList(' vip, refund，vip\n\n  delivery ,')).toEqual(['vip', 'refund', 'delivery']);
    expect(splitList('')).toEqual([]);
  });
});
