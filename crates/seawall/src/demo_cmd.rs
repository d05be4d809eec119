//! `seawall demo`: the whole tool on a built-in default. An emulated fleet on
//! loopback is scanned (opt-in checks included: everything is local), a
//! generated evidence tree is hunted, and both land in one HTML report.

use std::io::Write;
use std::net::Ipv4Addr;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use seawall_hunt::{Extras, HuntOptions, LogIocs, hunt_with, spray::SprayConfig};
use seawall_model::{Record, RunEnd, RunStart, Severity};
use seawall_report::{FindingSink, HtmlSink};
use seawall_rules::RuleSet;
use seawall_scan::engine::{ScanOptions, Scanner};
use seawall_scan::exchange::plan::ProbePlan;
use seawall_scan::exchange::webshells::WebshellPaths;
use seawall_scan::protocols::http::{HttpSettings, Timeouts};
use seawall_scan::space::TargetSpace;
use seawall_scan::targets::TargetSpec;
use seawall_testbed::{Fleet, HostKind, Hostile, standard_fleet};
use tokio::sync::mpsc;

use crate::cli::{Cli, DemoArgs};

fn start(command: &str) -> Record {
    Record::RunStart(RunStart {
        tool: "seawall".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        command: command.into(),
        started: jiff::Timestamp::now().to_string(),
        kb: Some("embedded".into()),
    })
}

fn end(records: &[Record], started: std::time::Instant) -> RunEnd {
    let mut end = RunEnd { duration_ms: started.elapsed().as_millis() as u64, ..RunEnd::default() };
    for record in records {
        match record {
            Record::Finding(f) => end.count_finding(f.severity),
            Record::Error(_) => end.errors += 1,
            Record::Service(_) => *end.services.get_or_insert(0) += 1,
            _ => {}
        }
    }
    end
}

pub(crate) fn run(cli: &Cli, args: &DemoArgs, out: &mut dyn Write) -> Result<ExitCode> {
    let kb = Arc::new(crate::kb_cmd::load_kb(cli)?);
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().context("starting the runtime")?;
    let mut records = Vec::new();

    // Scan: the standard fleet minus the two hosts that only waste the demo's time.
    let specs: Vec<_> = standard_fleet(Ipv4Addr::new(127, 77, 200, 10), 0)
        .into_iter()
        .filter(|h| !matches!(h.kind, HostKind::Hostile(Hostile::Trickle | Hostile::EndlessBody)))
        .collect();
    let scan_started = std::time::Instant::now();
    let (scan_records, hosts) = runtime.block_on(async {
        let fleet = Fleet::start(specs).await.context("starting the emulated fleet on 127.77.200.x")?;
        let hosts = fleet.hosts().len();
        let targets = fleet
            .hosts()
            .iter()
            .map(|h| TargetSpec::Endpoint { ip: h.addr.ip(), port: h.addr.port(), tls: Some(h.spec.tls) })
            .collect();
        let space = Arc::new(TargetSpace::new(targets, &[443], vec![]).map_err(anyhow::Error::msg)?);
        let timeouts = Timeouts {
            connect: Duration::from_secs(2),
            tls: Duration::from_secs(2),
            response_head: Duration::from_secs(3),
            body: Duration::from_secs(3),
        };
        let user_agent = concat!("seawall/", env!("CARGO_PKG_VERSION"), " (demo)");
        let options = ScanOptions {
            per_host: 2,
            host_timeout: Duration::from_secs(15),
            seed: 1,
            probe_webshells: true,
            active: true,
            ..ScanOptions::new(HttpSettings { timeouts, ..HttpSettings::new(user_agent) })
        };
        let plan = ProbePlan::embedded().map_err(anyhow::Error::msg)?;
        let paths = WebshellPaths::embedded().map_err(anyhow::Error::msg)?;
        let scanner = Scanner::new(Arc::clone(&kb), plan, paths, options);
        let (tx, mut rx) = mpsc::channel(1024);
        let task = tokio::spawn(scanner.run(space, tx));
        let mut found = Vec::new();
        while let Some(record) = rx.recv().await {
            found.push(record);
        }
        let _ = task.await;
        fleet.shutdown().await;
        anyhow::Ok((found, hosts))
    })?;
    records.push(start("scan"));
    let mut scan_end = end(&scan_records, scan_started);
    scan_end.targets = Some(hosts as u64);
    scan_end.stats.insert("endpoints_done".into(), hosts as u64);
    records.extend(scan_records);
    records.push(Record::RunEnd(scan_end));

    // Hunt: a generated evidence tree of a server hit in 2021.
    let temp = tempfile::tempdir().context("creating a temporary folder")?;
    let evidence = args.evidence.clone().unwrap_or_else(|| temp.path().join("evidence"));
    seawall_testbed::evidence::write_demo_tree(&evidence).with_context(|| format!("writing {}", evidence.display()))?;
    let rules = RuleSet::embedded().map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let hunt_started = std::time::Instant::now();
    let options = HuntOptions {
        paths: vec![evidence.clone()],
        from: None,
        to: None,
        threads: None,
        max_evtx_bytes: 1 << 30,
        spray: SprayConfig::embedded().map_err(anyhow::Error::msg)?,
        stage_times: false,
    };
    let (files, _) = seawall_webshell::WebshellScanner::new(&seawall_webshell::ScannerConfig::default(), &kb)
        .context("loading the webshell rules")?;
    let log_iocs = LogIocs::new(files.iocs());
    let result = hunt_with(&options, &rules, &Extras { sigma: None, files: Some(&files), log_iocs: Some(&log_iocs) });
    records.push(start("hunt"));
    let hunt_records: Vec<Record> =
        result.findings.into_iter().map(Record::Finding).chain(result.errors.into_iter().map(Record::Error)).collect();
    let mut hunt_end = end(&hunt_records, hunt_started);
    hunt_end.files = Some(result.stats.files);
    hunt_end.bytes = Some(result.stats.bytes);
    records.extend(hunt_records);
    records.push(Record::RunEnd(hunt_end));

    let file = std::fs::File::create(&args.output).with_context(|| format!("creating {}", args.output.display()))?;
    let mut sink =
        HtmlSink::new(std::io::BufWriter::new(file), "seawall demo: an emulated fleet and a compromised server");
    for record in &records {
        sink.record(record)?;
    }
    sink.finish()?;
    print_summary(out, &records, hosts, &result.stats, &args.output)?;
    Ok(ExitCode::SUCCESS)
}

fn print_summary(
    out: &mut dyn Write,
    records: &[Record],
    hosts: usize,
    stats: &seawall_hunt::HuntStats,
    report: &std::path::Path,
) -> Result<()> {
    let summary = seawall_report::html::Summary::from_records(records);
    let vulnerable = summary.exchange.iter().filter(|e| e.status == "vulnerable").count();
    let decoys = records
        .iter()
        .filter(|r| matches!(r, Record::Service(s) if s.facts.get("exchange").and_then(|v| v.as_bool()) == Some(false)))
        .count();
    writeln!(out, "seawall demo")?;
    writeln!(
        out,
        "  scan   {hosts} emulated hosts on 127.77.200.x: {} Exchange servers ({vulnerable} with a known-exploited CVE open), {decoys} answered but are not Exchange",
        summary.exchange.len()
    )?;
    for row in summary.exchange.iter().take(6) {
        writeln!(out, "         {:<24} {:<44} {}", row.endpoint, row.version_name, row.status)?;
    }
    if summary.exchange.len() > 6 {
        writeln!(out, "         ... and {} more in the report", summary.exchange.len() - 6)?;
    }
    writeln!(out, "  hunt   {} evidence files, {} events", stats.files, stats.events)?;
    for (place, what) in summary.compromised.iter().take(8) {
        writeln!(out, "         {place}: {what}")?;
    }
    let by: Vec<String> =
        Severity::ALL.iter().rev().filter_map(|s| summary.by_severity.get(s).map(|n| format!("{n} {s}"))).collect();
    writeln!(out, "  total  {} ({} errors)", by.join(", "), summary.errors)?;
    writeln!(out, "  report {}", report.display())?;
    Ok(())
}
