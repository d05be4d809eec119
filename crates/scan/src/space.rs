//! The target space: every (address or name, port) to visit, addressed by index
//! so that a /8 costs nothing until it is visited.

use std::net::IpAddr;
use std::sync::Arc;

use ipnet::IpNet;

use crate::shard::{Shard, ShardPositions};
use crate::targets::TargetSpec;

/// One place to connect to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Endpoint {
    /// Unset for names until they are resolved.
    pub ip: Option<IpAddr>,
    pub port: u16,
    /// The name given by the user, sent as SNI and Host.
    pub name: Option<String>,
    /// TLS forced by a URL scheme; otherwise decided by port.
    pub tls: Option<bool>,
}

impl Endpoint {
    /// The text identifying this endpoint in findings: the name when given, else the address.
    pub fn host_label(&self) -> String {
        match (&self.name, self.ip) {
            (Some(name), _) => name.clone(),
            (None, Some(ip)) => ip.to_string(),
            (None, None) => String::new(),
        }
    }
}

#[derive(Debug)]
enum Block {
    Net { net: IpNet },
    Endpoint { ip: IpAddr, port: u16, tls: Option<bool> },
    Name { name: String, port: Option<u16>, tls: Option<bool> },
}

/// Largest space accepted: far beyond IPv4 × 65,535 ports, small enough for u64 arithmetic.
const MAX_SPACE: u64 = 1 << 62;

/// Every target × port, with exclusions applied as positions are visited.
#[derive(Debug)]
pub struct TargetSpace {
    blocks: Vec<Block>,
    /// `starts[i]` is the first index of `blocks[i]`.
    starts: Vec<u64>,
    total: u64,
    ports: Arc<[u16]>,
    exclude: Vec<IpNet>,
}

/// A target space that cannot be indexed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpaceError {
    #[error("{0} is too large to scan (more than 2^62 addresses)")]
    NetTooLarge(IpNet),
    #[error("target space too large")]
    TooLarge,
}

impl TargetSpace {
    pub fn new(specs: Vec<TargetSpec>, ports: &[u16], exclude: Vec<IpNet>) -> Result<TargetSpace, SpaceError> {
        let ports: Arc<[u16]> = ports.into();
        let mut blocks = Vec::with_capacity(specs.len());
        let mut starts = Vec::with_capacity(specs.len());
        let mut total: u64 = 0;
        for spec in specs {
            let (block, size) = match spec {
                TargetSpec::Net(net) => {
                    let host_bits = u32::from(net.max_prefix_len() - net.prefix_len());
                    if host_bits > 62 {
                        return Err(SpaceError::NetTooLarge(net));
                    }
                    let hosts = 1u64 << host_bits;
                    (Block::Net { net }, hosts.saturating_mul(ports.len() as u64))
                }
                TargetSpec::Endpoint { ip, port, tls } => (Block::Endpoint { ip, port, tls }, 1),
                TargetSpec::Name { name, port, tls } => {
                    let size = if port.is_some() { 1 } else { ports.len() as u64 };
                    (Block::Name { name, port, tls }, size)
                }
            };
            starts.push(total);
            total = total.checked_add(size).filter(|&t| t <= MAX_SPACE).ok_or(SpaceError::TooLarge)?;
            blocks.push(block);
        }
        Ok(TargetSpace { blocks, starts, total, ports, exclude: IpNet::aggregate(&exclude) })
    }

    /// Positions in the space, before exclusions.
    pub fn len(&self) -> u64 {
        self.total
    }

    pub fn is_empty(&self) -> bool {
        self.total == 0
    }

    /// Whether an address is excluded (checked for every address, resolved names included).
    pub fn is_excluded(&self, ip: IpAddr) -> bool {
        self.exclude.iter().any(|net| net.contains(&ip))
    }

    /// The endpoint at a position, `None` when it is excluded.
    pub fn endpoint(&self, index: u64) -> Option<Endpoint> {
        let block_index = self.starts.partition_point(|&start| start <= index) - 1;
        let offset = index - self.starts[block_index];
        let endpoint = match &self.blocks[block_index] {
            Block::Net { net, .. } => {
                let ports = self.ports.len() as u64;
                let host = offset / ports;
                let port = self.ports[(offset % ports) as usize];
                Endpoint { ip: Some(nth_address(*net, host)), port, name: None, tls: None }
            }
            Block::Endpoint { ip, port, tls } => Endpoint { ip: Some(*ip), port: *port, name: None, tls: *tls },
            Block::Name { name, port, tls } => {
                let port = port.unwrap_or(self.ports[offset as usize]);
                Endpoint { ip: None, port, name: Some(name.clone()), tls: *tls }
            }
        };
        match endpoint.ip {
            Some(ip) if self.is_excluded(ip) => None,
            _ => Some(endpoint),
        }
    }

    /// This shard's endpoints, in the seeded random order, exclusions skipped.
    pub fn shard(self: &Arc<Self>, seed: u64, shard: Shard) -> ShardIter {
        ShardIter { space: Arc::clone(self), positions: ShardPositions::new(self.total, seed, shard) }
    }
}

fn nth_address(net: IpNet, n: u64) -> IpAddr {
    match net {
        IpNet::V4(v4) => IpAddr::V4(std::net::Ipv4Addr::from((u64::from(u32::from(v4.network())) + n) as u32)),
        IpNet::V6(v6) => IpAddr::V6(std::net::Ipv6Addr::from(u128::from(v6.network()) + u128::from(n))),
    }
}

/// Endpoints of one shard.
#[derive(Debug)]
pub struct ShardIter {
    space: Arc<TargetSpace>,
    positions: ShardPositions,
}

impl ShardIter {
    /// Positions left to visit (excluded ones included).
    pub fn positions_left(&self) -> u64 {
        self.positions.len()
    }
}

impl ShardIter {
    /// The next endpoint with its ordinal (see [`ShardPositions::next_with_ordinal`]), excluded
    /// positions skipped.
    pub fn next_with_ordinal(&mut self) -> Option<(u64, Endpoint)> {
        loop {
            let (ordinal, position) = self.positions.next_with_ordinal()?;
            if let Some(endpoint) = self.space.endpoint(position) {
                return Some((ordinal, endpoint));
            }
        }
    }
}

impl Iterator for ShardIter {
    type Item = Endpoint;

    fn next(&mut self) -> Option<Endpoint> {
        self.next_with_ordinal().map(|(_, endpoint)| endpoint)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    fn space(targets: &[&str], ports: &[u16], exclude: &[&str]) -> Arc<TargetSpace> {
        let specs = targets.iter().map(|t| TargetSpec::parse(t).expect("target")).collect();
        let exclude = exclude.iter().map(|e| e.parse().expect("net")).collect();
        Arc::new(TargetSpace::new(specs, ports, exclude).expect("space"))
    }

    #[test]
    fn expands_networks_names_and_endpoints() {
        let s = space(&["192.0.2.0/30", "mail.example.org", "198.51.100.1:8443"], &[443, 25], &[]);
        assert_eq!(s.len(), 4 * 2 + 2 + 1);
        let all: BTreeSet<String> =
            s.shard(5, Shard::WHOLE).map(|e| format!("{}:{}", e.host_label(), e.port)).collect();
        assert!(all.contains("192.0.2.3:25"));
        assert!(all.contains("mail.example.org:443"));
        assert!(all.contains("198.51.100.1:8443"));
        assert!(!all.contains("198.51.100.1:443"));
        assert_eq!(all.len(), 11);
    }

    #[test]
    fn exclusions_apply_before_anything_is_visited() {
        let s = space(&["10.0.0.0/24"], &[443], &["10.0.0.0/25", "10.0.0.200/32"]);
        let visited: Vec<Endpoint> = s.shard(1, Shard::WHOLE).collect();
        assert_eq!(visited.len(), 127);
        assert!(visited.iter().all(|e| e.ip.is_some_and(|ip| !s.is_excluded(ip))));
    }

    #[test]
    fn a_slash_eight_is_lazy() {
        let s = space(&["10.0.0.0/8"], &[443, 8443], &[]);
        assert_eq!(s.len(), (1 << 24) * 2);
        let first: Vec<Endpoint> = s.shard(3, Shard { index: 0, count: 4 }).take(3).collect();
        assert_eq!(first.len(), 3);
    }

    #[test]
    fn ipv6_networks_are_addressed_too() {
        let s = space(&["2001:db8::/126"], &[443], &[]);
        let all: BTreeSet<IpAddr> = s.shard(0, Shard::WHOLE).filter_map(|e| e.ip).collect();
        assert_eq!(all.len(), 4);
        assert!(all.contains(&"2001:db8::3".parse::<IpAddr>().expect("ip")));
    }

    #[test]
    fn oversized_spaces_are_refused() {
        let specs = vec![TargetSpec::parse("2001:db8::/32").expect("net")];
        assert!(TargetSpace::new(specs, &[443], vec![]).is_err());
    }
}
