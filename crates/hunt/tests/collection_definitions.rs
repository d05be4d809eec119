//! The collection definitions shipped under contrib/ (a Velociraptor artifact and a KAPE
//! target) collect what seawall reads and nothing more: both parse, every path they name is
//! evidence the classifier or the file scanner recognises, and every event log channel that
//! seawall's detections read is collected.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use seawall_sources::{LogKind, classify};
use serde::Deserialize;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[derive(Debug, Deserialize)]
struct Artifact {
    name: String,
    #[serde(rename = "type")]
    kind: String,
    parameters: Vec<Parameter>,
    sources: Vec<Source>,
}

#[derive(Debug, Deserialize)]
struct Parameter {
    name: String,
    default: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Source {
    query: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct KapeTarget {
    description: String,
    author: String,
    version: f64,
    id: String,
    targets: Vec<KapeEntry>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct KapeEntry {
    name: String,
    category: String,
    path: String,
    file_mask: Option<String>,
}

/// What a collected path must be recognised as.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Iis,
    HttpProxy,
    EcpServer,
    OabGenerator,
    Evtx,
    WebRoot,
}

const EXCHANGE: &str = r"C:\Program Files\Microsoft\Exchange Server\V15";

/// A concrete file the glob would collect: placeholders at their defaults, wildcards filled.
fn sample_path(glob: &str, kind: Kind) -> String {
    let file = match kind {
        Kind::WebRoot => "seawall-check.aspx",
        _ => "x.log",
    };
    let folder = match kind {
        Kind::HttpProxy => "Owa",
        Kind::WebRoot => r"owa\auth",
        _ => "sub",
    };
    let mut path = glob
        .replace("{IisLogDir}", r"C:\inetpub\logs\LogFiles")
        .replace("{Exchange}", EXCHANGE)
        .replace("{WebRoot}", r"C:\inetpub\wwwroot")
        .replace("W3SVC*", "W3SVC1")
        .replace("**", folder);
    if let Some(at) = path.rfind('\\') {
        let name = &path[at + 1..];
        if name.contains(['*', '?', '{']) {
            path = format!("{}\\{file}", &path[..at]);
        }
    }
    path
}

fn kind_of(label: &str) -> Kind {
    match label {
        "iis" => Kind::Iis,
        "httpproxy" => Kind::HttpProxy,
        "ecp-server" => Kind::EcpServer,
        "oab-generator" => Kind::OabGenerator,
        "evtx" => Kind::Evtx,
        "webroot" => Kind::WebRoot,
        other => panic!("unknown kind {other}"),
    }
}

/// The channels seawall reads: the Sigma mappings' channels and those of the built-in detections.
fn channels_read() -> BTreeSet<String> {
    let mappings = std::fs::read_to_string(repo().join("data/sigma/mappings.toml")).expect("mappings");
    let mut channels: BTreeSet<String> =
        mappings.split("Channel = [\"").skip(1).filter_map(|rest| rest.split('"').next()).map(str::to_owned).collect();
    // Built-in detections read Security logons and process creation, the Exchange cmdlet log and
    // OpenSSH for Windows logons without naming a channel in a mapping.
    channels.extend(["Security", "MSExchange Management", "OpenSSH/Operational"].map(String::from));
    channels
}

fn channel_of_evtx(path: &str) -> String {
    let name = path.rsplit('\\').next().expect("name");
    name.trim_end_matches(".evtx").replace("%4", "/")
}

/// The check each kind of collected file must pass.
fn assert_recognised(path: &str, kind: Kind, what: &str) {
    const IIS_LINE: &[u8] = b"2021-03-03 06:49:42 10.0.0.5 POST /ecp/y.js - 443 - 198.51.100.7 ua 200 0 0 12\n";
    let got = match kind {
        Kind::Iis => classify(path, IIS_LINE),
        Kind::HttpProxy | Kind::EcpServer | Kind::OabGenerator => classify(path, b""),
        Kind::Evtx => {
            assert!(path.to_ascii_lowercase().ends_with(".evtx"), "{what}: {path} is not an event log file");
            classify(path, b"ElfFile\0")
        }
        Kind::WebRoot => classify(path, b"<%@ Page Language=\"C#\" %>"),
    };
    let ok = match kind {
        Kind::Iis => got == LogKind::IisW3c,
        Kind::HttpProxy => matches!(got, LogKind::HttpProxy(_)),
        Kind::EcpServer => got == LogKind::EcpServer,
        Kind::OabGenerator => got == LogKind::OabGenerator,
        Kind::Evtx => got == LogKind::Evtx,
        // Pages go to the webshell scanner: anything that is not taken for a log.
        Kind::WebRoot => matches!(got, LogKind::Unknown | LogKind::HeaderCsv),
    };
    assert!(ok, "{what}: {path} collected as {kind:?} but classified as {got:?}");
}

#[test]
fn velociraptor_artifact_collects_what_seawall_reads() {
    let text = std::fs::read_to_string(repo().join("contrib/velociraptor/Custom.Seawall.Exchange.Evidence.yaml"))
        .expect("artifact");
    let artifact: Artifact = yaml_serde::from_str(&text).expect("the artifact is valid YAML of the artifact schema");
    assert!(artifact.name.starts_with("Custom."), "{}", artifact.name);
    assert_eq!(artifact.kind, "CLIENT");
    let query = &artifact.sources[0].query;
    for needed in ["applicationHost.config", "MsiInstallPath", "upload(", "EvidenceGlobs"] {
        assert!(query.contains(needed), "the query does not use {needed}");
    }
    let globs = artifact.parameters.iter().find(|p| p.name == "EvidenceGlobs").expect("EvidenceGlobs");
    let table = globs.default.as_deref().expect("default globs");
    let mut reader = csv::Reader::from_reader(table.as_bytes());
    let mut collected_channels = BTreeSet::new();
    let mut kinds = BTreeSet::new();
    for row in reader.records() {
        let row = row.expect("csv row");
        let (label, glob) = (&row[0], &row[1]);
        let kind = kind_of(label);
        kinds.insert(label.to_owned());
        let path = sample_path(glob, kind);
        assert_recognised(&path, kind, "Velociraptor");
        if kind == Kind::Evtx {
            collected_channels.insert(channel_of_evtx(&path));
        }
    }
    assert_eq!(kinds.len(), 6, "every kind of evidence seawall reads is collected: {kinds:?}");
    assert_eq!(collected_channels, channels_read(), "event logs collected vs read");
}

#[test]
fn kape_target_collects_what_seawall_reads() {
    let text = std::fs::read_to_string(repo().join("contrib/kape/SeawallExchange.tkape")).expect("tkape");
    let target: KapeTarget = yaml_serde::from_str(&text).expect("the target is valid YAML of the tkape schema");
    assert!(!target.description.is_empty() && !target.author.is_empty() && target.version > 0.0);
    assert_eq!(target.id.len(), 36, "a GUID");
    let mut collected_channels = BTreeSet::new();
    for entry in &target.targets {
        assert!(!entry.name.is_empty() && !entry.category.is_empty());
        let mask = entry.file_mask.as_deref().unwrap_or("*");
        let glob = format!("{}{}", entry.path, mask);
        let kind = match entry.category.as_str() {
            "EventLogs" => Kind::Evtx,
            "WebServers" if entry.path.contains("LogFiles") => Kind::Iis,
            "WebServers" => Kind::WebRoot,
            _ if entry.path.contains(r"\HttpProxy\") => Kind::HttpProxy,
            _ if entry.path.contains(r"\ECP\Server\") => Kind::EcpServer,
            _ if entry.path.contains("OABGeneratorLog") => Kind::OabGenerator,
            other => panic!("{}: category {other} of nothing seawall reads", entry.name),
        };
        let glob = if kind == Kind::Iis { format!(r"{}W3SVC*\{mask}", entry.path) } else { glob };
        let path = sample_path(&glob, kind);
        assert_recognised(&path, kind, &format!("KAPE {}", entry.name));
        if kind == Kind::Evtx {
            collected_channels.insert(channel_of_evtx(&path));
        }
    }
    assert_eq!(collected_channels, channels_read(), "event logs collected vs read");
}

#[test]
fn sample_paths_fill_placeholders_and_wildcards() {
    assert_eq!(
        sample_path(r"{Exchange}\Logging\HttpProxy\**\*.log", Kind::HttpProxy),
        format!(r"{EXCHANGE}\Logging\HttpProxy\Owa\x.log")
    );
    assert_eq!(sample_path(r"{IisLogDir}\W3SVC*\*.log", Kind::Iis), r"C:\inetpub\logs\LogFiles\W3SVC1\x.log");
    // A wrong glob is caught: an ECP glob pointing at the OAB folder is not recognised as ECP.
    let wrong = sample_path(r"{Exchange}\Logging\OABGeneratorLog\*.log", Kind::EcpServer);
    assert_ne!(classify(&wrong, b""), LogKind::EcpServer);
}
