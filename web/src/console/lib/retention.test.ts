import { describe, expect, it } from 'vitest';
import { retentionBody, retentionForm, runBody } from './retention';
import { matchRoute } from './routes';

describe('retention', () => {
  it('round-trips the settings', () => {
    expect(retentionForm({ messages_days: null, archive_before_delete: true })).toEqual({ keepForever: true, days: '365', archive: true });
    expect(retentionForm({ messages_days: 30, archive_before_delete: false })).toEqual({ keepForever: false, days: '30', archive: false });
    expect(retentionBody({ keepForever: false, days: ' 90 ', archive: true })).toEqual({ body: { messages_days: 90, archive_before_delete: true } });
    expect(retentionBody({ keepForever: true, days: 'x', archive: false })).toEqual({ body: { messages_days: null, archive_before_delete: false } });
  });

  it('wants at least one whole day', () => {
    for (const days of ['0', '', '1.5', '-3', 'ten']) expect(retentionBody({ keepForever: false, days, archive: true })).toEqual({ problem: 'retention.badDays' });
  });

  it('previews dry (as of a later time if given), runs for real without as_of', () => {
    expect(runBody(true)).toEqual({ dry_run: true });
    expect(runBody(true, '2027-01-01T00:00')).toEqual({ dry_run: true, as_of: new Date('2027-01-01T00:00').toISOString() });
    expect(runBody(false, '2027-01-01T00:00')).toEqual({ dry_run: false });
    expect(runBody(true, 'later')).toEqual({ dry_run: true });
  });

  it('is the settings.manage screen at #/retention', () => {
    expect(matchRoute('#/retention')?.route.requires).toBe('settings.manage');
  });
});
