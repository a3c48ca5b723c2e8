import { describe, expect, it } from 'vitest';
import { accessOf } from './access';

describe('accessOf', () => {
  it('takes the permissions /v1/me answers', () => {
    const a = accessOf({ permissions: ['audit.view', 'agents.manage'], restriction: null });
    expect([...a.perms].sort()).toEqual(['agents.manage', 'audit.view']);
    expect(a.restriction).toBeNull();
  });

  it('drops names outside the catalogue', () => {
    expect([...accessOf({ permissions: ['root', 'stats.view'] }).perms]).toEqual(['stats.view']);
  });

  it('grants nothing when the answer has no permissions', () => {
    expect(accessOf({}).perms.size).toBe(0);
  });

  it('reads the known restrictions only', () => {
    expect(accessOf({ permissions: [], restriction: 'password_expired' }).restriction).toBe('password_expired');
    expect(accessOf({ permissions: [], restriction: 'mfa_enrollment_required' }).restriction).toBe('mfa_enrollment_required');
    expect(accessOf({ permissions: [], restriction: 'something_else' }).restriction).toBeNull();
    expect(accessOf({ permissions: [] }).restriction).toBeNull();
  });
});
