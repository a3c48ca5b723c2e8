import { describe, expect, it } from 'vitest';
import { permissionSet, PERMISSIONS } from './permissions';
import { guard, hrefOf, matchRoute, navFor, parseHash, ROUTES } from './routes';

// The built-in agent and admin roles as `GET /v1/me` answers their permissions.
const agent = permissionSet(['conversations.view_group', 'conversations.reply', 'customers.view', 'customers.edit', 'tickets.manage']);
const admin = permissionSet(PERMISSIONS);

describe('route table', () => {
  it('has unique ids and patterns', () => {
    expect(new Set(ROUTES.map((r) => r.id)).size).toBe(ROUTES.length);
    expect(new Set(ROUTES.map((r) => r.pattern)).size).toBe(ROUTES.length);
  });

  it('matches paths with parameters and queries', () => {
    const m = matchRoute('#/conversations/cv_01%2Fx?days=30');
    expect(m?.route.id).toBe('conversation');
    expect(m?.params).toEqual({ id: 'cv_01/x' });
    expect(m?.query.get('days')).toBe('30');
    expect(matchRoute('#/admin/agents')?.route.id).toBe('agents');
    expect(matchRoute('#/admin/agents/extra')).toBeNull();
    expect(matchRoute('#/nowhere')).toBeNull();
    expect(matchRoute('#/conversations/%E0%A4%A')).toBeNull();
  });

  it('parses empty and bare hashes', () => {
    expect(parseHash('').path).toBe('/');
    expect(parseHash('#inbox').path).toBe('/inbox');
  });

  it('builds links', () => {
    expect(hrefOf('/conversations/:id', { id: 'cv 1' })).toBe('#/conversations/cv%201');
  });
});

describe('navigation by permission', () => {
  it('shows an agent no admin screen', () => {
    const nav = navFor(agent, false);
    expect(nav.map((s) => s.section)).toEqual(['work', 'account']);
    expect(nav.flatMap((s) => s.entries.map((e) => e.id))).toEqual(['inbox', 'quickReplies', 'blocks', 'tickets', 'account', 'notifications']);
  });

  it('shows tickets only with tickets.manage, and guards a ticket link the same way', () => {
    const noTickets = permissionSet(['conversations.view_group', 'conversations.reply']);
    expect(navFor(noTickets, false).flatMap((s) => s.entries.map((e) => e.id))).toEqual(['inbox', 'quickReplies', 'account', 'notifications']);
    expect(guard(matchRoute('#/tickets/tk_1'), noTickets, false)).toEqual({ ok: false, reason: 'forbidden' });
    expect(guard(matchRoute('#/tickets/tk_1'), agent, false)).toEqual({ ok: true });
    expect(matchRoute('#/tickets?status=open')?.route.id).toBe('tickets');
  });

  it('shows an admin every admin screen', () => {
    const admins = navFor(admin, false).find((s) => s.section === 'admin')?.entries.map((e) => e.id);
    expect(admins).toEqual(['agents', 'groups', 'schedules', 'assignment', 'roles', 'security', 'apiKeys', 'audit', 'widget', 'tags', 'rules', 'retention', 'autoReply', 'webhooks']);
  });

  it('shows statistics to stats.view and exports to exports.create, and guards them by URL', () => {
    const ids = (p: string[]) => navFor(permissionSet(p), false).flatMap((s) => s.entries.map((e) => e.id));
    expect(ids(['stats.view'])).toEqual(expect.arrayContaining(['live', 'stats']));
    expect(ids(['stats.view'])).not.toContain('exports');
    expect(ids(['exports.create'])).toContain('exports');
    expect(guard(matchRoute('#/stats'), permissionSet(['exports.create']), false)).toEqual({ ok: false, reason: 'forbidden' });
    expect(guard(matchRoute('#/exports'), permissionSet(['stats.view']), false)).toEqual({ ok: false, reason: 'forbidden' });
    expect(guard(matchRoute('#/retention'), permissionSet(['stats.view']), false)).toEqual({ ok: false, reason: 'forbidden' });
  });

  it('shows an auditor only the audit log among admin screens', () => {
    const nav = navFor(permissionSet(['audit.view']), false);
    expect(nav.find((s) => s.section === 'admin')?.entries.map((e) => e.id)).toEqual(['audit']);
  });

  it('shows blocks to whoever may edit customers, and not to others', () => {
    const ids = (p: string[]) => navFor(permissionSet(p), false).flatMap((s) => s.entries.map((e) => e.id));
    expect(ids(['customers.edit'])).toContain('blocks');
    expect(ids(['customers.view'])).not.toContain('blocks');
    expect(guard(matchRoute('#/blocks'), permissionSet(['customers.view']), false)).toEqual({ ok: false, reason: 'forbidden' });
  });

  it('shows a restricted session only its account', () => {
    expect(navFor(admin, true).flatMap((s) => s.entries.map((e) => e.id))).toEqual(['account']);
  });
});

describe('route guard', () => {
  it('refuses a direct URL to an admin screen without the permission', () => {
    expect(guard(matchRoute('#/admin/security'), agent, false)).toEqual({ ok: false, reason: 'forbidden' });
    expect(guard(matchRoute('#/admin/security'), admin, false)).toEqual({ ok: true });
  });

  it('keeps a restricted session on its account screen', () => {
    expect(guard(matchRoute('#/inbox'), admin, true)).toEqual({ ok: false, reason: 'restricted' });
    expect(guard(matchRoute('#/me'), admin, true)).toEqual({ ok: true });
  });

  it('answers not found for unknown paths', () => {
    expect(guard(matchRoute('#/x'), admin, false)).toEqual({ ok: false, reason: 'not_found' });
  });
});
