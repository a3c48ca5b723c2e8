import { describe, expect, it } from 'vitest';
import { approvalSummary, operationKey } from './approvals';

describe('approvals', () => {
  it('names the operation and what it would change', () => {
    expect(operationKey('conversation.delete')).toBe('approvals.op.conversation.delete');
    expect(operationKey('something.else')).toBeNull();
    expect(approvalSummary({ operation: 'conversation.delete', target_id: 'cv_1', arguments: {} })).toBe('cv_1');
    expect(
      approvalSummary({ operation: 'customer.update_sensitive', target_id: 'cu_1', arguments: { phone: null, email: 'a@b.co' } }),
    ).toBe('cu_1: email, phone');
  });
});
