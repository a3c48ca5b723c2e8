import { describe, expect, it } from 'vitest';
import { allows, builtinPermissions, inboxViews, permissionSet, PERMISSIONS } from './permissions';

describe('permissions', () => {
  it('knows the built-in roles as the server defines them', () => {
    expect([...(builtinPermissions('admin') ?? [])]).toEqual([...PERMISSIONS]);
    const agent = builtinPermissions('agent');
    expect(agent?.has('conversations.reply')).toBe(true);
    expect(agent?.has('agents.manage')).toBe(false);
    expect(agent?.has('conversations.view_all')).toBe(false);
    const supervisor = builtinPermissions('supervisor');
    expect(supervisor?.has('conversations.assign')).toBe(true);
    expect(supervisor?.has('settings.manage')).toBe(false);
  });

  it('treats any other role id as custom', () => {
    expect(builtinPermissions('ro_01J0000000000000000000000')).toBeNull();
    expect(builtinPermissions('toString')).toBeNull();
  });

  it('drops names outside the catalogue', () => {
    expect([...permissionSet(['audit.view', 'root', 'audit.view'])]).toEqual(['audit.view']);
  });

  it('checks requirements', () => {
    const perms = permissionSet(['audit.view']);
    expect(allows(perms, null)).toBe(true);
    expect(allows(perms, 'audit.view')).toBe(true);
    expect(allows(perms, 'settings.manage')).toBe(false);
    expect(allows(perms, { anyOf: ['settings.manage', 'audit.view'] })).toBe(true);
    expect(allows(perms, { anyOf: [] })).toBe(false);
  });

  it('offers the queues only to those who see beyond their own', () => {
    expect(inboxViews(permissionSet([]))).toEqual(['mine']);
    expect(inboxViews(permissionSet(['conversations.view_group']))).toEqual(['mine', 'unassigned', 'queued', 'all']);
    expect(inboxViews(permissionSet(['conversations.view_all']))).toEqual(['mine', 'unassigned', 'queued', 'all']);
  });
});
