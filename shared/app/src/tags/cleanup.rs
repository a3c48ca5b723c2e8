//! The removal of a deleted tag from everywhere it was used, a page at a time. Its job item (in
//! [`keys::TAG_CLEANUPS_PK`]) holds the tag's folded name and how many uses were removed; its work list is the
//! tag's usage partition ([`keys::tag_usage_pk`]): each use is removed from its conversation or customer, then
//! its usage item is deleted, so a run that stops anywhere resumes with what is left and a use done twice is a
//! no-op. When the partition is empty the job, the name claim and a `tag.cleanup` audit entry go in one
//! transaction. The `DELETE /v1/tags/{id}` request runs the first pages; `timers` runs [`sweep`] every minute.

use kefu_domain::tag::TagTarget;
use kefu_domain::text::fold;
use kefu_domain::{ConversationId, CustomerId, TenantId};
use kefu_ports::table::{Condition, Item, Query, TableError, TxOp, Update};
use serde::Serialize;
use serde_json::{Value, json};

use super::{CleanupJob, TagUsage};
use crate::App;
use crate::audit::{AuditEntry, Outcome};
use crate::plumbing::keys;
use crate::plumbing::record::{Record, parse};

/// Uses removed per page (one query of the usage partition).
pub const PAGE: usize = 100;

/// Pages the `DELETE /v1/tags/{id}` request itself works through (a tag on a few conversations is gone when
/// it answers; a larger one is finished by the timers).
pub const INLINE_PAGES: usize = 1;

/// Pages one run of a job works through before it lets the next job (or the next tick) have a turn.
pub const PAGES_PER_RUN: usize = 20;

/// What a run or a sweep did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct CleanupReport {
    /// Uses removed (conversations and customers that carried the tag, or had carried it).
    pub removed: u64,
    /// Jobs finished.
    pub finished: u64,
    /// Jobs with uses left for the next run.
    pub pending: u64,
}

fn text(item: &Item, k: &str) -> Option<String> {
    item.get(k).and_then(Value::as_str).map(str::to_owned)
}

fn tags_of(item: &Item) -> Vec<String> {
    item.get("tags")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect())
        .unwrap_or_default()
}

/// Removes the tag (folded `folded`) from one conversation or customer. `Ok(false)` when the record changed
/// under it (the use stays for the next run).
async fn remove_use(app: &App, tenant: &TenantId, folded: &str, usage: &Item) -> Result<bool, TableError> {
    let Ok(TagUsage { target, id }) = parse::<TagUsage>("tag use", usage.clone()) else { return Ok(true) };
    let key = match target {
        TagTarget::Conversation => match ConversationId::parse(&id) {
            Some(c) => keys::conversation(tenant, &c),
            None => return Ok(true),
        },
        TagTarget::Customer => match CustomerId::parse(&id) {
            Some(c) => keys::customer(tenant, &c),
            None => return Ok(true),
        },
    };
    let Some(item) = app.table.get(&key).await? else { return Ok(true) };
    let tags = tags_of(&item);
    let kept: Vec<&String> = tags.iter().filter(|t| fold(t) != folded).collect();
    if kept.len() == tags.len() {
        return Ok(true);
    }
    let mut update = Update::new().set("tags", json!(kept));
    let condition = match item.get("version").and_then(Value::as_u64) {
        // Customers are written on the version read; conversations' tags are written whole (`set_tags`).
        Some(v) if target == TagTarget::Customer => {
            update = update.set("version", v + 1);
            Condition::eq("version", v)
        }
        _ => Condition::Exists,
    };
    match app.table.update(&key, update, Some(condition)).await {
        Ok(_) => Ok(true),
        Err(TableError::ConditionFailed) => Ok(false),
        Err(e) => Err(e),
    }
}

/// Works through up to `pages` pages of one tag's removal (tenant `tenant`, tag `tag_id`); finishes the job
/// when no use is left. A job that does not exist (finished meanwhile) is nothing to do.
pub async fn run(app: &App, tenant: &TenantId, tag_id: &str, pages: usize) -> Result<CleanupReport, TableError> {
    let mut report = CleanupReport::default();
    let job_key = keys::tag_cleanup(tenant, tag_id);
    let Some(job) = app.table.get(&job_key).await? else { return Ok(report) };
    let job = CleanupJob::from_item(job)?;
    let folded = job.folded.clone();
    let usage_pk = keys::tag_usage_pk(tenant, &folded);
    let mut removed_before = job.removed;
    for _ in 0..pages {
        let page = app.table.query(Query::partition(usage_pk.clone()).limit(PAGE)).await?;
        if page.items.is_empty() {
            finish(app, tenant, tag_id, &job, &folded, removed_before).await?;
            report.finished += 1;
            return Ok(report);
        }
        let mut done = 0u64;
        let mut stuck = false;
        for usage in &page.items {
            if remove_use(app, tenant, &folded, usage).await? {
                let key = kefu_ports::Key::new(usage_pk.clone(), text(usage, "sk").unwrap_or_default());
                app.table.delete(&key, None).await?;
                done += 1;
            } else {
                stuck = true;
            }
        }
        removed_before += done;
        report.removed += done;
        app.table.update(&job_key, Update::new().set("removed", removed_before), Some(Condition::Exists)).await?;
        if stuck {
            // A record changed under us: leave it for the next run rather than spin on it now.
            break;
        }
        if page.cursor.is_none() {
            // That was the last page: the job ends now rather than on the next run.
            finish(app, tenant, tag_id, &job, &folded, removed_before).await?;
            report.finished += 1;
            return Ok(report);
        }
    }
    report.pending += 1;
    Ok(report)
}

async fn finish(
    app: &App,
    tenant: &TenantId,
    tag_id: &str,
    job: &CleanupJob,
    folded: &str,
    removed: u64,
) -> Result<(), TableError> {
    let ops = vec![
        TxOp::Delete { key: keys::tag_cleanup(tenant, tag_id), condition: Some(Condition::Exists) },
        TxOp::Delete { key: keys::tag_name(tenant, folded), condition: Some(Condition::eq("tag_id", tag_id)) },
    ];
    let entry = AuditEntry::new(tenant, "tag.cleanup", Outcome::Success)
        .target("tag", tag_id)
        .with("name", json!(job.name))
        .with("removed", json!(removed));
    match crate::audit::commit(app, ops, Vec::new(), vec![entry]).await {
        // Finished by another run meanwhile.
        Ok(()) | Err(TableError::TransactionCanceled { .. }) => Ok(()),
        Err(e) => Err(e),
    }
}

/// Works through every tenant's pending tag removals, [`PAGES_PER_RUN`] pages each (the timers, every minute).
/// A job that fails is logged and left for the next tick.
pub async fn sweep(app: &App) -> Result<CleanupReport, TableError> {
    let mut total = CleanupReport::default();
    let mut cursor = None;
    loop {
        let page = app.table.query(Query::partition(keys::TAG_CLEANUPS_PK).limit(100).after(cursor)).await?;
        for job in &page.items {
            let Ok(CleanupJob { tenant_id: t, tag_id: tag, .. }) = CleanupJob::from_ref(job) else {
                tracing::warn!(?job, "unreadable tag removal job; skipped");
                continue;
            };
            match run(app, &t, &tag, PAGES_PER_RUN).await {
                Ok(r) => {
                    total.removed += r.removed;
                    total.finished += r.finished;
                    total.pending += r.pending;
                }
                Err(e) => {
                    tracing::warn!(tenant_id = %t, tag_id = %tag, error = %e, "tag removal failed; the next tick retries")
                }
            }
        }
        cursor = page.cursor;
        if cursor.is_none() {
            break;
        }
    }
    Ok(total)
}
