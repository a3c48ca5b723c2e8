/**
 * Tickets in the console, the parts without a screen: the status line (`open → pending → solved → closed`,
 * reopen from `solved` or `closed`, as the server's `kefu_domain::ticket` decides it, so the screen offers only
 * moves the server accepts) and the list's filters as `GET /v1/tickets` query parameters.
 */

/** A ticket's status. */
export type TicketStatus = 'open' | 'pending' | 'solved' | 'closed';

/** Every status, in the order a ticket goes through them. */
export const TICKET_STATUSES: readonly TicketStatus[] = ['open', 'pending', 'solved', 'closed'];

/** A ticket's priority. */
export type TicketPriority = 'low' | 'normal' | 'high' | 'urgent';

/** Every priority, lowest first. */
export const TICKET_PRIORITIES: readonly TicketPriority[] = ['low', 'normal', 'high', 'urgent'];

/** Who made a ticket. */
export type TicketSource = 'agent' | 'widget' | 'rule' | 'api';

/** The statuses a ticket in `status` may move to: the next step, and `open` again from `solved` or `closed`. */
export function nextStatuses(status: string): TicketStatus[] {
  switch (status) {
    case 'open':
      return ['pending'];
    case 'pending':
      return ['solved'];
    case 'solved':
      return ['closed', 'open'];
    case 'closed':
      return ['open'];
    default:
      return [];
  }
}

/** The list's filters as the screen keeps them (empty string: any). */
export interface TicketFilters {
  status: string;
  /** `me`, `unassigned`, an agent id, or empty. */
  assignee: string;
  group_id: string;
}

/** No filter. */
export const NO_FILTERS: TicketFilters = { status: '', assignee: '', group_id: '' };

/** The query parameters of `GET /v1/tickets` for `filters`: only the ones set. */
export function ticketQuery(filters: TicketFilters): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(filters) as [keyof TicketFilters, string][]) {
    if (v.trim()) out[k] = v.trim();
  }
  return out;
}

/** The filters a location's query names (`#/tickets?status=open`), so a filtered list can be linked to. */
export function filtersOf(query: URLSearchParams): TicketFilters {
  const status = query.get('status') ?? '';
  return {
    status: (TICKET_STATUSES as readonly string[]).includes(status) ? status : '',
    assignee: query.get('assignee') ?? '',
    group_id: query.get('group_id') ?? '',
  };
}

/** A ticket's title suggested from a conversation: its customer's name, or the conversation id. */
export function titleFromConversation(customerName: string | null | undefined, conversationId: string): string {
  const who = customerName?.trim();
  return who ? `${who}: ` : `${conversationId}: `;
}
