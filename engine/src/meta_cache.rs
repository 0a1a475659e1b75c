//! A small in-memory cache of recently used metadata records, in front of RocksDB's point reads.
//!
//! Every command starts by reading its keys' metadata records. Even when they sit in the
//! memtable, such a read walks a skiplist of everything written recently, which for a hot key
//! costs more than the command itself; this cache answers it with one hash lookup. It holds
//! only small records (strings and inline collections up to [`MAX_ENTRY_BYTES`]), including
//! "no such key" answers, and is bounded by [`GENERATION_ENTRIES`] per generation: lookups
//! search the current generation, then the previous one (moving a hit forward); when the
//! current one is full it becomes the previous one and the oldest is dropped. That keeps what
//! is used without per-entry bookkeeping (an approximate LRU).
//!
//! Coherence: every metadata change goes through [`crate::Txn::commit`], which updates the
//! cache once its batch is committed (and clears it when databases were flushed), under the
//! engine's commit lock. A committed batch may still wait to be written (`write_behind`): the
//! cache then holds the only readable copy of its records, and a read that misses after the
//! cache dropped entries writes the waiting batches before it reads RocksDB (below), so an
//! entry dropped from the cache is never read back stale. A read that missed and went to RocksDB inserts its answer only if no
//! commit happened meanwhile (the epoch a miss returns), so a slow reader never puts back a value
//! older than the cache's. Anything that writes metadata records outside `Txn` (a bulk load)
//! must call [`MetaCache::clear`].
//!
//! A miss need not write the waiting batches as long as the cache has dropped nothing
//! since they were last written: every waiting metadata record is then in the cache, so the key
//! that missed has none waiting and RocksDB holds its latest record. The cache counts what could
//! drop a waiting record ([`Miss::drops`]: a generation discarded, a change too big to cache, a
//! clear), and `Engine::get_meta` settles only when that count moved past the last settle.

use parking_lot::Mutex;

use crate::key_map::{KeyId, KeyMap, KeyRef};
use crate::Meta;

/// Records larger than this (key + encoded record) are not cached.
pub const MAX_ENTRY_BYTES: usize = 512;
/// Entries per generation; at most twice this many are cached.
pub const GENERATION_ENTRIES: usize = 32 * 1024;

#[derive(Default)]
struct Generations {
    current: KeyMap<Option<Meta>>,
    previous: KeyMap<Option<Meta>>,
    /// Bumped by every commit that changes cached state.
    epoch: u64,
    /// Bumped whenever entries leave the cache other than by being replaced (see [`Miss`]).
    drops: u64,
}

impl Generations {
    fn insert(&mut self, id: KeyId, meta: Option<Meta>) {
        if self.current.len() >= GENERATION_ENTRIES {
            if !self.previous.is_empty() {
                self.drops += 1;
            }
            self.previous = std::mem::take(&mut self.current);
        }
        self.current.insert(id, meta);
    }

    fn miss(&self) -> Miss {
        Miss {
            epoch: self.epoch,
            drops: self.drops,
        }
    }
}

/// What a miss reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Miss {
    /// The commit epoch to pass to [`MetaCache::fill`].
    pub epoch: u64,
    /// How many times the cache had dropped entries that a waiting batch may hold: a miss
    /// that comes after no drop since the waiting batches were last written can read RocksDB
    /// without writing them.
    pub drops: u64,
}

#[derive(Default)]
pub struct MetaCache {
    inner: Mutex<Generations>,
}

fn cacheable(key: &[u8], meta: Option<&Meta>) -> bool {
    let record = meta.map_or(0, |m| 25 + m.body.len());
    key.len() + record <= MAX_ENTRY_BYTES
}

impl MetaCache {
    /// The cached answer for `key` of physical db `physical` (`Ok(None)` is a cached
    /// "absent"); on a miss, what [`Miss`] says.
    pub fn get(&self, physical: u8, key: &[u8]) -> Result<Option<Meta>, Miss> {
        let mut inner = self.inner.lock();
        let id = KeyRef(physical, key);
        if let Some(found) = inner.current.get(&id) {
            return Ok(found.clone());
        }
        let Some((owned, found)) = inner.previous.remove_entry(&id) else {
            return Err(inner.miss());
        };
        inner.insert(owned, found.clone());
        Ok(found)
    }

    /// Caches what a RocksDB read returned, unless a commit happened since `epoch`.
    pub fn fill(&self, epoch: u64, physical: u8, key: &[u8], meta: Option<&Meta>) {
        if !cacheable(key, meta) {
            return;
        }
        let mut inner = self.inner.lock();
        if inner.epoch == epoch {
            inner.insert((physical, key.to_vec()), meta.cloned());
        }
    }

    /// Applies committed changes: `((physical db, key), record after the commit)`, taken over
    /// by the cache.
    pub fn apply(&self, changes: impl Iterator<Item = (KeyId, Option<Meta>)>) {
        let mut inner = self.inner.lock();
        inner.epoch += 1;
        for (id, meta) in changes {
            let borrowed = KeyRef(id.0, &id.1);
            if cacheable(&id.1, meta.as_ref()) {
                // A key is in one generation at most: a hot key is replaced where it is.
                if let Some(cached) = inner.current.get_mut(&borrowed) {
                    *cached = meta;
                    continue;
                }
                inner.previous.remove(&borrowed);
                inner.insert(id, meta);
            } else {
                // Its record may wait to be written while the cache no longer holds it.
                inner.drops += 1;
                inner.current.remove(&borrowed);
                inner.previous.remove(&borrowed);
            }
        }
    }

    /// Forgets everything (FLUSHDB/FLUSHALL, bulk loads).
    pub fn clear(&self) {
        let mut inner = self.inner.lock();
        inner.epoch += 1;
        inner.drops += 1;
        inner.current.clear();
        inner.previous.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Kind;

    fn meta(body: usize) -> Meta {
        Meta::collection(Kind::Hash, 1, 1, vec![0; body])
    }

    #[test]
    fn hits_misses_and_absent_answers() {
        let cache = MetaCache::default();
        let miss = cache.get(0, b"k").unwrap_err();
        cache.fill(miss.epoch, 0, b"k", None);
        assert_eq!(cache.get(0, b"k"), Ok(None));
        cache.apply([((0u8, b"k".to_vec()), Some(meta(3)))].into_iter());
        assert_eq!(cache.get(0, b"k"), Ok(Some(meta(3))));
        assert!(cache.get(1, b"k").is_err(), "databases are separate");
    }

    #[test]
    fn a_read_older_than_a_commit_is_not_cached() {
        let cache = MetaCache::default();
        let miss = cache.get(0, b"k").unwrap_err();
        cache.apply([((0u8, b"k".to_vec()), Some(meta(1)))].into_iter());
        cache.fill(miss.epoch, 0, b"k", None);
        assert_eq!(cache.get(0, b"k"), Ok(Some(meta(1))));
    }

    #[test]
    fn big_records_are_dropped_not_left_stale() {
        let cache = MetaCache::default();
        cache.apply([((0u8, b"k".to_vec()), Some(meta(1)))].into_iter());
        let before = cache.get(0, b"other").unwrap_err().drops;
        cache.apply([((0u8, b"k".to_vec()), Some(meta(MAX_ENTRY_BYTES)))].into_iter());
        let miss = cache.get(0, b"k").unwrap_err();
        assert!(miss.drops > before, "an uncached change counts as a drop");
        cache.fill(miss.epoch, 0, b"k", Some(&meta(MAX_ENTRY_BYTES)));
        assert!(cache.get(0, b"k").is_err());
    }

    #[test]
    fn bounded_by_two_generations() {
        let cache = MetaCache::default();
        for i in 0..(2 * GENERATION_ENTRIES) {
            cache.apply([((0u8, i.to_be_bytes().to_vec()), None)].into_iter());
        }
        let before = cache.get(0, b"other").unwrap_err().drops;
        for i in 2 * GENERATION_ENTRIES..(3 * GENERATION_ENTRIES) {
            cache.apply([((0u8, i.to_be_bytes().to_vec()), None)].into_iter());
        }
        let after = cache.get(0, b"other").unwrap_err().drops;
        assert_eq!(
            after,
            before + 1,
            "discarding a generation counts as one drop"
        );
        let inner = cache.inner.lock();
        assert!(inner.current.len() + inner.previous.len() <= 2 * GENERATION_ENTRIES);
        drop(inner);
        // The most recent entries survive.
        let last = (3 * GENERATION_ENTRIES - 1).to_be_bytes();
        assert_eq!(cache.get(0, &last), Ok(None));
    }

    #[test]
    fn clear_forgets_everything() {
        let cache = MetaCache::default();
        cache.apply([((0u8, b"k".to_vec()), Some(meta(1)))].into_iter());
        let before = cache.get(0, b"other").unwrap_err().drops;
        cache.clear();
        assert_eq!(cache.get(0, b"k").unwrap_err().drops, before + 1);
    }
}
