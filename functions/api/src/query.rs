//! Query strings, read the one way every list route reads them: a malformed string is 400 on `query`, and an
//! empty or blank parameter is the same as an absent one.

use axum::extract::Query;
use axum::extract::rejection::QueryRejection;
use kefu_app::http::ApiError;

/// The parsed query, or 400 `validation_failed` on `query`.
pub(crate) fn query_params<T: Default>(q: Result<Query<T>, QueryRejection>) -> Result<T, ApiError> {
    q.map(|Query(q)| q).map_err(|_| ApiError::validation("query", "the query string is malformed"))
}

/// A parameter's trimmed value, `None` when absent or blank.
pub(crate) fn nonempty(o: &Option<String>) -> Option<String> {
    o.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned)
}
