//! The network layer every probe opens its connections through: one dialer that binds the
//! configured source address (IPv4 or IPv6, whichever matches the target), bounds the
//! connect in time, and tells a step timeout from the probe's own deadline; and the bounded
//! line reader of the line protocols ([`lines`]).

pub mod lines;

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use thiserror::Error;
use tokio::net::{TcpSocket, TcpStream};
use tokio::time::{Instant, timeout_at};

/// Why a TCP connection could not be opened.
#[derive(Debug, Error)]
pub enum NetError {
    /// Refused, unreachable, or the source address could not be bound.
    #[error("connect: {0}")]
    Connect(#[source] std::io::Error),
    #[error("connect: no answer within {0:?}")]
    Timeout(Duration),
    /// The probe's whole time ran out while connecting.
    #[error("connect: total time limit reached")]
    Deadline,
}

/// Source addresses to bind, one per family: a target is reached from the one of its family.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SourceAddrs {
    pub v4: Option<IpAddr>,
    pub v6: Option<IpAddr>,
}

impl SourceAddrs {
    /// Sources from a list of addresses (each family keeps its first).
    pub fn from_addrs(addrs: impl IntoIterator<Item = IpAddr>) -> SourceAddrs {
        let mut sources = SourceAddrs::default();
        for addr in addrs {
            let slot = if addr.is_ipv4() { &mut sources.v4 } else { &mut sources.v6 };
            slot.get_or_insert(addr);
        }
        sources
    }

    /// The source to bind for a connection to `target`.
    pub fn for_target(&self, target: IpAddr) -> Option<IpAddr> {
        if target.is_ipv4() { self.v4 } else { self.v6 }
    }
}

impl From<Option<IpAddr>> for SourceAddrs {
    fn from(source: Option<IpAddr>) -> SourceAddrs {
        SourceAddrs::from_addrs(source)
    }
}

/// Opens TCP connections from the configured sources within a connect timeout.
#[derive(Debug, Clone, Copy)]
pub struct Dialer {
    pub sources: SourceAddrs,
    pub connect_timeout: Duration,
}

impl Dialer {
    pub fn new(sources: impl Into<SourceAddrs>, connect_timeout: Duration) -> Dialer {
        Dialer { sources: sources.into(), connect_timeout }
    }

    /// Connect within the connect timeout.
    pub async fn connect(&self, addr: SocketAddr) -> Result<TcpStream, NetError> {
        self.connect_until(addr, None).await
    }

    /// Connect within the connect timeout and before `deadline` (the probe's end), whichever
    /// comes first; [`NetError::Deadline`] says it was the deadline.
    pub async fn connect_until(&self, addr: SocketAddr, deadline: Option<Instant>) -> Result<TcpStream, NetError> {
        let step_end = Instant::now() + self.connect_timeout;
        let until = deadline.map_or(step_end, |deadline| step_end.min(deadline));
        match timeout_at(until, self.open(addr)).await {
            Err(_) if deadline.is_some_and(|deadline| until >= deadline) => Err(NetError::Deadline),
            Err(_) => Err(NetError::Timeout(self.connect_timeout)),
            Ok(Err(e)) => Err(NetError::Connect(e)),
            Ok(Ok(tcp)) => {
                // Probes write small commands and wait for the answer: no Nagle delay.
                let _ = tcp.set_nodelay(true);
                Ok(tcp)
            }
        }
    }

    async fn open(&self, addr: SocketAddr) -> std::io::Result<TcpStream> {
        let socket = match addr {
            SocketAddr::V4(_) => TcpSocket::new_v4()?,
            SocketAddr::V6(_) => TcpSocket::new_v6()?,
        };
        if let Some(source) = self.sources.for_target(addr.ip()) {
            socket.bind(SocketAddr::new(source, 0))?;
        }
        socket.connect(addr).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_family_gets_its_own_source() {
        let v4: IpAddr = "127.0.0.2".parse().expect("v4");
        let v6: IpAddr = "::1".parse().expect("v6");
        let sources = SourceAddrs::from_addrs([v4, v6, "127.0.0.3".parse().expect("v4")]);
        assert_eq!(sources.for_target("192.0.2.1".parse().expect("ip")), Some(v4));
        assert_eq!(sources.for_target("2001:db8::1".parse().expect("ip")), Some(v6));
        assert_eq!(SourceAddrs::from(Some(v4)).for_target(v6), None);
    }

    #[tokio::test]
    async fn connects_from_the_source_and_reports_refusal() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("listen");
        let addr = listener.local_addr().expect("addr");
        let source: IpAddr = "127.0.0.1".parse().expect("ip");
        let dialer = Dialer::new(Some(source), Duration::from_secs(2));
        let tcp = dialer.connect(addr).await.expect("connect");
        let (_, peer) = listener.accept().await.expect("accept");
        assert_eq!(peer.ip(), source);
        assert_eq!(tcp.local_addr().expect("local").ip(), source);
        drop(listener);
        assert!(matches!(dialer.connect(addr).await, Err(NetError::Connect(_))));
    }
}
