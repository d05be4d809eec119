//! `--ioc FILE`: indicator files in the formats responders are handed —
//! seawall's own CSV, other CSVs (MSTIC, Volexity style), plain hash or value
//! lists, STIX 2.1 bundles with simple patterns, and MISP JSON exports.
//!
//! Everything here parses untrusted text: no panics, no unbounded recursion
//! beyond serde_json's own limit, and values that are not indicators are
//! skipped and counted rather than failing the file.

use std::net::IpAddr;
use std::path::Path;

use seawall_kb::{Ioc, IocKind, IocSet, refang};
use serde_json::Value;

use crate::Error;

/// Why indicator text is not a file seawall reads (the message names the format it looked like).
#[derive(Debug, thiserror::Error)]
pub enum IocFileError {
    #[error("not valid JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("JSON that is neither a STIX 2.1 bundle nor a MISP event export")]
    UnknownJson,
    /// seawall's own CSV (`kind,value,...`) with a row it refuses.
    #[error(transparent)]
    SeawallCsv(#[from] seawall_kb::LoadError),
    #[error("CSV header: {0}")]
    CsvHeader(csv::Error),
    #[error("CSV without an indicator column")]
    NoIndicatorColumn,
}

/// What a parse produced: the indicators and how many entries were not usable.
#[derive(Debug, Clone, Default)]
pub struct IocParse {
    pub set: IocSet,
    /// Entries (lines, attributes, patterns) that held no indicator seawall uses.
    pub skipped: usize,
    /// The format recognised: `seawall-csv`, `csv`, `list`, `stix`, `misp`.
    pub format: &'static str,
}

/// Read and parse one `--ioc FILE`; `source` of every indicator is the file name.
pub fn load_ioc_file(path: &Path) -> Result<IocParse, Error> {
    let bytes = std::fs::read(path).map_err(|source| Error::Io { path: path.to_path_buf(), source })?;
    let text = String::from_utf8_lossy(&bytes);
    let source = path.file_name().map_or_else(|| path.display().to_string(), |n| n.to_string_lossy().into_owned());
    parse_ioc_text(&text, &source).map_err(|source| Error::IocFile { path: path.to_path_buf(), source })
}

/// Parse indicator text of any supported format (told apart by content).
pub fn parse_ioc_text(text: &str, source: &str) -> Result<IocParse, IocFileError> {
    let text = text.trim_start_matches('\u{feff}');
    let trimmed = text.trim_start();
    if trimmed.starts_with('{') || trimmed.starts_with('[') {
        let value: Value = serde_json::from_str(trimmed)?;
        if is_stix(&value) {
            return Ok(parse_stix(&value, source));
        }
        if let Some(parse) = parse_misp(&value, source) {
            return Ok(parse);
        }
        return Err(IocFileError::UnknownJson);
    }
    let first = text.lines().map(str::trim).find(|l| !l.is_empty() && !l.starts_with('#')).unwrap_or_default();
    let header: Vec<String> = first.split(',').map(|h| h.trim().trim_matches('"').to_ascii_lowercase()).collect();
    if header.iter().any(|h| h == "kind") && header.iter().any(|h| h == "value") {
        let set = IocSet::from_csv_text(text, source)?;
        return Ok(IocParse { set, skipped: 0, format: "seawall-csv" });
    }
    if header.len() > 1 && header.iter().any(|h| VALUE_COLUMNS.contains(&h.as_str())) {
        return parse_csv(text, source);
    }
    Ok(parse_list(text, source))
}

const VALUE_COLUMNS: [&str; 6] = ["indicator", "value", "ioc", "observable", "hash", "indicator_value"];
const TYPE_COLUMNS: [&str; 5] = ["indicatortype", "type", "kind", "ioc_type", "indicator_type"];
const ACTOR_COLUMNS: [&str; 5] = ["actor", "threat_actor", "threatactor", "group", "intrusion_set"];
const NOTE_COLUMNS: [&str; 4] = ["notes", "note", "description", "comment"];

/// A kind from a feed's type word (`sha256`, `filepath`, `ipaddress`, `ip-dst`...).
fn kind_of_type(word: &str) -> Option<IocKind> {
    let word = word.trim().to_ascii_lowercase();
    let kind = match word.as_str() {
        "md5" | "filehash-md5" | "file_md5" => IocKind::Md5,
        "sha1" | "sha-1" | "filehash-sha1" | "file_sha1" => IocKind::Sha1,
        "sha256" | "sha-256" | "filehash-sha256" | "file_sha256" => IocKind::Sha256,
        "filepath" | "path" | "file_path" | "filename|path" => IocKind::FilePath,
        "filename" | "file_name" | "name" => IocKind::FileName,
        "ip" | "ipv4" | "ipv6" | "ipaddress" | "ip-dst" | "ip-src" | "ipv4-addr" | "ipv6-addr" | "ip_address" => {
            IocKind::Ip
        }
        "domain" | "hostname" | "domain-name" | "fqdn" | "host" => IocKind::Domain,
        "user-agent" | "useragent" | "user_agent" | "ua" => IocKind::UserAgent,
        _ => return None,
    };
    Some(kind)
}

/// The kind a bare value most likely is; `None` for anything else.
fn infer_kind(value: &str) -> Option<IocKind> {
    let value = refang(value);
    let value = value.trim();
    if value.is_empty() {
        return None;
    }
    if value.bytes().all(|b| b.is_ascii_hexdigit()) {
        return match value.len() {
            32 => Some(IocKind::Md5),
            40 => Some(IocKind::Sha1),
            64 => Some(IocKind::Sha256),
            _ => None,
        };
    }
    if value.parse::<IpAddr>().is_ok() {
        return Some(IocKind::Ip);
    }
    if value.contains(['\\', '/']) {
        return if value.contains("://") { Some(IocKind::Domain) } else { Some(IocKind::FilePath) };
    }
    let (_, last) = value.rsplit_once('.')?;
    let last = last.to_ascii_lowercase();
    if FILE_EXTENSIONS.contains(&last.as_str()) {
        return Some(IocKind::FileName);
    }
    let hostlike = value.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-');
    (hostlike && last.len() >= 2 && last.bytes().all(|b| b.is_ascii_alphabetic())).then_some(IocKind::Domain)
}

const FILE_EXTENSIONS: [&str; 24] = [
    "aspx", "ashx", "asmx", "ascx", "asp", "asa", "cer", "exe", "dll", "sys", "ps1", "bat", "cmd", "vbs", "js", "jsp",
    "php", "zip", "7z", "rar", "dmp", "txt", "log", "config",
];

fn push(parse: &mut IocParse, kind: Option<IocKind>, value: &str, actor: Option<&str>, source: &str, note: &str) {
    let ioc = kind.and_then(|kind| Ioc::new(kind, value, actor, source));
    match ioc {
        Some(mut ioc) => {
            ioc.note = Some(note.trim()).filter(|n| !n.is_empty()).map(str::to_owned);
            parse.set.push(ioc);
        }
        None => parse.skipped += 1,
    }
}

fn parse_csv(text: &str, source: &str) -> Result<IocParse, IocFileError> {
    let mut reader =
        csv::ReaderBuilder::new().comment(Some(b'#')).flexible(true).trim(csv::Trim::All).from_reader(text.as_bytes());
    let headers: Vec<String> =
        reader.headers().map_err(IocFileError::CsvHeader)?.iter().map(str::to_ascii_lowercase).collect();
    let column = |names: &[&str]| headers.iter().position(|h| names.contains(&h.as_str()));
    let value_at = column(&VALUE_COLUMNS).ok_or(IocFileError::NoIndicatorColumn)?;
    let type_at = column(&TYPE_COLUMNS);
    let actor_at = column(&ACTOR_COLUMNS);
    let note_at = column(&NOTE_COLUMNS);
    let mut parse = IocParse { format: "csv", ..IocParse::default() };
    for record in reader.records() {
        let Ok(record) = record else {
            parse.skipped += 1;
            continue;
        };
        let value = record.get(value_at).unwrap_or_default();
        let kind = match type_at.and_then(|i| record.get(i)) {
            Some(word) if !word.is_empty() => kind_of_type(word).or_else(|| infer_kind(value)),
            _ => infer_kind(value),
        };
        let actor = actor_at.and_then(|i| record.get(i));
        let note = note_at.and_then(|i| record.get(i)).unwrap_or_default();
        push(&mut parse, kind, value, actor, source, note);
    }
    Ok(parse)
}

/// One value a line: `hash`, `hash;description` (Loki), `hash  name` (sha256sum).
fn parse_list(text: &str, source: &str) -> IocParse {
    let mut parse = IocParse { format: "list", ..IocParse::default() };
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with("//") {
            continue;
        }
        let (value, note) = match line.split_once([';', '\t', ',', '|']) {
            Some((value, note)) => (value.trim(), note.trim()),
            None => match line.split_once(char::is_whitespace) {
                Some((value, rest)) if infer_kind(value).is_some_and(IocKind::is_hash) => (value, rest.trim()),
                _ => (line, ""),
            },
        };
        push(&mut parse, infer_kind(value), value, None, source, note);
    }
    parse
}

fn is_stix(value: &Value) -> bool {
    value.get("type").and_then(Value::as_str) == Some("bundle")
        || (value.get("type").and_then(Value::as_str) == Some("indicator") && value.get("pattern").is_some())
}

/// STIX 2.1: indicators with simple comparison patterns; the group comes from
/// an `indicates` relationship to an intrusion-set or threat-actor.
fn parse_stix(bundle: &Value, source: &str) -> IocParse {
    let single = [bundle.clone()];
    let objects: &[Value] = match bundle.get("objects").and_then(Value::as_array) {
        Some(objects) => objects,
        None => &single,
    };
    let mut names = std::collections::HashMap::new();
    for object in objects {
        let kind = object.get("type").and_then(Value::as_str).unwrap_or_default();
        if matches!(kind, "intrusion-set" | "threat-actor" | "campaign")
            && let (Some(id), Some(name)) =
                (object.get("id").and_then(Value::as_str), object.get("name").and_then(Value::as_str))
        {
            names.insert(id.to_owned(), name.to_owned());
        }
    }
    let mut actor_of = std::collections::HashMap::new();
    for object in objects {
        if object.get("type").and_then(Value::as_str) == Some("relationship")
            && object.get("relationship_type").and_then(Value::as_str) == Some("indicates")
            && let (Some(from), Some(to)) =
                (object.get("source_ref").and_then(Value::as_str), object.get("target_ref").and_then(Value::as_str))
            && let Some(name) = names.get(to)
        {
            actor_of.insert(from.to_owned(), name.clone());
        }
    }
    let mut parse = IocParse { format: "stix", ..IocParse::default() };
    for object in objects {
        if object.get("type").and_then(Value::as_str) != Some("indicator") {
            continue;
        }
        let pattern_type = object.get("pattern_type").and_then(Value::as_str).unwrap_or("stix");
        let Some(pattern) = object.get("pattern").and_then(Value::as_str).filter(|_| pattern_type == "stix") else {
            parse.skipped += 1;
            continue;
        };
        let id = object.get("id").and_then(Value::as_str).unwrap_or_default();
        let actor = actor_of.get(id).map(String::as_str);
        let note = object.get("name").or_else(|| object.get("description")).and_then(Value::as_str).unwrap_or_default();
        let comparisons = stix_comparisons(pattern);
        if comparisons.is_empty() {
            parse.skipped += 1;
        }
        for (path, value) in comparisons {
            push(&mut parse, stix_kind(&path), &value, actor, source, note);
        }
    }
    parse
}

/// The kind an object path of a STIX comparison names.
fn stix_kind(path: &str) -> Option<IocKind> {
    let path = path.to_ascii_lowercase().replace(['\'', '"'], "");
    if let Some(hash) = path.strip_prefix("file:hashes.") {
        return match hash.replace('-', "").as_str() {
            "md5" => Some(IocKind::Md5),
            "sha1" => Some(IocKind::Sha1),
            "sha256" => Some(IocKind::Sha256),
            _ => None,
        };
    }
    match path.as_str() {
        "file:name" => Some(IocKind::FileName),
        "file:parent_directory_ref.path" | "directory:path" => Some(IocKind::FilePath),
        "ipv4-addr:value" | "ipv6-addr:value" => Some(IocKind::Ip),
        "domain-name:value" | "url:value" => Some(IocKind::Domain),
        p if p.ends_with("request_header.user-agent") => Some(IocKind::UserAgent),
        _ => None,
    }
}

fn is_path_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, ':' | '.' | '_' | '-')
}

/// `(object path, value)` of every `path = 'value'` comparison in a pattern.
fn stix_comparisons(pattern: &str) -> Vec<(String, String)> {
    let mut found = Vec::new();
    let chars: Vec<char> = pattern.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        if chars[i] != '=' || (i > 0 && matches!(chars[i - 1], '!' | '<' | '>')) {
            i += 1;
            continue;
        }
        // The object path: back from '=' over spaces, then path characters and quoted parts.
        let mut start = i;
        while start > 0 && chars[start - 1] == ' ' {
            start -= 1;
        }
        let end_path = start;
        let mut in_quote = false;
        while start > 0 {
            let c = chars[start - 1];
            if c == '\'' {
                in_quote = !in_quote;
            } else if !in_quote && !is_path_char(c) {
                break;
            }
            start -= 1;
        }
        let path: String = chars[start..end_path].iter().collect();
        // The value: a quoted string with \' and \\ escapes.
        let mut j = i + 1;
        while j < chars.len() && chars[j] == ' ' {
            j += 1;
        }
        if j < chars.len() && chars[j] == '\'' {
            let mut value = String::new();
            j += 1;
            while j < chars.len() && chars[j] != '\'' {
                if chars[j] == '\\' && j + 1 < chars.len() {
                    j += 1;
                }
                value.push(chars[j]);
                j += 1;
            }
            if !path.is_empty() {
                found.push((path, value));
            }
        }
        i = j + 1;
    }
    found
}

/// MISP: `{"Event": {...}}`, `{"response": [{"Event": ...}]}` or a list of
/// either; attributes at the event level and inside objects; the group from
/// threat-actor galaxy clusters or `misp-galaxy:threat-actor=` tags.
fn parse_misp(value: &Value, source: &str) -> Option<IocParse> {
    let mut events = Vec::new();
    collect_misp_events(value, &mut events, 0);
    if events.is_empty() {
        return None;
    }
    let mut parse = IocParse { format: "misp", ..IocParse::default() };
    for event in events {
        let actor = misp_actor(event);
        let info = event.get("info").and_then(Value::as_str).unwrap_or_default();
        let mut attributes: Vec<&Value> =
            event.get("Attribute").and_then(Value::as_array).map(|a| a.iter().collect()).unwrap_or_default();
        for object in event.get("Object").and_then(Value::as_array).into_iter().flatten() {
            attributes.extend(object.get("Attribute").and_then(Value::as_array).into_iter().flatten());
        }
        for attribute in attributes {
            let kind_word = attribute.get("type").and_then(Value::as_str).unwrap_or_default();
            let value = attribute.get("value").and_then(Value::as_str).unwrap_or_default();
            let note = attribute.get("comment").and_then(Value::as_str).filter(|c| !c.is_empty()).unwrap_or(info);
            // Composite types: `filename|sha256` → both halves; `ip-dst|port` → the IP.
            match kind_word.split_once('|') {
                Some((left, right)) => {
                    let (left_value, right_value) = value.split_once('|').unwrap_or((value, ""));
                    if right == "port" {
                        push(&mut parse, kind_of_type(left), left_value, actor.as_deref(), source, note);
                    } else {
                        push(&mut parse, kind_of_type(left), left_value, actor.as_deref(), source, note);
                        push(&mut parse, kind_of_type(right), right_value, actor.as_deref(), source, note);
                    }
                }
                None => push(&mut parse, kind_of_type(kind_word), value, actor.as_deref(), source, note),
            }
        }
    }
    Some(parse)
}

fn collect_misp_events<'a>(value: &'a Value, events: &mut Vec<&'a Value>, depth: usize) {
    if depth > 4 {
        return;
    }
    match value {
        Value::Array(items) => items.iter().for_each(|item| collect_misp_events(item, events, depth + 1)),
        Value::Object(map) => {
            if let Some(event) = map.get("Event") {
                events.push(event);
            } else if let Some(response) = map.get("response") {
                collect_misp_events(response, events, depth + 1);
            }
        }
        _ => {}
    }
}

fn misp_actor(event: &Value) -> Option<String> {
    for galaxy in event.get("Galaxy").and_then(Value::as_array).into_iter().flatten() {
        let kind = galaxy.get("type").and_then(Value::as_str).unwrap_or_default();
        if kind == "threat-actor" || kind == "mitre-intrusion-set" {
            let cluster = galaxy.get("GalaxyCluster").and_then(Value::as_array).and_then(|c| c.first());
            if let Some(name) = cluster.and_then(|c| c.get("value")).and_then(Value::as_str) {
                return Some(name.to_owned());
            }
        }
    }
    for tag in event.get("Tag").and_then(Value::as_array).into_iter().flatten() {
        let name = tag.get("name").and_then(Value::as_str).unwrap_or_default();
        for prefix in ["misp-galaxy:threat-actor=", "misp-galaxy:mitre-intrusion-set="] {
            if let Some(actor) = name.strip_prefix(prefix) {
                return Some(actor.trim_matches('"').to_owned());
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stix_comparisons_are_read_with_escapes_and_ors() {
        let found = stix_comparisons(
            "[file:hashes.'SHA-256' = 'abc' OR file:hashes.MD5='d\\'e'] AND [ipv4-addr:value != '1.1.1.1']",
        );
        assert_eq!(
            found,
            vec![
                ("file:hashes.'SHA-256'".to_owned(), "abc".to_owned()),
                ("file:hashes.MD5".to_owned(), "d'e".to_owned())
            ]
        );
    }

    #[test]
    fn kinds_are_inferred_from_bare_values() {
        assert_eq!(infer_kind("d41d8cd98f00b204e9800998ecf8427e"), Some(IocKind::Md5));
        assert_eq!(infer_kind("86.105.18[.]116"), Some(IocKind::Ip));
        assert_eq!(infer_kind("lab.symantecsafe[.]org"), Some(IocKind::Domain));
        assert_eq!(infer_kind("errorEE.aspx"), Some(IocKind::FileName));
        assert_eq!(infer_kind(r"C:\inetpub\wwwroot\aspnet_client\x.aspx"), Some(IocKind::FilePath));
        assert_eq!(infer_kind("hello"), None);
    }

    #[test]
    fn loki_hash_lines_keep_their_description() {
        let parse = parse_ioc_text(
            "# comment\nb75f163ca9b9240bf4b37ad92bc7556b40a17e27c2b8ed5c8991385fe07d17d0;HAFNIUM webshell\n",
            "h.txt",
        )
        .unwrap_or_default();
        assert_eq!(parse.format, "list");
        let hits = parse.set.ioc_for_hash("b75f163ca9b9240bf4b37ad92bc7556b40a17e27c2b8ed5c8991385fe07d17d0");
        assert_eq!(hits.len(), 1);
        assert_eq!(hits[0].note.as_deref(), Some("HAFNIUM webshell"));
    }

    #[test]
    fn garbage_json_is_an_error_not_a_panic() {
        assert!(parse_ioc_text("{\"a\": [1, 2", "x").is_err());
        assert!(parse_ioc_text("{\"a\": 1}", "x").is_err());
        assert!(parse_ioc_text("[[[[[[[[[[]]]]]]]]]]", "x").is_err());
    }
}
