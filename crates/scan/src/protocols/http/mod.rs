//! The HTTP(S) speaker: HTTP/1.1 over rustls, bounded in time and bytes, never following redirects.

mod client;
mod wire;

pub use client::{HttpResponse, HttpSession, HttpSettings, HttpTarget, Limits, ProbeError, Timeouts};
pub use wire::WireError;
