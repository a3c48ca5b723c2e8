import { describe, expect, it } from 'vitest';
import type { RuleView } from '../types';
import { matchRoute } from './routes';
import { actionText, bodyOf, draftOf, dryRunBody, emptyDraft, fieldOf, inRunOrder, parseDraft } from './rules';

const rule = (id: string, position: number): RuleView => ({
  id,
  position,
  name: id,
  event: 'message.received',
  enabled: true,
  stop_processing: false,
  conditions: { all: [{ field: 'message.content', op: 'contains', value: 'refund' }] },
  actions: [{ type: 'add_tag', tag: 'refund' }],
  created_at: '',
  updated_at: '',
});

const sample = { content: '', groupId: '', tags: '', pageUrl: '', unansweredMinutes: '' };

describe('rules', () => {
  it('lists rules in the order they run', () => {
    expect(inRunOrder([rule('ru_b', 2), rule('ru_c', 1), rule('ru_a', 2)]).map((r) => r.id)).toEqual(['ru_c', 'ru_a', 'ru_b']);
  });

  it('round-trips a rule through its draft', () => {
    const r = rule('ru_1', 3);
    expect(parseDraft(draftOf(r))).toEqual({ body: bodyOf(r) });
    const d = emptyDraft([rule('ru_1', 3), rule('ru_2', 7)]);
    expect(d.position).toBe('8');
    expect('body' in parseDraft({ ...d, name: 'New' })).toBe(true);
  });

  it('names the fields whose JSON is wrong before sending', () => {
    const d = { ...draftOf(rule('ru_1', 0)), name: ' ', position: 'x', conditions: '{"all": ', actions: '[{"tag": "x"}]' };
    const r = parseDraft(d);
    if (!('problems' in r)) throw new Error('expected problems');
    expect(r.problems.name?.key).toBe('rules.needName');
    expect(r.problems.position?.key).toBe('rules.badPosition');
    expect(r.problems.conditions?.key).toBe('rules.badJson');
    expect(r.problems.conditions?.detail).toBeTruthy();
    expect(r.problems.actions?.key).toBe('rules.badActions');
    const c = parseDraft({ ...draftOf(rule('ru_1', 0)), conditions: '{"all": {}}' });
    expect('problems' in c && c.problems.conditions?.key).toBe('rules.badConditions');
  });

  it('points the server’s field path at the form field', () => {
    expect(fieldOf('conditions.all[0].op')).toBe('conditions');
    expect(fieldOf('actions[1].group_id')).toBe('actions');
    expect(fieldOf('name')).toBe('name');
    expect(fieldOf('tenant')).toBeNull();
    expect(fieldOf(undefined)).toBeNull();
  });

  it('dry-runs a conversation or a sample, leaving out empty parts', () => {
    expect(dryRunBody('message.received', ' cv_1 ', { ...sample, content: 'x' })).toEqual({ event: 'message.received', conversation_id: 'cv_1' });
    expect(dryRunBody('message.received', '', { content: 'refund please', groupId: 'cg_1', tags: 'vip, new', pageUrl: '', unansweredMinutes: '5' })).toEqual({
      event: 'message.received',
      sample: { message: { content: 'refund please' }, customer: { group_id: 'cg_1', tags: ['vip', 'new'] }, conversation: { unanswered_minutes: 5 } },
    });
    expect(dryRunBody('conversation.created', '', sample)).toEqual({ event: 'conversation.created', sample: {} });
  });

  it('says an action in a line', () => {
    expect(actionText({ type: 'close' })).toBe('close');
    expect(actionText({ type: 'require_skills', skills: ['en', 'billing'] })).toBe('require_skills (skills=["en","billing"])');
    expect(actionText({ type: 'assign_group', group_id: 'gr_1' })).toBe('assign_group (group_id=gr_1)');
  });

  it('is the rules.manage screen at #/rules', () => {
    expect(matchRoute('#/rules')?.route.requires).toBe('rules.manage');
  });
});
