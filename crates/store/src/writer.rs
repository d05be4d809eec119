//! A thread that owns the store while a scan runs: the scan sends each endpoint's batch over a
//! bounded channel, the thread commits what has queued up in one transaction (group commit:
//! one batch when the scan is slow, hundreds when it is fast), so the scan never waits on a
//! disk or a database round trip unless the store falls behind.

use std::thread::JoinHandle;

use tokio::sync::mpsc;

use super::{Batch, ResultStore, SessionKey, StoreError};

/// Batches waiting for the writer; a full queue slows the scan down (backpressure).
const QUEUE: usize = 1024;

/// Most batches committed in one transaction.
const MAX_BATCHES_PER_TRANSACTION: usize = 512;

/// What the writer did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WriterStats {
    pub transactions: u64,
    pub batches: u64,
    pub records: u64,
}

/// The store back from the writer thread (none if the thread panicked) and how writing went.
#[derive(Debug)]
pub struct WriterOutcome {
    pub store: Option<Box<dyn ResultStore>>,
    pub result: Result<WriterStats, StoreError>,
}

/// The store's writer thread for one session.
#[derive(Debug)]
pub struct StoreWriter {
    sender: mpsc::Sender<Batch>,
    thread: JoinHandle<WriterOutcome>,
}

impl StoreWriter {
    /// Move the store to a new thread that writes `session`'s batches.
    pub fn spawn(store: Box<dyn ResultStore>, session: SessionKey) -> Result<StoreWriter, StoreError> {
        let (sender, receiver) = mpsc::channel(QUEUE);
        let thread = std::thread::Builder::new()
            .name("seawall-store".into())
            .spawn(move || write_all(store, session, receiver))?;
        Ok(StoreWriter { sender, thread })
    }

    /// A sender for the scan (async `send`; `blocking_send` outside a runtime). When the
    /// writer has failed, sends fail: stop the scan and call [`StoreWriter::finish`] for the error.
    pub fn sender(&self) -> mpsc::Sender<Batch> {
        self.sender.clone()
    }

    /// Wait until every batch sent is committed and give the store back. Every sender cloned
    /// from this writer must be dropped first, or this waits for them.
    pub fn finish(self) -> WriterOutcome {
        drop(self.sender);
        self.thread.join().unwrap_or_else(|_| WriterOutcome {
            store: None,
            result: Err(StoreError::Writer("the writer thread panicked".into())),
        })
    }
}

fn write_all(
    mut store: Box<dyn ResultStore>,
    session: SessionKey,
    mut receiver: mpsc::Receiver<Batch>,
) -> WriterOutcome {
    let mut stats = WriterStats::default();
    let mut pending = Vec::new();
    while let Some(first) = receiver.blocking_recv() {
        pending.push(first);
        while pending.len() < MAX_BATCHES_PER_TRANSACTION {
            match receiver.try_recv() {
                Ok(batch) => pending.push(batch),
                Err(_) => break,
            }
        }
        if let Err(e) = store.write(session, &pending) {
            // Dropping the receiver makes every later send fail, which stops the scan.
            drop(receiver);
            return WriterOutcome { store: Some(store), result: Err(e) };
        }
        stats.transactions += 1;
        stats.batches += pending.len() as u64;
        stats.records += pending.iter().map(|b| b.records.len() as u64).sum::<u64>();
        pending.clear();
    }
    WriterOutcome { store: Some(store), result: Ok(stats) }
}
