//! Entra ID (Azure AD) sign-in log exports, CSV from the portal or JSON from
//! the portal and Graph, read into sign-in attempts for the spray detector.

use std::cell::Cell;
use std::io::{self, BufRead, Read};
use std::rc::Rc;

use serde::de::{DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};

use crate::csvlog::{CsvSchema, split_csv};
use crate::lines::LineReader;

/// One sign-in attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignIn {
    pub time: jiff::Timestamp,
    pub user: Option<String>,
    pub ip: String,
    pub user_agent: Option<String>,
    pub success: bool,
    /// The sign-in error code (`0` for success, `50126` wrong password, `50074` second factor
    /// required...), when the export has it: the hunt tells a rejected password from an
    /// accepted one waiting for MFA by it.
    pub error_code: Option<String>,
    /// 1-based line (CSV) or array index + 1 (JSON).
    pub position: u64,
}

/// Whether a header row or JSON head looks like a sign-in export.
pub fn looks_like_sign_ins(head: &str) -> bool {
    let lower = head.to_ascii_lowercase();
    (lower.contains("userprincipalname") && lower.contains("createddatetime") && lower.contains("ipaddress"))
        || (lower.contains("ip address") && lower.contains("date (utc)") && lower.contains("user"))
}

fn column(schema: &CsvSchema, names: &[&str]) -> Option<usize> {
    names.iter().find_map(|n| schema.index(n))
}

/// Unreadable rows listed one by one per export; the rest are counted.
pub const MAX_LISTED_ERRORS: usize = 100;
/// Longest JSON sign-in object read (a portal or Graph sign-in is a few KiB).
pub const MAX_JSON_ITEM: u64 = 1 << 20;

/// A row or item that could not be read, or why reading stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportError {
    /// `line N` (CSV), `item N` (JSON) or `byte N`.
    pub position: String,
    pub message: String,
}

/// What reading an export gave besides its sign-ins.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ExportSummary {
    pub sign_ins: u64,
    /// Bytes of the export read (after decompression).
    pub bytes: u64,
    /// The first [`MAX_LISTED_ERRORS`] problems.
    pub errors: Vec<ExportError>,
    /// Problems beyond those listed.
    pub errors_not_listed: u64,
}

impl ExportSummary {
    /// Positions and messages are built only for the problems listed (a flood of bad rows
    /// costs a counter each).
    fn problem(&mut self, position: impl FnOnce() -> String, message: impl Into<String>) {
        if self.errors.len() < MAX_LISTED_ERRORS {
            self.errors.push(ExportError { position: position(), message: message.into() });
        } else {
            self.errors_not_listed += 1;
        }
    }
}

/// Read a sign-in export (CSV, or JSON when it starts with `[` or `{`) as a stream: each
/// sign-in goes to `on_sign_in` as it is read, at most `limit` bytes are read (more is an
/// error, not a silent cut), memory stays at one line or one JSON item whatever the input.
pub fn read_export(mut reader: impl BufRead, limit: u64, on_sign_in: impl FnMut(SignIn)) -> ExportSummary {
    let first = loop {
        match reader.fill_buf() {
            Ok(buffer) => {
                break buffer.iter().copied().find(|b| !b.is_ascii_whitespace() && !matches!(b, 0xef | 0xbb | 0xbf));
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                let mut summary = ExportSummary::default();
                summary.problem(|| "byte 0".into(), format!("not read: {e}"));
                return summary;
            }
        }
    };
    if matches!(first, Some(b'[' | b'{')) {
        read_json(reader, limit, on_sign_in)
    } else {
        read_csv(reader, limit, on_sign_in)
    }
}

fn read_csv(reader: impl BufRead, limit: u64, mut on_sign_in: impl FnMut(SignIn)) -> ExportSummary {
    let mut summary = ExportSummary::default();
    let mut lines = LineReader::new(reader.take(limit.saturating_add(1)));
    let mut columns: Option<Columns> = None;
    loop {
        let line = match lines.next_line() {
            Ok(Some(line)) => line,
            Ok(None) => break,
            Err(e) => {
                let at = lines.bytes_read();
                summary.problem(|| format!("byte {at}"), format!("read error: {e}"));
                break;
            }
        };
        let text = String::from_utf8_lossy(line.bytes);
        if text.trim().is_empty() {
            continue;
        }
        let number = line.number;
        let position = || format!("line {number}");
        if line.truncated {
            summary.problem(position, format!("line longer than {} KiB: not read", crate::lines::MAX_LINE / 1024));
            continue;
        }
        let Some(columns) = &columns else {
            let schema = CsvSchema::parse(text.trim_start_matches('\u{feff}').as_bytes());
            match Columns::of(&schema) {
                Some(found) => columns = Some(found),
                None => {
                    summary.problem(position, "no date or IP address column: not a sign-in export");
                    break;
                }
            }
            continue;
        };
        match columns.sign_in(&text, line.number) {
            Ok(sign_in) => {
                summary.sign_ins += 1;
                on_sign_in(sign_in);
            }
            Err(message) => summary.problem(position, message),
        }
    }
    summary.bytes = lines.bytes_read().min(limit);
    if lines.bytes_read() > limit {
        summary.problem(|| format!("byte {limit}"), format!("export larger than {limit} bytes: the rest was not read"));
    }
    summary
}

/// Where the fields of a CSV export are.
struct Columns {
    time: usize,
    ip: usize,
    user: Option<usize>,
    agent: Option<usize>,
    status: Option<usize>,
    code: Option<usize>,
}

impl Columns {
    fn of(schema: &CsvSchema) -> Option<Columns> {
        Some(Columns {
            time: column(schema, &["Date (UTC)", "Date", "createdDateTime"])?,
            ip: column(schema, &["IP address", "ipAddress"])?,
            user: column(schema, &["Username", "User principal name", "userPrincipalName", "User"]),
            agent: column(schema, &["User agent", "userAgent"]),
            status: column(schema, &["Status"]),
            code: column(schema, &["Sign-in error code", "errorCode"]),
        })
    }

    fn sign_in(&self, line: &str, number: u64) -> Result<SignIn, &'static str> {
        let cells = split_csv(line.as_bytes());
        let get = |i: Option<usize>| {
            i.and_then(|i| cells.get(i)).map(|c| String::from_utf8_lossy(c).trim().to_owned()).filter(|s| !s.is_empty())
        };
        let time = get(Some(self.time)).and_then(|t| parse_time(&t)).ok_or("unreadable date")?;
        let ip = get(Some(self.ip)).ok_or("no IP address")?;
        let error_code = get(self.code);
        let success = match (get(self.status), error_code.as_deref()) {
            (Some(s), _) => s.eq_ignore_ascii_case("success"),
            (None, Some(c)) => c == "0",
            (None, None) => false,
        };
        Ok(SignIn {
            error_code,
            time,
            user: get(self.user).map(|u| u.to_ascii_lowercase()),
            ip,
            user_agent: get(self.agent),
            success,
            position: number,
        })
    }
}

/// Bytes handed to the JSON parser: at most `per_item` per sign-in object (reset by the
/// item loop) and `limit` in all, so one huge string cannot fill memory.
struct Budgeted<R> {
    inner: R,
    item_left: Rc<Cell<u64>>,
    total: Rc<Cell<u64>>,
    limit: u64,
}

impl<R: Read> Read for Budgeted<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let item_left = self.item_left.get();
        let total_left = self.limit.saturating_sub(self.total.get());
        if item_left == 0 {
            return Err(io::Error::other(format!("a sign-in object longer than {MAX_JSON_ITEM} bytes")));
        }
        if total_left == 0 {
            return Err(io::Error::other(format!("export larger than {} bytes: the rest was not read", self.limit)));
        }
        let room = buf.len().min(item_left.min(total_left).try_into().unwrap_or(usize::MAX));
        let read = self.inner.read(&mut buf[..room])?;
        self.item_left.set(item_left - read as u64);
        self.total.set(self.total.get() + read as u64);
        Ok(read)
    }
}

fn read_json(reader: impl BufRead, limit: u64, on_sign_in: impl FnMut(SignIn)) -> ExportSummary {
    let item_left = Rc::new(Cell::new(MAX_JSON_ITEM));
    let total = Rc::new(Cell::new(0));
    let budgeted = Budgeted { inner: reader, item_left: Rc::clone(&item_left), total: Rc::clone(&total), limit };
    let mut summary = ExportSummary::default();
    let mut items = Items { on_sign_in, summary: &mut summary, item_left, index: 0 };
    let mut deserializer = serde_json::Deserializer::from_reader(budgeted);
    let outcome = serde::Deserializer::deserialize_any(&mut deserializer, TopLevel { items: &mut items });
    let index = items.index;
    if let Err(e) = outcome {
        let at = total.get();
        let position = || if index > 0 { format!("item {}", index + 1) } else { format!("byte {at}") };
        summary.problem(position, format!("sign-in JSON: {e}"));
    }
    summary.bytes = total.get();
    summary
}

/// The sign-ins of a JSON export, one item at a time.
struct Items<'s, F> {
    on_sign_in: F,
    summary: &'s mut ExportSummary,
    item_left: Rc<Cell<u64>>,
    /// Items read so far.
    index: u64,
}

impl<F: FnMut(SignIn)> Items<'_, F> {
    fn item(&mut self, item: &serde_json::Value) {
        self.index += 1;
        match sign_in_of(item, self.index) {
            Ok(sign_in) => {
                self.summary.sign_ins += 1;
                (self.on_sign_in)(sign_in);
            }
            Err(message) => {
                let index = self.index;
                self.summary.problem(|| format!("item {index}"), message)
            }
        }
    }
}

/// An array of sign-ins, or Graph's `{"value": [...]}`.
struct TopLevel<'a, 's, F> {
    items: &'a mut Items<'s, F>,
}

impl<'de, F: FnMut(SignIn)> Visitor<'de> for TopLevel<'_, '_, F> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("an array of sign-ins or an object with a `value` array")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<(), A::Error> {
        ItemList { items: self.items }.visit_seq(seq)
    }

    fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<(), M::Error> {
        let mut found = false;
        loop {
            self.items.item_left.set(MAX_JSON_ITEM);
            let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? else { break };
            if key == "value" {
                map.next_value_seed(ItemList { items: &mut *self.items })?;
                found = true;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        if found { Ok(()) } else { Err(serde::de::Error::custom("no `value` array")) }
    }
}

struct ItemList<'a, 's, F> {
    items: &'a mut Items<'s, F>,
}

impl<'de, F: FnMut(SignIn)> DeserializeSeed<'de> for ItemList<'_, '_, F> {
    type Value = ();

    fn deserialize<D: serde::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de, F: FnMut(SignIn)> Visitor<'de> for ItemList<'_, '_, F> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("an array of sign-ins")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        loop {
            self.items.item_left.set(MAX_JSON_ITEM);
            let Some(item) = seq.next_element::<serde_json::Value>()? else { break };
            self.items.item(&item);
        }
        self.items.item_left.set(MAX_JSON_ITEM);
        Ok(())
    }
}

fn sign_in_of(item: &serde_json::Value, index: u64) -> Result<SignIn, &'static str> {
    let text = |p: &str| item.pointer(p).and_then(|v| v.as_str()).map(str::to_owned).filter(|s| !s.is_empty());
    let time = text("/createdDateTime").and_then(|t| parse_time(&t)).ok_or("no readable createdDateTime")?;
    let ip = text("/ipAddress").ok_or("no ipAddress")?;
    let code = item.pointer("/status/errorCode").and_then(|v| v.as_i64());
    Ok(SignIn {
        time,
        user: text("/userPrincipalName").map(|u| u.to_ascii_lowercase()),
        ip,
        user_agent: text("/userAgent").or_else(|| text("/clientAppUsed")),
        success: code == Some(0),
        error_code: code.map(|c| c.to_string()),
        position: index,
    })
}

fn parse_time(text: &str) -> Option<jiff::Timestamp> {
    text.parse::<jiff::Timestamp>().ok().or_else(|| format!("{text}Z").parse().ok()).or_else(|| {
        text.parse::<jiff::civil::DateTime>()
            .ok()
            .and_then(|d| d.to_zoned(jiff::tz::TimeZone::UTC).ok())
            .map(|z| z.timestamp())
    })
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    fn read(text: &[u8], limit: u64) -> (Vec<SignIn>, ExportSummary) {
        let mut sign_ins = Vec::new();
        let summary = read_export(text, limit, |s| sign_ins.push(s));
        (sign_ins, summary)
    }

    #[test]
    fn reads_a_portal_csv_export() {
        let csv = "Date (UTC),Request ID,User agent,Username,IP address,Status,Sign-in error code\n\
                   2025-01-10T10:00:00Z,r1,fasthttp,Alice@Example.org,203.0.113.9,Failure,50126\n\
                   2025-01-10T10:01:00Z,r2,fasthttp,bob@example.org,203.0.113.9,Success,0\n\
                   not-a-date,r3,x,y,203.0.113.9,Failure,50126\n\
                   2025-01-10T10:01:00Z,r4,x,y,,Failure,50126\n";
        assert!(looks_like_sign_ins(csv.lines().next().unwrap_or_default()));
        let (sign_ins, summary) = read(csv.as_bytes(), u64::MAX);
        assert_eq!(sign_ins.len(), 2);
        assert_eq!(sign_ins[0].user.as_deref(), Some("alice@example.org"));
        assert!(!sign_ins[0].success && sign_ins[1].success);
        let errors: Vec<(&str, &str)> =
            summary.errors.iter().map(|e| (e.position.as_str(), e.message.as_str())).collect();
        assert_eq!(errors, vec![("line 4", "unreadable date"), ("line 5", "no IP address")]);
        assert_eq!(summary.bytes, csv.len() as u64);
    }

    #[test]
    fn reads_a_graph_json_export() {
        let json = r#"{"@odata.context":"x","value":[{"createdDateTime":"2025-01-10T10:00:00Z","userPrincipalName":"a@x.org","ipAddress":"203.0.113.9","clientAppUsed":"fasthttp","status":{"errorCode":50126}},{"ipAddress":"1.2.3.4"}],"@odata.nextLink":"y"}"#;
        let (sign_ins, summary) = read(json.as_bytes(), u64::MAX);
        assert_eq!(sign_ins.len(), 1);
        assert_eq!(sign_ins[0].user_agent.as_deref(), Some("fasthttp"));
        assert!(!sign_ins[0].success);
        assert_eq!(
            summary.errors,
            vec![ExportError { position: "item 2".into(), message: "no readable createdDateTime".into() }]
        );
        let (_, summary) = read(b"[1,2", u64::MAX);
        assert_eq!(summary.errors.len(), 3, "{summary:?}");
        assert!(summary.errors[2].message.starts_with("sign-in JSON"), "{summary:?}");
    }

    // See: issue 14 (an Entra export was cut at 512 MiB without an error).
    #[test]
    fn an_export_over_the_limit_is_an_error_not_a_silent_cut() {
        let mut csv = String::from("Date (UTC),Username,IP address,Status\n");
        for i in 0..100 {
            csv.push_str(&format!("2025-01-10T10:00:{:02}Z,u{i}@x.org,203.0.113.9,Failure\n", i % 60));
        }
        let (sign_ins, summary) = read(csv.as_bytes(), 1000);
        assert!(sign_ins.len() < 100);
        let last = summary.errors.last().expect("an error");
        assert!(last.message.contains("larger than 1000 bytes"), "{summary:?}");
        let json =
            format!("[{}]", vec![r#"{"createdDateTime":"2025-01-10T10:00:00Z","ipAddress":"1.2.3.4"}"#; 100].join(","));
        let (sign_ins, summary) = read(json.as_bytes(), 1000);
        assert!(!sign_ins.is_empty() && sign_ins.len() < 100);
        assert!(summary.errors.last().is_some_and(|e| e.message.contains("larger than 1000 bytes")), "{summary:?}");
    }

    // See: issue 14 (a 19 KB gzip of bad Entra rows used 4.9 GB).
    #[test]
    fn a_flood_of_bad_rows_is_listed_up_to_the_cap_and_counted() {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        gz.write_all(b"Date (UTC),Username,IP address,Status\n").expect("gzip");
        let rows = 200_000u64;
        for _ in 0..rows {
            gz.write_all(b"not-a-date,u@x.org,203.0.113.9,Failure\n").expect("gzip");
        }
        let compressed = gz.finish().expect("gzip");
        let reader = std::io::BufReader::new(flate2::read::MultiGzDecoder::new(&compressed[..]));
        let summary = read_export(reader, u64::MAX, |_| {});
        assert_eq!(summary.errors.len(), MAX_LISTED_ERRORS);
        assert_eq!(summary.errors.len() as u64 + summary.errors_not_listed, rows);
        assert_eq!(summary.sign_ins, 0);
    }

    #[test]
    fn one_huge_json_item_is_refused_without_reading_it_into_memory() {
        let mut json = br#"[{"createdDateTime":"2025-01-10T10:00:00Z","ipAddress":"1.2.3.4"},{"userAgent":""#.to_vec();
        json.resize(json.len() + 3 * MAX_JSON_ITEM as usize, b'a');
        json.extend_from_slice(br#""}]"#);
        let (sign_ins, summary) = read(&json, u64::MAX);
        assert_eq!(sign_ins.len(), 1);
        assert!(summary.bytes < 2 * MAX_JSON_ITEM, "{}", summary.bytes);
        assert!(summary.errors[0].message.contains("longer than"), "{summary:?}");
        assert_eq!(summary.errors[0].position, "item 2");
    }
}
