//! Exchange's CSV logs (HttpProxy for every protocol, ECP Server, OAB Generator,
//! message tracking): `#` directives, a `#Fields:` header, quoted fields with
//! `""` escapes. Also the header-row CSV that `Export-Csv` writes.

use std::borrow::Cow;

use crate::record::{Record, RecordSource};

/// Column names.
#[derive(Debug, Clone, Default)]
pub struct CsvSchema {
    names: Vec<String>,
    time: Option<usize>,
}

impl CsvSchema {
    pub fn parse(header: &[u8]) -> CsvSchema {
        let names: Vec<String> =
            split_csv(header).into_iter().map(|n| String::from_utf8_lossy(&n).trim().to_owned()).collect();
        let time = ["DateTime", "date-time", "Timestamp", "TimeStamp"]
            .iter()
            .find_map(|t| names.iter().position(|n| n.eq_ignore_ascii_case(t)));
        CsvSchema { names, time }
    }

    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    pub fn index(&self, name: &str) -> Option<usize> {
        self.names.iter().position(|n| n.eq_ignore_ascii_case(name))
    }

    pub fn names(&self) -> &[String] {
        &self.names
    }
}

/// Split one CSV line: commas outside quotes separate; `""` inside quotes is a quote.
pub fn split_csv(line: &[u8]) -> Vec<Cow<'_, [u8]>> {
    let mut fields = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i <= line.len() {
        if i < line.len() && line[i] == b'"' && i == start {
            // Quoted field.
            let mut value = Vec::new();
            let mut j = i + 1;
            while j < line.len() {
                if line[j] == b'"' {
                    if line.get(j + 1) == Some(&b'"') {
                        value.push(b'"');
                        j += 2;
                        continue;
                    }
                    break;
                }
                value.push(line[j]);
                j += 1;
            }
            fields.push(Cow::Owned(value));
            // Skip to the next comma.
            let next = line[j.min(line.len())..].iter().position(|b| *b == b',').map(|p| j + p);
            match next {
                Some(comma) => {
                    start = comma + 1;
                    i = start;
                    if start == line.len() {
                        fields.push(Cow::Borrowed(&line[line.len()..]));
                        break;
                    }
                    continue;
                }
                None => break,
            }
        }
        if i == line.len() || line[i] == b',' {
            fields.push(Cow::Borrowed(&line[start..i]));
            start = i + 1;
        }
        i += 1;
    }
    fields
}

/// One data line against its schema.
#[derive(Debug)]
pub struct CsvRecord<'a> {
    schema: &'a CsvSchema,
    values: Vec<Cow<'a, [u8]>>,
    raw: &'a [u8],
    line: u64,
}

impl<'a> CsvRecord<'a> {
    pub fn new(schema: &'a CsvSchema, raw: &'a [u8], line: u64) -> CsvRecord<'a> {
        CsvRecord { schema, values: split_csv(raw), raw, line }
    }
}

impl Record for CsvRecord<'_> {
    fn field(&self, name: &str) -> Option<Cow<'_, str>> {
        if name == "_raw" {
            return Some(String::from_utf8_lossy(self.raw));
        }
        let value = self.values.get(self.schema.index(name)?)?;
        (!value.is_empty()).then(|| Cow::Owned(String::from_utf8_lossy(value).into_owned()))
    }

    fn time(&self) -> Option<jiff::Timestamp> {
        // Logs cut before their #Fields line still start with the date-time.
        let value = self.values.get(self.schema.time.unwrap_or(0))?;
        let text = std::str::from_utf8(value).ok()?.trim();
        text.parse::<jiff::Timestamp>().ok().or_else(|| format!("{text}Z").parse().ok())
    }

    fn source(&self) -> RecordSource {
        RecordSource::Line(self.line)
    }

    fn raw(&self) -> Cow<'_, [u8]> {
        Cow::Borrowed(self.raw)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(line: &[u8]) -> Vec<String> {
        split_csv(line).iter().map(|f| String::from_utf8_lossy(f).into_owned()).collect()
    }

    #[test]
    fn splits_quoted_fields_with_escaped_quotes_and_commas() {
        assert_eq!(texts(b"a,\"b,c\",\"say \"\"hi\"\"\",,d"), vec!["a", "b,c", "say \"hi\"", "", "d"]);
        assert_eq!(texts(b"x,"), vec!["x", ""]);
        assert_eq!(texts(b"\"unterminated"), vec!["unterminated"]);
        assert_eq!(texts(b""), vec![""]);
    }

    #[test]
    fn reads_an_httpproxy_row_by_name() {
        let schema =
            CsvSchema::parse(b"DateTime,RequestId,ClientIpAddress,UrlStem,AnchorMailbox,HttpStatus,AuthenticatedUser");
        let row = b"2021-03-03T06:49:42.162Z,abc,198.51.100.7,/ecp/y.js,ServerInfo~a]@srv.x.local:444/autodiscover/autodiscover.xml?#,200,";
        let record = CsvRecord::new(&schema, row, 7);
        assert_eq!(
            record.field("anchormailbox").as_deref(),
            Some("ServerInfo~a]@srv.x.local:444/autodiscover/autodiscover.xml?#")
        );
        assert_eq!(record.field("AuthenticatedUser"), None);
        assert_eq!(record.field("HttpStatus").as_deref(), Some("200"));
        assert_eq!(record.time().map(|t| t.to_string()).as_deref(), Some("2021-03-03T06:49:42.162Z"));
    }
}
