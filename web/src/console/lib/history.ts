/**
 * A conversation's history by window (API.md: the last 7 or 30 days, oldest first, pages by cursor) and the
 * inbox's query: the pure parts, so they are tested without a server. Merging pages with live messages is
 * `mergeMessages` of `src/shared/messages.ts`.
 */
import type { InboxView } from './permissions';

/** The windows offered first (days). */
export const WINDOWS = [7, 30] as const;

/** The steps "show older" widens the window through; the last is the API's maximum (366 days). */
export const OLDER_STEPS = [7, 30, 90, 366] as const;

/** The next wider window after `days`, or `null` when it is already the widest. */
export function olderWindow(days: number): number | null {
  return OLDER_STEPS.find((d) => d > days) ?? null;
}

/** Whether a message of `createdAt` falls inside a window of `days` ending at `now`. */
export function inWindow(createdAt: string, days: number, now: Date): boolean {
  const t = Date.parse(createdAt);
  return Number.isFinite(t) && t >= now.getTime() - days * 86_400_000;
}

/** The inbox's filters beside the view. */
export interface InboxFilters {
  status?: string;
  tag?: string;
  group_id?: string;
}

/** The query of `GET /v1/conversations` for a view and its filters. */
export function inboxQuery(view: InboxView, filters: InboxFilters, cursor?: string | null): URLSearchParams {
  const q = new URLSearchParams();
  if (view === 'mine') q.set('assignee', 'me');
  if (view === 'unassigned') q.set('assignee', 'unassigned');
  if (view === 'queued') q.set('status', 'queued');
  else if (filters.status) q.set('status', filters.status);
  if (filters.tag?.trim()) q.set('tag', filters.tag.trim());
  if (filters.group_id) q.set('group_id', filters.group_id);
  if (cursor) q.set('cursor', cursor);
  return q;
}

/** A conversation as the inbox lists it (the fields ordering uses). */
export interface Listed {
  id: string;
  last_message_at: string;
}

/** Moves a conversation with new activity to the top of a list ordered by latest activity. */
export function bump<C extends Listed>(list: readonly C[], id: string, at: string): C[] {
  const found = list.find((c) => c.id === id);
  if (!found) return [...list];
  const updated = { ...found, last_message_at: at > found.last_message_at ? at : found.last_message_at };
  return [updated, ...list.filter((c) => c.id !== id)];
}
