//! The one TLS client configuration of every probe (HTTPS, SMTPS, IMAPS, POP3S, STARTTLS).
//!
//! Reading is not trusting: a scanner must see every certificate a server sends, whatever
//! its key size, signature or validity, and judge it afterwards from the recorded chain
//! ([`super::posture`]). So the verifier accepts every chain and every handshake signature:
//! rustls alone would refuse a 1024-bit RSA key or a version 1 certificate, and the servers
//! that still use them are those most in need of a finding. Nothing secret is ever sent over
//! these sessions (the probes send GET/HEAD of fixed paths and capability commands only).

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, SignatureScheme};

/// Accepts every certificate chain and every handshake signature (see the module docs).
#[derive(Debug)]
struct ReadAnyCertificate(Arc<CryptoProvider>);

impl ServerCertVerifier for ReadAnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        _message: &[u8],
        _cert: &CertificateDer<'_>,
        _dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Ok(HandshakeSignatureValid::assertion())
    }

    fn verify_tls13_signature(
        &self,
        _message: &[u8],
        _cert: &CertificateDer<'_>,
        _dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Ok(HandshakeSignatureValid::assertion())
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        // Offer every scheme the provider knows, SHA-1 ones included, so old servers can answer.
        let mut schemes = self.0.signature_verification_algorithms.supported_schemes();
        for legacy in [SignatureScheme::RSA_PKCS1_SHA1, SignatureScheme::ECDSA_SHA1_Legacy] {
            if !schemes.contains(&legacy) {
                schemes.push(legacy);
            }
        }
        schemes
    }
}

/// The client configuration for probes, offering `alpn` (e.g. `http/1.1`; empty for mail).
pub fn probe_client_config(alpn: &[&[u8]]) -> Arc<ClientConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .unwrap_or_else(|_| ClientConfig::builder());
    let mut config = builder
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(ReadAnyCertificate(provider)))
        .with_no_client_auth();
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    config.enable_sni = true;
    // No session resumption: a resumed session carries the certificate of the first
    // handshake, and Postfix shares its ticket keys between all its ports, so a session from
    // a port with a good certificate would resume on one with a bad certificate and hide it.
    config.resumption = rustls::client::Resumption::disabled();
    Arc::new(config)
}

/// The same configuration with other ALPN protocols (mail speaks none; HTTPS offers http/1.1).
pub fn with_alpn(config: &Arc<ClientConfig>, alpn: &[&[u8]]) -> Arc<ClientConfig> {
    let mut config = ClientConfig::clone(config);
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    config.resumption = rustls::client::Resumption::disabled();
    Arc::new(config)
}

/// The name to send as SNI: names only; addresses send none (RFC 6066).
pub fn server_name(host: Option<&str>, ip: std::net::IpAddr) -> ServerName<'static> {
    host.and_then(|h| ServerName::try_from(h.to_owned()).ok()).unwrap_or(ServerName::IpAddress(ip.into()))
}
