import { describe, expect, it } from 'vitest';
import { allows, inboxViews, permissionSet } from './permissions';

describe('permissions', () => {
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
