//! Detectors that need only where a file is: the places ProxyLogon-era
//! webshells and staging files were found, read from the evidence path.
//!
//! Paths compare case-insensitively with either separator, as Windows
//! evidence copied to any machine must.

use std::collections::HashSet;

use seawall_model::{Evidence, Finding, Location};
use serde::Deserialize;

use crate::Error;
use crate::detectors::{CATALOG, DetectorId};

const STOCK_FILES: &str = include_str!("../../../data/kb/ioc/exchange-stock-files.toml");

/// Extensions IIS hands to a script engine (ASP.NET or classic ASP) by default.
const SCRIPT_EXTENSIONS: [&str; 14] =
    ["aspx", "ashx", "asmx", "ascx", "asp", "asa", "cer", "cdx", "soap", "svc", "rem", "xamlx", "cshtml", "vbhtml"];

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct StockFile {
    folder: Vec<StockFolder>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct StockFolder {
    path: Vec<String>,
    files: Vec<String>,
    #[allow(dead_code)]
    sources: Vec<String>,
}

/// The stock file lists of Exchange's authentication folders.
#[derive(Debug, Clone)]
pub(crate) struct StockLists {
    folders: Vec<(Vec<String>, HashSet<String>)>,
}

impl StockLists {
    pub(crate) fn embedded() -> Result<StockLists, Error> {
        let file: StockFile = toml::from_str(STOCK_FILES).map_err(|e| Error::Builtin(format!("stock files: {e}")))?;
        let folders = file
            .folder
            .into_iter()
            .map(|folder| {
                let path = folder.path.iter().map(|p| p.to_lowercase()).collect();
                let files = folder.files.iter().map(|f| f.to_lowercase()).collect();
                (path, files)
            })
            .collect();
        Ok(StockLists { folders })
    }
}

/// A path split for matching: lowercase components, last one the file name.
#[derive(Debug)]
pub(crate) struct PathParts {
    pub(crate) parts: Vec<String>,
}

impl PathParts {
    pub(crate) fn new(display_path: &str) -> PathParts {
        PathParts { parts: display_path.split(['/', '\\']).filter(|p| !p.is_empty()).map(str::to_lowercase).collect() }
    }

    pub(crate) fn name(&self) -> &str {
        self.parts.last().map_or("", String::as_str)
    }

    /// The folders above the file.
    pub(crate) fn folders(&self) -> &[String] {
        self.parts.split_last().map_or(&[], |(_, folders)| folders)
    }

    /// The last extension, lowercase, without the dot.
    pub(crate) fn extension(&self) -> &str {
        self.name().rsplit_once('.').map_or("", |(_, ext)| ext)
    }

    pub(crate) fn is_script(&self) -> bool {
        SCRIPT_EXTENSIONS.contains(&self.extension())
    }

    /// Where `wanted` (consecutive folders) starts among the folders.
    fn find(&self, wanted: &[&str]) -> Option<usize> {
        let folders = self.folders();
        (0..folders.len()).find(|&i| {
            folders.len() - i >= wanted.len() && wanted.iter().zip(&folders[i..]).all(|(w, f)| *w == f.as_str())
        })
    }

    fn contains_folder(&self, name: &str) -> bool {
        self.folders().iter().any(|f| f == name)
    }

    /// Inside a folder IIS serves: a web root, Exchange's virtual directories, aspnet_client.
    pub(crate) fn is_web_served(&self) -> bool {
        self.find(&["inetpub", "wwwroot"]).is_some()
            || self.find(&["frontend", "httpproxy"]).is_some()
            || self.contains_folder("aspnet_client")
            || self.contains_folder("clientaccess")
            || self.contains_folder("wwwroot")
    }
}

fn is_version_folder(name: &str) -> bool {
    let parts: Vec<&str> = name.split('.').collect();
    parts.len() >= 3 && parts.iter().all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
}

/// A detector that fired, the situation it fired in (a variant of its catalog entry) and why.
struct Hit {
    detector: DetectorId,
    variant: Option<&'static str>,
    why: String,
}

/// Every location finding for one evidence path.
pub(crate) fn check(stock: &StockLists, display_path: &str) -> Vec<Finding> {
    let path = PathParts::new(display_path);
    let mut hits = Vec::new();
    aspnet_client(&path, &mut hits);
    exchange_auth(stock, &path, &mut hits);
    oab_folder(&path, &mut hits);
    dumps(&path, &mut hits);
    archives(&path, &mut hits);
    hits.into_iter()
        .map(|hit| {
            let location = Location::File { path: display_path.to_owned(), line: None, record: None };
            let evidence = vec![Evidence::text("path", display_path), Evidence::text("why", &hit.why)];
            CATALOG.describe(hit.detector, hit.variant.as_slice(), &[]).finding(&location, evidence, &[])
        })
        .collect()
}

fn aspnet_client(path: &PathParts, hits: &mut Vec<Hit>) {
    if path.contains_folder("aspnet_client") && path.is_script() {
        hits.push(Hit {
            detector: DetectorId::AspnetClientAspx,
            variant: None,
            why: format!(
                "aspnet_client holds only client-side scripts of the .NET Framework; a .{} file there is \
                 where ProxyLogon-era webshells were dropped",
                path.extension()
            ),
        });
    }
}

fn exchange_auth(stock: &StockLists, path: &PathParts, hits: &mut Vec<Hit>) {
    for (folder, files) in &stock.folders {
        let wanted: Vec<&str> = folder.iter().map(String::as_str).collect();
        let Some(start) = path.find(&wanted) else { continue };
        let below = &path.folders()[start + wanted.len()..];
        let name = path.name();
        let where_ = wanted.join("/");
        let hit = if below.is_empty() {
            if files.contains(name) {
                continue;
            }
            let (variant, kind) = if path.is_script() { (None, "script page") } else { (Some("not-script"), "file") };
            Some((variant, format!("{kind} {name} is not one of the files Exchange ships in {where_}")))
        } else if path.is_script() {
            let sub = &below[0];
            let place = if sub == "current" || is_version_folder(sub) { "theme/version folder" } else { "folder" };
            Some((None, format!("script page {name} in the {place} {where_}/{sub}, which ships none")))
        } else {
            None
        };
        if let Some((variant, why)) = hit {
            hits.push(Hit { detector: DetectorId::AuthNonStock, variant, why });
        }
    }
}

fn oab_folder(path: &PathParts, hits: &mut Vec<Hit>) {
    let in_oab = path.find(&["httpproxy", "oab"]).is_some() || path.find(&["clientaccess", "oab"]).is_some();
    if in_oab && path.is_script() {
        hits.push(Hit {
            detector: DetectorId::OabFolderScript,
            variant: None,
            why: format!("{} sits in the Offline Address Book folder, which serves no pages", path.name()),
        });
    }
}

fn dumps(path: &PathParts, hits: &mut Vec<Hit>) {
    let name = path.name();
    let is_dump = name.ends_with(".dmp") || name.contains(".dmp.");
    if !is_dump {
        return;
    }
    let why = if name.starts_with("lsass") {
        format!("{name} is named like a dump of LSASS, the process holding logon credentials")
    } else if path.is_web_served() {
        format!("memory dump {name} in a folder IIS serves: dumped and staged for download")
    } else {
        return;
    };
    hits.push(Hit { detector: DetectorId::LsassDump, variant: None, why });
}

fn archives(path: &PathParts, hits: &mut Vec<Hit>) {
    let ext = path.extension();
    if !matches!(ext, "7z" | "rar" | "zip") {
        return;
    }
    let folders = path.folders();
    let programdata_depth = folders.iter().position(|f| f == "programdata").map(|start| folders.len() - start - 1);
    let (variant, why) = match programdata_depth {
        Some(depth) if depth <= 1 => {
            (None, format!("archive {} at the top of ProgramData, where ProxyLogon actors staged data", path.name()))
        }
        Some(_) => (Some("deep"), format!("archive {} under ProgramData", path.name())),
        None if path.is_web_served() && ext != "zip" => {
            (None, format!("{ext} archive {} in a folder IIS serves", path.name()))
        }
        None if path.is_web_served() => {
            (Some("served-zip"), format!("zip archive {} in a folder IIS serves", path.name()))
        }
        None => return,
    };
    hits.push(Hit { detector: DetectorId::StagingArchive, variant, why });
}

#[cfg(test)]
mod tests {
    use seawall_model::Severity;
    use seawall_model::catalog::CodeDetector;

    use super::*;

    const RULE_ASPNET_CLIENT: &str = "SW-FILE-ASPNET-CLIENT-ASPX";
    const RULE_AUTH_NONSTOCK: &str = "SW-FILE-EXCHANGE-AUTH-NONSTOCK";
    const RULE_OAB_FOLDER_SCRIPT: &str = "SW-FILE-EXCHANGE-OAB-SCRIPT";
    const RULE_LSASS_DUMP: &str = "SW-FILE-LSASS-DUMP";
    const RULE_STAGING_ARCHIVE: &str = "SW-FILE-STAGING-ARCHIVE";

    fn rules_for(path: &str) -> Vec<(String, Severity)> {
        let stock = StockLists::embedded().unwrap_or(StockLists { folders: Vec::new() });
        check(&stock, path).into_iter().map(|f| (f.rule.id, f.severity)).collect()
    }

    #[test]
    fn each_location_detector_is_the_catalog_entry_of_its_id() {
        let ids =
            [RULE_ASPNET_CLIENT, RULE_AUTH_NONSTOCK, RULE_OAB_FOLDER_SCRIPT, RULE_LSASS_DUMP, RULE_STAGING_ARCHIVE];
        let detectors = [
            DetectorId::AspnetClientAspx,
            DetectorId::AuthNonStock,
            DetectorId::OabFolderScript,
            DetectorId::LsassDump,
            DetectorId::StagingArchive,
        ];
        assert_eq!(ids, detectors.map(CodeDetector::as_str));
        let found = check(&StockLists::embedded().expect("stock lists"), r"C:\ProgramData\Vendor\cache\deep\a.zip");
        assert_eq!(found.len(), 1);
        assert_eq!((found[0].severity, found[0].confidence.as_str()), (Severity::Low, "low"));
        assert_eq!(found[0].rule.title, "Archive in a staging folder");
        assert!(found[0].remediation.as_deref().is_some_and(|r| r.starts_with("Look at what the archive holds")));
    }

    #[test]
    fn aspx_in_aspnet_client_is_flagged_but_its_scripts_are_not() {
        assert_eq!(
            rules_for(r"C:\inetpub\wwwroot\aspnet_client\system_web\Shell.ASPX"),
            vec![(RULE_ASPNET_CLIENT.to_owned(), Severity::High)]
        );
        assert!(rules_for("/e/inetpub/wwwroot/aspnet_client/system_web/4_0_30319/WebUIValidation.js").is_empty());
    }

    #[test]
    fn stock_auth_files_pass_and_others_are_flagged() {
        let owa = "/e/Program Files/Microsoft/Exchange Server/V15/FrontEnd/HttpProxy/owa/auth";
        assert!(rules_for(&format!("{owa}/logon.aspx")).is_empty());
        assert!(rules_for(&format!("{owa}/LOGON.ASPX")).is_empty());
        assert!(rules_for(&format!("{owa}/15.2.1118.7/themes/resources/logon.css")).is_empty());
        assert_eq!(rules_for(&format!("{owa}/errorEE.aspx")), vec![(RULE_AUTH_NONSTOCK.to_owned(), Severity::High)]);
        assert_eq!(rules_for(&format!("{owa}/notes.txt")), vec![(RULE_AUTH_NONSTOCK.to_owned(), Severity::Medium)]);
        assert_eq!(
            rules_for(&format!("{owa}/Current/themes/resources/x.aspx")),
            vec![(RULE_AUTH_NONSTOCK.to_owned(), Severity::High)]
        );
        assert!(rules_for(r"D:\Exchange\FrontEnd\HttpProxy\ecp\auth\TimeoutLogoff.aspx").is_empty());
        assert_eq!(
            rules_for(r"D:\Exchange\FrontEnd\HttpProxy\ecp\auth\y.aspx"),
            vec![(RULE_AUTH_NONSTOCK.to_owned(), Severity::High)]
        );
    }

    #[test]
    fn dumps_and_staging_archives() {
        assert_eq!(rules_for(r"C:\Windows\Temp\lsass.dmp"), vec![(RULE_LSASS_DUMP.to_owned(), Severity::High)]);
        assert_eq!(rules_for("/e/inetpub/wwwroot/x.dmp.zip")[0].0, RULE_LSASS_DUMP);
        assert!(rules_for(r"C:\Windows\Minidump\app.dmp").is_empty());
        assert_eq!(rules_for(r"C:\ProgramData\it.zip"), vec![(RULE_STAGING_ARCHIVE.to_owned(), Severity::Medium)]);
        assert_eq!(rules_for(r"C:\ProgramData\pst\out.7z"), vec![(RULE_STAGING_ARCHIVE.to_owned(), Severity::Medium)]);
        assert_eq!(
            rules_for(r"C:\ProgramData\Vendor\cache\deep\a.zip"),
            vec![(RULE_STAGING_ARCHIVE.to_owned(), Severity::Low)]
        );
        assert!(rules_for("/home/u/backup.7z").is_empty());
    }

    #[test]
    fn script_in_oab_folder() {
        assert_eq!(
            rules_for(r"C:\Program Files\Microsoft\Exchange Server\V15\FrontEnd\HttpProxy\OAB\log.aspx"),
            vec![(RULE_OAB_FOLDER_SCRIPT.to_owned(), Severity::High)]
        );
    }
}
