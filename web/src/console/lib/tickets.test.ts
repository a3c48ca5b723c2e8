import { describe, expect, it } from 'vitest';
import { NO_FILTERS, TICKET_STATUSES, filtersOf, nextStatuses, ticketQuery, titleFromConversation } from './tickets';

describe('the ticket status line', () => {
  it('moves one step forward, and reopens from solved or closed', () => {
    expect(nextStatuses('open')).toEqual(['pending']);
    expect(nextStatuses('pending')).toEqual(['solved']);
    expect(nextStatuses('solved')).toEqual(['closed', 'open']);
    expect(nextStatuses('closed')).toEqual(['open']);
    expect(nextStatuses('archived')).toEqual([]);
  });

  it('never offers a skip or a step back', () => {
    for (const from of TICKET_STATUSES) {
      for (const to of nextStatuses(from)) {
        const step = TICKET_STATUSES.indexOf(to) - TICKET_STATUSES.indexOf(from);
        expect(step === 1 || (to === 'open' && (from === 'solved' || from === 'closed')), `${from} → ${to}`).toBe(true);
      }
    }
  });
});

describe('ticket filters', () => {
  it('send only the filters that are set', () => {
    expect(ticketQuery(NO_FILTERS)).toEqual({});
    expect(ticketQuery({ status: 'open', assignee: ' me ', group_id: '' })).toEqual({ status: 'open', assignee: 'me' });
  });

  it('read from the location, ignoring an unknown status', () => {
    expect(filtersOf(new URLSearchParams('status=pending&group_id=gr_1'))).toEqual({ status: 'pending', assignee: '', group_id: 'gr_1' });
    expect(filtersOf(new URLSearchParams('status=done')).status).toBe('');
  });

  it('suggest a title from the conversation', () => {
    expect(titleFromConversation('Wang Fang', 'cv_1')).toBe('Wang Fang: ');
    expect(titleFromConversation(null, 'cv_1')).toBe('cv_1: ');
  });
});
