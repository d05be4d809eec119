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
        timestamp(self.value_at(self.schema.date?)?, self.value_at(self.schema.time?)?)
    }

    fn source(&self) -> RecordSource {
        RecordSource::Line(self.line)
    }

    fn raw(&self) -> Cow<'_, [u8]> {
        Cow::Borrowed(self.raw)
    }
}

/// The time of a line from its `date` and `time` values (UTC, as IIS writes them).
pub fn timestamp(date: &[u8], time: &[u8]) -> Option<jiff::Timestamp> {
    // IIS writes `YYYY-MM-DD` and `HH:MM:SS`: read directly (formatting and parsing a
    // string per line was a tenth of a hunt); any other shape through jiff's parser.
    iis_timestamp(date, time).or_else(|| {
        let date = std::str::from_utf8(date).ok()?;
        let time = std::str::from_utf8(time).ok()?;
        format!("{date}T{time}Z").parse().ok()
    })
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

/// The high bit of each byte of `word` that is a space, and no other bit.
fn space_bytes(word: u64) -> u64 {
    const LOW7: u64 = 0x7F7F_7F7F_7F7F_7F7F;
    let x = word ^ 0x2020_2020_2020_2020;
    // A byte's high bit is set here when the byte of x is not zero (no carry between bytes).
    let nonzero = ((x & LOW7) + LOW7) | x;
    !nonzero & 0x8080_8080_8080_8080
}

/// The values at `indexes` of a data line, split as [`W3cRecord`] splits it (on spaces,
/// empty values skipped), without building the record: for cheap tests of a few columns
/// on lines most of which are then dropped.
pub fn values_at<const N: usize>(raw: &[u8], indexes: [usize; N]) -> [Option<&[u8]>; N] {
    let mut found = [None; N];
    let Some(&last) = indexes.iter().filter(|&&index| index != usize::MAX).max() else { return found };
    let (mut start, mut seen) = (0, 0);
    let mut take = |start: usize, end: usize, seen: &mut usize| {
        if end > start {
            for (slot, &index) in found.iter_mut().zip(&indexes) {
                if index == *seen {
                    *slot = Some(&raw[start..end]);
                }
            }
            *seen += 1;
        }
        *seen > last
    };
    // Spaces found eight bytes at a time in a word (no vector code without `unsafe`): a
    // search call per value, or a byte loop, was most of the cost on short values.
    let words = raw.chunks_exact(8);
    let tail = words.remainder();
    for (word_index, word) in words.enumerate() {
        let mut spaces =
            space_bytes(u64::from_le_bytes([word[0], word[1], word[2], word[3], word[4], word[5], word[6], word[7]]));
        while spaces != 0 {
            let end = word_index * 8 + spaces.trailing_zeros() as usize / 8;
            if take(start, end, &mut seen) {
                return found;
            }
            start = end + 1;
            spaces &= spaces - 1;
        }
    }
    let tail_start = raw.len() - tail.len();
    for (offset, &byte) in tail.iter().enumerate() {
        if byte == b' ' {
            let end = tail_start + offset;
            if take(start, end, &mut seen) {
                return found;
            }
            start = end + 1;
        }
    }
    take(start, raw.len(), &mut seen);
    found
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

    #[test]
    fn values_at_split_like_the_record() {
        let schema = W3cSchema::parse(IIS_DEFAULT_FIELDS);
        let line = b"2024-05-06 00:00:00 10.0.0.5 GET /owa/  - 443 - 127.0.0.1 Probe - 401 2 5 210";
        let record = W3cRecord::new(&schema, line, 1);
        let [status, sub, first, beyond] = values_at(line, [11, 12, 0, 15]);
        assert_eq!(status, Some(&b"401"[..]));
        assert_eq!(record.field("sc-status").as_deref(), Some("401"));
        assert_eq!(sub, Some(&b"2"[..]));
        assert_eq!(first, Some(&b"2024-05-06"[..]));
        assert_eq!(beyond, None);
        assert_eq!(values_at(b"", [0]), [None]);
        assert_eq!(values_at(b"a b", [usize::MAX, 1]), [None, Some(&b"b"[..])]);
        // Across 8-byte words, runs of spaces, and a last value without a space after it.
        let long: Vec<String> = (0..200).map(|i| "v".repeat(i % 13 + 1) + &i.to_string()).collect();
        let line = long.join("  ");
        let schema = W3cSchema::parse(&(0..200).map(|i| format!("f{i}")).collect::<Vec<_>>().join(" "));
        let record = W3cRecord::new(&schema, line.as_bytes(), 1);
        for index in [0usize, 1, 5, 63, 64, 100, 199] {
            let [value] = values_at(line.as_bytes(), [index]);
            assert_eq!(
                value.map(|v| String::from_utf8_lossy(v).into_owned()),
                record.field(&format!("f{index}")).map(|f| f.into_owned()),
                "value {index}"
            );
        }
    }

    #[test]
    fn space_bytes_marks_exactly_the_spaces() {
        for byte in 0..=255u8 {
            for at in 0..8 {
                let mut word = [b'a'; 8];
                word[at] = byte;
                let expected = if byte == b' ' { 0x80u64 << (8 * at) } else { 0 };
                assert_eq!(space_bytes(u64::from_le_bytes(word)), expected, "byte {byte:#x} at {at}");
            }
        }
        assert_eq!(space_bytes(u64::from_le_bytes(*b"  a  \x00 \xa0")), 0x0080_0080_8000_8080);
    }
}
