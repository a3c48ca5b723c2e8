//! Every key of the single table, in one place. `docs/data-model.md` lists them with the access pattern
//! each serves. A tenant's id is in every key of its data, so no query can cross tenants.

use kefu_domain::{AgentId, ConversationId, CustomerGroupId, CustomerId, GroupId, MessageId, ScheduleId, TenantId};
use kefu_ports::{Condition, Key};

/// The tenant's own partition (its record, roles, agents, email claims).
pub fn tenant_pk(t: &TenantId) -> String {
    format!("T#{t}")
}

/// The tenant record.
pub fn tenant(t: &TenantId) -> Key {
    Key::new(tenant_pk(t), "TENANT")
}

/// A widget key → tenant lookup (visitors only know the widget key).
pub fn widget_key(key: &str) -> Key {
    Key::new(format!("WIDGETKEY#{key}"), "WIDGETKEY")
}

/// A role of a tenant.
pub fn role(t: &TenantId, role_id: &str) -> Key {
    Key::new(tenant_pk(t), format!("ROLE#{role_id}"))
}

/// Prefix of every role of a tenant.
pub const ROLE_PREFIX: &str = "ROLE#";

/// A staff account of a tenant.
pub fn agent(t: &TenantId, a: &AgentId) -> Key {
    Key::new(tenant_pk(t), format!("AGENT#{a}"))
}

/// Prefix of every staff account of a tenant.
pub const AGENT_PREFIX: &str = "AGENT#";

/// The tenant's administrator guard: a version bumped by every change that could leave the tenant without an
/// enabled administrator, so two such changes racing cannot both commit (see `access`).
pub fn admin_guard(t: &TenantId) -> Key {
    Key::new(tenant_pk(t), "ADMINGUARD")
}

/// The tenant's identity version: moved by every write that could change what a session check answers (see
/// `identity::version`), read first by each check.
pub fn identity_version(t: &TenantId) -> Key {
    Key::new(tenant_pk(t), "IDENTITY#VERSION")
}

/// The claim of an email address within a tenant (unique sign-in names), pointing at the account.
pub fn agent_email(t: &TenantId, email: &str) -> Key {
    Key::new(tenant_pk(t), format!("EMAIL#{email}"))
}

/// A sign-in session, by the SHA-256 of its token.
pub fn session(token_hash: &str) -> Key {
    Key::new(format!("SESSION#{token_hash}"), "SESSION")
}

/// Index partition listing one account's sessions (gsi1).
pub fn sessions_of(t: &TenantId, a: &AgentId) -> String {
    format!("T#{t}#AGENT#{a}#SESSIONS")
}

/// Outbox shards: events waiting to be published, spread over partitions.
pub const OUTBOX_SHARDS: u32 = 8;

/// An outbox shard's partition.
pub fn outbox_pk(shard: u32) -> String {
    format!("OUTBOX#{shard}")
}

/// An idempotency record of a consumer for one event.
pub fn idempotency(consumer: &str, event_id: &str) -> Key {
    Key::new(format!("IDEMP#{consumer}#{event_id}"), "IDEMP")
}

// ---- Conversations, messages, customers and the widget (H4; docs/data-model.md "Conversations and customers") ----

/// The partition of one conversation: the conversation item and its messages.
pub fn conversation_pk(t: &TenantId, c: &ConversationId) -> String {
    format!("T#{t}#CONV#{c}")
}

/// A conversation (the item; its messages share the partition).
pub fn conversation(t: &TenantId, c: &ConversationId) -> Key {
    Key::new(conversation_pk(t, c), "CONV")
}

/// The attribute a conversation item carries from the start of its deletion (`conversations::delete` sets it,
/// then deletes the rest of the partition, then the item). Every write that adds an item to the partition
/// conditions on its absence ([`conversation_live`]), so nothing lands after the contents were deleted.
pub const CONVERSATION_DELETING: &str = "deleting";

/// The condition on a conversation item that it exists and its deletion has not begun: a transaction that adds
/// an item to the conversation's partition (a message, a routing decision, statistics) carries it on the
/// conversation item, so the item it adds cannot outlive a deletion that began first (one that begins after it
/// deletes the item with the rest).
pub fn conversation_live() -> Condition {
    Condition::And(vec![Condition::Exists, Condition::AttrNotExists(CONVERSATION_DELETING.into())])
}

/// A conversation's last routing decision, beside it in its partition (read only by the conversation's detail,
/// so the conversation item every message reads and rewrites stays small).
pub fn conversation_routing(t: &TenantId, c: &ConversationId) -> Key {
    Key::new(conversation_pk(t, c), "ROUTING")
}

/// Sort-key prefix of a conversation's messages.
pub const MESSAGE_PREFIX: &str = "MSG#";

/// The sort key of a message: its ULID (upper case), so messages sort by time.
pub fn message_sk(m: &MessageId) -> String {
    format!("{MESSAGE_PREFIX}{}", m.ulid())
}

/// A message of a conversation.
pub fn message(t: &TenantId, c: &ConversationId, m: &MessageId) -> Key {
    Key::new(conversation_pk(t, c), message_sk(m))
}

/// The end of every message sort key (`~` sorts after every ULID character).
pub const MESSAGE_END: &str = "MSG#~";

/// A visitor's `Idempotency-Key` claim on one conversation, by the SHA-256 of the key.
pub fn send_claim(t: &TenantId, c: &ConversationId, key_hash: &str) -> Key {
    Key::new(conversation_pk(t, c), format!("SEND#{key_hash}"))
}

/// gsi1 partition of every conversation of a tenant, sorted by last activity (`{last_message_ms:015}#{id}`).
pub fn conversations_index(t: &TenantId) -> String {
    format!("T#{t}#CONVS")
}

/// The sort key of a conversation in [`conversations_index`].
pub fn conversations_index_sk(last_message_ms: i64, c: &ConversationId) -> String {
    format!("{last_message_ms:015}#{c}")
}

/// A visitor token, by the SHA-256 of the token (like staff sessions).
pub fn visitor_token(token_hash: &str) -> Key {
    Key::new(format!("VISITOR#{token_hash}"), "VISITOR")
}

/// The partition of one customer: the profile and one pointer per conversation.
pub fn customer_pk(t: &TenantId, cu: &CustomerId) -> String {
    format!("T#{t}#CUST#{cu}")
}

/// A customer's profile.
pub fn customer(t: &TenantId, cu: &CustomerId) -> Key {
    Key::new(customer_pk(t, cu), "CUST")
}

/// A customer's pointer to one of its conversations (sorted by conversation id, so by creation).
pub fn customer_conversation(t: &TenantId, cu: &CustomerId, c: &ConversationId) -> Key {
    Key::new(customer_pk(t, cu), format!("CONV#{c}"))
}

/// Sort-key prefix of a customer's conversation pointers.
pub const CUSTOMER_CONVERSATION_PREFIX: &str = "CONV#";

/// The claim of an `external_id` within a tenant: returning visitors map to the same customer.
pub fn customer_external(t: &TenantId, external_id: &str) -> Key {
    Key::new(tenant_pk(t), format!("CUSTEXT#{external_id}"))
}

/// gsi1 partition of every customer of a tenant, by customer id (creation order).
pub fn customers_index(t: &TenantId) -> String {
    format!("T#{t}#CUSTS")
}

/// gsi2 partition of the customers of one customer group, by customer id.
pub fn customers_of_group_index(t: &TenantId, g: &CustomerGroupId) -> String {
    format!("T#{t}#CGROUP#{g}#CUSTS")
}

/// The partition of a tenant's customer search terms: sort key `{term}#{customer_id}`, so `q` is a prefix query.
pub fn customer_search_pk(t: &TenantId) -> String {
    format!("T#{t}#CUSTSEARCH")
}

/// One search term of a customer.
pub fn customer_search(t: &TenantId, term: &str, cu: &CustomerId) -> Key {
    Key::new(customer_search_pk(t), format!("{term}#{cu}"))
}

/// A customer group.
pub fn customer_group(t: &TenantId, g: &CustomerGroupId) -> Key {
    Key::new(tenant_pk(t), format!("CGROUP#{g}"))
}

/// Prefix of every customer group of a tenant.
pub const CUSTOMER_GROUP_PREFIX: &str = "CGROUP#";

// ---------------------------------------------------------------------------------------------------------------
// Real time (H5): tickets, WebSocket connection records, the presence grace index.
// ---------------------------------------------------------------------------------------------------------------

/// A one-time real-time ticket, by the SHA-256 of the ticket (a global lookup: the WebSocket handshake carries
/// nothing but the ticket).
pub fn realtime_ticket(ticket_hash: &str) -> Key {
    Key::new(format!("WSTICKET#{ticket_hash}"), "WSTICKET")
}

/// A WebSocket connection, by its id (a global lookup: API Gateway's `$disconnect` knows only the id).
pub fn connection(connection_id: &str) -> Key {
    Key::new(format!("WSCONN#{connection_id}"), "WSCONN")
}

/// Index partition (gsi1) of one agent's connections; the sort key is the connection id.
pub fn agent_connections(t: &TenantId, a: &AgentId) -> String {
    format!("T#{t}#AGENT#{a}#WS")
}

/// Index partition (gsi2) of every staff connection of a tenant (the sockets of everyone signed in to the
/// console); the sort key is the connection id. The watchers of an unassigned conversation are found in it.
pub fn staff_connections(t: &TenantId) -> String {
    format!("T#{t}#STAFF#WS")
}

/// Index partition (gsi1) of one conversation's visitor connections; the sort key is the connection id.
pub fn visitor_connections(t: &TenantId, conversation_id: &str) -> String {
    format!("T#{t}#CONV#{conversation_id}#WS")
}

/// An agent whose last connection dropped: due to be set away unless it reconnects first.
pub fn presence_pending(t: &TenantId, a: &AgentId) -> Key {
    Key::new(tenant_pk(t), format!("PRESENCE#{a}"))
}

/// How many index partitions the presence due list is spread over.
pub const PRESENCE_SHARDS: u32 = 4;

/// Index partition (gsi1) of a presence due list shard; the sort key is `{due epoch ms, 13 digits}#{tenant}#{agent}`.
pub fn presence_due_pk(shard: u32) -> String {
    format!("PRESENCEDUE#{shard}")
}

// ---- Rate limits (shared) ----

/// One fixed window of a rate limit: `scope` names the limit, `key` what is limited, `window` the window's
/// number since the epoch.
pub fn rate_window(scope: &str, key: &str, window: i64) -> Key {
    Key::new(format!("RL#{scope}#{key}"), format!("W#{window}"))
}

// ---- Audit log (shared) ----

/// The partition of a tenant's audit chain (its entries and its head).
pub fn audit_pk(t: &TenantId) -> String {
    format!("T#{t}#AUDIT")
}

/// Sort-key prefix of audit entries (the head sorts apart, under `HEAD`).
pub const AUDIT_ENTRY_PREFIX: &str = "E#";

/// Audit entry number `seq` (zero-padded so the partition sorts in chain order).
pub fn audit_entry(t: &TenantId, seq: u64) -> Key {
    Key::new(audit_pk(t), format!("{AUDIT_ENTRY_PREFIX}{seq:012}"))
}

/// The head of a tenant's audit chain: the last sequence number and hash.
pub fn audit_head(t: &TenantId) -> Key {
    Key::new(audit_pk(t), "HEAD")
}

/// How many partitions the audit entries waiting for their place in a chain are spread over (as the outbox).
pub const AUDIT_PENDING_SHARDS: u32 = 8;

/// A partition of audit entries committed with a change and not yet appended to their tenant's chain.
pub fn audit_pending_pk(shard: u32) -> String {
    format!("AUDITQ#{shard}")
}

/// The index sort key of an audit entry: epoch milliseconds (15 digits, fixed width so the string order is
/// the time order: RFC 3339 text with an optional fraction is not) and the sequence number.
pub fn audit_time_sk(at: jiff::Timestamp, seq: u64) -> String {
    format!("{:015}#{seq:012}", at.as_millisecond().max(0))
}

/// gsi1 partition of a tenant's audit entries by time (`gsi1sk =` [`audit_time_sk`]), for `since`/`until`.
pub fn audit_by_time(t: &TenantId) -> String {
    format!("T#{t}#AUDIT#BYTIME")
}

/// gsi2 partition of one actor's audit entries by time (`gsi2sk =` [`audit_time_sk`]), for `actor_id`.
pub fn audit_by_actor(t: &TenantId, actor: &str) -> String {
    format!("T#{t}#AUDIT#ACTOR#{actor}")
}

// ---------------------------------------------------------------------------------------------------------------
// Routing: agents' load, groups, schedules, assignment settings, the waiting queue (H3, `assignment`).
// ---------------------------------------------------------------------------------------------------------------

/// The routing partition of a tenant: assignment settings, every agent's routing/load item, groups and
/// schedules. One `Query` on it is the whole snapshot a routing decision needs.
pub fn routing_pk(t: &TenantId) -> String {
    format!("T#{t}#ROUTING")
}

/// The assignment settings of a tenant.
pub fn assignment_settings(t: &TenantId) -> Key {
    Key::new(routing_pk(t), "SETTINGS")
}

/// Prefix of the agents' routing items in the routing partition (the same sort keys as the accounts').
pub const AGENT_LOAD_PREFIX: &str = "AGENT#";

/// An agent's routing item: status, groups, skills, capacity and its active count (the capacity invariant).
pub fn agent_load(t: &TenantId, a: &AgentId) -> Key {
    Key::new(routing_pk(t), format!("{AGENT_LOAD_PREFIX}{a}"))
}

/// Prefix of the groups in the routing partition.
pub const GROUP_PREFIX: &str = "GROUP#";

/// An agent group.
pub fn group(t: &TenantId, g: &GroupId) -> Key {
    Key::new(routing_pk(t), format!("{GROUP_PREFIX}{g}"))
}

/// Prefix of the schedules in the routing partition.
pub const SCHEDULE_PREFIX: &str = "SCHEDULE#";

/// A schedule (working hours or a shift).
pub fn schedule(t: &TenantId, s: &ScheduleId) -> Key {
    Key::new(routing_pk(t), format!("{SCHEDULE_PREFIX}{s}"))
}

/// The last agent who served a customer (sticky routing).
pub fn last_agent(t: &TenantId, c: &CustomerId) -> Key {
    Key::new(format!("T#{t}#STICKY#{c}"), "STICKY")
}

/// gsi2 partition of a tenant's waiting queue (queued conversations).
pub fn queue_pk(t: &TenantId) -> String {
    format!("T#{t}#QUEUE")
}

/// gsi2 sort key of a queued conversation: priority rank, then waiting since (epoch ms, fixed width), then id,
/// so the index's order is the queue's order.
pub fn queue_sk(rank: u8, waiting_since: jiff::Timestamp, c: &ConversationId) -> String {
    format!("{rank}#{:015}#{c}", waiting_since.as_millisecond().max(0))
}

/// gsi2 partition of an agent's conversations in a status (`open` or `closed`): `assignee=me`.
pub fn assigned_pk(t: &TenantId, a: &AgentId, status: &str) -> String {
    format!("T#{t}#ASSIGNED#{a}#{status}")
}

/// gsi2 sort key of an assigned conversation: since when (epoch ms, fixed width), then id.
pub fn assigned_sk(at: jiff::Timestamp, c: &ConversationId) -> String {
    format!("{:015}#{c}", at.as_millisecond().max(0))
}

/// A tenant's queue pace (`chat::QueuePace`): the recent interval between conversations leaving the queue.
pub fn queue_pace(t: &TenantId) -> Key {
    Key::new(tenant_pk(t), "QUEUEPACE")
}

/// The partition listing tenants whose waiting queue is not empty (timers drain them every minute).
pub const QUEUED_TENANTS_PK: &str = "QUEUED_TENANTS";

/// A tenant's entry in [`QUEUED_TENANTS_PK`].
pub fn queued_tenant(t: &TenantId) -> Key {
    Key::new(QUEUED_TENANTS_PK, t.as_str())
}
// ---- Identity and security (H2: settings, lockout, sessions, MFA, API keys) ----

/// A tenant's security policy (`GET|PUT /v1/settings/security`).
pub fn security_settings(t: &TenantId) -> Key {
    Key::new(tenant_pk(t), "SETTINGS#SECURITY")
}

/// A tenant's widget settings (`GET|PUT /v1/settings/widget`): what `GET /v1/widget/config` shows visitors,
/// the origins allowed to embed the widget (CORS), the pre-chat form and the groups visitors may choose.
pub fn widget_settings(t: &TenantId) -> Key {
    Key::new(tenant_pk(t), "SETTINGS#WIDGET")
}

/// The consecutive failed sign-ins of one email in one tenant, and its lock. Keyed by the email, not the
/// account, so an unknown email locks exactly like a real one (no enumeration through 423).
pub fn login_failures(t: &TenantId, email: &str) -> Key {
    Key::new(tenant_pk(t), format!("LOGINFAIL#{email}"))
}

/// A pending second sign-in step, by the SHA-256 of its challenge.
pub fn mfa_challenge(challenge_hash: &str) -> Key {
    Key::new(format!("MFACHALLENGE#{challenge_hash}"), "MFACHALLENGE")
}

/// An API key's lookup item, by the SHA-256 of the key (what `X-Api-Key` resolves through).
pub fn api_key_secret(key_hash: &str) -> Key {
    Key::new(format!("APIKEY#{key_hash}"), "APIKEY")
}

/// An API key's record in its tenant's partition (listing and revocation).
pub fn api_key(t: &TenantId, key_id: &str) -> Key {
    Key::new(tenant_pk(t), format!("{API_KEY_PREFIX}{key_id}"))
}

/// Prefix of every API key record of a tenant.
pub const API_KEY_PREFIX: &str = "APIKEY#";

// ---------------------------------------------------------------------------------------------------------------
// Security monitoring: anomaly counters, known networks, alert deliveries (H1, `anomaly` and `alerts`).
// ---------------------------------------------------------------------------------------------------------------

/// The partition of one anomaly counter of a tenant: `rule` names what is counted (`signin_fail_account`,
/// `reads`…), `subject` whom (an email, an IP, an account id).
pub fn anomaly_pk(t: &TenantId, rule: &str, subject: &str) -> String {
    format!("T#{t}#ANOMALY#{rule}#{subject}")
}

/// A fixed window's counter of an anomaly rule (`window` = epoch seconds / window length).
pub fn anomaly_window(t: &TenantId, rule: &str, subject: &str, window: i64) -> Key {
    Key::new(anomaly_pk(t, rule, subject), format!("W#{window}"))
}

/// A target already counted in a window (mass reads count distinct customers and conversations).
pub fn anomaly_seen(t: &TenantId, rule: &str, subject: &str, window: i64, target: &str) -> Key {
    Key::new(anomaly_pk(t, rule, subject), format!("W#{window}#{target}"))
}

/// The partition of the networks an account has signed in from.
pub fn known_networks_pk(t: &TenantId, a: &str) -> String {
    format!("T#{t}#NETWORKS#{a}")
}

/// One network (`203.0.113.0/24`, `2001:db8:1::/48`) an account has signed in from.
pub fn known_network(t: &TenantId, a: &str, network: &str) -> Key {
    Key::new(known_networks_pk(t, a), format!("NET#{network}"))
}

/// That a security alert was emailed to one admin (so a retried delivery does not email them twice).
pub fn alert_sent(t: &TenantId, event_id: &str, agent: &str) -> Key {
    Key::new(format!("T#{t}#ALERTSENT#{event_id}"), format!("AGENT#{agent}"))
}

// ---- Tags (the registry, its name claims, where each tag is used, pending removals) ----

/// A registered tag of a tenant (`GET /v1/tags` reads them by prefix).
pub fn tag(t: &TenantId, tag_id: &str) -> Key {
    Key::new(tenant_pk(t), format!("{TAG_PREFIX}{tag_id}"))
}

/// Prefix of every registered tag of a tenant.
pub const TAG_PREFIX: &str = "TAG#";

/// A folded tag name's claim: one tag per name up to case and width; kept, marked `deleting`, while the removal
/// of a deleted tag runs, so no new tag of that name is made before the old one is gone everywhere.
pub fn tag_name(t: &TenantId, folded: &str) -> Key {
    Key::new(tenant_pk(t), format!("{TAG_NAME_PREFIX}{folded}"))
}

/// Prefix of every tag-name claim of a tenant.
pub const TAG_NAME_PREFIX: &str = "TAGNAME#";

/// Marks a tenant that has a tag registry (written with its first tag, never removed): from then on only
/// registered tags may be newly written to conversations and customers.
pub fn tag_registry_marker(t: &TenantId) -> Key {
    Key::new(tenant_pk(t), "TAGREGISTRY")
}

/// Where a tag (by folded name) was written: one item per conversation or customer (sort key
/// `conversation#<id>` / `customer#<id>`), read page by page when the tag is deleted.
pub fn tag_usage_pk(t: &TenantId, folded: &str) -> String {
    format!("{}#TAGUSE#{folded}", tenant_pk(t))
}

/// One use of a tag.
pub fn tag_usage(t: &TenantId, folded: &str, target: &str, id: &str) -> Key {
    Key::new(tag_usage_pk(t, folded), format!("{target}#{id}"))
}

/// The partition of pending tag removals of every tenant (timers work through them every minute).
pub const TAG_CLEANUPS_PK: &str = "TAG_CLEANUPS";

/// A deleted tag's pending removal.
pub fn tag_cleanup(t: &TenantId, tag_id: &str) -> Key {
    Key::new(TAG_CLEANUPS_PK, format!("{t}#{tag_id}"))
}

// ---- Quick replies (one partition per owner: the team, or an agent; and its search terms) ----

/// The partition of an owner's quick replies (`owner` is `team` or an agent id): its replies and shortcut claims.
pub fn quick_replies_pk(t: &TenantId, owner: &str) -> String {
    format!("{}#QR#{owner}", tenant_pk(t))
}

/// A quick reply.
pub fn quick_reply(t: &TenantId, owner: &str, id: &str) -> Key {
    Key::new(quick_replies_pk(t, owner), format!("{QUICK_REPLY_PREFIX}{id}"))
}

/// Prefix of every quick reply in an owner's partition.
pub const QUICK_REPLY_PREFIX: &str = "QR#";

/// A shortcut's claim in an owner's partition (unique per scope and owner).
pub fn quick_reply_shortcut(t: &TenantId, owner: &str, shortcut: &str) -> Key {
    Key::new(quick_replies_pk(t, owner), format!("SHORTCUT#{shortcut}"))
}

/// The search terms of an owner's quick replies.
pub fn quick_reply_terms_pk(t: &TenantId, owner: &str) -> String {
    format!("{}#QRTERM#{owner}", tenant_pk(t))
}

/// One search term of a quick reply (`{term}#{id}`: a search queries the prefix `{term}#`).
pub fn quick_reply_term(t: &TenantId, owner: &str, term: &str, id: &str) -> Key {
    Key::new(quick_reply_terms_pk(t, owner), format!("{term}#{id}"))
}

// ---------------------------------------------------------------------------------------------------------------
// Blocks (issue 11): one record per block, and the tenant's active set read once per widget request.
// ---------------------------------------------------------------------------------------------------------------

/// One block of a tenant (listed by `GET /v1/blocks`; its `ttl` is its expiry, so a lapsed block is absent).
pub fn block(t: &TenantId, block_id: &str) -> Key {
    Key::new(tenant_pk(t), format!("{BLOCK_PREFIX}{block_id}"))
}

/// Prefix of every block record of a tenant.
pub const BLOCK_PREFIX: &str = "BLOCK#";

/// The tenant's active blocks in one item (targets and expiries, a bounded count): the widget's hot path reads
/// this one item per request instead of querying the records.
pub fn active_blocks(t: &TenantId) -> Key {
    Key::new(tenant_pk(t), "BLOCKS")
}

// ---------------------------------------------------------------------------------------------------------------
// Customers' purchases, page trail and counts (issue 11), in the customer's partition.
// ---------------------------------------------------------------------------------------------------------------

/// A purchase of a customer, by the shop's order id (so re-posting an order updates it).
pub fn customer_purchase(t: &TenantId, cu: &CustomerId, order_id: &str) -> Key {
    Key::new(customer_pk(t, cu), format!("ORDER#{order_id}"))
}

/// gsi1 partition of a customer's purchases, sorted by `{purchased_at}#{order_id}` (newest first backwards).
pub fn customer_purchases_index(t: &TenantId, cu: &CustomerId) -> String {
    format!("{}#ORDERS", customer_pk(t, cu))
}

/// One page view of a customer (sort key `PAGE#{ulid}`: by time), kept for [`PAGEVIEW_TTL_DAYS`].
pub fn customer_pageview(t: &TenantId, cu: &CustomerId, ulid: &str) -> Key {
    Key::new(customer_pk(t, cu), format!("{CUSTOMER_PAGEVIEW_PREFIX}{ulid}"))
}

/// Sort-key prefix of a customer's page views.
pub const CUSTOMER_PAGEVIEW_PREFIX: &str = "PAGE#";

/// How long a page view is kept (the profile shows the newest 50; older ones lapse by `ttl`).
pub const PAGEVIEW_TTL_DAYS: i64 = 30;

/// A customer's counters (`conversations`), apart from the profile so a conversation start adds to it in the
/// same transaction that writes or updates the profile.
pub fn customer_counts(t: &TenantId, cu: &CustomerId) -> Key {
    Key::new(customer_pk(t, cu), "COUNTS")
}
// ---------------------------------------------------------------------------------------------------------------
// Tickets (issue 11, `tickets`): the ticket and its comments in one partition, and an index for each filter.
// ---------------------------------------------------------------------------------------------------------------

/// The partition of one ticket: the ticket (`TICKET`) and its comments (`COMMENT#{id}`, oldest first).
pub fn ticket_pk(t: &TenantId, id: &kefu_domain::ticket::TicketId) -> String {
    format!("T#{t}#TICKET#{id}")
}

/// A ticket.
pub fn ticket(t: &TenantId, id: &kefu_domain::ticket::TicketId) -> Key {
    Key::new(ticket_pk(t, id), "TICKET")
}

/// A comment on a ticket (comment ids are ULIDs, so the partition reads oldest first).
pub fn ticket_comment(
    t: &TenantId,
    id: &kefu_domain::ticket::TicketId,
    comment: &kefu_domain::ticket::TicketCommentId,
) -> Key {
    Key::new(ticket_pk(t, id), format!("COMMENT#{comment}"))
}

/// Sort-key prefix of a ticket's comments.
pub const TICKET_COMMENT_PREFIX: &str = "COMMENT#";

/// gsi1 partition of a tenant's tickets in one status (`?status=`), by ticket id (creation order).
pub fn tickets_by_status(t: &TenantId, status: kefu_domain::TicketStatus) -> String {
    format!("T#{t}#TICKETS#STATUS#{status}")
}

/// gsi2 partition of a tenant's tickets assigned to one agent, or to nobody (`?assignee=`), by ticket id.
pub fn tickets_by_assignee(t: &TenantId, a: Option<&AgentId>) -> String {
    match a {
        Some(a) => format!("T#{t}#TICKETS#AGENT#{a}"),
        None => format!("T#{t}#TICKETS#AGENT#none"),
    }
}

/// The partition of pointers to every ticket of a tenant (`GET /v1/tickets` without a filter), by ticket id.
pub fn tickets_pk(t: &TenantId) -> String {
    format!("T#{t}#TICKETS")
}

/// A ticket's pointer in [`tickets_pk`].
pub fn ticket_pointer(t: &TenantId, id: &kefu_domain::ticket::TicketId) -> Key {
    Key::new(tickets_pk(t), id.as_str())
}

/// The partition of pointers to the tickets of one agent group (`?group_id=`), by ticket id.
pub fn tickets_of_group_pk(t: &TenantId, g: &GroupId) -> String {
    format!("T#{t}#GROUP#{g}#TICKETS")
}

/// A ticket's pointer in [`tickets_of_group_pk`].
pub fn group_ticket(t: &TenantId, g: &GroupId, id: &kefu_domain::ticket::TicketId) -> Key {
    Key::new(tickets_of_group_pk(t, g), id.as_str())
}

/// A customer's pointer to one of its tickets (`GET /v1/customers/{id}/tickets`), in the customer's partition.
pub fn customer_ticket(t: &TenantId, cu: &CustomerId, id: &kefu_domain::ticket::TicketId) -> Key {
    Key::new(customer_pk(t, cu), format!("TICKET#{id}"))
}

/// Sort-key prefix of a customer's ticket pointers.
pub const CUSTOMER_TICKET_PREFIX: &str = "TICKET#";

// ---- Approvals (issue 11) ----

/// A tenant's approval settings (`GET|PUT /v1/settings/approvals`): which operations wait for a second person.
pub fn approval_settings(t: &TenantId) -> Key {
    Key::new(tenant_pk(t), "SETTINGS#APPROVALS")
}

/// An approval request (`/v1/approvals`), in the tenant's partition.
pub fn approval(t: &TenantId, id: &kefu_domain::approval::ApprovalId) -> Key {
    Key::new(tenant_pk(t), format!("APPROVAL#{id}"))
}

/// gsi1 partition of a tenant's approval requests in one status (`?status=`), by approval id (request order).
pub fn approvals_by_status(t: &TenantId, status: kefu_domain::ApprovalStatus) -> String {
    format!("T#{t}#APPROVALS#{status}")
}

// ---- Automation rules (issue 12: one item per rule in the tenant's rules partition) ----

/// The partition of a tenant's rules: the whole rule set is one Query.
pub fn rules_pk(t: &TenantId) -> String {
    format!("{}#RULES", tenant_pk(t))
}

/// One rule of a tenant.
pub fn rule(t: &TenantId, id: &kefu_domain::ids::RuleId) -> Key {
    Key::new(rules_pk(t), format!("{RULE_PREFIX}{id}"))
}

/// Sort-key prefix of a tenant's rules.
pub const RULE_PREFIX: &str = "RULE#";

/// The version of a tenant's rule set (`version`, one more on every rule written or deleted, in the same
/// transaction): a process keeps the compiled rule set for the version it read (`plumbing::memo`).
pub fn rules_version(t: &TenantId) -> Key {
    Key::new(rules_pk(t), "VERSION")
}

// ---- Auto-replies (issue 12) ----

/// A tenant's auto-replies (`GET|PUT /v1/settings/auto_reply`): the welcome and off-hours messages.
pub fn auto_reply_settings(t: &TenantId) -> Key {
    Key::new(tenant_pk(t), "SETTINGS#AUTO_REPLY")
}

// ---- Notifications (issue 12) ----

/// An agent's notification preferences (`GET|PUT /v1/me/notifications`).
pub fn notification_preferences(t: &TenantId, a: &AgentId) -> Key {
    Key::new(tenant_pk(t), format!("NOTIFY_PREFS#{a}"))
}

/// The partition of an agent's registered phones (`/v1/me/devices`): listed with one Query.
pub fn devices_pk(t: &TenantId, a: &AgentId) -> String {
    format!("{}#DEVICES#{a}", tenant_pk(t))
}

/// One registered phone of an agent.
pub fn device(t: &TenantId, a: &AgentId, id: &kefu_domain::ids::DeviceId) -> Key {
    Key::new(devices_pk(t, a), format!("{DEVICE_PREFIX}{id}"))
}

/// Sort-key prefix of an agent's registered phones.
pub const DEVICE_PREFIX: &str = "DEVICE#";

// ---- Webhooks (issue 12) ----

/// A tenant's webhook signing secret (`GET /v1/settings/webhooks`).
pub fn webhook_settings(t: &TenantId) -> Key {
    Key::new(tenant_pk(t), "SETTINGS#WEBHOOKS")
}

/// The partition of a tenant's webhook deliveries (the delivery log), newest last by id.
pub fn webhook_deliveries_pk(t: &TenantId) -> String {
    format!("{}#WEBHOOKS", tenant_pk(t))
}

/// One webhook delivery.
pub fn webhook_delivery(t: &TenantId, id: &kefu_domain::ids::WebhookDeliveryId) -> Key {
    Key::new(webhook_deliveries_pk(t), format!("{WEBHOOK_DELIVERY_PREFIX}{id}"))
}

/// Sort-key prefix of webhook deliveries.
pub const WEBHOOK_DELIVERY_PREFIX: &str = "DELIVERY#";

/// gsi1 partition of a tenant's webhook deliveries in one status (`?status=`), by delivery id.
pub fn webhook_deliveries_by_status(t: &TenantId, status: &str) -> String {
    format!("{}#WEBHOOKS#{status}", tenant_pk(t))
}

// ---- Statistics (issue 13, `stats`; docs/data-model.md "Statistics") ----

/// A tenant's statistics partition: one item per day × agent × group, added to as events happen.
pub fn stats_pk(t: &TenantId) -> String {
    format!("T#{t}#STATS")
}

/// Which of `shards` partitions `id` falls in: a stable string hash (×31 fold, so keys written before stay where
/// they are), shared by every sharded partition (outbox, audit pending, presence, upload due list, statistics).
pub fn shard_of(id: &str, shards: u32) -> u32 {
    id.bytes().fold(0u32, |h, b| h.wrapping_mul(31).wrapping_add(u32::from(b))) % shards
}

/// The sort key of a statistics item: the tenant's day (`YYYY-MM-DD`, so a range of days is one `Between`),
/// the agent (`-`: none) and the group (`-`: the default group).
pub fn stats_cell_sk(day: &str, agent: Option<&AgentId>, group: Option<&GroupId>) -> String {
    let agent = agent.map_or("-", AgentId::as_str);
    let group = group.map_or("-", GroupId::as_str);
    format!("{}{day}#A#{agent}#G#{group}", STATS_DAY_PREFIX)
}

/// How many items a day × agent × group's visitor messages are spread over ([`stats_cell_shard_sk`]).
pub const STATS_MESSAGE_SHARDS: u32 = 8;

/// The sort key of one of the [`STATS_MESSAGE_SHARDS`] items that count a day × group's visitor messages as
/// intake stores them: every visitor message of a group adds to its day's item, in the message's own
/// transaction, so the count is spread by conversation to keep any one item cool (DynamoDB serialises
/// transactions on an item). The report sums every item of a day whatever its sort key says after the group.
pub fn stats_cell_shard_sk(day: &str, agent: Option<&AgentId>, group: Option<&GroupId>, shard: u32) -> String {
    format!("{}#S{shard}", stats_cell_sk(day, agent, group))
}

/// Sort-key prefix of the statistics items (followed by the day).
pub const STATS_DAY_PREFIX: &str = "DAY#";

/// A statistics item.
pub fn stats_cell(t: &TenantId, sk: &str) -> Key {
    Key::new(stats_pk(t), sk)
}

/// A conversation's statistics state (the agents it was counted for, its first response), in its partition so
/// that deleting the conversation deletes it.
pub fn conversation_stats(t: &TenantId, c: &ConversationId) -> Key {
    Key::new(conversation_pk(t, c), "STATS")
}

/// The mark that an event was counted in the statistics (written with the counts; kept while a duplicate can
/// still be delivered).
pub fn stats_counted(t: &TenantId, event_id: &str) -> Key {
    Key::new(format!("T#{t}#STATSEV#{event_id}"), "STATSEV")
}

/// How long a counted mark is kept: longer than a queue keeps a message (14 days).
pub const STATS_COUNTED_TTL_DAYS: i64 = 15;

// ---- Exports (issue 13, `exports`; docs/data-model.md "Exports") ----

/// An export of a tenant (`GET /v1/exports/{id}`).
pub fn export(t: &TenantId, id: &kefu_domain::ids::ExportId) -> Key {
    Key::new(tenant_pk(t), format!("EXPORT#{id}"))
}

/// The blob an export is written to.
pub fn export_blob(t: &TenantId, id: &kefu_domain::ids::ExportId, extension: &str) -> String {
    format!("exports/{t}/{id}.{extension}")
}

/// The key that signs `kefu serve`'s download links (made once, at random, on first use).
pub fn export_link_key() -> Key {
    Key::new("EXPORTLINKKEY", "EXPORTLINKKEY")
}

// ---- Retention (issue 13, `retention`; docs/data-model.md "Retention") ----

/// A tenant's retention settings.
pub fn retention_settings(t: &TenantId) -> Key {
    Key::new(tenant_pk(t), "SETTINGS#RETENTION")
}

/// The partition listing tenants with a retention period (the daily run reads it, never every tenant).
pub const RETENTION_TENANTS_PK: &str = "RETENTION_TENANTS";

/// A tenant's entry in [`RETENTION_TENANTS_PK`].
pub fn retention_tenant(t: &TenantId) -> Key {
    Key::new(RETENTION_TENANTS_PK, t.as_str())
}

/// The archive of one page of a tenant's conversations whose last activity fell on `day` (compressed JSONL),
/// named by the page's first conversation and `digest`, a hash of its lines: a repeated page writes the same
/// object again, and a page whose content differs (a run cut short while it deleted the page's first
/// conversation) writes a new one instead of replacing the archive that holds what was deleted.
pub fn archive_blob(t: &TenantId, day: &str, first: &ConversationId, digest: &str) -> String {
    format!("archive/{t}/{day}/{first}-{digest}.jsonl.gz")
}

// ---- Timers (issue 12, `timers`; docs/data-model.md "Timers") ----

/// Sort-key prefix of the agents a conversation has had (in the conversation's partition).
pub const HAD_PREFIX: &str = "HAD#";

/// An agent a conversation has had (a reassignment never goes back to it).
pub fn had_agent(t: &TenantId, c: &ConversationId, a: &AgentId) -> Key {
    Key::new(conversation_pk(t, c), format!("{HAD_PREFIX}{a}"))
}

// ---- Attachments (issue 15, `conversations::attachments`; docs/data-model.md "Attachments") ----

/// An attachment, in its conversation's partition (a conversation's deletion takes it along).
pub fn attachment(t: &TenantId, c: &ConversationId, a: &kefu_domain::AttachmentId) -> Key {
    Key::new(conversation_pk(t, c), format!("UPLOAD#{a}"))
}

/// How many index partitions the due list of pending uploads is spread over.
pub const UPLOAD_DUE_SHARDS: u32 = 4;

/// Index partition (gsi1) of a shard of the pending uploads' due list; the sort key is
/// `{expires epoch ms, 13 digits}#{tenant}#{conversation}#{attachment}`.
pub fn upload_due_pk(shard: u32) -> String {
    format!("UPLOADDUE#{shard}")
}

/// The key local attachment links are signed with (made once at random).
pub fn attachment_link_key() -> Key {
    Key::new("ATTACHLINKKEY", "ATTACHLINKKEY")
}
