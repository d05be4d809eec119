//! Integration tests of seawall-webshell: one test binary (yara-x links once).
//!
//! Webshell test cases are stored encoded (`data/rule-cases.json.gz.b64`:
//! base64 of gzip of JSON) so that antivirus does not quarantine the
//! repository; they are decoded in memory. The signature-base test reads
//! `../shared/corpus/rules/yara` beside the clone, as CI lays it out.

mod companions;
mod external;
mod iocs;
mod normalized;
mod rules;
mod scanner;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use seawall_kb::KnowledgeBase;
use seawall_webshell::{Diagnostic, ScannerConfig, WebshellScanner};

/// A fresh folder under the system temp dir, removed on drop.
pub(crate) struct TempDir(PathBuf);

impl TempDir {
    pub(crate) fn new(tag: &str) -> TempDir {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let dir = std::env::temp_dir().join(format!("seawall-webshell-{tag}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create temp dir");
        TempDir(dir)
    }

    pub(crate) fn path(&self) -> &Path {
        &self.0
    }

    /// Write `bytes` at `relative` (parents created) and return the full path.
    pub(crate) fn write(&self, relative: &str, bytes: &[u8]) -> PathBuf {
        let path = self.0.join(relative);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("create parents");
        std::fs::write(&path, bytes).expect("write fixture");
        path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub(crate) fn kb() -> KnowledgeBase {
    KnowledgeBase::embedded().expect("embedded knowledge base")
}

pub(crate) fn scanner(config: &ScannerConfig) -> (WebshellScanner, Vec<Diagnostic>) {
    WebshellScanner::new(config, &kb()).expect("scanner builds")
}

pub(crate) fn builtin_scanner() -> WebshellScanner {
    let (scanner, diagnostics) = scanner(&ScannerConfig::default());
    assert!(diagnostics.is_empty(), "built-in rules must compile cleanly: {diagnostics:?}");
    scanner
}

/// `../shared/corpus` beside the clone.
pub(crate) fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus")
}
