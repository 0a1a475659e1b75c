//! The keys a bulk load has seen, as 64-bit hashes in an open-addressing table.
//!
//! A bulk load checks every key against all the keys before it (a file naming a key twice is
//! corrupt, and the load must say so rather than keep one of them). A general-purpose hash set
//! of a million hashes is far bigger than the caches and costs two cache misses per insert (its
//! control bytes, then its entry): half of the load's writer thread. This table is one array of
//! hashes probed linearly, so an insert costs one miss, and [`SeenKeys::insert_all`] prefetches
//! the home slots of a whole batch before probing any, so that the batch's misses overlap
//! instead of following each other.
//!
//! A hash equal to an earlier one may still be another key: the caller confirms with a real
//! lookup. The value 0 marks an empty slot, so a hash of 0 is stored as 1 (one more collision).

use crate::prefetch::prefetch;

/// Slots at least (and a table is never more than three quarters full: linear probing stays
/// short, mostly within the home slot's cache line of 8, and memory near 11 bytes a key).
const MIN_SLOTS: usize = 1024;

pub(crate) struct SeenKeys {
    slots: Vec<u64>,
    len: usize,
}

impl SeenKeys {
    /// A table for about `keys` hashes before it grows.
    pub(crate) fn with_capacity(keys: usize) -> SeenKeys {
        let slots = (keys.saturating_mul(4) / 3 + 1)
            .max(MIN_SLOTS)
            .checked_next_power_of_two()
            .unwrap_or(MIN_SLOTS);
        SeenKeys {
            slots: vec![0; slots],
            len: 0,
        }
    }

    /// Adds `hash`; false when it was there already.
    pub(crate) fn insert(&mut self, hash: u64) -> bool {
        if (self.len + 1) * 4 > self.slots.len() * 3 {
            self.grow();
        }
        let hash = hash.max(1);
        let mask = self.slots.len() - 1;
        let mut at = home(hash, mask);
        loop {
            match self.slots[at] {
                0 => {
                    self.slots[at] = hash;
                    self.len += 1;
                    return true;
                }
                there if there == hash => return false,
                _ => at = (at + 1) & mask,
            }
        }
    }

    /// Adds every hash of `hashes`; `fresh[i]` tells whether `hashes[i]` was new (a hash
    /// repeated within `hashes` is new the first time only).
    pub(crate) fn insert_all(&mut self, hashes: &[u64], fresh: &mut Vec<bool>) {
        if (self.len + hashes.len()) * 4 > self.slots.len() * 3 {
            self.grow_for(self.len + hashes.len());
        }
        let mask = self.slots.len() - 1;
        for &hash in hashes {
            prefetch(&self.slots[home(hash.max(1), mask)]);
        }
        fresh.clear();
        fresh.extend(hashes.iter().map(|&hash| self.insert(hash)));
    }

    fn grow(&mut self) {
        self.grow_for(self.len + 1);
    }

    /// Rebuilds the table with room for `keys` hashes.
    fn grow_for(&mut self, keys: usize) {
        let old = std::mem::replace(self, SeenKeys::with_capacity(keys.max(self.slots.len())));
        for hash in old.slots.into_iter().filter(|&h| h != 0) {
            self.insert(hash);
        }
    }
}

/// A hash's first slot: its high bits (the low ones may be shared by the hashes of similar
/// keys under a weak hasher; these come from SipHash, but the table does not rely on it).
fn home(hash: u64, mask: usize) -> usize {
    (hash.rotate_left(32) as usize) & mask
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_hash_is_new_once_through_growth_and_batches() {
        let mut seen = SeenKeys::with_capacity(0);
        let hashes: Vec<u64> = (1..=10_000u64)
            .map(|i| i.wrapping_mul(0x9e37_79b9_7f4a_7c15))
            .collect();
        for &h in &hashes[..3000] {
            assert!(seen.insert(h));
        }
        assert!(!seen.insert(hashes[17]));
        let mut fresh = Vec::new();
        // A batch mixing known hashes, new ones, and a repeat within the batch.
        let mut batch = hashes[2900..6000].to_vec();
        batch.push(hashes[5000]);
        seen.insert_all(&batch, &mut fresh);
        assert!(fresh[..100].iter().all(|&f| !f));
        assert!(fresh[100..3100].iter().all(|&f| f));
        assert!(!fresh[3100]);
        assert_eq!(seen.len, 6000);
        assert!(seen.slots.len() * 3 >= 6000 * 4);
        // 0 is stored as 1: both read as seen afterwards.
        assert!(seen.insert(0));
        assert!(!seen.insert(1));
    }
}
