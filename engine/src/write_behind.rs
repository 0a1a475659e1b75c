//! Group commit: committed write batches wait here and reach RocksDB together.
//!
//! Every command commits its own batch under the node's execution lock. Handing each batch to
//! RocksDB on its own pays RocksDB's per-write work for every command: joining the write thread,
//! a WAL record with its own checksum (CRC32C over the payload, then a software CRC combine with
//! the header), publishing the sequence number. Under load many clients commit in one turn of
//! the event loop, and their replies all wait for the one WAL flush that ends the turn anyway
//! (`Engine::flush_wal_buffer`). So a committed batch is appended here, and the batches pending
//! are written as ONE RocksDB write when:
//! - the node makes writes durable before replies leave (`flush_wal_buffer`, `sync_wal`,
//!   `flush`): an acknowledged write is always in the WAL handed to the OS;
//! - anything is about to scan storage: an iterator, a snapshot, the expire cycle settles first,
//!   so no reader misses a committed write. Point reads need not (below): metadata is read from
//!   the meta cache, which is updated at commit and holds every waiting metadata record unless
//!   it dropped some since the last settle (`meta_cache`); a miss settles only then;
//! - a commit would take the pending records past [`PENDING_LIMIT`] bytes (memory stays
//!   bounded): what was pending is written first;
//! - a bulk load is in progress: its ingested table files must follow every earlier write in
//!   sequence order, so writes go through at once until it ends.
//!
//! The pending records are kept as one RocksDB `WriteBatch` representation (`batch_rep`): the
//! records of every batch appended, in commit order. Each point record is indexed by (column
//! family, key) as it arrives, and the index serves two ends:
//! - A record that a later pending record of the same key replaces is left out of the write.
//!   The write is atomic (no reader sees part of it), so only the last record of a key can
//!   ever be seen; a range deletion stays in place and still covers whatever it covered. Many
//!   clients writing one key (a shared list, a counter), and the replication position that every
//!   commit records while the node has replicas or an AOF, then cost RocksDB one memtable
//!   insert per turn instead of one per command.
//! - A point read of one element need not settle: a read finds a pending value in the index
//!   ([`WriteBehind::pending_element`]) and otherwise reads storage, which holds everything else
//!   that was committed. Without this, every command that reads an element (HSET asking
//!   whether its field exists, LPOP reading the head, XADD reading the last stream node) wrote
//!   the records of the commands before it in the turn as a RocksDB write of their own, and a
//!   busy turn went back to one write per command. Pending range deletions (FLUSHDB, FLUSHALL)
//!   make every point read settle, as range reads always do.
//!
//! A crash loses the pending batches as it loses RocksDB's unflushed WAL buffer (the engine runs
//! with `manual_wal_flush`): neither was acknowledged. A write that fails leaves the batches
//! pending, and the next settle tries again; readers get the error meanwhile.

use std::hash::BuildHasher;
use std::ops::Range;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use hashbrown::HashTable;
use parking_lot::{Mutex, MutexGuard};
use rocksdb::{WriteBatch, WriteOptions, DB};

use crate::batch_rep::{set_count, Place, RecordBatch, HEADER};
use crate::key_map::KeyHashing;
use crate::Result;

/// Pending records beyond this many bytes are written first; a batch this big on its own is
/// written directly.
const PENDING_LIMIT: usize = 1 << 20;

pub(crate) struct WriteBehind {
    /// What each commit fills before its batch is appended to `pending`: emptied, never freed,
    /// so a commit's records cost no allocation once it has grown (see [`WriteBehind::staging`]).
    staging: Mutex<Staging>,
    pending: Mutex<Pending>,
    /// Whether `pending` holds records: readers check it without the lock.
    waiting: AtomicBool,
    /// Bulk loads in progress: while any is, batches are written at once.
    write_through: AtomicUsize,
}

/// A commit's records and the buffers it encodes each record's key and value in.
#[derive(Default)]
pub(crate) struct Staging {
    pub(crate) batch: RecordBatch,
    pub(crate) key: Vec<u8>,
    pub(crate) value: Vec<u8>,
}

#[derive(Default)]
struct Pending {
    records: RecordBatch,
    /// The latest pending point record of each (column family, key). The keys come from
    /// clients, so the table hashes with a keyed SipHash.
    latest: HashTable<Place>,
    hashing: KeyHashing,
    /// Records a later record of the same key replaced: left out when written.
    superseded: Vec<Range<usize>>,
    /// The records without the superseded ones, as written.
    compacted: Vec<u8>,
}

/// What the pending records say about one element (see [`WriteBehind::pending_element`]).
pub(crate) enum PendingElement {
    /// A pending record sets it (`None`: deletes it).
    Written(Option<Vec<u8>>),
    /// No pending record touches it: storage has its latest value.
    Untouched,
    /// Pending range deletions may touch it: settle, then read storage.
    Unknown,
}

impl Default for WriteBehind {
    fn default() -> Self {
        WriteBehind {
            staging: Mutex::new(Staging::default()),
            pending: Mutex::new(Pending::default()),
            waiting: AtomicBool::new(false),
            write_through: AtomicUsize::new(0),
        }
    }
}

impl WriteBehind {
    /// An empty batch (and buffers) for a commit to fill and hand to [`WriteBehind::submit`];
    /// commits are serialised by the engine, so this lock is never contended.
    pub(crate) fn staging(&self) -> MutexGuard<'_, Staging> {
        let mut staging = self.staging.lock();
        staging.batch.clear();
        staging
    }

    /// Takes a committed batch: pending, or written at once (with `sync`, while a bulk load
    /// runs, or when it is big), after everything pending. If the batch would take the pending
    /// records past [`PENDING_LIMIT`], those are written first; if that write fails, the batch
    /// fails with its error and the records before it stay pending.
    pub(crate) fn submit(&self, db: &DB, batch: &mut RecordBatch, sync: bool) -> Result<()> {
        let bytes = batch.size();
        if sync || self.write_through.load(Ordering::Acquire) > 0 || bytes >= PENDING_LIMIT {
            return self.write(db, batch.for_rocksdb(), sync);
        }
        let mut pending = self.pending.lock();
        if pending.records.size() + bytes - HEADER > PENDING_LIMIT {
            self.write_pending(db, &mut pending)?;
        }
        pending.append(batch);
        self.waiting.store(true, Ordering::Release);
        Ok(())
    }

    /// Writes `batch` now, after everything pending.
    pub(crate) fn write(&self, db: &DB, batch: WriteBatch, sync: bool) -> Result<()> {
        let mut pending = self.pending.lock();
        self.write_pending(db, &mut pending)?;
        write_batch(db, batch, sync)
    }

    /// Writes everything pending (one RocksDB write), so that reads see it.
    pub(crate) fn settle(&self, db: &DB) -> Result<()> {
        if !self.waiting.load(Ordering::Acquire) {
            return Ok(());
        }
        let mut pending = self.pending.lock();
        self.write_pending(db, &mut pending)
    }

    fn write_pending(&self, db: &DB, pending: &mut Pending) -> Result<()> {
        if pending.records.count() == 0 {
            return Ok(());
        }
        write_batch(db, pending.live_records(), false)?;
        pending.clear();
        self.waiting.store(false, Ordering::Release);
        Ok(())
    }

    /// What the pending records hold for the element record `raw` of column family `family`.
    pub(crate) fn pending_element(&self, family: u32, raw: &[u8]) -> PendingElement {
        if !self.waiting.load(Ordering::Acquire) {
            return PendingElement::Untouched;
        }
        let pending = self.pending.lock();
        if pending.records.has_ranges() {
            return PendingElement::Unknown;
        }
        match pending.find(family, raw) {
            Some(place) => {
                let value = place.value(pending.records.bytes());
                PendingElement::Written(value.map(<[u8]>::to_vec))
            }
            None => PendingElement::Untouched,
        }
    }

    /// A bulk load starts: what is pending is written, and batches go through at once for as
    /// long as the returned guard lives.
    pub(crate) fn write_through(&self, db: &DB) -> Result<WriteThrough<'_>> {
        self.write_through.fetch_add(1, Ordering::AcqRel);
        let guard = WriteThrough(self);
        self.settle(db)?;
        Ok(guard)
    }
}

impl Pending {
    /// Appends a commit's records, indexing its point records and marking the ones they
    /// replace.
    fn append(&mut self, batch: &RecordBatch) {
        let first = self.records.points().len();
        self.records.append(batch);
        let Pending {
            records,
            latest,
            hashing,
            superseded,
            ..
        } = self;
        let rep = records.bytes();
        for &place in &records.points()[first..] {
            let key = place.key(rep);
            let hash = hashing.hash_one((place.family, key));
            let same = |other: &Place| other.family == place.family && other.key(rep) == key;
            match latest.find_mut(hash, same) {
                Some(earlier) => {
                    superseded.push(earlier.start as usize..earlier.end as usize);
                    *earlier = place;
                }
                None => {
                    latest.insert_unique(hash, place, |p| hashing.hash_one((p.family, p.key(rep))));
                }
            }
        }
    }

    fn find(&self, family: u32, key: &[u8]) -> Option<Place> {
        let hash = self.hashing.hash_one((family, key));
        let rep = self.records.bytes();
        self.latest
            .find(hash, |p| p.family == family && p.key(rep) == key)
            .copied()
    }

    /// The batch to write: the records without the superseded ones.
    fn live_records(&mut self) -> WriteBatch {
        if self.superseded.is_empty() {
            return self.records.for_rocksdb();
        }
        let rep = self.records.bytes();
        self.superseded.sort_unstable_by_key(|r| r.start);
        self.compacted.clear();
        self.compacted.extend_from_slice(&rep[..HEADER]);
        let live = self.records.count() - self.superseded.len() as u32;
        set_count(&mut self.compacted, live);
        let mut from = HEADER;
        for gone in &self.superseded {
            self.compacted.extend_from_slice(&rep[from..gone.start]);
            from = gone.end;
        }
        self.compacted.extend_from_slice(&rep[from..]);
        WriteBatch::from_data(&self.compacted)
    }

    fn clear(&mut self) {
        self.records.clear();
        self.latest.clear();
        self.superseded.clear();
    }
}

/// Keeps batches from waiting (see [`WriteBehind::write_through`]).
pub(crate) struct WriteThrough<'a>(&'a WriteBehind);

impl Drop for WriteThrough<'_> {
    fn drop(&mut self) {
        self.0.write_through.fetch_sub(1, Ordering::AcqRel);
    }
}

fn write_batch(db: &DB, batch: WriteBatch, sync: bool) -> Result<()> {
    let mut opts = WriteOptions::default();
    opts.set_sync(sync);
    db.write_opt(batch, &opts)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::batch_rep::DEFAULT_FAMILY;
    use crate::engine::tests::open;
    use crate::{layout, Instance, Kind, Meta, Txn};
    use formats::slot::key_slot;

    /// The metadata record of `key` (database 0) as RocksDB holds it, bypassing the engine.
    fn stored(engine: &crate::Engine, key: &[u8]) -> Option<Vec<u8>> {
        let slot = key_slot(key);
        let raw = layout::meta_key(slot, engine.physical_db(0).unwrap(), key);
        engine.db.get_cf(engine.slot_cf(slot), raw).unwrap()
    }

    fn set(engine: &crate::Engine, key: &[u8], value: &[u8]) {
        let mut txn = Txn::new(engine);
        txn.put(0, key, Meta::string(value.to_vec(), 0)).unwrap();
        txn.commit(false).unwrap();
    }

    #[test]
    fn commits_wait_until_storage_is_read_or_made_durable_and_keep_their_order() {
        let dir = tempfile::tempdir().unwrap();
        let engine = open(dir.path());
        set(&engine, b"a", b"1");
        set(&engine, b"a", b"3");
        assert_eq!(stored(&engine, b"a"), None, "both commits wait");
        // The engine's reads see them meanwhile (here from the metadata cache).
        let mut txn = Txn::new(&engine);
        assert_eq!(txn.get(0, b"a").unwrap().unwrap().body, b"3");
        drop(txn);

        // A key the cache does not hold has no record waiting (the cache holds every waiting
        // one): it is read from storage without writing what waits. Then the writes go in
        // commit order.
        set(&engine, b"b", b"2");
        assert_eq!(stored(&engine, b"a"), None);
        engine.flush_wal_buffer().unwrap();
        let a = Meta::decode(&stored(&engine, b"a").unwrap()).unwrap();
        assert_eq!(a.body, b"3", "the later commit wins");
        assert!(stored(&engine, b"b").is_some());

        // Closing the engine writes what still waits.
        set(&engine, b"a", b"4");
        drop(engine);
        let engine = open(dir.path());
        let a = Meta::decode(&stored(&engine, b"a").unwrap()).unwrap();
        assert_eq!(a.body, b"4");
    }

    /// Commits hash `h` (database 0) with fields f1 = v1 and f2 = v2.
    fn hash_with_two_fields(engine: &crate::Engine) -> Instance<'static> {
        let hash = Instance {
            db: 0,
            key: b"h",
            version: engine.new_version(),
        };
        let mut txn = Txn::new(engine);
        txn.put(
            0,
            b"h",
            Meta::collection(Kind::Hash, hash.version, 2, vec![]),
        )
        .unwrap();
        txn.element_put(hash, b"f1", b"v1".to_vec()).unwrap();
        txn.element_put(hash, b"f2", b"v2".to_vec()).unwrap();
        txn.commit(false).unwrap();
        hash
    }

    #[test]
    fn every_read_of_storage_sees_the_commits_waiting() {
        let dir = tempfile::tempdir().unwrap();
        let engine = open(dir.path());
        let hash = hash_with_two_fields(&engine);
        set(&engine, b"s", b"x");

        // An element read (from the pending records), an element range, a scan, a snapshot:
        // the last three settle first.
        let txn = Txn::new(&engine);
        assert_eq!(txn.element_get(hash, b"f2").unwrap(), Some(b"v2".to_vec()));
        drop(txn);
        set(&engine, b"t", b"y");
        let range = Txn::new(&engine)
            .element_range(
                hash,
                std::ops::Bound::Unbounded,
                std::ops::Bound::Unbounded,
                crate::Order::Ascending,
                10,
            )
            .unwrap();
        assert_eq!(range.len(), 2);
        set(&engine, b"u", b"z");
        let (keys, _) = engine.scan(0, &[], 10).unwrap();
        assert_eq!(keys.len(), 4);
        set(&engine, b"v", b"w");
        let snapshot = engine.snapshot().unwrap();
        let slot = key_slot(b"v");
        assert!(snapshot.get_meta(0, slot, b"v").unwrap().is_some());
    }

    #[test]
    fn element_reads_find_pending_records_without_settling() {
        let dir = tempfile::tempdir().unwrap();
        let engine = open(dir.path());
        let hash = hash_with_two_fields(&engine);
        engine.flush_wal_buffer().unwrap();

        // Later commits change f1 twice and delete f2; they wait, with another key's record.
        for value in [&b"v1b"[..], b"v1c"] {
            let mut txn = Txn::new(&engine);
            txn.element_put(hash, b"f1", value.to_vec()).unwrap();
            txn.element_delete(hash, b"f2").unwrap();
            txn.commit(false).unwrap();
        }
        set(&engine, b"s", b"x");
        let txn = Txn::new(&engine);
        assert_eq!(txn.element_get(hash, b"f1").unwrap(), Some(b"v1c".to_vec()));
        assert_eq!(txn.element_get(hash, b"f2").unwrap(), None);
        assert_eq!(txn.element_get(hash, b"f3").unwrap(), None);
        drop(txn);
        assert_eq!(stored(&engine, b"s"), None, "point reads did not settle");

        // A pending range deletion (another database's FLUSHDB) may cover any record: point
        // reads settle first.
        let mut txn = Txn::new(&engine);
        txn.flush_db(1).unwrap();
        txn.commit(false).unwrap();
        let txn = Txn::new(&engine);
        assert_eq!(txn.element_get(hash, b"f1").unwrap(), Some(b"v1c".to_vec()));
        drop(txn);
        assert!(stored(&engine, b"s").is_some());
        let txn = Txn::new(&engine);
        assert_eq!(txn.element_get(hash, b"f2").unwrap(), None);
    }

    #[test]
    fn a_metadata_miss_settles_only_after_the_cache_dropped_a_waiting_record() {
        let dir = tempfile::tempdir().unwrap();
        let engine = open(dir.path());
        // Too big for the cache: its record waits while the cache does not hold it.
        let big = vec![b'x'; crate::meta_cache::MAX_ENTRY_BYTES];
        set(&engine, b"small", b"1");
        set(&engine, b"big", &big);
        assert_eq!(stored(&engine, b"big"), None);
        assert_eq!(stored(&engine, b"small"), None);
        let mut txn = Txn::new(&engine);
        assert_eq!(txn.get(0, b"big").unwrap().unwrap().body, big);
        drop(txn);
        assert!(
            stored(&engine, b"small").is_some(),
            "the miss wrote what waited"
        );

        // Nothing dropped since: a miss reads storage and leaves what waits.
        set(&engine, b"later", b"2");
        let mut txn = Txn::new(&engine);
        assert_eq!(txn.get(0, b"absent").unwrap(), None);
        drop(txn);
        assert_eq!(stored(&engine, b"later"), None);
    }

    /// Entries in `cf`'s memtables: records written and not yet flushed to table files.
    fn memtable_entries(engine: &crate::Engine, cf: &rocksdb::ColumnFamily) -> u64 {
        engine
            .db
            .property_int_value_cf(cf, "rocksdb.num-entries-active-mem-table")
            .unwrap()
            .unwrap()
    }

    #[test]
    fn a_record_replaced_in_the_same_write_is_left_out() {
        let dir = tempfile::tempdir().unwrap();
        let engine = open(dir.path());
        let slot = key_slot(b"{k}a");
        let cf = engine.slot_cf(slot);
        set(&engine, b"{k}b", b"0");
        engine.flush_wal_buffer().unwrap();
        assert_eq!(memtable_entries(&engine, cf), 1);
        // Three writes of one key, a deletion then a write of another (same slot, so the
        // same family), then one more write of the first: two more records reach the memtable.
        for value in [&b"1"[..], b"2", b"3"] {
            set(&engine, b"{k}a", value);
        }
        let mut txn = Txn::new(&engine);
        txn.delete(0, b"{k}b").unwrap();
        txn.commit(false).unwrap();
        set(&engine, b"{k}b", b"x");
        set(&engine, b"{k}a", b"4");
        engine.flush_wal_buffer().unwrap();
        assert_eq!(memtable_entries(&engine, cf), 3);
        let a = Meta::decode(&stored(&engine, b"{k}a").unwrap()).unwrap();
        assert_eq!(a.body, b"4");
        let b = Meta::decode(&stored(&engine, b"{k}b").unwrap()).unwrap();
        assert_eq!(b.body, b"x");

        // A write then a deletion: the deletion alone is written, and hides what was stored.
        set(&engine, b"{k}a", b"5");
        let mut txn = Txn::new(&engine);
        txn.delete(0, b"{k}a").unwrap();
        txn.commit(false).unwrap();
        engine.flush_wal_buffer().unwrap();
        assert_eq!(memtable_entries(&engine, cf), 4);
        assert_eq!(stored(&engine, b"{k}a"), None);
        drop(engine);
        let engine = open(dir.path());
        assert_eq!(stored(&engine, b"{k}a"), None, "after a restart too");
        assert!(stored(&engine, b"{k}b").is_some());
    }

    /// Submits, as one commit, the records `build` writes.
    fn submit(engine: &crate::Engine, build: impl Fn(&mut RecordBatch)) {
        let mut batch = RecordBatch::default();
        build(&mut batch);
        engine
            .write_behind
            .submit(&engine.db, &mut batch, false)
            .unwrap();
    }

    #[test]
    fn records_of_one_key_in_two_families_are_both_written() {
        let dir = tempfile::tempdir().unwrap();
        let engine = open(dir.path());
        let expires = engine.family_ids.expires;
        submit(&engine, |b| b.put(DEFAULT_FAMILY, b"same", b"d1"));
        submit(&engine, |b| b.put(expires, b"same", b"e1"));
        submit(&engine, |b| b.put(DEFAULT_FAMILY, b"same", b"d2"));
        assert_eq!(engine.write_behind.pending.lock().superseded.len(), 1);
        engine.settle().unwrap();
        let get = |cf| engine.db.get_cf(engine.cf(cf), b"same").unwrap();
        assert_eq!(get(layout::CF_DEFAULT).unwrap(), b"d2");
        assert_eq!(get(layout::CF_EXPIRES).unwrap(), b"e1");
    }

    #[test]
    fn range_deletions_keep_their_place_among_the_writes_left() {
        let dir = tempfile::tempdir().unwrap();
        let engine = open(dir.path());
        // a: written, range-deleted, written again: the last write stands. b: written twice,
        // then range-deleted: it is gone.
        submit(&engine, |b| b.put(DEFAULT_FAMILY, b"a", b"1"));
        submit(&engine, |b| b.put(DEFAULT_FAMILY, b"b", b"1"));
        submit(&engine, |b| b.delete_range(DEFAULT_FAMILY, b"a", b"b"));
        submit(&engine, |b| b.put(DEFAULT_FAMILY, b"a", b"2"));
        submit(&engine, |b| b.put(DEFAULT_FAMILY, b"b", b"2"));
        submit(&engine, |b| b.delete_range(DEFAULT_FAMILY, b"b", b"c"));
        let wb = &engine.write_behind;
        assert_eq!(wb.pending.lock().superseded.len(), 2);
        assert!(matches!(
            wb.pending_element(DEFAULT_FAMILY, b"a"),
            PendingElement::Unknown
        ));
        engine.settle().unwrap();
        let cf = engine.cf(layout::CF_DEFAULT);
        assert_eq!(engine.db.get_cf(cf, b"a").unwrap().unwrap(), b"2");
        assert_eq!(engine.db.get_cf(cf, b"b").unwrap(), None);
    }

    #[test]
    fn big_batches_and_bulk_loads_write_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let engine = open(dir.path());
        let big = vec![b'x'; PENDING_LIMIT];
        set(&engine, b"small", b"1");
        set(&engine, b"big", &big);
        assert!(
            stored(&engine, b"big").is_some(),
            "a big batch goes at once"
        );
        assert!(stored(&engine, b"small").is_some(), "after what waited");

        // Many small commits: what waits stays under the limit.
        let value = vec![b'v'; 1000];
        for i in 0..2 * PENDING_LIMIT / 1000 {
            set(&engine, format!("k{i}").as_bytes(), &value);
        }
        assert!(stored(&engine, b"k0").is_some());
        assert!(engine.write_behind.pending.lock().records.size() < PENDING_LIMIT);

        // A bulk load writes what waits before it starts, and commits go through meanwhile.
        let dir = tempfile::tempdir().unwrap();
        let engine = open(dir.path());
        set(&engine, b"before", b"1");
        let mut txn = Txn::new(&engine);
        txn.delete(0, b"before").unwrap();
        txn.commit(false).unwrap();
        let bulk = engine.bulk_load(1 << 20, 0).unwrap();
        set(&engine, b"during", b"2");
        assert!(stored(&engine, b"during").is_some());
        bulk.finish().unwrap();
        set(&engine, b"after", b"3");
        assert_eq!(stored(&engine, b"after"), None, "commits wait again");
    }
}
