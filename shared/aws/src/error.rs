//! Reading SDK errors: their service error code, and a message that keeps the whole cause chain.

use std::error::Error;
use std::fmt::Debug;

use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};

/// The service's error code (e.g. `ConditionalCheckFailedException`), when the service answered with one.
pub(crate) fn code<E: ProvideErrorMetadata, R>(err: &SdkError<E, R>) -> Option<&str> {
    match err {
        SdkError::ServiceError(ctx) => ctx.err().code(),
        _ => None,
    }
}

/// A one-line description of the error and its causes, for `Unavailable(..)` and logs.
pub(crate) fn describe<E, R>(err: &SdkError<E, R>) -> String
where
    E: Error + 'static,
    R: Debug,
{
    DisplayErrorContext(err).to_string()
}

/// Whether the error code names a client mistake rather than a failure of the service.
pub(crate) fn is_validation(code: Option<&str>) -> bool {
    matches!(code, Some("ValidationException" | "SerializationException"))
}
