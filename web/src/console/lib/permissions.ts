/**
 * What the signed-in account may do, as the console needs to know it to hide what it cannot use.
 *
 * The server checks every request; this only decides what the console offers. `GET /v1/me` answers the
 * role's permission names (read fresh on that request), so the console never guesses nor probes admin routes
 * (a probe refused by the server would write a `permission.denied` audit entry).
 */

/** The permission catalogue (API.md), in catalogue order. */
export const PERMISSIONS = [
  'conversations.view_all',
  'conversations.view_group',
  'conversations.reply',
  'conversations.assign',
  'conversations.delete',
  'customers.view',
  'customers.view_sensitive',
  'customers.edit',
  'tickets.manage',
  'quick_replies.manage',
  'tags.manage',
  'rules.manage',
  'exports.create',
  'stats.view',
  'agents.manage',
  'roles.manage',
  'settings.manage',
  'audit.view',
  'approvals.review',
] as const;

/** One permission of the catalogue. */
export type Permission = (typeof PERMISSIONS)[number];

/** A set of permissions held by the signed-in account. */
export type PermissionSet = ReadonlySet<Permission>;

/** Whether `name` is a permission of the catalogue. */
export function isPermission(name: string): name is Permission {
  return (PERMISSIONS as readonly string[]).includes(name);
}

/** The ids of the built-in roles every tenant has (offered before the tenant's roles are read). */
export const BUILTIN_ROLE_IDS = ['admin', 'supervisor', 'agent'] as const;

/** A set from names, dropping any the catalogue does not know. */
export function permissionSet(names: Iterable<string>): PermissionSet {
  const out = new Set<Permission>();
  for (const n of names) if (isPermission(n)) out.add(n);
  return out;
}

/** A requirement on permissions: one permission, any of several, or none at all (`null`). */
export type Requirement = Permission | { anyOf: readonly Permission[] } | null;

/** Whether `perms` meets `req`. */
export function allows(perms: PermissionSet, req: Requirement): boolean {
  if (req === null) return true;
  if (typeof req === 'string') return perms.has(req);
  return req.anyOf.some((p) => perms.has(p));
}

/** The inbox views an account may use: everyone has its own; the queues need to see beyond its own. */
export type InboxView = 'mine' | 'unassigned' | 'queued' | 'all';

/** The inbox views `perms` allows, in the order the inbox shows them. */
export function inboxViews(perms: PermissionSet): InboxView[] {
  const views: InboxView[] = ['mine'];
  const seesGroup = perms.has('conversations.view_group') || perms.has('conversations.view_all');
  if (seesGroup) views.push('unassigned', 'queued', 'all');
  return views;
}
