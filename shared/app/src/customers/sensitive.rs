//! The audit of a change to a customer's sensitive fields (email, phone): which changed, with the old and new
//! values masked ([`kefu_domain::customer_change`]), so the log says what changed without holding them in
//! clear. Values re-sent unchanged (in their normal form) are not a change.

use kefu_domain::customer_change::{SensitiveChange, sensitive_changes};
use kefu_domain::{Email, Phone, ValidationError};

use super::CustomerRecord;

/// What a PATCH does to a field: absent, `null` (clear) or a value.
pub type FieldPatch = Option<Option<String>>;

/// The sensitive changes that setting `email` and `phone` as sent makes to the stored customer `current`
/// (masked, email first); an invalid value is the field's [`ValidationError`].
pub fn changes(
    current: &CustomerRecord,
    email: &FieldPatch,
    phone: &FieldPatch,
) -> Result<Vec<SensitiveChange>, ValidationError> {
    let old_email = current.email.as_deref().and_then(|s| Email::parse(s).ok());
    let old_phone = current.phone.as_deref().and_then(|s| Phone::parse(s, "phone").ok());
    let new_email = email.as_ref().map(|e| e.as_deref().map(Email::parse).transpose()).transpose()?;
    let new_phone = phone.as_ref().map(|p| p.as_deref().map(|p| Phone::parse(p, "phone")).transpose()).transpose()?;
    Ok(sensitive_changes(
        old_email.as_ref(),
        new_email.as_ref().map(Option::as_ref),
        old_phone.as_ref(),
        new_phone.as_ref().map(Option::as_ref),
    ))
}

#[cfg(test)]
mod tests {
    use kefu_domain::{CustomerId, TenantId};

    use super::*;

    #[test]
    fn changes_are_masked_and_unchanged_values_are_none() {
        let current = CustomerRecord {
            customer_id: CustomerId::generate(),
            tenant_id: TenantId::generate(),
            name: None,
            email: Some("zhang.san@example.com".into()),
            phone: Some("13812345678".into()),
            external_id: None,
            group_id: None,
            tags: Vec::new(),
            attributes: serde_json::Map::new(),
            search_terms: Vec::new(),
            created_at: jiff::Timestamp::UNIX_EPOCH,
            updated_at: None,
            version: 1,
        };
        let same = changes(&current, &Some(Some("Zhang.San@Example.com".into())), &None).unwrap();
        assert!(same.is_empty());
        let c = changes(&current, &Some(Some("li.si@example.com".into())), &Some(None)).unwrap();
        assert_eq!(c.len(), 2);
        let text = serde_json::to_string(&c).unwrap();
        assert!(!text.contains("zhang.san@") && !text.contains("li.si@") && !text.contains("13812345678"), "{text}");
        assert_eq!(c[1].new_masked, None);
        assert_eq!(changes(&current, &Some(Some("nope".into())), &None).unwrap_err().field, "email");
    }
}
