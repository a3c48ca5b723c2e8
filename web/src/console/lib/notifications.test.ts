import { describe, expect, it } from 'vitest';
import { bodyOf, EVENT_KINDS, formOf, isoToLocal, localToIso, prefsFieldOf, toggleEvent, type PrefsView } from './notifications';
import { guard, matchRoute, navFor } from './routes';

const view: PrefsView = {
  desktop: true,
  mobile: false,
  email: true,
  sms: false,
  sms_number: null,
  working_hours_only: false,
  dnd_until: null,
  events: ['message.new', 'conversation.new'],
};

describe('notification preferences', () => {
  it('turns an answer into the form, the kinds in their order', () => {
    const f = formOf(view);
    expect(f).toMatchObject({ smsNumber: '', dnd: false, dndUntil: '', events: ['conversation.new', 'message.new'] });
    const later = formOf({ ...view, sms_number: '+8613800138000', dnd_until: '2027-01-02T03:04:00Z' });
    expect(later.smsNumber).toBe('+8613800138000');
    expect(later.dnd).toBe(true);
    expect(localToIso(later.dndUntil)).toBe('2027-01-02T03:04:00.000Z');
  });

  it('converts datetime-local values in the browser zone, and refuses unreadable ones', () => {
    expect(localToIso('2027-01-01T09:30')).toBe(new Date(2027, 0, 1, 9, 30).toISOString());
    expect(isoToLocal(new Date(2027, 0, 1, 9, 30).toISOString())).toBe('2027-01-01T09:30');
    for (const bad of ['', 'tomorrow', '2027-01-01', '2027-01-01 09:30']) expect(localToIso(bad)).toBeNull();
    expect(isoToLocal('nope')).toBe('');
    expect(isoToLocal(null)).toBe('');
  });

  it('builds the PUT body: blank number is null, dnd off is null, dnd on needs a time', () => {
    const f = formOf(view);
    expect(bodyOf(f)).toEqual({
      ok: true,
      body: {
        desktop: true,
        mobile: false,
        email: true,
        sms: false,
        sms_number: null,
        working_hours_only: false,
        dnd_until: null,
        events: ['conversation.new', 'message.new'],
      },
    });
    const on = bodyOf({ ...f, sms: true, smsNumber: ' 12345 ', dnd: true, dndUntil: '2027-01-01T09:30' });
    expect(on.ok && on.body).toMatchObject({ sms: true, sms_number: '12345', dnd_until: new Date(2027, 0, 1, 9, 30).toISOString() });
    expect(bodyOf({ ...f, dnd: true, dndUntil: '' })).toEqual({ ok: false, field: 'dnd_until' });
    // A time left in the input while dnd is off is not sent.
    const off = bodyOf({ ...f, dnd: false, dndUntil: '2027-01-01T09:30' });
    expect(off.ok && off.body.dnd_until).toBeNull();
  });

  it('ticks kinds on and off in order', () => {
    expect(toggleEvent(['message.new'], 'conversation.new', true)).toEqual(['conversation.new', 'message.new']);
    expect(toggleEvent(EVENT_KINDS, 'ticket.assigned', false)).toHaveLength(5);
    expect(toggleEvent([], 'not.a.kind', true)).toEqual([]);
  });

  it('names the field of a refusal', () => {
    expect(prefsFieldOf('events[2]')).toBe('events');
    expect(prefsFieldOf('sms_number')).toBe('sms_number');
    expect(prefsFieldOf(null)).toBeNull();
  });

  it('is a screen of the account section that every signed-in account may open', () => {
    const m = matchRoute('#/me/notifications');
    expect(m?.route.id).toBe('notifications');
    expect(guard(m, new Set(), false)).toEqual({ ok: true });
    expect(navFor(new Set(), false).find((s) => s.section === 'account')?.entries.map((e) => e.id)).toEqual(['account', 'notifications']);
  });
});
