//! Emulated servers on loopback for seawall's integration tests, its benchmark and `seawall demo`:
//! Exchange front ends of many builds (each version signal switchable), decoys that look like web
//! servers or OWA without being Exchange, and hostile hosts that try to hang or mislead a scanner.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use std::net::Ipv4Addr;
//! let fleet = seawall_testbed::Fleet::start(seawall_testbed::standard_fleet(Ipv4Addr::new(127, 77, 0, 10), 8443)).await?;
//! for host in fleet.hosts() {
//!     println!("{}\t{}", host.addr, host.spec.kind.label());
//! }
//! fleet.shutdown().await;
//! # Ok(())
//! # }
//! ```
//!
//! Every host binds an address of 127.0.0.0/8 (Linux routes the whole block to the loopback
//! interface, so each host gets its own IP); the testbed never listens or connects anywhere else.

mod catalogue;
mod decoy;
pub mod evidence;
mod exchange;
mod fleet;
pub mod hostile;
mod http;
mod ids;
mod log;
mod pages;
mod spec;
mod tls;

pub use catalogue::{bench_fleet, deployment_fleet, nth_address, standard_fleet};
pub use fleet::Fleet;
pub use spec::{Decoy, ExchangeHost, HostKind, HostSpec, Hostile, LoggedRequest, RunningHost};
