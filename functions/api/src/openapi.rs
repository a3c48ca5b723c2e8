//! The machine-readable contract, generated from the handlers' annotations and served at
//! `GET /v1/openapi.json`.

use std::sync::OnceLock;

use axum::http::header;
use axum::response::IntoResponse;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

struct Security;

impl Modify for Security {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "A staff session token (`kfs_…`). The scopes name the permission the route needs; an API \
                         key (`X-Api-Key`, scheme `api_key`) holding that permission is accepted too, except on \
                         routes about a person (`/v1/me…`, logout).",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "api_key",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "X-Api-Key",
                "An integration's API key (`kfk_…`), with exactly the permissions it was created with.",
            ))),
        );
    }
}

/// The document's frame (info, security schemes, tags); the paths come from the routes themselves.
#[derive(OpenApi)]
#[openapi(
    info(title = "Kefu HTTP API", version = "1", description = "The public contract of Kefu (see API.md)."),
    modifiers(&Security),
    tags((name = "system"), (name = "tenants"), (name = "auth"), (name = "me"), (name = "settings"), (name = "roles"),
         (name = "api_keys"), (name = "realtime"), (name = "agents"), (name = "groups"), (name = "schedules"),
         (name = "tags"), (name = "quick_replies"), (name = "rules"))
)]
pub struct ApiDoc;

/// The whole public contract: the API's routes and the widget's (served by the `intake` function).
pub fn document_of_all_routes() -> utoipa::openapi::OpenApi {
    let (_, doc) = crate::api().merge(kefu_fn_intake::api()).split_for_parts();
    doc
}

/// The document as JSON, built once.
pub fn json() -> &'static str {
    static DOC: OnceLock<String> = OnceLock::new();
    DOC.get_or_init(|| document_of_all_routes().to_json().expect("the OpenAPI document serialises"))
}

/// `GET /v1/openapi.json`.
pub async fn document() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], json())
}
