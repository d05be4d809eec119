//! Indicators of compromise: file hashes, file names and paths, IPs, domains
//! and user agents from the public ProxyLogon-era lists, each tagged with the
//! group it points to (when the source says so) and the source it came from.
//!
//! The embedded set is `data/kb/ioc/iocs.csv`; `--ioc FILE` sets from other
//! formats are parsed elsewhere (the hunt's file detectors) and merged with
//! [`IocSet::push`]. Lookups normalise the way evidence writes things: IIS logs
//! put `+` for spaces in user agents, Windows paths compare case-insensitively
//! with either separator, domains are matched with their subdomains.

use std::collections::HashMap;
use std::fmt;
use std::net::IpAddr;
use std::path::Path;
use std::str::FromStr;

use serde::Deserialize;

use crate::LoadError;
use crate::catalog::KnowledgeBase;

const EMBEDDED_IOCS: &str = include_str!("../../../data/kb/ioc/iocs.csv");

/// What an indicator describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum IocKind {
    Md5,
    Sha1,
    Sha256,
    /// A file name alone (`shell.aspx`): weak on its own, anywhere.
    FileName,
    /// A path (`\inetpub\wwwroot\aspnet_client\shell.aspx`), matched as a suffix.
    FilePath,
    Ip,
    Domain,
    UserAgent,
}

impl IocKind {
    pub const ALL: [IocKind; 8] = [
        IocKind::Md5,
        IocKind::Sha1,
        IocKind::Sha256,
        IocKind::FileName,
        IocKind::FilePath,
        IocKind::Ip,
        IocKind::Domain,
        IocKind::UserAgent,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            IocKind::Md5 => "md5",
            IocKind::Sha1 => "sha1",
            IocKind::Sha256 => "sha256",
            IocKind::FileName => "filename",
            IocKind::FilePath => "path",
            IocKind::Ip => "ip",
            IocKind::Domain => "domain",
            IocKind::UserAgent => "user_agent",
        }
    }

    pub fn is_hash(self) -> bool {
        matches!(self, IocKind::Md5 | IocKind::Sha1 | IocKind::Sha256)
    }
}

impl fmt::Display for IocKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A word that names no indicator kind.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown IOC kind {0:?}")]
pub struct UnknownIocKind(pub String);

impl FromStr for IocKind {
    type Err = UnknownIocKind;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let lowered = s.trim().to_ascii_lowercase();
        let kind = match lowered.as_str() {
            "md5" => IocKind::Md5,
            "sha1" | "sha-1" => IocKind::Sha1,
            "sha256" | "sha-256" => IocKind::Sha256,
            "filename" | "name" | "file_name" => IocKind::FileName,
            "path" | "filepath" | "file_path" => IocKind::FilePath,
            "ip" | "ipv4" | "ipv6" | "ipaddress" | "ip-dst" | "ip-src" => IocKind::Ip,
            "domain" | "hostname" | "host" => IocKind::Domain,
            "user_agent" | "user-agent" | "useragent" | "ua" => IocKind::UserAgent,
            _ => return Err(UnknownIocKind(s.to_owned())),
        };
        Ok(kind)
    }
}

/// One indicator, normalised, with where it comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ioc {
    pub kind: IocKind,
    /// The normalised value: lowercase hex, canonical IP, lowercase domain,
    /// user agent with spaces, path with `\` separators as published.
    pub value: String,
    /// The group the source ties the indicator to (`HAFNIUM`, `Tick`, ...).
    pub actor: Option<String>,
    /// Short source id (`eset`, `mstic`, `cisa-chirp`, a file name for `--ioc`).
    pub source: String,
    /// Where the source published it.
    pub reference: Option<String>,
    pub note: Option<String>,
}

impl Ioc {
    /// An indicator from raw text as a feed writes it (defanged `[.]`, IIS `+`
    /// for spaces, upper-case hashes); `None` when the value is not of that kind.
    pub fn new(kind: IocKind, raw: &str, actor: Option<&str>, source: &str) -> Option<Ioc> {
        let value = normalize_value(kind, raw)?;
        let actor = actor.map(str::trim).filter(|a| !a.is_empty()).map(str::to_owned);
        Some(Ioc { kind, value, actor, source: source.to_owned(), reference: None, note: None })
    }

    /// `kind value (source, actor)` for evidence lines.
    pub fn describe(&self) -> String {
        match &self.actor {
            Some(actor) => format!("{} {} ({}; {actor})", self.kind, self.value, self.source),
            None => format!("{} {} ({})", self.kind, self.value, self.source),
        }
    }
}

/// Undo the usual defanging: `[.]`, `(.)`, `hxxp`.
pub fn refang(text: &str) -> String {
    text.trim().replace("[.]", ".").replace("(.)", ".").replace("[:]", ":").replace("hxxp", "http")
}

fn normalize_value(kind: IocKind, raw: &str) -> Option<String> {
    let raw = raw.trim().trim_matches('`').trim();
    if raw.is_empty() {
        return None;
    }
    match kind {
        IocKind::Md5 => hex_of_len(raw, 32),
        IocKind::Sha1 => hex_of_len(raw, 40),
        IocKind::Sha256 => hex_of_len(raw, 64),
        IocKind::Ip => parse_ip(&refang(raw)).map(|ip| ip.to_string()),
        IocKind::Domain => {
            let host = host_of(&refang(raw));
            let valid = !host.is_empty()
                && host.contains('.')
                && host.chars().all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-' || c == '_');
            valid.then_some(host)
        }
        IocKind::UserAgent => {
            let ua = normalize_user_agent(raw);
            (!ua.is_empty()).then_some(ua)
        }
        IocKind::FileName => {
            let name = raw.replace("\\_", "_");
            (!name.contains(['/', '\\'])).then_some(name)
        }
        IocKind::FilePath => {
            let path = raw.replace('/', "\\");
            (!path_components(&path).is_empty()).then_some(path)
        }
    }
}

fn hex_of_len(raw: &str, len: usize) -> Option<String> {
    let hex = raw.to_ascii_lowercase();
    (hex.len() == len && hex.bytes().all(|b| b.is_ascii_hexdigit())).then_some(hex)
}

/// An IP as logs write it: bare, `ip:port`, `[v6]:port`, or v4-mapped v6.
fn parse_ip(text: &str) -> Option<IpAddr> {
    let text = text.trim();
    let ip = if let Ok(ip) = text.parse::<IpAddr>() {
        ip
    } else if let Some(rest) = text.strip_prefix('[') {
        rest.split(']').next()?.parse().ok()?
    } else {
        let (host, port) = text.rsplit_once(':')?;
        if !port.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        host.parse().ok()?
    };
    Some(match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    })
}

/// The host of a URL or host name, lowercase, without port or trailing dot.
fn host_of(text: &str) -> String {
    let text = text.trim();
    let without_scheme = text.split_once("://").map_or(text, |(_, rest)| rest);
    let authority = without_scheme.split(['/', '?', '#']).next().unwrap_or_default();
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, host)| host);
    let host = match host_port.rsplit_once(':') {
        Some((host, port)) if port.bytes().all(|b| b.is_ascii_digit()) => host,
        _ => host_port,
    };
    host.trim_end_matches('.').to_ascii_lowercase()
}

/// IIS writes spaces in user agents as `+`: compare in the spaced form.
fn normalize_user_agent(ua: &str) -> String {
    ua.trim().replace('+', " ").split_whitespace().collect::<Vec<_>>().join(" ").to_ascii_lowercase()
}

/// A published user agent whose parentheses do not close was cut short.
fn is_cut_short(ua: &str) -> bool {
    ua.matches('(').count() > ua.matches(')').count()
}

/// Path components, lowercase, without drive letters, environment variables or
/// empty parts; cut at the part where installs agree (`FrontEnd` for Exchange,
/// whose install folder varies).
fn path_components(path: &str) -> Vec<String> {
    let parts: Vec<String> = path
        .split(['\\', '/'])
        .map(str::trim)
        .filter(|part| !part.is_empty() && *part != ".")
        .filter(|part| !(part.len() == 2 && part.ends_with(':')))
        .filter(|part| !(part.starts_with('%') && part.ends_with('%') && part.len() > 2))
        .filter(|part| !part.starts_with("$env:") && !part.starts_with("$("))
        .map(str::to_lowercase)
        .collect();
    match parts.iter().position(|part| part == "frontend") {
        Some(start) => parts[start..].to_vec(),
        None => parts,
    }
}

fn evidence_components(path: &str) -> Vec<String> {
    path.split(['\\', '/']).filter(|part| !part.is_empty()).map(str::to_lowercase).collect()
}

/// Indicators indexed for the lookups the hunt does per file and per log line.
#[derive(Debug, Clone, Default)]
pub struct IocSet {
    entries: Vec<Ioc>,
    by_value: HashMap<(IocKind, String), Vec<usize>>,
    /// File-name and path indicators under their last component, lowercase.
    by_file_name: HashMap<String, Vec<usize>>,
    /// Path indicators' components, parallel to `entries` (empty for others).
    components: Vec<Vec<String>>,
    /// Path indicators that name a folder (written with a trailing separator).
    folders: Vec<usize>,
    user_agents: Vec<usize>,
}

impl IocSet {
    pub fn new() -> IocSet {
        IocSet::default()
    }

    /// The indicators compiled into the binary (`data/kb/ioc/iocs.csv`).
    pub fn embedded() -> Result<IocSet, LoadError> {
        IocSet::from_csv_text(EMBEDDED_IOCS, "ioc/iocs.csv")
    }

    /// `ioc/iocs.csv` under a `--kb DIR`, or the embedded set when the
    /// directory has none.
    pub fn from_kb_dir(dir: &Path) -> Result<IocSet, LoadError> {
        let path = dir.join("ioc").join("iocs.csv");
        if !path.exists() {
            return IocSet::embedded();
        }
        let text = std::fs::read_to_string(&path)
            .map_err(|source| LoadError::Io { path: path.display().to_string(), source })?;
        IocSet::from_csv_text(&text, &path.display().to_string())
    }

    /// The seawall IOC CSV: `kind,value,actor,source,reference,note` with a
    /// header; `#` lines are comments.
    pub fn from_csv_text(text: &str, file: &str) -> Result<IocSet, LoadError> {
        #[derive(Deserialize)]
        struct Row {
            kind: String,
            value: String,
            #[serde(default)]
            actor: String,
            source: String,
            #[serde(default)]
            reference: String,
            #[serde(default)]
            note: String,
        }
        let mut reader = csv::ReaderBuilder::new()
            .comment(Some(b'#'))
            .flexible(false)
            .trim(csv::Trim::All)
            .from_reader(text.as_bytes());
        let mut set = IocSet::new();
        for (index, row) in reader.deserialize::<Row>().enumerate() {
            let row = row.map_err(|e| LoadError::data(file, format!("row {}: {e}", index + 2)))?;
            let kind: IocKind =
                row.kind.parse().map_err(|e| LoadError::data(file, format!("row {}: {e}", index + 2)))?;
            let mut ioc = Ioc::new(kind, &row.value, Some(&row.actor), &row.source).ok_or_else(|| {
                LoadError::data(file, format!("row {}: {:?} is not a valid {kind}", index + 2, row.value))
            })?;
            ioc.reference = Some(row.reference).filter(|r| !r.is_empty());
            ioc.note = Some(row.note).filter(|n| !n.is_empty());
            set.push(ioc);
        }
        Ok(set)
    }

    /// Add one indicator (an exact duplicate of one already held is dropped).
    pub fn push(&mut self, ioc: Ioc) {
        let key = (ioc.kind, ioc.value.to_lowercase());
        if let Some(existing) = self.by_value.get(&key)
            && existing.iter().any(|&i| {
                let held = &self.entries[i];
                held.source == ioc.source && held.actor == ioc.actor
            })
        {
            return;
        }
        let index = self.entries.len();
        let components = if ioc.kind == IocKind::FilePath { path_components(&ioc.value) } else { Vec::new() };
        match ioc.kind {
            IocKind::FileName => {
                self.by_file_name.entry(ioc.value.to_lowercase()).or_default().push(index);
            }
            IocKind::FilePath if ioc.value.ends_with('\\') => self.folders.push(index),
            IocKind::FilePath => {
                if let Some(last) = components.last() {
                    self.by_file_name.entry(last.clone()).or_default().push(index);
                }
            }
            IocKind::UserAgent => self.user_agents.push(index),
            _ => {}
        }
        self.by_value.entry(key).or_default().push(index);
        self.components.push(components);
        self.entries.push(ioc);
    }

    pub fn extend(&mut self, other: IocSet) {
        for ioc in other.entries {
            self.push(ioc);
        }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &Ioc> {
        self.entries.iter()
    }

    /// How many indicators of a kind are held (MD5 and SHA-1 of scanned files
    /// are only worth computing when this is non-zero).
    pub fn count(&self, kind: IocKind) -> usize {
        self.entries.iter().filter(|ioc| ioc.kind == kind).count()
    }

    /// Every group named by at least one indicator, sorted.
    pub fn actors(&self) -> Vec<&str> {
        let mut actors: Vec<&str> = self.entries.iter().filter_map(|ioc| ioc.actor.as_deref()).collect();
        actors.sort_unstable();
        actors.dedup();
        actors
    }

    fn exact(&self, kind: IocKind, value: &str) -> Vec<&Ioc> {
        self.by_value
            .get(&(kind, value.to_lowercase()))
            .map(|indexes| indexes.iter().map(|&i| &self.entries[i]).collect())
            .unwrap_or_default()
    }

    /// A file hash of any kind (picked by length), hex in either case.
    pub fn ioc_for_hash(&self, hex: &str) -> Vec<&Ioc> {
        let hex = hex.trim().to_ascii_lowercase();
        match hex.len() {
            32 => self.exact(IocKind::Md5, &hex),
            40 => self.exact(IocKind::Sha1, &hex),
            64 => self.exact(IocKind::Sha256, &hex),
            _ => Vec::new(),
        }
    }

    /// An IP as a log writes it (`1.2.3.4`, `1.2.3.4:443`, `[::1]:443`, `::ffff:1.2.3.4`).
    pub fn ioc_for_ip(&self, ip: &str) -> Vec<&Ioc> {
        match parse_ip(ip) {
            Some(ip) => self.exact(IocKind::Ip, &ip.to_string()),
            None => Vec::new(),
        }
    }

    /// A host name or URL; a subdomain of an indicator matches it too.
    pub fn ioc_for_domain(&self, host_or_url: &str) -> Vec<&Ioc> {
        let host = host_of(&refang(host_or_url));
        let mut found = Vec::new();
        let mut rest = host.as_str();
        loop {
            found.extend(self.exact(IocKind::Domain, rest));
            match rest.split_once('.') {
                Some((_, parent)) if parent.contains('.') => rest = parent,
                _ => break,
            }
        }
        found
    }

    /// A user agent as logged (IIS `+` for spaces or real spaces). Matches the
    /// whole string; an indicator published cut short (an unclosed parenthesis)
    /// matches as a prefix.
    pub fn ioc_for_user_agent(&self, ua: &str) -> Vec<&Ioc> {
        let ua = normalize_user_agent(ua);
        if ua.is_empty() {
            return Vec::new();
        }
        self.user_agents
            .iter()
            .map(|&i| &self.entries[i])
            .filter(|ioc| ua == ioc.value || (is_cut_short(&ioc.value) && ua.starts_with(&ioc.value)))
            .collect()
    }

    /// A file path as the evidence names it (Windows or POSIX separators, any
    /// case): path indicators whose components end the path, folder
    /// indicators the path lies in, and file-name indicators equal to its last
    /// component.
    pub fn ioc_for_path(&self, path: &str) -> Vec<&Ioc> {
        let parts = evidence_components(path);
        let Some((name, folders)) = parts.split_last() else { return Vec::new() };
        let mut found: Vec<&Ioc> = self
            .by_file_name
            .get(name)
            .into_iter()
            .flatten()
            .filter(|&&i| self.entries[i].kind == IocKind::FileName || parts.ends_with(&self.components[i]))
            .map(|&i| &self.entries[i])
            .collect();
        for &i in &self.folders {
            let wanted = &self.components[i];
            if !wanted.is_empty() && folders.windows(wanted.len()).any(|window| window == wanted.as_slice()) {
                found.push(&self.entries[i]);
            }
        }
        found
    }
}

impl KnowledgeBase {
    /// The indicators that go with this knowledge base: `ioc/iocs.csv` of a
    /// `--kb DIR` when it has one, else the embedded set.
    pub fn iocs(&self) -> Result<IocSet, LoadError> {
        if self.origin() == "embedded" {
            return IocSet::embedded();
        }
        IocSet::from_kb_dir(Path::new(self.origin()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(rows: &str) -> IocSet {
        let text = format!("kind,value,actor,source,reference,note\n{rows}");
        IocSet::from_csv_text(&text, "test").unwrap_or_default()
    }

    #[test]
    fn embedded_set_loads_and_names_groups() {
        let set = IocSet::embedded().unwrap_or_default();
        assert!(set.len() > 100, "only {} indicators", set.len());
        for group in ["HAFNIUM", "Tick", "Calypso", "Winnti Group", "Mikroceen", "Tonto Team", "DLTMiner"] {
            assert!(set.actors().contains(&group), "{group} missing from {:?}", set.actors());
        }
        for kind in IocKind::ALL {
            assert!(set.count(kind) > 0, "no {kind} indicator");
        }
    }

    #[test]
    fn ips_match_with_ports_and_mapped_forms() {
        let set = set("ip,165.232.154[.]116,HAFNIUM,t,,\n");
        assert_eq!(set.ioc_for_ip("165.232.154.116").len(), 1);
        assert_eq!(set.ioc_for_ip("165.232.154.116:443").len(), 1);
        assert_eq!(set.ioc_for_ip("::ffff:165.232.154.116").len(), 1);
        assert!(set.ioc_for_ip("165.232.154.11").is_empty());
        assert!(set.ioc_for_ip("not an ip").is_empty());
    }

    #[test]
    fn domains_match_subdomains_and_urls() {
        let set = set("domain,lab.symantecsafe[.]org,Tonto Team,eset,,\n");
        assert_eq!(set.ioc_for_domain("LAB.symantecsafe.org.").len(), 1);
        assert_eq!(set.ioc_for_domain("x.lab.symantecsafe.org").len(), 1);
        assert_eq!(set.ioc_for_domain("https://lab.symantecsafe.org:8443/a?b").len(), 1);
        assert!(set.ioc_for_domain("symantecsafe.org").is_empty());
        assert!(set.ioc_for_domain("notlab.symantecsafe.org.evil").is_empty());
    }

    #[test]
    fn user_agents_compare_in_spaced_form() {
        let set = set(
            "user_agent,python-requests/2.25.1,,mstic,,\nuser_agent,Mozilla/5.0+(compatible;+Googlebot/2.1;++http://www.google.com/bot.html,,x,,\n",
        );
        assert_eq!(set.ioc_for_user_agent("python-requests/2.25.1").len(), 1);
        assert!(set.ioc_for_user_agent("python-requests/2.25.10").is_empty());
        assert_eq!(
            set.ioc_for_user_agent("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)").len(),
            1
        );
    }

    #[test]
    fn paths_match_as_suffix_with_either_separator() {
        let set = set(concat!(
            "path,C:\\inetpub\\wwwroot\\aspnet_client\\shell.aspx,Winnti Group,eset,,\n",
            "path,%PROGRAMFILES%\\Microsoft\\Exchange Server\\V15\\FrontEnd\\HttpProxy\\owa\\auth\\bob.aspx,HAFNIUM,mstic,,\n",
            "filename,errorEE.aspx,,scs,,\n",
        ));
        assert_eq!(set.ioc_for_path("/mnt/e/C/inetpub/wwwroot/aspnet_client/Shell.aspx").len(), 1);
        assert_eq!(set.ioc_for_path("E:\\case\\inetpub\\wwwroot\\aspnet_client\\shell.aspx").len(), 1);
        assert!(set.ioc_for_path("/site/shell.aspx").is_empty());
        assert_eq!(set.ioc_for_path("D:/Exchange/FrontEnd/HttpProxy/owa/auth/bob.aspx").len(), 1);
        assert_eq!(set.ioc_for_path("/x/y/erroree.aspx").len(), 1);
    }

    #[test]
    fn folder_indicators_match_files_beneath() {
        let set = set("path,C:\\Users\\All Users\\COM1\\,,sb,,\n");
        assert_eq!(set.ioc_for_path("/e/C/Users/All Users/COM1/x/a.aspx").len(), 1);
        assert!(set.ioc_for_path("/e/C/Users/All Users/COM1").is_empty());
        assert!(set.ioc_for_path("/e/C/Users/All Users/COM10/a.aspx").is_empty());
    }

    #[test]
    fn hashes_pick_their_kind_by_length_and_reject_junk() {
        let set = set("sha256,B75F163CA9B9240BF4B37AD92BC7556B40A17E27C2B8ED5C8991385FE07D17D0,HAFNIUM,mstic,,\n");
        assert_eq!(set.ioc_for_hash("b75f163ca9b9240bf4b37ad92bc7556b40a17e27c2b8ed5c8991385fe07d17d0").len(), 1);
        assert!(set.ioc_for_hash("b75f").is_empty());
        let bad = IocSet::from_csv_text("kind,value,actor,source,reference,note\nmd5,xyz,,s,,\n", "t");
        assert!(bad.is_err());
    }

    #[test]
    fn duplicates_from_one_source_are_dropped() {
        let set = set("ip,1.2.3.4,,a,,\nip,1.2.3.4,,a,,\nip,1.2.3.4,,b,,\n");
        assert_eq!(set.len(), 2);
    }
}
