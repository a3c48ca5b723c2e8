//! Creating a tenant: its record, widget key, built-in roles and first admin, in one transaction with its
//! `tenant.created` event.

use kefu_domain::{AgentId, BuiltinRole, Email, Name, Password, RoleId, TenantId, TimeZoneName, ValidationError};
use kefu_ports::table::{Condition, Item, Key, TableError, TxOp};
use serde::{Deserialize, Serialize};

use super::accounts::{agent_item, builtin_role_ops};
use super::secrets::{hash_password, new_secret};
use crate::App;
use crate::plumbing::events::{Envelope, TenantCreated};
use crate::plumbing::keys;
use crate::plumbing::outbox;
use crate::plumbing::record::{self, Record};

/// `POST /v1/tenants` body.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewTenant {
    /// The company's name.
    pub name: String,
    /// The first admin.
    pub admin: NewAdmin,
    /// IANA time zone (default UTC).
    #[serde(default)]
    pub timezone: Option<String>,
}

/// The first admin of a new tenant.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewAdmin {
    /// Sign-in email.
    pub email: String,
    /// Display name.
    pub name: String,
    /// At least 12 characters.
    pub password: String,
}

/// `POST /v1/tenants` answer.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
pub struct CreatedTenant {
    /// The new tenant.
    pub tenant_id: String,
    /// The key the chat widget uses.
    pub widget_key: String,
    /// The first admin's account id.
    pub admin_id: String,
}

/// Why a tenant could not be created.
#[derive(Debug, thiserror::Error)]
pub enum CreateTenantError {
    /// A field is invalid.
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    /// The store failed.
    #[error(transparent)]
    Table(#[from] TableError),
}

/// A tenant as stored: `T#{t}` / `TENANT`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TenantRecord {
    /// Its id.
    pub tenant_id: TenantId,
    /// Its name.
    pub name: String,
    /// Its IANA time zone (schedules and reports).
    pub timezone: String,
    /// The public key its chat widget is embedded with.
    pub widget_key: String,
    /// When it was created.
    pub created_at: jiff::Timestamp,
}

impl Record for TenantRecord {
    const TYPE: &'static str = "tenant";

    fn key(&self) -> Key {
        keys::tenant(&self.tenant_id)
    }
}

/// The lookup a widget key resolves through: `WIDGETKEY#{widget key}` (the key is only in the item's key;
/// the item carries no `type`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WidgetKeyRecord {
    /// The tenant the widget key belongs to.
    pub tenant_id: TenantId,
}

/// The claim that makes an email unique in a tenant: `T#{t}` / `EMAIL#{email}` (no `type`), naming the account
/// that holds it. Written when an account is created or changes its email.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmailClaimRecord {
    /// The account holding the email.
    pub agent_id: AgentId,
}

impl EmailClaimRecord {
    /// The claim item of `email` in `tenant` for `agent`.
    pub fn item(tenant: &TenantId, email: &str, agent: &AgentId) -> Item {
        record::item_of(keys::agent_email(tenant, email), &EmailClaimRecord { agent_id: agent.clone() })
    }
}

/// Validates and creates a tenant with everything it needs to start.
pub async fn create_tenant(app: &App, req: NewTenant) -> Result<CreatedTenant, CreateTenantError> {
    let name = Name::parse(&req.name, "name")?;
    let email = Email::parse(&req.admin.email).map_err(|e| e.under("admin"))?;
    let admin_name = Name::parse(&req.admin.name, "name").map_err(|e| e.under("admin"))?;
    let password =
        Password::parse(&req.admin.password, kefu_domain::text::PASSWORD_MIN_CHARS, email.as_str(), name.as_str())
            .map_err(|e| e.under("admin"))?;
    let timezone = match req.timezone.as_deref() {
        Some(tz) => TimeZoneName::parse(tz, "timezone")?,
        None => TimeZoneName::default(),
    };
    let tenant = TenantId::generate();
    let admin = AgentId::generate();
    let widget_key = new_secret("wk_");
    let now = app.now();
    let hash = hash_password(password.expose()).await;

    let tenant_item = TenantRecord {
        tenant_id: tenant.clone(),
        name: name.as_str().to_owned(),
        timezone: timezone.as_str().to_owned(),
        widget_key: widget_key.clone(),
        created_at: now,
    }
    .to_item();
    let widget = record::item_of(keys::widget_key(&widget_key), &WidgetKeyRecord { tenant_id: tenant.clone() });
    let claim = EmailClaimRecord::item(&tenant, email.as_str(), &admin);

    let mut ops = vec![
        TxOp::Put { item: tenant_item, condition: Some(Condition::NotExists) },
        TxOp::Put { item: widget, condition: Some(Condition::NotExists) },
        TxOp::Put { item: claim, condition: Some(Condition::NotExists) },
        TxOp::Put {
            item: agent_item(
                &tenant,
                &admin,
                email.as_str(),
                admin_name.as_str(),
                &hash,
                &RoleId::from_static(BuiltinRole::Admin.name()),
                now,
            ),
            condition: Some(Condition::NotExists),
        },
    ];
    ops.extend(builtin_role_ops(&tenant));
    let created = TenantCreated {
        name: name.as_str().to_owned(),
        admin_id: admin.clone(),
        admin_email: email.as_str().to_owned(),
    };
    let event = Envelope::new(&tenant, now, created);
    outbox::commit(app, ops, vec![event]).await?;
    Ok(CreatedTenant { tenant_id: tenant.to_string(), widget_key, admin_id: admin.to_string() })
}

/// A tenant "Acme" with its administrator li@acme.test, for the identity tests: its id and the admin's.
#[cfg(test)]
pub(crate) async fn acme(app: &App) -> (TenantId, AgentId) {
    let created = create_tenant(
        app,
        NewTenant {
            name: "Acme".into(),
            admin: NewAdmin {
                email: "li@acme.test".into(),
                name: "Li".into(),
                password: "a long enough password".into(),
            },
            timezone: None,
        },
    )
    .await
    .expect("the tenant is created");
    (TenantId::parse(&created.tenant_id).expect("an id"), AgentId::parse(&created.admin_id).expect("an id"))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_tenant_and_its_lookups_are_stored_as_before() {
        let (t, a) = (TenantId::generate(), AgentId::generate());
        let at: jiff::Timestamp = "2026-03-01T10:00:00Z".parse().unwrap();
        let r = TenantRecord {
            tenant_id: t.clone(),
            name: "Acme".into(),
            timezone: "Asia/Shanghai".into(),
            widget_key: "wk_1".into(),
            created_at: at,
        };
        let expected = keys::tenant(&t).with(json!({
            "type": "tenant", "tenant_id": t, "name": "Acme", "timezone": "Asia/Shanghai",
            "widget_key": "wk_1", "created_at": at,
        }));
        assert_eq!(r.to_item(), expected);
        assert_eq!(TenantRecord::from_item(expected).unwrap(), r);
        assert_eq!(
            record::item_of(keys::widget_key("wk_1"), &WidgetKeyRecord { tenant_id: t.clone() }),
            keys::widget_key("wk_1").with(json!({"tenant_id": t}))
        );
        let claim = keys::agent_email(&t, "li@acme.test").with(json!({"agent_id": a}));
        assert_eq!(EmailClaimRecord::item(&t, "li@acme.test", &a), claim);
        assert!(record::parse::<EmailClaimRecord>("email claim", claim).is_ok());
    }
}
