//! Approvals: a second person's yes before a sensitive operation runs (the four-eyes rule).
//!
//! A tenant chooses which operations need one (`/v1/settings/approvals`). Such an operation answers 202 with an
//! approval id instead of running; a holder of `approvals.review` other than the requester approves or rejects
//! it ([`decide`]); approved, it runs once; rejected, or left pending past its expiry (72 hours unless the
//! tenant says otherwise), it changes nothing.
//!
//! Only a pending request moves, and only once: `pending → approved | rejected | expired`, each final. The app
//! makes the move a conditional write on `status = pending`, so two reviewers approving at once give one
//! approval and one 409, and the operation runs exactly once. Expiry is read lazily: a pending request past
//! `expires_at` is expired ([`effective_status`]) whether or not anything has written so yet.

use std::collections::BTreeSet;
use std::fmt;

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::ValidationError;

pub use crate::ids::ApprovalId;

/// How long a request waits for a decision unless the tenant says otherwise, in hours.
pub const DEFAULT_EXPIRY_HOURS: u32 = 72;
/// The longest a tenant may let a request wait, in hours (30 days): a stale approval should not run a month on.
pub const MAX_EXPIRY_HOURS: u32 = 720;
/// The settings key of the expiry.
pub const EXPIRY_KEY: &str = "expires_after_hours";

/// An operation a tenant may put behind an approval. Named as in the settings and in the audit log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum SensitiveOperation {
    /// `DELETE /v1/conversations/{id}`: the conversation and its messages are gone for good.
    #[serde(rename = "conversation.delete")]
    DeleteConversation,
    /// Changing a customer's email or phone: where the customer's messages and orders go.
    #[serde(rename = "customer.update_sensitive")]
    ChangeCustomerSensitive,
    /// `POST /v1/exports`: personal data leaves the system in bulk.
    #[serde(rename = "export.create")]
    CreateExport,
}

impl SensitiveOperation {
    /// Every operation.
    pub const ALL: [SensitiveOperation; 3] = [
        SensitiveOperation::DeleteConversation,
        SensitiveOperation::ChangeCustomerSensitive,
        SensitiveOperation::CreateExport,
    ];

    /// The name in the settings, in approvals and in the audit log.
    pub fn as_str(self) -> &'static str {
        match self {
            SensitiveOperation::DeleteConversation => "conversation.delete",
            SensitiveOperation::ChangeCustomerSensitive => "customer.update_sensitive",
            SensitiveOperation::CreateExport => "export.create",
        }
    }

    /// The operation named `s`, if it is one.
    pub fn from_name(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|o| o.as_str() == s)
    }
}

impl fmt::Display for SensitiveOperation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A tenant's approval settings: which operations wait for a second person, and for how long. By default none
/// does (approvals are something a tenant turns on) and a request waits 72 hours.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApprovalSettings {
    required: BTreeSet<SensitiveOperation>,
    expires_after_hours: u32,
}

impl Default for ApprovalSettings {
    fn default() -> Self {
        Self { required: BTreeSet::new(), expires_after_hours: DEFAULT_EXPIRY_HOURS }
    }
}

impl ApprovalSettings {
    /// Reads `PUT /v1/settings/approvals`: `{"conversation.delete": true, …, "expires_after_hours": 72}`. Every
    /// key is optional (absent operations need no approval, an absent expiry is 72 hours); an unknown key, a
    /// non-boolean flag, or an expiry outside 1..=720 hours is an error naming that key.
    pub fn parse(body: &Map<String, Value>) -> Result<Self, ValidationError> {
        let mut s = Self::default();
        for (k, v) in body {
            if k == EXPIRY_KEY {
                s.expires_after_hours = v
                    .as_u64()
                    .and_then(|h| u32::try_from(h).ok())
                    .filter(|h| (1..=MAX_EXPIRY_HOURS).contains(h))
                    .ok_or_else(|| {
                        ValidationError::new(
                            k.as_str(),
                            format!("must be a whole number of hours, 1 to {MAX_EXPIRY_HOURS}"),
                        )
                    })?;
            } else if let Some(op) = SensitiveOperation::from_name(k) {
                let on = v.as_bool().ok_or_else(|| ValidationError::new(k.as_str(), "must be true or false"))?;
                if on {
                    s.required.insert(op);
                }
            } else {
                let known = SensitiveOperation::ALL.map(SensitiveOperation::as_str).join(", ");
                return Err(ValidationError::new(
                    k.as_str(),
                    format!("is not a setting; known ones are {known} and {EXPIRY_KEY}"),
                ));
            }
        }
        Ok(s)
    }

    /// The settings as the API shows them: every operation with its flag, and the expiry.
    pub fn to_json(&self) -> Value {
        let mut m: Map<String, Value> =
            SensitiveOperation::ALL.iter().map(|o| (o.as_str().to_owned(), Value::Bool(self.requires(*o)))).collect();
        m.insert(EXPIRY_KEY.to_owned(), Value::from(self.expires_after_hours));
        Value::Object(m)
    }

    /// Whether `op` waits for an approval.
    pub fn requires(&self, op: SensitiveOperation) -> bool {
        self.required.contains(&op)
    }

    /// How long a request waits, in hours.
    pub fn expires_after_hours(&self) -> u32 {
        self.expires_after_hours
    }

    /// When a request made at `requested_at` expires.
    pub fn expires_at(&self, requested_at: Timestamp) -> Timestamp {
        requested_at
            .checked_add(SignedDuration::from_hours(i64::from(self.expires_after_hours)))
            .unwrap_or(Timestamp::MAX)
    }
}

/// Where an approval request stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ApprovalStatus {
    /// Waiting for a reviewer.
    Pending,
    /// A reviewer said yes; the operation runs (once).
    Approved,
    /// A reviewer said no; nothing changes.
    Rejected,
    /// Nobody decided in time; nothing changes.
    Expired,
}

impl ApprovalStatus {
    /// Every status.
    pub const ALL: [ApprovalStatus; 4] =
        [ApprovalStatus::Pending, ApprovalStatus::Approved, ApprovalStatus::Rejected, ApprovalStatus::Expired];

    /// The name in the API and in the store.
    pub fn as_str(self) -> &'static str {
        match self {
            ApprovalStatus::Pending => "pending",
            ApprovalStatus::Approved => "approved",
            ApprovalStatus::Rejected => "rejected",
            ApprovalStatus::Expired => "expired",
        }
    }

    /// The status named `s` (the `?status=` filter), for `field`.
    pub fn parse(s: &str, field: &str) -> Result<Self, ValidationError> {
        Self::ALL
            .into_iter()
            .find(|x| x.as_str() == s)
            .ok_or_else(|| ValidationError::new(field, "must be pending, approved, rejected or expired"))
    }

    /// Whether nothing moves it any more (every status but `pending`).
    pub fn is_final(self) -> bool {
        self != ApprovalStatus::Pending
    }
}

impl fmt::Display for ApprovalStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A reviewer's answer (`POST /v1/approvals/{id}/approve|reject`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Decision {
    /// Yes: run the operation.
    Approve,
    /// No: drop it.
    Reject,
}

/// Why a decision is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ApprovalError {
    /// The request was already decided or has expired (the app answers 409 `conflict`).
    #[error("this request is already {0}")]
    NotPending(ApprovalStatus),
    /// The reviewer asked for the operation: the four-eyes rule needs someone else (403 `forbidden`).
    #[error("a request must be decided by someone other than the person who made it")]
    OwnRequest,
    /// The request was pending but its time ran out (409 `conflict`); the app records it as `expired`.
    #[error("this request has expired")]
    Expired,
}

/// The status of a request as of `now`: a pending one past `expires_at` is expired.
pub fn effective_status(status: ApprovalStatus, now: Timestamp, expires_at: Timestamp) -> ApprovalStatus {
    if status == ApprovalStatus::Pending && now >= expires_at { ApprovalStatus::Expired } else { status }
}

/// A reviewer's decision on a request, as of `now`: its new status, or why not. `requester` and `reviewer` are
/// actor ids (an agent, or the API key that asked). Checked in this order: a request that is not pending does
/// not move ([`ApprovalError::NotPending`]); the requester cannot decide its own request, not even to reject it
/// ([`ApprovalError::OwnRequest`]); a request past `expires_at` is [`ApprovalError::Expired`]. The reviewer's
/// `approvals.review` permission is the route's check, made before this.
pub fn decide(
    status: ApprovalStatus,
    requester: &str,
    reviewer: &str,
    now: Timestamp,
    expires_at: Timestamp,
    decision: Decision,
) -> Result<ApprovalStatus, ApprovalError> {
    if status != ApprovalStatus::Pending {
        return Err(ApprovalError::NotPending(status));
    }
    if requester == reviewer {
        return Err(ApprovalError::OwnRequest);
    }
    if effective_status(status, now, expires_at) == ApprovalStatus::Expired {
        return Err(ApprovalError::Expired);
    }
    Ok(match decision {
        Decision::Approve => ApprovalStatus::Approved,
        Decision::Reject => ApprovalStatus::Rejected,
    })
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::ApprovalStatus::*;
    use super::*;

    fn t0() -> Timestamp {
        "2026-06-01T00:00:00Z".parse().unwrap()
    }

    fn hours(h: i64) -> SignedDuration {
        SignedDuration::from_hours(h)
    }

    fn body(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn settings_name_operations_and_an_expiry() {
        let d = ApprovalSettings::default();
        assert!(SensitiveOperation::ALL.iter().all(|o| !d.requires(*o)));
        assert_eq!(d.expires_at(t0()), t0() + hours(72));

        let s = ApprovalSettings::parse(&body(serde_json::json!({
            "conversation.delete": true, "customer.update_sensitive": true, "export.create": false
        })))
        .unwrap();
        assert!(s.requires(SensitiveOperation::DeleteConversation));
        assert!(s.requires(SensitiveOperation::ChangeCustomerSensitive));
        assert!(!s.requires(SensitiveOperation::CreateExport));
        assert_eq!(ApprovalSettings::parse(s.to_json().as_object().unwrap()).unwrap(), s, "round trip");

        let s = ApprovalSettings::parse(&body(serde_json::json!({"expires_after_hours": 24}))).unwrap();
        assert_eq!((s.expires_after_hours(), s.expires_at(t0())), (24, t0() + hours(24)));

        let field = |v: Value| ApprovalSettings::parse(&body(v)).unwrap_err().field;
        assert_eq!(field(serde_json::json!({"conversation.deleet": true})), "conversation.deleet");
        assert_eq!(field(serde_json::json!({"export.create": "yes"})), "export.create");
        assert_eq!(field(serde_json::json!({"expires_after_hours": 0})), "expires_after_hours");
        assert_eq!(field(serde_json::json!({"expires_after_hours": 721})), "expires_after_hours");
        assert_eq!(field(serde_json::json!({"expires_after_hours": 1.5})), "expires_after_hours");
        assert_eq!(
            serde_json::to_string(&SensitiveOperation::ChangeCustomerSensitive).unwrap(),
            "\"customer.update_sensitive\""
        );
    }

    #[test]
    fn only_pending_moves_and_only_by_someone_else_in_time() {
        let exp = t0() + hours(72);
        assert_eq!(decide(Pending, "ag_a", "ag_b", t0(), exp, Decision::Approve), Ok(Approved));
        assert_eq!(decide(Pending, "ag_a", "ag_b", t0(), exp, Decision::Reject), Ok(Rejected));
        assert_eq!(decide(Pending, "ag_a", "ag_a", t0(), exp, Decision::Approve), Err(ApprovalError::OwnRequest));
        assert_eq!(decide(Pending, "ag_a", "ag_a", t0(), exp, Decision::Reject), Err(ApprovalError::OwnRequest));
        for s in [Approved, Rejected, Expired] {
            assert_eq!(decide(s, "ag_a", "ag_b", t0(), exp, Decision::Approve), Err(ApprovalError::NotPending(s)));
        }
        let late = t0() + hours(72);
        assert_eq!(decide(Pending, "ag_a", "ag_b", late, exp, Decision::Approve), Err(ApprovalError::Expired));
        assert_eq!(decide(Pending, "ag_a", "ag_b", late - hours(1), exp, Decision::Approve), Ok(Approved));
        assert_eq!(effective_status(Pending, late, exp), Expired);
        assert_eq!(effective_status(Approved, late, exp), Approved, "a decision stands after the deadline");
        assert!(Approved.is_final() && !Pending.is_final());
        assert_eq!(ApprovalStatus::parse("pending", "status").unwrap(), Pending);
        assert_eq!(ApprovalStatus::parse("open", "status").unwrap_err().field, "status");
        assert!(ApprovalId::generate().as_str().starts_with("ap_"));
    }

    proptest! {
        #[test]
        fn a_decision_moves_only_a_pending_request_by_another_person_before_expiry(
            s in prop::sample::select(ApprovalStatus::ALL.to_vec()),
            requester in "ag_[ab]", reviewer in "ag_[ab]",
            at in -100i64..100, approve in any::<bool>(),
        ) {
            let exp = t0() + hours(72);
            let now = exp + hours(at);
            let d = if approve { Decision::Approve } else { Decision::Reject };
            match decide(s, &requester, &reviewer, now, exp, d) {
                Ok(new) => {
                    prop_assert!(s == Pending && requester != reviewer && now < exp);
                    prop_assert_eq!(new, if approve { Approved } else { Rejected });
                    prop_assert!(new.is_final());
                }
                Err(_) => prop_assert!(s != Pending || requester == reviewer || now >= exp),
            }
        }
    }
}
