//! The machine-readable contract, generated from the handlers' annotations and served at
//! `GET /v1/openapi.json`.

use std::sync::OnceLock;

use axum::http::header;
use axum::response::IntoResponse;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

struct Security;

impl Modify for Security {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme("bearer", SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()));
    }
}

/// The OpenAPI document of the API function.
#[derive(OpenApi)]
#[openapi(
    info(title = "Kefu HTTP API", version = "1", description = "The public contract of Kefu (see API.md)."),
    paths(crate::system::health, crate::tenants::create, crate::auth::login, crate::auth::logout, crate::auth::me),
    modifiers(&Security),
    tags((name = "system"), (name = "tenants"), (name = "auth"))
)]
pub struct ApiDoc;

/// The document as JSON, built once.
pub fn json() -> &'static str {
    static DOC: OnceLock<String> = OnceLock::new();
    DOC.get_or_init(|| ApiDoc::openapi().to_json().expect("the OpenAPI document serialises"))
}

/// `GET /v1/openapi.json`.
pub async fn document() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], json())
}
