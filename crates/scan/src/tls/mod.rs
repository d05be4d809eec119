//! One TLS layer for every TLS port: the client configuration that reads any certificate
//! ([`config`]), what a handshake shows ([`cert`]), the posture findings judged from it
//! ([`posture`]), and the hand-built ClientHello that asks about versions rustls never
//! speaks ([`legacy`]).

pub mod cert;
pub mod config;
pub mod legacy;
pub mod posture;
pub mod survey;

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use rustls::ClientConfig;
use seawall_model::TlsInfo;
use thiserror::Error;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::time::{Instant, timeout_at};
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

pub use config::{probe_client_config, server_name};

/// Why a TLS handshake did not finish.
#[derive(Debug, Error)]
pub enum TlsError {
    /// The peer refused, closed, or answered with something that is not TLS.
    #[error("TLS handshake: {0}")]
    Handshake(#[source] std::io::Error),
    #[error("TLS handshake: not finished within {0:?}")]
    Timeout(Duration),
    /// The probe's whole time ran out during the handshake.
    #[error("TLS handshake: total time limit reached")]
    Deadline,
}

/// Bounds of one handshake: `step` for the handshake itself, `deadline` for the whole probe.
#[derive(Debug, Clone, Copy)]
pub struct HandshakeBounds {
    pub step: Duration,
    pub deadline: Option<Instant>,
}

/// Run a client handshake over `stream`, sending `host` as SNI when it is a name.
pub async fn handshake<S>(
    config: &Arc<ClientConfig>,
    host: Option<&str>,
    ip: IpAddr,
    stream: S,
    bounds: HandshakeBounds,
) -> Result<(TlsStream<S>, TlsInfo), TlsError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let connector = TlsConnector::from(Arc::clone(config));
    let name = server_name(host, ip);
    let step_end = Instant::now() + bounds.step;
    let until = bounds.deadline.map_or(step_end, |deadline| step_end.min(deadline));
    match timeout_at(until, connector.connect(name, stream)).await {
        Err(_) if bounds.deadline.is_some_and(|deadline| until >= deadline) => Err(TlsError::Deadline),
        Err(_) => Err(TlsError::Timeout(bounds.step)),
        Ok(Err(e)) => Err(TlsError::Handshake(e)),
        Ok(Ok(tls)) => {
            let info = cert::tls_info(tls.get_ref().1);
            Ok((tls, info))
        }
    }
}
