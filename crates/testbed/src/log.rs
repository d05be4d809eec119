//! The record of every request the fleet received, shared by all hosts.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};

use crate::http::Request;
use crate::spec::LoggedRequest;

/// Beyond this many entries requests are counted but not kept, so a long benchmark cannot grow
/// the testbed without bound (a million entries is a few hundred MB at worst).
const MAX_ENTRIES: usize = 1_000_000;

#[derive(Clone, Debug, Default)]
pub(crate) struct RequestLog {
    inner: Arc<Mutex<Entries>>,
}

#[derive(Debug, Default)]
struct Entries {
    kept: Vec<LoggedRequest>,
    dropped: u64,
}

impl RequestLog {
    pub(crate) fn record(&self, server: SocketAddr, request: &Request) {
        let entry = LoggedRequest {
            server,
            method: request.method.clone(),
            target: request.target.clone(),
            headers: request.headers.clone(),
        };
        // A panic elsewhere while holding the lock leaves the Vec intact, so poisoning is ignored.
        let mut entries = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        if entries.kept.len() < MAX_ENTRIES {
            entries.kept.push(entry);
        } else {
            entries.dropped += 1;
        }
    }

    pub(crate) fn snapshot(&self) -> Vec<LoggedRequest> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner).kept.clone()
    }

    pub(crate) fn dropped(&self) -> u64 {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner).dropped
    }
}
