//! The HTTP(S) speaker: hyper over rustls, bounded in time and bytes, never following redirects.

pub mod cert;
mod client;
pub mod tls;

pub use client::{HttpResponse, HttpSession, HttpSettings, HttpTarget, Limits, ProbeError, Timeouts};
