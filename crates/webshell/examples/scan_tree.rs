//! Walk a tree and run the webshell scanner over every file: the harness of
//! `scripts/quality-webshells` and `scripts/bench-yara`.
//!
//! ```text
//! scan_tree [--no-builtin] [--yara DIR]... [--ioc FILE]... [--threads N] [--jsonl] [--quiet] [--times] ROOT
//! ```
//!
//! Prints one line per file, sorted by path: `path<TAB>max severity or -<TAB>rule ids`
//! (or every finding as JSONL with `--jsonl`), then a summary line on stderr:
//! files, bytes, seconds, rules loaded and every rule diagnostic.

use std::io::Write as _;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Instant;

use ignore::WalkBuilder;
use seawall_kb::KnowledgeBase;
use seawall_webshell::{FileOutcome, ScannerConfig, WebshellScanner};

struct Args {
    config: ScannerConfig,
    threads: usize,
    jsonl: bool,
    quiet: bool,
    /// Print each file's scanning time (microseconds) as a last column, to find slow files.
    times: bool,
    root: PathBuf,
}

fn parse_args() -> Result<Args, String> {
    let mut config = ScannerConfig::default();
    let mut threads = std::thread::available_parallelism().map(usize::from).unwrap_or(2);
    let (mut jsonl, mut quiet, mut times, mut root) = (false, false, false, None);
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--no-builtin" => config.builtin_rules = false,
            "--yara" => config.yara_dirs.push(args.next().ok_or("--yara needs a directory")?.into()),
            "--ioc" => config.ioc_files.push(args.next().ok_or("--ioc needs a file")?.into()),
            "--threads" => {
                threads = args.next().and_then(|n| n.parse().ok()).ok_or("--threads needs a number")?;
            }
            "--max-size" => {
                config.max_file_size = args.next().and_then(|n| n.parse().ok()).ok_or("--max-size needs bytes")?;
            }
            "--jsonl" => jsonl = true,
            "--quiet" => quiet = true,
            "--times" => times = true,
            other if !other.starts_with("--") => root = Some(PathBuf::from(other)),
            other => return Err(format!("unknown option {other}")),
        }
    }
    let root = root.ok_or("usage: scan_tree [--no-builtin] [--yara DIR] [--ioc FILE] [--threads N] [--jsonl] ROOT")?;
    Ok(Args { config, threads, jsonl, quiet, times, root })
}

fn main() -> std::process::ExitCode {
    match run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(message) => {
            let _ = writeln!(std::io::stderr(), "scan_tree: {message}");
            std::process::ExitCode::from(2)
        }
    }
}

fn run() -> Result<(), String> {
    let args = parse_args()?;
    let start = Instant::now();
    let kb = KnowledgeBase::embedded().map_err(|e| e.to_string())?;
    let (scanner, diagnostics) = WebshellScanner::new(&args.config, &kb).map_err(|e| e.to_string())?;
    let compiled = start.elapsed();
    let mut stderr = std::io::stderr().lock();
    for diagnostic in &diagnostics {
        let _ = writeln!(stderr, "diagnostic: {diagnostic}");
    }

    let results: Mutex<Vec<(String, FileOutcome, u128)>> = Mutex::new(Vec::new());
    // The walk feeds a bounded queue; each worker owns one scanning context
    // (yara-x's is not Send, so it is made on the worker's own thread).
    let (sender, receiver) = std::sync::mpsc::sync_channel::<PathBuf>(1024);
    let receiver = Mutex::new(receiver);
    std::thread::scope(|scope| {
        for _ in 0..args.threads.max(1) {
            let (scanner, receiver, results) = (&scanner, &receiver, &results);
            scope.spawn(move || {
                let mut files = scanner.file_scanner();
                loop {
                    let next = receiver.lock().ok().and_then(|r| r.recv().ok());
                    let Some(path) = next else { break };
                    let display = path.display().to_string();
                    let started = Instant::now();
                    let outcome = files.examine(&path, &display);
                    let micros = started.elapsed().as_micros();
                    if let Ok(mut held) = results.lock() {
                        held.push((display, outcome, micros));
                    }
                }
            });
        }
        for entry in WalkBuilder::new(&args.root).standard_filters(false).hidden(false).follow_links(false).build() {
            let Ok(entry) = entry else { continue };
            if entry.file_type().is_some_and(|t| t.is_file()) && sender.send(entry.into_path()).is_err() {
                break;
            }
        }
        drop(sender);
    });
    let mut results = results.into_inner().map_err(|_| "a scanning thread panicked".to_owned())?;
    results.sort_by(|a, b| a.0.cmp(&b.0));
    // A page's analysis may show findings about the helpers it runs: listed with them.
    let mut about: std::collections::HashMap<String, Vec<seawall_model::Finding>> = std::collections::HashMap::new();
    for (_, outcome, _) in &mut results {
        for finding in std::mem::take(&mut outcome.companion_findings) {
            let seawall_model::Location::File { path, .. } = &finding.location else { continue };
            about.entry(path.clone()).or_default().push(finding);
        }
    }
    for (path, outcome, _) in &mut results {
        outcome.findings.extend(about.remove(path.as_str()).unwrap_or_default());
    }
    // Helpers outside the tree (a `virtual=` include above it) get lines of their own.
    for (path, findings) in about {
        results.push((path, FileOutcome { findings, ..FileOutcome::default() }, 0));
    }
    results.sort_by(|a, b| a.0.cmp(&b.0));
    let elapsed = start.elapsed();

    let mut stdout = std::io::stdout().lock();
    let (mut bytes, mut errors, mut skipped) = (0u64, 0usize, 0usize);
    for (path, outcome, micros) in &results {
        bytes += outcome.bytes;
        errors += usize::from(outcome.error.is_some());
        skipped += usize::from(outcome.skipped.is_some());
        if args.quiet {
            continue;
        }
        if args.jsonl {
            for finding in &outcome.findings {
                let line = serde_json::to_string(finding).map_err(|e| e.to_string())?;
                writeln!(stdout, "{line}").map_err(|e| e.to_string())?;
            }
            continue;
        }
        let severity = outcome.max_severity().map_or("-".to_owned(), |s| s.to_string());
        let mut rules: Vec<String> = outcome.findings.iter().map(|f| format!("{}:{}", f.rule.id, f.severity)).collect();
        rules.sort();
        rules.dedup();
        let actors: Vec<&str> = outcome.findings.iter().flat_map(|f| f.actors.iter().map(String::as_str)).collect();
        let mut note = String::new();
        if let Some(reason) = outcome.skipped.as_ref().or(outcome.error.as_ref()) {
            note = format!("\t[{reason}]");
        }
        let time = if args.times { format!("\t{micros}") } else { String::new() };
        writeln!(stdout, "{path}\t{severity}\t{}\t{}{note}{time}", rules.join(","), actors.join(","))
            .map_err(|e| e.to_string())?;
    }
    let counts = scanner.counts();
    let _ = writeln!(
        stderr,
        "summary: files={} bytes={bytes} errors={errors} skipped={skipped} seconds={:.3} compile_seconds={:.3} \
         builtin_rules={} external_rules={} rejected_rules={} iocs={}",
        results.len(),
        elapsed.as_secs_f64(),
        compiled.as_secs_f64(),
        counts.builtin_rules,
        counts.external_rules,
        diagnostics.iter().filter(|d| d.code != "ioc").count(),
        counts.iocs,
    );
    Ok(())
}
