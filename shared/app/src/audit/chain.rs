//! The audit chain: append-only, one hash chain per tenant. Each entry carries the hash of the one before it and
//! its own hash over its canonical form, and the chain's head (last sequence number and hash) is updated in the
//! same transaction as the append, conditioned on the head it read. So entries are numbered without gaps, two
//! writers can never both append entry n, and [`verify`] finds any entry that was edited or removed afterwards.

use std::time::Duration;

use kefu_domain::TenantId;
use kefu_ports::table::{Condition, Item, Key, Query, TableError, TxOp, Update};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::App;
use crate::plumbing::events::Envelope;
use crate::plumbing::keys;
use crate::plumbing::record::Record;

/// How a recorded action ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// It happened.
    Success,
    /// It was attempted and failed (e.g. a wrong password).
    Failure,
    /// It was refused for lack of permission.
    Denied,
}

impl Outcome {
    /// The outcome's name in API.md.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Failure => "failure",
            Outcome::Denied => "denied",
        }
    }
}

/// The chain of what happens outside any tenant (refused bootstrap tokens on `POST /v1/tenants`): keyed like
/// a tenant's chain under a fixed id that no tenant can have ([`TenantId::parse`] only accepts generated
/// ids, so no request can name it), verified with `kefu audit verify --tenant platform`.
pub fn platform() -> TenantId {
    TenantId::from_static("tn_platform")
}

/// Who did something, named the one way every audit entry names its actor: the stored `actor_id` is the
/// account's id, the API key's id, the visitor's customer id, `operator` for the command line, or nothing when
/// nobody is known (a failed sign-in of no account).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    /// A staff account, through a session.
    Account(kefu_domain::AgentId),
    /// An integration's API key.
    ApiKey(kefu_domain::security::ApiKeyId),
    /// A visitor of the widget (their customer record).
    Visitor(kefu_domain::CustomerId),
    /// Whoever runs `kefu` on the command line (`kefu admin restore`…).
    Operator,
    /// Nobody known.
    Nobody,
}

impl Actor {
    /// The id stored as the entry's `actor_id` (and indexed for `GET /v1/audit?actor_id=`).
    pub fn id(&self) -> Option<String> {
        match self {
            Actor::Account(a) => Some(a.to_string()),
            Actor::ApiKey(k) => Some(k.to_string()),
            Actor::Visitor(c) => Some(c.to_string()),
            Actor::Operator => Some("operator".to_owned()),
            Actor::Nobody => None,
        }
    }
}

/// What to record. Actions are API.md's names (`auth.login`, `customer.read`, `settings.update`…).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// The tenant whose log it goes to.
    pub tenant_id: TenantId,
    /// Who acted: an account id, an API key id, or `None` when unknown (e.g. a failed sign-in of no account).
    pub actor_id: Option<String>,
    /// What was done.
    pub action: String,
    /// The kind of thing acted on (`agent`, `customer`, `conversation`, `settings`…).
    pub target_type: Option<String>,
    /// Its id.
    pub target_id: Option<String>,
    /// The client's IP.
    pub ip: Option<String>,
    /// How it ended.
    pub outcome: Outcome,
    /// Anything else worth keeping (never secrets).
    pub detail: Option<Value>,
}

impl AuditEntry {
    /// An entry with the required fields; set the others with the builder methods.
    pub fn new(tenant_id: &TenantId, action: impl Into<String>, outcome: Outcome) -> Self {
        Self {
            tenant_id: tenant_id.clone(),
            actor_id: None,
            action: action.into(),
            target_type: None,
            target_id: None,
            ip: None,
            outcome,
            detail: None,
        }
    }

    /// Who acted.
    pub fn by(mut self, actor: &Actor) -> Self {
        self.actor_id = actor.id();
        self
    }

    /// What was acted on.
    pub fn target(mut self, kind: impl Into<String>, id: impl ToString) -> Self {
        self.target_type = Some(kind.into());
        self.target_id = Some(id.to_string());
        self
    }

    /// From where.
    pub fn ip(mut self, ip: impl ToString) -> Self {
        self.ip = Some(ip.to_string());
        self
    }

    /// More about it.
    pub fn detail(mut self, detail: Value) -> Self {
        self.detail = Some(detail);
        self
    }

    /// One more field of the detail (an object, made if there is none): what the service that commits the
    /// entry learns only while it makes the change.
    pub fn with(mut self, field: &str, value: Value) -> Self {
        match &mut self.detail {
            Some(Value::Object(map)) => {
                map.insert(field.to_owned(), value);
            }
            _ => self.detail = Some(json!({ field: value })),
        }
        self
    }
}

#[cfg(test)]
impl AuditEntry {
    /// A made-up actor id, for tests of the chain and the detector that need no real account.
    pub(crate) fn actor_id_for_test(mut self, id: &str) -> Self {
        self.actor_id = Some(id.to_owned());
        self
    }
}

/// The hash the first entry of every chain points back to.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// How often an append retries when another writer moved the head first.
const APPEND_ATTEMPTS: u32 = 25;

/// The fields an entry's hash covers, in a fixed order: everything but the hash itself.
fn chained_fields(item: &Item) -> Value {
    let keep = [
        "seq",
        "at",
        "tenant_id",
        "actor_id",
        "action",
        "target_type",
        "target_id",
        "ip",
        "outcome",
        "detail",
        "prev_hash",
    ];
    let mut map = serde_json::Map::new();
    for k in keep {
        map.insert(k.to_owned(), item.get(k).cloned().unwrap_or(Value::Null));
    }
    Value::Object(map)
}

/// JSON with object keys sorted at every level, so the hash does not depend on how a store orders maps.
fn canonical(v: &Value, out: &mut String) {
    match v {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(k.clone()).to_string());
                out.push(':');
                canonical(&map[k], out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, x) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                canonical(x, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

/// An entry as stored in its tenant's chain (`AUDIT#{seq}`): the entry, its place, and the previous entry's
/// hash. Its own hash and index attributes are added after hashing ([`append`]).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ChainedEntry {
    /// Its place in the chain (1, 2, …).
    pub seq: u64,
    /// When it was appended.
    pub at: jiff::Timestamp,
    /// What was recorded.
    #[serde(flatten)]
    pub entry: AuditEntry,
    /// The previous entry's hash ([`GENESIS`] for the first).
    pub prev_hash: String,
}

impl Record for ChainedEntry {
    const TYPE: &'static str = "audit";

    fn key(&self) -> Key {
        keys::audit_entry(&self.entry.tenant_id, self.seq)
    }
}

/// The hash of a stored entry: SHA-256 over the canonical JSON of its chained fields (which include the
/// previous entry's hash), hex.
pub fn entry_hash(item: &Item) -> String {
    let mut s = String::new();
    canonical(&chained_fields(item), &mut s);
    hex::encode(Sha256::digest(s.as_bytes()))
}

/// The sequence number of a stored entry.
pub fn seq_of(item: &Item) -> u64 {
    item.get("seq").and_then(Value::as_u64).unwrap_or(0)
}

/// Appends an entry to its tenant's chain, with `events` stored through the outbox in the same transaction
/// (published right after). Nothing else: no anomaly detection, so the detector's own entries go through here.
///
/// `settles` is the key of the pending entry this append takes the place of (an entry committed with a change,
/// see [`super::pending`]): it is deleted in the same transaction, on condition that it still exists, so a
/// pending entry takes exactly one place in the chain however many sweepers race for it. `Ok(None)` says
/// another writer settled it first.
pub(crate) async fn append(
    app: &App,
    entry: &AuditEntry,
    events: Vec<Envelope>,
    settles: Option<&Key>,
) -> Result<Option<Item>, TableError> {
    let tenant = entry.tenant_id.clone();
    let head_key = keys::audit_head(&tenant);
    for attempt in 0..APPEND_ATTEMPTS {
        let head = app.table.get(&head_key).await?;
        let (seq, prev) = match &head {
            Some(h) => (
                h.get("seq").and_then(Value::as_u64).unwrap_or(0),
                h.get("hash").and_then(Value::as_str).unwrap_or(GENESIS).to_owned(),
            ),
            None => (0, GENESIS.to_owned()),
        };
        let next = seq + 1;
        let at = app.now();
        let mut item = ChainedEntry { seq: next, at, entry: entry.clone(), prev_hash: prev }.to_item();
        let hash = entry_hash(&item);
        let time_sk = keys::audit_time_sk(at, next);
        item.insert("hash".into(), Value::String(hash.clone()));
        item.insert("gsi1pk".into(), Value::String(keys::audit_by_time(&tenant)));
        item.insert("gsi1sk".into(), Value::String(time_sk.clone()));
        if let Some(actor) = &entry.actor_id {
            item.insert("gsi2pk".into(), Value::String(keys::audit_by_actor(&tenant, actor)));
            item.insert("gsi2sk".into(), Value::String(time_sk));
        }
        let head_condition = if head.is_some() { Condition::eq("seq", seq) } else { Condition::NotExists };
        let mut ops = vec![
            TxOp::Put { item: item.clone(), condition: Some(Condition::NotExists) },
            TxOp::Update {
                key: head_key.clone(),
                update: Update::new().set("seq", json!(next)).set("hash", json!(hash)).set("at", json!(at)),
                condition: Some(head_condition),
            },
        ];
        if let Some(key) = settles {
            ops.push(TxOp::Delete { key: key.clone(), condition: Some(Condition::Exists) });
        }
        match crate::plumbing::outbox::commit(app, ops, events.clone()).await {
            Ok(()) => return Ok(Some(item)),
            Err(TableError::TransactionCanceled { failed }) if settles.is_some() && failed.contains(&2) => {
                return Ok(None);
            }
            Err(TableError::TransactionCanceled { .. } | TableError::Conflict) => {
                let pause = rand::random::<u64>() % (2 + 2 * u64::from(attempt.min(10)));
                tokio::time::sleep(Duration::from_millis(pause)).await;
            }
            Err(e) => return Err(e),
        }
    }
    Err(TableError::Conflict)
}

/// Something [`verify`] found wrong with a chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ChainProblem {
    /// The entry's content no longer matches its hash.
    Edited {
        /// Its sequence number.
        seq: u64,
    },
    /// Entries that should be there are not (removed from the middle or the end).
    Missing {
        /// The first missing sequence number.
        from: u64,
        /// The last missing sequence number.
        to: u64,
    },
    /// The entry does not point at the hash of the entry before it (replaced, or re-chained by hand).
    Relinked {
        /// Its sequence number.
        seq: u64,
    },
    /// The head does not match the last entry.
    HeadMismatch,
}

/// What [`verify`] found.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct ChainReport {
    /// Entries read.
    pub entries: u64,
    /// The head's sequence number (0 without a head).
    pub head_seq: u64,
    /// Everything wrong, in chain order; empty when the chain is intact.
    pub problems: Vec<ChainProblem>,
}

impl ChainReport {
    /// Whether the chain is intact.
    pub fn is_intact(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Walks a tenant's chain from the first entry to the head and reports every edited, removed or re-linked
/// entry. `progress` is called after each page with the number of entries read so far.
pub async fn verify(app: &App, tenant: &TenantId, mut progress: impl FnMut(u64)) -> Result<ChainReport, TableError> {
    let mut report = ChainReport::default();
    let mut expected = 1u64;
    let mut prev = GENESIS.to_owned();
    let mut cursor = None;
    loop {
        let page = app
            .table
            .query(Query::partition(keys::audit_pk(tenant)).prefix(keys::AUDIT_ENTRY_PREFIX).limit(500).after(cursor))
            .await?;
        for item in &page.items {
            let seq = seq_of(item);
            if seq > expected {
                report.problems.push(ChainProblem::Missing { from: expected, to: seq - 1 });
            }
            let stored = item.get("hash").and_then(Value::as_str).unwrap_or_default();
            if entry_hash(item) != stored {
                report.problems.push(ChainProblem::Edited { seq });
            } else if seq == expected && item.get("prev_hash").and_then(Value::as_str) != Some(prev.as_str()) {
                report.problems.push(ChainProblem::Relinked { seq });
            }
            prev = stored.to_owned();
            expected = seq + 1;
            report.entries += 1;
        }
        progress(report.entries);
        if page.cursor.is_none() {
            break;
        }
        cursor = page.cursor;
    }
    if let Some(head) = app.table.get(&keys::audit_head(tenant)).await? {
        report.head_seq = head.get("seq").and_then(Value::as_u64).unwrap_or(0);
        if report.head_seq >= expected {
            report.problems.push(ChainProblem::Missing { from: expected, to: report.head_seq });
        } else if report.head_seq + 1 != expected || head.get("hash").and_then(Value::as_str) != Some(prev.as_str()) {
            report.problems.push(ChainProblem::HeadMismatch);
        }
    } else if report.entries > 0 {
        report.problems.push(ChainProblem::HeadMismatch);
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use kefu_ports::SystemClock;

    use super::*;

    fn tenant() -> TenantId {
        TenantId::generate()
    }

    async fn write(app: &App, t: &TenantId, n: usize) {
        for i in 0..n {
            let e = AuditEntry::new(t, "customer.read", Outcome::Success)
                .actor_id_for_test("ag_1")
                .target("customer", format!("cu_{i}"))
                .ip("127.0.0.1")
                .detail(json!({"b": 1, "a": [1, {"z": 2, "y": 3}]}));
            crate::audit::record(app, e).await.unwrap();
        }
    }

    #[tokio::test]
    async fn an_untouched_chain_verifies_and_edits_and_removals_are_found() {
        let (app, _dir) = crate::testing::embedded_app(Arc::new(SystemClock));
        let t = tenant();
        write(&app, &t, 6).await;
        let clean = verify(&app, &t, |_| {}).await.unwrap();
        assert!(clean.is_intact(), "{clean:?}");
        assert_eq!((clean.entries, clean.head_seq), (6, 6));

        // Edit entry 2's outcome, remove entry 4.
        let key = keys::audit_entry(&t, 2);
        app.table.update(&key, Update::new().set("outcome", json!("failure")), None).await.unwrap();
        app.table.delete(&keys::audit_entry(&t, 4), None).await.unwrap();
        let report = verify(&app, &t, |_| {}).await.unwrap();
        assert_eq!(report.problems, vec![ChainProblem::Edited { seq: 2 }, ChainProblem::Missing { from: 4, to: 4 }]);

        // Removing the last entry is found through the head.
        app.table.delete(&keys::audit_entry(&t, 6), None).await.unwrap();
        let report = verify(&app, &t, |_| {}).await.unwrap();
        assert_eq!(report.problems.last(), Some(&ChainProblem::Missing { from: 6, to: 6 }));
    }

    #[tokio::test]
    async fn concurrent_writers_get_distinct_gapless_numbers() {
        let (app, _dir) = crate::testing::embedded_app(Arc::new(SystemClock));
        let t = tenant();
        let tasks: Vec<_> = (0..16)
            .map(|_| {
                let (app, t) = (app.clone(), t.clone());
                tokio::spawn(async move { write(&app, &t, 3).await })
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
        let report = verify(&app, &t, |_| {}).await.unwrap();
        assert!(report.is_intact(), "{report:?}");
        assert_eq!(report.entries, 48);
    }

    #[test]
    fn the_hash_ignores_map_order() {
        let a: Item = serde_json::from_str(r#"{"seq": 1, "detail": {"a": 1, "b": 2}}"#).unwrap();
        let b: Item = serde_json::from_str(r#"{"detail": {"b": 2, "a": 1}, "seq": 1}"#).unwrap();
        assert_eq!(entry_hash(&a), entry_hash(&b));
        let c: Item = serde_json::from_str(r#"{"detail": {"b": 3, "a": 1}, "seq": 1}"#).unwrap();
        assert_ne!(entry_hash(&a), entry_hash(&c));
    }
}
