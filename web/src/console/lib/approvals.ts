/** Approval requests as the approvals screen shows them (pure, tested). */

/** The fields of a request the screen reads (`GET /v1/approvals` items). */
export interface ApprovalLike {
  operation: string;
  target_id: string;
  arguments: Record<string, unknown>;
}

/** The i18n key naming each operation. */
export const OPERATION_KEYS = {
  'conversation.delete': 'approvals.op.conversation.delete',
  'customer.update_sensitive': 'approvals.op.customer.update_sensitive',
  'export.create': 'approvals.op.export.create',
} as const;

/** The i18n key naming `operation`, or null for one this console does not know. */
export function operationKey(operation: string): (typeof OPERATION_KEYS)[keyof typeof OPERATION_KEYS] | null {
  return operation in OPERATION_KEYS ? OPERATION_KEYS[operation as keyof typeof OPERATION_KEYS] : null;
}

/** What a request would change, in one line: its target, and for a customer patch the fields it sets. */
export function approvalSummary(a: ApprovalLike): string {
  const fields = Object.keys(a.arguments ?? {});
  return fields.length === 0 ? a.target_id : `${a.target_id}: ${fields.sort().join(', ')}`;
}
