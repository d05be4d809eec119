//! Reading seawall's JSONL back (`seawall report`, `seawall diff`): one record a line, every
//! line bounded. A line longer than the limit is skipped without being held in memory and
//! reported with its number, as is a line that is not a seawall record.

use std::io::{self, BufRead};

use seawall_model::Record;
use seawall_sources::lines::LineReader;

/// Longest JSONL line read; a record of seawall's own output is far shorter (evidence is cut).
pub const MAX_LINE: usize = 4 << 20;
/// Bad lines listed one by one per input; the rest are counted.
pub const MAX_LISTED_BAD_LINES: usize = 100;

/// Why a line was skipped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BadLine {
    #[error("line {line}: longer than {limit} bytes, skipped")]
    TooLong { line: u64, limit: usize },
    #[error("line {line}: not a seawall record ({reason})")]
    NotARecord { line: u64, reason: String },
}

impl BadLine {
    pub fn line(&self) -> u64 {
        match self {
            BadLine::TooLong { line, .. } | BadLine::NotARecord { line, .. } => *line,
        }
    }
}

/// The bad lines of one input: the first few, and how many in all.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BadLines {
    pub listed: Vec<BadLine>,
    pub count: u64,
}

impl BadLines {
    pub fn push(&mut self, bad: BadLine) {
        self.count += 1;
        if self.listed.len() < MAX_LISTED_BAD_LINES {
            self.listed.push(bad);
        }
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }
}

/// Records of a JSONL stream, in order; memory stays at one line of at most `limit` bytes
/// (the evidence readers' bounded line splitter, [`LineReader`]).
#[derive(Debug)]
pub struct JsonlReader<R> {
    lines: LineReader<R>,
    limit: usize,
}

impl<R: BufRead> JsonlReader<R> {
    pub fn new(inner: R) -> Self {
        JsonlReader::with_limit(inner, MAX_LINE)
    }

    pub fn with_limit(inner: R, limit: usize) -> Self {
        JsonlReader { lines: LineReader::with_limit(inner, limit), limit }
    }

    /// The next record or bad line, `None` at the end; blank lines are passed over. A line
    /// over the limit is skipped whole: a record cut short is not a record.
    pub fn next_record(&mut self) -> io::Result<Option<Result<Record, BadLine>>> {
        loop {
            let Some(line) = self.lines.next_line()? else { return Ok(None) };
            if line.truncated {
                return Ok(Some(Err(BadLine::TooLong { line: line.number, limit: self.limit })));
            }
            let text = String::from_utf8_lossy(line.bytes);
            let text = text.trim();
            if text.is_empty() {
                continue;
            }
            return Ok(Some(
                Record::from_json_line(text)
                    .map_err(|e| BadLine::NotARecord { line: line.number, reason: e.to_string() }),
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::{BufReader, Read};

    use super::*;

    /// A stream of `len` bytes of `b'x'` without a newline, generated as it is read.
    struct Endless {
        left: u64,
    }

    impl Read for Endless {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = buf.len().min(self.left.try_into().unwrap_or(usize::MAX));
            buf[..n].fill(b'x');
            self.left -= n as u64;
            Ok(n)
        }
    }

    // See: issue 14 (a 1 GiB JSONL line was read whole into memory, in two copies of the reader).
    #[test]
    fn an_over_long_line_is_skipped_without_being_kept_and_reading_goes_on() {
        let end = br#"{"type":"error","v":1,"data":{"source":"x","message":"m"}}"#;
        let input = b"\n".chain(Endless { left: 64 << 20 }).chain(&b"\n"[..]).chain(&end[..]);
        let mut reader = JsonlReader::with_limit(BufReader::with_capacity(64 * 1024, input), 1 << 20);
        let first = reader.next_record().expect("reads").expect("a line");
        assert_eq!(first, Err(BadLine::TooLong { line: 2, limit: 1 << 20 }));
        assert!(reader.lines.buffer_capacity() <= (1 << 20) + (64 << 10), "{}", reader.lines.buffer_capacity());
        let second = reader.next_record().expect("reads").expect("a line");
        assert!(matches!(second, Ok(Record::Error(_))), "{second:?}");
        assert!(reader.next_record().expect("reads").is_none());
    }

    #[test]
    fn bad_lines_name_their_number_and_are_capped_in_the_list() {
        let mut text = String::new();
        for _ in 0..(MAX_LISTED_BAD_LINES + 5) {
            text.push_str("{not json\n");
        }
        let mut reader = JsonlReader::new(text.as_bytes());
        let mut bad = BadLines::default();
        while let Some(item) = reader.next_record().expect("reads") {
            if let Err(line) = item {
                bad.push(line);
            }
        }
        assert_eq!(bad.count, MAX_LISTED_BAD_LINES as u64 + 5);
        assert_eq!(bad.listed.len(), MAX_LISTED_BAD_LINES);
        assert_eq!(bad.listed[2].line(), 3);
        assert!(bad.listed[0].to_string().starts_with("line 1: not a seawall record"), "{}", bad.listed[0]);
    }
}
