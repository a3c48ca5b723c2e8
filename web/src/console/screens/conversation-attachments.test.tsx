// @vitest-environment happy-dom
import { createRef } from 'preact';
import { act } from 'preact/test-utils';
import { describe, expect, it } from 'vitest';
import type { Uploader } from '../../shared/upload';
import { click, fakeClient, mount, settle } from '../testing';
import { Conversation } from './conversation';
import type { Directory } from './directory';

const detail = {
  id: 'cv_1',
  customer_id: 'cu_1',
  status: 'open',
  assignee_id: 'ag_1',
  group_id: null,
  priority: 'normal',
  tags: [],
  created_at: '2026-01-01T00:00:00Z',
  last_message_at: '2026-01-01T00:00:00Z',
  unread: 0,
  skills: [],
};
const file = (id: string, name: string, type: string) => ({ id, name, content_type: type, size: 2048, url: `http://kefu.test/v1/widget/files/${id}?sig=s` });
const message = (id: string, author: string, attachments: ReturnType<typeof file>[]) => ({
  id,
  conversation_id: 'cv_1',
  author,
  author_id: author === 'agent' ? 'ag_1' : 'cu_1',
  content: '',
  internal: false,
  created_at: new Date().toISOString(),
  recalled: false,
  attachments,
});

function screen(upload: Uploader) {
  const dir: Directory = { agents: new Map(), groups: new Map(), complete: true };
  return function Screen() {
    return <Conversation id="cv_1" headingRef={createRef()} dir={dir} reloadDir={() => undefined} control={{ current: null }} onChanged={() => undefined} upload={upload} />;
  };
}

describe('conversation attachments', () => {
  it('shows pictures inline and other files as links, and sends a pasted screenshot with progress', async () => {
    const puts: { url: string; headers: Record<string, string>; size: number }[] = [];
    const upload: Uploader = (url, headers, body, onProgress) => {
      puts.push({ url, headers, size: body.size });
      onProgress(1);
      return Promise.resolve();
    };
    const { client, calls } = fakeClient({
      'GET /v1/conversations/cv_1': () => detail,
      'GET /v1/conversations/cv_1/messages': () => ({
        items: [message('ms_1', 'visitor', [file('at_1', 'shot.png', 'image/png'), file('at_2', 'invoice.pdf', 'application/pdf')])],
        next_cursor: null,
      }),
      'GET /v1/quick_replies': () => ({ items: [], next_cursor: null }),
      'POST /v1/conversations/cv_1/read': () => undefined,
      'POST /v1/conversations/cv_1/attachments': (c) => ({
        attachment_id: 'at_9',
        upload_url: 'http://kefu.test/v1/widget/uploads/at_9?sig=u',
        upload_headers: { 'content-type': (c.body as { content_type: string }).content_type },
        expires_at: '2026-01-01T00:15:00Z',
      }),
      'POST /v1/conversations/cv_1/messages': () => message('ms_2', 'agent', [file('at_9', 'pasted.png', 'image/png')]),
    });
    const { root, announced, unmount } = await mount(screen(upload), client, ['conversations.reply']);
    const img = root.querySelector<HTMLImageElement>('[data-testid="attachment-image"]');
    expect(img?.getAttribute('src')).toBe('http://kefu.test/v1/widget/files/at_1?sig=s');
    expect(img?.getAttribute('alt')).toBe('shot.png');
    expect(root.querySelector('[data-testid="attachment-link"]')?.textContent).toBe('invoice.pdf (2.0 KB)');

    // A screenshot pasted into the composer (clipboard files have no name).
    const shot = new File([new Uint8Array([137, 80, 78, 71])], '', { type: 'image/png' });
    const paste = new Event('paste', { bubbles: true, cancelable: true });
    Object.defineProperty(paste, 'clipboardData', { value: { items: [{ kind: 'file', getAsFile: () => shot }] } });
    await act(() => {
      root.querySelector('[data-testid="composer"]')?.dispatchEvent(paste);
    });
    await settle();
    expect(paste.defaultPrevented).toBe(true);
    expect(calls.find((c) => c.method === 'POST' && c.path.endsWith('/attachments'))?.body).toEqual({ name: 'pasted.png', content_type: 'image/png', size: 4 });
    expect(puts).toEqual([{ url: 'http://kefu.test/v1/widget/uploads/at_9?sig=u', headers: { 'content-type': 'image/png' }, size: 4 }]);
    expect(calls.find((c) => c.method === 'POST' && c.path.endsWith('/messages'))?.body).toEqual({ content: '', internal: false, attachment_ids: ['at_9'] });
    expect(root.querySelectorAll('[data-testid="attachment-image"]')).toHaveLength(2);
    expect(root.querySelector('[data-testid="upload"]')).toBeNull();
    expect(announced).toContain('File sent.');
    unmount();
  });

  it('keeps a failed upload in view and sends no message for it', async () => {
    const { client, calls } = fakeClient({
      'GET /v1/conversations/cv_1': () => detail,
      'GET /v1/conversations/cv_1/messages': () => ({ items: [], next_cursor: null }),
      'GET /v1/quick_replies': () => ({ items: [], next_cursor: null }),
      'POST /v1/conversations/cv_1/attachments': () => ({ attachment_id: 'at_9', upload_url: 'http://x', upload_headers: {}, expires_at: 'x' }),
    });
    const { root, unmount } = await mount(screen(() => Promise.reject(new Error('network down'))), client, ['conversations.reply']);
    const input = root.querySelector<HTMLInputElement>('[data-testid="attach-input"]')!;
    Object.defineProperty(input, 'files', { value: [new File(['%PDF-1.7'], 'a.pdf', { type: 'application/pdf' })] });
    await act(() => {
      input.dispatchEvent(new Event('change', { bubbles: true }));
    });
    await settle();
    expect(root.querySelector('[data-testid="upload"]')?.getAttribute('data-status')).toBe('failed');
    expect(calls.some((c) => c.method === 'POST' && c.path.endsWith('/messages'))).toBe(false);
    await click(root.querySelector('[data-testid="upload"] button'));
    expect(root.querySelector('[data-testid="upload"]')).toBeNull();
    unmount();
  });
});
