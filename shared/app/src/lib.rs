//! Kefu's application layer: the services that run the domain over the ports, the event plumbing (outbox,
//! idempotent consumers), and the HTTP conventions (errors, JSON, authentication) every function shares.
//!
//! Nothing here knows whether it runs in Lambda or in `kefu serve`: both hand it the same [`App`].

pub mod alerts;
pub mod anomaly;
pub mod api_keys;
pub mod assignment;
pub mod audit;
pub mod auth;
pub mod consumer;
pub mod conversations;
pub mod customers;
pub mod events;
pub mod http;
pub mod idempotency;
pub mod keys;
pub mod logging;
pub mod mfa;
pub mod outbox;
pub mod ratelimit;
pub mod realtime;
pub mod roles;
pub mod security;
pub mod sessions;
pub mod state;
pub mod tenants;
#[cfg(test)]
mod testing;
pub mod widget;
pub mod widget_settings;

pub use state::{App, Config};
