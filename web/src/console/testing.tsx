/**
 * For component tests only (never imported by the console): renders a screen inside a console state with a fake
 * API client that answers from a table of handlers and records every request.
 */
import { createRef, render, type JSX } from 'preact';
import { act } from 'preact/test-utils';
import type { Client, RequestOptions } from '../shared/http';
import { translator } from '../shared/i18n';
import { MESSAGES } from './i18n';
import type { Permission } from './lib/permissions';
import { ConsoleContext, type ConsoleState } from './state';
import type { ScreenProps } from './screens/props';

/** One recorded request. */
export interface Call {
  method: string;
  path: string;
  body?: unknown;
  query?: RequestOptions['query'];
}

/** Answers a request (throw to fail it); keyed `METHOD /path`. */
export type Handler = (call: Call) => unknown;

/** A fake client: the handler of `METHOD /path` answers; an unknown request throws. */
export function fakeClient(handlers: Record<string, Handler>): { client: Client; calls: Call[] } {
  const calls: Call[] = [];
  const request = <T,>(method: string, path: string, o: RequestOptions = {}): Promise<T> => {
    const call: Call = { method, path, body: o.body, query: o.query };
    calls.push(call);
    const h = handlers[`${method} ${path}`];
    if (!h) return Promise.reject(new Error(`unexpected ${method} ${path}`));
    try {
      return Promise.resolve(h(call) as T);
    } catch (e) {
      return Promise.reject(e instanceof Error ? e : new Error(String(e)));
    }
  };
  const client: Client = {
    request,
    get: (p, o) => request('GET', p, o),
    post: (p, b, o) => request('POST', p, { ...o, body: b }),
    put: (p, b, o) => request('PUT', p, { ...o, body: b }),
    patch: (p, b, o) => request('PATCH', p, { ...o, body: b }),
    del: (p, o) => request('DELETE', p, o),
  };
  return { client, calls };
}

/** Renders `Screen` signed in with `perms`; answers the container and what was announced. */
export async function mount(
  Screen: (p: ScreenProps) => JSX.Element,
  client: Client,
  perms: Permission[] = [],
): Promise<{ root: HTMLElement; announced: string[]; unmount: () => void }> {
  const root = document.createElement('div');
  document.body.appendChild(root);
  const announced: string[] = [];
  const state: ConsoleState = {
    lang: 'en',
    setLang: () => undefined,
    t: translator(MESSAGES, 'en'),
    client,
    me: null,
    setMe: () => undefined,
    perms: new Set(perms),
    restriction: null,
    setRestriction: () => undefined,
    signedIn: () => undefined,
    signOut: () => Promise.resolve(),
    announce: (text) => announced.push(text),
    onFrame: () => () => undefined,
    onReconnect: () => () => undefined,
    liveState: 'open',
    alertsOn: false,
    enableAlerts: () => Promise.resolve(),
  };
  const props: ScreenProps = { params: {}, query: new URLSearchParams(), headingRef: createRef() };
  await act(() => {
    render(
      <ConsoleContext.Provider value={state}>
        <Screen {...props} />
      </ConsoleContext.Provider>,
      root,
    );
  });
  await settle();
  return {
    root,
    announced,
    unmount: () => {
      render(null, root);
      root.remove();
    },
  };
}

/** Lets pending answers arrive and the screen render them. */
export async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await act(() => new Promise<void>((r) => setTimeout(r, 0)));
}

/** Sets a form control's value as typing would. */
export async function type(el: Element | null, value: string): Promise<void> {
  if (!(el instanceof HTMLInputElement || el instanceof HTMLTextAreaElement || el instanceof HTMLSelectElement)) throw new Error('not a control');
  await act(() => {
    el.value = value;
    el.dispatchEvent(new Event(el instanceof HTMLSelectElement ? 'change' : 'input', { bubbles: true }));
  });
}

/** Clicks an element. */
export async function click(el: Element | null): Promise<void> {
  if (!(el instanceof HTMLElement)) throw new Error('nothing to click');
  await act(() => el.click());
  await settle();
}

/** The control labelled `text` (its `<label for>`). */
export function byLabel(root: HTMLElement, text: string): HTMLElement | null {
  const label = [...root.querySelectorAll('label')].find((l) => l.textContent?.trim() === text);
  if (!label) return null;
  const id = label.getAttribute('for');
  return id ? root.querySelector<HTMLElement>(`[id="${id}"]`) : label.querySelector('input');
}
