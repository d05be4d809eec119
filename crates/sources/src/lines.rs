//! Line splitting over a byte stream with a bound on line length.

use std::io::{self, BufRead};

/// Longest line kept whole; longer lines are cut here and flagged (the rest is skipped).
pub const MAX_LINE: usize = 64 * 1024;

/// One line without its terminator (`\n` or `\r\n`).
#[derive(Debug)]
pub struct Line<'a> {
    pub bytes: &'a [u8],
    /// 1-based.
    pub number: u64,
    /// The line was longer than the limit and was cut.
    pub truncated: bool,
}

/// Reads lines into one reused buffer: memory stays at `MAX_LINE` whatever the file.
#[derive(Debug)]
pub struct LineReader<R> {
    inner: R,
    buffer: Vec<u8>,
    number: u64,
    limit: usize,
    bytes_read: u64,
    cut: Option<CutLines>,
}

/// Lines longer than the limit: kept cut, and reported once per file with their count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CutLines {
    /// The first line that was cut (1-based).
    pub first_line: u64,
    pub count: u64,
    /// The limit they were cut at.
    pub limit: usize,
}

impl CutLines {
    /// What an error record says about them.
    pub fn message(&self) -> String {
        let limit = self.limit / 1024;
        match self.count {
            1 => format!("line longer than {limit} KiB: cut there, the rest of the line not examined"),
            n => format!(
                "{n} lines longer than {limit} KiB (the first at line {}): cut there, their rest not examined",
                self.first_line
            ),
        }
    }
}

impl<R: BufRead> LineReader<R> {
    pub fn new(inner: R) -> Self {
        LineReader::with_limit(inner, MAX_LINE)
    }

    /// A reader whose first line is numbered `first_line` (a piece of a larger file).
    pub fn starting_at(inner: R, first_line: u64) -> Self {
        let mut reader = LineReader::new(inner);
        reader.number = first_line.saturating_sub(1);
        reader
    }

    pub fn with_limit(inner: R, limit: usize) -> Self {
        LineReader { inner, buffer: Vec::with_capacity(1024), number: 0, limit, bytes_read: 0, cut: None }
    }

    pub fn bytes_read(&self) -> u64 {
        self.bytes_read
    }

    /// Bytes held for the current line: at most the limit plus one read of the inner reader.
    pub fn buffer_capacity(&self) -> usize {
        self.buffer.capacity()
    }

    /// The lines cut so far at the limit, if any (callers report them: nothing is cut silently).
    pub fn cut_lines(&self) -> Option<CutLines> {
        self.cut
    }

    /// The next line, `None` at the end. A final line without a newline (a truncated tail) is returned too.
    pub fn next_line(&mut self) -> io::Result<Option<Line<'_>>> {
        self.buffer.clear();
        let mut truncated = false;
        let mut any = false;
        loop {
            let available = match self.inner.fill_buf() {
                Ok(bytes) => bytes,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if available.is_empty() {
                break;
            }
            any = true;
            let (chunk, consumed, done) = match memchr::memchr(b'\n', available) {
                Some(at) => (&available[..at], at + 1, true),
                None => (available, available.len(), false),
            };
            let room = self.limit.saturating_sub(self.buffer.len());
            if chunk.len() > room {
                truncated = true;
            }
            self.buffer.extend_from_slice(&chunk[..chunk.len().min(room)]);
            self.inner.consume(consumed);
            self.bytes_read += consumed as u64;
            if done {
                break;
            }
        }
        if !any {
            return Ok(None);
        }
        if self.buffer.last() == Some(&b'\r') {
            self.buffer.pop();
        }
        self.number += 1;
        if truncated {
            let cut = self.cut.get_or_insert(CutLines { first_line: self.number, count: 0, limit: self.limit });
            cut.count += 1;
        }
        Ok(Some(Line { bytes: &self.buffer, number: self.number, truncated }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(input: &[u8], limit: usize) -> Vec<(String, u64, bool)> {
        let mut reader = LineReader::with_limit(input, limit);
        let mut out = Vec::new();
        while let Ok(Some(line)) = reader.next_line() {
            out.push((String::from_utf8_lossy(line.bytes).into_owned(), line.number, line.truncated));
        }
        out
    }

    #[test]
    fn splits_crlf_lf_and_keeps_a_truncated_tail() {
        let lines = all(b"a\r\nb\n\nlast-without-newline", 100);
        assert_eq!(
            lines,
            vec![
                ("a".into(), 1, false),
                ("b".into(), 2, false),
                ("".into(), 3, false),
                ("last-without-newline".into(), 4, false)
            ]
        );
    }

    #[test]
    fn cuts_huge_lines_and_carries_on() {
        let mut input = vec![b'x'; 10_000];
        input.extend_from_slice(b"\nnext\n");
        let lines = all(&input, 100);
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0].0.len(), 100);
        assert!(lines[0].2);
        assert_eq!(lines[1], ("next".into(), 2, false));
    }

    // See: issue 14 (lines cut at 64 KiB were never reported).
    #[test]
    fn cut_lines_are_counted_with_the_first_one() {
        let mut input = b"short\n".to_vec();
        for _ in 0..3 {
            input.extend(std::iter::repeat_n(b'x', 300));
            input.push(b'\n');
        }
        let mut reader = LineReader::with_limit(&input[..], 100);
        assert_eq!(reader.cut_lines(), None);
        while let Ok(Some(_)) = reader.next_line() {}
        let cut = reader.cut_lines().expect("cut lines counted");
        assert_eq!((cut.first_line, cut.count), (2, 3));
        assert!(cut.message().contains("3 lines"), "{}", cut.message());
    }
}
