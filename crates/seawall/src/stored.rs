//! `--store`: glue between a command and the results store of crates/report (which holds the
//! logic): open it, start a session, hand batches to its writer thread, end the session.

use std::io::Write;
use std::time::Instant;

use anyhow::{Context, Result, anyhow};
use seawall_model::{Record, RunEnd};
use seawall_store::{
    self as store, Batch, DoneSet, ResultStore, Session, SessionEnd, SessionSpec, SessionStatus, StoreWriter,
};
use tokio::sync::mpsc;

enum State {
    Idle(Box<dyn ResultStore>),
    Writing(StoreWriter),
    Lost,
}

/// A session in a store, from `begin` to `finish`.
pub(crate) struct Stored {
    state: State,
    session: Session,
    started: Instant,
}

impl Stored {
    /// Open `location`, find or create the run and start this process's session. Says on
    /// standard error which run the results go to (the name `seawall diff` takes).
    pub(crate) fn begin(location: &str, spec: SessionSpec) -> Result<Stored> {
        let shown = store::redact_location(location);
        let mut db = store::open(location).with_context(|| format!("opening the store {shown}"))?;
        let session = store::begin(db.as_mut(), &spec).with_context(|| format!("store {shown}"))?;
        let skipped = match session.done.len() {
            0 => String::new(),
            n => format!("; {n} endpoints already done are skipped"),
        };
        let _ = writeln!(
            std::io::stderr(),
            "seawall: recording run {:?} (id {}) in {shown}, shard {}{skipped}",
            session.run.name,
            session.run.id,
            session.shard
        );
        Ok(Stored { state: State::Idle(db), session, started: Instant::now() })
    }

    pub(crate) fn seed(&self) -> u64 {
        self.session.run.seed
    }

    /// The ordinals to skip, handed to the scanner once.
    pub(crate) fn take_done(&mut self) -> DoneSet {
        std::mem::take(&mut self.session.done)
    }

    /// Write records that belong to no endpoint (unreadable target lines, a hunt's results).
    pub(crate) fn write_records(&mut self, records: Vec<Record>) -> Result<()> {
        let State::Idle(db) = &mut self.state else { return Err(anyhow!("the store is busy writing")) };
        db.write(self.session.key, &[Batch { ordinal: None, records }]).context("writing to the store")?;
        Ok(())
    }

    /// Move the store to its writer thread; endpoints' batches go to the sender.
    pub(crate) fn start_writer(&mut self) -> Result<mpsc::Sender<Batch>> {
        let State::Idle(db) = std::mem::replace(&mut self.state, State::Lost) else {
            return Err(anyhow!("the store writer is already running"));
        };
        let writer = StoreWriter::spawn(db, self.session.key).context("starting the store writer")?;
        let sender = writer.sender();
        self.state = State::Writing(writer);
        Ok(sender)
    }

    /// Wait for the writer (every sender must be dropped), then end the session with its
    /// status and counts. A write error marks the session failed and is returned.
    pub(crate) fn finish(self, status: SessionStatus, mut stats: RunEnd) -> Result<()> {
        let (db, written) = match self.state {
            State::Idle(db) => (Some(db), Ok(())),
            State::Writing(writer) => {
                let outcome = writer.finish();
                (outcome.store, outcome.result.map(|_| ()))
            }
            State::Lost => (None, Ok(())),
        };
        let status = if written.is_err() { SessionStatus::Failed } else { status };
        stats.duration_ms = self.started.elapsed().as_millis() as u64;
        let end = SessionEnd { status, ended: jiff::Timestamp::now(), stats };
        let ended = match db {
            Some(mut db) => db.end_session(self.session.key, &end).context("ending the session in the store"),
            None => Ok(()),
        };
        written.context("writing to the store")?;
        ended
    }
}

/// The command line for the session row, with PostgreSQL passwords hidden.
pub(crate) fn command_line() -> String {
    let args: Vec<String> = std::env::args().skip(1).map(|arg| store::redact_location(&arg)).collect();
    let mut line = args.join(" ");
    if line.len() > 2000 {
        let mut cut = 2000;
        while !line.is_char_boundary(cut) {
            cut -= 1;
        }
        line.truncate(cut);
        line.push_str(" ...");
    }
    line
}

/// A seed nobody chose: the clock and the process id.
pub(crate) fn random_seed() -> u64 {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    (nanos as u64) ^ u64::from(std::process::id()).rotate_left(32)
}

/// Build the session spec from what every command knows.
pub(crate) struct SpecParts<'a> {
    pub(crate) command: &'a str,
    pub(crate) run_name: Option<String>,
    pub(crate) resume: bool,
    pub(crate) seed: Option<u64>,
    pub(crate) shard: store::ShardSpec,
    pub(crate) targets_digest: String,
    pub(crate) config_digest: String,
}

impl SpecParts<'_> {
    pub(crate) fn into_spec(self) -> SessionSpec {
        SessionSpec {
            command: self.command.to_owned(),
            run_name: self.run_name,
            resume: self.resume,
            seed: self.seed.unwrap_or_else(random_seed),
            seed_given: self.seed.is_some(),
            shard: self.shard,
            targets_digest: self.targets_digest,
            config_digest: self.config_digest,
            args: command_line(),
            tool_version: env!("CARGO_PKG_VERSION").to_owned(),
            started: jiff::Timestamp::now(),
        }
    }
}
