//! Load Sigma rule folders and print what loads and what does not, per reason:
//! `cargo run -p seawall-sigma --example sigma_load -- ../shared/corpus/rules/sigma-full`.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;

use seawall_sigma::SigmaEngine;

fn main() {
    let paths: Vec<PathBuf> = std::env::args_os().skip(1).map(PathBuf::from).collect();
    let started = std::time::Instant::now();
    let (_engine, report) = match SigmaEngine::load_paths(&paths) {
        Ok(loaded) => loaded,
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "{e}");
            std::process::exit(2);
        }
    };
    let elapsed = started.elapsed();
    let mut out = std::io::stdout().lock();
    let _ = writeln!(
        out,
        "files {}  loaded {} correlations {}  unsupported {}  skipped {}  partial {}  unreadable {}  in {:.2?}",
        report.files,
        report.loaded,
        report.correlations,
        report.unsupported.len(),
        report.skipped.len(),
        report.partial.len(),
        report.errors.len(),
        elapsed
    );
    for (kind, count) in report.counts() {
        let _ = writeln!(out, "  {kind:<12} {count}");
    }
    // The most frequent reasons per kind, with the variable part (rule fields) kept.
    let mut reasons: BTreeMap<(String, String), usize> = BTreeMap::new();
    for u in &report.unsupported {
        *reasons.entry((u.kind.to_string(), u.reason.clone())).or_insert(0) += 1;
    }
    let mut sorted: Vec<_> = reasons.into_iter().collect();
    sorted.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let _ = writeln!(out, "reasons (most frequent first):");
    // Every reason other than a log source seawall does not read, then the 25 commonest of those.
    for ((kind, reason), count) in sorted.iter().filter(|((kind, _), _)| kind != "logsource") {
        let _ = writeln!(out, "  {count:>5}  {kind}: {reason}");
    }
    for ((kind, reason), count) in sorted.iter().filter(|((kind, _), _)| kind == "logsource").take(25) {
        let _ = writeln!(out, "  {count:>5}  {kind}: {reason}");
    }
    for partial in &report.partial {
        let _ = writeln!(out, "  partial: {partial}");
    }
}
