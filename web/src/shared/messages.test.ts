import { describe, expect, it } from 'vitest';
import { lastId, mergeMessages, SeenMessages } from './messages';

const m = (id: string, at: string, content = id) => ({ id, created_at: at, content });

describe('mergeMessages', () => {
  it('drops duplicates by id (a live frame and a catch-up read of the same message)', () => {
    const current = [m('ms_1', '2026-01-01T00:00:01Z'), m('ms_2', '2026-01-01T00:00:02Z')];
    const merged = mergeMessages(current, [m('ms_2', '2026-01-01T00:00:02Z'), m('ms_3', '2026-01-01T00:00:03Z')]);
    expect(merged.map((x) => x.id)).toEqual(['ms_1', 'ms_2', 'ms_3']);
  });
  it('orders by time, then by id, whatever order they arrive in', () => {
    const merged = mergeMessages(
      [m('ms_5', '2026-01-01T00:00:05Z')],
      [m('ms_4b', '2026-01-01T00:00:04Z'), m('ms_1', '2026-01-01T00:00:01Z'), m('ms_4a', '2026-01-01T00:00:04Z')],
    );
    expect(merged.map((x) => x.id)).toEqual(['ms_1', 'ms_4a', 'ms_4b', 'ms_5']);
  });
  it('lets a newer copy replace the old one (e.g. a recalled message)', () => {
    const merged = mergeMessages([m('ms_1', '2026-01-01T00:00:01Z', 'hello')], [m('ms_1', '2026-01-01T00:00:01Z', '')]);
    expect(merged).toEqual([m('ms_1', '2026-01-01T00:00:01Z', '')]);
  });
  it('returns the same list when nothing is new, so the view need not re-render', () => {
    const current = [m('ms_1', '2026-01-01T00:00:01Z')];
    expect(mergeMessages(current, [])).toBe(current);
    expect(mergeMessages(current, [m('ms_1', '2026-01-01T00:00:01Z')])).toBe(current);
  });
  it('does not change the list it is given', () => {
    const current = [m('ms_2', '2026-01-01T00:00:02Z')];
    mergeMessages(current, [m('ms_1', '2026-01-01T00:00:01Z')]);
    expect(current.map((x) => x.id)).toEqual(['ms_2']);
  });
});

describe('lastId', () => {
  it('names the newest message, or nothing for an empty list', () => {
    expect(lastId([m('ms_1', '2026-01-01T00:00:01Z'), m('ms_2', '2026-01-01T00:00:02Z')])).toBe('ms_2');
    expect(lastId([])).toBeUndefined();
  });
});

describe('SeenMessages', () => {
  const created = (id: string) => ({ type: 'message.created', conversation_id: 'cv_1', message: { id, content: 'hi' } });
  it('drops the second frame of a message (the direct push, then the event path)', () => {
    const seen = new SeenMessages();
    expect(seen.isRepeat(created('ms_1'))).toBe(false);
    expect(seen.isRepeat(created('ms_2'))).toBe(false);
    expect(seen.isRepeat(created('ms_1'))).toBe(true);
    expect(seen.isRepeat(created('ms_2'))).toBe(true);
  });
  it('never drops other frames, nor a message frame without an id', () => {
    const seen = new SeenMessages();
    const typing = { type: 'typing', conversation_id: 'cv_1', data: { who: 'visitor' } };
    expect(seen.isRepeat(typing)).toBe(false);
    expect(seen.isRepeat(typing)).toBe(false);
    expect(seen.isRepeat({ type: 'message.created' })).toBe(false);
    expect(seen.isRepeat({ type: 'message.created' })).toBe(false);
    expect(seen.isRepeat({ type: 'message.recalled', message: { id: 'ms_1' } })).toBe(false);
  });
  it('keeps only the newest ids', () => {
    const seen = new SeenMessages(2);
    seen.isRepeat(created('ms_1'));
    seen.isRepeat(created('ms_2'));
    seen.isRepeat(created('ms_3'));
    expect(seen.isRepeat(created('ms_3'))).toBe(true);
    expect(seen.isRepeat(created('ms_1'))).toBe(false);
  });
});
