//! `retention`: runs daily to sweep each tenant's closed conversations past its retention period, archiving them
//! first when the tenant asks (`kefu_app::retention::run_tenant`). Only the tenants with a period are read
//! (their list), never every tenant; each tenant's run is audited (`retention.run`, by the system) and stops
//! after a bounded number of pages, the next run carrying on.

use kefu_app::App;
use kefu_app::audit::{AuditEntry, Outcome};
use serde_json::{Value, json};

/// One daily run: every tenant with a period, one after the other; a tenant that fails is logged and the others
/// still run.
pub async fn run(app: &App, at: jiff::Timestamp) -> Value {
    let tenants = match kefu_app::retention::tenants(app).await {
        Ok(t) => t,
        Err(e) => {
            tracing::warn!(error = %e, "retention: the tenants could not be listed");
            return json!({"at": at, "error": e.to_string()});
        }
    };
    let mut runs = Vec::new();
    for t in &tenants {
        let entry = AuditEntry::new(t, "retention.run", Outcome::Success);
        match kefu_app::retention::run_tenant(app, t, at, false, Some(entry)).await {
            Ok(r) => {
                tracing::info!(tenant_id = %t, conversations = r.conversations, archived = r.archived, complete = r.complete, "retention run");
                runs.push(json!({"tenant_id": t, "conversations": r.conversations, "messages": r.messages, "archived": r.archived, "complete": r.complete}));
            }
            Err(e) => {
                tracing::warn!(tenant_id = %t, error = %e, "retention run failed");
                runs.push(json!({"tenant_id": t, "error": e.to_string()}));
            }
        }
    }
    json!({"at": at, "tenants": runs})
}
