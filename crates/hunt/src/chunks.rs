//! Large text logs read in parallel: the file is cut at line starts into
//! pieces, a cheap first pass counts each piece's lines and finds its last
//! `#Fields:` directive, so every piece starts with the right line number and
//! the schema in force, and the pieces are then read like whole files.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::Path;

use rayon::prelude::*;

/// Files below this size are read in one piece.
pub(crate) const PIECE: u64 = 32 << 20;

/// A piece of a file and what was in force where it starts.
#[derive(Debug, Clone)]
pub(crate) struct Piece {
    pub(crate) offset: u64,
    pub(crate) len: u64,
    pub(crate) first_line: u64,
    /// The text after `#Fields:` of the last directive before this piece.
    pub(crate) fields: Option<Vec<u8>>,
}

/// Where reading starts: line 1 and no schema for a whole file.
#[derive(Debug, Clone, Default)]
pub(crate) struct Start {
    pub(crate) first_line: u64,
    pub(crate) fields: Option<Vec<u8>>,
}

impl Piece {
    pub(crate) fn start(&self) -> Start {
        Start { first_line: self.first_line, fields: self.fields.clone() }
    }

    pub(crate) fn reader(&self, path: &Path) -> io::Result<Box<dyn BufRead + Send>> {
        let mut file = File::open(path)?;
        file.seek(SeekFrom::Start(self.offset))?;
        Ok(Box::new(BufReader::with_capacity(256 * 1024, file.take(self.len))))
    }
}

/// How far past a cut point a line start is looked for. A line longer than this is cut
/// by the line reader anyway (at 64 KiB, reported there), so a cut point that finds no
/// line start within it is dropped and its neighbours' pieces merge: the over-long line
/// is read once, by one worker, instead of once per cut point.
const LINE_START_SEARCH: u64 = 1 << 20;

/// The first line start at or after `offset`, if one lies within [`LINE_START_SEARCH`]
/// bytes (or `size` when the file ends first).
fn line_start_after(file: &mut File, offset: u64, size: u64) -> io::Result<Option<u64>> {
    if offset == 0 {
        return Ok(Some(0));
    }
    file.seek(SeekFrom::Start(offset - 1))?;
    let window = (size - offset + 1).min(LINE_START_SEARCH);
    let mut reader = file.take(window);
    let mut block = vec![0u8; 64 * 1024];
    let mut position = offset - 1;
    loop {
        let read = match reader.read(&mut block) {
            Ok(0) => break,
            Ok(read) => read,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if let Some(at) = memchr::memchr(b'\n', &block[..read]) {
            return Ok(Some(position + at as u64 + 1));
        }
        position += read as u64;
    }
    Ok(if position >= size { Some(size) } else { None })
}

/// Newlines in `data`, counted in blocks the compiler vectorises (iterating over each
/// match was most of this first pass on a gigabyte of logs).
fn count_newlines(data: &[u8]) -> u64 {
    let blocks = data.chunks_exact(255);
    let tail = blocks.remainder();
    let mut count = 0u64;
    for block in blocks {
        // At most 255 per block: a u8 sum cannot overflow.
        count += u64::from(block.iter().fold(0u8, |n, &b| n + u8::from(b == b'\n')));
    }
    count + tail.iter().filter(|&&b| b == b'\n').count() as u64
}

/// Count lines of `[start, end)` and return the last `#Fields:` directive in it.
fn scan(path: &Path, start: u64, end: u64) -> io::Result<(u64, Option<Vec<u8>>)> {
    let mut file = File::open(path)?;
    file.seek(SeekFrom::Start(start))?;
    let mut reader = file.take(end - start);
    let mut block = vec![0u8; 1 << 20];
    let mut lines = 0u64;
    let mut last_directive: Option<u64> = None;
    let mut position = start;
    let mut previous_was_newline = true;
    let finder = memchr::memmem::Finder::new(b"#Fields:");
    loop {
        let read = reader.read(&mut block)?;
        if read == 0 {
            break;
        }
        let data = &block[..read];
        lines += count_newlines(data);
        for at in finder.find_iter(data) {
            let at_line_start = if at == 0 { previous_was_newline } else { data[at - 1] == b'\n' };
            if at_line_start {
                last_directive = Some(position + at as u64);
            }
        }
        previous_was_newline = data[read - 1] == b'\n';
        position += read as u64;
    }
    let fields = match last_directive {
        Some(at) => {
            let mut file = File::open(path)?;
            file.seek(SeekFrom::Start(at + 8))?;
            let mut line = Vec::new();
            BufReader::new(file.take(64 * 1024)).read_until(b'\n', &mut line)?;
            while matches!(line.last(), Some(b'\n' | b'\r')) {
                line.pop();
            }
            Some(line)
        }
        None => None,
    };
    Ok((lines, fields))
}

/// Cut a file of `size` bytes into about `pieces` pieces at line starts.
pub(crate) fn plan(path: &Path, size: u64, pieces: u64) -> io::Result<Vec<Piece>> {
    let mut file = File::open(path)?;
    let mut starts = vec![0u64];
    for k in 1..pieces {
        let Some(start) = line_start_after(&mut file, size * k / pieces, size)? else { continue };
        if start < size && start > *starts.last().unwrap_or(&0) {
            starts.push(start);
        }
    }
    let ranges: Vec<(u64, u64)> =
        starts.iter().enumerate().map(|(i, &s)| (s, starts.get(i + 1).copied().unwrap_or(size))).collect();
    let scanned: Vec<(u64, Option<Vec<u8>>)> =
        ranges.par_iter().map(|&(s, e)| scan(path, s, e)).collect::<io::Result<_>>()?;
    let mut line = 1u64;
    let mut fields: Option<Vec<u8>> = None;
    let mut out = Vec::with_capacity(ranges.len());
    for ((offset, end), (lines, last)) in ranges.into_iter().zip(scanned) {
        out.push(Piece { offset, len: end - offset, first_line: line, fields: fields.clone() });
        line += lines;
        if last.is_some() {
            fields = last;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newlines_are_counted_across_block_edges() {
        for length in [0usize, 1, 254, 255, 256, 510, 511, 1000, 70_000] {
            let data: Vec<u8> = (0..length).map(|i| if i % 7 == 0 || i % 255 == 254 { b'\n' } else { b'x' }).collect();
            let expected = data.iter().filter(|&&b| b == b'\n').count() as u64;
            assert_eq!(count_newlines(&data), expected, "length {length}");
        }
        assert_eq!(count_newlines(&[b'\n'; 600]), 600);
    }

    #[test]
    fn pieces_start_at_lines_with_their_number_and_schema() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("u_ex.log");
        let mut text = String::from("#Fields: date time a\n");
        for i in 0..1000 {
            if i == 500 {
                text.push_str("#Fields: date time b c\n");
            }
            text.push_str(&format!("2021-03-03 00:00:{:02} line{i}\n", i % 60));
        }
        std::fs::write(&path, &text).expect("write");
        let size = text.len() as u64;
        let pieces = plan(&path, size, 7).expect("plan");
        assert_eq!(pieces.first().map(|p| p.offset), Some(0));
        assert_eq!(pieces.iter().map(|p| p.len).sum::<u64>(), size);
        for piece in &pieces {
            let bytes = text.as_bytes();
            assert!(piece.offset == 0 || bytes[piece.offset as usize - 1] == b'\n', "cut inside a line");
            let line_no = bytes[..piece.offset as usize].iter().filter(|b| **b == b'\n').count() as u64 + 1;
            assert_eq!(piece.first_line, line_no);
            let before = &text[..piece.offset as usize];
            let expected = before
                .rfind("#Fields:")
                .map(|at| before[at + 8..].lines().next().unwrap_or_default().as_bytes().to_vec());
            assert_eq!(piece.fields, expected, "schema at {}", piece.offset);
        }
    }

    // See: issue 14 (one long line after an IIS header was read to its end once per cut point).
    #[test]
    fn a_cut_point_inside_an_over_long_line_is_dropped_not_read_to_the_line_end() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("u_ex.log");
        let head = b"#Software: Microsoft Internet Information Services 10.0\n#Fields: date time cs-uri-stem\n";
        let mut text = head.to_vec();
        text.resize(text.len() + 4 * LINE_START_SEARCH as usize, b'x');
        text.extend_from_slice(b"\n2021-03-03 00:00:00 /owa/\n");
        std::fs::write(&path, &text).expect("write");
        let size = text.len() as u64;
        let mut file = File::open(&path).expect("open");
        assert_eq!(line_start_after(&mut file, size / 2, size).expect("reads"), None, "no line start within the bound");
        let last_line = size - b"2021-03-03 00:00:00 /owa/\n".len() as u64;
        assert_eq!(line_start_after(&mut file, last_line - 10, size).expect("reads"), Some(last_line));
        let pieces = plan(&path, size, 8).expect("plan");
        assert_eq!(pieces.iter().map(|p| p.len).sum::<u64>(), size);
        assert!(pieces.len() <= 2, "cut points inside the long line are dropped: {pieces:?}");
    }

    #[test]
    fn a_sparse_file_of_one_huge_line_is_one_piece() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("u_ex.log");
        let head = b"#Software: Microsoft Internet Information Services 10.0\n#Fields: date time cs-uri-stem\n";
        std::fs::write(&path, head).expect("write");
        let size = 256u64 << 20;
        File::options().write(true).open(&path).and_then(|f| f.set_len(size)).expect("sparse");
        let pieces = plan(&path, size, size.div_ceil(PIECE)).expect("plan");
        assert_eq!(pieces.len(), 1, "{pieces:?}");
        assert_eq!(pieces[0].len, size);
    }
}
