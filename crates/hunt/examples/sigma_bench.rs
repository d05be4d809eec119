//! Throughput of Sigma rules in a hunt, for scripts/bench-sigma (a benchmark, not a test).
//!
//! sigma_bench SIGMA_DIR THREADS PATH...
//!
//! Prints tab-separated lines `mode events seconds findings` for: reading only (no rule at all),
//! the shared Sigma rules with the prefilter, the same without it, and seawall's own rules
//! plus the Sigma rules (what `seawall hunt --sigma DIR` does).
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::path::PathBuf;
use std::time::Instant;

use seawall_hunt::{Extras, HuntOptions, hunt_with, spray::SprayConfig};
use seawall_rules::RuleSet;
use seawall_sigma::SigmaEngine;

fn main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 3 {
        eprintln!("usage: sigma_bench SIGMA_DIR THREADS PATH...");
        return std::process::ExitCode::from(2);
    }
    let threads: usize = args[1].parse().unwrap_or(1);
    let paths: Vec<PathBuf> = args[2..].iter().map(PathBuf::from).collect();
    let (mut engine, report) = match SigmaEngine::load_paths(&[PathBuf::from(&args[0])]) {
        Ok(loaded) => loaded,
        Err(e) => {
            eprintln!("{e}");
            return std::process::ExitCode::from(2);
        }
    };
    eprintln!("sigma rules: {} loaded, {} unsupported", report.loaded, report.unsupported.len());
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
        let start = Instant::now();
        let result = hunt_with(&options, rules, &Extras { sigma, ..Extras::default() });
        let seconds = start.elapsed().as_secs_f64();
        println!("{mode}\t{}\t{seconds:.4}\t{}", result.stats.events, result.findings.len());
    };
    run("read-only", &none, None);
    run("sigma", &none, Some(&engine));
    engine.set_prefilter(false);
    run("sigma-no-prefilter", &none, Some(&engine));
    engine.set_prefilter(true);
    run("seawall+sigma", &native, Some(&engine));
    std::process::ExitCode::SUCCESS
}
