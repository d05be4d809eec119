//! Windows event logs through the `evtx` crate: each record flattened to named
//! fields (System plus EventData/UserData), corrupt chunks reported, not fatal.

use std::borrow::Cow;
use std::io::{self, Read};
use std::path::Path;
use std::sync::Arc;

use evtx::{EvtxChunkData, ParserSettings};
use serde_json::Value;

use crate::record::{Record, RecordSource};

/// One event with flattened fields. Security 4688 and Sysmon 1 both get
/// `Image`, `ParentImage` and `CommandLine`, so one rule serves both.
#[derive(Debug, Clone)]
pub struct EvtxEvent {
    pub record_id: u64,
    pub time: Option<jiff::Timestamp>,
    pub fields: Vec<(String, String)>,
    raw: String,
}

impl EvtxEvent {
    pub fn from_json(record_id: u64, value: &Value) -> EvtxEvent {
        let event = value.get("Event").unwrap_or(value);
        let mut fields = Vec::new();
        if let Some(system) = event.get("System") {
            let text = |v: &Value| match v {
                Value::Object(map) => map.get("#text").map(scalar).unwrap_or_default(),
                other => scalar(other),
            };
            if let Some(id) = system.get("EventID") {
                fields.push(("EventID".to_owned(), text(id)));
            }
            for name in ["Channel", "Computer", "Level", "Task"] {
                if let Some(v) = system.get(name) {
                    fields.push((name.to_owned(), text(v)));
                }
            }
            // `separate_json_attributes` puts XML attributes in `<name>_attributes` siblings.
            if let Some(provider) =
                system.pointer("/Provider_attributes/Name").or_else(|| system.pointer("/Provider/#attributes/Name"))
            {
                fields.push(("Provider".to_owned(), scalar(provider)));
            }
        }
        for section in ["EventData", "UserData"] {
            if let Some(data) = event.get(section) {
                flatten(data, "", &mut fields);
            }
        }
        let time = event
            .pointer("/System/TimeCreated_attributes/SystemTime")
            .or_else(|| event.pointer("/System/TimeCreated/#attributes/SystemTime"))
            .and_then(Value::as_str)
            .and_then(|t| t.parse::<jiff::Timestamp>().ok());
        normalise_process_creation(&mut fields);
        let raw = serde_json::to_string(value).unwrap_or_default();
        EvtxEvent { record_id, time, fields, raw }
    }
}

fn scalar(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        Value::Array(items) => items.iter().map(scalar).collect::<Vec<_>>().join(" "),
        other => other.to_string(),
    }
}

/// Named leaves keep their name; unnamed `Data` items become `Data` (joined) and `Data1`, `Data2`...
fn flatten(value: &Value, name: &str, fields: &mut Vec<(String, String)>) {
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                if key == "#attributes" || key.ends_with("_attributes") {
                    continue;
                }
                let child_name = if key == "#text" { name.to_owned() } else { key.clone() };
                flatten(child, &child_name, fields);
            }
        }
        Value::Array(items) if name == "Data" || name.is_empty() => {
            let texts: Vec<String> = items.iter().map(scalar).collect();
            for (i, text) in texts.iter().enumerate() {
                fields.push((format!("Data{}", i + 1), text.clone()));
            }
            fields.push(("Data".to_owned(), texts.join(" ")));
        }
        other if !name.is_empty() => fields.push((name.to_owned(), scalar(other))),
        _ => {}
    }
}

fn normalise_process_creation(fields: &mut Vec<(String, String)>) {
    let get = |fields: &Vec<(String, String)>, n: &str| fields.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone());
    if let Some(image) = get(fields, "NewProcessName")
        && get(fields, "Image").is_none()
    {
        fields.push(("Image".to_owned(), image));
    }
    if let Some(parent) = get(fields, "ParentProcessName")
        && get(fields, "ParentImage").is_none()
    {
        fields.push(("ParentImage".to_owned(), parent));
    }
}

impl Record for EvtxEvent {
    fn field(&self, name: &str) -> Option<Cow<'_, str>> {
        if name == "_raw" {
            return Some(Cow::Borrowed(&self.raw));
        }
        self.fields
            .iter()
            .find(|(k, v)| k.eq_ignore_ascii_case(name) && !v.is_empty() && v != "-")
            .map(|(_, v)| Cow::Borrowed(v.as_str()))
    }

    fn time(&self) -> Option<jiff::Timestamp> {
        self.time
    }

    fn source(&self) -> RecordSource {
        RecordSource::EvtxRecord(self.record_id)
    }

    fn raw(&self) -> Cow<'_, [u8]> {
        Cow::Borrowed(self.raw.as_bytes())
    }
}

/// An EVTX file is a 4 KiB header followed by 64 KiB chunks, each readable on its own.
const FILE_HEADER_LEN: usize = 4096;
const CHUNK_LEN: usize = 65536;

/// Read `reader` up to `buf.len()` bytes, fewer only at the end of the stream.
fn read_full(reader: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// Every record of an EVTX stream, one 64 KiB chunk in memory at a time, so a file (or a
/// gzip'd copy, which cannot seek) costs the same memory whatever its size. At most `limit`
/// bytes are read. `on_error` hears of each part that is lost: a corrupt chunk, a chunk's
/// unreadable records (counted, one message per chunk), a file that ends inside a chunk, a
/// file cut at `limit`. Chunks are read in file order (a wrapped-around log's records are
/// then not in record order; the hunt sorts by time). Returns the bytes read.
pub fn read_stream(
    mut reader: impl Read,
    limit: u64,
    mut on_event: impl FnMut(EvtxEvent),
    mut on_error: impl FnMut(String),
) -> u64 {
    let mut header = vec![0u8; FILE_HEADER_LEN];
    let read = match read_full(&mut reader, &mut header) {
        Ok(read) => read,
        Err(e) => {
            on_error(format!("not read: {e}"));
            return 0;
        }
    };
    let mut total = read as u64;
    if let Err(e) = evtx::EvtxFileHeader::from_bytes(&header[..read]).map_err(|e| e.to_string()).and_then(|_| {
        if read == FILE_HEADER_LEN { Ok(()) } else { Err(format!("{read} bytes, shorter than its file header")) }
    }) {
        on_error(format!("not a readable EVTX file: {e}"));
        return total;
    }
    let settings = Arc::new(ParserSettings::default().separate_json_attributes(true).num_threads(1));
    for number in 0u64.. {
        if total >= limit {
            let mut probe = [0u8; 1];
            if matches!(read_full(&mut reader, &mut probe), Ok(1)) {
                on_error(format!("larger than {limit} bytes: the rest of the file was not read"));
            }
            break;
        }
        let mut data = vec![0u8; CHUNK_LEN];
        let read = match read_full(&mut reader, &mut data) {
            Ok(read) => read,
            Err(e) => {
                on_error(format!("read error in chunk {number}: {e}"));
                break;
            }
        };
        total += read as u64;
        if read == 0 {
            break;
        }
        // Unused chunks of a preallocated log are zeros.
        if data[..read].iter().all(|b| *b == 0) {
            if read < CHUNK_LEN {
                break;
            }
            continue;
        }
        if read < CHUNK_LEN {
            on_error(format!(
                "the file ends inside chunk {number} ({read} of {CHUNK_LEN} bytes): the records of that chunk are lost"
            ));
            break;
        }
        read_chunk(data, number, &settings, &mut on_event, &mut on_error);
    }
    total
}

/// The records of one chunk; its unreadable records are counted into one message.
fn read_chunk(
    data: Vec<u8>,
    number: u64,
    settings: &Arc<ParserSettings>,
    on_event: &mut impl FnMut(EvtxEvent),
    on_error: &mut impl FnMut(String),
) {
    let mut chunk_data = match EvtxChunkData::new(data, false) {
        Ok(chunk) => chunk,
        Err(e) => {
            on_error(format!("chunk {number} not readable, its records are lost: {e}"));
            return;
        }
    };
    chunk_data.number = Some(number);
    let mut chunk = match chunk_data.parse(Arc::clone(settings)) {
        Ok(chunk) => chunk,
        Err(e) => {
            on_error(format!("chunk {number} not readable, its records are lost: {e}"));
            return;
        }
    };
    let mut lost = 0u64;
    let mut first_problem = None;
    for record in chunk.iter() {
        match record.and_then(|record| record.into_json_value()) {
            Ok(record) => on_event(EvtxEvent::from_json(record.event_record_id, &record.data)),
            Err(e) => {
                lost += 1;
                first_problem.get_or_insert_with(|| e.to_string());
            }
        }
    }
    if let Some(problem) = first_problem {
        let records = if lost == 1 { "record".to_owned() } else { format!("{lost} records") };
        on_error(format!("chunk {number}: {records} not readable (first: {problem})"));
    }
}

/// Every record of an EVTX file held in memory (tests and fuzzing; the hunt streams with [`read_stream`]).
pub fn read_events(bytes: Vec<u8>, on_event: impl FnMut(EvtxEvent), on_error: impl FnMut(String)) {
    read_stream(&bytes[..], u64::MAX, on_event, on_error);
}

/// Every record of the (possibly gzip'd) EVTX file at `path`, streamed (see [`read_stream`]).
pub fn read_path(
    path: &Path,
    limit: u64,
    on_event: impl FnMut(EvtxEvent),
    on_error: impl FnMut(String),
) -> io::Result<u64> {
    let opened = crate::open::open(path)?;
    Ok(read_stream(opened.reader, limit, on_event, on_error))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flattens_system_and_named_event_data() {
        let json: Value = serde_json::json!({"Event": {
            "System": {"EventID": 4688, "Channel": "Security", "Provider_attributes": {"Name": "Microsoft-Windows-Security-Auditing"},
                       "TimeCreated_attributes": {"SystemTime": "2021-03-03T07:01:02.123Z"}},
            "EventData": {"NewProcessName": "C:\\Windows\\System32\\cmd.exe", "ParentProcessName": "C:\\Windows\\System32\\inetsrv\\w3wp.exe", "CommandLine": "cmd /c whoami"}
        }});
        let event = EvtxEvent::from_json(9, &json);
        assert_eq!(event.field("EventID").as_deref(), Some("4688"));
        assert_eq!(event.field("provider").as_deref(), Some("Microsoft-Windows-Security-Auditing"));
        assert_eq!(event.field("Image").as_deref(), Some("C:\\Windows\\System32\\cmd.exe"));
        assert_eq!(event.field("ParentImage").as_deref(), Some("C:\\Windows\\System32\\inetsrv\\w3wp.exe"));
        assert_eq!(event.time.map(|t| t.to_string()).as_deref(), Some("2021-03-03T07:01:02.123Z"));
        assert_eq!(event.source(), RecordSource::EvtxRecord(9));
    }

    #[test]
    fn unnamed_data_items_are_numbered_and_joined() {
        let json: Value = serde_json::json!({"Event": {"System": {"EventID": {"#text": 1, "#attributes": {"Qualifiers": 0}}},
            "EventData": {"Data": {"#text": ["New-MailboxExportRequest", "-Mailbox \"x\" -FilePath \"\\\\127.0.0.1\\c$\\inetpub\\s.aspx\""]}}}});
        let event = EvtxEvent::from_json(1, &json);
        assert_eq!(event.field("EventID").as_deref(), Some("1"));
        assert_eq!(event.field("Data1").as_deref(), Some("New-MailboxExportRequest"));
        assert!(event.field("Data").is_some_and(|d| d.contains("FilePath") && d.contains("New-MailboxExportRequest")));
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        let mut errors = Vec::new();
        read_events(b"ElfFile\0garbage".to_vec(), |_| {}, |e| errors.push(e));
        assert!(!errors.is_empty());
    }

    fn sample() -> Vec<u8> {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../../shared/corpus/logs/evtx/Yamato__DeepBlueCLI__password-spray.evtx");
        std::fs::read(path).expect("corpus sample")
    }

    fn read(bytes: &[u8], limit: u64) -> (Vec<u64>, Vec<String>) {
        let (mut ids, mut errors) = (Vec::new(), Vec::new());
        read_stream(bytes, limit, |e| ids.push(e.record_id), |e| errors.push(e));
        (ids, errors)
    }

    #[test]
    fn a_real_log_streams_chunk_by_chunk_without_errors() {
        let bytes = sample();
        assert_eq!((bytes.len() - FILE_HEADER_LEN) % CHUNK_LEN, 0);
        let (ids, errors) = read(&bytes, u64::MAX);
        assert!(errors.is_empty(), "{errors:?}");
        assert!(ids.len() > 100, "{}", ids.len());
        let mut sorted = ids.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), ids.len(), "every record once");
    }

    // See: issue 14 (an .evtx cut inside a chunk lost the chunk's records without an error).
    #[test]
    fn a_file_cut_inside_a_chunk_reports_the_lost_chunk() {
        let bytes = sample();
        let whole = read(&bytes, u64::MAX).0.len();
        let cut = &bytes[..FILE_HEADER_LEN + CHUNK_LEN + CHUNK_LEN / 2];
        let (ids, errors) = read(cut, u64::MAX);
        assert!(!ids.is_empty() && ids.len() < whole, "the first chunk is read: {}", ids.len());
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(errors[0].contains("ends inside chunk 1"), "{errors:?}");
    }

    // See: issue 14 (gzip'd EVTX were inflated whole into memory, up to 1 GiB per worker).
    #[test]
    fn a_gzip_copy_streams_and_stops_at_the_limit_with_an_error() {
        use std::io::Write;
        let bytes = sample();
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("Security.evtx.gz");
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&bytes).expect("gzip");
        std::fs::write(&path, gz.finish().expect("gzip")).expect("write");
        let (mut events, mut errors) = (0usize, Vec::new());
        let read_bytes = read_path(&path, u64::MAX, |_| events += 1, |e| errors.push(e)).expect("opens");
        assert_eq!(read_bytes, bytes.len() as u64);
        assert_eq!(events, read(&bytes, u64::MAX).0.len());
        assert!(errors.is_empty(), "{errors:?}");
        let limit = (FILE_HEADER_LEN + 2 * CHUNK_LEN) as u64;
        let (mut events, mut errors) = (0usize, Vec::new());
        let read_bytes = read_path(&path, limit, |_| events += 1, |e| errors.push(e)).expect("opens");
        assert!(read_bytes <= limit + 1, "{read_bytes}");
        assert!(events > 0);
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(errors[0].contains("larger than"), "{errors:?}");
    }

    #[test]
    fn a_corrupt_chunk_is_reported_and_the_next_one_read() {
        let mut bytes = sample();
        let whole = read(&bytes, u64::MAX).0.len();
        bytes[FILE_HEADER_LEN..FILE_HEADER_LEN + 8].copy_from_slice(b"NotChnk\0");
        let (ids, errors) = read(&bytes, u64::MAX);
        assert!(!ids.is_empty() && ids.len() < whole);
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(errors[0].starts_with("chunk 0 not readable"), "{errors:?}");
    }
}
