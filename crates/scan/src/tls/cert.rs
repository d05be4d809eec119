//! Certificates as recorded in `service.tls.chain`.

use seawall_model::digest::hex;
use seawall_model::{Certificate, TlsInfo};
use sha2::{Digest, Sha256};
use x509_parser::prelude::{FromDer, GeneralName, X509Certificate};
use x509_parser::public_key::PublicKey;

/// What a finished handshake shows: the version, the cipher and the chain as sent.
pub fn tls_info(connection: &rustls::ClientConnection) -> TlsInfo {
    let version = match connection.protocol_version() {
        Some(rustls::ProtocolVersion::TLSv1_3) => "TLS1.3".to_owned(),
        Some(rustls::ProtocolVersion::TLSv1_2) => "TLS1.2".to_owned(),
        Some(other) => format!("{other:?}"),
        None => "unknown".to_owned(),
    };
    TlsInfo {
        versions: vec![version],
        cipher: connection.negotiated_cipher_suite().map(|s| format!("{:?}", s.suite())),
        chain: connection.peer_certificates().unwrap_or_default().iter().map(|der| describe_certificate(der)).collect(),
    }
}

/// Describe one DER certificate; unparsable ones are still recorded by hash.
pub fn describe_certificate(der: &[u8]) -> Certificate {
    let sha256 = Some(hex(&Sha256::digest(der)));
    let Ok((_, cert)) = X509Certificate::from_der(der) else {
        return Certificate { subject: "(unparsable certificate)".into(), sha256, ..Certificate::default() };
    };
    let mut sans = Vec::new();
    if let Ok(Some(ext)) = cert.subject_alternative_name() {
        for name in &ext.value.general_names {
            match name {
                GeneralName::DNSName(dns) => sans.push((*dns).to_owned()),
                GeneralName::IPAddress(bytes) => sans.push(ip_text(bytes)),
                _ => {}
            }
        }
    }
    Certificate {
        subject: cert.subject().to_string(),
        issuer: cert.issuer().to_string(),
        sans,
        not_before: rfc3339(cert.validity().not_before.timestamp()),
        not_after: rfc3339(cert.validity().not_after.timestamp()),
        key: key_description(&cert),
        sha256,
    }
}

fn key_description(cert: &X509Certificate<'_>) -> String {
    let info = cert.public_key();
    match info.parsed() {
        Ok(PublicKey::RSA(rsa)) => format!("RSA {}", rsa.key_size()),
        Ok(PublicKey::EC(point)) => format!("EC {}", point.key_size()),
        Ok(PublicKey::DSA(_)) => "DSA".to_owned(),
        Ok(_) | Err(_) => info.algorithm.algorithm.to_id_string(),
    }
}

fn rfc3339(seconds: i64) -> String {
    jiff::Timestamp::from_second(seconds).map(|t| t.to_string()).unwrap_or_else(|_| seconds.to_string())
}

fn ip_text(bytes: &[u8]) -> String {
    match bytes.len() {
        4 => std::net::Ipv4Addr::new(bytes[0], bytes[1], bytes[2], bytes[3]).to_string(),
        16 => {
            let mut octets = [0u8; 16];
            octets.copy_from_slice(bytes);
            std::net::Ipv6Addr::from(octets).to_string()
        }
        _ => hex(bytes),
    }
}

/// Whether a certificate's validity has ended at `now` (RFC 3339 comparison of UTC times).
pub fn is_expired(cert: &Certificate, now: jiff::Timestamp) -> bool {
    cert.not_after.parse::<jiff::Timestamp>().is_ok_and(|end| end < now)
}

/// Whether a certificate is self-signed (issuer equals subject).
pub fn is_self_signed(cert: &Certificate) -> bool {
    !cert.subject.is_empty() && cert.subject == cert.issuer
}
