//! A throwaway PostgreSQL server for one test, started and stopped through
//! `scripts/pg-test-server` (Debian's `postgresql` package). Shared by the store tests of
//! crates/report and crates/seawall (`#[path]`-included).

use std::io::Write;
use std::path::PathBuf;
use std::process::Command;

/// A running server; stopped (by `pg-test-server down`, which signals its PID) when dropped.
pub(crate) struct PgServer {
    dir: tempfile::TempDir,
    pub(crate) url: String,
}

fn script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../scripts/pg-test-server")
}

impl PgServer {
    /// Start a server on 127.0.0.1:`port` (below 32768: ports from 32768 up are handed out
    /// as the local ends of outgoing connections, which a busy test run makes many of). `None`
    /// when PostgreSQL is not installed and the
    /// environment has no `CI`: the test says it was skipped and returns. Under CI a missing
    /// PostgreSQL fails the test.
    pub(crate) fn start(test: &str, port: u16) -> Option<PgServer> {
        let dir = tempfile::tempdir().expect("temp dir");
        let out = Command::new(script())
            .arg("up")
            .arg(dir.path())
            .arg(port.to_string())
            .output()
            .expect("scripts/pg-test-server runs");
        if out.status.code() == Some(3) {
            assert!(
                std::env::var_os("CI").is_none(),
                "{test}: PostgreSQL is not installed and CI is set: install it (apt-get install -y postgresql)"
            );
            let _ = writeln!(
                std::io::stderr(),
                "{test}: SKIPPED: PostgreSQL is not installed (apt-get install -y postgresql)"
            );
            return None;
        }
        assert!(
            out.status.success(),
            "{test}: pg-test-server up failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let url = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        Some(PgServer { dir, url })
    }
}

impl Drop for PgServer {
    fn drop(&mut self) {
        let _ = Command::new(script()).arg("down").arg(self.dir.path()).status();
    }
}
