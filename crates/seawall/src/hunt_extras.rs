//! The hunt's optional detectors as the flags ask for them: Sigma rules, the
//! webshell and IOC scanner of files, IOCs in web logs.

use std::path::PathBuf;

use anyhow::{Result, bail};
use seawall_hunt::{Extras, LogIocs};
use seawall_kb::KnowledgeBase;
use seawall_sigma::{LoadReport, SigmaEngine};
use seawall_webshell::{ScannerConfig, WebshellScanner};

/// What the flags loaded.
pub(crate) struct LoadedExtras {
    pub(crate) sigma: Option<(SigmaEngine, LoadReport)>,
    pub(crate) files: Option<WebshellScanner>,
    pub(crate) log_iocs: Option<LogIocs>,
    /// Rules that could not be used, as `file: rule: reason` lines (warnings, not run errors).
    pub(crate) warnings: Vec<String>,
    /// Rule files that could not be read at all (run errors).
    pub(crate) unreadable: Vec<(String, String)>,
}

impl LoadedExtras {
    pub(crate) fn extras(&self) -> Extras<'_> {
        Extras {
            sigma: self.sigma.as_ref().map(|(engine, _)| engine),
            files: self.files.as_ref(),
            log_iocs: self.log_iocs.as_ref(),
        }
    }
}

pub(crate) struct ExtrasFlags<'a> {
    pub(crate) sigma: &'a [PathBuf],
    pub(crate) yara: &'a [PathBuf],
    pub(crate) ioc: &'a [PathBuf],
    pub(crate) no_file_scan: bool,
    pub(crate) max_file_size: u64,
    /// Worker threads (`--threads`; `None`: every core).
    pub(crate) threads: Option<usize>,
}

pub(crate) fn load(flags: &ExtrasFlags<'_>, kb: &KnowledgeBase) -> Result<LoadedExtras> {
    let mut loaded =
        LoadedExtras { sigma: None, files: None, log_iocs: None, warnings: Vec::new(), unreadable: Vec::new() };
    for path in flags.sigma.iter().chain(flags.yara).chain(flags.ioc) {
        if !path.exists() {
            bail!("{}: no such file or folder", path.display());
        }
    }
    if !flags.sigma.is_empty() {
        // Rules are parsed on the hunt's thread count (`--threads 1` stays on one core).
        let load = || SigmaEngine::load_paths(flags.sigma);
        let (engine, report) = match rayon::ThreadPoolBuilder::new().num_threads(flags.threads.unwrap_or(0)).build() {
            Ok(pool) => pool.install(load)?,
            Err(_) => load()?,
        };
        for rule in &report.unsupported {
            loaded.warnings.push(format!("sigma: {rule}"));
        }
        loaded.unreadable.extend(report.errors.iter().cloned());
        loaded.sigma = Some((engine, report));
    }
    if !flags.no_file_scan || !flags.yara.is_empty() || !flags.ioc.is_empty() {
        let config = ScannerConfig {
            builtin_rules: !flags.no_file_scan,
            yara_dirs: flags.yara.to_vec(),
            ioc_files: flags.ioc.to_vec(),
            max_file_size: flags.max_file_size,
        };
        let (scanner, diagnostics) = WebshellScanner::new(&config, kb)?;
        loaded.warnings.extend(diagnostics.iter().map(|d| format!("yara: {d}")));
        loaded.log_iocs = Some(LogIocs::new(scanner.iocs()));
        loaded.files = Some(scanner);
    }
    Ok(loaded)
}
