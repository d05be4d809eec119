//! Cheap randomness for request ids and garbage bytes. Nothing here is security relevant, so a
//! SplitMix64 stream seeded from the clock is enough and spares a `rand` dependency.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

const GOLDEN_GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;

static COUNTER: AtomicU64 = AtomicU64::new(0);
static SEED: OnceLock<u64> = OnceLock::new();

/// The next value of a process-wide SplitMix64 stream.
pub(crate) fn next_u64() -> u64 {
    let seed = *SEED.get_or_init(|| {
        SystemTime::now().duration_since(UNIX_EPOCH).map_or(0x5EA_3A11, |elapsed| elapsed.as_nanos() as u64)
    });
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let mut z = seed.wrapping_add(n.wrapping_add(1).wrapping_mul(GOLDEN_GAMMA));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A random version-4 UUID in the lowercase form Exchange puts in `request-id`.
pub(crate) fn uuid_v4() -> String {
    let hi = next_u64();
    let lo = next_u64();
    let time_hi = ((hi & 0x0fff) | 0x4000) as u16;
    let clock_seq = (((lo >> 48) & 0x3fff) | 0x8000) as u16;
    format!(
        "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        (hi >> 32) as u32,
        (hi >> 16) as u16,
        time_hi,
        clock_seq,
        lo & 0xffff_ffff_ffff
    )
}

/// `len` random bytes.
pub(crate) fn random_bytes(len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        out.extend_from_slice(&next_u64().to_le_bytes());
    }
    out.truncate(len);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuid_has_version_and_variant() {
        let id = uuid_v4();
        let parts: Vec<&str> = id.split('-').collect();
        assert_eq!(parts.iter().map(|p| p.len()).collect::<Vec<_>>(), [8, 4, 4, 4, 12]);
        assert!(parts[2].starts_with('4'), "{id}");
        assert!(matches!(parts[3].as_bytes()[0], b'8' | b'9' | b'a' | b'b'), "{id}");
        assert_ne!(uuid_v4(), id);
    }

    #[test]
    fn random_bytes_has_requested_length() {
        assert_eq!(random_bytes(13).len(), 13);
        assert_ne!(random_bytes(32), random_bytes(32));
    }
}
