//! `seawall kb ...`: glue between flags, the knowledge base and the output.

use std::io::Write;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use jiff::civil::Date;
use seawall_kb::{BuildQuery, KnowledgeBase};
use serde::Serialize;

use crate::cli::{Cli, KbCommand, KbFormat, ListWhat};
use crate::kb_text;

pub(crate) fn load_kb(cli: &Cli) -> Result<KnowledgeBase> {
    match &cli.kb {
        Some(dir) => {
            KnowledgeBase::from_dir(dir).with_context(|| format!("loading the knowledge base from {}", dir.display()))
        }
        None => KnowledgeBase::embedded().context("loading the embedded knowledge base"),
    }
}

pub(crate) fn run(cli: &Cli, command: &KbCommand, out: &mut dyn Write) -> Result<ExitCode> {
    let kb = load_kb(cli)?;
    match command {
        KbCommand::Build { build, output, as_of } => {
            let today = match as_of {
                Some(text) => {
                    text.parse::<Date>().with_context(|| format!("--as-of {text:?} is not a YYYY-MM-DD date"))?
                }
                None => jiff::Timestamp::now().to_zoned(jiff::tz::TimeZone::UTC).date(),
            };
            let query = BuildQuery::parse(build)?;
            let report = kb.assess(query, build, today)?;
            match output.format {
                KbFormat::Json => write_json(out, &report)?,
                KbFormat::Text => kb_text::build_report(out, &report, today)?,
            }
        }
        KbCommand::Cve { id, output } => {
            let Some(report) = kb.cve_report(id.trim()) else {
                bail!("{:?} is not an Exchange CVE in the knowledge base (see `seawall kb list cves`)", id.trim());
            };
            match output.format {
                KbFormat::Json => write_json(out, &report)?,
                KbFormat::Text => kb_text::cve_report(out, &report)?,
            }
        }
        KbCommand::List { what, output } => match (what, output.format) {
            (ListWhat::Products, KbFormat::Text) => kb_text::products(out, &kb)?,
            (ListWhat::Builds, KbFormat::Text) => kb_text::builds(out, &kb)?,
            (ListWhat::Cves, KbFormat::Text) => kb_text::cves(out, &kb)?,
            (ListWhat::Clusters, KbFormat::Text) => kb_text::clusters(out, &kb)?,
            (what, KbFormat::Json) => list_json(out, &kb, *what)?,
        },
        KbCommand::Lint => {
            let problems = kb.lint();
            for problem in &problems {
                writeln!(out, "{problem}")?;
            }
            if !problems.is_empty() {
                bail!("{} problem(s) in the knowledge base at {}", problems.len(), kb.origin());
            }
            writeln!(out, "knowledge base at {} is consistent", kb.origin())?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn write_json(out: &mut dyn Write, value: &impl Serialize) -> Result<()> {
    serde_json::to_writer_pretty(&mut *out, value)?;
    writeln!(out)?;
    Ok(())
}

fn list_json(out: &mut dyn Write, kb: &KnowledgeBase, what: ListWhat) -> Result<()> {
    #[derive(Serialize)]
    struct Row<'a> {
        product: &'a str,
        cu: &'a str,
        update: &'a str,
        build: String,
        name: String,
        released: String,
        kb: &'a str,
        source: &'a str,
    }
    #[derive(Serialize)]
    struct Product<'a> {
        id: &'a str,
        name: &'a str,
        cus: usize,
        builds: usize,
        newest: Option<String>,
        end_of_support: Option<String>,
    }
    match what {
        ListWhat::Builds => {
            let rows: Vec<Row<'_>> = kb
                .rows()
                .iter()
                .map(|row| Row {
                    product: &row.product,
                    cu: &row.cu,
                    update: &row.update,
                    build: row.build.to_string(),
                    name: kb.row_name(row),
                    released: row.released.to_string(),
                    kb: &row.kb,
                    source: &row.source,
                })
                .collect();
            write_json(out, &rows)
        }
        ListWhat::Products => {
            let products: Vec<Product<'_>> = kb
                .product_lines()
                .iter()
                .map(|line| Product {
                    id: &line.id,
                    name: &line.name,
                    cus: kb.groups_of(&line.id).count(),
                    builds: kb.rows_of(&line.id).count(),
                    newest: kb.rows_of(&line.id).last().map(|row| row.build.to_string()),
                    end_of_support: line.end_of_support.map(|d| d.to_string()),
                })
                .collect();
            write_json(out, &products)
        }
        ListWhat::Cves => {
            let reports: Vec<_> = kb.cves().iter().filter_map(|cve| kb.cve_report(&cve.id)).collect();
            write_json(out, &reports)
        }
        ListWhat::Clusters => {
            #[derive(Serialize)]
            struct ClusterOut<'a> {
                name: &'a str,
                cves: &'a [String],
                summary: &'a str,
                sources: &'a [String],
            }
            let clusters: Vec<ClusterOut<'_>> = kb
                .clusters()
                .iter()
                .map(|c| ClusterOut { name: &c.name, cves: &c.cves, summary: &c.summary, sources: &c.sources })
                .collect();
            write_json(out, &clusters)
        }
    }
}
