/**
 * The console's route table and navigation: one list says which screens exist, at which path, who may open
 * them and where they sit in the navigation. Screens of later capabilities (customers, quick replies,
 * tickets, rules, exports, statistics, notifications) are added here as one entry each, with the
 * permission API.md gives them and a component in `screens.tsx`; the navigation and the route guard follow.
 */
import { allows, type PermissionSet, type Requirement } from './permissions';

/** The navigation's sections, in the order they are drawn. */
export type NavSection = 'work' | 'admin' | 'account';

/** One screen of the console. */
export interface RouteDef {
  /** Stable id, also the key of the screen's component in `screens.tsx`. */
  id: string;
  /** The hash path, with `:name` parameters (`/conversations/:id`). */
  pattern: string;
  /** The i18n key of the screen's title. */
  title: string;
  /** What the account needs to open it; the route guard and the navigation both use it. */
  requires: Requirement;
  /** Where it appears in the navigation; absent for screens reached from another (a conversation). */
  nav?: NavSection;
  /** Whether a restricted session (expired password, pending MFA enrolment) may open it. */
  restrictedOk?: boolean;
}

/** Every screen, in navigation order within each section. */
export const ROUTES: readonly RouteDef[] = [
  { id: 'inbox', pattern: '/inbox', title: 'nav.inbox', requires: null, nav: 'work' },
  { id: 'conversation', pattern: '/conversations/:id', title: 'nav.conversation', requires: null },
  { id: 'quickReplies', pattern: '/quick-replies', title: 'nav.quickReplies', requires: null, nav: 'work' },
  // Blocking an abusive visitor is everyday work for whoever may edit customers (agents included).
  { id: 'blocks', pattern: '/blocks', title: 'nav.blocks', requires: 'customers.edit', nav: 'work' },
  { id: 'approvals', pattern: '/approvals', title: 'nav.approvals', requires: 'approvals.review', nav: 'work' },
  { id: 'tickets', pattern: '/tickets', title: 'nav.tickets', requires: 'tickets.manage', nav: 'work' },
  { id: 'ticket', pattern: '/tickets/:id', title: 'nav.ticket', requires: 'tickets.manage' },
  { id: 'live', pattern: '/live', title: 'nav.live', requires: 'stats.view', nav: 'work' },
  { id: 'stats', pattern: '/stats', title: 'nav.stats', requires: 'stats.view', nav: 'work' },
  { id: 'exports', pattern: '/exports', title: 'nav.exports', requires: 'exports.create', nav: 'work' },
  { id: 'agents', pattern: '/admin/agents', title: 'nav.agents', requires: 'agents.manage', nav: 'admin' },
  { id: 'groups', pattern: '/admin/groups', title: 'nav.groups', requires: 'agents.manage', nav: 'admin' },
  { id: 'schedules', pattern: '/admin/schedules', title: 'nav.schedules', requires: 'settings.manage', nav: 'admin' },
  {
    id: 'assignment',
    pattern: '/admin/assignment',
    title: 'nav.assignment',
    requires: 'settings.manage',
    nav: 'admin',
  },
  { id: 'roles', pattern: '/admin/roles', title: 'nav.roles', requires: 'roles.manage', nav: 'admin' },
  { id: 'security', pattern: '/admin/security', title: 'nav.security', requires: 'settings.manage', nav: 'admin' },
  { id: 'apiKeys', pattern: '/admin/api-keys', title: 'nav.apiKeys', requires: 'settings.manage', nav: 'admin' },
  { id: 'audit', pattern: '/admin/audit', title: 'nav.audit', requires: 'audit.view', nav: 'admin' },
  { id: 'widget', pattern: '/admin/widget', title: 'nav.widget', requires: 'settings.manage', nav: 'admin' },
  { id: 'tags', pattern: '/admin/tags', title: 'nav.tags', requires: 'tags.manage', nav: 'admin' },
  { id: 'rules', pattern: '/rules', title: 'nav.rules', requires: 'rules.manage', nav: 'admin' },
  { id: 'retention', pattern: '/retention', title: 'nav.retention', requires: 'settings.manage', nav: 'admin' },
  { id: 'account', pattern: '/me', title: 'nav.account', requires: null, nav: 'account', restrictedOk: true },
  // Issue 12: auto-replies, webhooks, my notification preferences.
  { id: 'autoReply', pattern: '/admin/auto-reply', title: 'nav.autoReply', requires: 'settings.manage', nav: 'admin' },
  { id: 'webhooks', pattern: '/admin/webhooks', title: 'nav.webhooks', requires: 'rules.manage', nav: 'admin' },
  { id: 'notifications', pattern: '/me/notifications', title: 'nav.notifications', requires: null, nav: 'account' },
];

/** Where a signed-in account lands. */
export const HOME = '/inbox';

/** A path matched against the table. */
export interface RouteMatch {
  /** The screen. */
  route: RouteDef;
  /** Its parameters, decoded. */
  params: Record<string, string>;
  /** The query (`?a=b` after the hash path). */
  query: URLSearchParams;
}

/** Splits a location hash (`#/conversations/cv_1?days=30`) into its path and query. */
export function parseHash(hash: string): { path: string; query: URLSearchParams } {
  const raw = hash.replace(/^#/, '') || '/';
  const q = raw.indexOf('?');
  const path = q < 0 ? raw : raw.slice(0, q);
  return { path: path.startsWith('/') ? path : `/${path}`, query: new URLSearchParams(q < 0 ? '' : raw.slice(q + 1)) };
}

/** The route a path names, with its parameters; `null` when none does. */
export function matchRoute(hash: string, routes: readonly RouteDef[] = ROUTES): RouteMatch | null {
  const { path, query } = parseHash(hash);
  const parts = path.split('/').filter(Boolean);
  for (const route of routes) {
    const pat = route.pattern.split('/').filter(Boolean);
    if (pat.length !== parts.length) continue;
    const params: Record<string, string> = {};
    let ok = true;
    for (let i = 0; i < pat.length && ok; i++) {
      const p = pat[i] as string;
      const v = parts[i] as string;
      if (p.startsWith(':')) {
        try {
          params[p.slice(1)] = decodeURIComponent(v);
        } catch {
          ok = false;
        }
      } else if (p !== v) ok = false;
    }
    if (ok) return { route, params, query };
  }
  return null;
}

/** The hash of a route with its parameters filled in. */
export function hrefOf(pattern: string, params: Record<string, string> = {}): string {
  const path = pattern.replace(/:([a-zA-Z]+)/g, (_, k: string) => encodeURIComponent(params[k] ?? ''));
  return `#${path}`;
}

/** What the guard decides for a route and an account. */
export type Guard = { ok: true } | { ok: false; reason: 'forbidden' | 'restricted' | 'not_found' };

/** Whether an account with `perms` (restricted or not) may open `match`. */
export function guard(match: RouteMatch | null, perms: PermissionSet, restricted: boolean): Guard {
  if (!match) return { ok: false, reason: 'not_found' };
  if (restricted && !match.route.restrictedOk) return { ok: false, reason: 'restricted' };
  if (!allows(perms, match.route.requires)) return { ok: false, reason: 'forbidden' };
  return { ok: true };
}

/** One entry of the navigation. */
export interface NavEntry {
  /** The route's id. */
  id: string;
  /** Its hash link. */
  href: string;
  /** The i18n key of its label. */
  label: string;
}

/** The navigation an account sees: per section, the screens it may open; empty sections are left out. */
export function navFor(
  perms: PermissionSet,
  restricted: boolean,
  routes: readonly RouteDef[] = ROUTES,
): { section: NavSection; entries: NavEntry[] }[] {
  const sections: NavSection[] = ['work', 'admin', 'account'];
  return sections
    .map((section) => ({
      section,
      entries: routes
        .filter((r) => r.nav === section && (!restricted || r.restrictedOk) && allows(perms, r.requires))
        .map((r) => ({ id: r.id, href: hrefOf(r.pattern), label: r.title })),
    }))
    .filter((s) => s.entries.length > 0);
}
