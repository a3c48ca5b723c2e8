// Short names for the generated API types (schema.d.ts, from the server's OpenAPI document).
import type { components } from './schema';

/** Every schema the API defines, e.g. `Schemas['MessageView']`. */
export type Schemas = components['schemas'];
/** A message as the API answers it (staff and widget reads alike). */
export type MessageView = Schemas['MessageView'];
/** `POST /v1/realtime/ticket`'s answer. */
export type RealtimeTicket = Schemas['Ticket'];
/** `GET /v1/widget/messages`' page and the other lists: `{items, next_cursor}`. */
export interface Page<T> {
  items: T[];
  next_cursor?: string | null;
}
