// @vitest-environment happy-dom
import { describe, expect, it, vi } from 'vitest';
import { ApiError } from '../../shared/http';
import { byLabel, click, fakeClient, mount, type } from '../testing';
import type { RuleView } from '../types';
import { Rules } from './rules';

const rule = (id: string, position: number, enabled = true): RuleView => ({
  id,
  position,
  name: `Rule ${id}`,
  event: 'message.received',
  enabled,
  stop_processing: false,
  conditions: { all: [{ field: 'message.content', op: 'contains', value: 'refund' }] },
  actions: [{ type: 'add_tag', tag: 'refund' }],
  created_at: '',
  updated_at: '',
});

describe('rules screen', () => {
  it('lists rules in run order and disables one with a PUT of the whole rule', async () => {
    const { client, calls } = fakeClient({
      'GET /v1/rules': () => ({ items: [rule('ru_b', 5), rule('ru_a', 1)], next_cursor: null }),
      'PUT /v1/rules/ru_a': (c) => c.body,
    });
    const { root, announced, unmount } = await mount(Rules, client, ['rules.manage']);
    const rows = [...root.querySelectorAll('[data-testid="rule-row"]')];
    expect(rows.map((r) => r.querySelector('th')?.textContent)).toEqual(['Rule ru_a', 'Rule ru_b']);
    expect(rows[0]?.textContent).toContain('add_tag (tag=refund)');
    await click(root.querySelector('[aria-label="Disable Rule ru_a"]'));
    const put = calls.find((c) => c.method === 'PUT');
    expect(put?.body).toMatchObject({ name: 'Rule ru_a', enabled: false, position: 1, actions: [{ type: 'add_tag', tag: 'refund' }] });
    expect(announced).toContain('Rule ru_a disabled.');
    unmount();
  });

  it('checks the JSON first, then shows the API’s validation error at its field', async () => {
    const post = vi.fn(() => {
      throw new ApiError(400, { code: 'validation_failed', message: 'unknown op "like"', field: 'conditions.all[0].op' });
    });
    const { client } = fakeClient({ 'GET /v1/rules': () => ({ items: [], next_cursor: null }), 'POST /v1/rules': post });
    const { root, unmount } = await mount(Rules, client, ['rules.manage']);
    await click(root.querySelector('[data-testid="rule-add"]'));
    const dialog = root.querySelector('dialog');
    if (!dialog) throw new Error('no dialog');
    expect(dialog.open).toBe(true);
    await type(byLabel(dialog, 'Name'), 'Refunds');
    await type(dialog.querySelector('[data-testid="rule-conditions"]'), '{"all": [');
    await click(dialog.querySelector('[data-testid="rule-save"]'));
    expect(post).not.toHaveBeenCalled();
    const conditions = dialog.querySelector('[data-testid="rule-conditions"]');
    expect(conditions?.getAttribute('aria-invalid')).toBe('true');
    expect(dialog.textContent).toContain('This is not valid JSON.');
    await type(conditions, '{"all": [{"field": "message.content", "op": "like", "value": "x"}]}');
    await click(dialog.querySelector('[data-testid="rule-save"]'));
    expect(post).toHaveBeenCalledTimes(1);
    expect(dialog.textContent).toContain('conditions.all[0].op: unknown op "like"');
    expect(conditions?.getAttribute('aria-invalid')).toBe('true');
    unmount();
  });

  it('dry-runs a sample and lists the matching rules with their actions', async () => {
    const { client, calls } = fakeClient({
      'GET /v1/rules': () => ({ items: [], next_cursor: null }),
      'POST /v1/rules/dry_run': () => ({ matched: [{ rule_id: 'ru_1', name: 'Refunds', actions: [{ type: 'assign_group', group_id: 'gr_1' }] }] }),
    });
    const { root, announced, unmount } = await mount(Rules, client, ['rules.manage']);
    await type(byLabel(root, 'Message text'), 'I want a refund');
    await click(root.querySelector('[data-testid="rule-dry-run-submit"]'));
    expect(calls.at(-1)?.body).toEqual({ event: 'message.received', sample: { message: { content: 'I want a refund' } } });
    const matched = root.querySelector('[data-testid="rule-matched"]');
    expect(matched?.textContent).toContain('Refunds');
    expect(matched?.textContent).toContain('assign_group (group_id=gr_1)');
    expect(announced).toContain('Rules that match: 1.');
    unmount();
  });
});
