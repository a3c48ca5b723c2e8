//! The shop several end-to-end modules set up (routing, timers, auto-away, overflow): a tenant with its
//! admin's token and widget key.

use kefu_domain::TenantId;
use kefu_e2e::{ADMIN_PASSWORD, TestApp};

/// The password every agent these modules create signs in with.
pub(crate) const AGENT_PASSWORD: &str = "an agent's long password";

/// A tenant as its admin sees it.
pub(crate) struct Tenant {
    pub(crate) id: TenantId,
    pub(crate) admin: String,
    pub(crate) widget_key: String,
}

/// Creates a tenant named `name` (its admin `admin@{name}.test`) and signs its admin in.
pub(crate) async fn tenant(t: &TestApp, name: &str) -> Tenant {
    let email = format!("admin@{}.test", name.to_lowercase());
    let created = t.create_tenant(name, &email).await;
    let id = created["tenant_id"].as_str().unwrap().to_owned();
    let admin = t.login(&id, &email, ADMIN_PASSWORD).await;
    let widget_key = created["widget_key"].as_str().unwrap().to_owned();
    Tenant { id: TenantId::parse(&id).unwrap(), admin, widget_key }
}
