//! Identifiers. Ids are opaque strings to clients; inside they are ULIDs, which sort by creation time.

use std::fmt;

use serde::{Deserialize, Serialize};

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident, $prefix:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// A new, unique id.
            pub fn generate() -> Self {
                Self(format!("{}{}", $prefix, ulid::Ulid::new().to_string().to_ascii_lowercase()))
            }

            /// Accepts an id from outside when it has the right shape; anything else cannot name one of ours.
            pub fn parse(s: &str) -> Option<Self> {
                let rest = s.strip_prefix($prefix)?;
                (rest.len() == 26 && rest.bytes().all(|b| b.is_ascii_alphanumeric())).then(|| Self(s.to_owned()))
            }

            /// A fixed id (built-in roles).
            pub fn from_static(s: &'static str) -> Self {
                Self(s.to_owned())
            }

            /// The id as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// The part after the prefix (the ULID of a generated id).
            pub fn ulid_part(&self) -> &str {
                self.0.strip_prefix($prefix).unwrap_or(&self.0)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

id_type!(
    /// A tenant: one company using Kefu. Its id is in every key of its data.
    TenantId, "tn_"
);
id_type!(
    /// A staff account (agent, supervisor or admin).
    AgentId, "ag_"
);
id_type!(
    /// A role: a named set of permissions.
    RoleId, "ro_"
);
id_type!(
    /// A conversation between a visitor and the team.
    ConversationId, "cv_"
);
id_type!(
    /// A customer: a visitor the tenant knows.
    CustomerId, "cu_"
);
id_type!(
    /// An agent group (sales, support…): where conversations are routed.
    GroupId, "gr_"
);
id_type!(
    /// A message of a conversation. Its ULID is also the message's sort key, so messages sort by time.
    MessageId, "ms_"
);
id_type!(
    /// A file attached to a message: uploaded first (pending), then attached when the message is sent.
    AttachmentId, "at_"
);
id_type!(
    /// A customer group (VIP, regular…): it gives its customers' conversations their priority.
    CustomerGroupId, "cg_"
);
id_type!(
    /// A schedule: working hours or an agent's shift.
    ScheduleId, "sc_"
);

id_type!(
    /// A sign-in session's public id: listed and revoked by it; never the token or the token's hash.
    SessionId, "se_"
);
id_type!(
    /// An API key's id (the key itself is shown once and stored hashed).
    ApiKeyId, "ak_"
);
id_type!(
    /// An automation rule.
    RuleId, "ru_"
);
id_type!(
    /// A phone an agent registered for push notifications (`/v1/me/devices`).
    DeviceId, "dv_"
);
id_type!(
    /// One webhook delivery (`X-Kefu-Delivery`, the same on every try).
    WebhookDeliveryId, "wh_"
);

id_type!(
    /// A ticket: a piece of work with a status, tracked apart from (or after) a conversation.
    TicketId, "tk_"
);
id_type!(
    /// A comment on a ticket. Its ULID orders a ticket's comments by time.
    TicketCommentId, "tc_"
);
id_type!(
    /// A quick reply: a canned answer, personal or the team's.
    QuickReplyId, "qr_"
);
id_type!(
    /// A registered tag (its name is what conversations and customers carry).
    TagId, "tg_"
);
id_type!(
    /// A block: a customer or an IP range refused at the widget.
    BlockId, "bl_"
);
id_type!(
    /// An approval request: a sensitive operation waiting for a second person's decision.
    ApprovalId, "ap_"
);
id_type!(
    /// An export: a tenant's data written to the blob store as CSV or JSONL.
    ExportId, "ex_"
);

impl RoleId {
    /// Role ids accept the built-in names too (`admin`, `supervisor`, `agent`).
    pub fn parse_any(s: &str) -> Option<Self> {
        crate::BuiltinRole::from_name(s).map(|b| Self(b.name().to_owned())).or_else(|| Self::parse(s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_reject_other_shapes() {
        let t = TenantId::generate();
        assert_eq!(TenantId::parse(t.as_str()), Some(t.clone()));
        assert_eq!(AgentId::parse(t.as_str()), None);
        assert_eq!(TenantId::parse("tn_../../etc"), None);
        assert_eq!(TenantId::parse(""), None);
        assert_eq!(RoleId::parse_any("admin").unwrap().as_str(), "admin");
    }
}
