//! seawall's scanner. Targets become a lazily indexed space, shards of it are
//! visited in a seeded random order under a bounded window, and every service
//! answers a fixed set of read-only probes. Findings go to a channel; the
//! engine never prints.
//!
//! Layout by concern: [`net`] opens connections, [`tls`] is the one TLS layer of every
//! port, [`protocols`] speak HTTP, SMTP, IMAP, POP3 and rsync, [`exchange`] fingerprints
//! and assesses Exchange, [`engine`] schedules it all.

pub mod data;
pub mod engine;
pub mod exchange;
pub mod net;
pub mod protocols;
pub mod shard;
pub mod space;
pub mod targets;
pub mod tls;
