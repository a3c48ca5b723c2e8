//! `GET /v1/audit`: the tenant's audit log, newest first, filtered by actor, action and time.
//!
//! The time filters and the order come from the `gsi1` partition of the tenant's entries by time; `actor_id`
//! reads that actor's `gsi2` partition instead. `action` has no index: entries are read in order and kept when
//! they match, at most [`MAX_EXAMINED`] per request, so a rare action can answer a short (even empty) page
//! with a `next_cursor` to go on from, as DynamoDB's filter expressions do.
//!
//! Reading the log is itself recorded (`audit.read`, with the filters and how many entries the page showed),
//! so who looked at the trail, and for what, is on the trail.

use axum::extract::{Query as QueryString, State};
use kefu_app::App;
use kefu_app::http::list::{ListPage, ListParams};
use kefu_app::http::{ApiError, ApiJson, Staff};
use kefu_app::plumbing::keys;
use kefu_ports::table::{Cursor, Index, Item, Query, SkCondition};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

type ErrorBody = kefu_app::http::error::ErrorEnvelope;

/// The most entries one request reads while looking for entries of the asked `action`.
pub const MAX_EXAMINED: usize = 1000;

/// `GET /v1/audit` parameters.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Only this actor's entries (an account or API key id).
    pub actor_id: Option<String>,
    /// Only this action (`auth.login`, `customer.read`, `security.alert`…).
    pub action: Option<String>,
    /// Entries at or after this time (RFC 3339).
    pub since: Option<String>,
    /// Entries before this time (RFC 3339).
    pub until: Option<String>,
    /// Page size (default 50, max 200).
    pub limit: Option<String>,
    /// Where the previous page ended.
    pub cursor: Option<String>,
}

/// One audit entry, as API.md shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AuditView {
    /// The entry's id: its sequence number in the tenant's chain.
    pub id: String,
    /// Its position in the chain (1, 2, 3…).
    pub seq: u64,
    /// When (RFC 3339).
    pub at: String,
    /// Who acted (an account or API key id), null when unknown (a failed sign-in of no account, an alert).
    pub actor_id: Option<String>,
    /// What was done.
    pub action: String,
    /// The kind of thing acted on.
    pub target_type: Option<String>,
    /// Its id.
    pub target_id: Option<String>,
    /// The client's IP.
    pub ip: Option<String>,
    /// `success` | `failure` | `denied`.
    pub outcome: String,
    /// More about it (never secrets).
    #[schema(value_type = Option<Object>)]
    pub detail: Option<Value>,
}

impl AuditView {
    fn from_item(item: &Item) -> Self {
        let s = |k: &str| item.get(k).and_then(Value::as_str).map(str::to_owned);
        let seq = kefu_app::audit::seq_of(item);
        Self {
            id: seq.to_string(),
            seq,
            at: s("at").unwrap_or_default(),
            actor_id: s("actor_id"),
            action: s("action").unwrap_or_default(),
            target_type: s("target_type"),
            target_id: s("target_id"),
            ip: s("ip"),
            outcome: s("outcome").unwrap_or_default(),
            detail: item.get("detail").filter(|d| !d.is_null()).cloned(),
        }
    }
}

fn nonempty(o: &Option<String>) -> Option<&str> {
    o.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

fn time(o: &Option<String>, field: &str) -> Result<Option<jiff::Timestamp>, ApiError> {
    nonempty(o)
        .map(|s| s.parse::<jiff::Timestamp>().map_err(|_| ApiError::validation(field, "must be an RFC 3339 time")))
        .transpose()
}

/// The sort-key range of `since..until` (since inclusive, until exclusive) in the by-time indexes, whose sort
/// keys are `{epoch ms:015}#{seq}`. `Err(())` when the range is empty (both within one millisecond).
fn range(since: Option<jiff::Timestamp>, until: Option<jiff::Timestamp>) -> Result<Option<SkCondition>, ()> {
    let ms = |t: jiff::Timestamp| t.as_millisecond().max(0);
    Ok(match (since, until) {
        (Some(s), Some(u)) if ms(u) <= ms(s) => return Err(()),
        // `Between` is inclusive: up to the last sort key of the millisecond before `until` (`~` sorts after
        // every digit).
        (Some(s), Some(u)) => Some(SkCondition::Between(format!("{:015}", ms(s)), format!("{:015}#~", ms(u) - 1))),
        (Some(s), None) => Some(SkCondition::Ge(format!("{:015}", ms(s)))),
        (None, Some(u)) => Some(SkCondition::Lt(format!("{:015}", ms(u)))),
        (None, None) => None,
    })
}

/// Records a read of the log: the filters and how many entries the page showed.
async fn note_read(app: &App, staff: &Staff, q: &AuditQuery, shown: usize) -> Result<(), ApiError> {
    let detail = json!({
        "actor_id": nonempty(&q.actor_id), "action": nonempty(&q.action), "since": nonempty(&q.since),
        "until": nonempty(&q.until), "cursor": nonempty(&q.cursor).is_some(), "entries": shown,
    });
    let entry = staff.audit("audit.read").detail(detail);
    kefu_app::audit::record(app, entry).await?;
    Ok(())
}

/// The tenant's audit log, newest first (`audit.view`). Each read is recorded (`audit.read`).
#[utoipa::path(get, path = "/v1/audit", tag = "audit", params(AuditQuery),
    security(("bearer" = ["audit.view"])),
    responses((status = 200, body = ListPage<AuditView>), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn list(
    State(app): State<App>,
    staff: Staff,
    q: Result<QueryString<AuditQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<ApiJson<ListPage<AuditView>>, ApiError> {
    let QueryString(q) = q.map_err(|_| ApiError::validation("query", "the query string is malformed"))?;
    let params = ListParams::parse(q.limit.as_deref(), q.cursor.as_deref())?;
    let (since, until) = (time(&q.since, "since")?, time(&q.until, "until")?);
    if let (Some(s), Some(u)) = (since, until)
        && s >= u
    {
        return Err(ApiError::validation("until", "must be after since"));
    }
    let actor = nonempty(&q.actor_id);
    if actor.is_some_and(|a| a.len() > 100) {
        return Err(ApiError::validation("actor_id", "is not an id"));
    }
    let action = nonempty(&q.action);
    if action.is_some_and(|a| a.len() > 64) {
        return Err(ApiError::validation("action", "is not an action name"));
    }
    let t = &staff.tenant_id;
    let (index, pk) = match actor {
        Some(a) => (Index::Gsi2, keys::audit_by_actor(t, a)),
        None => (Index::Gsi1, keys::audit_by_time(t)),
    };
    let Ok(sk) = range(since, until) else {
        note_read(&app, &staff, &q, 0).await?;
        return Ok(ApiJson(ListPage::new(Vec::new(), None)));
    };
    let mut query = Query::index(index, pk).backwards();
    if let Some(sk) = sk {
        query = query.sk(sk);
    }
    let mut query = params.apply(query)?;
    let Some(action) = action else {
        let page = app.table.query(query).await?;
        note_read(&app, &staff, &q, page.items.len()).await?;
        return Ok(ApiJson(ListPage::from_page(page, AuditView::from_item)));
    };
    // Filter by action: read on until the page is full, the partition ends or the budget is spent.
    let mut items = Vec::new();
    let mut examined = 0;
    loop {
        query.limit = Some(params.limit.max(50).min(MAX_EXAMINED - examined));
        let page = app.table.query(query.clone()).await?;
        let mut next = page.cursor.clone();
        for (i, item) in page.items.iter().enumerate() {
            examined += 1;
            if item.get("action").and_then(Value::as_str) == Some(action) {
                items.push(AuditView::from_item(item));
                if items.len() == params.limit {
                    // Full: continue after this entry (the rest of the page comes again on the next call).
                    if i + 1 < page.items.len() {
                        next = Some(Cursor::after(item, Some(index))?);
                    }
                    break;
                }
            }
        }
        if next.is_none() || items.len() == params.limit || examined >= MAX_EXAMINED {
            note_read(&app, &staff, &q, items.len()).await?;
            return Ok(ApiJson(ListPage::new(items, next)));
        }
        query.cursor = next;
    }
}
