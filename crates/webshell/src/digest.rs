//! File hashes for IOC lookups and for the record.

use md5::Md5;
use seawall_model::digest::hex;
use sha1::Sha1;
use sha2::{Digest as _, Sha256};

/// Hashes of one scanned file, lowercase hex.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileHashes {
    pub sha256: String,
    /// Computed only when an IOC set holds MD5 indicators.
    pub md5: Option<String>,
    /// Computed only when an IOC set holds SHA-1 indicators.
    pub sha1: Option<String>,
}

impl FileHashes {
    pub fn of(data: &[u8], md5: bool, sha1: bool) -> FileHashes {
        FileHashes {
            sha256: hex(&Sha256::digest(data)),
            md5: md5.then(|| hex(&<Md5 as md5::Digest>::digest(data))),
            sha1: sha1.then(|| hex(&<Sha1 as sha1::Digest>::digest(data))),
        }
    }

    /// Every hash computed, as `(kind, hex)`.
    pub fn all(&self) -> impl Iterator<Item = (&'static str, &str)> {
        [("sha256", Some(self.sha256.as_str())), ("md5", self.md5.as_deref()), ("sha1", self.sha1.as_deref())]
            .into_iter()
            .filter_map(|(kind, hex)| hex.map(|h| (kind, h)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_digests_of_abc() {
        let h = FileHashes::of(b"abc", true, true);
        assert_eq!(h.sha256, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        assert_eq!(h.md5.as_deref(), Some("900150983cd24fb0d6963f7d28e17f72"));
        assert_eq!(h.sha1.as_deref(), Some("a9993e364706816aba3e25717850c26c9cd0d89d"));
        assert!(FileHashes::of(b"abc", false, false).md5.is_none());
    }
}
