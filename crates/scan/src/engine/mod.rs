//! The scheduler: a bounded window of endpoint tasks over one shard of the
//! target space, new connections paced by a token bucket, a cap per host,
//! a deadline per host, and a clean stop on cancel. Records go to a channel.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use jiff::Timestamp;
use seawall_kb::KnowledgeBase;
use seawall_model::{ErrorRecord, Record};
use tokio::sync::{Semaphore, mpsc, watch};
use tokio::task::JoinSet;
use tokio::time::{Instant, sleep_until, timeout};

use crate::exchange::plan::ProbePlan;
use crate::exchange::webshells::WebshellPaths;
use crate::protocols::http::HttpSettings;
use crate::shard::Shard;
use crate::space::{Endpoint, TargetSpace};

mod endpoint;

/// How a scan behaves.
#[derive(Debug, Clone)]
pub struct ScanOptions {
    /// Endpoints in flight at once.
    pub concurrency: usize,
    /// New endpoints started per second; `None` is unpaced.
    pub rate: Option<f64>,
    /// Endpoints of one address in flight at once.
    pub per_host: usize,
    /// Everything spent on one endpoint, resolution included.
    pub host_timeout: Duration,
    pub http: HttpSettings,
    pub seed: u64,
    pub shard: Shard,
    /// The instant every date is judged against: end of support, certificate validity
    /// (`--as-of`; now by default).
    pub as_of: Timestamp,
    /// GET the webshell paths of the public IOC lists on Exchange hosts.
    pub probe_webshells: bool,
    /// Run the opt-in active checks (see `exchange::active`).
    pub active: bool,
}

impl ScanOptions {
    /// Defaults for everything but how HTTP is spoken: 64 endpoints in flight, unpaced, 4
    /// per host, 60 s per endpoint, seed 0, the whole space, judged as of now, no opt-in checks.
    pub fn new(http: HttpSettings) -> ScanOptions {
        ScanOptions {
            concurrency: 64,
            rate: None,
            per_host: 4,
            host_timeout: Duration::from_secs(60),
            http,
            seed: 0,
            shard: Shard { index: 0, count: 1 },
            as_of: Timestamp::now(),
            probe_webshells: false,
            active: false,
        }
    }

    /// The day end of support is judged on (UTC).
    pub fn today(&self) -> jiff::civil::Date {
        self.as_of.to_zoned(jiff::tz::TimeZone::UTC).date()
    }
}

/// Counters the caller may read while the scan runs (for a progress bar).
#[derive(Debug, Default)]
pub struct Progress {
    pub total: AtomicU64,
    pub done: AtomicU64,
    pub services: AtomicU64,
    pub findings: AtomicU64,
    pub errors: AtomicU64,
    /// Probes that failed inside seawall (a panic): each is an error record too, and the run
    /// must not end as if all went well.
    pub internal_failures: AtomicU64,
    /// HTTP requests of the probe plan sent, every endpoint and attempt included.
    pub http_requests: AtomicU64,
}

/// One endpoint's records, sent together by [`Scanner::run_endpoints`] (an endpoint that
/// yielded nothing still sends its empty list: it is done).
#[derive(Debug, Clone, PartialEq)]
pub struct EndpointRecords {
    /// The endpoint's place in the seeded order of the whole target space (see
    /// [`crate::shard::ShardPositions::next_with_ordinal`]): the same for every shard and every
    /// run with the same targets, ports and seed.
    pub ordinal: u64,
    pub records: Vec<Record>,
}

/// Where an endpoint's records go: one by one, or all together with the endpoint's ordinal.
#[derive(Clone)]
enum Outlet {
    Records(mpsc::Sender<Record>),
    Endpoints(mpsc::Sender<EndpointRecords>),
}

/// Stops a scan: no new endpoint starts, those in flight are abandoned.
#[derive(Debug, Clone)]
pub struct StopSignal(watch::Sender<bool>);

impl StopSignal {
    pub fn stop(&self) {
        let _ = self.0.send(true);
    }
}

pub struct Scanner {
    kb: Arc<KnowledgeBase>,
    plan: Arc<ProbePlan>,
    webshell_paths: Arc<WebshellPaths>,
    options: ScanOptions,
    progress: Arc<Progress>,
    stop: watch::Receiver<bool>,
    stop_sender: StopSignal,
}

impl std::fmt::Debug for Scanner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scanner").field("options", &self.options).finish_non_exhaustive()
    }
}

impl Scanner {
    pub fn new(
        kb: Arc<KnowledgeBase>,
        plan: ProbePlan,
        webshell_paths: WebshellPaths,
        options: ScanOptions,
    ) -> Scanner {
        let (sender, stop) = watch::channel(false);
        Scanner {
            kb,
            plan: Arc::new(plan),
            webshell_paths: Arc::new(webshell_paths),
            options,
            progress: Arc::new(Progress::default()),
            stop,
            stop_sender: StopSignal(sender),
        }
    }

    pub fn progress(&self) -> Arc<Progress> {
        Arc::clone(&self.progress)
    }

    pub fn stop_signal(&self) -> StopSignal {
        self.stop_sender.clone()
    }

    /// Scan this shard of `space`, sending every record to `out`. Returns when
    /// every endpoint is done or the scan was stopped.
    pub async fn run(self, space: Arc<TargetSpace>, out: mpsc::Sender<Record>) {
        self.drive(space, |_| false, Outlet::Records(out)).await;
    }

    /// Like [`Scanner::run`], but each endpoint's records arrive in one message with the
    /// endpoint's ordinal, and ordinals for which `skip` is true are not visited. A store
    /// commits an endpoint's records together with its done-mark, and a resumed scan skips the
    /// ordinals already done. `skip` sees this shard's ordinals in increasing order.
    pub async fn run_endpoints(
        self,
        space: Arc<TargetSpace>,
        skip: impl FnMut(u64) -> bool + Send,
        out: mpsc::Sender<EndpointRecords>,
    ) {
        self.drive(space, skip, Outlet::Endpoints(out)).await;
    }

    async fn drive(self, space: Arc<TargetSpace>, mut skip: impl FnMut(u64) -> bool + Send, out: Outlet) {
        let mut endpoints = space.shard(self.options.seed, self.options.shard);
        self.progress.total.store(endpoints.positions_left(), Ordering::Relaxed);
        let window = self.options.concurrency.max(1);
        let hosts = HostCaps::new(self.options.per_host.max(1));
        let interval = self.options.rate.filter(|r| *r > 0.0).map(|r| Duration::from_secs_f64(1.0 / r));
        let mut next_start = Instant::now();
        let mut tasks = JoinSet::new();
        let mut stop = self.stop.clone();
        let shared = Arc::new(Shared {
            kb: Arc::clone(&self.kb),
            plan: Arc::clone(&self.plan),
            webshell_paths: Arc::clone(&self.webshell_paths),
            options: self.options.clone(),
            progress: Arc::clone(&self.progress),
            space: Arc::clone(&space),
            hosts,
            mail_tls: crate::tls::config::with_alpn(&self.options.http.tls, &[]),
        });
        let mut skipped = 0u64;
        while let Some((ordinal, endpoint)) = endpoints.next_with_ordinal() {
            if skip(ordinal) {
                // Done in an earlier session: not part of this one's progress. A resume that
                // skips millions lets other tasks (and a stop) in now and then.
                self.progress.total.fetch_sub(1, Ordering::Relaxed);
                skipped += 1;
                if skipped.is_multiple_of(1 << 16) {
                    tokio::task::yield_now().await;
                }
                continue;
            }
            if *stop.borrow() {
                break;
            }
            while tasks.len() >= window {
                tokio::select! {
                    _ = tasks.join_next() => {}
                    _ = stop.changed() => break,
                }
            }
            if let Some(interval) = interval {
                tokio::select! {
                    () = sleep_until(next_start) => {}
                    _ = stop.changed() => break,
                }
                next_start = next_start.max(Instant::now() - interval) + interval;
            }
            if *stop.borrow() {
                break;
            }
            let shared = Arc::clone(&shared);
            let out = out.clone();
            tasks.spawn(async move { shared.scan_endpoint(endpoint, ordinal, out).await });
            // A task that ended abnormally still ended: its endpoint was recorded by
            // `scan_endpoint`, which catches the probe's panics.
        }
        loop {
            tokio::select! {
                next = tasks.join_next() => if next.is_none() { break },
                _ = stop.changed() => {
                    tasks.abort_all();
                    while tasks.join_next().await.is_some() {}
                    break;
                }
            }
        }
    }
}

struct Shared {
    kb: Arc<KnowledgeBase>,
    plan: Arc<ProbePlan>,
    webshell_paths: Arc<WebshellPaths>,
    options: ScanOptions,
    progress: Arc<Progress>,
    space: Arc<TargetSpace>,
    hosts: HostCaps,
    /// The scan's TLS configuration without the HTTP ALPN offer: mail servers may refuse it.
    mail_tls: Arc<rustls::ClientConfig>,
}

impl Shared {
    async fn scan_endpoint(self: Arc<Self>, endpoint: Endpoint, ordinal: u64, out: Outlet) {
        let label = format!("{}:{}", endpoint.host_label(), endpoint.port);
        let shared = Arc::clone(&self);
        let task = tokio::spawn(async move { shared.probe(&endpoint).await });
        let (records, panicked) = guarded(&label, self.options.host_timeout, task).await;
        if panicked {
            self.progress.internal_failures.fetch_add(1, Ordering::Relaxed);
        }
        for record in &records {
            match record {
                Record::Service(_) => self.progress.services.fetch_add(1, Ordering::Relaxed),
                Record::Finding(_) => self.progress.findings.fetch_add(1, Ordering::Relaxed),
                Record::Error(_) => self.progress.errors.fetch_add(1, Ordering::Relaxed),
                _ => 0,
            };
        }
        match out {
            Outlet::Records(out) => {
                for record in records {
                    if out.send(record).await.is_err() {
                        break;
                    }
                }
            }
            Outlet::Endpoints(out) => {
                let _ = out.send(EndpointRecords { ordinal, records }).await;
            }
        }
        self.progress.done.fetch_add(1, Ordering::Relaxed);
    }
}

/// Wait for one endpoint's probe task within `limit`: a probe that panics or runs out of
/// time still yields a record saying so (nothing vanishes; see issue 14), and the task is
/// aborted when the scan drops this future (a stop) or the time is up.
/// The second value says the probe panicked.
async fn guarded(label: &str, limit: Duration, task: tokio::task::JoinHandle<Vec<Record>>) -> (Vec<Record>, bool) {
    struct AbortOnDrop(tokio::task::JoinHandle<Vec<Record>>);
    impl Drop for AbortOnDrop {
        fn drop(&mut self) {
            self.0.abort();
        }
    }
    let mut task = AbortOnDrop(task);
    match timeout(limit, &mut task.0).await {
        Ok(Ok(records)) => (records, false),
        Ok(Err(failure)) if failure.is_panic() => {
            let payload = failure.into_panic();
            let message = payload
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "a panic without a message".to_owned());
            (vec![error_record(label, format!("probe failed (internal error, please report): {message}"))], true)
        }
        Ok(Err(_)) => (vec![error_record(label, "probe cancelled".to_owned())], false),
        Err(_) => (vec![error_record(label, format!("gave up after {limit:?} (host deadline)"))], false),
    }
}

fn error_record(source: &str, message: String) -> Record {
    Record::Error(ErrorRecord { source: source.to_owned(), message, position: None })
}

/// At most `cap` endpoints of one address in flight.
struct HostCaps {
    cap: usize,
    slots: Mutex<HashMap<IpAddr, Arc<Semaphore>>>,
}

struct HostPermit<'a> {
    caps: &'a HostCaps,
    ip: IpAddr,
    semaphore: Option<Arc<Semaphore>>,
}

impl HostCaps {
    fn new(cap: usize) -> HostCaps {
        HostCaps { cap, slots: Mutex::new(HashMap::new()) }
    }

    async fn acquire(&self, ip: IpAddr) -> HostPermit<'_> {
        let semaphore = {
            let mut slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
            Arc::clone(slots.entry(ip).or_insert_with(|| Arc::new(Semaphore::new(self.cap))))
        };
        if let Ok(permit) = Arc::clone(&semaphore).acquire_owned().await {
            permit.forget();
        }
        HostPermit { caps: self, ip, semaphore: Some(semaphore) }
    }
}

impl Drop for HostPermit<'_> {
    fn drop(&mut self) {
        let Some(semaphore) = self.semaphore.take() else { return };
        semaphore.add_permits(1);
        // Forget hosts nobody waits on, so a /8 scan does not keep a map of every address.
        let mut slots = self.caps.slots.lock().unwrap_or_else(|e| e.into_inner());
        if semaphore.available_permits() == self.caps.cap && Arc::strong_count(&semaphore) == 2 {
            slots.remove(&self.ip);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // See: issue 14, item 1. A probe that panics must leave an error record, not vanish.
    #[tokio::test]
    async fn a_panicking_probe_becomes_an_error_record() {
        let task = tokio::spawn(async {
            let keyword = String::from("ABC\u{e9}");
            // The shape of the old SMTP bug: slicing text inside a UTF-8 character.
            let cut = keyword.len() - 1;
            vec![error_record(&keyword[..cut], String::new())]
        });
        let (records, panicked) = guarded("192.0.2.1:25", Duration::from_secs(5), task).await;
        assert!(panicked, "counted as an internal failure");
        let [Record::Error(error)] = records.as_slice() else { panic!("one error record, got {records:?}") };
        assert_eq!(error.source, "192.0.2.1:25");
        assert!(error.message.contains("probe failed") && error.message.contains("char boundary"), "{}", error.message);
    }

    #[tokio::test]
    async fn a_probe_past_its_deadline_becomes_an_error_record() {
        let task = tokio::spawn(async {
            tokio::time::sleep(Duration::from_secs(60)).await;
            Vec::new()
        });
        let (records, panicked) = guarded("192.0.2.1:443", Duration::from_millis(100), task).await;
        assert!(!panicked);
        let [Record::Error(error)] = records.as_slice() else { panic!("one error record, got {records:?}") };
        assert!(error.message.contains("host deadline"));
    }
}
