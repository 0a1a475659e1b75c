//! A transaction: the reads and writes of one command (or one MULTI/EXEC block), committed as one
//! RocksDB `WriteBatch`.
//!
//! Reads see the transaction's own writes. Nothing reaches RocksDB before [`Txn::commit`], which
//! writes, in one atomic batch: the range deletions of flushed databases, every changed metadata
//! record, the expire and field-expire index entries that changed with them, the key counters of every touched
//! (database, slot), the database map if SWAPDB changed it, and the replication position. The node
//! serialises command execution, so a transaction never races another writer; the engine still
//! takes its commit lock so that counters and batch order agree even if it did not.

use std::collections::HashMap;
use std::sync::atomic::Ordering;

use formats::slot::{key_slot, SLOT_COUNT};

use crate::batch_rep::DEFAULT_FAMILY;
use crate::elements::ElementOverlay;
use crate::key_map::{KeyMap, KeyRef};
use crate::layout;
use crate::write_behind::Staging;
use crate::{Engine, EngineError, Meta, ReplPosition, Result, ScanItem, Snapshot};

struct Entry {
    /// The key's hash slot, computed once.
    slot: u16,
    /// Whether the key existed in RocksDB when the transaction first touched it (after flushes in
    /// this transaction), and its expire then: all the commit needs for counters and the index.
    original_exists: bool,
    original_expire_ms: i64,
    original_field_expire_ms: i64,
    current: Option<Meta>,
    dirty: bool,
    /// When the key was first written in this transaction (an ordinal): keys changed by a
    /// transaction are reported in the order they were first written, as Redis signals them.
    first_written: u64,
    /// Every write of the key so far was [`Txn::put_unsignalled`]: stored, but not reported
    /// by [`Txn::changed_keys`].
    unsignalled: bool,
}

impl Entry {
    /// What this entry changes in its (database, slot) counters: (keys, keys with an expire).
    fn count_delta(&self) -> (i64, i64) {
        let expire_now = self.current.as_ref().is_some_and(|m| m.expire_at_ms != 0);
        (
            self.current.is_some() as i64 - self.original_exists as i64,
            expire_now as i64 - (self.original_expire_ms != 0) as i64,
        )
    }

    fn mark_written(&mut self, ordinal: u64) {
        if !self.dirty || self.unsignalled {
            self.dirty = true;
            self.unsignalled = false;
            self.first_written = ordinal;
        }
    }
}

/// Reads and writes of one atomic unit of work. See the module documentation.
pub struct Txn<'e> {
    pub(crate) engine: &'e Engine,
    /// (physical db, key) → state.
    entries: KeyMap<Entry>,
    /// Writes so far (the next [`Entry::first_written`] ordinal).
    writes: u64,
    /// Physical databases emptied in this transaction, in order.
    pub(crate) flushed: Vec<u8>,
    /// Pending collection element writes (see `elements`).
    pub(crate) elements: ElementOverlay,
    db_map: Option<Vec<u8>>,
    stale_hints: Vec<Vec<u8>>,
    stale_field_hints: Vec<Vec<u8>>,
    /// (replication ID, offset) this batch brings the data to.
    repl: Option<ReplPosition>,
    /// A new function libraries record (`Some(None)` deletes it).
    functions: Option<Option<Vec<u8>>>,
    /// Reads as of this snapshot instead of the live data (a dump taken while writes go on);
    /// such a transaction is never committed.
    pub(crate) snapshot: Option<&'e Snapshot<'e>>,
}

impl<'e> Txn<'e> {
    pub fn new(engine: &'e Engine) -> Txn<'e> {
        Txn {
            engine,
            entries: KeyMap::default(),
            writes: 0,
            flushed: Vec::new(),
            elements: ElementOverlay::new(),
            db_map: None,
            stale_hints: Vec::new(),
            stale_field_hints: Vec::new(),
            repl: None,
            functions: None,
            snapshot: None,
        }
    }

    /// A transaction that reads the data as it was when `snapshot` was taken (database numbers
    /// as they were then, too). Its writes stay in its overlay: committing it is an error.
    pub fn over_snapshot(engine: &'e Engine, snapshot: &'e Snapshot<'e>) -> Txn<'e> {
        let mut txn = Txn::new(engine);
        txn.db_map = Some(snapshot.db_map.clone());
        txn.snapshot = Some(snapshot);
        txn
    }

    pub(crate) fn physical(&self, db: usize) -> Result<u8> {
        match &self.db_map {
            Some(map) => map.get(db).copied().ok_or(EngineError::DbIndex(db)),
            None => self.engine.physical_db(db),
        }
    }

    fn entry(&mut self, db: usize, key: &[u8]) -> Result<&mut Entry> {
        let physical = self.physical(db)?;
        let id = KeyRef(physical, key);
        let vacant = match self.entries.entry_ref(&id) {
            hashbrown::hash_map::EntryRef::Occupied(found) => return Ok(found.into_mut()),
            hashbrown::hash_map::EntryRef::Vacant(vacant) => vacant,
        };
        let slot = key_slot(key);
        let original = if self.flushed.contains(&physical) {
            None
        } else if let Some(snapshot) = self.snapshot {
            snapshot.get_meta(physical, slot, key)?
        } else {
            self.engine.get_meta(physical, slot, key)?
        };
        let entry = Entry {
            slot,
            original_exists: original.is_some(),
            original_expire_ms: original.as_ref().map_or(0, |m| m.expire_at_ms),
            original_field_expire_ms: original.as_ref().map_or(0, |m| m.field_expire_ms),
            current: original,
            dirty: false,
            first_written: 0,
            unsignalled: false,
        };
        Ok(vacant.insert_with_key(id.owned(), entry))
    }

    /// A key's metadata as this transaction sees it, expired or not (expiry is the caller's rule).
    pub fn get(&mut self, db: usize, key: &[u8]) -> Result<Option<&Meta>> {
        Ok(self.entry(db, key)?.current.as_ref())
    }

    /// Creates or replaces a key.
    pub fn put(&mut self, db: usize, key: &[u8], meta: Meta) -> Result<()> {
        let ordinal = self.writes;
        let entry = self.entry(db, key)?;
        entry.current = Some(meta);
        entry.mark_written(ordinal);
        self.writes += 1;
        Ok(())
    }

    /// Stores a key's new metadata without reporting the key as changed (no WATCH
    /// invalidation, no wakeup of blocked clients), for the few writes Redis makes without
    /// signalling a modified key (XSETID). A later ordinary write of the key reports it.
    pub fn put_unsignalled(&mut self, db: usize, key: &[u8], meta: Meta) -> Result<()> {
        let entry = self.entry(db, key)?;
        entry.current = Some(meta);
        if !entry.dirty {
            entry.dirty = true;
            entry.unsignalled = true;
        }
        Ok(())
    }

    /// Removes a key; returns whether it existed (expired or not).
    pub fn delete(&mut self, db: usize, key: &[u8]) -> Result<bool> {
        let ordinal = self.writes;
        let entry = self.entry(db, key)?;
        let existed = entry.current.is_some();
        if existed {
            entry.current = None;
            entry.mark_written(ordinal);
            self.writes += 1;
        }
        Ok(existed)
    }

    /// Empties logical database `db`.
    pub fn flush_db(&mut self, db: usize) -> Result<()> {
        let physical = self.physical(db)?;
        self.entries.retain(|(p, _), _| *p != physical);
        // Element records carry the physical db right after slot and tag.
        self.elements.retain(|raw, _| raw.get(3) != Some(&physical));
        if !self.flushed.contains(&physical) {
            self.flushed.push(physical);
        }
        Ok(())
    }

    /// Swaps two logical databases.
    pub fn swap_dbs(&mut self, a: usize, b: usize) -> Result<()> {
        let mut map = match self.db_map.take() {
            Some(map) => map,
            None => self.engine.db_map.lock().clone(),
        };
        if a >= map.len() || b >= map.len() {
            return Err(EngineError::DbIndex(a.max(b)));
        }
        map.swap(a, b);
        self.db_map = Some(map);
        Ok(())
    }

    /// Drops an expire index entry that no longer matches its key.
    pub fn drop_expire_hint(&mut self, raw: Vec<u8>) {
        self.stale_hints.push(raw);
    }

    /// Drops a field-expire index entry that no longer matches its key.
    pub fn drop_field_expire_hint(&mut self, raw: Vec<u8>) {
        self.stale_field_hints.push(raw);
    }

    /// Records the replication (and AOF) position this batch brings the data to. It is written
    /// only when it differs from the last one written, so an idle stream costs no extra record.
    pub fn set_repl_position(&mut self, position: ReplPosition) {
        self.repl = Some(position);
    }

    /// The function libraries record as this transaction sees it.
    pub fn functions(&self) -> Result<Option<Vec<u8>>> {
        match (&self.functions, self.snapshot) {
            (Some(pending), _) => Ok(pending.clone()),
            (None, Some(snapshot)) => snapshot.functions(),
            (None, None) => self.engine.functions(),
        }
    }

    /// Replaces the function libraries record (`None` removes it) when the batch commits.
    pub fn set_functions(&mut self, record: Option<Vec<u8>>) {
        self.functions = Some(record);
    }

    /// The keys this transaction created, changed or deleted, as (logical db, key, exists
    /// afterwards): what WATCH invalidation and blocked-client wakeups look at.
    pub fn changed_keys(&self) -> Vec<(usize, Vec<u8>, bool)> {
        let map = match &self.db_map {
            Some(map) => map.clone(),
            None => self.engine.db_map.lock().clone(),
        };
        let mut changed: Vec<(u64, usize, Vec<u8>, bool)> = self
            .entries
            .iter()
            .filter(|(_, entry)| entry.dirty && !entry.unsignalled)
            .filter_map(|((physical, key), entry)| {
                let db = map.iter().position(|p| p == physical)?;
                Some((
                    entry.first_written,
                    db,
                    key.clone(),
                    entry.current.is_some(),
                ))
            })
            .collect();
        changed.sort_unstable_by_key(|c| c.0);
        changed
            .into_iter()
            .map(|(_, db, key, exists)| (db, key, exists))
            .collect()
    }

    /// (keys, keys with an expire) of logical database `db` as this transaction sees it: the
    /// committed counts plus its own pending creations, deletions and flushes (DBSIZE inside
    /// MULTI/EXEC sees the block's earlier writes).
    pub fn db_counts(&self, db: usize) -> Result<(u64, u64)> {
        let physical = self.physical(db)?;
        let (keys, expires) = if self.flushed.contains(&physical) {
            (0, 0)
        } else {
            self.engine.physical_counts(physical)
        };
        let (mut keys, mut expires) = (keys as i64, expires as i64);
        for ((p, _), entry) in &self.entries {
            if *p != physical || !entry.dirty {
                continue;
            }
            let (dk, de) = entry.count_delta();
            keys += dk;
            expires += de;
        }
        Ok((keys.max(0) as u64, expires.max(0) as u64))
    }

    /// [`Engine::scan`] as this transaction sees it: the committed page with the transaction's
    /// own creations, replacements and deletions in the same key range merged in (KEYS and SCAN
    /// inside MULTI/EXEC see the block's earlier writes). A page may hold a few more items than
    /// `limit`.
    pub fn scan(
        &self,
        db: usize,
        from: &[u8],
        limit: usize,
    ) -> Result<(Vec<ScanItem>, Option<Vec<u8>>)> {
        let physical = self.physical(db)?;
        // An empty database is not walked: its walk would seek once per slot.
        let empty = self.flushed.contains(&physical)
            || match self.snapshot {
                Some(snapshot) => snapshot.is_empty(physical),
                None => self.engine.physical_is_empty(physical),
            };
        let (items, next) = if empty {
            (Vec::new(), None)
        } else {
            self.engine
                .scan_physical(physical, from, limit, self.snapshot)?
        };
        let pending: Vec<(&Vec<u8>, &Entry)> = self
            .entries
            .iter()
            .filter(|((p, _), entry)| *p == physical && entry.dirty)
            .map(|((_, key), entry)| (key, entry))
            .collect();
        if pending.is_empty() {
            return Ok((items, next));
        }
        let start = layout::scan_start(from, physical);
        let in_page = |raw: &[u8]| {
            raw >= start.as_slice() && next.as_ref().is_none_or(|end| raw < end.as_slice())
        };
        let mut merged: Vec<(Vec<u8>, ScanItem)> = items
            .into_iter()
            .map(|item| (layout::meta_key(item.slot, physical, &item.key), item))
            .collect();
        for (key, entry) in pending {
            let slot = entry.slot;
            let raw = layout::meta_key(slot, physical, key);
            if !in_page(&raw) {
                continue;
            }
            merged.retain(|(_, item)| item.key != *key);
            if let Some(meta) = &entry.current {
                merged.push((
                    raw,
                    ScanItem {
                        key: key.clone(),
                        meta: meta.clone(),
                        slot,
                    },
                ));
            }
        }
        merged.sort_by(|a, b| a.0.cmp(&b.0));
        Ok((merged.into_iter().map(|(_, item)| item).collect(), next))
    }

    /// Whether committing would write anything.
    pub fn is_empty(&self) -> bool {
        self.flushed.is_empty()
            && self.db_map.is_none()
            && self.stale_hints.is_empty()
            && self.elements.is_empty()
            && self.repl.is_none()
            && self.functions.is_none()
            && !self.entries.values().any(|e| e.dirty)
    }

    /// Commits everything as one batch, which reaches RocksDB with the batches committed
    /// around it (see `write_behind`); `sync` writes it at once and fsyncs the WAL before
    /// returning.
    pub fn commit(self, sync: bool) -> Result<()> {
        if self.is_empty() {
            return Ok(());
        }
        if self.snapshot.is_some() {
            return Err(EngineError::Layout(
                "a transaction over a snapshot cannot be committed".into(),
            ));
        }
        let engine = self.engine;
        let _serialised = engine.commit_lock.lock();
        let mut staged = engine.write_behind.staging();
        let Staging {
            batch,
            key: raw_key,
            value: encoded,
        } = &mut *staged;
        let ids = &engine.family_ids;
        let slot_family = |slot: u16| engine.slot_family_id(slot);

        // (physical db, slot) → new (keys, expires).
        let mut counts: HashMap<(u8, u16), (i64, i64)> = HashMap::new();
        // When every database that holds keys is being flushed, one range per family replaces
        // 2 x 16384 per-slot ranges (fewer tombstones for reads to skip until compaction).
        let whole_families = !self.flushed.is_empty()
            && (0..engine.counters.len() / SLOT_COUNT as usize)
                .filter(|p| !self.flushed.contains(&(*p as u8)))
                .all(|p| engine.physical_is_empty(p as u8));
        if whole_families {
            for family in 0..engine.slot_families() {
                let first_slot = family * (SLOT_COUNT / engine.slot_families());
                batch.delete_range(slot_family(first_slot), &[0u8], &SLOT_COUNT.to_be_bytes());
            }
        }
        for &physical in &self.flushed {
            for slot in (0..SLOT_COUNT).filter(|_| !whole_families) {
                let (start, end) = layout::meta_range(slot, physical);
                batch.delete_range(slot_family(slot), &start, &end);
                let (start, end) = layout::sub_range(slot, physical);
                batch.delete_range(slot_family(slot), &start, &end);
            }
            let start = layout::counter_key(physical, 0);
            let mut end = start.clone();
            end.truncate(2);
            end[1] = physical.wrapping_add(1);
            if physical == u8::MAX {
                end = vec![layout::REC_COUNTER_PREFIX + 1];
            }
            batch.delete_range(DEFAULT_FAMILY, &start, &end);
        }
        for (raw, value) in &self.elements {
            let slot = u16::from_be_bytes([raw[0], raw[1]]);
            match value {
                Some(v) => batch.put(slot_family(slot), raw, v),
                None => batch.delete(slot_family(slot), raw),
            }
        }
        for hint in &self.stale_hints {
            batch.delete(ids.expires, hint);
        }
        for hint in &self.stale_field_hints {
            batch.delete(ids.field_expires, hint);
        }
        for ((physical, key), entry) in self.entries.iter().filter(|(_, entry)| entry.dirty) {
            let (physical, slot) = (*physical, entry.slot);
            raw_key.clear();
            layout::meta_key_into(slot, physical, key, raw_key);
            match &entry.current {
                Some(meta) => {
                    encoded.clear();
                    meta.encode_into(encoded);
                    batch.put(slot_family(slot), raw_key, encoded)
                }
                None => batch.delete(slot_family(slot), raw_key),
            }
            let old_expire = entry.original_expire_ms;
            let new_expire = entry.current.as_ref().map_or(0, |m| m.expire_at_ms);
            if old_expire != new_expire && old_expire != 0 {
                batch.delete(ids.expires, &layout::expire_key(old_expire, physical, key));
            }
            if new_expire != 0 && (old_expire != new_expire || !entry.original_exists) {
                batch.put(
                    ids.expires,
                    &layout::expire_key(new_expire, physical, key),
                    &[],
                );
            }
            let old_field = entry.original_field_expire_ms;
            let new_field = entry.current.as_ref().map_or(0, |m| m.field_expire_ms);
            if old_field != new_field && old_field != 0 {
                batch.delete(
                    ids.field_expires,
                    &layout::expire_key(old_field, physical, key),
                );
            }
            if new_field != 0 && (old_field != new_field || !entry.original_exists) {
                batch.put(
                    ids.field_expires,
                    &layout::expire_key(new_field, physical, key),
                    &[],
                );
            }
            let (dk, de) = entry.count_delta();
            if dk != 0 || de != 0 || self.flushed.contains(&physical) {
                let delta = counts.entry((physical, slot)).or_default();
                delta.0 += dk;
                delta.1 += de;
            }
        }
        let flushed_counts = |physical: u8| self.flushed.contains(&physical);
        let mut new_counts = Vec::with_capacity(counts.len());
        for ((physical, slot), (dk, de)) in counts {
            if dk == 0 && de == 0 && !flushed_counts(physical) {
                // An overwrite: the stored counter is still right.
                continue;
            }
            let c = &engine.counters[physical as usize * SLOT_COUNT as usize + slot as usize];
            let (base_k, base_e) = if flushed_counts(physical) {
                (0, 0)
            } else {
                (
                    c.keys.load(Ordering::Relaxed) as i64,
                    c.expires.load(Ordering::Relaxed) as i64,
                )
            };
            let keys = (base_k + dk).max(0) as u64;
            let expires = (base_e + de).max(0) as u64;
            let mut value = keys.to_be_bytes().to_vec();
            value.extend_from_slice(&expires.to_be_bytes());
            batch.put(DEFAULT_FAMILY, &layout::counter_key(physical, slot), &value);
            new_counts.push((physical, slot, keys, expires));
        }
        if let Some(map) = &self.db_map {
            batch.put(DEFAULT_FAMILY, layout::REC_DBMAP, map);
        }
        match &self.functions {
            Some(Some(record)) => batch.put(DEFAULT_FAMILY, layout::REC_FUNCTIONS, record),
            Some(None) => batch.delete(DEFAULT_FAMILY, layout::REC_FUNCTIONS),
            None => {}
        }
        let mut last_repl = engine.last_repl.lock();
        let new_repl = self
            .repl
            .filter(|position| last_repl.as_ref() != Some(position));
        if let Some(repl) = &new_repl {
            batch.put(DEFAULT_FAMILY, layout::REC_REPL, &repl.encode());
        }
        engine.write_behind.submit(&engine.db, batch, sync)?;
        drop(staged);
        if new_repl.is_some() {
            *last_repl = new_repl;
        }
        drop(last_repl);

        // The batch is committed (written, or waiting to be with the next ones): publish the
        // in-memory state that mirrors it.
        if !self.flushed.is_empty() {
            engine.meta_cache.clear();
        }
        engine.meta_cache.apply(
            self.entries
                .into_iter()
                .filter(|(_, entry)| entry.dirty)
                .map(|(id, entry)| (id, entry.current)),
        );
        for &physical in &self.flushed {
            let base = physical as usize * SLOT_COUNT as usize;
            for c in &engine.counters[base..base + SLOT_COUNT as usize] {
                c.keys.store(0, Ordering::Relaxed);
                c.expires.store(0, Ordering::Relaxed);
            }
        }
        for (physical, slot, keys, expires) in new_counts {
            let c = &engine.counters[physical as usize * SLOT_COUNT as usize + slot as usize];
            c.keys.store(keys, Ordering::Relaxed);
            c.expires.store(expires, Ordering::Relaxed);
        }
        if let Some(map) = self.db_map {
            *engine.db_map.lock() = map;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::tests::open;

    fn scanned_keys(txn: &Txn, db: usize) -> Vec<Vec<u8>> {
        let mut keys: Vec<Vec<u8>> = txn
            .scan(db, &[], 100)
            .unwrap()
            .0
            .into_iter()
            .map(|item| item.key)
            .collect();
        keys.sort();
        keys
    }

    #[test]
    fn scans_and_counts_see_pending_writes_and_report_first_write_order() {
        let dir = tempfile::tempdir().unwrap();
        let engine = open(dir.path());
        let mut txn = Txn::new(&engine);
        txn.put(0, b"a", Meta::string(b"1".to_vec(), 0)).unwrap();
        txn.put(0, b"c", Meta::string(b"3".to_vec(), 50)).unwrap();
        txn.commit(false).unwrap();

        let mut txn = Txn::new(&engine);
        txn.put(0, b"b", Meta::string(b"2".to_vec(), 0)).unwrap();
        txn.delete(0, b"a").unwrap();
        txn.put(0, b"b", Meta::string(b"2b".to_vec(), 0)).unwrap();
        assert_eq!(txn.db_counts(0).unwrap(), (2, 1));
        assert_eq!(scanned_keys(&txn, 0), vec![b"b".to_vec(), b"c".to_vec()]);
        let changed: Vec<Vec<u8>> = txn.changed_keys().into_iter().map(|c| c.1).collect();
        assert_eq!(changed, vec![b"b".to_vec(), b"a".to_vec()]);

        txn.flush_db(0).unwrap();
        txn.put(0, b"z", Meta::string(b"9".to_vec(), 0)).unwrap();
        assert_eq!(txn.db_counts(0).unwrap(), (1, 0));
        assert_eq!(scanned_keys(&txn, 0), vec![b"z".to_vec()]);
    }

    #[test]
    fn unsignalled_writes_are_stored_but_not_reported_until_an_ordinary_one() {
        let dir = tempfile::tempdir().unwrap();
        let engine = open(dir.path());
        let mut txn = Txn::new(&engine);
        txn.put(0, b"a", Meta::string(b"1".to_vec(), 0)).unwrap();
        txn.commit(false).unwrap();

        let mut txn = Txn::new(&engine);
        txn.put_unsignalled(0, b"a", Meta::string(b"2".to_vec(), 0))
            .unwrap();
        txn.put(0, b"b", Meta::string(b"3".to_vec(), 0)).unwrap();
        let changed: Vec<Vec<u8>> = txn.changed_keys().into_iter().map(|c| c.1).collect();
        assert_eq!(changed, vec![b"b".to_vec()]);
        txn.put(0, b"a", Meta::string(b"4".to_vec(), 0)).unwrap();
        let changed: Vec<Vec<u8>> = txn.changed_keys().into_iter().map(|c| c.1).collect();
        assert_eq!(changed, vec![b"b".to_vec(), b"a".to_vec()]);

        let mut txn = Txn::new(&engine);
        txn.put_unsignalled(0, b"a", Meta::string(b"5".to_vec(), 0))
            .unwrap();
        assert!(txn.changed_keys().is_empty());
        txn.commit(false).unwrap();
        let mut txn = Txn::new(&engine);
        assert_eq!(
            txn.get(0, b"a").unwrap().map(|m| m.body.clone()),
            Some(b"5".to_vec())
        );
    }

    #[test]
    fn a_snapshot_transaction_reads_the_data_as_it_was() {
        use crate::{Instance, Kind, Order};
        use std::ops::Bound;
        let dir = tempfile::tempdir().unwrap();
        let engine = open(dir.path());
        let hash = Instance {
            db: 0,
            key: b"h",
            version: 7,
        };
        let mut txn = Txn::new(&engine);
        txn.put(0, b"a", Meta::string(b"old".to_vec(), 0)).unwrap();
        txn.put(0, b"h", Meta::collection(Kind::Hash, 7, 1, vec![1]))
            .unwrap();
        txn.element_put(hash, b"f", b"v1".to_vec()).unwrap();
        txn.commit(false).unwrap();

        let snapshot = engine.snapshot().unwrap();
        let mut txn = Txn::new(&engine);
        txn.put(0, b"a", Meta::string(b"new".to_vec(), 0)).unwrap();
        txn.put(0, b"b", Meta::string(b"later".to_vec(), 0))
            .unwrap();
        txn.element_put(hash, b"f", b"v2".to_vec()).unwrap();
        txn.element_put(hash, b"g", b"v3".to_vec()).unwrap();
        txn.commit(false).unwrap();

        let mut old = Txn::over_snapshot(&engine, &snapshot);
        assert_eq!(old.get(0, b"a").unwrap().unwrap().body, b"old".to_vec());
        assert!(old.get(0, b"b").unwrap().is_none());
        assert_eq!(old.element_get(hash, b"f").unwrap(), Some(b"v1".to_vec()));
        let range = old
            .element_range(
                hash,
                Bound::Unbounded,
                Bound::Unbounded,
                Order::Ascending,
                10,
            )
            .unwrap();
        assert_eq!(range, vec![(b"f".to_vec(), b"v1".to_vec())]);
        let mut keys: Vec<Vec<u8>> = old
            .scan(0, &[], 10)
            .unwrap()
            .0
            .into_iter()
            .map(|i| i.key)
            .collect();
        keys.sort();
        assert_eq!(keys, vec![b"a".to_vec(), b"h".to_vec()]);
        old.put(0, b"z", Meta::string(b"x".to_vec(), 0)).unwrap();
        assert!(old.commit(false).is_err(), "a snapshot view is read-only");

        let mut live = Txn::new(&engine);
        assert_eq!(live.get(0, b"a").unwrap().unwrap().body, b"new".to_vec());
    }

    #[test]
    fn reads_own_writes_and_counts() {
        let dir = tempfile::tempdir().unwrap();
        let engine = open(dir.path());
        let mut txn = Txn::new(&engine);
        txn.put(0, b"a", Meta::string(b"1".to_vec(), 0)).unwrap();
        txn.put(0, b"b", Meta::string(b"2".to_vec(), 99)).unwrap();
        assert_eq!(txn.get(0, b"a").unwrap().unwrap().body, b"1");
        txn.commit(false).unwrap();
        assert_eq!(engine.db_counts(0).unwrap(), (2, 1));
        assert!(
            engine.due_expires(99, 10).unwrap().is_empty(),
            "due once its millisecond has passed"
        );
        assert_eq!(engine.due_expires(100, 10).unwrap().len(), 1);

        let mut txn = Txn::new(&engine);
        assert!(txn.delete(0, b"b").unwrap());
        txn.put(0, b"a", Meta::string(b"3".to_vec(), 0)).unwrap();
        txn.commit(false).unwrap();
        assert_eq!(engine.db_counts(0).unwrap(), (1, 0));
        assert!(engine.due_expires(100, 10).unwrap().is_empty());
    }

    #[test]
    fn counters_and_map_survive_reopen() {
        let dir = tempfile::tempdir().unwrap();
        {
            let engine = open(dir.path());
            let mut txn = Txn::new(&engine);
            for i in 0..100u32 {
                txn.put(1, &i.to_be_bytes(), Meta::string(vec![1], 0))
                    .unwrap();
            }
            txn.swap_dbs(1, 2).unwrap();
            txn.commit(true).unwrap();
        }
        let engine = open(dir.path());
        assert_eq!(engine.db_counts(1).unwrap(), (0, 0));
        assert_eq!(engine.db_counts(2).unwrap(), (100, 0));
        let (items, next) = engine.scan(2, &[], 1000).unwrap();
        assert_eq!(items.len(), 100);
        assert!(next.is_none());
        let (first, cursor) = engine.scan(2, &[], 30).unwrap();
        let (rest, _) = engine.scan(2, &cursor.unwrap(), 1000).unwrap();
        assert_eq!(first.len() + rest.len(), 100);
    }

    #[test]
    fn flush_then_write_in_one_txn() {
        let dir = tempfile::tempdir().unwrap();
        let engine = open(dir.path());
        let mut txn = Txn::new(&engine);
        txn.put(0, b"x", Meta::string(vec![1], 0)).unwrap();
        txn.put(0, b"y", Meta::string(vec![1], 0)).unwrap();
        txn.commit(false).unwrap();
        let mut txn = Txn::new(&engine);
        txn.flush_db(0).unwrap();
        assert!(txn.get(0, b"x").unwrap().is_none());
        txn.put(0, b"z", Meta::string(vec![2], 0)).unwrap();
        txn.commit(false).unwrap();
        assert_eq!(engine.db_counts(0).unwrap(), (1, 0));
        let (items, _) = engine.scan(0, &[], 10).unwrap();
        assert_eq!(
            items.iter().map(|i| i.key.clone()).collect::<Vec<_>>(),
            vec![b"z".to_vec()]
        );
    }

    #[test]
    fn flushing_one_db_keeps_the_others() {
        let dir = tempfile::tempdir().unwrap();
        let engine = open(dir.path());
        let mut txn = Txn::new(&engine);
        for i in 0..50u32 {
            txn.put(0, &i.to_be_bytes(), Meta::string(vec![0], 0))
                .unwrap();
            txn.put(3, &i.to_be_bytes(), Meta::string(vec![3], 0))
                .unwrap();
        }
        txn.commit(false).unwrap();
        let mut txn = Txn::new(&engine);
        txn.flush_db(3).unwrap();
        txn.commit(false).unwrap();
        assert_eq!(engine.db_counts(0).unwrap(), (50, 0));
        assert_eq!(engine.db_counts(3).unwrap(), (0, 0));
        assert_eq!(engine.scan(0, &[], 100).unwrap().0.len(), 50);
        assert!(engine.scan(3, &[], 100).unwrap().0.is_empty());
        let mut txn = Txn::new(&engine);
        txn.flush_db(0).unwrap();
        txn.commit(false).unwrap();
        assert!(engine.scan(0, &[], 100).unwrap().0.is_empty());
    }
}
