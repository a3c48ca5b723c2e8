//! The permission catalogue and the built-in roles.

use std::collections::{BTreeMap, BTreeSet};

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

    /// The permissions, in catalogue order.
    pub fn iter(&self) -> impl Iterator<Item = Permission> + '_ {
        self.0.iter().copied()
    }

    /// The first permission (in catalogue order) of this set that `holder` lacks; `None` when `holder` has
    /// every one of them.
    pub fn first_missing_from(&self, holder: &PermissionSet) -> Option<Permission> {
        self.0.iter().copied().find(|p| !holder.has(*p))
    }

    /// Whether an account with these permissions administers its tenant: it manages both accounts and
    /// roles, so it can give any access back. A tenant always keeps one enabled such account
    /// ([`Roster::keeps_an_administrator`]).
    pub fn administers(&self) -> bool {
        self.has(Permission::RolesManage) && self.has(Permission::AgentsManage)
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

// ------------------------------------------------------------------------------------------ granting access
//
// No one hands out more than they hold. Every path that gives or widens access (a role given to an account, a
// role's permissions, an API key's permissions, a group joined) asks these functions, so the rule is written
// once, here, and tested without a store.

/// Why a caller may not give some access or change some account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GrantRefusal {
    /// What would be given includes this permission, which the caller does not hold.
    WouldGrant(Permission),
    /// The account holds this permission, which the caller does not: only someone who holds it may change
    /// the account's email, password, role or state (else the caller could take the account over and sign in
    /// as it).
    AccountOutranksCaller(Permission),
    /// Joining this group would let its new member see (and be routed) conversations the caller cannot see.
    GroupNotVisibleToCaller,
}

impl std::fmt::Display for GrantRefusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            GrantRefusal::WouldGrant(p) => write!(f, "you cannot grant `{}`: you do not hold it", p.name()),
            GrantRefusal::AccountOutranksCaller(p) => write!(
                f,
                "this account holds `{}`, which you do not: only someone who holds it may change its email, password, role or state",
                p.name()
            ),
            GrantRefusal::GroupNotVisibleToCaller => f.write_str(
                "you cannot add members to a group whose conversations you do not see (needs `conversations.view_all`, or `conversations.view_group` and membership of the group)",
            ),
        }
    }
}

/// Whether `caller` may give `granted` (to a role, an API key, or an account through its role): only if it
/// holds every one of those permissions itself.
pub fn may_grant(caller: &PermissionSet, granted: &PermissionSet) -> Result<(), GrantRefusal> {
    match granted.first_missing_from(caller) {
        None => Ok(()),
        Some(p) => Err(GrantRefusal::WouldGrant(p)),
    }
}

/// What a change does to an existing account, as far as access goes.
#[derive(Debug, Clone, Copy, Default)]
pub struct AccountChange<'a> {
    /// The change touches how the account signs in or what it may do: its email, password, role, or whether
    /// it is enabled. (A name, skills or capacity change does not.)
    pub touches_access: bool,
    /// The permissions of the role the account is given, when the change gives one.
    pub new_role: Option<&'a PermissionSet>,
}

/// Whether `caller` may make `change` to an account that holds `target` now: a change of email, password,
/// role or state needs every permission the account holds (so no one takes over an account above them), and a
/// new role needs every permission of that role ([`may_grant`]).
pub fn may_change_account(
    caller: &PermissionSet,
    target: &PermissionSet,
    change: AccountChange<'_>,
) -> Result<(), GrantRefusal> {
    if change.touches_access
        && let Some(p) = target.first_missing_from(caller)
    {
        return Err(GrantRefusal::AccountOutranksCaller(p));
    }
    match change.new_role {
        Some(role) => may_grant(caller, role),
        None => Ok(()),
    }
}

/// Whether `caller` may add members to a group. Membership widens what an account sees (`view_group`) and
/// which conversations are routed to it, so the caller must see that group's conversations itself: it holds
/// `conversations.view_all`, or `conversations.view_group` and is a member (`caller_in_group`). Leaving a group
/// narrows access and needs no such check.
pub fn may_add_to_group(caller: &PermissionSet, caller_in_group: bool) -> Result<(), GrantRefusal> {
    let sees = caller.has(Permission::ConversationsViewAll)
        || (caller.has(Permission::ConversationsViewGroup) && caller_in_group);
    if sees { Ok(()) } else { Err(GrantRefusal::GroupNotVisibleToCaller) }
}

// -------------------------------------------------------------------------------------- the last administrator

/// The accounts and roles of one tenant, as the last-administrator rule sees them: which accounts are
/// enabled, which role each holds, and what each role allows. A tenant must always keep at least one enabled
/// account that [`PermissionSet::administers`], or nobody can give access back (short of the operator's
/// `kefu admin restore`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Roster {
    accounts: BTreeMap<String, (bool, String)>,
    roles: BTreeMap<String, PermissionSet>,
}

/// One change the last-administrator rule judges.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RosterChange {
    /// An account is given a role.
    SetRole {
        /// The account's id.
        account: String,
        /// The role's id.
        role: String,
    },
    /// An account is enabled or disabled.
    SetEnabled {
        /// The account's id.
        account: String,
        /// Enabled after the change.
        enabled: bool,
    },
    /// A role's permissions are replaced.
    SetRolePermissions {
        /// The role's id.
        role: String,
        /// What it allows after the change.
        permissions: PermissionSet,
    },
    /// A role is deleted (an account still holding it has no permissions).
    DeleteRole {
        /// The role's id.
        role: String,
    },
}

impl Roster {
    /// An empty roster.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds (or replaces) an account.
    pub fn account(&mut self, id: impl Into<String>, enabled: bool, role: impl Into<String>) -> &mut Self {
        self.accounts.insert(id.into(), (enabled, role.into()));
        self
    }

    /// Adds (or replaces) a role.
    pub fn role(&mut self, id: impl Into<String>, permissions: PermissionSet) -> &mut Self {
        self.roles.insert(id.into(), permissions);
        self
    }

    /// How many enabled accounts administer the tenant (a role that does not exist grants nothing).
    pub fn administrators(&self) -> usize {
        self.accounts
            .values()
            .filter(|(enabled, role)| *enabled && self.roles.get(role).is_some_and(PermissionSet::administers))
            .count()
    }

    /// The roster after `change` (an unknown account or role is left as it is).
    pub fn apply(&mut self, change: &RosterChange) {
        match change {
            RosterChange::SetRole { account, role } => {
                if let Some(a) = self.accounts.get_mut(account) {
                    a.1 = role.clone();
                }
            }
            RosterChange::SetEnabled { account, enabled } => {
                if let Some(a) = self.accounts.get_mut(account) {
                    a.0 = *enabled;
                }
            }
            RosterChange::SetRolePermissions { role, permissions } => {
                if let Some(r) = self.roles.get_mut(role) {
                    *r = permissions.clone();
                }
            }
            RosterChange::DeleteRole { role } => {
                self.roles.remove(role);
            }
        }
    }

    /// Whether the tenant still has an enabled administrator after `change`. A change that leaves none is
    /// refused, unless there was none before either (then it makes nothing worse, and refusing it would
    /// block the very changes that could repair the tenant).
    pub fn keeps_an_administrator(&self, change: &RosterChange) -> bool {
        let mut after = self.clone();
        after.apply(change);
        after.administrators() > 0 || self.administrators() == 0
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

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

    fn set(ps: &[Permission]) -> PermissionSet {
        ps.iter().copied().collect()
    }

    fn any_set() -> impl Strategy<Value = PermissionSet> {
        prop::collection::vec(prop::sample::select(Permission::ALL.to_vec()), 0..8).prop_map(|v| set(&v))
    }

    #[test]
    fn no_one_grants_or_touches_more_than_they_hold() {
        use Permission::*;
        let manager = set(&[AgentsManage, ConversationsReply]);
        let admin = BuiltinRole::Admin.permissions();
        let agent = BuiltinRole::Agent.permissions();
        // The reproduction of issue 8: a holder of agents.manage makes itself (or anyone) an admin.
        assert_eq!(may_grant(&manager, &admin), Err(GrantRefusal::WouldGrant(ConversationsViewAll)));
        assert_eq!(may_grant(&admin, &admin), Ok(()));
        let give_admin = AccountChange { touches_access: true, new_role: Some(&admin) };
        assert!(may_change_account(&manager, &manager, give_admin).is_err());
        // It cannot change an admin's email or password either, but may rename it.
        let credentials = AccountChange { touches_access: true, new_role: None };
        assert_eq!(
            may_change_account(&manager, &admin, credentials),
            Err(GrantRefusal::AccountOutranksCaller(ConversationsViewAll))
        );
        assert_eq!(may_change_account(&manager, &admin, AccountChange::default()), Ok(()));
        // An admin may do anything to anyone; a manager may give a role within its own permissions.
        assert_eq!(may_change_account(&admin, &admin, give_admin), Ok(()));
        let within = set(&[ConversationsReply]);
        assert_eq!(
            may_change_account(&manager, &within, AccountChange { touches_access: true, new_role: Some(&within) }),
            Ok(())
        );
        assert!(
            may_change_account(&manager, &within, AccountChange { touches_access: true, new_role: Some(&agent) })
                .is_err()
        );
        assert!(GrantRefusal::WouldGrant(AuditView).to_string().contains("`audit.view`"));
    }

    #[test]
    fn group_membership_is_given_only_by_those_who_see_the_group() {
        use Permission::*;
        assert!(may_add_to_group(&BuiltinRole::Admin.permissions(), false).is_ok());
        assert!(may_add_to_group(&BuiltinRole::Supervisor.permissions(), false).is_ok());
        let lead = set(&[AgentsManage, ConversationsViewGroup]);
        assert!(may_add_to_group(&lead, true).is_ok());
        assert_eq!(may_add_to_group(&lead, false), Err(GrantRefusal::GroupNotVisibleToCaller));
        assert!(may_add_to_group(&set(&[AgentsManage]), true).is_err());
    }

    #[test]
    fn the_last_administrator_is_kept() {
        let mut r = Roster::new();
        r.role("admin", BuiltinRole::Admin.permissions())
            .role("agent", BuiltinRole::Agent.permissions())
            .role("ro_boss", set(&[Permission::AgentsManage, Permission::RolesManage]))
            .account("ag_a", true, "admin")
            .account("ag_b", true, "agent");
        assert_eq!(r.administrators(), 1);
        let demote = RosterChange::SetRole { account: "ag_a".into(), role: "agent".into() };
        let disable = RosterChange::SetEnabled { account: "ag_a".into(), enabled: false };
        assert!(!r.keeps_an_administrator(&demote));
        assert!(!r.keeps_an_administrator(&disable));
        assert!(r.keeps_an_administrator(&RosterChange::SetRole { account: "ag_a".into(), role: "ro_boss".into() }));
        r.account("ag_b", true, "ro_boss");
        assert!(r.keeps_an_administrator(&demote));
        let strip = RosterChange::SetRolePermissions { role: "ro_boss".into(), permissions: set(&[]) };
        assert!(r.keeps_an_administrator(&strip), "ag_a is still admin");
        r.account("ag_a", false, "admin");
        assert!(!r.keeps_an_administrator(&strip));
        assert!(!r.keeps_an_administrator(&RosterChange::DeleteRole { role: "ro_boss".into() }));
        // A tenant with no administrator at all is not made worse by anything.
        let mut none = Roster::new();
        none.role("agent", BuiltinRole::Agent.permissions()).account("ag_x", true, "agent");
        assert!(none.keeps_an_administrator(&RosterChange::SetEnabled { account: "ag_x".into(), enabled: false }));
    }

    fn any_change() -> impl Strategy<Value = RosterChange> {
        let account = (0..4u8).prop_map(|i| format!("ag_{i}"));
        let role = prop::sample::select(vec!["admin", "agent", "ro_0", "ro_1"]).prop_map(str::to_owned);
        prop_oneof![
            (account.clone(), role.clone()).prop_map(|(account, role)| RosterChange::SetRole { account, role }),
            (account, any::<bool>()).prop_map(|(account, enabled)| RosterChange::SetEnabled { account, enabled }),
            (prop::sample::select(vec!["ro_0", "ro_1"]), any_set())
                .prop_map(|(r, permissions)| RosterChange::SetRolePermissions { role: r.to_owned(), permissions }),
            prop::sample::select(vec!["ro_0", "ro_1"]).prop_map(|r| RosterChange::DeleteRole { role: r.to_owned() }),
        ]
    }

    proptest! {
        #[test]
        fn granting_is_exactly_inclusion(caller in any_set(), granted in any_set()) {
            let included = granted.iter().all(|p| caller.has(p));
            prop_assert_eq!(may_grant(&caller, &granted).is_ok(), included);
            // Whoever passes the rule can never hand on more than the first caller held: a chain of grants
            // stays within its start.
            if included {
                prop_assert!(granted.first_missing_from(&caller).is_none());
            }
        }

        #[test]
        fn touching_an_account_needs_all_it_holds(caller in any_set(), target in any_set(), role in any_set()) {
            let change = AccountChange { touches_access: true, new_role: Some(&role) };
            let ok = may_change_account(&caller, &target, change).is_ok();
            prop_assert_eq!(ok, target.iter().all(|p| caller.has(p)) && role.iter().all(|p| caller.has(p)));
        }

        #[test]
        fn a_tenant_with_an_administrator_never_loses_it(
            perms in (any_set(), any_set()),
            start in prop::collection::vec((any::<bool>(), prop::sample::select(vec!["admin", "agent", "ro_0", "ro_1"])), 4),
            changes in prop::collection::vec(any_change(), 0..30),
        ) {
            let mut r = Roster::new();
            r.role("admin", BuiltinRole::Admin.permissions()).role("agent", BuiltinRole::Agent.permissions());
            r.role("ro_0", perms.0).role("ro_1", perms.1);
            for (i, (enabled, role)) in start.iter().enumerate() {
                r.account(format!("ag_{i}"), *enabled, *role);
            }
            r.account("ag_0", true, "admin");
            for change in &changes {
                if r.keeps_an_administrator(change) {
                    r.apply(change);
                }
                prop_assert!(r.administrators() >= 1);
            }
        }
    }
}
