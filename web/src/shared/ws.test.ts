import { describe, expect, it } from 'vitest';
import { ApiError } from './http';
import { connectLive, parseFrame, ticketUrl, type Frame, type LiveState } from './ws';

/** A WebSocket stand-in the test drives by hand. */
class FakeSocket {
  static all: FakeSocket[] = [];
  onopen: (() => void) | null = null;
  onmessage: ((ev: { data: unknown }) => void) | null = null;
  onclose: (() => void) | null = null;
  closed = false;
  constructor(readonly url: string) {
    FakeSocket.all.push(this);
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
