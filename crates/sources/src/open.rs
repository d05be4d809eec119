//! Opening evidence files: gzip'd copies are read through transparently.

use std::fs::File;
use std::io::{self, BufRead, BufReader};
use std::path::Path;

use flate2::read::MultiGzDecoder;

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// A buffered reader of the file's content (decompressed) and its first bytes for classification.
pub struct Opened {
    pub reader: Box<dyn BufRead + Send>,
    pub head: Vec<u8>,
    pub gzip: bool,
}

impl std::fmt::Debug for Opened {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Opened").field("head", &self.head.len()).field("gzip", &self.gzip).finish()
    }
}

/// How many bytes classification looks at.
pub const HEAD_LEN: usize = 8192;

pub fn open(path: &Path) -> io::Result<Opened> {
    let mut file = BufReader::with_capacity(256 * 1024, File::open(path)?);
    let gzip = file.fill_buf()?.starts_with(&GZIP_MAGIC);
    let mut reader: Box<dyn BufRead + Send> =
        if gzip { Box::new(BufReader::with_capacity(256 * 1024, MultiGzDecoder::new(file))) } else { Box::new(file) };
    let head = peek(&mut reader)?;
    Ok(Opened { reader, head, gzip })
}

/// The first bytes without consuming them (BufReader keeps them buffered).
fn peek(reader: &mut Box<dyn BufRead + Send>) -> io::Result<Vec<u8>> {
    let buffered = reader.fill_buf()?;
    Ok(buffered[..buffered.len().min(HEAD_LEN)].to_vec())
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use flate2::Compression;
    use flate2::write::GzEncoder;

    use std::io::Read;

    use super::*;

    #[test]
    fn gzip_is_transparent() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("u_ex210303.log.gz");
        let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
        encoder.write_all(b"#Software: Microsoft Internet Information Services 10.0\nline\n").expect("write");
        std::fs::write(&path, encoder.finish().expect("finish")).expect("write file");
        let mut opened = open(&path).expect("opens");
        assert!(opened.gzip);
        assert!(opened.head.starts_with(b"#Software"));
        let mut all = String::new();
        opened.reader.read_to_string(&mut all).expect("reads");
        assert!(all.ends_with("line\n"));
    }
}
