//! Probe mail and rsync ports with `seawall_scan::protocols::mail::probe_mail` and print
//! what was found, for scripts/compare-mail and for trying the speakers by hand.
//!
//! ```sh
//! cargo run -q -p seawall-scan --example mail_probe -- --source 127.0.0.2 \
//!     smtp:127.0.0.1:20025 imaps:127.0.0.1:20993 rsync:127.0.0.1:20873
//! ```
//! Targets are `PROTOCOL:ADDRESS:PORT` (protocol: smtp submission smtps imap imaps pop3 pop3s rsync).
//! Default output is seawall's JSONL envelope (`service`, `finding`, `error` records);
//! `--verdicts` prints one tab-separated summary line per target instead.
//! Options: `--source IP`, `--host NAME` (SNI and certificate name), `--total SECS`, `--read SECS`,
//! `--parallel N` (targets probed at once; default 1, so each time is the probe's own).
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use seawall_model::{ErrorRecord, Record};
use seawall_scan::protocols::mail::{MailOutcome, MailProtocol, MailSettings, probe_mail};
use seawall_scan::tls::probe_client_config;
use tokio::sync::Semaphore;

fn protocol(name: &str) -> Option<MailProtocol> {
    [
        MailProtocol::Smtp,
        MailProtocol::Submission,
        MailProtocol::Smtps,
        MailProtocol::Imap,
        MailProtocol::Imaps,
        MailProtocol::Pop3,
        MailProtocol::Pop3s,
        MailProtocol::Rsync,
    ]
    .into_iter()
    .find(|p| p.name() == name)
}

fn parse_target(text: &str) -> Result<(MailProtocol, SocketAddr), String> {
    let (name, addr) = text.split_once(':').ok_or_else(|| format!("{text}: expected PROTOCOL:ADDRESS:PORT"))?;
    let protocol = protocol(name).ok_or_else(|| format!("{text}: unknown protocol {name}"))?;
    let addr = addr.parse().map_err(|e| format!("{text}: {e}"))?;
    Ok((protocol, addr))
}

struct Args {
    targets: Vec<(MailProtocol, SocketAddr)>,
    source: Option<IpAddr>,
    host: Option<String>,
    total: Duration,
    read: Duration,
    parallel: usize,
    verdicts: bool,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        targets: Vec::new(),
        source: None,
        host: None,
        total: Duration::from_secs(30),
        read: Duration::from_secs(5),
        parallel: 1,
        verdicts: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = |name: &str| it.next().ok_or_else(|| format!("{name} needs a value"));
        match arg.as_str() {
            "--source" => args.source = Some(value("--source")?.parse().map_err(|e| format!("--source: {e}"))?),
            "--host" => args.host = Some(value("--host")?),
            "--total" => args.total = Duration::from_secs_f64(value("--total")?.parse().map_err(|e| format!("{e}"))?),
            "--read" => args.read = Duration::from_secs_f64(value("--read")?.parse().map_err(|e| format!("{e}"))?),
            "--parallel" => args.parallel = value("--parallel")?.parse().map_err(|e| format!("{e}"))?,
            "--verdicts" => args.verdicts = true,
            other => args.targets.push(parse_target(other)?),
        }
    }
    if args.targets.is_empty() {
        return Err("usage: mail_probe [--source IP] [--host NAME] [--verdicts] PROTOCOL:ADDRESS:PORT...".into());
    }
    Ok(args)
}

fn verdict_line(protocol: MailProtocol, addr: SocketAddr, outcome: &MailOutcome, elapsed: Duration) -> String {
    let flag = |b: Option<bool>| b.map_or("-", |b| if b { "yes" } else { "no" }).to_owned();
    let (product, starttls, cleartext, versions, extra) = match &outcome.service {
        Some(s) => {
            let product = match (&s.product, &s.version) {
                (Some(p), Some(v)) => format!("{p} {v}"),
                (Some(p), None) => p.clone(),
                _ => "-".into(),
            };
            let versions = s.tls.as_ref().map(|t| t.versions.join(",")).filter(|v| !v.is_empty()).unwrap_or("-".into());
            let extra = if protocol == MailProtocol::Rsync {
                let range = s.facts.get("version_range").and_then(|r| r.get("label")).and_then(|l| l.as_str());
                let modules = s
                    .facts
                    .get("modules")
                    .and_then(|m| m.as_array())
                    .map(|list| {
                        list.iter()
                            .filter_map(|m| {
                                Some(format!("{}={}", m.get("name")?.as_str()?, m.get("access")?.as_str()?))
                            })
                            .collect::<Vec<_>>()
                            .join(",")
                    })
                    .unwrap_or_default();
                format!("range={} modules={modules}", range.unwrap_or("?"))
            } else {
                let caps = s
                    .facts
                    .get("capabilities_before_tls")
                    .or_else(|| s.facts.get("capabilities_after_tls"))
                    .and_then(|c| c.as_array())
                    .map(|c| c.iter().filter_map(|v| v.as_str()).collect::<Vec<_>>().join(" "))
                    .unwrap_or_default();
                format!("caps={caps}")
            };
            (product, flag(s.starttls), flag(s.cleartext_auth), versions, extra)
        }
        None => ("-".into(), "-".into(), "-".into(), "-".into(), String::new()),
    };
    let mut rules: Vec<&str> = outcome.findings.iter().map(|f| f.rule.id.as_str()).collect();
    rules.sort();
    format!(
        "{}\t{}\t{}\tstarttls={}\tcleartext_auth={}\ttls={}\tfindings={}\t{}\t{:.0}ms{}",
        protocol.name(),
        addr,
        product,
        starttls,
        cleartext,
        versions,
        if rules.is_empty() { "-".to_owned() } else { rules.join(",") },
        extra,
        elapsed.as_secs_f64() * 1000.0,
        outcome.error.as_ref().map(|e| format!("\terror={e}")).unwrap_or_default()
    )
}

#[tokio::main]
async fn main() {
    let args = match parse_args() {
        Ok(args) => args,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    let settings = Arc::new(MailSettings {
        connect: Duration::from_secs(5),
        read: args.read,
        total: args.total,
        max_line: 4096,
        max_lines: 1000,
        tls: probe_client_config(&[]),
        source: args.source.into(),
        ehlo_name: "seawall.invalid".into(),
    });
    let started = Instant::now();
    let window = Arc::new(Semaphore::new(args.parallel.max(1)));
    let mut tasks = Vec::new();
    for (protocol, addr) in args.targets {
        let settings = Arc::clone(&settings);
        let window = Arc::clone(&window);
        let host = args.host.clone();
        tasks.push(tokio::spawn(async move {
            let _permit = window.acquire_owned().await;
            let began = Instant::now();
            let label = addr.ip().to_string();
            let outcome = probe_mail(protocol, addr, host.as_deref(), &label, &settings, jiff::Timestamp::now()).await;
            (protocol, addr, outcome, began.elapsed())
        }));
    }
    for task in tasks {
        let Ok((protocol, addr, outcome, elapsed)) = task.await else { continue };
        if args.verdicts {
            println!("{}", verdict_line(protocol, addr, &outcome, elapsed));
            continue;
        }
        let mut records: Vec<Record> = Vec::new();
        records.extend(outcome.service.map(Record::Service));
        records.extend(outcome.findings.into_iter().map(Record::Finding));
        if let Some(message) = outcome.error {
            records.push(Record::Error(ErrorRecord {
                source: addr.to_string(),
                message: message.to_string(),
                position: None,
            }));
        }
        for record in records {
            match serde_json::to_string(&record) {
                Ok(line) => println!("{line}"),
                Err(e) => eprintln!("{addr}: {e}"),
            }
        }
    }
    eprintln!("mail_probe: total {:.3} s", started.elapsed().as_secs_f64());
}
