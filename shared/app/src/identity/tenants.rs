//! Creating a tenant: its record, widget key, built-in roles and first admin, in one transaction with its
//! `tenant.created` event.

use kefu_domain::{AgentId, BuiltinRole, Email, Name, Password, RoleId, TenantId, TimeZoneName, ValidationError};
use kefu_ports::table::{Condition, TableError, TxOp};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::accounts::{agent_item, builtin_role_ops};
use super::secrets::{hash_password, new_secret};
use crate::App;
use crate::plumbing::events::{Envelope, TenantCreated};
use crate::plumbing::keys;
use crate::plumbing::outbox;

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
    let hash = hash_password(password.expose());

    let tenant_item = keys::tenant(&tenant).with(json!({
        "type": "tenant", "tenant_id": tenant, "name": name.as_str(), "timezone": timezone.as_str(),
        "widget_key": widget_key, "created_at": now,
    }));
    let widget = keys::widget_key(&widget_key).with(json!({"tenant_id": tenant}));
    let claim = keys::agent_email(&tenant, email.as_str()).with(json!({"agent_id": admin}));

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
