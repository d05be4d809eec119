//! seawall's scanner. Targets become a lazily indexed space, shards of it are
//! visited in a seeded random order under a bounded window, and every service
//! answers a fixed set of read-only probes. Findings go to a channel; the
//! engine never prints.
//!
//! Layout by concern: [`net`] opens connections, [`tls`] is the one TLS layer of every
//! port, [`protocols`] speak HTTP, SMTP, IMAP, POP3 and rsync, [`exchange`] fingerprints
//! and assesses Exchange, [`engine`] schedules it all.
//!
//! A new line protocol goes in `protocols/<name>.rs`: it opens its port through
//! `protocols::conn::LineDialer` (TCP from [`net`], TLS from [`tls`], bounded lines), gives its
//! steps of `protocols::starttls::Conversation` if it upgrades, returns typed errors
//! ([`protocols::mail::MailError`]), documents the exact bytes it sends, and gets a
//! [`protocols::mail::MailProtocol`] variant and a greeting in `engine/endpoint.rs`'s
//! content detection. TLS posture comes with the TLS layer; the speaker adds none of its own.
//!
//! A new finding id gets a [`detectors::DetectorId`] and an entry in `data/detectors/scan.toml`
//! (title, severity, confidence, remediation, source); the check names it, the data describes it.

pub mod data;
pub mod detectors;
pub mod engine;
pub mod exchange;
pub mod net;
pub mod protocols;
pub mod shard;
pub mod space;
pub mod targets;
pub mod tls;
