/**
 * The API shapes the console reads and writes, named once. They are the generated OpenAPI types
 * (`src/api/schema.d.ts`, from the server's `/v1/openapi.json`); the few the document leaves as a bare
 * object (a conversation's routing decision, a schedule's hours, a customer's attributes) are spelled out
 * here from API.md.
 */
import type { Schemas } from '../api/types';

/** A list answer (API.md: `{"items", "next_cursor"}`). */
export interface Page<T> {
  items: T[];
  next_cursor: string | null;
}

/** The `agent` of a sign-in, and `GET /v1/me` (which adds `permissions` and `restriction`). */
export type AgentView = Schemas['AgentView'] & { permissions?: string[]; restriction?: string | null };
/** `GET /v1/me`: the account, its role's permissions and the session's restriction. */
export type MeView = Schemas['MeView'];
/** A finished sign-in. */
export type LoginOk = Omit<Schemas['LoginOk'], 'agent'> & { agent: AgentView };
/** The first step of an MFA sign-in. */
export type MfaRequired = Schemas['MfaRequired'];
/** `GET /v1/me/sessions` items. */
export type SessionView = Schemas['SessionView'];
/** `POST /v1/me/mfa/totp`. */
export type TotpEnrolment = Schemas['TotpEnrolment'];
/** A conversation in the inbox. */
export type ConversationView = Schemas['ConversationView'];
/** A message. */
export type MessageView = Schemas['MessageView'];
/** `GET /v1/agents` items. */
export type AgentAdminView = Schemas['AgentAdminView'];
/** `GET /v1/groups` items. */
export type GroupView = Schemas['GroupView'];
/** `GET|PUT /v1/settings/assignment`. */
export type AssignmentSettings = Schemas['SettingsInput'];
/** One overflow rule of the assignment settings (`overflow`). */
export type OverflowRule = Schemas['OverflowInput'];
/** `GET|PUT /v1/settings/security`. */
export type SecuritySettings = Schemas['SecuritySettings'];
/** `GET /v1/roles` items. */
export type RoleView = Schemas['RoleView'];
/** `GET /v1/api_keys` items. */
export type ApiKeyView = Schemas['ApiKeyView'];
/** `POST /v1/api_keys`: the key, shown once. */
export type CreatedApiKey = Schemas['CreatedApiKey'];
/** `GET /v1/audit` items. */
export type AuditView = Schemas['AuditView'];

/** `GET /v1/quick_replies` items. */
export type QuickReplyView = Schemas['QuickReplyView'];
/** `GET /v1/tags` items. */
export type TagView = Schemas['TagView'];

/** `GET /v1/customers/{id}`, with its attributes typed. */
export type CustomerView = Omit<Schemas['CustomerView'], 'attributes'> & { attributes: Record<string, unknown> | null };
/** `GET /v1/customers/{id}`: the customer with its latest purchases, page trail and conversation count. */
export type CustomerProfile = CustomerView & Pick<Schemas['CustomerProfile'], 'purchases' | 'recent_pages' | 'conversations_count'>;
/** A purchase on a customer's profile. */
export type PurchaseView = Schemas['PurchaseView'];
/** A page of a customer's trail. */
export type PageView = Schemas['PageView'];
/** `GET /v1/blocks` items. */
export type BlockView = Schemas['BlockView'];
/** `GET /v1/approvals` items. */
export type ApprovalView = Schemas['ApprovalView'];
/** `GET /v1/live`. */
export type LiveBoard = Schemas['LiveBoard'];

/** Why routing left an agent out (`null`: eligible). */
export type Exclusion = 'offline' | 'at_capacity' | 'off_shift' | 'missing_skill' | 'not_in_group';

/** The last routing decision (API.md). */
export interface Routing {
  decided_at: string;
  strategy: string;
  chosen_agent_id: string | null;
  sticky?: boolean;
  outcome?: string;
  outside_working_hours?: boolean;
  candidates: { agent_id: string; excluded: Exclusion | null }[];
  candidates_omitted?: Record<string, number>;
}

/** `GET /v1/conversations/{id}`, with its routing decision typed. */
export type ConversationDetail = Omit<Schemas['ConversationDetail'], 'routing'> & { routing?: Routing | null };

/** A schedule's hours: ranges of `HH:MM` pairs. */
export type Hours = string[][];

/** `GET /v1/schedules` items. */
export interface ScheduleView {
  id: string;
  name: string;
  timezone: string;
  weekly: Record<string, Hours>;
  holidays: string[];
  overrides: { date: string; hours: Hours }[];
}

/** A pre-chat form field of the widget settings. */
export type PreChatField = Schemas['FormField'];

/** `GET|PUT /v1/settings/widget`: the settings and the tenant's widget key (for the embed snippet). */
export type WidgetSettings = Schemas['WidgetSettingsView'];

/** A ticket (`GET /v1/tickets`). */
export type TicketView = Schemas['TicketView'];
/** A ticket with its comments (`GET /v1/tickets/{id}`). */
export type TicketDetail = Schemas['TicketDetail'];
/** A comment on a ticket. */
export type CommentView = Schemas['CommentView'];

/** `GET /v1/stats`. */
export type StatsReport = Schemas['StatsReport'];
/** `GET /v1/exports/{id}` (and the 202 of `POST /v1/exports`). */
export type ExportView = Schemas['ExportView'];
/** `POST /v1/exports` body. */
export type NewExport = Schemas['NewExport'];
/** An operation waiting for approval (202 `{"approval_id", "status": "pending"}`; an export adds its future `id`). */
export type PendingApproval = Schemas['Pending'] & { id?: string };
/** `GET|PUT /v1/settings/retention`. */
export type RetentionSettings = Schemas['RetentionSettings'];
/** `POST /v1/retention/run`: what a run did or, dry, would do. */
export type RunReport = Schemas['RunReport'];
/** `GET /v1/rules` items, with conditions and actions as the JSON they are. */
export type RuleView = Omit<Schemas['RuleView'], 'conditions' | 'actions'> & {
  conditions: { all?: RuleCondition[]; any?: RuleCondition[] };
  actions: RuleAction[];
};
/** A rule's condition. */
export interface RuleCondition {
  field: string;
  op: string;
  value: unknown;
}
/** A rule's action (`{"type", ...}`). */
export type RuleAction = { type: string } & Record<string, unknown>;
/** `POST /v1/rules/dry_run`'s answer. */
export interface DryRunResult {
  matched: { rule_id?: string | null; name: string; actions: RuleAction[] }[];
}

// Issue 12: auto-replies, webhooks, my notification preferences.
/** `GET|PUT /v1/settings/auto_reply`. */
export type AutoReplySettings = Schemas['AutoReplySettings'];
/** `GET /v1/settings/webhooks` and its rotation. */
export type WebhookSettings = Schemas['WebhookSettings'];
/** `GET /v1/webhook_deliveries` items. */
export type DeliveryView = Schemas['DeliveryView'];
/** `GET|PUT /v1/me/notifications`. */
export type PreferencesView = Schemas['PreferencesView'];
/** `GET /v1/me/devices` items. */
export type DeviceView = Schemas['DeviceView'];
