//! IIS W3C extended logs: `#Fields:` directives name the columns and may change
//! anywhere in a file; values are space-separated, `-` means empty, spaces in
//! values were written as `+`.

use std::borrow::Cow;

use crate::record::{Record, RecordSource};

/// The W3C default field set, for files cut by a collector before their first directive.
pub const IIS_DEFAULT_FIELDS: &str = "date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip cs(User-Agent) cs(Referer) sc-status sc-substatus sc-win32-status time-taken";

/// The columns in force.
#[derive(Debug, Clone, Default)]
pub struct W3cSchema {
    names: Vec<String>,
    date: Option<usize>,
    time: Option<usize>,
}

impl W3cSchema {
    /// From the text after `#Fields:`.
    pub fn parse(fields: &str) -> W3cSchema {
        let names: Vec<String> = fields.split_whitespace().map(str::to_owned).collect();
        let find = |n: &str| names.iter().position(|f| f.eq_ignore_ascii_case(n));
        W3cSchema { date: find("date"), time: find("time"), names }
    }

    pub fn index(&self, name: &str) -> Option<usize> {
        self.names.iter().position(|f| f.eq_ignore_ascii_case(name))
    }

    pub fn names(&self) -> &[String] {
        &self.names
    }

    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }
}

/// What a line of a W3C file is.
#[derive(Debug)]
pub enum W3cLine<'a> {
    /// `#Fields:` with the new schema's text.
    Fields(&'a str),
    /// Another `#` directive.
    Directive,
    Data,
    Blank,
    /// Not text we can read as a directive.
    Invalid(&'a [u8]),
}

pub fn line_kind(line: &[u8]) -> W3cLine<'_> {
    if line.iter().all(u8::is_ascii_whitespace) {
        return W3cLine::Blank;
    }
    if line.first() == Some(&b'#') {
        return match std::str::from_utf8(line) {
            Ok(text) => match text.strip_prefix("#Fields:") {
                Some(fields) => W3cLine::Fields(fields),
                None => W3cLine::Directive,
            },
            Err(_) => W3cLine::Invalid(line),
        };
    }
    W3cLine::Data
}

/// One data line read against a schema.
#[derive(Debug)]
pub struct W3cRecord<'a> {
    schema: &'a W3cSchema,
    values: Vec<&'a [u8]>,
    raw: &'a [u8],
    line: u64,
}

impl<'a> W3cRecord<'a> {
    pub fn new(schema: &'a W3cSchema, raw: &'a [u8], line: u64) -> W3cRecord<'a> {
        // Sized for the schema: growing the vector was a visible cost on busy logs.
        let mut values = Vec::with_capacity(schema.names.len());
        values.extend(raw.split(|b| *b == b' ').filter(|v| !v.is_empty()));
        W3cRecord { schema, values, raw, line }
    }

    /// Whether the line has as many values as the schema has names.
    pub fn is_complete(&self) -> bool {
        self.values.len() == self.schema.names.len()
    }

    fn value_at(&self, index: usize) -> Option<&'a [u8]> {
        self.values.get(index).copied().filter(|v| *v != b"-")
    }
}

impl Record for W3cRecord<'_> {
    fn field(&self, name: &str) -> Option<Cow<'_, str>> {
        if name == "_raw" {
            return Some(String::from_utf8_lossy(self.raw));
        }
        let value = self.value_at(self.schema.index(name)?)?;
        Some(String::from_utf8_lossy(value))
    }

    fn time(&self) -> Option<jiff::Timestamp> {
        let date = self.value_at(self.schema.date?)?;
        let time = self.value_at(self.schema.time?)?;
        // IIS writes UTC, as `YYYY-MM-DD` and `HH:MM:SS`: read directly (formatting and
        // parsing a string per line was a tenth of a hunt); any other shape through jiff's parser.
        iis_timestamp(date, time).or_else(|| {
            let date = std::str::from_utf8(date).ok()?;
            let time = std::str::from_utf8(time).ok()?;
            format!("{date}T{time}Z").parse().ok()
        })
    }

    fn source(&self) -> RecordSource {
        RecordSource::Line(self.line)
    }

    fn raw(&self) -> Cow<'_, [u8]> {
        Cow::Borrowed(self.raw)
    }
}

/// `YYYY-MM-DD` and `HH:MM:SS` in UTC; `None` for any other shape or an invalid date.
fn iis_timestamp(date: &[u8], time: &[u8]) -> Option<jiff::Timestamp> {
    fn number(digits: &[u8]) -> Option<i16> {
        digits.iter().try_fold(0i16, |n, d| d.is_ascii_digit().then(|| n * 10 + i16::from(d - b'0')))
    }
    let [y0, y1, y2, y3, b'-', m0, m1, b'-', d0, d1] = *date else { return None };
    let [h0, h1, b':', n0, n1, b':', s0, s1] = *time else { return None };
    let datetime = jiff::civil::DateTime::new(
        number(&[y0, y1, y2, y3])?,
        i8::try_from(number(&[m0, m1])?).ok()?,
        i8::try_from(number(&[d0, d1])?).ok()?,
        i8::try_from(number(&[h0, h1])?).ok()?,
        i8::try_from(number(&[n0, n1])?).ok()?,
        i8::try_from(number(&[s0, s1])?).ok()?,
        0,
    )
    .ok()?;
    jiff::tz::Offset::UTC.to_timestamp(datetime).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_fields_by_name_and_time_in_utc() {
        let schema = W3cSchema::parse(
            " date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip cs(User-Agent) sc-status",
        );
        let line = b"2021-03-03 06:49:42 10.0.0.5 POST /ecp/y.js - 443 - 198.51.100.7 python-requests/2.25.1 200";
        let record = W3cRecord::new(&schema, line, 12);
        assert!(record.is_complete());
        assert_eq!(record.field("CS-METHOD").as_deref(), Some("POST"));
        assert_eq!(record.field("cs-uri-query"), None, "- is empty");
        assert_eq!(record.field("cs(user-agent)").as_deref(), Some("python-requests/2.25.1"));
        assert_eq!(record.time().map(|t| t.to_string()).as_deref(), Some("2021-03-03T06:49:42Z"));
        assert_eq!(record.source(), RecordSource::Line(12));
    }

    #[test]
    fn direct_time_reading_agrees_with_the_parser() {
        let schema = W3cSchema::parse("date time");
        for (date, time) in [
            ("2021-03-03", "06:49:42"),
            ("2024-02-29", "23:59:59"),
            ("1999-12-31", "00:00:00"),
            ("2023-02-29", "12:00:00"),
            ("2021-13-01", "12:00:00"),
            ("2021-03-03", "24:00:00"),
            ("2021-03-03", "06:49:42.5"),
            ("2021-3-03", "06:49:42"),
            ("2021-03-03", "06:49"),
            ("２０２１-03-03", "06:49:42"),
        ] {
            let line = format!("{date} {time}");
            let record = W3cRecord::new(&schema, line.as_bytes(), 1);
            let parsed: Option<jiff::Timestamp> = format!("{date}T{time}Z").parse().ok();
            assert_eq!(record.time(), parsed, "{line}");
        }
    }

    #[test]
    fn classifies_directives() {
        assert!(matches!(line_kind(b"#Fields: date time"), W3cLine::Fields(" date time")));
        assert!(matches!(line_kind(b"#Software: Microsoft Internet Information Services 10.0"), W3cLine::Directive));
        assert!(matches!(line_kind(b"   "), W3cLine::Blank));
        assert!(matches!(line_kind(b"#\xff\xfe"), W3cLine::Invalid(_)));
    }

    #[test]
    fn short_lines_are_incomplete_not_misread() {
        let schema = W3cSchema::parse("date time cs-uri-stem sc-status");
        let record = W3cRecord::new(&schema, b"2021-03-03 06:49:42 /owa/", 3);
        assert!(!record.is_complete());
        assert_eq!(record.field("sc-status"), None);
    }
}
