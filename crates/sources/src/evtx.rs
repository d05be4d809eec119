//! Windows event logs through the `evtx` crate: each record flattened to named
//! fields (System plus EventData/UserData), corrupt chunks reported, not fatal.

use std::borrow::Cow;

use evtx::{EvtxParser, ParserSettings};
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

/// Every record of an EVTX file in memory; `on_error` hears of each corrupt part.
pub fn read_events(bytes: Vec<u8>, mut on_event: impl FnMut(EvtxEvent), mut on_error: impl FnMut(String)) {
    let settings = ParserSettings::default().separate_json_attributes(true).num_threads(1);
    let mut parser = match EvtxParser::from_buffer(bytes) {
        Ok(parser) => parser.with_configuration(settings),
        Err(e) => {
            on_error(format!("not a readable EVTX file: {e}"));
            return;
        }
    };
    for record in parser.records_json_value() {
        match record {
            Ok(record) => on_event(EvtxEvent::from_json(record.event_record_id, &record.data)),
            Err(e) => on_error(e.to_string()),
        }
    }
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
}
