//! Command-line flags. The contract other tools rely on is in shared DESIGN.md.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "seawall",
    version,
    about = "Find the mail servers an attacker would hit first, and tell whether they were already hit."
)]
pub(crate) struct Cli {
    /// Use the knowledge base in DIR (products.toml, builds.csv, cves.toml) instead of the embedded one.
    #[arg(long, global = true, value_name = "DIR")]
    pub(crate) kb: Option<PathBuf>,

    /// Columns of `--format csv`: a profile of data/report/csv-profiles.toml (default, notification, timeline).
    #[arg(long, global = true, value_name = "NAME", default_value = "default")]
    pub(crate) csv_profile: String,

    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Start an emulated fleet on loopback, scan it, hunt a generated evidence tree, write an HTML report.
    Demo(DemoArgs),
    /// Turn JSONL results of scans and hunts into one self-contained HTML report.
    Report(ReportArgs),
    /// Find Exchange servers, their exact build and open CVEs (read-only probes).
    Scan(Box<ScanArgs>),
    /// Find exploitation and what followed in logs, event logs and web roots (read-only).
    Hunt(Box<HuntArgs>),
    /// Query the knowledge base: Exchange builds, CVEs, product lines.
    #[command(subcommand)]
    Kb(KbCommand),
    /// What changed between two runs: newly exposed, newly vulnerable, newly compromised, fixed, gone.
    Diff(DiffArgs),
    /// List the runs in a results store.
    Runs(RunsArgs),
    /// Every detection seawall runs, and a check of rule files before a hunt meets them.
    #[command(subcommand)]
    Rules(RulesCommand),
}

#[derive(Debug, Subcommand)]
pub(crate) enum RulesCommand {
    /// The built-in log rules (and those of --rules), the code detectors of the scan, the hunt and the webshell
    /// scanner, with the counts of YARA, IOC and Sigma rules.
    List(RulesListArgs),
    /// Check log rules (*.toml), Sigma rules (*.yml) and YARA rules (*.yar) under DIR; exit 1 on any problem.
    Lint(RulesLintArgs),
}

#[derive(Debug, Args)]
pub(crate) struct RulesListArgs {
    /// Also list the log rules in DIR (*.toml).
    #[arg(long, value_name = "DIR")]
    pub(crate) rules: Vec<PathBuf>,
    /// Also load the Sigma rules in DIR and count them.
    #[arg(long, value_name = "DIR")]
    pub(crate) sigma: Vec<PathBuf>,
    /// Also load the YARA rules in DIR and count them.
    #[arg(long, value_name = "DIR")]
    pub(crate) yara: Vec<PathBuf>,
    /// Output format (default: text).
    #[arg(long, value_enum)]
    pub(crate) format: Option<ListFormat>,
}

#[derive(Debug, Args)]
pub(crate) struct RulesLintArgs {
    /// A rule file or a folder of them.
    #[arg(value_name = "DIR")]
    pub(crate) dir: PathBuf,
    /// Output format (default: text, `error[CODE] file: rule: message`).
    #[arg(long, value_enum)]
    pub(crate) format: Option<ListFormat>,
}

#[derive(Debug, Args)]
pub(crate) struct DiffArgs {
    /// The earlier run: its name or id in --store, or a JSONL file written by scan or hunt.
    #[arg(value_name = "RUN_A")]
    pub(crate) a: String,
    /// The later run, named the same ways.
    #[arg(value_name = "RUN_B")]
    pub(crate) b: String,
    /// The results store that holds the runs: a SQLite file or postgres://user@host/db.
    #[arg(long, value_name = "FILE.db|URL")]
    pub(crate) store: Option<String>,
    /// Output format (default: text on a terminal, else jsonl).
    #[arg(long, value_enum)]
    pub(crate) format: Option<ListFormat>,
    /// Write to FILE instead of standard output.
    #[arg(short = 'o', long, value_name = "FILE")]
    pub(crate) output: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub(crate) struct RunsArgs {
    /// The results store: a SQLite file or postgres://user@host/db.
    #[arg(long, value_name = "FILE.db|URL", required = true)]
    pub(crate) store: String,
    /// Output format (default: text on a terminal, else jsonl).
    #[arg(long, value_enum)]
    pub(crate) format: Option<ListFormat>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ListFormat {
    Text,
    Jsonl,
}

#[derive(Debug, Args)]
pub(crate) struct DemoArgs {
    /// Where to write the report.
    #[arg(short = 'o', long, default_value = "seawall-demo.html", value_name = "FILE")]
    pub(crate) output: PathBuf,
    /// Keep the generated evidence tree in DIR instead of a temporary folder.
    #[arg(long, value_name = "DIR")]
    pub(crate) evidence: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub(crate) struct ReportArgs {
    /// JSONL files written by `scan` or `hunt` (`--format jsonl`).
    #[arg(value_name = "RESULTS.jsonl", required_unless_present = "run")]
    pub(crate) inputs: Vec<PathBuf>,
    /// A results store (SQLite file or postgres:// URL) to read `--run` from.
    #[arg(long, value_name = "DB", requires = "run")]
    pub(crate) store: Option<String>,
    /// The stored run (name or id, as `seawall runs` lists them) to report on.
    #[arg(long, value_name = "NAME", requires = "store")]
    pub(crate) run: Option<String>,
    /// The HTML file to write.
    #[arg(short = 'o', long, value_name = "FILE")]
    pub(crate) output: PathBuf,
    /// Title at the top of the report.
    #[arg(long, default_value = "seawall report")]
    pub(crate) title: String,
}

#[derive(Debug, Args)]
pub(crate) struct HuntArgs {
    /// Files or folders: a mounted system drive, an Exchange install, a KAPE or Velociraptor collection, loose logs.
    #[arg(value_name = "PATH", required = true)]
    pub(crate) paths: Vec<PathBuf>,
    /// Only events at or after this time (RFC 3339, or a date YYYY-MM-DD meaning its start in UTC).
    #[arg(long, value_name = "TIME")]
    pub(crate) from: Option<String>,
    /// Only events before this time.
    #[arg(long, value_name = "TIME")]
    pub(crate) to: Option<String>,
    /// Worker threads (default: every core). The output is the same whatever the number.
    #[arg(long, value_name = "N")]
    pub(crate) threads: Option<usize>,
    /// Also load the log rules in DIR (files or folders, *.toml, recursively), next to the built-in ones.
    #[arg(long, value_name = "DIR")]
    pub(crate) rules: Vec<PathBuf>,
    /// Also run the Sigma rules in DIR (files or folders, *.yml/*.yaml, recursively). Repeatable.
    #[arg(long, value_name = "DIR")]
    pub(crate) sigma: Vec<PathBuf>,
    /// Also run the YARA rules in DIR over every file that is not a log (e.g. signature-base). Repeatable.
    #[arg(long, value_name = "DIR")]
    pub(crate) yara: Vec<PathBuf>,
    /// Also match the IOCs in FILE (seawall CSV, other CSV, hash lists, STIX 2.1, MISP JSON). Repeatable.
    #[arg(long, value_name = "FILE")]
    pub(crate) ioc: Vec<PathBuf>,
    /// Do not examine files for webshells with the built-in rules (logs only).
    #[arg(long)]
    pub(crate) no_file_scan: bool,
    /// Measure where the time goes: run_end gets `stage_ms.<stage>` (walk, read, gate, rules,
    /// sigma, auth, ioc, file_scan), milliseconds summed over threads. Reads a clock per record.
    #[arg(long)]
    pub(crate) stage_times: bool,
    /// Files larger than this are not examined for webshells (reported in run_end).
    #[arg(long, default_value_t = 32 << 20, value_name = "BYTES")]
    pub(crate) max_file_size: u64,
    /// Output format (default: text on a terminal, else jsonl).
    #[arg(long, value_enum)]
    pub(crate) format: Option<crate::output::Format>,
    /// Write to FILE instead of standard output.
    #[arg(short = 'o', long, value_name = "FILE")]
    pub(crate) output: Option<PathBuf>,
    /// Exit 1 when a finding at or above this severity is found.
    #[arg(long, value_name = "SEVERITY", default_value = "high")]
    pub(crate) fail_on: String,
    /// Also record the run in a results store: a SQLite file (created when missing) or postgres://user@host/db.
    #[arg(long, value_name = "FILE.db|URL")]
    pub(crate) store: Option<String>,
    /// Name of the run in the store (default: derived from the paths and the time).
    #[arg(long, value_name = "NAME", requires = "store")]
    pub(crate) run_name: Option<String>,
}

#[derive(Debug, Args)]
pub(crate) struct ScanArgs {
    /// Addresses, CIDRs, host names, host:port or URLs.
    #[arg(value_name = "TARGET")]
    pub(crate) targets: Vec<String>,
    /// Read targets from FILE (`-` for stdin): plain lists, ZMap or masscan output. Also `-iL FILE`.
    #[arg(long = "input-list", value_name = "FILE")]
    pub(crate) input_list: Vec<PathBuf>,
    /// Ports for targets without one: `443`, `443,8443`, `8000-8010`.
    #[arg(short = 'p', long, default_value = "443", value_name = "PORTS")]
    pub(crate) ports: String,
    /// Never contact addresses in these CIDRs (one per line, `#` comments).
    #[arg(long, value_name = "FILE")]
    pub(crate) exclude: Vec<PathBuf>,
    /// New connections per second (default: unpaced).
    #[arg(long, value_name = "N")]
    pub(crate) rate: Option<f64>,
    /// Endpoints in flight at once (default: from the open-file limit).
    #[arg(long, value_name = "N")]
    pub(crate) concurrency: Option<usize>,
    /// Endpoints of one address in flight at once.
    #[arg(long, default_value_t = 2, value_name = "N")]
    pub(crate) per_host: usize,
    /// Scan shard I of N (0 <= I < N); all shards must share --seed.
    #[arg(long, value_name = "I/N")]
    pub(crate) shard: Option<String>,
    /// Seed of the target permutation (default: random).
    #[arg(long, value_name = "S")]
    pub(crate) seed: Option<u64>,
    /// Seconds allowed to connect; TLS gets the same.
    #[arg(long, default_value_t = 5.0, value_name = "SECONDS")]
    pub(crate) connect_timeout: f64,
    /// Seconds allowed for a complete response head, and again for its body.
    #[arg(long, default_value_t = 10.0, value_name = "SECONDS")]
    pub(crate) read_timeout: f64,
    /// Seconds allowed for everything on one endpoint.
    #[arg(long, default_value_t = 60.0, value_name = "SECONDS")]
    pub(crate) host_timeout: f64,
    /// User-Agent of every request.
    #[arg(long, value_name = "TEXT")]
    pub(crate) user_agent: Option<String>,
    /// Contact text added to the User-Agent, e.g. a URL or mail address of the scanning team.
    #[arg(long, value_name = "TEXT")]
    pub(crate) contact: Option<String>,
    /// Local address to connect from; give it twice (an IPv4 and an IPv6 address) to scan
    /// both families, each target being reached from the address of its family.
    #[arg(long, value_name = "IP")]
    pub(crate) source: Vec<std::net::IpAddr>,
    /// Output format (default: text on a terminal, else jsonl).
    #[arg(long, value_enum)]
    pub(crate) format: Option<crate::output::Format>,
    /// Write to FILE instead of standard output.
    #[arg(short = 'o', long, value_name = "FILE")]
    pub(crate) output: Option<PathBuf>,
    /// Exit 1 when a finding at or above this severity is found.
    #[arg(long, value_name = "SEVERITY", default_value = "high")]
    pub(crate) fail_on: String,
    /// No progress bar on standard error.
    #[arg(long)]
    pub(crate) no_progress: bool,
    /// Judge end of support as of this date (YYYY-MM-DD) instead of today.
    #[arg(long, value_name = "DATE")]
    pub(crate) as_of: Option<String>,
    /// Also GET the webshell paths of the public ProxyLogon-era IOC lists on Exchange hosts
    /// (about 60 GETs per host, compared with a random path in the same folder).
    #[arg(long)]
    pub(crate) probe_webshells: bool,
    /// Also run the active checks: ProxyLogon SSRF cookie, ProxyShell autodiscover path
    /// confusion, ProxyNotShell mitigation (three GETs, documented in the README; nothing is written).
    #[arg(long)]
    pub(crate) active: bool,
    /// Also record the run in a results store: a SQLite file (created when missing) or postgres://user@host/db.
    /// Each endpoint is committed with its done-mark, so a killed scan can be resumed.
    #[arg(long, value_name = "FILE.db|URL")]
    pub(crate) store: Option<String>,
    /// Name of the run in the store: shards of one scan and resumes of it share it (default: derived
    /// from the targets, options and seed).
    #[arg(long, value_name = "NAME", requires = "store")]
    pub(crate) run_name: Option<String>,
    /// Continue the run in --store: skip the endpoints already done (same targets and options; the seed
    /// is taken from the run).
    #[arg(long, requires = "store")]
    pub(crate) resume: bool,
}

#[derive(Debug, Subcommand)]
pub(crate) enum KbCommand {
    /// What a build is, which CVEs are open, end of support, what to install.
    ///
    /// BUILD is `15.2.858.5`, `15.2.858` (CU only, as in /owa/auth/15.2.858/),
    /// `15.02.0858.005` or `Version 15.2 (Build 858.5)`.
    Build {
        #[arg(value_name = "BUILD")]
        build: String,
        #[command(flatten)]
        output: OutputArgs,
        /// Judge end of support as of this date (YYYY-MM-DD) instead of today.
        #[arg(long, value_name = "DATE")]
        as_of: Option<String>,
    },
    /// Which product lines a CVE affects and the build that fixes it in each CU.
    Cve {
        #[arg(value_name = "CVE-ID")]
        id: String,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// List product lines (default), builds, CVEs or clusters.
    List {
        #[arg(value_enum, default_value_t = ListWhat::Products)]
        what: ListWhat,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Check the knowledge base for inconsistencies (overlapping builds, undefined CVEs, ...).
    Lint,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ListWhat {
    Products,
    Builds,
    Cves,
    Clusters,
}

#[derive(Debug, Clone, Copy, Args)]
pub(crate) struct OutputArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = KbFormat::Text)]
    pub(crate) format: KbFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum KbFormat {
    Text,
    Json,
}
