//! A seawall record as rsigma sees it: Sigma field names resolved through a field set.

use std::borrow::Cow;

use rsigma_eval::{Event, EventValue};
use seawall_sources::evtx::EvtxEvent;
use seawall_sources::{Record, RecordSource};
use serde_json::Value;

use crate::mapping::{FieldRef, FieldSet};

/// A record handed to the Sigma engine.
#[derive(Clone, Copy)]
pub enum SigmaRecord<'a> {
    /// An EVTX event: every field with its exact value (empty values included).
    Evtx(&'a EvtxEvent),
    /// A line of a text log (IIS W3C, Exchange CSV): fields by name; keywords search the line.
    Line(&'a dyn Record),
}

impl std::fmt::Debug for SigmaRecord<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SigmaRecord::Evtx(event) => f.debug_tuple("Evtx").field(&event.record_id).finish(),
            SigmaRecord::Line(record) => f.debug_tuple("Line").field(&record.source()).finish(),
        }
    }
}

impl<'a> SigmaRecord<'a> {
    /// A record field by its own name, case-insensitively.
    pub fn field(&self, name: &str) -> Option<Cow<'a, str>> {
        match *self {
            SigmaRecord::Evtx(event) => {
                event.fields.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| Cow::Borrowed(v.as_str()))
            }
            SigmaRecord::Line(record) => record.field(name).map(|v| Cow::Owned(v.into_owned())),
        }
    }

    /// The event time, when the record has one.
    pub fn time(&self) -> Option<jiff::Timestamp> {
        match *self {
            SigmaRecord::Evtx(event) => event.time,
            SigmaRecord::Line(record) => record.time(),
        }
    }

    /// (line number, EVTX record number) of the record.
    pub fn position(&self) -> (Option<u64>, Option<u64>) {
        let source = match *self {
            SigmaRecord::Evtx(event) => return (None, Some(event.record_id)),
            SigmaRecord::Line(record) => record.source(),
        };
        match source {
            RecordSource::Line(n) => (Some(n), None),
            RecordSource::EvtxRecord(n) => (None, Some(n)),
        }
    }

    /// Every value keywords are searched in.
    pub(crate) fn visit_values(&self, visit: &mut dyn FnMut(&str) -> bool) -> bool {
        match *self {
            SigmaRecord::Evtx(event) => event.fields.iter().any(|(_, v)| visit(v)),
            SigmaRecord::Line(record) => record.field("_raw").is_some_and(|raw| visit(&raw)),
        }
    }
}

/// One record read through one field set.
pub(crate) struct MappedRecord<'a> {
    pub(crate) record: SigmaRecord<'a>,
    pub(crate) fields: &'a FieldSet,
}

impl MappedRecord<'_> {
    fn resolve(&self, sigma_name: &str) -> Option<EventValue<'_>> {
        if let Some(FieldRef::PlusAsSpace(name)) = self.fields.lookup(sigma_name) {
            // SigmaHQ writes IIS user agents both ways ('Nmap Scripting Engine' and
            // 'Mozilla/5.0+(compatible;+Baiduspider/2.0...'): offer the value as stored and
            // decoded; rsigma matches an array when any member matches.
            return self.record.field(name).map(|value| {
                if value.contains('+') {
                    let decoded = value.replace('+', " ");
                    EventValue::Array(vec![EventValue::Str(value), EventValue::Str(Cow::Owned(decoded))])
                } else {
                    EventValue::Str(value)
                }
            });
        }
        self.resolve_text(sigma_name).map(EventValue::Str)
    }

    pub(crate) fn resolve_text(&self, sigma_name: &str) -> Option<Cow<'_, str>> {
        match self.fields.lookup(sigma_name) {
            Some(FieldRef::Name(name) | FieldRef::PlusAsSpace(name)) => self.record.field(name),
            Some(FieldRef::Join { fields, separator }) => {
                let parts: Vec<Cow<'_, str>> = fields.iter().filter_map(|f| self.record.field(f)).collect();
                match parts.len() {
                    0 => None,
                    1 => parts.into_iter().next(),
                    _ => Some(Cow::Owned(parts.join(separator.as_str()))),
                }
            }
            None if self.fields.closed => None,
            None => self.record.field(sigma_name),
        }
    }
}

impl Event for MappedRecord<'_> {
    fn get_field(&self, path: &str) -> Option<EventValue<'_>> {
        self.resolve(path)
    }

    fn any_string_value(&self, pred: &dyn Fn(&str) -> bool) -> bool {
        self.record.visit_values(&mut |value| pred(value))
    }

    fn all_string_values(&self) -> Vec<Cow<'_, str>> {
        let mut out = Vec::new();
        self.record.visit_values(&mut |value| {
            out.push(Cow::Owned(value.to_owned()));
            false
        });
        out
    }

    fn visit_string_values(&self, visit: &mut dyn FnMut(&str)) {
        self.record.visit_values(&mut |value| {
            visit(value);
            false
        });
    }

    fn to_json(&self) -> Value {
        match self.record {
            SigmaRecord::Evtx(event) => {
                Value::Object(event.fields.iter().map(|(k, v)| (k.clone(), Value::String(v.clone()))).collect())
            }
            SigmaRecord::Line(record) => {
                let raw = record.field("_raw").map(|r| r.into_owned()).unwrap_or_default();
                serde_json::json!({ "_raw": raw })
            }
        }
    }
}
