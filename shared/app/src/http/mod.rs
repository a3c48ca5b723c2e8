//! The HTTP conventions of API.md, shared by every function's router: JSON errors, a JSON extractor that
//! tells bad JSON from bad fields, each route's declared access (`access`) and the staff authentication and
//! permission check that enforces it (`staff`), the client IP, CORS, and
//! the layers (body limit, fallback, request ids) every router gets.

pub mod access;
pub mod client_ip;
pub mod cors;
pub mod error;
pub mod json;
pub mod list;
pub mod router;
pub mod staff;

pub use client_ip::ClientIp;
pub use error::ApiError;
pub use json::{ApiJson, JsonBytes};
pub use router::finish;
pub use staff::{SignedIn, Staff};
