/**
 * Works out the signed-in account's permissions (see `permissions.ts` for why the console needs them).
 * Order: the `permissions` of `GET /v1/me` when the server answers them; the built-in roles; a custom role
 * read from `GET /v1/roles` (needs `roles.manage`); else one cheap read per admin screen, whose answer (200
 * or 403) says whether the screen is open to the account.
 */
import { ApiError, type Client } from '../../shared/http';
import type { AgentView, Page, RoleView } from '../types';
import { builtinPermissions, permissionSet, type Permission, type PermissionSet } from './permissions';
import { restrictionOf, type StorageLike } from './session';

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

/**
 * Whether an error is a refusal for lack of permission (a restricted session's 403 says nothing about its
 * permissions, so it is passed on, and nothing is kept).
 */
function refused(e: unknown): boolean {
  return e instanceof ApiError && e.status === 403 && restrictionOf(e.code) === null;
}

async function allowed(client: Client, path: string): Promise<boolean> {
  try {
    await client.get(path);
    return true;
  } catch (e) {
    if (refused(e)) return false;
    throw e;
  }
}

/** Where a probe's outcome is kept: the session and the role it was found for. */
export interface ProbeCache {
  store: StorageLike;
  sessionId: string;
}

const CACHE_KEY = 'kefu.console.probed';

function cached(cache: ProbeCache | undefined, roleId: string): PermissionSet | null {
  if (!cache) return null;
  try {
    const v = JSON.parse(cache.store.getItem(CACHE_KEY) ?? 'null') as { session: string; role: string; permissions: string[] } | null;
    return v && v.session === cache.sessionId && v.role === roleId && Array.isArray(v.permissions) ? permissionSet(v.permissions) : null;
  } catch {
    return null;
  }
}

/** The permissions of `me`. */
export async function resolvePermissions(client: Client, me: AgentView, cache?: ProbeCache): Promise<PermissionSet> {
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
    if (!refused(e)) throw e;
  }
  const known = cached(cache, me.role_id);
  if (known) return known;
  const held: string[] = [...ASSUMED];
  const answers = await Promise.all(PROBES.map(([, path]) => allowed(client, path)));
  PROBES.forEach(([p], i) => {
    if (answers[i]) held.push(p);
  });
  try {
    cache?.store.setItem(CACHE_KEY, JSON.stringify({ session: cache.sessionId, role: me.role_id, permissions: held }));
  } catch {
    // not kept: the next load probes again
  }
  return permissionSet(held);
}
