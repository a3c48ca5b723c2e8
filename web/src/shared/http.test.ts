import { describe, expect, it } from 'vitest';
import { ApiError, buildUrl, createClient } from './http';

function fakeFetch(respond: (url: string, init: RequestInit) => Response) {
  const calls: { url: string; init: RequestInit }[] = [];
  const f = (input: RequestInfo | URL, init?: RequestInit) => {
    const url = input instanceof Request ? input.url : String(input);
    calls.push({ url, init: init ?? {} });
    return Promise.resolve(respond(url, init ?? {}));
  };
  return { f: f, calls };
}

describe('buildUrl', () => {
  it('joins base and path and leaves out undefined query values', () => {
    expect(buildUrl('https://k.example/', '/v1/x', { a: 1, b: undefined, c: 'x y' })).toBe('https://k.example/v1/x?a=1&c=x+y');
    expect(buildUrl('https://k.example', '/v1/x', {})).toBe('https://k.example/v1/x');
  });
});

describe('createClient', () => {
  it('sends JSON with the auth headers and parses the answer', async () => {
    const { f, calls } = fakeFetch(() => Response.json({ id: 'ms_1' }, { status: 201 }));
    const client = createClient({ base: 'https://k.example', headers: () => ({ Authorization: 'Bearer t' }), fetch: f });
    const res = await client.post<{ id: string }>('/v1/widget/messages', { content: 'hi' }, { headers: { 'Idempotency-Key': 'k1' } });
    expect(res).toEqual({ id: 'ms_1' });
    const init = calls[0]!.init;
    expect(init.method).toBe('POST');
    expect(init.body).toBe('{"content":"hi"}');
    expect(init.headers).toMatchObject({ Authorization: 'Bearer t', 'Content-Type': 'application/json', 'Idempotency-Key': 'k1' });
  });
  it('turns the error envelope into an ApiError with code, field and Retry-After', async () => {
    const { f } = fakeFetch(() =>
      Response.json({ error: { code: 'rate_limited', message: 'slow down', field: 'content' } }, { status: 429, headers: { 'Retry-After': '7' } }),
    );
    const err = await createClient({ base: 'https://k.example', fetch: f }).get('/v1/x').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect(err).toMatchObject({ status: 429, code: 'rate_limited', message: 'slow down', field: 'content', retryAfter: 7 });
  });
  it('gives a generic error for an answer that is not the envelope, and network_error for no answer', async () => {
    const html = fakeFetch(() => new Response('<h1>bad gateway</h1>', { status: 502, statusText: 'Bad Gateway' }));
    await expect(createClient({ base: 'https://k.example', fetch: html.f }).get('/v1/x')).rejects.toMatchObject({ status: 502, code: 'http_502' });
    const down = createClient({ base: 'https://k.example', fetch: () => Promise.reject(new TypeError('Failed to fetch')) });
    await expect(down.get('/v1/x')).rejects.toMatchObject({ status: 0, code: 'network_error' });
  });
  it('answers undefined for 204', async () => {
    const { f } = fakeFetch(() => new Response(null, { status: 204 }));
    await expect(createClient({ base: 'https://k.example', fetch: f }).post('/v1/widget/read', { up_to: 'ms_1' })).resolves.toBeUndefined();
  });
});
