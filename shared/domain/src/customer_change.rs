//! Changes to a customer's sensitive fields, its email and phone: where its messages, receipts and calls go, so
//! changing one can hand a customer's account to someone else. Such a change may wait for an approval
//! ([`crate::approval::SensitiveOperation::ChangeCustomerSensitive`]) and is always audited, with the old and
//! new values masked (`z***@example.com`, `138****5678`): the audit log says what changed without becoming a
//! second copy of the personal data.
//!
//! A `PATCH /v1/customers/{id}` that re-sends the values the customer already has (the console sends the whole
//! form) changes nothing sensitive, needs no approval, and is not logged as such: values are compared in their
//! normal form (emails lower-cased, phones by their digits).

use serde::{Deserialize, Serialize};

use crate::customer::Phone;
use crate::masking::{mask_email, mask_phone};
use crate::text::Email;

/// A sensitive customer field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SensitiveField {
    /// `email`.
    Email,
    /// `phone`.
    Phone,
}

/// One sensitive field's change, with both values masked for the audit log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SensitiveChange {
    /// The field.
    pub field: SensitiveField,
    /// The value before, masked; `None` when there was none.
    pub old_masked: Option<String>,
    /// The value after, masked; `None` when it is removed.
    pub new_masked: Option<String>,
}

/// What a PATCH does to one field: leave it (`None`, the field was absent), clear it (`Some(None)`, sent as
/// `null`) or set it (`Some(Some(v))`).
pub type Patch<T> = Option<Option<T>>;

/// The sensitive changes a PATCH makes to a customer that has `old_email` and `old_phone`, email first. Empty
/// when it makes none: then no approval is needed and nothing sensitive is audited.
pub fn sensitive_changes(
    old_email: Option<&Email>,
    new_email: Patch<&Email>,
    old_phone: Option<&Phone>,
    new_phone: Patch<&Phone>,
) -> Vec<SensitiveChange> {
    let mut out = Vec::new();
    if let Some(new) = new_email
        && old_email.map(Email::as_str) != new.map(Email::as_str)
    {
        out.push(SensitiveChange {
            field: SensitiveField::Email,
            old_masked: old_email.map(|e| mask_email(e.as_str())),
            new_masked: new.map(|e| mask_email(e.as_str())),
        });
    }
    if let Some(new) = new_phone
        && old_phone.map(Phone::digits) != new.map(Phone::digits)
    {
        out.push(SensitiveChange {
            field: SensitiveField::Phone,
            old_masked: old_phone.map(|p| mask_phone(p.as_str())),
            new_masked: new.map(|p| mask_phone(p.as_str())),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn email(s: &str) -> Email {
        Email::parse(s).unwrap()
    }

    fn phone(s: &str) -> Phone {
        Phone::parse(s, "phone").unwrap()
    }

    #[test]
    fn only_real_changes_count_and_they_are_masked() {
        let (e, p) = (email("zhang.san@example.com"), phone("13812345678"));
        assert!(sensitive_changes(Some(&e), None, Some(&p), None).is_empty(), "absent fields are left");
        let same_e = email(" Zhang.San@EXAMPLE.com ");
        let same_p = phone("138 1234 5678");
        assert!(sensitive_changes(Some(&e), Some(Some(&same_e)), Some(&p), Some(Some(&same_p))).is_empty());

        let new_p = phone("13900001111");
        let c = sensitive_changes(Some(&e), Some(Some(&same_e)), Some(&p), Some(Some(&new_p)));
        assert_eq!(
            c,
            [SensitiveChange {
                field: SensitiveField::Phone,
                old_masked: Some("138****5678".into()),
                new_masked: Some("139****1111".into()),
            }]
        );
        let c = sensitive_changes(Some(&e), Some(None), None, Some(None));
        assert_eq!(c.len(), 1, "clearing an absent phone is no change");
        assert_eq!((c[0].old_masked.as_deref(), c[0].new_masked.as_deref()), (Some("z***@example.com"), None));
        let c = sensitive_changes(None, Some(Some(&e)), None, None);
        assert_eq!((c[0].field, c[0].old_masked.as_deref()), (SensitiveField::Email, None));
    }

    proptest! {
        #[test]
        fn audited_values_never_hold_a_whole_phone_number(old in "1[3-9][0-9]{9}", new in "1[3-9][0-9]{9}") {
            let (o, n) = (phone(&old), phone(&new));
            let c = sensitive_changes(None, None, Some(&o), Some(Some(&n)));
            prop_assert_eq!(c.is_empty(), old == new);
            for ch in c {
                for v in [ch.old_masked, ch.new_masked].into_iter().flatten() {
                    prop_assert!(!v.contains(&old) && !v.contains(&new), "{}", v);
                }
            }
        }
    }
}
