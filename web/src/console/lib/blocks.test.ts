import { describe, expect, it } from 'vitest';
import { blockBody, blockTarget } from './blocks';

const now = new Date('2026-06-01T00:00:00Z');

describe('blockBody', () => {
  it('sends a customer or an IP range with a trimmed reason', () => {
    expect(blockBody({ kind: 'customer', target: ' cu_01hzzzzzzzzzzzzzzzzzzzzzzz ', reason: ' spam ', expires: '' }, now)).toEqual({
      body: { customer_id: 'cu_01hzzzzzzzzzzzzzzzzzzzzzzz', reason: 'spam' },
    });
    expect(blockBody({ kind: 'ip', target: '203.0.113.0/24', reason: 'flood', expires: '' }, now)).toEqual({
      body: { ip_cidr: '203.0.113.0/24', reason: 'flood' },
    });
    expect(blockBody({ kind: 'ip', target: '2001:db8::/48', reason: 'flood', expires: '' }, now)).toEqual({
      body: { ip_cidr: '2001:db8::/48', reason: 'flood' },
    });
  });

  it('turns a future local expiry into an RFC 3339 time and refuses a past one', () => {
    const r = blockBody({ kind: 'ip', target: '10.0.0.1', reason: 'x', expires: '2026-07-01T10:00' }, now);
    expect('body' in r && r.body.expires_at).toBe(new Date('2026-07-01T10:00').toISOString());
    expect(blockBody({ kind: 'ip', target: '10.0.0.1', reason: 'x', expires: '2020-01-01T00:00' }, now)).toEqual({
      problem: { field: 'expires', key: 'blocks.pastExpiry' },
    });
  });

  it('names the field a person got wrong', () => {
    expect(blockBody({ kind: 'customer', target: 'someone', reason: 'x', expires: '' }, now)).toEqual({ problem: { field: 'target', key: 'blocks.needCustomer' } });
    expect(blockBody({ kind: 'ip', target: 'example.com', reason: 'x', expires: '' }, now)).toEqual({ problem: { field: 'target', key: 'blocks.needIp' } });
    expect(blockBody({ kind: 'ip', target: '10.0.0.1', reason: '  ', expires: '' }, now)).toEqual({ problem: { field: 'reason', key: 'blocks.needReason' } });
  });

  it('shows the range or the customer', () => {
    expect(blockTarget({ ip_cidr: '10.0.0.0/8', customer_id: null })).toBe('10.0.0.0/8');
    expect(blockTarget({ customer_id: 'cu_1' })).toBe('cu_1');
  });
});
