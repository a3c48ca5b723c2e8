import { describe, expect, it } from 'vitest';
import type { ExportView } from '../types';
import { exportBody, finished, isPending, minutesLeft, toPoll, track } from './exports';
import { matchRoute } from './routes';

const view = (id: string, status: string): ExportView => ({ id, status, kind: 'conversations', format: 'csv', rows: 0, created_at: '' });

describe('exports', () => {
  it('builds the body, with times only when given, and checks the range', () => {
    expect(exportBody({ kind: 'audit', format: 'jsonl', since: '', until: '' })).toEqual({ body: { kind: 'audit', format: 'jsonl' } });
    const r = exportBody({ kind: 'customers', format: 'csv', since: '2026-03-01T00:00', until: '2026-03-02T00:00' });
    expect(r).toEqual({
      body: { kind: 'customers', format: 'csv', since: new Date('2026-03-01T00:00').toISOString(), until: new Date('2026-03-02T00:00').toISOString() },
    });
    expect(exportBody({ kind: 'audit', format: 'csv', since: '2026-03-02T00:00', until: '2026-03-01T00:00' })).toEqual({
      problem: { field: 'until', key: 'exports.badRange' },
    });
    expect(exportBody({ kind: 'audit', format: 'csv', since: 'soon', until: '' })).toEqual({ problem: { field: 'since', key: 'exports.badTime' } });
  });

  it('tells a waiting approval from a queued export', () => {
    expect(isPending({ approval_id: 'ap_1', status: 'pending', id: 'ex_1' })).toBe(true);
    expect(isPending(view('ex_1', 'queued'))).toBe(false);
  });

  it('polls until done or failed, never an export waiting for approval', () => {
    expect(finished('done') && finished('failed')).toBe(true);
    expect(finished('running') || finished('queued')).toBe(false);
    let list = track([], { id: 'a', view: view('a', 'running') });
    list = track(list, { id: 'b', view: null, approvalId: 'ap_1' });
    list = track(list, { id: 'c', view: view('c', 'done') });
    expect(list.map((e) => e.id)).toEqual(['c', 'b', 'a']);
    expect(toPoll(list).map((e) => e.id)).toEqual(['a']);
    list = track(list, { id: 'a', view: view('a', 'done') });
    expect(list.map((e) => e.id)).toEqual(['a', 'c', 'b']);
    expect(toPoll(list)).toEqual([]);
  });

  it('counts the link’s minutes down', () => {
    const now = new Date('2026-03-01T10:00:00Z');
    expect(minutesLeft('2026-03-01T10:15:00Z', now)).toBe(15);
    expect(minutesLeft('2026-03-01T10:00:30Z', now)).toBe(1);
    expect(minutesLeft('2026-03-01T09:00:00Z', now)).toBe(0);
    expect(minutesLeft(null, now)).toBeNull();
  });

  it('is the exports.create screen at #/exports', () => {
    expect(matchRoute('#/exports')?.route.requires).toBe('exports.create');
  });
});
