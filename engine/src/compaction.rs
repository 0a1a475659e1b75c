//! Reclaiming stale collection elements during RocksDB compactions.
//!
//! Deleting or overwriting a collection only replaces its metadata record; its element records
//! (`slot | 's' | db | keylen | key | version | field`, see [`crate::layout`]) stay behind. A
//! compaction filter on every slot family removes them: an element is STALE when the metadata
//! record of its key (same family, slot and physical database) is missing, is a string, or
//! carries another version. Every other record is kept, and so is an element whenever the filter
//! cannot tell (engine closing, read error, corrupt metadata).
//!
//! The filter reads the live metadata with a point lookup into the database being compacted, as
//! Kvrocks does. Compactions see keys in order, so all elements of one instance are contiguous
//! and share one lookup. The database handle reaches the filter through [`Reclaimer`], a shared
//! slot filled once the database is open and emptied (under a write lock, which waits for a
//! lookup in progress) before the engine closes it: a filter never holds the last reference, and
//! a compaction running during shutdown keeps everything.
//!
//! WHY REMOVING IS SAFE. An element reaches a compaction only after the batch that wrote it
//! (which also wrote its metadata) was committed, so the lookup, made later, sees that batch or
//! something newer. Versions come from [`crate::Engine::new_version`]: never reused, even across
//! restarts, so once the metadata of a key no longer names version `v`, no later write makes `v`
//! live again, and its elements are garbage forever. The live instance's elements always carry
//! the version the metadata names, so they are kept. An expired key whose record the expire
//! cycle has not deleted yet still has its metadata, so its elements stay until it is deleted.
//!
//! WHEN. Records are reclaimed as compactions reach the files holding them: soon for recently
//! written data, which new writes push down the levels; otherwise when RocksDB rewrites files
//! older than its default `ttl` (30 days with block-based tables). [`crate::Engine::compact_all`]
//! reclaims everything at once; [`crate::Engine::stale_elements_dropped`] counts the removals.
//!
//! SNAPSHOTS. RocksDB does not protect snapshots from compaction filters (since RocksDB 6.0
//! filters ignore snapshots, see `compaction_filter.h`): an element a snapshot still needs (its
//! metadata was live when the snapshot was taken) could be removed after a later DEL. The engine
//! therefore hands out snapshots only through [`crate::Snapshot`], which pins the filter: while
//! any pin is held, the filter keeps every record. A pin is counted before the RocksDB snapshot is
//! taken, and the filter checks the count before every removal, so a removal that raced the pin
//! concerns an element already dead when the snapshot was taken: it cannot be reached from the
//! snapshot's metadata. Reclamation resumes with the next compaction after the pin is released.

use std::ffi::CStr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Weak};

use parking_lot::RwLock;
use rocksdb::compaction_filter::{CompactionFilter, Decision};
use rocksdb::compaction_filter_factory::{CompactionFilterContext, CompactionFilterFactory};
use rocksdb::DB;

use crate::layout::{self, TAG_SUB};
use crate::Meta;

/// State shared by the engine and the filters of every slot family.
#[derive(Default)]
pub(crate) struct Reclaimer {
    /// The open database; `None` before open and once closing has begun.
    db: RwLock<Option<Weak<DB>>>,
    /// Snapshots alive (see the module documentation).
    pins: AtomicUsize,
    /// Element records removed so far.
    dropped: AtomicU64,
}

impl Reclaimer {
    pub(crate) fn attach(&self, db: &Arc<DB>) {
        *self.db.write() = Some(Arc::downgrade(db));
    }

    /// Called before the engine drops the database: waits for a lookup in progress and stops
    /// every later one.
    pub(crate) fn detach(&self) {
        *self.db.write() = None;
    }

    pub(crate) fn pin(self: &Arc<Self>) -> Pin {
        self.pins.fetch_add(1, Ordering::SeqCst);
        Pin(self.clone())
    }

    pub(crate) fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// The live version of the key owning elements under `owner` (`slot | 's' | db | keylen |
    /// key`), read from `family`: `Some(None)` when there is no live collection, `None` when it
    /// cannot be told.
    fn live_version(&self, family: &str, owner: &[u8]) -> Option<Option<u64>> {
        let guard = self.db.read();
        let db = guard.as_ref()?.upgrade()?;
        let cf = db.cf_handle(family)?;
        let slot = u16::from_be_bytes([owner[0], owner[1]]);
        let key = layout::meta_key(slot, owner[3], &owner[8..]);
        let live = match db.get_pinned_cf(cf, key) {
            Ok(Some(raw)) => Meta::peek_version(&raw).ok(),
            Ok(None) => Some(None),
            Err(_) => None,
        };
        drop(db);
        drop(guard);
        live
    }
}

/// Keeps the filter from removing anything while alive.
pub(crate) struct Pin(Arc<Reclaimer>);

impl Drop for Pin {
    fn drop(&mut self) {
        self.0.pins.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Creates a [`StaleElements`] filter for each compaction of one slot family.
pub(crate) struct StaleElementsFactory {
    family: String,
    reclaimer: Arc<Reclaimer>,
}

impl StaleElementsFactory {
    pub(crate) fn new(family: &str, reclaimer: Arc<Reclaimer>) -> StaleElementsFactory {
        StaleElementsFactory {
            family: family.to_string(),
            reclaimer,
        }
    }
}

impl CompactionFilterFactory for StaleElementsFactory {
    type Filter = StaleElements;

    fn create(&mut self, _context: CompactionFilterContext) -> StaleElements {
        StaleElements {
            family: self.family.clone(),
            reclaimer: self.reclaimer.clone(),
            last: None,
        }
    }

    fn name(&self) -> &CStr {
        c"rockslot.stale-elements"
    }
}

/// The filter of one compaction run (see the module documentation).
pub(crate) struct StaleElements {
    family: String,
    reclaimer: Arc<Reclaimer>,
    /// The last owner looked up (`slot | 's' | db | keylen | key`) and its live version.
    last: Option<(Vec<u8>, Option<u64>)>,
}

impl StaleElements {
    fn decide(&mut self, raw: &[u8]) -> Decision {
        let Some((owner, version)) = split_element(raw) else {
            return Decision::Keep;
        };
        let live = match &self.last {
            Some((cached, live)) if cached.as_slice() == owner => *live,
            _ => match self.reclaimer.live_version(&self.family, owner) {
                Some(live) => {
                    self.last = Some((owner.to_vec(), live));
                    live
                }
                None => return Decision::Keep,
            },
        };
        if live == Some(version) || self.reclaimer.pins.load(Ordering::SeqCst) > 0 {
            return Decision::Keep;
        }
        self.reclaimer.dropped.fetch_add(1, Ordering::Relaxed);
        Decision::Remove
    }
}

impl CompactionFilter for StaleElements {
    fn filter(&mut self, _level: u32, key: &[u8], _value: &[u8]) -> Decision {
        self.decide(key)
    }

    fn name(&self) -> &CStr {
        c"rockslot.stale-elements"
    }
}

/// Splits an element record key into its owner prefix (`slot | 's' | db | keylen | key`) and
/// version; `None` for any other record.
fn split_element(raw: &[u8]) -> Option<(&[u8], u64)> {
    if raw.get(2) != Some(&TAG_SUB) {
        return None;
    }
    let key_len = u32::from_be_bytes(raw.get(4..8)?.try_into().ok()?) as usize;
    let owner_len = 8usize.checked_add(key_len)?;
    let version = raw.get(owner_len..owner_len.checked_add(8)?)?;
    Some((
        &raw[..owner_len],
        u64::from_be_bytes(version.try_into().ok()?),
    ))
}

#[cfg(test)]
mod tests {
    use std::ops::Bound;

    use formats::slot::key_slot;

    use super::*;
    use crate::engine::tests::open;
    use crate::{Engine, Instance, Kind, Order, Txn};

    const BIG: usize = 20_000;

    fn instance(db: usize, key: &[u8], version: u64) -> Instance<'_> {
        Instance { db, key, version }
    }

    /// Creates `key` as a hash of `count` elements under a new version; returns the version.
    fn create_hash(engine: &Engine, db: usize, key: &[u8], count: usize) -> u64 {
        let version = engine.new_version();
        let mut txn = Txn::new(engine);
        for i in 0..count {
            txn.element_put(
                instance(db, key, version),
                format!("f{i:06}").as_bytes(),
                vec![7; 32],
            )
            .unwrap();
        }
        txn.put(
            db,
            key,
            Meta::collection(Kind::Hash, version, count as u64, vec![]),
        )
        .unwrap();
        txn.commit(false).unwrap();
        version
    }

    fn count_elements(engine: &Engine, db: usize, key: &[u8], version: u64) -> usize {
        Txn::new(engine)
            .element_range(
                instance(db, key, version),
                Bound::Unbounded,
                Bound::Unbounded,
                Order::Ascending,
                usize::MAX,
            )
            .unwrap()
            .len()
    }

    /// Element records of `key` in database 0 as stored, any version (what a compaction may
    /// leave behind).
    fn stored_records(engine: &Engine, key: &[u8]) -> usize {
        let slot = key_slot(key);
        let prefix = layout::sub_prefix(slot, engine.physical_db(0).unwrap(), key, 0);
        let owner = &prefix[..prefix.len() - 8];
        engine
            .db
            .prefix_iterator_cf(engine.slot_cf(slot), owner)
            .map(|item| item.unwrap().0)
            .take_while(|k| k.starts_with(owner))
            .count()
    }

    #[test]
    fn splits_element_keys() {
        let raw = layout::sub_prefix(5, 2, b"key", 99);
        let mut with_field = raw.clone();
        with_field.extend_from_slice(b"field");
        assert_eq!(split_element(&raw), Some((&raw[..11], 99)));
        assert_eq!(split_element(&with_field), Some((&raw[..11], 99)));
        assert_eq!(split_element(&layout::meta_key(5, 2, b"key")), None);
        assert_eq!(split_element(&raw[..12]), None);
        assert_eq!(split_element(&[0, 0, TAG_SUB, 0, 255, 255, 255, 255]), None);
    }

    #[test]
    fn compaction_drops_deleted_and_overwritten_collections_only() {
        let dir = tempfile::tempdir().unwrap();
        let engine = open(dir.path());
        create_hash(&engine, 0, b"deleted", BIG);
        let old = create_hash(&engine, 0, b"recreated", BIG);
        create_hash(&engine, 0, b"overwritten", BIG);
        let kept = create_hash(&engine, 0, b"kept", BIG);
        let expired = create_hash(&engine, 0, b"expired", 100);
        // The same name in another database is another key.
        let elsewhere = create_hash(&engine, 1, b"deleted", 100);
        engine.flush().unwrap();

        let mut txn = Txn::new(&engine);
        txn.delete(0, b"deleted").unwrap();
        txn.put(0, b"overwritten", Meta::string(b"now a string".to_vec(), 0))
            .unwrap();
        let mut meta = txn.get(0, b"expired").unwrap().unwrap().clone();
        meta.expire_at_ms = 1;
        txn.put(0, b"expired", meta).unwrap();
        txn.commit(false).unwrap();
        let mut txn = Txn::new(&engine);
        txn.delete(0, b"recreated").unwrap();
        txn.commit(false).unwrap();
        let new = create_hash(&engine, 0, b"recreated", 10);
        assert!(new > old);

        engine.compact_all().unwrap();
        assert_eq!(engine.stale_elements_dropped(), 3 * BIG as u64);
        assert_eq!(stored_records(&engine, b"deleted"), 0);
        assert_eq!(stored_records(&engine, b"overwritten"), 0);
        assert_eq!(stored_records(&engine, b"recreated"), 10);
        assert_eq!(count_elements(&engine, 0, b"recreated", new), 10);
        assert_eq!(count_elements(&engine, 0, b"recreated", old), 0);
        assert_eq!(count_elements(&engine, 0, b"kept", kept), BIG);
        assert_eq!(count_elements(&engine, 0, b"expired", expired), 100);
        assert_eq!(count_elements(&engine, 1, b"deleted", elsewhere), 100);

        // Survives a restart: the records are gone from the files, not hidden.
        drop(engine);
        let engine = open(dir.path());
        assert_eq!(stored_records(&engine, b"deleted"), 0);
        assert_eq!(count_elements(&engine, 0, b"kept", kept), BIG);
        assert_eq!(count_elements(&engine, 0, b"recreated", new), 10);
        assert_eq!(count_elements(&engine, 1, b"deleted", elsewhere), 100);
    }

    #[test]
    fn snapshots_pin_stale_elements() {
        let dir = tempfile::tempdir().unwrap();
        let engine = open(dir.path());
        let version = create_hash(&engine, 0, b"h", 1_000);
        let snapshot = engine.snapshot().unwrap();
        let mut txn = Txn::new(&engine);
        txn.delete(0, b"h").unwrap();
        txn.commit(false).unwrap();

        engine.compact_all().unwrap();
        assert_eq!(engine.stale_elements_dropped(), 0);
        let physical = engine.physical_db(0).unwrap();
        let meta = snapshot
            .get_meta(physical, key_slot(b"h"), b"h")
            .unwrap()
            .unwrap();
        assert_eq!(meta.version, version);
        let page = snapshot
            .elements(physical, b"h", version, None, 2_000)
            .unwrap();
        assert_eq!(page.len(), 1_000);
        let rest = snapshot
            .elements(physical, b"h", version, Some(&page[997].0), 10)
            .unwrap();
        assert_eq!(rest.len(), 2);
        drop(snapshot);

        engine.compact_all().unwrap();
        assert_eq!(engine.stale_elements_dropped(), 1_000);
        assert_eq!(stored_records(&engine, b"h"), 0);
    }
}
