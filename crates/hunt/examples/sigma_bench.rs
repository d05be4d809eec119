//! Throughput of Sigma rules in a hunt, for scripts/bench-sigma (a benchmark, not a test).
//!
//! sigma_bench [--only MODE] SIGMA_DIR THREADS PATH...
//!
//! Prints a tab-separated line `load rules_loaded seconds rules_unsupported files_read` for
//! reading and compiling the rules, then lines `mode events seconds findings hits` (hits:
//! before repeated hits fold into one finding) for: reading
//! only (no rule at all), the shared Sigma rules with the prefilter, the same without it, and
//! seawall's own rules plus the Sigma rules (what `seawall hunt --sigma DIR` does).
//! `--only MODE` runs that mode alone (for profiling one path).
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::path::PathBuf;
use std::time::Instant;

use seawall_hunt::{Extras, HuntOptions, hunt_with, spray::SprayConfig};
use seawall_rules::RuleSet;
use seawall_sigma::SigmaEngine;

fn main() -> std::process::ExitCode {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let only = match args.first().map(String::as_str) {
        Some("--only") if args.len() > 1 => {
            let mode = args[1].clone();
            args.drain(..2);
            Some(mode)
        }
        _ => None,
    };
    if args.len() < 3 {
        eprintln!("usage: sigma_bench [--only MODE] SIGMA_DIR THREADS PATH...");
        return std::process::ExitCode::from(2);
    }
    let threads: usize = args[1].parse().unwrap_or(1);
    let paths: Vec<PathBuf> = args[2..].iter().map(PathBuf::from).collect();
    // Rules load on the same thread count as the hunt (as `seawall hunt --threads N` does).
    let load = || SigmaEngine::load_paths(&[PathBuf::from(&args[0])]);
    let start = Instant::now();
    let loaded = match rayon::ThreadPoolBuilder::new().num_threads(threads).build() {
        Ok(pool) => pool.install(load),
        Err(_) => load(),
    };
    let (mut engine, report) = match loaded {
        Ok(loaded) => loaded,
        Err(e) => {
            eprintln!("{e}");
            return std::process::ExitCode::from(2);
        }
    };
    let load_seconds = start.elapsed().as_secs_f64();
    println!("load\t{}\t{load_seconds:.4}\t{}\t{}", report.loaded, report.unsupported.len(), report.files);
    let mut refused: Vec<String> = report.counts().iter().map(|(kind, n)| format!("{kind} {n}")).collect();
    refused.push(format!("not Sigma {}", report.skipped.len()));
    eprintln!(
        "sigma rules: {} loaded, {} unsupported ({})",
        report.loaded,
        report.unsupported.len(),
        refused.join(", ")
    );
    let spray = match SprayConfig::embedded() {
        Ok(spray) => spray,
        Err(e) => {
            eprintln!("{e}");
            return std::process::ExitCode::from(2);
        }
    };
    let options = HuntOptions {
        paths,
        from: None,
        to: None,
        threads: Some(threads),
        max_evtx_bytes: 1 << 30,
        spray,
        stage_times: false,
    };
    let (Ok(none), Ok(native)) = (RuleSet::load(&[]), RuleSet::embedded()) else {
        eprintln!("rules do not load");
        return std::process::ExitCode::from(2);
    };
    let run = |mode: &str, rules: &RuleSet, sigma: Option<&SigmaEngine>| {
        if only.as_deref().is_some_and(|only| only != mode) {
            return;
        }
        let start = Instant::now();
        let result = hunt_with(&options, rules, &Extras { sigma, ..Extras::default() });
        let seconds = start.elapsed().as_secs_f64();
        println!(
            "{mode}\t{}\t{seconds:.4}\t{}\t{}",
            result.stats.events,
            result.findings.len(),
            result.stats.finding_hits
        );
    };
    run("read-only", &none, None);
    run("sigma", &none, Some(&engine));
    engine.set_prefilter(false);
    run("sigma-no-prefilter", &none, Some(&engine));
    engine.set_prefilter(true);
    run("seawall+sigma", &native, Some(&engine));
    std::process::ExitCode::SUCCESS
}
