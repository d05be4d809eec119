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

    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Query the knowledge base: Exchange builds, CVEs, product lines.
    #[command(subcommand)]
    Kb(KbCommand),
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
