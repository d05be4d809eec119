//! Digests that identify things across runs: finding ids, target spaces, configurations,
//! error rows. One construction everywhere: SHA-256 over length-prefixed parts (so
//! `("ab","c")` and `("a","bc")` differ), the first 16 bytes in hex.

use std::fmt;

use sha2::{Digest, Sha256};

/// A SHA-256 over length-prefixed parts.
#[derive(Clone, Default)]
pub struct Fingerprint(Sha256);

impl fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Fingerprint")
    }
}

impl Fingerprint {
    pub fn new() -> Fingerprint {
        Fingerprint::default()
    }

    pub fn text(&mut self, part: &str) -> &mut Fingerprint {
        self.0.update((part.len() as u64).to_le_bytes());
        self.0.update(part.as_bytes());
        self
    }

    /// A value's `Debug` form, streamed into the hash (a target space of millions of entries
    /// is never formatted into one string). The form belongs to this seawall version: a
    /// digest may change with an upgrade, which only makes an older run refuse a resume.
    pub fn debug(&mut self, value: &dyn fmt::Debug) -> &mut Fingerprint {
        struct Feed<'a>(&'a mut Sha256, u64);
        impl fmt::Write for Feed<'_> {
            fn write_str(&mut self, s: &str) -> fmt::Result {
                self.0.update(s.as_bytes());
                self.1 += s.len() as u64;
                Ok(())
            }
        }
        let mut feed = Feed(&mut self.0, 0);
        let _ = fmt::write(&mut feed, format_args!("{value:?}"));
        let written = feed.1;
        self.0.update(written.to_le_bytes());
        self
    }

    /// The first 16 bytes, in hex.
    pub fn finish(&self) -> String {
        let digest = self.0.clone().finalize();
        hex(&digest[..16])
    }
}

/// Lower-case hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        out.push(char::from(DIGITS[usize::from(byte >> 4)]));
        out.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_keep_their_boundaries() {
        let a = Fingerprint::new().text("ab").text("c").finish();
        let b = Fingerprint::new().text("a").text("bc").finish();
        assert_ne!(a, b);
        assert_eq!(a.len(), 32);
    }

    #[test]
    fn hex_is_lower_case_and_padded() {
        assert_eq!(hex(&[0x00, 0x0f, 0xa0, 0xff]), "000fa0ff");
        assert_eq!(hex(&[]), "");
    }
}
