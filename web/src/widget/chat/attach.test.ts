import { describe, expect, it } from 'vitest';
import type { ChatHost } from '../contract';
import { ChatController } from './controller';
import type { Uploader } from '../../shared/upload';

class FakeSocket {
  static all: FakeSocket[] = [];
  onopen: (() => void) | null = null;
  onmessage: ((ev: { data: unknown }) => void) | null = null;
  onclose: (() => void) | null = null;
  constructor(readonly url: string) {
    FakeSocket.all.push(this);
  }
  close() {}
}

const PNG = new Uint8Array([137, 80, 78, 71, 13, 10, 26, 10, 0, 0]);
const file = (name: string, type: string, bytes: Uint8Array<ArrayBuffer> = PNG) => new File([bytes], name, { type });

/** A widget against a fake server that takes attachments; `uploads` records what the uploader was given. */
function setup(uploader?: Uploader) {
  FakeSocket.all = [];
  const calls: { method: string; url: string; body?: unknown }[] = [];
  const server: Record<string, unknown>[] = [];
  const fetch = (input: string, init?: RequestInit & { body?: string }) => {
    const url = new URL(input);
    const method = init?.method ?? 'GET';
    const body = init?.body ? (JSON.parse(init.body) as Record<string, unknown>) : undefined;
    calls.push({ method, url: url.pathname, body });
    const json = (v: unknown, status = 200) => Promise.resolve(Response.json(v, { status }));
    if (url.pathname === '/v1/widget/config')
      return json({ online: true, attachments: { enabled: true, max_bytes: 100, content_types: ['image/*'] } });
    if (url.pathname === '/v1/widget/conversations') return json({ conversation_id: 'cv_1', customer_id: 'cu_1', visitor_token: 'vt' }, 201);
    if (url.pathname === '/v1/widget/attachments')
      return json({ attachment_id: 'at_1', upload_url: 'http://kefu.test/v1/widget/uploads/at_1?sig=x', upload_headers: { 'content-type': 'image/png' }, expires_at: 'x' }, 201);
    if (url.pathname === '/v1/widget/messages' && method === 'POST') {
      const ids = (body?.attachment_ids as string[] | undefined) ?? [];
      server.push({
        id: `ms_1${server.length}`,
        conversation_id: 'cv_1',
        author: 'visitor',
        author_id: 'cu_1',
        content: body?.content,
        internal: false,
        created_at: '2026-01-01T00:00:10Z',
        recalled: false,
        attachments: ids.map((id) => ({ id, name: 'shot.png', content_type: 'image/png', size: 10, url: `http://kefu.test/v1/widget/files/${id}?sig=fresh` })),
      });
      return json({ id: server.at(-1)?.id, created_at: '2026-01-01T00:00:10Z' }, 201);
    }
    if (url.pathname === '/v1/widget/messages') return json({ items: server, next_cursor: null });
    if (url.pathname === '/v1/realtime/ticket') return json({ ticket: 'tk', url: 'ws://kefu.test/v1/realtime' });
    if (url.pathname === '/v1/widget/conversation') return json({ conversation_id: 'cv_1', status: 'open', assignee: null, queue_position: null });
    return Promise.resolve(new Response(null, { status: 204 }));
  };
  const uploads: { url: string; headers: Record<string, string>; size: number }[] = [];
  const progress: number[] = [];
  const upload: Uploader =
    uploader ??
    ((url, headers, body, onProgress) => {
      uploads.push({ url, headers, size: body.size });
      onProgress(0.5);
      progress.push(c.state.uploads[0]?.progress ?? -1);
      onProgress(1);
      return Promise.resolve();
    });
  const host: ChatHost = {
    root: {} as ShadowRoot,
    launcher: {} as HTMLButtonElement,
    apiBase: 'http://kefu.test',
    widgetKey: 'wk_1',
    user: () => ({}),
    emit: () => undefined,
    setUnread: () => undefined,
    requestClose: () => undefined,
    setLang: () => undefined,
  };
  const c = new ChatController(host, { fetch: fetch as unknown as typeof globalThis.fetch, WebSocket: FakeSocket as unknown as typeof WebSocket, upload });
  return { c, calls, uploads, progress };
}

describe('widget attachments', () => {
  it('declares, uploads with progress, sends the file as a message and shows it with its link', async () => {
    const { c, calls, uploads, progress } = setup();
    await c.init();
    c.setOpen(true);
    expect(await c.attach(file('shot.png', 'image/png'))).toBe(true);
    expect(calls.find((x) => x.url === '/v1/widget/attachments')?.body).toEqual({ name: 'shot.png', content_type: 'image/png', size: 10 });
    expect(uploads).toEqual([{ url: 'http://kefu.test/v1/widget/uploads/at_1?sig=x', headers: { 'content-type': 'image/png' }, size: 10 }]);
    expect(progress).toEqual([0.5]);
    const sent = calls.find((x) => x.method === 'POST' && x.url === '/v1/widget/messages');
    expect(sent?.body).toEqual({ content: '', attachment_ids: ['at_1'] });
    expect(c.state.uploads).toEqual([]);
    expect(c.state.messages.map((m) => m.attachments?.[0]?.url)).toEqual(['http://kefu.test/v1/widget/files/at_1?sig=fresh']);
  });

  it('refuses a type or size the settings do not allow without calling the server', async () => {
    const { c, calls } = setup();
    await c.init();
    expect(await c.attach(file('a.zip', 'application/zip'))).toBe(false);
    expect(c.state.notice).toEqual({ key: 'file_type' });
    expect(await c.attach(file('big.png', 'image/png', new Uint8Array(101)))).toBe(false);
    expect(c.state.notice).toEqual({ key: 'file_too_large' });
    expect(calls.some((x) => x.url === '/v1/widget/attachments')).toBe(false);
  });

  it('keeps a failed upload in view until dismissed and sends no message for it', async () => {
    const { c, calls } = setup(() => Promise.reject(new Error('network down')));
    await c.init();
    expect(await c.attach(file('shot.png', 'image/png'))).toBe(false);
    expect(c.state.uploads.map((u) => [u.name, u.status])).toEqual([['shot.png', 'failed']]);
    expect(calls.some((x) => x.method === 'POST' && x.url === '/v1/widget/messages')).toBe(false);
    c.dismissUpload(c.state.uploads[0]!.key);
    expect(c.state.uploads).toEqual([]);
  });
});
