//! Text views of the knowledge base, for a person reading a terminal.

use std::io::{self, Write};

use jiff::civil::Date;
use seawall_kb::{BuildReport, CveReport, CveStatus, KnowledgeBase, Precision};

const LABEL: usize = 12;

fn field(out: &mut dyn Write, label: &str, text: &str) -> io::Result<()> {
    writeln!(out, "  {label:<LABEL$}  {text}")
}

/// CVE ids, six to a line, under one label.
fn id_list(out: &mut dyn Write, label: &str, ids: &[String]) -> io::Result<()> {
    for (index, chunk) in ids.chunks(6).enumerate() {
        field(out, if index == 0 { label } else { "" }, &chunk.join(" "))?;
    }
    Ok(())
}

pub(crate) fn build_report(out: &mut dyn Write, report: &BuildReport, today: Date) -> io::Result<()> {
    let title = report.name.as_deref().or(report.product.as_deref()).unwrap_or("unknown Exchange version");
    match report.release_date {
        Some(date) => writeln!(out, "{}  {title}, released {date}", report.build)?,
        None => writeln!(out, "{}  {title}", report.build)?,
    }
    let precision = match report.precision {
        Precision::Exact => "exact",
        Precision::Between => "between (a revision not in the table)",
        Precision::Cu => "CU only: the installed update is not known",
        Precision::NewerThanKnown => "newer than every known build",
        Precision::Product => "product line only",
    };
    match &report.placement {
        Some(placement) => field(out, "precision", &format!("{precision}; {placement}"))?,
        None => field(out, "precision", precision)?,
    }
    if !report.on_premises {
        for note in &report.notes {
            field(out, "note", note)?;
        }
        return Ok(());
    }
    if let Some(eos) = &report.end_of_support {
        let text = if eos.passed {
            let days = (today - eos.date.date).get_days();
            format!("ENDED {} ({days} days ago): no more security updates", eos.date)
        } else {
            format!("until {}", eos.date)
        };
        field(out, "support", &text)?;
    } else if report.product.is_some() {
        field(out, "support", "supported (no end date announced)")?;
    }
    if let Some(eems) = &report.eems {
        field(out, "mitigations", &eems.note)?;
    }
    if !report.clusters.is_empty() {
        let clusters: Vec<String> = report
            .clusters
            .iter()
            .map(|c| {
                let state = match c.status {
                    CveStatus::Open => "OPEN",
                    CveStatus::PossiblyOpen => "open unless updated",
                    CveStatus::ConfigDependent => "fixed if configured",
                    CveStatus::Fixed => "fixed",
                };
                format!("{} {state}", c.name)
            })
            .collect();
        field(out, "clusters", &clusters.join(" · "))?;
    }
    if !report.exploited_open_cves.is_empty() {
        id_list(out, "EXPLOITED", &report.exploited_open_cves)?;
    }
    let exploited_note = if report.exploited_open_cves.is_empty() {
        String::new()
    } else {
        format!(", {} known exploited", report.exploited_open_cves.len())
    };
    field(out, "open", &format!("{} CVEs{exploited_note}", report.open_cves.len()))?;
    if !report.open_cves.is_empty() {
        id_list(out, "", &report.open_cves)?;
    }
    if !report.possibly_open_cves.is_empty() {
        field(
            out,
            "unless SU",
            &format!(
                "{} more CVEs are open unless a security update was installed on this CU",
                report.possibly_open_cves.len()
            ),
        )?;
        id_list(out, "", &report.possibly_open_cves)?;
    }
    for verdict in report.cves.iter().filter(|v| v.status == CveStatus::ConfigDependent) {
        let note = verdict.config_note.as_deref().unwrap_or("configuration also decides");
        field(out, "config", &format!("{}: {note}", verdict.id))?;
    }
    if let Some(rec) = &report.recommended {
        let text = if rec.up_to_date {
            format!("up to date: {} {} is the newest known update", rec.target.build, rec.target.name)
        } else {
            format!("{}  {} ({})", rec.target.build, rec.target.name, rec.target.released)
        };
        field(out, "install", &text)?;
        if let Some(note) = &rec.note {
            field(out, "", note)?;
        }
    }
    if let Some(upgrade) = &report.upgrade {
        field(
            out,
            "then",
            &format!("{}  {} ({})", upgrade.target.build, upgrade.target.name, upgrade.target.released),
        )?;
        if let Some(note) = &upgrade.note {
            field(out, "", note)?;
        }
    }
    for note in &report.notes {
        field(out, "note", note)?;
    }
    Ok(())
}

pub(crate) fn cve_report(out: &mut dyn Write, report: &CveReport) -> io::Result<()> {
    let impact = report.impact.as_deref().unwrap_or("vulnerability");
    writeln!(out, "{}  Microsoft Exchange Server {impact}, published {}", report.id, report.published)?;
    if !report.clusters.is_empty() {
        field(out, "cluster", &report.clusters.join(", "))?;
    }
    let exploited = match (report.kev, report.kev_added) {
        (true, Some(date)) => format!("yes: CISA KEV since {date}"),
        (true, None) => "yes: in CISA KEV".to_owned(),
        (false, _) if report.exploited => "yes".to_owned(),
        _ => "not known".to_owned(),
    };
    field(out, "exploited", &exploited)?;
    if let Some(note) = &report.config_note {
        field(out, "config", note)?;
    }
    if let Some(note) = &report.note {
        field(out, "note", note)?;
    }
    for line in &report.lines {
        writeln!(out, "  {}", line.product)?;
        for fix in &line.fixes {
            writeln!(out, "    {:<8} fixed by {}  {} ({})", fix.cu, fix.fix.build, fix.fix.name, fix.fix.released)?;
        }
        if let Some(contained) = &line.contained_from {
            writeln!(out, "    {:<8} contained from {}  {}", "later", contained.build, contained.name)?;
        }
        if !line.cus_without_fix.is_empty() {
            writeln!(out, "    {:<8} no fix for {}: move to a fixed CU", "older", line.cus_without_fix.join(", "))?;
        }
    }
    for source in &report.sources {
        field(out, "source", source)?;
    }
    Ok(())
}

pub(crate) fn products(out: &mut dyn Write, kb: &KnowledgeBase) -> io::Result<()> {
    writeln!(out, "{:<8} {:<22} {:>4} {:>6}  {:<14} end of support", "id", "product", "CUs", "builds", "newest build")?;
    for line in kb.product_lines() {
        let newest = kb.rows_of(&line.id).last().map(|row| row.build.to_string()).unwrap_or_else(|| "-".to_owned());
        let eos = match (line.end_of_support, line.online) {
            (Some(date), _) => date.to_string(),
            (None, true) => "cloud service".to_owned(),
            (None, false) => "none announced".to_owned(),
        };
        writeln!(
            out,
            "{:<8} {:<22} {:>4} {:>6}  {:<14} {eos}",
            line.id,
            line.name,
            kb.groups_of(&line.id).count(),
            kb.rows_of(&line.id).count(),
            newest
        )?;
    }
    Ok(())
}

pub(crate) fn builds(out: &mut dyn Write, kb: &KnowledgeBase) -> io::Result<()> {
    for row in kb.rows() {
        writeln!(out, "{:<14} {:<10} {}", row.build.to_string(), row.released.to_string(), kb.row_name(row))?;
    }
    Ok(())
}

pub(crate) fn cves(out: &mut dyn Write, kb: &KnowledgeBase) -> io::Result<()> {
    for cve in kb.cves() {
        let exploited = if cve.kev {
            "KEV"
        } else if cve.exploited {
            "exploited"
        } else {
            ""
        };
        let clusters: Vec<&str> = kb.clusters_of(&cve.id).map(|c| c.name.as_str()).collect();
        writeln!(
            out,
            "{:<15} {}  {:<24} {:<9} fixed by {:<18} {}",
            cve.id,
            cve.published,
            cve.impact.as_deref().unwrap_or("-"),
            exploited,
            cve.fixed_by.join(","),
            clusters.join(",")
        )?;
    }
    Ok(())
}

pub(crate) fn clusters(out: &mut dyn Write, kb: &KnowledgeBase) -> io::Result<()> {
    for cluster in kb.clusters() {
        writeln!(out, "{:<14} {}", cluster.name, cluster.cves.join(" "))?;
        writeln!(out, "{:<14} {}", "", cluster.summary)?;
    }
    Ok(())
}
