//! Kefu's domain: the types, policies and decisions of a customer-service platform, with no I/O, no async and
//! no AWS types. Values that can be invalid have parsing constructors, so nothing invalid exists past the edge.

pub mod automation;
pub mod conversation;
pub mod customer;
pub mod error;
pub mod ids;
pub mod masking;
pub mod permission;
pub mod routing;
pub mod schedule;
pub mod security;
pub mod stats;
pub mod text;
pub mod webhook;
pub mod widget;

pub use conversation::{Author, ConversationStatus, MessageContent, TagName};
pub use customer::{ExternalId, Phone};
pub use error::ValidationError;
pub use ids::{AgentId, ConversationId, CustomerGroupId, CustomerId, GroupId, MessageId, RoleId, ScheduleId, TenantId};
pub use permission::{BuiltinRole, Permission, PermissionSet, Roster, RosterChange};
pub use text::{Email, Name, Password, TimeZoneName};
