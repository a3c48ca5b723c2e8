/**
 * Works out the signed-in account's permissions (see `permissions.ts` for why the console needs them).
 * Order: the `permissions` of `GET /v1/me` when the server answers them; the built-in roles; a custom role
 * read from `GET /v1/roles` (needs `roles.manage`); else one cheap read per admin screen, whose answer (200
 * or 403) says whether the screen is open to the account.
 */
import { ApiError, type Client } from '../../shared/http';
import type { AgentView, Page, RoleView } from '../types';
import { builtinPermissions, permissionSet, type Permission, type PermissionSet } from './permissions';

/** Reads that tell whether the account holds a permission, for custom roles the console cannot read. */
const PROBES: readonly [Permission, string][] = [
  ['agents.manage', '/v1/agents?limit=1'],
  ['settings.manage', '/v1/settings/security'],
  ['audit.view', '/v1/audit?limit=1'],
];

/**
 * Conversation and customer permissions of a custom role that cannot be read: offered, and the server
 * refuses what the role lacks (its answer is shown).
 */
const ASSUMED: readonly Permission[] = [
  'conversations.view_group',
  'conversations.reply',
  'conversations.assign',
  'customers.view',
];

async function allowed(client: Client, path: string): Promise<boolean> {
  try {
    await client.get(path);
    return true;
  } catch (e) {
    if (e instanceof ApiError && e.status === 403) return false;
    throw e;
  }
}

/** The permissions of `me`. */
export async function resolvePermissions(client: Client, me: AgentView): Promise<PermissionSet> {
  if (Array.isArray(me.permissions)) return permissionSet(me.permissions);
  const builtin = builtinPermissions(me.role_id);
  if (builtin) return builtin;
  let cursor: string | null = null;
  try {
    do {
      const q: string = cursor ? `&cursor=${encodeURIComponent(cursor)}` : '';
      const page: Page<RoleView> = await client.get<Page<RoleView>>(`/v1/roles?limit=200${q}`);
      const role = page.items.find((r) => r.id === me.role_id);
      if (role) return permissionSet(role.permissions);
      cursor = page.next_cursor;
    } while (cursor);
  } catch (e) {
    if (!(e instanceof ApiError && e.status === 403)) throw e;
  }
  const held: string[] = [...ASSUMED];
  const answers = await Promise.all(PROBES.map(([, path]) => allowed(client, path)));
  PROBES.forEach(([p], i) => {
    if (answers[i]) held.push(p);
  });
  return permissionSet(held);
}
