//! Tags as a registry: a tenant declares its tags (`/v1/tags`: name, scope, colour) and only those may be newly
//! written to conversations and customers, each where its scope allows ([`kefu_domain::tag::TagRegistry`]).
//!
//! - **Tenants with free-form tags.** A tenant that never registered a tag keeps writing free-form tags as
//!   before. Its first registered tag turns the registry on (a marker item, never removed). From then on a
//!   write may keep the tags the conversation or customer already carries, registered or not, so old data
//!   never blocks an edit; every tag it adds must be registered and allowed for that target, or the write is
//!   400 `validation_failed` naming `tags[i]`.
//! - **Where a tag is used.** Every write through [`prepare_write`] records, before the write, one usage item
//!   per tag and target (by folded name), so a deleted tag's uses are found without a scan. Uses written before
//!   this index existed are not found; a stale usage item (the tag removed since) costs only a no-op.
//! - **Deleting** a tag ([`delete`]) removes it from the registry at once (it can no longer be written), keeps
//!   its name claimed and queues a removal job, in one transaction with the `tag.delete` audit entry; the
//!   removal ([`cleanup`]) runs a first page right away and the rest from the timers, a page at a time, so a
//!   tag on 100,000 conversations goes without a timeout and an interrupted run resumes where it stopped.
//!
//! It sits above conversations and customers: their handlers call [`prepare_write`] before writing tags, and
//! the removal edits their items' `tags`; neither of them knows about the registry.

pub mod cleanup;
pub mod error;

use jiff::Timestamp;
use kefu_domain::tag::{NewTagError, RegisteredTag, TagColor, TagId, TagRegistry, TagScope, TagTarget};
use kefu_domain::text::fold;
use kefu_domain::{TagName, TenantId, ValidationError};
use kefu_ports::table::{Condition, Key, Query, TableError, TxOp};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::App;
use crate::audit::AuditEntry;
use crate::plumbing::keys;
use crate::plumbing::record::{Record, item_of, parse};

pub use error::TagError;

/// The most tags a tenant may register (the registry is read whole on every tag write).
pub const MAX_TAGS: usize = 500;

/// A registered tag as stored (`TAG#{id}` in the tenant's partition).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TagRecord {
    /// Its id.
    pub tag_id: String,
    /// Its tenant.
    pub tenant_id: TenantId,
    /// Name, as registered.
    pub name: String,
    /// The name folded (case and width), what claims and uses are keyed by.
    pub folded: String,
    /// Where it may be written.
    pub scope: TagScope,
    /// Its colour.
    pub color: TagColor,
    /// When it was registered.
    pub created_at: Timestamp,
}

impl Record for TagRecord {
    const TYPE: &'static str = "tag";

    fn key(&self) -> Key {
        keys::tag(&self.tenant_id, &self.tag_id)
    }
}

/// A tag name's claim (`TAGNAME#{folded}`): keeps a name unique, and marks a deleted tag's name while its
/// removal runs.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct NameClaim {
    tag_id: String,
    folded: String,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    deleting: bool,
}

/// The marker of a tenant whose registry is on (`TAGREGISTRY`): written with its first tag, never removed.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct RegistryMarker {
    since: Timestamp,
}

/// One use of a tag (`T#{t}#TAGUSE#{folded}` / `{target}#{id}`): a conversation or customer it was written to.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TagUsage {
    /// `conversation` | `customer`.
    pub target: TagTarget,
    /// The conversation or customer id.
    pub id: String,
}

/// A deleted tag's removal job (`TAGCLEANUP` / `{t}#{tag_id}`), worked through a page at a time.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CleanupJob {
    /// The tenant.
    pub tenant_id: TenantId,
    /// The deleted tag.
    pub tag_id: String,
    /// Its name (for the audit entry).
    pub name: String,
    /// Its folded name (its uses' partition).
    pub folded: String,
    /// Uses removed so far.
    #[serde(default)]
    pub removed: u64,
    /// When the tag was deleted.
    pub started_at: Timestamp,
}

impl Record for CleanupJob {
    const TYPE: &'static str = "tag_cleanup";
    const TYPED: bool = false;

    fn key(&self) -> Key {
        keys::tag_cleanup(&self.tenant_id, &self.tag_id)
    }
}

/// A registered tag as API.md shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
pub struct TagView {
    /// Tag id (`tg_…`).
    pub id: String,
    /// Name, as registered.
    pub name: String,
    /// `customer` | `conversation` | `both`.
    pub scope: String,
    /// `#rrggbb`.
    pub color: String,
    /// When it was registered.
    pub created_at: String,
}

impl TagView {
    /// The view of a stored tag.
    pub fn of(t: &TagRecord) -> Self {
        Self {
            id: t.tag_id.clone(),
            name: t.name.clone(),
            scope: t.scope.as_str().to_owned(),
            color: t.color.as_str().to_owned(),
            created_at: t.created_at.to_string(),
        }
    }
}

/// `POST /v1/tags` body.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewTag {
    /// Name (unique up to case and width).
    pub name: String,
    /// `customer` | `conversation` | `both` (default `both`).
    #[serde(default)]
    pub scope: Option<String>,
    /// `#rrggbb` (default a neutral grey).
    #[serde(default)]
    pub color: Option<String>,
}

/// A tenant's registry as stored: its tags, the names being removed, and whether it is on.
#[derive(Debug, Clone, Default)]
pub struct Registry {
    /// The registered tags, by name.
    pub tags: Vec<TagRecord>,
    /// Folded names of deleted tags whose removal still runs.
    pub deleting: Vec<String>,
    /// Whether the tenant has registered a tag (then only registered tags may be newly written).
    pub enabled: bool,
}

impl Registry {
    /// The domain's registry of these tags.
    pub fn checker(&self) -> TagRegistry {
        TagRegistry::new(self.tags.iter().filter_map(|t| {
            let name = TagName::parse(&t.name, "name").ok()?;
            Some(RegisteredTag { name, scope: t.scope })
        }))
    }
}

/// Reads a tenant's registry: its tags, name claims and marker, from the tenant's partition.
pub async fn registry(app: &App, tenant: &TenantId) -> Result<Registry, TableError> {
    let mut out = Registry::default();
    for (prefix, what) in [(keys::TAG_PREFIX, 0), (keys::TAG_NAME_PREFIX, 1)] {
        let mut cursor = None;
        loop {
            let page = app.table.query(Query::partition(keys::tenant_pk(tenant)).prefix(prefix).after(cursor)).await?;
            for item in page.items {
                if what == 0 {
                    out.tags.push(TagRecord::from_item(item)?);
                } else {
                    let claim: NameClaim = parse("tag name claim", item)?;
                    if claim.deleting {
                        out.deleting.push(claim.folded);
                    }
                }
            }
            cursor = page.cursor;
            if cursor.is_none() {
                break;
            }
        }
    }
    out.enabled = !out.tags.is_empty() || app.table.get(&keys::tag_registry_marker(tenant)).await?.is_some();
    out.tags.sort_by_key(|t| t.folded.clone());
    Ok(out)
}

/// Every registered tag of a tenant, by name.
pub async fn list(app: &App, tenant: &TenantId) -> Result<Vec<TagView>, TagError> {
    Ok(registry(app, tenant).await?.tags.iter().map(TagView::of).collect())
}

/// Registers a tag, committed with `audit` (the caller's `tag.create` entry). 409 when a tag of that name
/// (up to case and width) exists or is still being removed.
pub async fn create(app: &App, tenant: &TenantId, body: &NewTag, audit: AuditEntry) -> Result<TagView, TagError> {
    let reg = registry(app, tenant).await?;
    let name = match reg.checker().check_new(&body.name, "name") {
        Ok(n) => n,
        Err(NewTagError::Invalid(e)) => return Err(e.into()),
        Err(e @ NewTagError::Exists(_)) => return Err(TagError::Conflict(e.to_string())),
    };
    let scope = body.scope.as_deref().map(|s| TagScope::parse(s, "scope")).transpose()?.unwrap_or(TagScope::Both);
    let color = body.color.as_deref().map(|c| TagColor::parse(c, "color")).transpose()?.unwrap_or_default();
    let folded = fold(name.as_str());
    if reg.deleting.contains(&folded) {
        return Err(TagError::Conflict(format!(
            "a deleted tag named {} is still being removed; try again in a minute",
            name.as_str()
        )));
    }
    if reg.tags.len() >= MAX_TAGS {
        return Err(ValidationError::new("name", format!("a tenant has at most {MAX_TAGS} tags")).into());
    }
    let id = TagId::generate();
    let record = TagRecord {
        tag_id: id.as_str().to_owned(),
        tenant_id: tenant.clone(),
        name: name.as_str().to_owned(),
        folded: folded.clone(),
        scope,
        color,
        created_at: app.now(),
    };
    let claim = NameClaim { tag_id: id.as_str().to_owned(), folded: folded.clone(), deleting: false };
    let ops = vec![
        TxOp::Put { item: record.to_item(), condition: Some(Condition::NotExists) },
        TxOp::Put { item: item_of(keys::tag_name(tenant, &folded), &claim), condition: Some(Condition::NotExists) },
        TxOp::Put {
            item: item_of(keys::tag_registry_marker(tenant), &RegistryMarker { since: app.now() }),
            condition: None,
        },
    ];
    let audit =
        audit.target("tag", id.as_str()).with("name", json!(name.as_str())).with("scope", json!(scope.as_str()));
    match crate::audit::commit(app, ops, Vec::new(), vec![audit]).await {
        Ok(()) => Ok(TagView::of(&record)),
        Err(TableError::TransactionCanceled { .. } | TableError::Conflict) => {
            Err(TagError::Conflict(format!("a tag named {} already exists", name.as_str())))
        }
        Err(e) => Err(e.into()),
    }
}

/// Deletes a tag: it leaves the registry now (and can no longer be written); its name stays claimed and a
/// removal job is queued, in one transaction with `audit` (the caller's `tag.delete` entry). Then runs the
/// removal's first pages ([`cleanup::run`]); the timers finish a large one.
pub async fn delete(app: &App, tenant: &TenantId, id: &str, audit: AuditEntry) -> Result<(), TagError> {
    let id = TagId::parse(id).ok_or(TagError::NotFound)?;
    let key = keys::tag(tenant, id.as_str());
    let tag = TagRecord::from_item(app.table.get(&key).await?.ok_or(TagError::NotFound)?).map_err(TableError::from)?;
    let (name, folded) = (tag.name, tag.folded);
    let job = CleanupJob {
        tenant_id: tenant.clone(),
        tag_id: id.as_str().to_owned(),
        name: name.clone(),
        folded: folded.clone(),
        removed: 0,
        started_at: app.now(),
    };
    let claim = NameClaim { tag_id: id.as_str().to_owned(), folded: folded.clone(), deleting: true };
    let ops = vec![
        TxOp::Delete { key, condition: Some(Condition::Exists) },
        TxOp::Put { item: item_of(keys::tag_name(tenant, &folded), &claim), condition: None },
        TxOp::Put { item: job.to_item(), condition: None },
    ];
    let audit = audit.target("tag", id.as_str()).with("name", json!(name));
    match crate::audit::commit(app, ops, Vec::new(), vec![audit]).await {
        Ok(()) => {}
        Err(TableError::TransactionCanceled { .. }) => return Err(TagError::NotFound),
        Err(e) => return Err(e.into()),
    }
    if let Err(e) = cleanup::run(app, tenant, id.as_str(), cleanup::INLINE_PAGES).await {
        tracing::warn!(tenant_id = %tenant, tag_id = %id, error = %e, "tag removal interrupted; the timers resume it");
    }
    Ok(())
}

/// Checks the tags a write puts on a conversation or customer (`target`, id `target_id`) that now carries
/// `current`, and records where each is used (before the write, so a write that then fails leaves only a
/// harmless stale usage item). Without a registry the tags are free-form ([`TagName::parse_list`]); with one,
/// [`TagRegistry::check_keeping`]: tags already carried are kept, others must be registered and allowed for
/// `target`. Answers the names to store, in the registry's spelling.
pub async fn prepare_write(
    app: &App,
    tenant: &TenantId,
    target: TagTarget,
    target_id: &str,
    current: &[String],
    names: &[String],
) -> Result<Vec<TagName>, TagError> {
    let reg = registry(app, tenant).await?;
    let checked = if reg.enabled {
        let kept: Vec<String> = current.iter().filter(|c| !reg.deleting.contains(&fold(c))).cloned().collect();
        reg.checker().check_keeping(names, &kept, target, "tags")?
    } else {
        TagName::parse_list(names, "tags")?
    };
    let added: Vec<&TagName> =
        checked.iter().filter(|t| !current.iter().any(|c| fold(c) == fold(t.as_str()))).collect();
    if !added.is_empty() {
        let ops = added
            .iter()
            .map(|t| TxOp::Put {
                item: item_of(
                    keys::tag_usage(tenant, &fold(t.as_str()), target.as_str(), target_id),
                    &TagUsage { target, id: target_id.to_owned() },
                ),
                condition: None,
            })
            .collect();
        app.table.transact(ops).await?;
    }
    Ok(checked)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use kefu_domain::{ConversationId, CustomerId};
    use kefu_ports::ManualClock;
    use kefu_ports::table::Item;
    use serde_json::Value;

    use super::*;
    use crate::audit::Outcome;

    fn entry(t: &TenantId, action: &str) -> AuditEntry {
        AuditEntry::new(t, action, Outcome::Success)
    }

    fn new_tag(name: &str, scope: &str) -> NewTag {
        NewTag { name: name.into(), scope: Some(scope.into()), color: None }
    }

    fn names(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| (*s).to_owned()).collect()
    }

    /// Tags a conversation as the API does: the check and usage first, then the item.
    async fn tag_conversation(app: &App, t: &TenantId, c: &ConversationId, tags: &[&str]) -> Result<(), TagError> {
        let key = keys::conversation(t, c);
        let current = app.table.get(&key).await?.map(|i| strings(&i)).unwrap_or_default();
        let checked = prepare_write(app, t, TagTarget::Conversation, c.as_str(), &current, &names(tags)).await?;
        let list: Vec<&str> = checked.iter().map(TagName::as_str).collect();
        let item = key.with(json!({"type": "conversation", "conversation_id": c, "tags": list, "version": 1}));
        app.table.put(item, None).await?;
        Ok(())
    }

    fn strings(i: &Item) -> Vec<String> {
        i.get("tags")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|v| v.as_str().map(Into::into))
            .collect()
    }

    #[tokio::test]
    async fn free_form_until_the_first_registered_tag_then_registered_only() {
        let clock = Arc::new(ManualClock::new("2026-01-01T00:00:00Z".parse().unwrap()));
        let (app, _dir) = crate::testing::embedded_app(clock);
        let t = TenantId::generate();
        let c = ConversationId::generate();
        tag_conversation(&app, &t, &c, &["legacy"]).await.expect("no registry: free-form");

        create(&app, &t, &new_tag("VIP", "both"), entry(&t, "tag.create")).await.unwrap();
        create(&app, &t, &new_tag("wholesale", "customer"), entry(&t, "tag.create")).await.unwrap();
        let again = create(&app, &t, &new_tag("ｖｉｐ", "both"), entry(&t, "tag.create")).await.unwrap_err();
        assert!(matches!(again, TagError::Conflict(_)), "{again:?}");
        let red = NewTag { color: Some("red".into()), ..new_tag("x", "both") };
        let bad = create(&app, &t, &red, entry(&t, "x")).await;
        assert!(matches!(bad, Err(TagError::Invalid(e)) if e.field == "color"));
        assert!(matches!(
            create(&app, &t, &new_tag("y", "all"), entry(&t, "x")).await,
            Err(TagError::Invalid(e)) if e.field == "scope"
        ));

        // The legacy tag the conversation carries stays; a new one must be registered, in its scope.
        tag_conversation(&app, &t, &c, &["legacy", "vip"]).await.unwrap();
        let stored = strings(&app.table.get(&keys::conversation(&t, &c)).await.unwrap().unwrap());
        assert_eq!(stored, ["legacy", "VIP"], "written in the registry's spelling");
        let e = tag_conversation(&app, &t, &c, &["vip", "typo"]).await.unwrap_err();
        assert!(matches!(&e, TagError::Invalid(v) if v.field == "tags[1]"), "{e:?}");
        let e = tag_conversation(&app, &t, &c, &["wholesale"]).await.unwrap_err();
        assert!(
            matches!(&e, TagError::Invalid(v) if v.field == "tags[0]" && v.message.contains("customer tag")),
            "{e:?}"
        );
        let cu = CustomerId::generate();
        assert!(prepare_write(&app, &t, TagTarget::Customer, cu.as_str(), &[], &names(&["wholesale"])).await.is_ok());

        let listed = list(&app, &t).await.unwrap();
        assert_eq!(listed.iter().map(|v| v.name.as_str()).collect::<Vec<_>>(), ["VIP", "wholesale"]);
        assert_eq!(listed[0].color, TagColor::DEFAULT);
        assert!(list(&app, &TenantId::generate()).await.unwrap().is_empty(), "another tenant sees none");
    }

    #[tokio::test]
    async fn deleting_a_tag_removes_it_everywhere_in_pages_that_resume() {
        let clock = Arc::new(ManualClock::new("2026-01-01T00:00:00Z".parse().unwrap()));
        let (app, _dir) = crate::testing::embedded_app(clock);
        let t = TenantId::generate();
        let vip = create(&app, &t, &new_tag("vip", "both"), entry(&t, "tag.create")).await.unwrap();
        create(&app, &t, &new_tag("refund", "conversation"), entry(&t, "tag.create")).await.unwrap();
        let total = 2 * cleanup::PAGE + 50;
        let mut convs = Vec::new();
        for _ in 0..total {
            let c = ConversationId::generate();
            tag_conversation(&app, &t, &c, &["vip", "refund"]).await.unwrap();
            convs.push(c);
        }
        let cu = CustomerId::generate();
        let customer = keys::customer(&t, &cu).with(json!({"customer_id": cu, "tags": ["VIP"], "version": 3}));
        app.table.put(customer, None).await.unwrap();
        prepare_write(&app, &t, TagTarget::Customer, cu.as_str(), &[], &names(&["vip"])).await.unwrap();

        delete(&app, &t, &vip.id, entry(&t, "tag.delete")).await.unwrap();
        assert!(matches!(delete(&app, &t, &vip.id, entry(&t, "tag.delete")).await, Err(TagError::NotFound)));
        async fn convs_of(app: &App, t: &TenantId) -> Vec<Vec<String>> {
            let page = app.table.query(Query::partition(keys::tag_usage_pk(t, "vip"))).await.unwrap();
            let mut out = Vec::new();
            for u in page.items {
                if let Some(id) = u.get("id").and_then(Value::as_str).and_then(ConversationId::parse) {
                    out.push(strings(&app.table.get(&keys::conversation(t, &id)).await.unwrap().unwrap()));
                }
            }
            out
        }
        // The request removed one page; the rest is still queued, and the name stays claimed meanwhile.
        let still_tagged = convs_of(&app, &t).await.iter().filter(|c| c.iter().any(|x| x == "vip")).count();
        assert_eq!(still_tagged, total - cleanup::PAGE, "the customer's use sorts last");
        let e = tag_conversation(&app, &t, &convs[0], &["vip"]).await.unwrap_err();
        assert!(matches!(&e, TagError::Invalid(v) if v.field == "tags[0]"), "a deleted tag cannot be written: {e:?}");
        let e = create(&app, &t, &new_tag("VIP", "both"), entry(&t, "tag.create")).await.unwrap_err();
        assert!(matches!(&e, TagError::Conflict(m) if m.contains("still being removed")), "{e:?}");

        // A run resumes where the last stopped; the sweep finishes it; running again is a no-op.
        let r = cleanup::run(&app, &t, &vip.id, 1).await.unwrap();
        assert_eq!((r.removed, r.finished, r.pending), (cleanup::PAGE as u64, 0, 1));
        let r = cleanup::sweep(&app).await.unwrap();
        assert_eq!((r.removed, r.finished), (51, 1));
        assert_eq!(cleanup::sweep(&app).await.unwrap(), cleanup::CleanupReport::default());
        for c in &convs {
            let tags = strings(&app.table.get(&keys::conversation(&t, c)).await.unwrap().unwrap());
            assert_eq!(tags, ["refund"], "only the deleted tag goes");
        }
        let customer = app.table.get(&keys::customer(&t, &cu)).await.unwrap().unwrap();
        assert_eq!(strings(&customer), Vec::<String>::new());
        assert_eq!(customer.get("version"), Some(&json!(4)));
        assert!(app.table.get(&keys::tag_cleanup(&t, &vip.id)).await.unwrap().is_none());
        // Its name is free again.
        create(&app, &t, &new_tag("VIP", "customer"), entry(&t, "tag.create")).await.unwrap();
    }
}
