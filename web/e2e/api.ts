// Small API helpers for the specs, in Node (no browser): creating tenants, signing in staff, and acting as an
// agent (reply, note, status), so a spec can play the other side of a chat.
import type { TestEnv, TestTenant } from './env';

/** Calls the API and returns the JSON answer; throws with the status and body on a non-2xx answer. */
export async function call<T>(
  base: string,
  method: string,
  path: string,
  options: { body?: unknown; token?: string; headers?: Record<string, string> } = {},
): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json', ...options.headers };
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  const res = await fetch(base + path, {
    method,
    headers,
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path} answered ${res.status}: ${text}`);
  return (text ? JSON.parse(text) : undefined) as T;
}

let counter = 0;

/** Creates a tenant (with the bootstrap token) and returns it with its admin's credentials. */
export async function createTenant(base: string, bootstrapToken: string, name?: string): Promise<TestTenant> {
  counter += 1;
  const suffix = `${process.pid}-${Date.now()}-${counter}`;
  const admin_email = `admin-${suffix}@shop.example`;
  const admin_password = 'a long test passphrase 1';
  const admin_name = 'Li Lei';
  const created = await call<{ tenant_id: string; widget_key: string; admin_id: string }>(base, 'POST', '/v1/tenants', {
    headers: { 'x-bootstrap-token': bootstrapToken },
    body: { name: name ?? `Shop ${suffix}`, admin: { email: admin_email, name: admin_name, password: admin_password } },
  });
  return { ...created, admin_email, admin_password, admin_name };
}

/** Signs in and returns the staff token (the test tenants' admins have no MFA). */
export async function login(base: string, tenant: TestTenant, email = tenant.admin_email, password = tenant.admin_password): Promise<string> {
  const res = await call<{ token?: string; mfa_required?: boolean }>(base, 'POST', '/v1/auth/login', {
    body: { tenant_id: tenant.tenant_id, email, password },
  });
  if (!res.token) throw new Error('sign-in asked for MFA; test tenants should not need it');
  return res.token;
}

/** A signed-in staff member, with the calls the specs need. */
export class Staff {
  constructor(
    readonly base: string,
    readonly token: string,
  ) {}

  static async signIn(env: TestEnv, tenant: TestTenant = env.tenant): Promise<Staff> {
    return new Staff(env.base, await login(env.base, tenant));
  }

  call<T>(method: string, path: string, body?: unknown): Promise<T> {
    return call<T>(this.base, method, path, { token: this.token, body });
  }

  /** Sets my status (an online agent with room makes the widget's `online` true). */
  setStatus(status: 'online' | 'away' | 'offline'): Promise<unknown> {
    return this.call('PUT', '/v1/me/status', { status });
  }

  /** Conversations this staff member can see, newest activity first as the server orders them. */
  async conversations(query = ''): Promise<{ id: string; customer_id: string; status: string }[]> {
    const page = await this.call<{ items: { id: string; customer_id: string; status: string }[] }>('GET', `/v1/conversations${query}`);
    return page.items;
  }

  /** Writes a reply (or, with `internal`, a note) in a conversation. */
  reply(conversationId: string, content: string, internal = false): Promise<{ id: string }> {
    return this.call('POST', `/v1/conversations/${conversationId}/messages`, { content, internal });
  }

  /** The conversation's messages as staff see them (notes included). */
  async messages(conversationId: string): Promise<{ id: string; author: string; content: string; internal: boolean }[]> {
    const page = await this.call<{ items: { id: string; author: string; content: string; internal: boolean }[] }>(
      'GET',
      `/v1/conversations/${conversationId}/messages?days=30&limit=200`,
    );
    return page.items;
  }
}
