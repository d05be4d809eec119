//! Target specifications as users write them, and the lists ZMap and masscan print.

use std::net::IpAddr;

use ipnet::IpNet;
use thiserror::Error;

/// One target as given on the command line or in an `-iL` list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TargetSpec {
    /// A network (a single address is a /32 or /128), scanned on the `-p` ports.
    Net(IpNet),
    /// An address with its own port (`192.0.2.1:8443`, a masscan line).
    Endpoint { ip: IpAddr, port: u16, tls: Option<bool> },
    /// A name to resolve; it is also sent as SNI and Host.
    Name { name: String, port: Option<u16>, tls: Option<bool> },
}

/// Why a target, port list or range does not parse.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{0}")]
pub struct InvalidTarget(pub String);

/// A target that cannot be parsed, with where it came from.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{origin}: {input:?}: {reason}")]
pub struct TargetError {
    pub origin: String,
    pub input: String,
    pub reason: String,
}

impl TargetSpec {
    /// Parse an address, CIDR, `host:port`, `[v6]:port`, hostname or URL.
    pub fn parse(text: &str) -> Result<TargetSpec, InvalidTarget> {
        let text = text.trim();
        if text.is_empty() {
            return Err(InvalidTarget("empty target".into()));
        }
        if let Some((scheme, rest)) = text.split_once("://") {
            return parse_url(scheme, rest);
        }
        if let Ok(ip) = text.parse::<IpAddr>() {
            return Ok(TargetSpec::Net(IpNet::from(ip)));
        }
        if let Ok(net) = text.parse::<IpNet>() {
            return Ok(TargetSpec::Net(net.trunc()));
        }
        if let Ok(addr) = text.parse::<std::net::SocketAddr>() {
            return Ok(TargetSpec::Endpoint { ip: addr.ip(), port: addr.port(), tls: None });
        }
        let (host, port) = match text.rsplit_once(':') {
            Some((host, port)) if !host.contains(':') => (host, Some(parse_port(port)?)),
            _ => (text, None),
        };
        validate_hostname(host)?;
        Ok(TargetSpec::Name { name: host.to_ascii_lowercase(), port, tls: None })
    }
}

fn parse_port(text: &str) -> Result<u16, InvalidTarget> {
    match text.parse::<u16>() {
        Ok(0) | Err(_) => Err(InvalidTarget(format!("bad port {text:?}"))),
        Ok(port) => Ok(port),
    }
}

fn parse_url(scheme: &str, rest: &str) -> Result<TargetSpec, InvalidTarget> {
    let (tls, default_port) = match scheme.to_ascii_lowercase().as_str() {
        "https" => (true, 443),
        "http" => (false, 80),
        other => return Err(InvalidTarget(format!("unsupported scheme {other:?} (http or https)"))),
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let authority = authority.rsplit_once('@').map_or(authority, |(_, host)| host);
    if let Some(v6) = authority.strip_prefix('[') {
        let (addr, after) = v6.split_once(']').ok_or_else(|| InvalidTarget("unclosed [ in URL".into()))?;
        let ip: IpAddr = addr.parse().map_err(|_| InvalidTarget(format!("bad IPv6 address {addr:?}")))?;
        let port = match after.strip_prefix(':') {
            Some(port) => parse_port(port)?,
            None => default_port,
        };
        return Ok(TargetSpec::Endpoint { ip, port, tls: Some(tls) });
    }
    let (host, port) = match authority.rsplit_once(':') {
        Some((host, port)) => (host, parse_port(port)?),
        None => (authority, default_port),
    };
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok(TargetSpec::Endpoint { ip, port, tls: Some(tls) });
    }
    validate_hostname(host)?;
    Ok(TargetSpec::Name { name: host.to_ascii_lowercase(), port: Some(port), tls: Some(tls) })
}

fn validate_hostname(host: &str) -> Result<(), InvalidTarget> {
    let ok = !host.is_empty()
        && host.len() <= 253
        && host.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
                && !label.starts_with('-')
        });
    if ok { Ok(()) } else { Err(InvalidTarget(format!("not an address, network, host name or URL: {host:?}"))) }
}

/// Parse a target list: plain targets one per line, ZMap output (an address per
/// line, or CSV with a `saddr` column), masscan `-oL` (`open tcp 443 192.0.2.1 1700000000`)
/// and masscan's console lines (`Discovered open port 443/tcp on 192.0.2.1`).
/// `#` starts a comment. Bad lines are returned as errors and the rest is kept.
pub fn parse_target_list(text: &str, origin: &str) -> (Vec<TargetSpec>, Vec<TargetError>) {
    let mut targets = Vec::new();
    let mut errors = Vec::new();
    let mut saddr_column: Option<usize> = None;
    for (number, raw) in text.lines().enumerate() {
        let line = raw.split('#').next().unwrap_or_default().trim();
        if line.is_empty() {
            continue;
        }
        let error = |reason: String| TargetError {
            origin: format!("{origin} line {}", number + 1),
            input: line.chars().take(200).collect(),
            reason,
        };
        if line.contains(',') {
            let cells: Vec<&str> = line.split(',').map(str::trim).collect();
            if let Some(index) = cells.iter().position(|c| *c == "saddr") {
                saddr_column = Some(index);
                continue;
            }
            let cell = cells.get(saddr_column.unwrap_or(0)).copied().unwrap_or_default();
            match TargetSpec::parse(cell) {
                Ok(spec) => targets.push(spec),
                Err(reason) => errors.push(error(reason.0)),
            }
            continue;
        }
        let words: Vec<&str> = line.split_whitespace().collect();
        let parsed = match words.as_slice() {
            ["open", "tcp", port, ip, ..] => masscan_endpoint(ip, port),
            ["Discovered", "open", "port", port_proto, "on", ip, ..] => {
                masscan_endpoint(ip, port_proto.split('/').next().unwrap_or_default())
            }
            ["closed" | "banner", ..] => continue,
            [single] => TargetSpec::parse(single),
            _ => Err(InvalidTarget("expected one target per line".to_owned())),
        };
        match parsed {
            Ok(spec) => targets.push(spec),
            Err(reason) => errors.push(error(reason.0)),
        }
    }
    (targets, errors)
}

fn masscan_endpoint(ip: &str, port: &str) -> Result<TargetSpec, InvalidTarget> {
    let ip: IpAddr = ip.parse().map_err(|_| InvalidTarget(format!("bad address {ip:?}")))?;
    Ok(TargetSpec::Endpoint { ip, port: parse_port(port)?, tls: None })
}

/// Parse `-p`: `443`, `25,587,465`, `8000-8010`, mixed.
pub fn parse_ports(text: &str) -> Result<Vec<u16>, InvalidTarget> {
    let mut ports = Vec::new();
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        match part.split_once('-') {
            Some((low, high)) => {
                let (low, high) = (parse_port(low)?, parse_port(high)?);
                if low > high {
                    return Err(InvalidTarget(format!("empty port range {part:?}")));
                }
                ports.extend(low..=high);
            }
            None => ports.push(parse_port(part)?),
        }
    }
    if ports.is_empty() {
        return Err(InvalidTarget("no ports given".into()));
    }
    ports.sort_unstable();
    ports.dedup();
    Ok(ports)
}

/// Parse an exclude list: CIDRs and addresses, `#` comments.
pub fn parse_exclude_list(text: &str, origin: &str) -> Result<Vec<IpNet>, TargetError> {
    let mut nets = Vec::new();
    for (number, raw) in text.lines().enumerate() {
        let line = raw.split('#').next().unwrap_or_default().trim();
        if line.is_empty() {
            continue;
        }
        let net =
            line.parse::<IpNet>().or_else(|_| line.parse::<IpAddr>().map(IpNet::from)).map_err(|_| TargetError {
                origin: format!("{origin} line {}", number + 1),
                input: line.chars().take(200).collect(),
                reason: "not an address or CIDR".into(),
            })?;
        nets.push(net.trunc());
    }
    Ok(IpNet::aggregate(&nets))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(text: &str) -> TargetSpec {
        TargetSpec::Net(text.parse().expect("valid net"))
    }

    #[test]
    fn parses_every_target_form() {
        assert_eq!(TargetSpec::parse("192.0.2.7"), Ok(net("192.0.2.7/32")));
        assert_eq!(TargetSpec::parse("192.0.2.7/24"), Ok(net("192.0.2.0/24")));
        assert_eq!(TargetSpec::parse("2001:db8::/120"), Ok(net("2001:db8::/120")));
        assert_eq!(
            TargetSpec::parse("[2001:db8::1]:8443"),
            Ok(TargetSpec::Endpoint { ip: "2001:db8::1".parse().expect("ip"), port: 8443, tls: None })
        );
        assert_eq!(
            TargetSpec::parse("Mail.Example.org:444"),
            Ok(TargetSpec::Name { name: "mail.example.org".into(), port: Some(444), tls: None })
        );
        assert_eq!(
            TargetSpec::parse("https://mail.example.org/owa/"),
            Ok(TargetSpec::Name { name: "mail.example.org".into(), port: Some(443), tls: Some(true) })
        );
        assert_eq!(
            TargetSpec::parse("http://192.0.2.9:8080/x"),
            Ok(TargetSpec::Endpoint { ip: "192.0.2.9".parse().expect("ip"), port: 8080, tls: Some(false) })
        );
    }

    #[test]
    fn rejects_garbage() {
        for bad in ["", "a b", "ftp://x", "host:0", "host:99999", "-bad.example", "192.0.2.1/33", "exa mple.org"] {
            assert!(TargetSpec::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn reads_zmap_masscan_and_plain_lists() {
        let list = "# comment\n192.0.2.1\nsaddr,daddr,sport\n192.0.2.2,10.0.0.1,443\n\
            open tcp 8443 192.0.2.3 1700000000\nDiscovered open port 993/tcp on 192.0.2.4\n\
            mail.example.org\nnot a target at all\n";
        let (targets, errors) = parse_target_list(list, "stdin");
        assert_eq!(targets.len(), 5);
        assert_eq!(targets[1], net("192.0.2.2/32"));
        assert_eq!(targets[2], TargetSpec::Endpoint { ip: "192.0.2.3".parse().expect("ip"), port: 8443, tls: None });
        assert_eq!(targets[3], TargetSpec::Endpoint { ip: "192.0.2.4".parse().expect("ip"), port: 993, tls: None });
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].origin, "stdin line 8");
    }

    #[test]
    fn ports_accept_lists_and_ranges() {
        assert_eq!(parse_ports("443, 25,20-22,25"), Ok(vec![20, 21, 22, 25, 443]));
        assert!(parse_ports("10-5").is_err());
        assert!(parse_ports("0").is_err());
        assert!(parse_ports("").is_err());
    }

    #[test]
    fn exclude_list_aggregates_and_reports_bad_lines() {
        let nets = parse_exclude_list("10.0.0.0/25\n10.0.0.128/25 # second half\n192.0.2.1\n", "ex.txt");
        assert_eq!(nets, Ok(vec!["10.0.0.0/24".parse().expect("net"), "192.0.2.1/32".parse().expect("net")]));
        let err = parse_exclude_list("10.0.0.0/8\nnope\n", "ex.txt").err().map(|e| e.to_string());
        assert_eq!(err.as_deref(), Some("ex.txt line 2: \"nope\": not an address or CIDR"));
    }
}
