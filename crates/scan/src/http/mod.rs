//! The HTTP(S) speaker: HTTP/1.1 over rustls, bounded in time and bytes, never following redirects.

pub mod cert;
mod client;
pub mod tls;
mod wire;

pub use client::{HttpResponse, HttpSession, HttpSettings, HttpTarget, Limits, ProbeError, Timeouts};
