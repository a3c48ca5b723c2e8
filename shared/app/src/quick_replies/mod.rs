//! Quick replies: canned answers an agent inserts in a conversation, personal (its own) or team (everyone's,
//! written by holders of `quick_replies.manage`), with a category, an optional shortcut (`/refund`, unique per
//! scope and owner), variables with fallbacks filled in by [`render`], and search by words of the title or
//! content through an index (CJK text included: `退款` finds "申请退款流程").
//!
//! - **Storage.** Each owner has a partition: the team's, and one per agent for personal replies. It holds the
//!   replies and their shortcut claims, so a reader's list is two queries (the team's and its own) and nobody
//!   can reach another agent's personal replies: every lookup is in the caller's own partition or the team's.
//! - **Search.** Each reply's index terms ([`kefu_domain::quick_reply::index_terms`]: words' prefixes, CJK
//!   characters and bigrams) are items of the owner's term partition, written before the reply and removed after
//!   it changes, so the index always holds at least what the reply needs. A search looks up its most selective
//!   term in both partitions, then checks each candidate exactly
//!   ([`kefu_domain::quick_reply::answers_search`]), so a stale term never shows a wrong reply.

pub mod error;

use std::collections::BTreeSet;

use jiff::Timestamp;
use kefu_domain::quick_reply::{
    self, QuickReplyId, QuickReplyScope, Shortcut, Template, Values, Variable, answers_search, index_terms, query_terms,
};
use kefu_domain::{AgentId, TenantId};
use kefu_ports::table::{Condition, Item, Key, Query, TableError, TxOp};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::App;
use crate::audit::AuditEntry;
use crate::identity::accounts::Principal;
use crate::plumbing::keys;
use crate::plumbing::record::{Record, item_of, parse};

pub use error::QuickReplyError;

/// Index-term items written per transaction.
const TERMS_PER_TX: usize = 25;

/// A quick reply as stored (`QR#{id}` in its owner's partition).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct QuickReplyRecord {
    /// Its id.
    pub quick_reply_id: String,
    /// Its tenant.
    pub tenant_id: TenantId,
    /// Personal or team.
    pub scope: QuickReplyScope,
    /// The owner of a personal reply.
    #[serde(default)]
    pub owner_id: Option<AgentId>,
    /// Title.
    pub title: String,
    /// Content, variables as written.
    pub content: String,
    /// Category.
    #[serde(default)]
    pub category: Option<String>,
    /// Shortcut (without `/`).
    #[serde(default)]
    pub shortcut: Option<String>,
    /// The search terms written to the owner's term partition for it.
    #[serde(default)]
    pub terms: Vec<String>,
    /// Created at.
    pub created_at: Timestamp,
    /// Last changed at; a change is conditioned on it.
    pub updated_at: Timestamp,
}

impl QuickReplyRecord {
    /// Whose partition it lives in.
    pub fn owner(&self) -> Owner {
        match (&self.scope, &self.owner_id) {
            (QuickReplyScope::Personal, Some(a)) => Owner::Agent(a.clone()),
            _ => Owner::Team,
        }
    }
}

impl Record for QuickReplyRecord {
    const TYPE: &'static str = "quick_reply";

    fn key(&self) -> Key {
        keys::quick_reply(&self.tenant_id, self.owner().key(), &self.quick_reply_id)
    }
}

/// What a shortcut claim and a search term item hold: the reply they lead to.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Pointer {
    quick_reply_id: String,
}

fn pointer(key: Key, id: &str) -> Item {
    item_of(key, &Pointer { quick_reply_id: id.to_owned() })
}

/// Whose partition a reply lives in: the team's, or one agent's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Owner {
    /// Team replies.
    Team,
    /// One agent's personal replies.
    Agent(AgentId),
}

impl Owner {
    /// The partition name in keys (`team`, or the agent id).
    pub fn key(&self) -> &str {
        match self {
            Owner::Team => "team",
            Owner::Agent(a) => a.as_str(),
        }
    }

    /// The owner of a reply of `scope` written by `principal`.
    pub fn of(scope: QuickReplyScope, principal: &Principal) -> Self {
        match scope {
            QuickReplyScope::Team => Owner::Team,
            QuickReplyScope::Personal => Owner::Agent(principal.agent_id.clone()),
        }
    }

    /// The owners whose replies `principal` sees: its own, then the team's.
    pub fn visible_to(principal: &Principal) -> [Owner; 2] {
        [Owner::Agent(principal.agent_id.clone()), Owner::Team]
    }
}

/// A quick reply as API.md shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
pub struct QuickReplyView {
    /// Quick reply id (`qr_…`).
    pub id: String,
    /// Title.
    pub title: String,
    /// Content, with its variables as written (`{{customer.name|朋友}}`).
    pub content: String,
    /// Category, if any.
    pub category: Option<String>,
    /// `personal` | `team`.
    pub scope: String,
    /// Shortcut (without `/`), unique per scope and owner.
    pub shortcut: Option<String>,
    /// The owner of a personal reply (the caller: nobody sees another agent's).
    pub owner_id: Option<String>,
    /// Created at.
    pub created_at: String,
    /// Last changed at.
    pub updated_at: String,
}

impl QuickReplyView {
    /// The view of a stored reply.
    pub fn of(r: &QuickReplyRecord) -> Self {
        Self {
            id: r.quick_reply_id.clone(),
            title: r.title.clone(),
            content: r.content.clone(),
            category: r.category.clone(),
            scope: r.scope.as_str().to_owned(),
            shortcut: r.shortcut.clone(),
            owner_id: r.owner_id.as_ref().map(ToString::to_string),
            created_at: r.created_at.to_string(),
            updated_at: r.updated_at.to_string(),
        }
    }
}

/// `POST /v1/quick_replies` and `PUT /v1/quick_replies/{id}` body.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct QuickReplyBody {
    /// Title (1..=100 characters).
    pub title: String,
    /// Content (1..=4000 characters), variables `{{customer.name}}`, `{{customer.email}}`, `{{agent.name}}`,
    /// `{{conversation.id}}`, each with an optional fallback (`{{customer.name|朋友}}`).
    pub content: String,
    /// Category (optional).
    #[serde(default)]
    pub category: Option<String>,
    /// `personal` (default) | `team` (needs `quick_replies.manage`). A reply's scope does not change on `PUT`.
    #[serde(default)]
    pub scope: Option<String>,
    /// Shortcut: a-z, 0-9, `-`, `_` (a leading `/` is dropped), unique per scope and owner.
    #[serde(default)]
    pub shortcut: Option<String>,
}

/// A body, checked.
struct Checked {
    title: String,
    content: Template,
    category: Option<String>,
    scope: Option<QuickReplyScope>,
    shortcut: Option<Shortcut>,
}

impl QuickReplyBody {
    fn check(&self) -> Result<Checked, QuickReplyError> {
        Ok(Checked {
            title: quick_reply::parse_title(&self.title, "title")?,
            content: Template::parse(&self.content, "content")?,
            category: quick_reply::parse_category(self.category.as_deref(), "category")?,
            scope: self.scope.as_deref().map(|s| QuickReplyScope::parse(s, "scope")).transpose()?,
            shortcut: self
                .shortcut
                .as_deref()
                .filter(|s| !s.trim().is_empty())
                .map(|s| Shortcut::parse(s, "shortcut"))
                .transpose()?,
        })
    }
}

/// `GET /v1/quick_replies` filters.
#[derive(Debug, Clone, Default)]
pub struct QuickReplyFilter {
    /// Words of the title or content.
    pub q: Option<String>,
    /// Only this category.
    pub category: Option<String>,
}

async fn all_of(app: &App, query: Query) -> Result<Vec<Item>, TableError> {
    let mut out = Vec::new();
    let mut cursor = None;
    loop {
        let page = app.table.query(query.clone().after(cursor)).await?;
        out.extend(page.items);
        cursor = page.cursor;
        if cursor.is_none() {
            return Ok(out);
        }
    }
}

/// The quick replies `principal` sees (its personal ones, then the team's, each by title), filtered by
/// `category` and, with `q`, by words of the title or content through the term index.
pub async fn list(
    app: &App,
    principal: &Principal,
    filter: &QuickReplyFilter,
) -> Result<Vec<QuickReplyView>, QuickReplyError> {
    let tenant = &principal.tenant_id;
    let q = filter.q.as_deref().map(str::trim).filter(|q| !q.is_empty());
    let terms = q.map(query_terms).unwrap_or_default();
    let category = filter.category.as_deref().map(str::trim).filter(|c| !c.is_empty());
    let mut out = Vec::new();
    for owner in Owner::visible_to(principal) {
        let items = match terms.iter().max_by_key(|t| t.chars().count()) {
            None => {
                all_of(
                    app,
                    Query::partition(keys::quick_replies_pk(tenant, owner.key())).prefix(keys::QUICK_REPLY_PREFIX),
                )
                .await?
            }
            Some(term) => {
                let hits = all_of(
                    app,
                    Query::partition(keys::quick_reply_terms_pk(tenant, owner.key())).prefix(format!("{term}#")),
                )
                .await?;
                let ids: BTreeSet<String> = hits
                    .into_iter()
                    .filter_map(|h| parse::<Pointer>("quick reply term", h).ok())
                    .map(|p| p.quick_reply_id)
                    .collect();
                let keys: Vec<_> = ids.iter().map(|id| keys::quick_reply(tenant, owner.key(), id)).collect();
                let loaded = futures::future::try_join_all(keys.iter().map(|k| app.table.get(k))).await?;
                loaded.into_iter().flatten().collect()
            }
        };
        let mut replies = items
            .into_iter()
            .map(QuickReplyRecord::from_item)
            .collect::<Result<Vec<_>, _>>()
            .map_err(TableError::from)?;
        replies.retain(|r| {
            category.is_none_or(|c| r.category.as_deref() == Some(c))
                && q.is_none_or(|q| answers_search(&r.title, &r.content, q))
        });
        replies.sort_by_key(|r| kefu_domain::text::fold(&r.title));
        out.extend(replies.iter().map(QuickReplyView::of));
    }
    Ok(out)
}

/// The reply `id` that `principal` sees: in its own partition or the team's (404 otherwise, whoever owns it).
pub async fn load_visible(
    app: &App,
    principal: &Principal,
    id: &str,
) -> Result<(Owner, QuickReplyRecord), QuickReplyError> {
    let id = QuickReplyId::parse(id).ok_or(QuickReplyError::NotFound)?;
    for owner in Owner::visible_to(principal) {
        if let Some(item) = app.table.get(&keys::quick_reply(&principal.tenant_id, owner.key(), id.as_str())).await? {
            return Ok((owner, QuickReplyRecord::from_item(item).map_err(TableError::from)?));
        }
    }
    Err(QuickReplyError::NotFound)
}

fn may_write(principal: &Principal, scope: QuickReplyScope) -> Result<(), QuickReplyError> {
    let manage = principal.permissions.has(kefu_domain::Permission::QuickRepliesManage);
    if quick_reply::may_write(scope, &principal.agent_id, &principal.agent_id, manage) {
        Ok(())
    } else {
        Err(QuickReplyError::TeamNeedsManage)
    }
}

fn term_ops(tenant: &TenantId, owner: &Owner, id: &str, terms: &[String], put: bool) -> Vec<TxOp> {
    terms
        .iter()
        .map(|t| {
            let key = keys::quick_reply_term(tenant, owner.key(), t, id);
            if put {
                TxOp::Put { item: pointer(key, id), condition: None }
            } else {
                TxOp::Delete { key, condition: None }
            }
        })
        .collect()
}

async fn write_terms(app: &App, ops: Vec<TxOp>) -> Result<(), TableError> {
    let mut ops = ops;
    while !ops.is_empty() {
        let rest = ops.split_off(ops.len().min(TERMS_PER_TX));
        app.table.transact(ops).await?;
        ops = rest;
    }
    Ok(())
}

fn shortcut_taken(s: &Shortcut) -> QuickReplyError {
    QuickReplyError::Conflict(format!("the shortcut /{} is already used in this scope", s.as_str()))
}

/// Creates a quick reply, committed with `audit` (the caller's `quick_reply.create` entry). A team reply
/// needs `quick_replies.manage`; a shortcut taken in the same scope and owner is 409.
pub async fn create(
    app: &App,
    principal: &Principal,
    body: &QuickReplyBody,
    audit: AuditEntry,
) -> Result<QuickReplyView, QuickReplyError> {
    let c = body.check()?;
    let scope = c.scope.unwrap_or(QuickReplyScope::Personal);
    may_write(principal, scope)?;
    let tenant = &principal.tenant_id;
    let owner = Owner::of(scope, principal);
    let id = QuickReplyId::generate();
    let now = app.now();
    let terms = index_terms(&c.title, c.content.as_str());
    let record = QuickReplyRecord {
        quick_reply_id: id.as_str().to_owned(),
        tenant_id: tenant.clone(),
        scope,
        owner_id: matches!(owner, Owner::Agent(_)).then(|| principal.agent_id.clone()),
        title: c.title.clone(),
        content: c.content.as_str().to_owned(),
        category: c.category.clone(),
        shortcut: c.shortcut.as_ref().map(|s| s.as_str().to_owned()),
        terms: terms.clone(),
        created_at: now,
        updated_at: now,
    };
    write_terms(app, term_ops(tenant, &owner, id.as_str(), &terms, true)).await?;
    let mut ops = vec![TxOp::Put { item: record.to_item(), condition: Some(Condition::NotExists) }];
    if let Some(s) = &c.shortcut {
        ops.push(TxOp::Put {
            item: pointer(keys::quick_reply_shortcut(tenant, owner.key(), s.as_str()), id.as_str()),
            condition: Some(Condition::NotExists),
        });
    }
    let audit = audit.target("quick_reply", id.as_str()).with("scope", json!(scope.as_str()));
    match crate::audit::commit(app, ops, Vec::new(), vec![audit]).await {
        Ok(()) => Ok(QuickReplyView::of(&record)),
        Err(TableError::TransactionCanceled { .. } | TableError::Conflict) => {
            write_terms(app, term_ops(tenant, &owner, id.as_str(), &terms, false)).await?;
            Err(c.shortcut.as_ref().map_or_else(|| QuickReplyError::Conflict("try again".into()), shortcut_taken))
        }
        Err(e) => Err(e.into()),
    }
}

/// Replaces a quick reply's title, content, category and shortcut (its scope stays), committed with `audit`
/// (the caller's `quick_reply.update` entry), on condition that it is still the version read.
pub async fn update(
    app: &App,
    principal: &Principal,
    id: &str,
    body: &QuickReplyBody,
    audit: AuditEntry,
) -> Result<QuickReplyView, QuickReplyError> {
    let c = body.check()?;
    let (owner, current) = load_visible(app, principal, id).await?;
    let scope = current.scope;
    may_write(principal, scope)?;
    if c.scope.is_some_and(|s| s != scope) {
        return Err(
            kefu_domain::ValidationError::new("scope", "a reply's scope does not change; create a new one").into()
        );
    }
    let tenant = &principal.tenant_id;
    let id = current.quick_reply_id.clone();
    let old_terms = current.terms.clone();
    let terms = index_terms(&c.title, c.content.as_str());
    let added: Vec<String> = terms.iter().filter(|t| !old_terms.contains(t)).cloned().collect();
    let dropped: Vec<String> = old_terms.iter().filter(|t| !terms.contains(t)).cloned().collect();
    write_terms(app, term_ops(tenant, &owner, &id, &added, true)).await?;
    let next = QuickReplyRecord {
        title: c.title.clone(),
        content: c.content.as_str().to_owned(),
        category: c.category.clone(),
        shortcut: c.shortcut.as_ref().map(|s| s.as_str().to_owned()),
        terms,
        updated_at: app.now(),
        ..current.clone()
    };
    let read_at = json!(current.updated_at);
    let mut ops = vec![TxOp::Put { item: next.to_item(), condition: Some(Condition::eq("updated_at", read_at)) }];
    let old_shortcut = current.shortcut.clone();
    let new_shortcut = next.shortcut.clone();
    if old_shortcut != new_shortcut {
        if let Some(old) = &old_shortcut {
            ops.push(TxOp::Delete { key: keys::quick_reply_shortcut(tenant, owner.key(), old), condition: None });
        }
        if let Some(new) = &new_shortcut {
            ops.push(TxOp::Put {
                item: pointer(keys::quick_reply_shortcut(tenant, owner.key(), new), &id),
                condition: Some(Condition::NotExists),
            });
        }
    }
    let audit = audit.target("quick_reply", &id);
    match crate::audit::commit(app, ops, Vec::new(), vec![audit]).await {
        Ok(()) => {}
        Err(TableError::TransactionCanceled { failed }) => {
            let first_failed = failed.contains(&0);
            return Err(match (&c.shortcut, first_failed) {
                (Some(s), false) => shortcut_taken(s),
                _ => QuickReplyError::Conflict("the quick reply changed meanwhile; read it again".into()),
            });
        }
        Err(e) => return Err(e.into()),
    }
    write_terms(app, term_ops(tenant, &owner, &id, &dropped, false)).await?;
    Ok(QuickReplyView::of(&next))
}

/// Deletes a quick reply with its shortcut claim, committed with `audit` (the caller's `quick_reply.delete`
/// entry); its index terms go after.
pub async fn delete(app: &App, principal: &Principal, id: &str, audit: AuditEntry) -> Result<(), QuickReplyError> {
    let (owner, current) = load_visible(app, principal, id).await?;
    may_write(principal, current.scope)?;
    let tenant = &principal.tenant_id;
    let id = current.quick_reply_id.clone();
    let mut ops =
        vec![TxOp::Delete { key: keys::quick_reply(tenant, owner.key(), &id), condition: Some(Condition::Exists) }];
    if let Some(s) = &current.shortcut {
        ops.push(TxOp::Delete { key: keys::quick_reply_shortcut(tenant, owner.key(), s), condition: None });
    }
    match crate::audit::commit(app, ops, Vec::new(), vec![audit.target("quick_reply", &id)]).await {
        Ok(()) => {}
        Err(TableError::TransactionCanceled { .. }) => return Err(QuickReplyError::NotFound),
        Err(e) => return Err(e.into()),
    }
    write_terms(app, term_ops(tenant, &owner, &id, &current.terms, false)).await?;
    Ok(())
}

/// What a rendering fills in, gathered by the caller (who loads the conversation it may see, its customer
/// masked as the reader sees it, and the agent's name), only for the variables the reply uses.
pub fn needs(reply: &QuickReplyRecord) -> BTreeSet<Variable> {
    Template::parse(&reply.content, "content").map(|t| t.variables()).unwrap_or_default()
}

/// Fills in a reply's variables with `values`, each missing or blank one taking its fallback.
pub fn render(reply: &QuickReplyRecord, values: &Values) -> String {
    quick_reply::render(&reply.content, values)
}
