//! The results store: every run's services, findings and errors, in SQLite (a file, the
//! default) or PostgreSQL (shared by many scanning machines), behind one trait.
//!
//! A *run* is one logical scan or hunt. It is written by one or many *sessions*: the processes
//! of `--shard I/N --seed S`, and every `--resume` after a crash. Rows are keyed so that
//! sessions merge without duplicates: services by (run, host, port), findings by (run, stable
//! finding id), errors by (run, hash of source, message and position). A scan session commits
//! each endpoint's records in the same transaction as the endpoint's *done-mark* (its ordinal
//! in the seeded order of the target space), so a session killed at any instant has either
//! written an endpoint completely or not at all, and a resumed session skips exactly the
//! endpoints marked done.
//!
//! The trait is synchronous: SQLite is, and the PostgreSQL store drives its own
//! single-threaded runtime. Call it from plain threads (the CLI's main thread, the
//! [`StoreWriter`] thread), never from inside an async task.

mod begin;
mod postgres;
mod queries;
mod rows;
mod schema;
mod sqlite;
mod writer;

pub use seawall_model::digest::Fingerprint;
use seawall_model::{Record, RunEnd};
pub use seawall_model::{RunInfo, RunResults, SessionInfo, SessionStatus, ShardSpec};
use serde::Serialize;

pub use begin::begin;
pub use postgres::PostgresStore;
pub use sqlite::SqliteStore;
pub use writer::{StoreWriter, WriterOutcome, WriterStats};

/// The schema this seawall writes (`seawall_meta.schema`); a store of another version is refused.
pub const SCHEMA_VERSION: &str = "1";

/// What can go wrong with a store. Conflicts are the user's to resolve (another run name,
/// `--resume`); the rest are the database's.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("SQLite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("PostgreSQL: {0}")]
    Postgres(#[from] tokio_postgres::Error),
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// The run asked for cannot be used this way (other targets, already started, ...).
    #[error("{0}")]
    Conflict(String),
    #[error("no run {0:?} in the store")]
    NoSuchRun(String),
    #[error("the store holds schema version {found}; this seawall reads version {SCHEMA_VERSION}")]
    Schema { found: String },
    /// A stored row that does not decode (written by something else, or damaged).
    #[error("stored data: {0}")]
    Decode(String),
    #[error("the store writer stopped: {0}")]
    Writer(String),
}

/// A run with counts, for listings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RunSummary {
    #[serde(flatten)]
    pub run: RunInfo,
    pub sessions: u64,
    /// Sessions that ended normally; the others were interrupted, failed, are still running or were killed.
    pub sessions_finished: u64,
    pub endpoints_done: u64,
    pub services: u64,
    pub findings: u64,
    pub errors: u64,
}

/// What a process says about itself when it starts writing to a store.
#[derive(Debug, Clone)]
pub struct SessionSpec {
    /// `scan` or `hunt`.
    pub command: String,
    /// `--run-name`: the run to create or join. Without it the name is derived from the
    /// command, the digests and the seed, so the shards of one scan meet in one run.
    pub run_name: Option<String>,
    /// Continue the run: skip the endpoints its sessions marked done.
    pub resume: bool,
    /// The seed to use for a new run.
    pub seed: u64,
    /// Whether the user chose `seed` (`--seed`); a chosen seed must match the run's.
    pub seed_given: bool,
    pub shard: ShardSpec,
    pub targets_digest: String,
    pub config_digest: String,
    /// The command line, summarised, for the session row.
    pub args: String,
    pub tool_version: String,
    pub started: jiff::Timestamp,
}

/// A new run to insert.
#[derive(Debug, Clone)]
pub struct NewRun {
    pub name: String,
    pub command: String,
    pub seed: u64,
    pub targets_digest: String,
    pub config_digest: String,
    pub created: jiff::Timestamp,
}

/// Which session a write belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionKey {
    pub run_id: i64,
    pub session_id: i64,
}

/// A started session: the run it writes to and the ordinals of its shard already done.
#[derive(Debug, Clone)]
pub struct Session {
    pub key: SessionKey,
    pub run: RunInfo,
    pub shard: ShardSpec,
    pub done: DoneSet,
}

/// Ordinals already done, sorted; [`DoneSet::into_skip`] answers in O(1) for increasing queries.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DoneSet(Vec<u64>);

impl DoneSet {
    pub fn new(mut ordinals: Vec<u64>) -> DoneSet {
        ordinals.sort_unstable();
        ordinals.dedup();
        DoneSet(ordinals)
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn contains(&self, ordinal: u64) -> bool {
        self.0.binary_search(&ordinal).is_ok()
    }

    /// A predicate for a scan that asks about its ordinals in increasing order: a cursor walks
    /// the sorted set, so a resumed scan of millions of endpoints pays no search per endpoint.
    /// Queries out of order still answer correctly (by binary search).
    pub fn into_skip(self) -> impl FnMut(u64) -> bool + Send {
        let mut cursor = 0usize;
        let mut last = 0u64;
        move |ordinal| {
            if ordinal < last {
                return self.0.binary_search(&ordinal).is_ok();
            }
            last = ordinal;
            while cursor < self.0.len() && self.0[cursor] < ordinal {
                cursor += 1;
            }
            self.0.get(cursor) == Some(&ordinal)
        }
    }
}

/// Records to write in one transaction with the done-mark of the endpoint they came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Batch {
    /// The endpoint's ordinal; `None` for records of no endpoint (hunt results, unreadable target lines).
    pub ordinal: Option<u64>,
    pub records: Vec<Record>,
}

/// How a session ended and its counts.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionEnd {
    pub status: SessionStatus,
    pub ended: jiff::Timestamp,
    pub stats: RunEnd,
}

/// A run named on a command line: its numeric id or its name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunRef {
    Id(i64),
    Name(String),
}

/// The store contract. [`begin`] builds the run and session logic on these operations;
/// each backend only stores and fetches.
pub trait ResultStore: Send + std::fmt::Debug {
    /// Where this store is, for messages (a PostgreSQL URL without its password).
    fn describe(&self) -> String;

    fn find_run(&mut self, run: &RunRef) -> Result<Option<RunInfo>, StoreError>;

    /// The newest run of `command` with these digests that has a session not finished.
    fn latest_unfinished(
        &mut self,
        command: &str,
        targets_digest: &str,
        config_digest: &str,
    ) -> Result<Option<RunInfo>, StoreError>;

    /// Insert the run, or return the one that already has its name (another shard was first).
    fn create_run(&mut self, run: &NewRun) -> Result<RunInfo, StoreError>;

    /// Ordinals of `shard` (those `≡ index mod count`) marked done in the run.
    fn done_ordinals(&mut self, run_id: i64, shard: ShardSpec) -> Result<Vec<u64>, StoreError>;

    /// Insert a `running` session. When `resume`, sessions of the same shard still marked
    /// `running` become `interrupted` (they were killed).
    fn start_session(&mut self, run_id: i64, spec: &SessionSpec) -> Result<i64, StoreError>;

    /// Write the batches and their done-marks in one transaction: all or nothing.
    fn write(&mut self, session: SessionKey, batches: &[Batch]) -> Result<(), StoreError>;

    fn end_session(&mut self, session: SessionKey, end: &SessionEnd) -> Result<(), StoreError>;

    /// Every run, oldest first, with counts.
    fn runs(&mut self) -> Result<Vec<RunSummary>, StoreError>;

    /// Everything stored for a run, in canonical order (see [`RunResults`]).
    fn load(&mut self, run_id: i64) -> Result<RunResults, StoreError>;
}

/// Open `location`: `postgres://...` or `postgresql://...` (a libpq-style URL), anything else a
/// SQLite file (created when missing). The schema is created when absent.
pub fn open(location: &str) -> Result<Box<dyn ResultStore>, StoreError> {
    if is_postgres_url(location) {
        Ok(Box::new(PostgresStore::connect(location)?))
    } else {
        Ok(Box::new(SqliteStore::open(std::path::Path::new(location))?))
    }
}

pub fn is_postgres_url(location: &str) -> bool {
    location.starts_with("postgres://") || location.starts_with("postgresql://")
}

/// Load a run named by id or name (`RunRef` parsing: all digits is tried as an id first).
pub fn load_run(store: &mut dyn ResultStore, name_or_id: &str) -> Result<RunResults, StoreError> {
    let mut found = None;
    if let Ok(id) = name_or_id.parse::<i64>() {
        found = store.find_run(&RunRef::Id(id))?;
    }
    if found.is_none() {
        found = store.find_run(&RunRef::Name(name_or_id.to_owned()))?;
    }
    let run = found.ok_or_else(|| StoreError::NoSuchRun(name_or_id.to_owned()))?;
    store.load(run.id)
}

/// A URL or path fit to print: a PostgreSQL password is replaced by `***`.
pub fn redact_location(location: &str) -> String {
    if !is_postgres_url(location) {
        return location.to_owned();
    }
    let Some((scheme, rest)) = location.split_once("://") else { return location.to_owned() };
    let (authority, tail) = match rest.find(['/', '?']) {
        Some(at) => rest.split_at(at),
        None => (rest, ""),
    };
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _password)) => format!("{scheme}://{user}:***@{host}{tail}"),
            None => location.to_owned(),
        },
        None => location.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn done_set_skips_in_order_and_out_of_order() {
        let mut skip = DoneSet::new(vec![9, 3, 3, 6]).into_skip();
        let answers: Vec<bool> = (0..12).map(&mut skip).collect();
        assert_eq!(answers, vec![false, false, false, true, false, false, true, false, false, true, false, false]);
        assert!(skip(6), "out of order still answers");
        assert!(!skip(7));
    }

    #[test]
    fn fingerprints_keep_part_boundaries() {
        let a = Fingerprint::new().text("ab").text("c").finish();
        let b = Fingerprint::new().text("a").text("bc").finish();
        assert_ne!(a, b);
        assert_eq!(a.len(), 32);
        let d1 = Fingerprint::new().debug(&vec![1, 2]).finish();
        let d2 = Fingerprint::new().debug(&vec![1, 2]).finish();
        assert_eq!(d1, d2);
    }

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(
            redact_location("postgres://scan:s3cret@db.example:5432/seawall?sslmode=disable"),
            "postgres://scan:***@db.example:5432/seawall?sslmode=disable"
        );
        assert_eq!(redact_location("postgres://scan@db/seawall"), "postgres://scan@db/seawall");
        assert_eq!(redact_location("results.db"), "results.db");
    }
}
