//! The client's IP: the connection's peer in `kefu serve`, API Gateway's `sourceIp` in AWS; never
//! `X-Forwarded-For`, which any client can write.

use std::convert::Infallible;
use std::net::{IpAddr, Ipv4Addr};

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

/// The caller's address, put in the request's extensions by the runtime that accepted it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientIp(pub IpAddr);

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        if let Some(ip) = parts.extensions.get::<ClientIp>() {
            return Ok(*ip);
        }
        if let Some(info) = parts.extensions.get::<axum::extract::ConnectInfo<std::net::SocketAddr>>() {
            return Ok(ClientIp(info.0.ip()));
        }
        Ok(ClientIp(IpAddr::V4(Ipv4Addr::UNSPECIFIED)))
    }
}
