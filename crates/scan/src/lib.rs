//! seawall's scanner. Targets become a lazily indexed space, shards of it are
//! visited in a seeded random order under a bounded window, and every service
//! answers a fixed set of read-only probes. Findings go to a channel; the
//! engine never prints.

pub mod engine;
pub mod exchange;
pub mod http;
pub mod mail;
pub mod shard;
pub mod space;
pub mod targets;
