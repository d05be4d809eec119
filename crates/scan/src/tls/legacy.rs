//! Which TLS versions a server accepts, including those rustls will never
//! speak (1.0, 1.1): a hand-built ClientHello offering exactly one version
//! and a broad list of cipher suites, and a parser of what comes back
//! (ServerHello and, below TLS 1.3, the certificate chain in clear; or an
//! alert). No handshake is completed: the connection is closed after the
//! server's first flight.
//!
//! What is sent on the connection (after the protocol's STARTTLS exchange
//! when the port is not implicit TLS): one TLS record with one ClientHello:
//! the version, 32 random bytes, no session id, the suites of [`SUITES`]
//! (TLS 1.3: its three suites), no compression, and the extensions
//! server_name (when a host name was asked for), supported_groups,
//! ec_point_formats, signature_algorithms, renegotiation_info,
//! extended_master_secret, and for TLS 1.3 supported_versions and an
//! x25519 key_share.

use seawall_model::Certificate;

use tokio::io::{AsyncRead, AsyncWrite};

use super::cert::describe_certificate;
use crate::net::lines::{LineError, LineReader};

/// A protocol version a hello can offer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TlsVersion {
    Tls10,
    Tls11,
    Tls12,
    Tls13,
}

impl TlsVersion {
    pub fn wire(self) -> u16 {
        match self {
            TlsVersion::Tls10 => 0x0301,
            TlsVersion::Tls11 => 0x0302,
            TlsVersion::Tls12 => 0x0303,
            TlsVersion::Tls13 => 0x0304,
        }
    }

    pub fn from_wire(wire: u16) -> Option<TlsVersion> {
        Some(match wire {
            0x0301 => TlsVersion::Tls10,
            0x0302 => TlsVersion::Tls11,
            0x0303 => TlsVersion::Tls12,
            0x0304 => TlsVersion::Tls13,
            _ => return None,
        })
    }

    /// The name used in `service.tls.versions`.
    pub fn name(self) -> &'static str {
        match self {
            TlsVersion::Tls10 => "TLS1.0",
            TlsVersion::Tls11 => "TLS1.1",
            TlsVersion::Tls12 => "TLS1.2",
            TlsVersion::Tls13 => "TLS1.3",
        }
    }

    /// Deprecated by RFC 8996.
    pub fn is_legacy(self) -> bool {
        matches!(self, TlsVersion::Tls10 | TlsVersion::Tls11)
    }
}

/// Suites offered below TLS 1.3, strongest families first, with their IANA names.
/// Broad on purpose: a server that accepts TLS 1.0 with any of them must answer.
pub const SUITES: &[(u16, &str)] = &[
    (0xc02b, "ECDHE-ECDSA-AES128-GCM-SHA256"),
    (0xc02c, "ECDHE-ECDSA-AES256-GCM-SHA384"),
    (0xc02f, "ECDHE-RSA-AES128-GCM-SHA256"),
    (0xc030, "ECDHE-RSA-AES256-GCM-SHA384"),
    (0xcca9, "ECDHE-ECDSA-CHACHA20-POLY1305"),
    (0xcca8, "ECDHE-RSA-CHACHA20-POLY1305"),
    (0x009e, "DHE-RSA-AES128-GCM-SHA256"),
    (0x009f, "DHE-RSA-AES256-GCM-SHA384"),
    (0xccaa, "DHE-RSA-CHACHA20-POLY1305"),
    (0xc023, "ECDHE-ECDSA-AES128-SHA256"),
    (0xc024, "ECDHE-ECDSA-AES256-SHA384"),
    (0xc027, "ECDHE-RSA-AES128-SHA256"),
    (0xc028, "ECDHE-RSA-AES256-SHA384"),
    (0xc009, "ECDHE-ECDSA-AES128-SHA"),
    (0xc00a, "ECDHE-ECDSA-AES256-SHA"),
    (0xc013, "ECDHE-RSA-AES128-SHA"),
    (0xc014, "ECDHE-RSA-AES256-SHA"),
    (0x0067, "DHE-RSA-AES128-SHA256"),
    (0x006b, "DHE-RSA-AES256-SHA256"),
    (0x0033, "DHE-RSA-AES128-SHA"),
    (0x0039, "DHE-RSA-AES256-SHA"),
    (0x0045, "DHE-RSA-CAMELLIA128-SHA"),
    (0x0088, "DHE-RSA-CAMELLIA256-SHA"),
    (0x0032, "DHE-DSS-AES128-SHA"),
    (0x0038, "DHE-DSS-AES256-SHA"),
    (0x009c, "AES128-GCM-SHA256"),
    (0x009d, "AES256-GCM-SHA384"),
    (0x003c, "AES128-SHA256"),
    (0x003d, "AES256-SHA256"),
    (0x002f, "AES128-SHA"),
    (0x0035, "AES256-SHA"),
    (0x0041, "CAMELLIA128-SHA"),
    (0x0084, "CAMELLIA256-SHA"),
    (0x0096, "SEED-SHA"),
    (0xc012, "ECDHE-RSA-DES-CBC3-SHA"),
    (0xc008, "ECDHE-ECDSA-DES-CBC3-SHA"),
    (0x0016, "DHE-RSA-DES-CBC3-SHA"),
    (0x000a, "DES-CBC3-SHA"),
    (0x0005, "RC4-SHA"),
    (0x0004, "RC4-MD5"),
    (0xc018, "AECDH-AES128-SHA"),
    (0xc019, "AECDH-AES256-SHA"),
    (0x0034, "ADH-AES128-SHA"),
    (0x003a, "ADH-AES256-SHA"),
    (0x0018, "ADH-RC4-MD5"),
    (0x001b, "ADH-DES-CBC3-SHA"),
    (0x0001, "NULL-MD5"),
    (0x0002, "NULL-SHA"),
    (0x003b, "NULL-SHA256"),
    (0xc010, "ECDHE-RSA-NULL-SHA"),
    (0xc006, "ECDHE-ECDSA-NULL-SHA"),
];

const TLS13_SUITES: &[(u16, &str)] =
    &[(0x1301, "TLS_AES_128_GCM_SHA256"), (0x1302, "TLS_AES_256_GCM_SHA384"), (0x1303, "TLS_CHACHA20_POLY1305_SHA256")];

/// The name of a suite seawall offers, or its number.
pub fn suite_name(suite: u16) -> String {
    SUITES
        .iter()
        .chain(TLS13_SUITES)
        .find(|(id, _)| *id == suite)
        .map(|(_, name)| (*name).to_owned())
        .unwrap_or_else(|| format!("0x{suite:04X}"))
}

/// The ClientHello record for one version. `sni` is sent only for names, not addresses (RFC 6066).
pub fn client_hello(version: TlsVersion, sni: Option<&str>, random: [u8; 32]) -> Vec<u8> {
    let tls13 = version == TlsVersion::Tls13;
    let mut body = Vec::with_capacity(512);
    // TLS 1.3 hellos carry 1.2 as legacy_version and the real offer in supported_versions.
    let legacy_version = if tls13 { 0x0303 } else { version.wire() };
    body.extend_from_slice(&legacy_version.to_be_bytes());
    body.extend_from_slice(&random);
    body.push(0); // no session id
    let suites: &[(u16, &str)] = if tls13 { TLS13_SUITES } else { SUITES };
    push_u16(&mut body, (suites.len() * 2) as u16);
    for (id, _) in suites {
        body.extend_from_slice(&id.to_be_bytes());
    }
    body.extend_from_slice(&[1, 0]); // compression: null only

    let mut ext = Vec::new();
    if let Some(name) = sni.filter(|n| n.parse::<std::net::IpAddr>().is_err() && !n.is_empty() && n.len() < 256) {
        let mut list = vec![0u8];
        push_u16(&mut list, name.len() as u16);
        list.extend_from_slice(name.as_bytes());
        let mut data = Vec::new();
        push_u16(&mut data, list.len() as u16);
        data.extend_from_slice(&list);
        push_extension(&mut ext, 0x0000, &data);
    }
    // supported_groups: x25519, secp256r1, secp384r1, secp521r1, ffdhe2048, ffdhe3072
    push_extension(&mut ext, 0x000a, &list_u16(&[0x001d, 0x0017, 0x0018, 0x0019, 0x0100, 0x0101]));
    push_extension(&mut ext, 0x000b, &[1, 0]); // ec_point_formats: uncompressed
    // signature_algorithms, TLS 1.2 names: ECDSA and RSA-PSS/PKCS#1 with SHA-2, then SHA-1
    let schemes = [0x0403, 0x0503, 0x0603, 0x0804, 0x0805, 0x0806, 0x0401, 0x0501, 0x0601, 0x0203, 0x0201];
    push_extension(&mut ext, 0x000d, &list_u16(&schemes));
    push_extension(&mut ext, 0xff01, &[0]); // renegotiation_info, empty
    push_extension(&mut ext, 0x0017, &[]); // extended_master_secret
    if tls13 {
        push_extension(&mut ext, 0x002b, &[2, 0x03, 0x04]); // supported_versions: TLS 1.3 only
        let mut share = Vec::new();
        push_u16(&mut share, 36);
        push_u16(&mut share, 0x001d);
        push_u16(&mut share, 32);
        // Any 32 bytes are an x25519 public key; the handshake is abandoned after the ServerHello anyway.
        share.extend_from_slice(&random.map(|b| b ^ 0x5a));
        push_extension(&mut ext, 0x0033, &share);
    }
    push_u16(&mut body, ext.len() as u16);
    body.extend_from_slice(&ext);

    let mut handshake = vec![1u8]; // client_hello
    push_u24(&mut handshake, body.len());
    handshake.extend_from_slice(&body);
    let mut record = vec![22u8, 0x03, 0x01]; // handshake record, version 1.0 for the widest acceptance
    push_u16(&mut record, handshake.len() as u16);
    record.extend_from_slice(&handshake);
    record
}

fn push_u16(out: &mut Vec<u8>, value: u16) {
    out.extend_from_slice(&value.to_be_bytes());
}

fn push_u24(out: &mut Vec<u8>, value: usize) {
    out.extend_from_slice(&[(value >> 16) as u8, (value >> 8) as u8, value as u8]);
}

fn list_u16(values: &[u16]) -> Vec<u8> {
    let mut out = Vec::new();
    push_u16(&mut out, (values.len() * 2) as u16);
    for v in values {
        out.extend_from_slice(&v.to_be_bytes());
    }
    out
}

fn push_extension(out: &mut Vec<u8>, kind: u16, data: &[u8]) {
    push_u16(out, kind);
    push_u16(out, data.len() as u16);
    out.extend_from_slice(data);
}

/// What the server's first bytes say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerAnswer {
    /// A ServerHello: the version chosen (from supported_versions for TLS 1.3), the suite,
    /// and the certificates (DER) when they came in clear (TLS 1.2 and below).
    Hello {
        version: u16,
        suite: u16,
        chain: Vec<Vec<u8>>,
    },
    Alert {
        level: u8,
        description: u8,
    },
    /// Bytes that are not a TLS record.
    NotTls,
}

/// The parse of the bytes received so far.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flight {
    pub answer: Option<ServerAnswer>,
    /// Nothing more is needed: an alert, not TLS, a TLS 1.3 ServerHello, or a chain (or its absence) seen.
    pub complete: bool,
}

/// Most bytes of a server's first flight read (a long certificate chain fits many times over).
const MAX_FLIGHT: usize = 256 * 1024;

/// Largest record body TLS allows (2^14 plus expansion).
const MAX_RECORD: usize = 16384 + 2048;

/// Parse the server's first flight from the bytes received so far.
pub fn parse_server_flight(bytes: &[u8]) -> Flight {
    let mut handshake = Vec::new();
    let mut rest = bytes;
    let mut other_record = false;
    while rest.len() >= 5 {
        let (kind, major, length) = (rest[0], rest[1], usize::from(u16::from_be_bytes([rest[3], rest[4]])));
        if major != 3 || !matches!(kind, 20..=23) || length > MAX_RECORD {
            return done_if_empty(&handshake, ServerAnswer::NotTls);
        }
        let Some(body) = rest.get(5..5 + length) else { break };
        match kind {
            21 if handshake.is_empty() && body.len() >= 2 => {
                return Flight {
                    answer: Some(ServerAnswer::Alert { level: body[0], description: body[1] }),
                    complete: true,
                };
            }
            22 => handshake.extend_from_slice(body),
            _ => {
                other_record = true;
                break;
            }
        }
        rest = &rest[5 + length..];
    }
    if handshake.is_empty() {
        let not_tls = other_record
            || !bytes.is_empty() && (bytes[0] < 20 || bytes[0] > 23 || bytes.get(1).is_some_and(|m| *m != 3));
        return Flight { answer: not_tls.then_some(ServerAnswer::NotTls), complete: not_tls };
    }
    parse_handshake(&handshake, other_record)
}

fn done_if_empty(handshake: &[u8], answer: ServerAnswer) -> Flight {
    if handshake.is_empty() {
        Flight { answer: Some(answer), complete: true }
    } else {
        // Garbage after a valid ServerHello: keep what was understood.
        let mut flight = parse_handshake(handshake, true);
        flight.complete = true;
        flight
    }
}

fn parse_handshake(data: &[u8], stream_moved_on: bool) -> Flight {
    let mut hello: Option<(u16, u16)> = None;
    let mut chain = Vec::new();
    let mut rest = data;
    while rest.len() >= 4 {
        let kind = rest[0];
        let length = (usize::from(rest[1]) << 16) | (usize::from(rest[2]) << 8) | usize::from(rest[3]);
        let Some(body) = rest.get(4..4 + length) else { break };
        match (kind, hello) {
            (2, None) => {
                let Some(parsed) = parse_server_hello(body) else {
                    return Flight { answer: Some(ServerAnswer::NotTls), complete: true };
                };
                hello = Some(parsed);
                if parsed.0 == 0x0304 {
                    let (version, suite) = parsed;
                    return Flight { answer: Some(ServerAnswer::Hello { version, suite, chain }), complete: true };
                }
            }
            (11, Some((version, suite))) => {
                chain = parse_certificates(body);
                return Flight { answer: Some(ServerAnswer::Hello { version, suite, chain }), complete: true };
            }
            // ServerKeyExchange / ServerHelloDone without a Certificate: an anonymous suite.
            (12 | 14, Some((version, suite))) => {
                return Flight { answer: Some(ServerAnswer::Hello { version, suite, chain }), complete: true };
            }
            (_, None) => return Flight { answer: Some(ServerAnswer::NotTls), complete: true },
            _ => {}
        }
        rest = &rest[4 + length..];
    }
    let answer = hello.map(|(version, suite)| ServerAnswer::Hello { version, suite, chain });
    Flight { complete: stream_moved_on && answer.is_some(), answer }
}

/// (version, suite) of a ServerHello body; the version from supported_versions when present.
fn parse_server_hello(body: &[u8]) -> Option<(u16, u16)> {
    let mut version = u16::from_be_bytes([*body.first()?, *body.get(1)?]);
    let session_len = usize::from(*body.get(34)?);
    let at = 35 + session_len;
    let suite = u16::from_be_bytes([*body.get(at)?, *body.get(at + 1)?]);
    let _compression = body.get(at + 2)?;
    let mut ext_at = at + 3;
    if let (Some(a), Some(b)) = (body.get(ext_at), body.get(ext_at + 1)) {
        let end = (ext_at + 2 + usize::from(u16::from_be_bytes([*a, *b]))).min(body.len());
        ext_at += 2;
        while ext_at + 4 <= end {
            let kind = u16::from_be_bytes([body[ext_at], body[ext_at + 1]]);
            let len = usize::from(u16::from_be_bytes([body[ext_at + 2], body[ext_at + 3]]));
            let data = body.get(ext_at + 4..ext_at + 4 + len)?;
            if kind == 0x002b && data.len() == 2 {
                version = u16::from_be_bytes([data[0], data[1]]);
            }
            ext_at += 4 + len;
        }
    }
    Some((version, suite))
}

fn parse_certificates(body: &[u8]) -> Vec<Vec<u8>> {
    let mut chain = Vec::new();
    let Some(total) = body.get(..3).map(|b| (usize::from(b[0]) << 16) | (usize::from(b[1]) << 8) | usize::from(b[2]))
    else {
        return chain;
    };
    let mut rest = body.get(3..3 + total).unwrap_or(&body[3..]);
    while rest.len() >= 3 && chain.len() < 16 {
        let len = (usize::from(rest[0]) << 16) | (usize::from(rest[1]) << 8) | usize::from(rest[2]);
        let Some(der) = rest.get(3..3 + len) else { break };
        chain.push(der.to_vec());
        rest = &rest[3 + len..];
    }
    chain
}

/// The name of a TLS alert description.
pub fn alert_name(description: u8) -> String {
    let name = match description {
        0 => "close_notify",
        10 => "unexpected_message",
        20 => "bad_record_mac",
        40 => "handshake_failure",
        42 => "bad_certificate",
        47 => "illegal_parameter",
        50 => "decode_error",
        70 => "protocol_version",
        71 => "insufficient_security",
        80 => "internal_error",
        86 => "inappropriate_fallback",
        90 => "user_canceled",
        109 => "missing_extension",
        112 => "unrecognized_name",
        _ => return format!("alert {description}"),
    };
    format!("alert {name} ({description})")
}

/// The answer about one version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VersionResult {
    Accepted {
        suite: u16,
        chain: Vec<Certificate>,
    },
    /// The server said no: an alert, a close, or another version than offered.
    Rejected(String),
    /// The question could not be asked (connection or STARTTLS failed): why.
    NotTried(String),
    /// The probe's time ran out before the question was answered: why.
    OutOfTime(String),
}

/// Every version asked about, in the order asked.
#[derive(Debug, Clone, Default)]
pub struct LegacyReport {
    pub results: Vec<(TlsVersion, VersionResult)>,
}

impl LegacyReport {
    pub fn accepted(&self) -> impl Iterator<Item = (TlsVersion, &VersionResult)> {
        self.results.iter().filter(|(_, r)| matches!(r, VersionResult::Accepted { .. })).map(|(v, r)| (*v, r))
    }

    /// Per version asked: `accepted (suite)`, `rejected: why` or `not tried: why`.
    pub fn probed_json(&self) -> serde_json::Map<String, serde_json::Value> {
        self.results
            .iter()
            .map(|(version, result)| {
                let text = match result {
                    VersionResult::Accepted { suite, .. } => format!("accepted ({})", suite_name(*suite)),
                    VersionResult::Rejected(why) => format!("rejected: {why}"),
                    VersionResult::NotTried(why) | VersionResult::OutOfTime(why) => format!("not tried: {why}"),
                };
                (version.name().to_owned(), serde_json::Value::String(text))
            })
            .collect()
    }

    /// The chain of the first accepted version that carried one.
    pub fn chain(&self) -> Option<&[Certificate]> {
        self.results.iter().find_map(|(_, r)| match r {
            VersionResult::Accepted { chain, .. } if !chain.is_empty() => Some(chain.as_slice()),
            _ => None,
        })
    }
}

/// Send a ClientHello for `version` on a connection that is ready for one, and
/// read the server's first flight (bounded like every read of the connection).
pub async fn hello_exchange<S: AsyncRead + AsyncWrite + Unpin>(
    mut conn: LineReader<S>,
    version: TlsVersion,
    sni: Option<&str>,
) -> VersionResult {
    if let Err(e) = conn.send(&client_hello(version, sni, random_bytes())).await {
        let why = format!("sending the ClientHello: {e}");
        return if matches!(e, LineError::Deadline) {
            VersionResult::OutOfTime(why)
        } else {
            VersionResult::NotTried(why)
        };
    }
    let mut received = Vec::new();
    let flight = loop {
        let flight = parse_server_flight(&received);
        // A first flight is a few kilobytes; a server that keeps sending without finishing one is cut off.
        if flight.complete || received.len() > MAX_FLIGHT {
            break flight;
        }
        match conn.read_some(16 * 1024).await {
            Ok(bytes) => received.extend_from_slice(&bytes),
            Err(LineError::Closed | LineError::ByteCap(_)) => break flight,
            Err(e @ LineError::Deadline) if flight.answer.is_none() => {
                return VersionResult::OutOfTime(format!("waiting for the ServerHello: {e}"));
            }
            Err(e @ LineError::ReadTimeout(_)) if flight.answer.is_none() => {
                return VersionResult::NotTried(format!("waiting for the ServerHello: {e}"));
            }
            Err(_) => break flight,
        }
    };
    match flight.answer {
        Some(ServerAnswer::Hello { version: chosen, suite, chain }) if chosen == version.wire() => {
            VersionResult::Accepted { suite, chain: chain.iter().map(|der| describe_certificate(der)).collect() }
        }
        Some(ServerAnswer::Hello { version: chosen, .. }) => VersionResult::Rejected(format!(
            "server chose {}",
            TlsVersion::from_wire(chosen).map(TlsVersion::name).map(str::to_owned).unwrap_or(format!("0x{chosen:04x}"))
        )),
        Some(ServerAnswer::Alert { description, .. }) => VersionResult::Rejected(alert_name(description)),
        Some(ServerAnswer::NotTls) => VersionResult::Rejected("answer is not TLS".into()),
        None => VersionResult::Rejected("connection closed without an answer".into()),
    }
}

/// Why a connection for a ClientHello could not be opened; the deadline ends the questions.
pub trait OpenFailure: std::fmt::Display {
    fn is_deadline(&self) -> bool;
}

/// Ask about the TLS versions rustls cannot tell, each on a fresh connection from `open`
/// (ready for a ClientHello: after STARTTLS where the protocol needs it): 1.0 and 1.1
/// always, 1.2 when rustls negotiated 1.3, and 1.3 and 1.2 when rustls had no handshake
/// (`negotiated` is `None`; a hand-built hello reads the ServerHello whatever the certificate).
pub async fn probe_versions<S, E, F, Opened>(negotiated: Option<&str>, sni: Option<&str>, mut open: F) -> LegacyReport
where
    S: AsyncRead + AsyncWrite + Unpin,
    E: OpenFailure,
    F: FnMut() -> Opened,
    Opened: Future<Output = Result<LineReader<S>, E>>,
{
    let mut versions = Vec::new();
    match negotiated {
        Some("TLS1.3") => versions.push(TlsVersion::Tls12),
        Some(_) => {}
        None => versions.extend([TlsVersion::Tls13, TlsVersion::Tls12]),
    }
    versions.extend([TlsVersion::Tls11, TlsVersion::Tls10]);
    let mut report = LegacyReport::default();
    for version in versions {
        let result = match open().await {
            Ok(conn) => hello_exchange(conn, version, sni).await,
            Err(e) if e.is_deadline() => VersionResult::OutOfTime(e.to_string()),
            Err(e) => VersionResult::NotTried(e.to_string()),
        };
        let out_of_time = matches!(result, VersionResult::OutOfTime(_));
        report.results.push((version, result));
        if out_of_time {
            break;
        }
    }
    report
}

/// Client random bytes: not secret (no key is ever derived), only different per hello.
fn random_bytes() -> [u8; 32] {
    use std::hash::{BuildHasher, Hasher};
    let mut out = [0u8; 32];
    for (i, chunk) in out.chunks_mut(8).enumerate() {
        let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
        hasher.write_usize(i);
        chunk.copy_from_slice(&hasher.finish().to_le_bytes());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(kind: u8, body: &[u8]) -> Vec<u8> {
        let mut out = vec![kind, 3, 3];
        push_u16(&mut out, body.len() as u16);
        out.extend_from_slice(body);
        out
    }

    fn handshake(kind: u8, body: &[u8]) -> Vec<u8> {
        let mut out = vec![kind];
        push_u24(&mut out, body.len());
        out.extend_from_slice(body);
        out
    }

    fn server_hello(version: u16, suite: u16, extensions: &[u8]) -> Vec<u8> {
        let mut body = version.to_be_bytes().to_vec();
        body.extend_from_slice(&[7u8; 32]);
        body.push(0);
        body.extend_from_slice(&suite.to_be_bytes());
        body.push(0);
        if !extensions.is_empty() {
            push_u16(&mut body, extensions.len() as u16);
            body.extend_from_slice(extensions);
        }
        handshake(2, &body)
    }

    #[test]
    fn the_hello_is_well_formed() {
        let hello = client_hello(TlsVersion::Tls10, Some("mail.example.org"), [1; 32]);
        assert_eq!(&hello[..3], &[22, 3, 1]);
        let record_len = usize::from(u16::from_be_bytes([hello[3], hello[4]]));
        assert_eq!(record_len + 5, hello.len());
        assert_eq!(hello[5], 1, "client_hello");
        let hs_len = (usize::from(hello[6]) << 16) | (usize::from(hello[7]) << 8) | usize::from(hello[8]);
        assert_eq!(hs_len + 4, record_len);
        assert_eq!(&hello[9..11], &[3, 1], "offers TLS 1.0 only");
        assert!(hello.windows(16).any(|w| w == b"mail.example.org"));
        let by_ip = client_hello(TlsVersion::Tls11, Some("127.0.0.1"), [1; 32]);
        assert!(!by_ip.windows(9).any(|w| w == b"127.0.0.1"), "no SNI for an address");
        let tls13 = client_hello(TlsVersion::Tls13, None, [1; 32]);
        assert_eq!(&tls13[9..11], &[3, 3]);
        assert!(tls13.windows(7).any(|w| w == [0x00, 0x2b, 0x00, 0x03, 0x02, 0x03, 0x04]));
    }

    #[test]
    fn a_tls10_hello_with_its_certificate() {
        let cert = b"not really DER".to_vec();
        let mut certs = Vec::new();
        push_u24(&mut certs, cert.len() + 3);
        push_u24(&mut certs, cert.len());
        certs.extend_from_slice(&cert);
        let mut flight = server_hello(0x0301, 0xc014, &[0xff, 0x01, 0x00, 0x01, 0x00]);
        flight.extend(handshake(11, &certs));
        flight.extend(handshake(14, &[]));
        let bytes = record(22, &flight);
        let parsed = parse_server_flight(&bytes);
        assert!(parsed.complete);
        assert_eq!(parsed.answer, Some(ServerAnswer::Hello { version: 0x0301, suite: 0xc014, chain: vec![cert] }));
        // Cut anywhere before the certificate: more bytes are needed.
        let partial = parse_server_flight(&bytes[..60]);
        assert!(!partial.complete);
    }

    #[test]
    fn handshake_messages_split_across_records() {
        let hello = server_hello(0x0303, 0xc02f, &[]);
        let (a, b) = hello.split_at(20);
        let mut bytes = record(22, a);
        bytes.extend(record(22, b));
        let parsed = parse_server_flight(&bytes);
        assert_eq!(parsed.answer, Some(ServerAnswer::Hello { version: 0x0303, suite: 0xc02f, chain: vec![] }));
        assert!(!parsed.complete, "waits for the Certificate");
        bytes.extend(record(20, &[1]));
        assert!(parse_server_flight(&bytes).complete, "another record type ends the flight");
    }

    #[test]
    fn tls13_is_read_from_supported_versions() {
        let hello = server_hello(0x0303, 0x1301, &[0x00, 0x2b, 0x00, 0x02, 0x03, 0x04]);
        let parsed = parse_server_flight(&record(22, &hello));
        assert!(parsed.complete);
        assert_eq!(parsed.answer, Some(ServerAnswer::Hello { version: 0x0304, suite: 0x1301, chain: vec![] }));
    }

    #[test]
    fn alerts_garbage_and_nothing() {
        let alert = parse_server_flight(&record(21, &[2, 70]));
        assert_eq!(alert.answer, Some(ServerAnswer::Alert { level: 2, description: 70 }));
        assert_eq!(alert_name(70), "alert protocol_version (70)");
        let smtp = parse_server_flight(b"454 4.7.0 TLS not available\r\n");
        assert_eq!(smtp.answer, Some(ServerAnswer::NotTls));
        assert!(smtp.complete);
        let empty = parse_server_flight(&[]);
        assert_eq!(empty, Flight { answer: None, complete: false });
        let huge = parse_server_flight(&[22, 3, 1, 0xff, 0xff]);
        assert_eq!(huge.answer, Some(ServerAnswer::NotTls));
    }

    #[test]
    fn names() {
        assert_eq!(suite_name(0xc014), "ECDHE-RSA-AES256-SHA");
        assert_eq!(suite_name(0xbeef), "0xBEEF");
        assert_eq!(TlsVersion::from_wire(0x0302).map(TlsVersion::name), Some("TLS1.1"));
        assert!(TlsVersion::Tls11.is_legacy() && !TlsVersion::Tls12.is_legacy());
    }
}
