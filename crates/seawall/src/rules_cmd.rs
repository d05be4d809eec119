//! `seawall rules list` (every detection seawall runs: built-in log rules, the code
//! detectors of the scan, the hunt and the webshell scanner from `data/detectors/*.toml`, the
//! built-in and loaded YARA and Sigma rule counts, extra rule files) and `seawall rules lint
//! DIR` (rule files checked before a hunt meets them, each problem with a stable code).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use seawall_model::catalog::Catalog;
use seawall_report::escape::terminal;
use seawall_rules::RuleSet;
use seawall_sigma::SigmaEngine;
use seawall_webshell::{ScannerConfig, WebshellScanner};
use serde_json::json;

use crate::cli::{ListFormat, RulesLintArgs, RulesListArgs};

/// One problem found by `lint`.
struct Diagnostic {
    code: String,
    file: String,
    rule: String,
    message: String,
}

pub(crate) fn run_list(args: &RulesListArgs, out: &mut dyn Write) -> Result<ExitCode> {
    let files = rule_files(&args.rules, "toml")?;
    let mut texts = vec![];
    for (name, text) in seawall_rules::EMBEDDED {
        texts.push((format!("builtin:{name}"), (*text).to_owned()));
    }
    for path in &files {
        let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        texts.push((path.display().to_string(), text));
    }
    let rules = RuleSet::load(&texts).map_err(|errors| {
        let lines: Vec<String> = errors.iter().map(ToString::to_string).collect();
        anyhow::anyhow!("rule files do not load (run `seawall rules lint`):\n{}", lines.join("\n"))
    })?;
    let text = matches!(args.format, Some(ListFormat::Text) | None);
    for rule in rules.rules() {
        let logs: Vec<&str> = rule.spec.logs.iter().map(|l| l.as_str()).collect();
        if text {
            writeln!(
                out,
                "{:<44} {:<8} {:<22} {}",
                rule.spec.id,
                rule.severity.as_str(),
                logs.join(","),
                terminal(&rule.spec.title)
            )?;
        } else {
            let line = json!({"type": "rule", "v": 1, "data": {
                "id": rule.spec.id, "engine": "log", "title": rule.spec.title, "severity": rule.severity.as_str(),
                "confidence": rule.confidence.as_str(), "logs": logs, "source": rule.spec.source,
                "references": rule.spec.references,
            }});
            writeln!(out, "{line}")?;
        }
    }
    let catalogs: [(&str, &Catalog, &str); 3] = [
        ("scan", seawall_scan::detectors::embedded()?, seawall_scan::detectors::FILE),
        ("hunt", seawall_hunt::catalog::CATALOG.load()?, seawall_hunt::catalog::CATALOG.file()),
        ("webshell", seawall_webshell::detectors::CATALOG.load()?, seawall_webshell::detectors::CATALOG.file()),
    ];
    for (engine, catalog, file) in catalogs {
        list_code_detectors(engine, catalog, file, text, out)?;
    }
    let kb = seawall_kb::KnowledgeBase::embedded()?;
    let config =
        ScannerConfig { builtin_rules: true, yara_dirs: args.yara.clone(), ioc_files: Vec::new(), max_file_size: 1 };
    let (scanner, _) = WebshellScanner::new(&config, &kb)?;
    let counts = scanner.counts();
    let mut engines =
        vec![("yara-builtin", counts.builtin_rules), ("yara-loaded", counts.external_rules), ("ioc", counts.iocs)];
    if !args.sigma.is_empty() {
        let (_, report) = SigmaEngine::load_paths(&args.sigma)?;
        engines.push(("sigma-loaded", report.loaded));
        engines.push(("sigma-unsupported", report.unsupported.len()));
    }
    for (engine, count) in engines {
        if text {
            writeln!(out, "{engine:<44} {count} rules")?;
        } else {
            writeln!(out, "{}", json!({"type": "engine", "v": 1, "data": {"engine": engine, "rules": count}}))?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The code detectors of one engine (`scan`, `hunt`, `webshell`), from its catalog `file`.
fn list_code_detectors(engine: &str, catalog: &Catalog, file: &str, text: bool, out: &mut dyn Write) -> Result<()> {
    for detector in &catalog.detector {
        if text {
            writeln!(
                out,
                "{:<44} {:<8} {:<22} {}",
                detector.id,
                detector.severity.as_str(),
                engine,
                terminal(&detector.title)
            )?;
        } else {
            let line = json!({"type": "rule", "v": 1, "data": {
                "id": detector.id, "engine": engine, "title": detector.title,
                "severity": detector.severity.as_str(), "confidence": detector.confidence.as_str(),
                "kind": detector.kind, "source": detector.source.join("; "), "references": detector.references,
                "cves": detector.cves,
                "remediation": detector.remediation, "decided_by": detector.decided_by,
                "variants": detector.variants.keys().collect::<Vec<_>>(),
                "file": file,
            }});
            writeln!(out, "{line}")?;
        }
    }
    Ok(())
}

pub(crate) fn run_lint(args: &RulesLintArgs, out: &mut dyn Write) -> Result<ExitCode> {
    let mut diagnostics = Vec::new();
    let toml_files = rule_files(std::slice::from_ref(&args.dir), "toml")?;
    // Lint the files together with the built-in rules: a user rule may not reuse a built-in id.
    let mut texts: Vec<(String, String)> =
        seawall_rules::EMBEDDED.iter().map(|(name, text)| (format!("builtin:{name}"), (*text).to_owned())).collect();
    for path in &toml_files {
        match std::fs::read_to_string(path) {
            Ok(text) => texts.push((path.display().to_string(), text)),
            Err(e) => diagnostics.push(Diagnostic {
                code: "SWR000".into(),
                file: path.display().to_string(),
                rule: "-".into(),
                message: format!("cannot read: {e}"),
            }),
        }
    }
    if let Err(errors) = RuleSet::load(&texts) {
        diagnostics.extend(errors.into_iter().map(|e| Diagnostic {
            code: e.code.into(),
            file: e.origin,
            rule: e.rule,
            message: e.message,
        }));
    }
    let sigma_files: Vec<PathBuf> = ["yml", "yaml"]
        .iter()
        .map(|ext| rule_files(std::slice::from_ref(&args.dir), ext))
        .collect::<Result<Vec<_>>>()?
        .concat();
    if !sigma_files.is_empty() {
        let (_, report) = SigmaEngine::load_paths(&sigma_files)?;
        for rule in &report.unsupported {
            diagnostics.push(Diagnostic {
                code: "SWS001".into(),
                file: rule.origin.clone(),
                rule: rule.id.clone().unwrap_or_else(|| "-".into()),
                message: format!("Sigma rule not run: {}", rule.reason),
            });
        }
        for (file, message) in &report.errors {
            diagnostics.push(Diagnostic {
                code: "SWS002".into(),
                file: file.clone(),
                rule: "-".into(),
                message: message.clone(),
            });
        }
    }
    let has_yara =
        ["yar", "yara"].iter().any(|ext| rule_files(std::slice::from_ref(&args.dir), ext).is_ok_and(|f| !f.is_empty()));
    if has_yara {
        let kb = seawall_kb::KnowledgeBase::embedded()?;
        let config = ScannerConfig {
            builtin_rules: false,
            yara_dirs: vec![args.dir.clone()],
            ioc_files: Vec::new(),
            max_file_size: 1,
        };
        let (_, found) = WebshellScanner::new(&config, &kb)?;
        diagnostics.extend(found.into_iter().map(|d| Diagnostic {
            code: format!("SWY-{}", d.code),
            file: d.file,
            rule: d.rule.unwrap_or_else(|| "-".into()),
            message: d.reason,
        }));
    }
    for d in &diagnostics {
        match args.format {
            Some(ListFormat::Jsonl) => writeln!(
                out,
                "{}",
                json!({"type": "diagnostic", "v": 1, "data": {"code": d.code, "file": d.file, "rule": d.rule, "message": d.message}})
            )?,
            _ => writeln!(
                out,
                "error[{}] {}: {}: {}",
                d.code,
                terminal(&d.file),
                terminal(&d.rule),
                terminal(&d.message)
            )?,
        }
    }
    Ok(if diagnostics.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

/// Files with extension `ext` under `paths` or given directly, sorted: a folder of mixed rule
/// files is read by each engine for its own extension.
fn rule_files(paths: &[PathBuf], ext: &str) -> Result<Vec<PathBuf>> {
    for path in paths {
        anyhow::ensure!(path.is_file() || path.is_dir(), "{}: no such file or folder", path.display());
    }
    let found = seawall_sources::walk::files_with_extensions(paths, &[ext]);
    if let Some(error) = found.errors.into_iter().next() {
        return Err(error.into());
    }
    Ok(found.files.into_iter().filter(|path| has_ext(path, ext)).collect())
}

fn has_ext(path: &Path, ext: &str) -> bool {
    path.extension().is_some_and(|e| e.eq_ignore_ascii_case(ext))
}
