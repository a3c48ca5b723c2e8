//! The permission catalogue and the built-in roles.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

macro_rules! permissions {
    ($($variant:ident => $name:literal),* $(,)?) => {
        /// One permission of the catalogue (API.md).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub enum Permission {
            $(
                #[doc = $name]
                #[serde(rename = $name)]
                $variant,
            )*
        }

        impl Permission {
            /// Every permission, in catalogue order.
            pub const ALL: &'static [Permission] = &[$(Permission::$variant),*];

            /// The permission's name in the API.
            pub fn name(self) -> &'static str {
                match self {
                    $(Permission::$variant => $name,)*
                }
            }

            /// The permission named `s`, if it is in the catalogue.
            pub fn parse(s: &str) -> Option<Self> {
                match s {
                    $($name => Some(Permission::$variant),)*
                    _ => None,
                }
            }
        }
    };
}

permissions! {
    ConversationsViewAll => "conversations.view_all",
    ConversationsViewGroup => "conversations.view_group",
    ConversationsReply => "conversations.reply",
    ConversationsAssign => "conversations.assign",
    ConversationsDelete => "conversations.delete",
    CustomersView => "customers.view",
    CustomersViewSensitive => "customers.view_sensitive",
    CustomersEdit => "customers.edit",
    TicketsManage => "tickets.manage",
    QuickRepliesManage => "quick_replies.manage",
    TagsManage => "tags.manage",
    RulesManage => "rules.manage",
    ExportsCreate => "exports.create",
    StatsView => "stats.view",
    AgentsManage => "agents.manage",
    RolesManage => "roles.manage",
    SettingsManage => "settings.manage",
    AuditView => "audit.view",
    ApprovalsReview => "approvals.review",
}

/// A set of permissions held by a role or an API key.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PermissionSet(BTreeSet<Permission>);

impl PermissionSet {
    /// Parses names from the API; unknown names are refused with the first one named.
    pub fn parse<'a>(names: impl IntoIterator<Item = &'a str>) -> Result<Self, String> {
        names
            .into_iter()
            .map(|n| Permission::parse(n).ok_or_else(|| n.to_owned()))
            .collect::<Result<BTreeSet<_>, _>>()
            .map(Self)
    }

    /// Whether the set holds `p`.
    pub fn has(&self, p: Permission) -> bool {
        self.0.contains(&p)
    }

    /// The names, in catalogue order.
    pub fn names(&self) -> Vec<&'static str> {
        self.0.iter().map(|p| p.name()).collect()
    }
}

impl FromIterator<Permission> for PermissionSet {
    fn from_iter<I: IntoIterator<Item = Permission>>(iter: I) -> Self {
        Self(iter.into_iter().collect())
    }
}

/// The roles every tenant has from the start; they cannot be deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BuiltinRole {
    /// Everything.
    Admin,
    /// Runs the floor: every conversation, customers, tickets, team content, stats and approvals.
    Supervisor,
    /// Answers conversations of its groups and its own.
    Agent,
}

impl BuiltinRole {
    /// The three, in order.
    pub const ALL: [BuiltinRole; 3] = [BuiltinRole::Admin, BuiltinRole::Supervisor, BuiltinRole::Agent];

    /// The role's id and name.
    pub fn name(self) -> &'static str {
        match self {
            BuiltinRole::Admin => "admin",
            BuiltinRole::Supervisor => "supervisor",
            BuiltinRole::Agent => "agent",
        }
    }

    /// The built-in role with this name.
    pub fn from_name(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.name() == s)
    }

    /// What the role may do.
    pub fn permissions(self) -> PermissionSet {
        use Permission::*;
        match self {
            BuiltinRole::Admin => Permission::ALL.iter().copied().collect(),
            BuiltinRole::Supervisor => [
                ConversationsViewAll,
                ConversationsViewGroup,
                ConversationsReply,
                ConversationsAssign,
                CustomersView,
                CustomersEdit,
                TicketsManage,
                QuickRepliesManage,
                TagsManage,
                StatsView,
                ApprovalsReview,
            ]
            .into_iter()
            .collect(),
            BuiltinRole::Agent => {
                [ConversationsViewGroup, ConversationsReply, CustomersView, CustomersEdit, TicketsManage]
                    .into_iter()
                    .collect()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalogue_round_trips_and_roles_nest() {
        assert_eq!(Permission::ALL.len(), 19);
        for p in Permission::ALL {
            assert_eq!(Permission::parse(p.name()), Some(*p));
            assert_eq!(serde_json::to_string(p).unwrap(), format!("\"{}\"", p.name()));
        }
        let admin = BuiltinRole::Admin.permissions();
        for role in BuiltinRole::ALL {
            for p in Permission::ALL {
                if role.permissions().has(*p) {
                    assert!(admin.has(*p));
                }
            }
        }
        assert!(!BuiltinRole::Agent.permissions().has(Permission::SettingsManage));
        assert_eq!(PermissionSet::parse(["audit.view", "nope"]), Err("nope".to_owned()));
    }
}
