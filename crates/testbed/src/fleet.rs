//! Starting, running and stopping a set of hosts.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};
use tokio_rustls::TlsAcceptor;

use crate::decoy::DecoySite;
use crate::exchange::ExchangeSite;
use crate::hostile::{self, Flood, Limits, RedirectSite};
use crate::http::{self, ConnInfo, Site};
use crate::log::RequestLog;
use crate::spec::{HostKind, HostSpec, Hostile, LoggedRequest, RunningHost};
use crate::tls;

/// A client that connects and never finishes the handshake is dropped after this.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Connections beyond this per host are closed on accept, bounding what one host can cost.
const MAX_CONNECTIONS_PER_HOST: usize = 1024;

/// A set of emulated hosts serving on loopback until [`Fleet::shutdown`] (or drop).
#[derive(Debug)]
pub struct Fleet {
    hosts: Vec<RunningHost>,
    log: RequestLog,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl Fleet {
    /// Bind every host (ip:port), serve until shutdown. TLS hosts get a self-signed certificate
    /// made with rcgen (SAN = name and ip). Every address must be loopback (127.0.0.0/8, ::1); nothing is bound
    /// unless all binds succeed.
    pub async fn start(specs: Vec<HostSpec>) -> io::Result<Fleet> {
        if let Some(spec) = specs.iter().find(|spec| !spec.ip.is_loopback()) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "host {} has address {}: the testbed binds only loopback (127.0.0.0/8, ::1)",
                    spec.name, spec.ip
                ),
            ));
        }
        let mut listeners = Vec::with_capacity(specs.len());
        for spec in &specs {
            let wanted = SocketAddr::from((spec.ip, spec.port));
            let listener = TcpListener::bind(wanted)
                .await
                .map_err(|error| io::Error::new(error.kind(), format!("bind {wanted} ({}): {error}", spec.name)))?;
            listeners.push(listener);
        }

        let log = RequestLog::default();
        let (stop, _) = watch::channel(false);
        let mut hosts = Vec::with_capacity(specs.len());
        let mut tasks = Vec::with_capacity(specs.len());
        for (spec, listener) in specs.into_iter().zip(listeners) {
            let addr = listener.local_addr()?;
            let host = Arc::new(HostRuntime::new(&spec, addr, log.clone())?);
            tasks.push(tokio::spawn(accept_loop(listener, host, stop.subscribe())));
            hosts.push(RunningHost { spec, addr });
        }
        Ok(Fleet { hosts, log, stop, tasks })
    }

    pub fn hosts(&self) -> &[RunningHost] {
        &self.hosts
    }

    /// The host with that name, if any.
    pub fn host(&self, name: &str) -> Option<&RunningHost> {
        self.hosts.iter().find(|host| host.spec.name == name)
    }

    /// Every HTTP request any host received, in arrival order. Hostile hosts log the request if
    /// they read one.
    pub fn request_log(&self) -> Vec<LoggedRequest> {
        self.log.snapshot()
    }

    /// Requests received but not kept because the log reached its cap (a million entries).
    pub fn requests_dropped(&self) -> u64 {
        self.log.dropped()
    }

    /// Stops accepting, cuts every open connection and waits until all ports are closed.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        for task in self.tasks {
            let _ = task.await;
        }
    }
}

/// How a host answers an accepted connection.
enum Behaviour {
    Http(Arc<dyn Site>),
    Flood(Flood),
    TlsGarbage,
    InstantClose,
}

struct HostRuntime {
    behaviour: Behaviour,
    tls: Option<TlsAcceptor>,
    conn: ConnInfo,
    log: RequestLog,
}

impl HostRuntime {
    fn new(spec: &HostSpec, addr: SocketAddr, log: RequestLog) -> io::Result<HostRuntime> {
        let behaviour = match &spec.kind {
            HostKind::Exchange(host) => Behaviour::Http(Arc::new(ExchangeSite::new(&spec.name, host))),
            HostKind::Decoy(decoy) => Behaviour::Http(Arc::new(DecoySite::new(&spec.name, *decoy))),
            HostKind::Hostile(Hostile::RedirectToMetadata) => Behaviour::Http(Arc::new(RedirectSite::to_metadata())),
            HostKind::Hostile(Hostile::RedirectOffTarget(target)) => {
                Behaviour::Http(Arc::new(RedirectSite::off_target(target)))
            }
            HostKind::Hostile(Hostile::Trickle) => Behaviour::Flood(Flood::Trickle),
            HostKind::Hostile(Hostile::EndlessHeaders) => Behaviour::Flood(Flood::EndlessHeaders),
            HostKind::Hostile(Hostile::EndlessBody) => Behaviour::Flood(Flood::EndlessBody),
            HostKind::Hostile(Hostile::TlsGarbage) => Behaviour::TlsGarbage,
            HostKind::Hostile(Hostile::InstantClose) => Behaviour::InstantClose,
        };
        // The garbage and instant-close hosts never complete a handshake, so they need no certificate.
        let needs_certificate = spec.tls && !matches!(behaviour, Behaviour::TlsGarbage | Behaviour::InstantClose);
        let tls = if needs_certificate { Some(tls::acceptor_for(spec)?) } else { None };
        Ok(HostRuntime { behaviour, tls, conn: ConnInfo { local: addr, tls: spec.tls }, log })
    }

    async fn handle(&self, stream: TcpStream) {
        let _ = stream.set_nodelay(true);
        match (&self.behaviour, &self.tls) {
            (Behaviour::InstantClose, _) => drop(stream),
            (Behaviour::TlsGarbage, _) => hostile::tls_garbage(stream).await,
            (_, Some(acceptor)) => {
                if let Ok(Ok(stream)) = tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                    self.serve(stream).await;
                }
            }
            (_, None) => self.serve(stream).await,
        }
    }

    async fn serve<S: AsyncRead + AsyncWrite + Unpin>(&self, io: S) {
        match &self.behaviour {
            Behaviour::Http(site) => {
                // I/O errors are the client's business (reset, gone): nothing to report.
                let _ = http::serve(io, site.as_ref(), self.conn, &self.log).await;
            }
            Behaviour::Flood(kind) => hostile::flood(io, *kind, Limits::DEFAULT, self.conn.local, &self.log).await,
            Behaviour::TlsGarbage | Behaviour::InstantClose => {}
        }
    }
}

async fn accept_loop(listener: TcpListener, host: Arc<HostRuntime>, mut stop: watch::Receiver<bool>) {
    let mut connections = JoinSet::new();
    loop {
        while connections.try_join_next().is_some() {}
        let accepted = tokio::select! {
            // A send or a dropped Fleet both end the loop.
            _ = stop.changed() => break,
            accepted = listener.accept() => accepted,
        };
        match accepted {
            Ok((stream, _peer)) if connections.len() < MAX_CONNECTIONS_PER_HOST => {
                let host = Arc::clone(&host);
                connections.spawn(async move { host.handle(stream).await });
            }
            Ok((stream, _peer)) => drop(stream),
            // Usually out of file descriptors: back off rather than spin.
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
    drop(listener);
    connections.shutdown().await;
}
