//! Self-signed certificates and the server-side TLS configuration of TLS hosts.

use std::io;
use std::sync::Arc;

use rcgen::{CertificateParams, DnType, KeyPair};
use rustls::ServerConfig;
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio_rustls::TlsAcceptor;

use crate::spec::HostSpec;

/// A TLS acceptor whose certificate is self-signed for the host's name and address, like the
/// certificate Exchange setup creates. Each host gets its own key: shared keys across hosts are
/// themselves a finding some scanners report.
pub(crate) fn acceptor_for(spec: &HostSpec) -> io::Result<TlsAcceptor> {
    let mut names = Vec::with_capacity(2);
    if !spec.name.is_empty() && spec.name.parse::<std::net::IpAddr>().is_err() {
        names.push(spec.name.clone());
    }
    names.push(spec.ip.to_string());
    let mut params = CertificateParams::new(names).map_err(io::Error::other)?;
    let common_name = if spec.name.is_empty() { spec.ip.to_string() } else { spec.name.clone() };
    params.distinguished_name.push(DnType::CommonName, common_name);
    let key = KeyPair::generate().map_err(io::Error::other)?;
    let cert = params.self_signed(&key).map_err(io::Error::other)?;
    let key_der = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));

    let provider = Arc::new(rustls::crypto::ring::default_provider());
    // No ALPN list: a server that lists protocols must refuse clients that offer none of them,
    // while one that lists none lets every client fall back to HTTP/1.1, which is all we speak.
    let config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(io::Error::other)?
        .with_no_client_auth()
        .with_single_cert(vec![cert.der().clone()], key_der)
        .map_err(io::Error::other)?;
    Ok(TlsAcceptor::from(Arc::new(config)))
}
