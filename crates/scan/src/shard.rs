//! A keyed pseudo-random permutation of `[0, n)`, so that N scanners sharing a
//! seed split a target space without a coordinator (ZMap's idea; here a Feistel
//! network with cycle-walking instead of a cyclic group).

/// `--shard I/N`: this process scans every N-th position of the permutation, from I.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: u64,
    pub count: u64,
}

/// A `--shard` that is not `I/N` with `0 <= I < N`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidShard(pub String);

impl Shard {
    pub const WHOLE: Shard = Shard { index: 0, count: 1 };

    /// Parse `I/N` with `0 <= I < N` (ZMap numbers shards from 0).
    pub fn parse(text: &str) -> Result<Shard, InvalidShard> {
        let (index, count) = text.split_once('/').ok_or_else(|| InvalidShard(format!("shard {text:?} is not I/N")))?;
        let index: u64 =
            index.trim().parse().map_err(|_| InvalidShard(format!("shard index {index:?} is not a number")))?;
        let count: u64 =
            count.trim().parse().map_err(|_| InvalidShard(format!("shard count {count:?} is not a number")))?;
        if count == 0 || index >= count {
            return Err(InvalidShard(format!("shard {index}/{count}: need 0 <= I < N")));
        }
        Ok(Shard { index, count })
    }
}

const ROUNDS: usize = 4;

/// A bijection on `[0, size)` chosen by `seed`.
#[derive(Debug, Clone)]
pub struct Permutation {
    size: u64,
    half_bits: u32,
    keys: [u64; ROUNDS],
}

impl Permutation {
    pub fn new(size: u64, seed: u64) -> Permutation {
        let bits = 64 - size.saturating_sub(1).leading_zeros();
        let half_bits = bits.div_ceil(2).max(1);
        let mut state = seed;
        let keys = std::array::from_fn(|_| {
            state = splitmix64(state);
            state
        });
        Permutation { size, half_bits, keys }
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    /// The position `index` maps to; `index` must be below `size`.
    pub fn apply(&self, index: u64) -> u64 {
        debug_assert!(index < self.size);
        // Cycle-walking: the Feistel network permutes a power-of-four domain at
        // most 4x larger; re-encrypt until the value falls inside [0, size).
        let mut value = self.encrypt(index);
        while value >= self.size {
            value = self.encrypt(value);
        }
        value
    }

    fn encrypt(&self, value: u64) -> u64 {
        let mask = (1u64 << self.half_bits) - 1;
        let (mut left, mut right) = (value >> self.half_bits, value & mask);
        for key in self.keys {
            let next = left ^ (splitmix64(right ^ key) & mask);
            left = right;
            right = next;
        }
        (left << self.half_bits) | right
    }
}

fn splitmix64(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// The positions one shard visits, in permuted order.
#[derive(Debug, Clone)]
pub struct ShardPositions {
    permutation: Permutation,
    next: u64,
    step: u64,
}

impl ShardPositions {
    pub fn new(size: u64, seed: u64, shard: Shard) -> ShardPositions {
        ShardPositions { permutation: Permutation::new(size, seed), next: shard.index, step: shard.count }
    }

    /// How many positions this shard visits in all.
    pub fn len(&self) -> u64 {
        let size = self.permutation.size();
        if self.next >= size { 0 } else { (size - self.next).div_ceil(self.step) }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl ShardPositions {
    /// The next position with its ordinal: the position's index in the seeded order of the
    /// whole space. Shard I of N visits ordinals I, I+N, I+2N, ...; an ordinal names the same
    /// position for every shard count, as long as the space and the seed stay the same.
    pub fn next_with_ordinal(&mut self) -> Option<(u64, u64)> {
        if self.next >= self.permutation.size() {
            return None;
        }
        let ordinal = self.next;
        self.next = self.next.saturating_add(self.step);
        Some((ordinal, self.permutation.apply(ordinal)))
    }
}

impl Iterator for ShardPositions {
    type Item = u64;

    fn next(&mut self) -> Option<u64> {
        self.next_with_ordinal().map(|(_, position)| position)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permutation_is_a_bijection_for_many_sizes() {
        for size in [1u64, 2, 3, 5, 16, 17, 255, 256, 1000, 4097] {
            let p = Permutation::new(size, 42);
            let mut seen = vec![false; size as usize];
            for i in 0..size {
                let v = p.apply(i) as usize;
                assert!(!seen[v], "size {size}: {v} twice");
                seen[v] = true;
            }
        }
    }

    #[test]
    fn shards_cover_the_space_exactly_once() {
        let size = 10_007;
        let mut seen = vec![0u8; size as usize];
        for index in 0..7 {
            let shard = Shard { index, count: 7 };
            let positions = ShardPositions::new(size, 99, shard);
            let expected = positions.len();
            let mut count = 0;
            for p in positions {
                seen[p as usize] += 1;
                count += 1;
            }
            assert_eq!(count, expected);
        }
        assert!(seen.iter().all(|&n| n == 1));
    }

    #[test]
    fn order_is_random_but_seeded() {
        let a: Vec<u64> = ShardPositions::new(1000, 1, Shard::WHOLE).take(20).collect();
        let b: Vec<u64> = ShardPositions::new(1000, 1, Shard::WHOLE).take(20).collect();
        let c: Vec<u64> = ShardPositions::new(1000, 2, Shard::WHOLE).take(20).collect();
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_ne!(a, (0..20).collect::<Vec<u64>>(), "not sequential");
    }

    #[test]
    fn huge_spaces_need_no_memory() {
        // A /8 on three ports: nothing is allocated per address.
        let size = (1u64 << 24) * 3;
        let positions = ShardPositions::new(size, 7, Shard { index: 3, count: 1000 });
        assert_eq!(positions.len(), (size - 3).div_ceil(1000));
        let first: std::collections::BTreeSet<u64> = positions.take(1000).collect();
        assert_eq!(first.len(), 1000);
        assert!(first.iter().all(|&p| p < size));
    }

    #[test]
    fn ordinals_are_shared_by_every_shard_count() {
        let whole: Vec<(u64, u64)> = std::iter::from_fn({
            let mut p = ShardPositions::new(500, 3, Shard::WHOLE);
            move || p.next_with_ordinal()
        })
        .collect();
        let mut p = ShardPositions::new(500, 3, Shard { index: 2, count: 7 });
        while let Some((ordinal, position)) = p.next_with_ordinal() {
            assert_eq!(ordinal % 7, 2);
            assert_eq!(whole[ordinal as usize], (ordinal, position));
        }
    }

    #[test]
    fn shard_parsing() {
        assert_eq!(Shard::parse("2/8"), Ok(Shard { index: 2, count: 8 }));
        assert!(Shard::parse("8/8").is_err());
        assert!(Shard::parse("1/0").is_err());
        assert!(Shard::parse("x").is_err());
    }
}
