import { describe, expect, it, vi } from 'vitest';
import type { ChatHost } from '../contract';
import { ChatController } from './controller';

/** A WebSocket stand-in the test drives by hand. */
class FakeSocket {
  static all: FakeSocket[] = [];
  onopen: (() => void) | null = null;
  onmessage: ((ev: { data: unknown }) => void) | null = null;
  onclose: (() => void) | null = null;
  constructor(readonly url: string) {
    FakeSocket.all.push(this);
  }
  close() {}
  frame(v: unknown) {
    this.onmessage?.({ data: JSON.stringify(v) });
  }
}

const flush = async () => {
  for (let i = 0; i < 5; i++) await new Promise((r) => setTimeout(r, 0));
};

const msg = (id: string, author: string, content: string, internal = false) => ({
  id,
  conversation_id: 'cv_1',
  author,
  author_id: null,
  content,
  internal,
  created_at: `2026-01-01T00:00:${id.slice(-2)}Z`,
});

function setup(config: Record<string, unknown> = {}) {
  FakeSocket.all = [];
  const calls: { method: string; url: string; headers: Record<string, string>; body?: unknown }[] = [];
  let serverMessages: ReturnType<typeof msg>[] = [];
  let started = 0;
  let goneSends = 0;
  let deletedToken: string | undefined;
  const fetch = (input: string, init?: RequestInit & { body?: string }) => {
    const url = new URL(input);
    const method = init?.method ?? 'GET';
    const headers = (init?.headers ?? {}) as Record<string, string>;
    calls.push({ method, url: url.pathname + url.search, headers, body: init?.body ? JSON.parse(init.body) : undefined });
    const json = (v: unknown, status = 200) => Promise.resolve(Response.json(v, { status }));
    if (url.pathname === '/v1/widget/config') return json({ title: 'Acme', online: true, ...config });
    if (url.pathname === '/v1/widget/conversations') {
      started += 1;
      const token = started === 1 ? 'vt_secret' : `vt_secret${started}`;
      return json({ conversation_id: `cv_${started}`, customer_id: 'cu_1', visitor_token: token }, 201);
    }
    if (deletedToken && headers.Authorization === `Bearer ${deletedToken}`) {
      return json({ error: { code: 'not_found', message: 'no such resource' } }, 404);
    }
    if (url.pathname === '/v1/widget/messages' && method === 'POST' && goneSends > 0) {
      goneSends -= 1;
      return json({ error: { code: 'not_found', message: 'no such conversation' } }, 404);
    }
    if (url.pathname === '/v1/widget/messages' && method === 'POST') {
      const m = msg(`ms_${10 + serverMessages.length}`, 'visitor', (JSON.parse(init?.body ?? '{}') as { content: string }).content);
      serverMessages.push(m);
      return json({ id: m.id, created_at: m.created_at }, 201);
    }
    if (url.pathname === '/v1/widget/messages') {
      const after = url.searchParams.get('after');
      return json({ items: serverMessages.filter((m) => !after || m.id > after), next_cursor: null });
    }
    if (url.pathname === '/v1/widget/leave_message') return json({ ticket_id: 'tk_1' }, 201);
    if (url.pathname === '/v1/realtime/ticket') return json({ ticket: 'tk', url: 'ws://kefu.test/v1/realtime' });
    if (url.pathname === '/v1/widget/conversation')
      return json({ conversation_id: 'cv_1', status: 'queued', assignee: null, queue_position: 3, estimated_wait_seconds: 240, agent_read_up_to: null, rating: null });
    if (['/v1/widget/typing', '/v1/widget/read', '/v1/widget/rating'].includes(url.pathname)) return Promise.resolve(new Response(null, { status: 204 }));
    return json({ error: { code: 'not_found', message: 'no' } }, 404);
  };
  const events: [string, unknown][] = [];
  const unread: number[] = [];
  const host: ChatHost = {
    root: {} as ShadowRoot,
    launcher: {} as HTMLButtonElement,
    apiBase: 'http://kefu.test',
    widgetKey: 'wk_1',
    user: () => ({ external_id: 'u-1', name: 'Li' }),
    emit: (e, p) => events.push([e, p]),
    setUnread: (n) => unread.push(n),
    requestClose: () => undefined,
    setLang: () => undefined,
  };
  const c = new ChatController(host, { fetch: fetch as unknown as typeof globalThis.fetch, WebSocket: FakeSocket as unknown as typeof WebSocket });
  return {
    c,
    calls,
    events,
    unread,
    setServer: (m: ReturnType<typeof msg>[]) => {
      serverMessages = m;
    },
    server: () => serverMessages,
    /** The next `n` sends find their conversation gone (404 `not_found`). */
    goneFor: (n: number) => {
      goneSends = n;
    },
    /** Staff delete the conversation of `token`: every call with it answers 404 `not_found`. */
    deleteConversationOf: (token: string) => {
      deletedToken = token;
      serverMessages = [];
    },
  };
}

describe('ChatController', () => {
  it('leaves a message when nobody is online and the tenant takes messages, once', async () => {
    const { c, calls } = setup({ online: false, offline_mode: 'leave_message' });
    await c.init();
    expect(c.state.left).toBe(false);
    expect(await c.leaveMessage('   ', { email: 'li@example.com' })).toBe(false);
    expect(await c.leaveMessage(' 我想退货 ', { email: ' li@example.com ', phone: '' })).toBe(true);
    const left = calls.filter((x) => x.url === '/v1/widget/leave_message');
    expect(left).toHaveLength(1);
    expect(left[0]?.headers['X-Widget-Key']).toBe('wk_1');
    expect(left[0]?.body).toEqual({ visitor: { external_id: 'u-1', name: 'Li' }, content: '我想退货', contact: { email: 'li@example.com' } });
    expect(c.state.left).toBe(true);
    expect(await c.leaveMessage('again', { email: 'li@example.com' })).toBe(false);
    expect(calls.filter((x) => x.url === '/v1/widget/leave_message')).toHaveLength(1);
    expect(calls.some((x) => x.url === '/v1/widget/conversations')).toBe(false);
  });

  it('goes straight to the chat without a form, and the first send starts the conversation', async () => {
    const { c, calls } = setup();
    await c.init();
    expect(c.state.phase).toBe('chat');
    expect(calls[0]).toMatchObject({ url: '/v1/widget/config', headers: { 'X-Widget-Key': 'wk_1' } });
    c.setOpen(true);
    expect(await c.send('  Hello  ')).toBe(true);
    const start = calls.find((x) => x.url === '/v1/widget/conversations');
    expect(start?.body).toMatchObject({ visitor: { external_id: 'u-1', name: 'Li' } });
    const send = calls.find((x) => x.method === 'POST' && x.url === '/v1/widget/messages');
    expect(send?.body).toEqual({ content: 'Hello' });
    expect(send?.headers.Authorization).toBe('Bearer vt_secret');
    expect(send?.headers['Idempotency-Key']).toMatch(/.+/);
    expect(c.state.messages.map((m) => [m.author, m.content])).toEqual([['visitor', 'Hello']]);
    expect(c.state.pending).toEqual([]);
  });

  it('shows the form when one is configured, and refuses a bad one without calling the server', async () => {
    const { c, calls } = setup({
      pre_chat_form: { enabled: true, fields: [{ name: 'email', label: 'Email', type: 'email', required: true }] },
      groups: [{ id: 'gr_1', name: 'Sales' }],
    });
    await c.init();
    expect(c.state.phase).toBe('prechat');
    expect(await c.start({ email: 'nope' }, 'gr_1')).toBe(false);
    expect(c.state.fieldErrors).toEqual({ email: 'invalid_email' });
    expect(calls.some((x) => x.url === '/v1/widget/conversations')).toBe(false);
    expect(await c.start({ email: 'li@shop.example' }, 'gr_1')).toBe(true);
    expect(calls.find((x) => x.url === '/v1/widget/conversations')?.body).toMatchObject({
      pre_chat: { email: 'li@shop.example' },
      group_id: 'gr_1',
      visitor: { external_id: 'u-1', name: 'Li', email: 'li@shop.example' },
    });
    expect(c.state.phase).toBe('chat');
  });

  it('takes live messages once each, never notes, and counts unread replies while closed', async () => {
    const { c, events, unread } = setup();
    await c.init();
    c.setOpen(true);
    await c.send('Hi');
    await flush();
    const ws = FakeSocket.all[0]!;
    ws.onopen?.();
    await flush();
    c.setOpen(false);
    const reply = msg('ms_20', 'agent', 'Hello!');
    ws.frame({ type: 'message.created', conversation_id: 'cv_1', message: reply });
    ws.frame({ type: 'message.created', conversation_id: 'cv_1', message: reply });
    ws.frame({ type: 'message.created', conversation_id: 'cv_1', message: msg('ms_21', 'agent', 'secret note', true) });
    ws.frame({ type: 'message.created', conversation_id: 'cv_other', message: msg('ms_22', 'agent', 'not yours') });
    expect(c.state.messages.map((m) => m.content)).toEqual(['Hi', 'Hello!']);
    expect(unread.at(-1)).toBe(1);
    expect(events.filter(([e]) => e === 'message').map(([, m]) => (m as { content: string }).content)).toEqual(['Hi', 'Hello!']);
    c.setOpen(true);
    expect(unread.at(-1)).toBe(0);
  });

  it('catches up with after=<last id> when the socket comes back, without duplicates', async () => {
    const { c, calls, setServer, server } = setup();
    await c.init();
    c.setOpen(true);
    await c.send('Hi');
    await flush();
    FakeSocket.all[0]!.onopen?.();
    await flush();
    // While the socket is down, the agent answers twice.
    FakeSocket.all[0]!.onclose?.();
    setServer([...server(), msg('ms_30', 'agent', 'One'), msg('ms_31', 'agent', 'Two')]);
    await c.catchUp();
    const reads = calls.filter((x) => x.method === 'GET' && x.url.startsWith('/v1/widget/messages'));
    expect(reads.at(-1)?.url).toContain('after=ms_10');
    expect(c.state.messages.map((m) => m.content)).toEqual(['Hi', 'One', 'Two']);
    // A live copy of a message already caught up changes nothing.
    FakeSocket.all[0]!.onmessage?.({ data: JSON.stringify({ type: 'message.created', conversation_id: 'cv_1', message: msg('ms_31', 'agent', 'Two') }) });
    expect(c.state.messages).toHaveLength(3);
  });

  it('sends into a new conversation once when its conversation was deleted, and gives up after that', async () => {
    const { c, calls, goneFor } = setup();
    await c.init();
    expect(await c.send('first')).toBe(true);
    goneFor(1);
    expect(await c.send('are you there?')).toBe(true);
    const starts = calls.filter((x) => x.url === '/v1/widget/conversations');
    expect(starts).toHaveLength(2);
    const sends = calls.filter((x) => x.method === 'POST' && x.url === '/v1/widget/messages');
    expect(sends.map((x) => x.headers.Authorization)).toEqual(['Bearer vt_secret', 'Bearer vt_secret', 'Bearer vt_secret2']);
    expect(sends[1]?.headers['Idempotency-Key']).toBe(sends[2]?.headers['Idempotency-Key']);
    expect(c.state.messages.at(-1)).toMatchObject({ content: 'are you there?', conversation_id: 'cv_2' });
    expect(c.state.pending).toEqual([]);

    goneFor(2);
    expect(await c.send('hello?')).toBe(false);
    expect(calls.filter((x) => x.url === '/v1/widget/conversations')).toHaveLength(3);
    expect(c.state.pending.map((p) => p.status)).toEqual(['failed']);
  });

  it('starts afresh when a read finds its conversation deleted, and the next message opens a new one', async () => {
    const { c, calls, deleteConversationOf } = setup();
    await c.init();
    c.setOpen(true);
    expect(await c.send('first')).toBe(true);
    expect(c.state.messages).toHaveLength(1);
    deleteConversationOf('vt_secret');
    await c.refreshConversation();
    expect(c.state.messages).toEqual([]);
    expect(c.state.notice).toEqual({ key: 'gone' });
    expect(c.state.started).toBe(false);
    expect(await c.rate(3)).toBe(false);
    expect(calls.filter((x) => x.url === '/v1/widget/rating')).toHaveLength(0);
    expect(await c.send('hello again')).toBe(true);
    expect(calls.filter((x) => x.url === '/v1/widget/conversations')).toHaveLength(2);
    expect(c.state.messages.at(-1)).toMatchObject({ content: 'hello again', conversation_id: 'cv_2' });

    // The same when catching up, and a transcript asked of a deleted conversation says so.
    deleteConversationOf('vt_secret2');
    await c.catchUp();
    expect(c.state.started).toBe(false);
    expect(c.state.notice).toEqual({ key: 'gone' });
    expect(await c.send('third')).toBe(true);
    deleteConversationOf('vt_secret3');
    expect(await c.transcript('li@example.com')).toBe(false);
    expect(c.state.started).toBe(false);
    expect(c.state.notice).toEqual({ key: 'gone' });
  });

  it('refuses messages over 4000 characters without sending them', async () => {
    const { c, calls } = setup();
    await c.init();
    expect(await c.send('x'.repeat(4001))).toBe(false);
    expect(c.state.notice).toEqual({ key: 'too_long' });
    expect(calls.some((x) => x.method === 'POST')).toBe(false);
  });

  it('live chat: the agent typing (expiring by itself), read marks, recalls, the queue and a requested rating', async () => {
    vi.useFakeTimers({ shouldAdvanceTime: true });
    try {
      const { c, calls } = setup({ typing_preview: true });
      await c.init();
      c.setOpen(true);
      await c.send('Hello');
      await flush();
      const ws = FakeSocket.all[0] as FakeSocket;
      ws.onopen?.();
      await flush();
      expect(c.state.queue).toEqual({ position: 3, wait: 240 });

      ws.frame({ type: 'queue.position', conversation_id: 'cv_1', data: { position: 1, estimated_wait_seconds: null } });
      expect(c.state.queue).toEqual({ position: 1, wait: null });
      ws.frame({ type: 'conversation.assigned', conversation_id: 'cv_1', data: {} });
      expect(c.state.queue).toBeUndefined();

      ws.frame({ type: 'typing', conversation_id: 'cv_1', data: { who: 'agent', typing: true } });
      expect(c.state.agentTyping).toBe(true);
      vi.advanceTimersByTime(7000);
      expect(c.state.agentTyping).toBe(false);

      const mine = c.state.messages[0]?.id as string;
      ws.frame({ type: 'message.read', conversation_id: 'cv_1', data: { reader: 'agent', up_to: mine } });
      expect(c.state.agentReadUpTo).toBe(mine);

      ws.frame({ type: 'message.created', conversation_id: 'cv_1', message: { ...msg('ms_90', 'agent', 'wrong price'), recalled: false } });
      await flush();
      expect(calls.filter((x) => x.url === '/v1/widget/read').map((x) => x.body)).toEqual([{ up_to: 'ms_90' }]);
      ws.frame({ type: 'message.recalled', conversation_id: 'cv_1', data: { message_id: 'ms_90' } });
      expect(c.state.messages.find((m) => m.id === 'ms_90')).toMatchObject({ recalled: true, content: '' });

      ws.frame({ type: 'rating.requested', conversation_id: 'cv_1', data: {} });
      expect(c.state.ratingAsked).toBe(true);
      expect(await c.rate(3, ' 谢谢 ')).toBe(true);
      expect(calls.find((x) => x.url === '/v1/widget/rating')?.body).toEqual({ score: 3, comment: '谢谢' });
      expect(c.state).toMatchObject({ rated: 3, ratingAsked: false });
    } finally {
      vi.useRealTimers();
    }
  });

  it('sends typing once per burst with the draft when the tenant shows drafts, and stops after a pause', async () => {
    vi.useFakeTimers({ shouldAdvanceTime: true });
    try {
      const { c, calls } = setup({ typing_preview: true });
      await c.init();
      c.typing('before a conversation');
      expect(calls.some((x) => x.url === '/v1/widget/typing')).toBe(false);
      await c.send('Hello');
      c.typing('h');
      c.typing('he');
      c.typing('hel');
      const typing = () => calls.filter((x) => x.url === '/v1/widget/typing').map((x) => x.body);
      expect(typing()).toEqual([{ typing: true, draft: 'h' }]);
      vi.advanceTimersByTime(2600);
      expect(typing()).toEqual([{ typing: true, draft: 'h' }, { typing: true, draft: 'hel' }]);
      vi.advanceTimersByTime(1000);
      expect(typing()).toEqual([{ typing: true, draft: 'h' }, { typing: true, draft: 'hel' }, { typing: false }]);
    } finally {
      vi.useRealTimers();
    }
  });
});
