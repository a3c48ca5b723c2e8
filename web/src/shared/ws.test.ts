import { afterEach, describe, expect, it, vi } from 'vitest';
import { ApiError } from './http';
import { connectLive, parseFrame, PING, PING_EVERY_MS, ticketUrl, type Frame, type LiveState } from './ws';

/** A WebSocket stand-in the test drives by hand. */
class FakeSocket {
  static all: FakeSocket[] = [];
  onopen: (() => void) | null = null;
  onmessage: ((ev: { data: unknown }) => void) | null = null;
  onclose: (() => void) | null = null;
  closed = false;
  sent: string[] = [];
  constructor(readonly url: string) {
    FakeSocket.all.push(this);
  }
  send(data: string) {
    this.sent.push(data);
  }
  close() {
    this.closed = true;
  }
}

/** Runs scheduled retries only when the test says so, and records their delays. */
function manualScheduler() {
  const pending: { fn: () => void; ms: number }[] = [];
  return {
    pending,
    schedule: (fn: () => void, ms: number) => {
      const entry = { fn, ms };
      pending.push(entry);
      return () => pending.splice(pending.indexOf(entry), 1);
    },
    runNext() {
      pending.shift()?.fn();
    },
  };
}

const flush = () => new Promise((r) => setTimeout(r, 0));

function setup(ticket: () => Promise<{ ticket: string; url: string }>) {
  FakeSocket.all = [];
  const sched = manualScheduler();
  const frames: Frame[] = [];
  const opens: boolean[] = [];
  const states: LiveState[] = [];
  const live = connectLive({
    ticket,
    onFrame: (f) => frames.push(f),
    onOpen: (re) => opens.push(re),
    onState: (s) => states.push(s),
    backoff: { baseMs: 100, maxMs: 1000, jitter: 0 },
    WebSocket: FakeSocket as unknown as typeof WebSocket,
    schedule: sched.schedule,
  });
  return { live, sched, frames, opens, states };
}

describe('connectLive', () => {
  it('opens {url}?ticket=..., passes frames on, and reconnects with a fresh ticket after a drop', async () => {
    let n = 0;
    const { live, sched, frames, opens } = setup(() => Promise.resolve({ ticket: `t${++n}`, url: 'ws://k.example/v1/realtime' }));
    await flush();
    expect(FakeSocket.all[0]!.url).toBe('ws://k.example/v1/realtime?ticket=t1');
    FakeSocket.all[0]!.onopen?.();
    FakeSocket.all[0]!.onmessage?.({ data: '{"type":"message.created","conversation_id":"cv_1"}' });
    FakeSocket.all[0]!.onmessage?.({ data: 'not json' });
    expect(frames).toEqual([{ type: 'message.created', conversation_id: 'cv_1' }]);
    expect(opens).toEqual([false]);

    FakeSocket.all[0]!.onclose?.();
    expect(sched.pending.map((p) => p.ms)).toEqual([100]);
    sched.runNext();
    await flush();
    expect(FakeSocket.all[1]!.url).toBe('ws://k.example/v1/realtime?ticket=t2');
    FakeSocket.all[1]!.onopen?.();
    // The second open is a reconnect: the caller catches up then.
    expect(opens).toEqual([false, true]);
    live.stop();
    expect(FakeSocket.all[1]!.closed).toBe(true);
  });

  it('backs off further while the ticket request keeps failing, and resets after a success', async () => {
    let fail = 3;
    const { sched, opens } = setup(() =>
      fail-- > 0 ? Promise.reject(new ApiError(0, { code: 'network_error', message: 'down' })) : Promise.resolve({ ticket: 't', url: 'ws://x/' }),
    );
    const delays: number[] = [];
    for (let i = 0; i < 3; i++) {
      await flush();
      delays.push(sched.pending[0]!.ms);
      sched.runNext();
    }
    await flush();
    expect(delays).toEqual([100, 200, 400]);
    FakeSocket.all[0]!.onopen?.();
    FakeSocket.all[0]!.onclose?.();
    expect(sched.pending[0]!.ms).toBe(100);
    expect(opens).toEqual([false]);
  });

  it('stops for good when the token is refused (401)', async () => {
    const { sched, states, live } = setup(() => Promise.reject(new ApiError(401, { code: 'unauthenticated', message: 'no' })));
    await flush();
    expect(sched.pending).toHaveLength(0);
    expect(states.at(-1)).toBe('stopped');
    expect(live.state).toBe('stopped');
  });

  it('ignores a socket closed after stop, and retryNow skips the wait', async () => {
    const { sched, live } = setup(() => Promise.resolve({ ticket: 't', url: 'ws://x/' }));
    await flush();
    FakeSocket.all[0]!.onclose?.();
    expect(sched.pending).toHaveLength(1);
    live.retryNow();
    expect(sched.pending).toHaveLength(0);
    await flush();
    expect(FakeSocket.all).toHaveLength(2);
    live.stop();
    FakeSocket.all[1]!.onclose?.();
    expect(sched.pending).toHaveLength(0);
  });
});

describe('ticketUrl and parseFrame', () => {
  it('appends the ticket, keeping an existing query', () => {
    expect(ticketUrl({ ticket: 'a b', url: 'wss://x/ws?stage=1' })).toBe('wss://x/ws?stage=1&ticket=a%20b');
  });
  it('accepts only JSON objects with a type', () => {
    expect(parseFrame('{"type":"typing","data":{"typing":true}}')).toEqual({ type: 'typing', data: { typing: true } });
    expect(parseFrame('[1]')).toBeUndefined();
    expect(parseFrame('{"no":"type"}')).toBeUndefined();
    expect(parseFrame(new ArrayBuffer(2))).toBeUndefined();
  });
});

/** A document's visibility the test switches by hand. */
class FakeVisibility {
  visibilityState: DocumentVisibilityState = 'visible';
  private listeners = new Set<() => void>();
  addEventListener(_type: string, l: () => void) {
    this.listeners.add(l);
  }
  removeEventListener(_type: string, l: () => void) {
    this.listeners.delete(l);
  }
  get listening() {
    return this.listeners.size;
  }
  set(state: DocumentVisibilityState) {
    this.visibilityState = state;
    for (const l of this.listeners) l();
  }
}

describe('keeping the socket alive', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  function start(visibility = new FakeVisibility()) {
    FakeSocket.all = [];
    const sched = manualScheduler();
    const frames: Frame[] = [];
    const live = connectLive({
      ticket: () => Promise.resolve({ ticket: 't', url: 'ws://k.example/v1/realtime' }),
      onFrame: (f) => frames.push(f),
      backoff: { baseMs: 100, maxMs: 1000, jitter: 0 },
      WebSocket: FakeSocket as unknown as typeof WebSocket,
      schedule: sched.schedule,
      visibility: visibility as unknown as Document,
    });
    return { live, sched, visibility, frames };
  }

  it('pings every five minutes while open, well inside the 10-minute idle limit of the server', async () => {
    vi.useFakeTimers();
    const { live, frames } = start();
    await vi.advanceTimersByTimeAsync(0);
    const ws = FakeSocket.all[0]!;
    await vi.advanceTimersByTimeAsync(PING_EVERY_MS * 3);
    expect(ws.sent).toEqual([]); // not open yet: nothing is sent
    ws.onopen?.();
    await vi.advanceTimersByTimeAsync(PING_EVERY_MS - 1);
    expect(ws.sent).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(ws.sent).toEqual([PING]);
    expect(JSON.parse(PING)).toEqual({ action: 'ping' });
    // The server's answer is not handed to the caller.
    ws.onmessage?.({ data: '{"type":"pong"}' });
    expect(frames).toEqual([]);
    await vi.advanceTimersByTimeAsync(PING_EVERY_MS);
    expect(ws.sent).toEqual([PING, PING]);
    expect(PING_EVERY_MS).toBeLessThan(10 * 60_000);
    live.stop();
    await vi.advanceTimersByTimeAsync(PING_EVERY_MS * 3);
    expect(ws.sent).toEqual([PING, PING]);
  });

  it('stops pinging a closed socket and pings the next one from its own open', async () => {
    vi.useFakeTimers();
    const { live, sched } = start();
    await vi.advanceTimersByTimeAsync(0);
    const first = FakeSocket.all[0]!;
    first.onopen?.();
    first.onclose?.();
    await vi.advanceTimersByTimeAsync(PING_EVERY_MS * 2);
    expect(first.sent).toEqual([]);
    sched.runNext();
    await vi.advanceTimersByTimeAsync(0);
    const second = FakeSocket.all[1]!;
    second.onopen?.();
    await vi.advanceTimersByTimeAsync(PING_EVERY_MS);
    expect(second.sent).toEqual([PING]);
    expect(first.sent).toEqual([]);
    live.stop();
  });

  it('pings when the tab becomes visible again, and reconnects at once if it was waiting', async () => {
    vi.useFakeTimers();
    const { live, sched, visibility } = start();
    await vi.advanceTimersByTimeAsync(0);
    const ws = FakeSocket.all[0]!;
    ws.onopen?.();
    visibility.set('hidden');
    expect(ws.sent).toEqual([]);
    visibility.set('visible');
    expect(ws.sent).toEqual([PING]);

    ws.onclose?.();
    expect(sched.pending).toHaveLength(1);
    visibility.set('hidden');
    expect(FakeSocket.all).toHaveLength(1);
    visibility.set('visible');
    await vi.advanceTimersByTimeAsync(0);
    expect(sched.pending).toHaveLength(0);
    expect(FakeSocket.all).toHaveLength(2);
    live.stop();
    expect(visibility.listening).toBe(0);
  });

  it('never pings when told not to', async () => {
    vi.useFakeTimers();
    FakeSocket.all = [];
    const live = connectLive({
      ticket: () => Promise.resolve({ ticket: 't', url: 'ws://k.example/v1/realtime' }),
      onFrame: () => undefined,
      WebSocket: FakeSocket as unknown as typeof WebSocket,
      pingEveryMs: 0,
      visibility: new FakeVisibility() as unknown as Document,
    });
    await vi.advanceTimersByTimeAsync(0);
    FakeSocket.all[0]!.onopen?.();
    await vi.advanceTimersByTimeAsync(PING_EVERY_MS * 4);
    expect(FakeSocket.all[0]!.sent).toEqual([]);
    live.stop();
  });
});
