/**
 * The component of each route of `lib/routes.ts`, by route id. A later screen is one entry here and one in
 * the route table.
 */
import type { JSX } from 'preact';
import type { ScreenProps } from './props';

export type { ScreenProps } from './props';
import { Account } from './account';
import { Agents } from './admin/agents';
import { ApiKeys } from './admin/api-keys';
import { Assignment } from './admin/assignment';
import { Audit } from './admin/audit';
import { Groups } from './admin/groups';
import { Roles } from './admin/roles';
import { Schedules } from './admin/schedules';
import { Security } from './admin/security';
import { Tags } from './admin/tags';
import { WidgetSettingsScreen } from './admin/widget';
import { QuickReplies } from './quick-replies';
import { Blocks } from './admin/blocks';
import { Approvals } from './admin/approvals';
import { Ticket, Tickets } from './tickets';
import { Live } from './live';
import { Stats } from './stats';
import { Exports } from './exports';
import { Retention } from './retention';
import { Rules } from './rules';
import { Workspace } from './workspace';
import { AutoReply } from './admin/auto-reply';
import { Webhooks } from './admin/webhooks';
import { Notifications } from './notifications';

/** Screens by route id. */
export const SCREENS: Record<string, (p: ScreenProps) => JSX.Element> = {
  inbox: Workspace,
  conversation: Workspace,
  account: Account,
  agents: Agents,
  groups: Groups,
  schedules: Schedules,
  assignment: Assignment,
  roles: Roles,
  security: Security,
  apiKeys: ApiKeys,
  audit: Audit,
  widget: WidgetSettingsScreen,
  tags: Tags,
  quickReplies: QuickReplies,
  blocks: Blocks,
  approvals: Approvals,
  tickets: Tickets,
  ticket: Ticket,
  live: Live,
  stats: Stats,
  exports: Exports,
  retention: Retention,
  rules: Rules,
  autoReply: AutoReply,
  webhooks: Webhooks,
  notifications: Notifications,
};
