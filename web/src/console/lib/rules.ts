/**
 * The rules screen's pure parts: rules in the order they run, a rule as an editable draft (conditions and
 * actions as JSON text) and back, the JSON checked before sending, the server's `field` path (e.g.
 * `conditions.all[0].op`) pointed at the form field it is about, and the dry run's body.
 */
import type { RuleAction, RuleCondition, RuleView } from '../types';

export const RULE_EVENTS = ['conversation.created', 'message.received', 'conversation.unanswered', 'ticket.created', 'conversation.closed'] as const;

/** The fields of the rule form. */
export type RuleField = 'name' | 'event' | 'position' | 'conditions' | 'actions';

/** A rule being written. */
export interface RuleDraft {
  name: string;
  event: string;
  position: string;
  enabled: boolean;
  stopProcessing: boolean;
  conditions: string;
  actions: string;
}

/** `POST /v1/rules` / `PUT /v1/rules/{id}` body. */
export interface RuleBody {
  name: string;
  event: string;
  position: number;
  enabled: boolean;
  stop_processing: boolean;
  conditions: { all?: RuleCondition[]; any?: RuleCondition[] };
  actions: RuleAction[];
}

/** Rules in the order they run: ascending position, ties by id. */
export function inRunOrder<T extends { position: number; id: string }>(rules: T[]): T[] {
  return [...rules].sort((a, b) => a.position - b.position || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/** A new rule's draft, placed after the others. */
export function emptyDraft(rules: { position: number }[] = []): RuleDraft {
  const next = rules.reduce((m, r) => Math.max(m, r.position + 1), 0);
  return {
    name: '',
    event: 'message.received',
    position: String(next),
    enabled: true,
    stopProcessing: false,
    conditions: JSON.stringify({ all: [{ field: 'message.content', op: 'contains', value: '' }], any: [] }, null, 2),
    actions: JSON.stringify([{ type: 'add_tag', tag: '' }], null, 2),
  };
}

/** A saved rule's draft. */
export function draftOf(r: RuleView): RuleDraft {
  return {
    name: r.name,
    event: r.event,
    position: String(r.position),
    enabled: r.enabled,
    stopProcessing: r.stop_processing,
    conditions: JSON.stringify(r.conditions ?? {}, null, 2),
    actions: JSON.stringify(r.actions ?? [], null, 2),
  };
}

/** A saved rule's body (to change one thing, e.g. enabled). */
export function bodyOf(r: RuleView): RuleBody {
  return { name: r.name, event: r.event, position: r.position, enabled: r.enabled, stop_processing: r.stop_processing, conditions: r.conditions, actions: r.actions };
}

/** Problems found before sending: a message key (and the JSON parser's detail) per field. */
export type DraftProblems = Partial<Record<RuleField, { key: 'rules.needName' | 'rules.badPosition' | 'rules.badJson' | 'rules.badConditions' | 'rules.badActions'; detail?: string }>>;

function parse(text: string): { ok: true; value: unknown } | { ok: false; detail: string } {
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch (e) {
    return { ok: false, detail: e instanceof Error ? e.message : String(e) };
  }
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The draft as a body, or what is wrong with it (the server checks the rest and names the field). */
export function parseDraft(d: RuleDraft): { body: RuleBody } | { problems: DraftProblems } {
  const problems: DraftProblems = {};
  if (!d.name.trim()) problems.name = { key: 'rules.needName' };
  if (!/^-?\d+$/.test(d.position.trim())) problems.position = { key: 'rules.badPosition' };
  const c = parse(d.conditions.trim() || '{}');
  if (!c.ok) problems.conditions = { key: 'rules.badJson', detail: c.detail };
  else if (!isObject(c.value) || ['all', 'any'].some((k) => isObject(c.value) && c.value[k] !== undefined && !Array.isArray(c.value[k])))
    problems.conditions = { key: 'rules.badConditions' };
  const a = parse(d.actions.trim() || '[]');
  if (!a.ok) problems.actions = { key: 'rules.badJson', detail: a.detail };
  else if (!Array.isArray(a.value) || !a.value.every((x) => isObject(x) && typeof x.type === 'string')) problems.actions = { key: 'rules.badActions' };
  if (Object.keys(problems).length > 0 || !c.ok || !a.ok) return { problems };
  return {
    body: {
      name: d.name.trim(),
      event: d.event,
      position: Number(d.position.trim()),
      enabled: d.enabled,
      stop_processing: d.stopProcessing,
      conditions: c.value as RuleBody['conditions'],
      actions: a.value as RuleAction[],
    },
  };
}

/** The form field a server error's `field` path is about (`conditions.all[0].op` → `conditions`); null if none. */
export function fieldOf(path: string | undefined | null): RuleField | null {
  if (!path) return null;
  const head = /^[a-z_]+/.exec(path)?.[0];
  return head === 'name' || head === 'event' || head === 'position' || head === 'conditions' || head === 'actions' ? head : null;
}

/** The dry run's made-up facts, as the form holds them. */
export interface SampleForm {
  content: string;
  groupId: string;
  tags: string;
  pageUrl: string;
  unansweredMinutes: string;
}

/** `POST /v1/rules/dry_run`'s body: a real conversation's facts, or the sample's (empty parts left out). */
export function dryRunBody(event: string, conversationId: string, s: SampleForm, drafts?: RuleBody[]): Record<string, unknown> {
  const body: Record<string, unknown> = { event };
  if (drafts) body.rules = drafts;
  if (conversationId.trim()) {
    body.conversation_id = conversationId.trim();
    return body;
  }
  const sample: Record<string, Record<string, unknown>> = {};
  if (s.content) sample.message = { content: s.content };
  const tags = s.tags
    .split(/[,，]/)
    .map((x) => x.trim())
    .filter(Boolean);
  if (s.groupId.trim() || tags.length) sample.customer = { ...(s.groupId.trim() ? { group_id: s.groupId.trim() } : {}), tags };
  const conv: Record<string, unknown> = {};
  if (s.pageUrl.trim()) conv.page_url = s.pageUrl.trim();
  if (/^\d+$/.test(s.unansweredMinutes.trim())) conv.unanswered_minutes = Number(s.unansweredMinutes.trim());
  if (Object.keys(conv).length) sample.conversation = conv;
  body.sample = sample;
  return body;
}

/** An action in a line: its type and the rest of it. */
export function actionText(a: RuleAction): string {
  const { type, ...rest } = a;
  const more = Object.entries(rest)
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(', ');
  return more ? `${type} (${more})` : type;
}
