//! Kefu's domain: the types, policies and decisions of a customer-service platform, with no I/O, no async and
//! no AWS types. Values that can be invalid have parsing constructors, so nothing invalid exists past the edge.

pub mod approval;
pub mod attachment;
pub mod automation;
pub mod block;
pub mod conversation;
pub mod customer;
pub mod customer_change;
pub mod error;
pub mod export;
pub mod ids;
pub mod masking;
pub mod notification;
pub mod pageview;
pub mod permission;
pub mod purchase;
pub mod quick_reply;
pub mod routing;
pub mod schedule;
pub mod security;
pub mod stats;
pub mod tag;
pub mod text;
pub mod ticket;
pub mod webhook;
pub mod widget;

pub use approval::{ApprovalSettings, ApprovalStatus, Decision, SensitiveOperation};
pub use block::{Block, BlockTarget};
pub use conversation::{Author, ConversationStatus, MessageContent, TagName};
pub use customer::{ExternalId, Phone};
pub use error::ValidationError;
pub use ids::{
    AgentId, AttachmentId, ConversationId, CustomerGroupId, CustomerId, GroupId, MessageId, RoleId, ScheduleId,
    TenantId,
};
pub use permission::{BuiltinRole, Permission, PermissionSet, Roster, RosterChange};
pub use quick_reply::{QuickReplyScope, Shortcut, Template};
pub use tag::{TagColor, TagRegistry, TagScope, TagTarget};
pub use text::{Email, Name, Password, TimeZoneName};
pub use ticket::{TicketPriority, TicketSource, TicketStatus};
