import { describe, expect, it } from 'vitest';
import { ApiError, type Client } from '../../shared/http';
import type { AgentView } from '../types';
import { resolvePermissions } from './resolve';

function fakeClient(answers: Record<string, unknown>, seen: string[] = []): Client {
  const get = <T,>(path: string): Promise<T> => {
    seen.push(path);
    const key = Object.keys(answers).find((k) => path.startsWith(k));
    const a = key === undefined ? 404 : answers[key];
    if (typeof a === 'number') return Promise.reject(new ApiError(a, { code: a === 403 ? 'forbidden' : 'not_found', message: '' }));
    return Promise.resolve(a as T);
  };
  const no = () => Promise.reject(new Error('unexpected'));
  return { request: no, get, post: no, put: no, patch: no, del: no };
}

const me = (role_id: string, permissions?: string[]): AgentView => ({
  id: 'ag_1',
  tenant_id: 'tn_1',
  email: 'a@example.com',
  name: 'A',
  role_id,
  status: 'online',
  group_ids: [],
  skills: [],
  max_concurrent: 5,
  disabled: false,
  mfa_enabled: false,
  created_at: '2026-01-01T00:00:00Z',
  ...(permissions ? { permissions } : {}),
});

describe('resolvePermissions', () => {
  it('uses the permissions /v1/me answers when it answers them', async () => {
    const seen: string[] = [];
    const p = await resolvePermissions(fakeClient({}, seen), me('ro_x', ['audit.view']));
    expect([...p]).toEqual(['audit.view']);
    expect(seen).toEqual([]);
  });

  it('knows the built-in roles without asking', async () => {
    const seen: string[] = [];
    const p = await resolvePermissions(fakeClient({}, seen), me('agent'));
    expect(p.has('agents.manage')).toBe(false);
    expect(seen).toEqual([]);
  });

  it('reads a custom role when the account may read roles', async () => {
    const roles = { items: [{ id: 'ro_x', name: 'X', permissions: ['roles.manage', 'stats.view'], builtin: false }], next_cursor: null };
    const p = await resolvePermissions(fakeClient({ '/v1/roles': roles }), me('ro_x'));
    expect([...p].sort()).toEqual(['roles.manage', 'stats.view']);
  });

  it('probes the admin screens otherwise', async () => {
    const client = fakeClient({ '/v1/roles': 403, '/v1/agents': 403, '/v1/settings/security': 403, '/v1/audit': { items: [], next_cursor: null } });
    const p = await resolvePermissions(client, me('ro_x'));
    expect(p.has('audit.view')).toBe(true);
    expect(p.has('agents.manage')).toBe(false);
    expect(p.has('settings.manage')).toBe(false);
    expect(p.has('conversations.reply')).toBe(true);
  });

  it('probes once per session and role', async () => {
    const map = new Map<string, string>();
    const store = { getItem: (k: string) => map.get(k) ?? null, setItem: (k: string, v: string) => void map.set(k, v), removeItem: (k: string) => void map.delete(k) };
    const answers = { '/v1/roles': 403, '/v1/agents': { items: [], next_cursor: null }, '/v1/settings/security': 403, '/v1/audit': 403 };
    const seen: string[] = [];
    const first = await resolvePermissions(fakeClient(answers, seen), me('ro_x'), { store, sessionId: 'se_1' });
    expect(first.has('agents.manage')).toBe(true);
    const probes = seen.length;
    const again = await resolvePermissions(fakeClient(answers, seen), me('ro_x'), { store, sessionId: 'se_1' });
    expect([...again].sort()).toEqual([...first].sort());
    expect(seen.length).toBe(probes + 1); // only the roles read, no probe
    await resolvePermissions(fakeClient(answers, seen), me('ro_x'), { store, sessionId: 'se_2' });
    expect(seen.length).toBeGreaterThan(probes + 2);
  });

  it('learns nothing from a restricted session', async () => {
    const map = new Map<string, string>();
    const store = { getItem: (k: string) => map.get(k) ?? null, setItem: (k: string, v: string) => void map.set(k, v), removeItem: (k: string) => void map.delete(k) };
    const restricted = fakeClient({});
    restricted.get = <T,>(): Promise<T> => Promise.reject(new ApiError(403, { code: 'mfa_enrollment_required', message: '' }));
    await expect(resolvePermissions(restricted, me('ro_x'), { store, sessionId: 'se_1' })).rejects.toBeInstanceOf(ApiError);
    expect(map.size).toBe(0);
  });

  it('passes on errors other than a refusal', async () => {
    await expect(resolvePermissions(fakeClient({ '/v1/roles': 500 }), me('ro_x'))).rejects.toBeInstanceOf(ApiError);
  });
});
