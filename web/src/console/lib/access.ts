/**
 * What `GET /v1/me` says about the session's reach: the role's permissions (read fresh on that request) and the
 * restriction the session is under. The console decides its navigation and route guards from this alone, so it
 * never probes admin routes to find out (each refused probe wrote a `permission.denied` audit entry).
 */
import { permissionSet, type PermissionSet } from './permissions';
import { restrictionOf, type Restriction } from './session';

/** The fields of `GET /v1/me` this reads (API.md; older servers may lack them). */
export interface MeAccess {
  permissions?: readonly string[];
  restriction?: string | null;
}

/** The session's reach as the console uses it. */
export interface Access {
  perms: PermissionSet;
  restriction: Restriction | null;
}

/**
 * The permissions and restriction of a `GET /v1/me` answer. Names outside the catalogue and unknown
 * restrictions are dropped; a missing `permissions` grants nothing (the console then offers only the account
 * screen and the own inbox, and the server still decides every request).
 */
export function accessOf(me: MeAccess): Access {
  return {
    perms: permissionSet(Array.isArray(me.permissions) ? me.permissions : []),
    restriction: typeof me.restriction === 'string' ? restrictionOf(me.restriction) : null,
  };
}
