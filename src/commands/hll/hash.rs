//! The hash behind every HyperLogLog register update: Redis's endian-neutral MurmurHash64A
//! (MurmurHash2, 64-bit) with seed 0xadc83b19, and `hllPatLen`, which splits a hash into the
//! register index (its low 14 bits) and the length of the "000...1" run in the remaining bits.

use super::dense::{P, REGISTERS};

/// The seed `hllPatLen` hashes elements with.
pub const SEED: u32 = 0xadc8_3b19;
/// Bits of the hash left after the index: the run length is at most `Q + 1`.
pub const Q: usize = 64 - P;

/// MurmurHash64A as in Redis's `hyperloglog.c`: 8-byte words read little-endian, then the tail.
pub fn murmur64a(key: &[u8], seed: u32) -> u64 {
    const M: u64 = 0xc6a4_a793_5bd1_e995;
    const R: u32 = 47;
    let mut h = u64::from(seed) ^ (key.len() as u64).wrapping_mul(M);
    let words = key.chunks_exact(8);
    let tail = words.remainder();
    for word in words {
        let mut k = u64::from_le_bytes(word.try_into().unwrap_or_default());
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h ^= k;
        h = h.wrapping_mul(M);
    }
    if !tail.is_empty() {
        for (i, byte) in tail.iter().enumerate() {
            h ^= u64::from(*byte) << (8 * i);
        }
        h = h.wrapping_mul(M);
    }
    h ^= h >> R;
    h = h.wrapping_mul(M);
    h ^= h >> R;
    h
}

/// `hllPatLen`: the register `element` maps to, and the run length it offers that register
/// (1 for a hash whose bit 14 is set, up to `Q + 1`).
pub fn pattern(element: &[u8]) -> (usize, u8) {
    let hash = murmur64a(element, SEED);
    let index = (hash & (REGISTERS as u64 - 1)) as usize;
    // A sentinel bit past the last one used bounds the run at Q + 1.
    let rest = (hash >> P) | (1u64 << Q);
    (index, rest.trailing_zeros() as u8 + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (element, register, run length) as real Redis 7.0.15 stores them: `PFADD t <element>`
    /// then `PFDEBUG DECODE t` reads "Z:<register> v:<run length>,1 Z:...".
    const FROM_REDIS: &[(&str, usize, u8)] = &[
        ("a", 12711, 2),
        ("b", 15780, 1),
        ("hello", 9216, 1),
        ("", 5938, 2),
        ("0123456789abcdefX", 11257, 1),
        ("foobar12", 15489, 2),
    ];

    #[test]
    fn patterns_match_redis() {
        for (element, register, run) in FROM_REDIS {
            assert_eq!(
                pattern(element.as_bytes()),
                (*register, *run),
                "{element:?}"
            );
        }
    }
}
