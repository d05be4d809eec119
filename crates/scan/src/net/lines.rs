//! A line reader for line protocols (SMTP, IMAP, POP3, rsync) that a hostile
//! server cannot make wait forever or buffer without end: every line, every
//! reply, every read and the whole connection are bounded, and the error says
//! which bound was hit.

use std::time::Duration;

use thiserror::Error;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::time::{Instant, timeout_at};

/// The bounds of one connection.
#[derive(Debug, Clone, Copy)]
pub struct LineLimits {
    /// Longest line accepted, in bytes, without its line ending.
    pub max_line: usize,
    /// Most lines in one reply (an EHLO answer, a CAPA list, a module list).
    pub max_lines: usize,
    /// Most bytes read over the whole connection.
    pub max_bytes: usize,
    /// Longest wait for any one read or write.
    pub read_timeout: Duration,
    /// When the whole conversation must have ended.
    pub deadline: Instant,
}

/// Why reading stopped.
#[derive(Debug, Error)]
pub enum LineError {
    #[error("line longer than {0} bytes")]
    LineTooLong(usize),
    #[error("reply longer than {0} lines")]
    TooManyLines(usize),
    #[error("more than {0} bytes received on one connection")]
    ByteCap(usize),
    #[error("no data within {0:?}")]
    ReadTimeout(Duration),
    #[error("total time limit reached")]
    Deadline,
    #[error("connection closed by the server")]
    Closed,
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// Reads lines (ending in LF, with or without CR) from a stream and writes commands to it.
#[derive(Debug)]
pub struct LineReader<S> {
    inner: S,
    pending: Vec<u8>,
    limits: LineLimits,
    received: usize,
}

const CHUNK: usize = 4096;

impl<S> LineReader<S> {
    pub fn new(inner: S, limits: LineLimits) -> LineReader<S> {
        LineReader { inner, pending: Vec::new(), limits, received: 0 }
    }

    pub fn limits(&self) -> &LineLimits {
        &self.limits
    }

    /// Bytes received so far on this connection.
    pub fn received(&self) -> usize {
        self.received
    }

    /// The stream and whatever was received but not yet read as a line. After
    /// STARTTLS that rest must be empty: bytes a server (or a man in the middle)
    /// sent before the handshake must not be read as if they came over TLS.
    pub fn into_parts(self) -> (S, Vec<u8>, usize) {
        (self.inner, self.pending, self.received)
    }

    /// Continue a connection on another stream (after a TLS upgrade), keeping its byte count.
    pub fn resume(inner: S, limits: LineLimits, received: usize) -> LineReader<S> {
        LineReader { inner, pending: Vec::new(), limits, received }
    }

    /// When the next read must end: the read timeout or the deadline, whichever comes first.
    fn read_deadline(&self) -> (Instant, bool) {
        let by_read = Instant::now() + self.limits.read_timeout;
        if by_read < self.limits.deadline { (by_read, false) } else { (self.limits.deadline, true) }
    }
}

impl<S: AsyncRead + Unpin> LineReader<S> {
    /// One line without its line ending.
    pub async fn read_line(&mut self) -> Result<Vec<u8>, LineError> {
        loop {
            if let Some(end) = self.pending.iter().position(|b| *b == b'\n') {
                let mut line: Vec<u8> = self.pending.drain(..=end).collect();
                line.pop();
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                if line.len() > self.limits.max_line {
                    return Err(LineError::LineTooLong(self.limits.max_line));
                }
                return Ok(line);
            }
            // One byte of slack for a CR whose LF has not arrived yet.
            if self.pending.len() > self.limits.max_line + 1 {
                return Err(LineError::LineTooLong(self.limits.max_line));
            }
            self.fill().await?;
        }
    }

    /// Lines until `is_last` says a line ends the reply, at most `max_lines` of them.
    pub async fn read_reply(&mut self, mut is_last: impl FnMut(&[u8]) -> bool) -> Result<Vec<Vec<u8>>, LineError> {
        let mut lines = Vec::new();
        loop {
            if lines.len() >= self.limits.max_lines {
                return Err(LineError::TooManyLines(self.limits.max_lines));
            }
            let line = self.read_line().await?;
            let last = is_last(&line);
            lines.push(line);
            if last {
                return Ok(lines);
            }
        }
    }

    /// Read up to `max` more bytes as they come (for binary replies such as a TLS
    /// ServerHello), first returning anything already buffered.
    pub async fn read_some(&mut self, max: usize) -> Result<Vec<u8>, LineError> {
        if self.pending.is_empty() {
            self.fill().await?;
        }
        let take = self.pending.len().min(max);
        Ok(self.pending.drain(..take).collect())
    }

    async fn fill(&mut self) -> Result<(), LineError> {
        let room = self.limits.max_bytes.saturating_sub(self.received);
        if room == 0 {
            return Err(LineError::ByteCap(self.limits.max_bytes));
        }
        let mut chunk = [0u8; CHUNK];
        let want = room.min(CHUNK);
        let (until, is_deadline) = self.read_deadline();
        let read = timeout_at(until, self.inner.read(&mut chunk[..want])).await;
        let n = match read {
            Err(_) if is_deadline => return Err(LineError::Deadline),
            Err(_) => return Err(LineError::ReadTimeout(self.limits.read_timeout)),
            Ok(Err(e)) => return Err(LineError::Io(e)),
            Ok(Ok(0)) => return Err(LineError::Closed),
            Ok(Ok(n)) => n,
        };
        self.received += n;
        self.pending.extend_from_slice(&chunk[..n]);
        Ok(())
    }
}

impl<S: AsyncWrite + Unpin> LineReader<S> {
    /// Write a command (the caller adds the line ending), bounded like a read.
    pub async fn send(&mut self, bytes: &[u8]) -> Result<(), LineError> {
        let (until, is_deadline) = self.read_deadline();
        let write = async {
            self.inner.write_all(bytes).await?;
            self.inner.flush().await
        };
        match timeout_at(until, write).await {
            Err(_) if is_deadline => Err(LineError::Deadline),
            Err(_) => Err(LineError::ReadTimeout(self.limits.read_timeout)),
            Ok(Err(e)) => Err(LineError::Io(e)),
            Ok(Ok(())) => Ok(()),
        }
    }
}

/// A line as text for parsers and reports: invalid UTF-8 is replaced, not trusted.
pub fn text(line: &[u8]) -> String {
    String::from_utf8_lossy(line).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(max_line: usize, max_lines: usize, max_bytes: usize) -> LineLimits {
        LineLimits {
            max_line,
            max_lines,
            max_bytes,
            read_timeout: Duration::from_millis(200),
            deadline: Instant::now() + Duration::from_secs(5),
        }
    }

    #[tokio::test]
    async fn reads_crlf_and_lf_lines() {
        let data: &[u8] = b"220 hello\r\n250-A\n250 B\r\n";
        let mut reader = LineReader::new(data, limits(100, 10, 1000));
        assert_eq!(reader.read_line().await.ok(), Some(b"220 hello".to_vec()));
        let reply = reader.read_reply(|l| l.get(3) == Some(&b' ')).await.ok();
        assert_eq!(reply, Some(vec![b"250-A".to_vec(), b"250 B".to_vec()]));
        assert!(matches!(reader.read_line().await, Err(LineError::Closed)));
    }

    #[tokio::test]
    async fn a_long_line_is_refused_without_waiting_for_its_end() {
        let data = vec![b'a'; 10_000];
        let mut reader = LineReader::new(&data[..], limits(512, 10, 1 << 20));
        assert!(matches!(reader.read_line().await, Err(LineError::LineTooLong(512))));
        assert!(reader.received() < 600 + CHUNK);
    }

    #[tokio::test]
    async fn too_many_lines_and_byte_cap() {
        let data = "250-X\r\n".repeat(100);
        let mut reader = LineReader::new(data.as_bytes(), limits(100, 10, 1 << 20));
        assert!(matches!(reader.read_reply(|_| false).await, Err(LineError::TooManyLines(10))));
        let mut reader = LineReader::new(data.as_bytes(), limits(100, 1000, 50));
        assert!(matches!(reader.read_reply(|_| false).await, Err(LineError::ByteCap(50))));
    }

    #[tokio::test]
    async fn a_silent_server_times_out() {
        let (client, _server) = tokio::io::duplex(64);
        let mut reader = LineReader::new(client, limits(100, 10, 1000));
        let started = std::time::Instant::now();
        assert!(matches!(reader.read_line().await, Err(LineError::ReadTimeout(_))));
        assert!(started.elapsed() < Duration::from_secs(2));
    }

    #[tokio::test]
    async fn the_deadline_wins_over_the_read_timeout() {
        let (client, _server) = tokio::io::duplex(64);
        let mut bounds = limits(100, 10, 1000);
        bounds.read_timeout = Duration::from_secs(30);
        bounds.deadline = Instant::now() + Duration::from_millis(100);
        let mut reader = LineReader::new(client, bounds);
        assert!(matches!(reader.read_line().await, Err(LineError::Deadline)));
    }

    #[tokio::test]
    async fn leftover_bytes_are_handed_back() {
        let data: &[u8] = b"220 go ahead\r\nINJECTED\r\n";
        let mut reader = LineReader::new(data, limits(100, 10, 1000));
        assert!(reader.read_line().await.is_ok());
        let (_, rest, received) = reader.into_parts();
        assert_eq!(rest, b"INJECTED\r\n");
        assert_eq!(received, data.len());
    }
}
