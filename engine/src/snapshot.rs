//! A consistent read-only view of the data at one point in time (for a dump taken while the node
//! keeps serving writes).
//!
//! A RocksDB snapshot alone does not protect collection elements from the stale-element
//! compaction filter (see [`crate::compaction`]), so an engine snapshot also pins the filter
//! until it is dropped. The RocksDB snapshot is released before the pin.

use rocksdb::{Direction, IteratorMode, ReadOptions, SnapshotWithThreadMode, DB};

use crate::compaction::Pin;
use crate::elements::prefix_successor;
use crate::{layout, Engine, Meta, Result};

/// See the module documentation. Reads take physical database numbers, as the data is stored.
pub struct Snapshot<'e> {
    engine: &'e Engine,
    inner: SnapshotWithThreadMode<'e, DB>,
    /// Logical → physical databases when the snapshot was taken (SWAPDB may change them).
    pub(crate) db_map: Vec<u8>,
    /// Which physical databases held no key when the snapshot was taken, from the key
    /// counters (a walk of an empty database would otherwise seek once per slot).
    empty: Vec<bool>,
    _pin: Pin,
}

impl Engine {
    /// A consistent view of the data as of now. The caller excludes commits meanwhile (the
    /// node's execution lock), so that the key counters read here match the view. Fails only
    /// when writing the committed batches still pending fails.
    pub fn snapshot(&self) -> Result<Snapshot<'_>> {
        self.settle()?;
        // Pin first: every element the view can reach is then kept.
        let pin = self.reclaimer.pin();
        let db_map = self.db_map.lock().clone();
        let empty = (0..=u8::MAX)
            .take(db_map.len())
            .map(|physical| self.physical_is_empty(physical))
            .collect();
        Ok(Snapshot {
            engine: self,
            db_map,
            empty,
            inner: self.db.snapshot(),
            _pin: pin,
        })
    }
}

impl Snapshot<'_> {
    /// Read options that read as of the snapshot. A snapshot is read once, from end to end
    /// (BGSAVE, an AOF rewrite, a full sync): its blocks do not go into the block cache, where
    /// they would only evict what commands use and grow the process by the cache's size.
    pub(crate) fn read_options(&self) -> ReadOptions {
        let mut opts = ReadOptions::default();
        opts.set_snapshot(&self.inner);
        opts.fill_cache(false);
        opts
    }

    /// Whether physical database `physical` held no key when the snapshot was taken.
    pub(crate) fn is_empty(&self, physical: u8) -> bool {
        self.empty.get(physical as usize).copied().unwrap_or(false)
    }

    /// Read options for collection elements as of the snapshot. Unlike the walk over metadata
    /// records, element reads go through the block cache: a walk reads many small collections
    /// one after the other, mostly from the same blocks, each with an iterator of its own that
    /// would otherwise read and decompress its blocks again.
    pub(crate) fn element_read_options(&self) -> ReadOptions {
        let mut opts = ReadOptions::default();
        opts.set_snapshot(&self.inner);
        opts
    }

    /// The function libraries record as stored when the snapshot was taken.
    pub fn functions(&self) -> Result<Option<Vec<u8>>> {
        let cf = self.engine.cf(layout::CF_DEFAULT);
        Ok(self
            .inner
            .get_pinned_cf(cf, layout::REC_FUNCTIONS)?
            .map(|r| r.to_vec()))
    }

    /// A key's metadata record as stored when the snapshot was taken (expired or not).
    pub fn get_meta(&self, physical: u8, slot: u16, key: &[u8]) -> Result<Option<Meta>> {
        let raw = self.engine.db.get_pinned_cf_opt(
            self.engine.slot_cf(slot),
            layout::meta_key(slot, physical, key),
            &self.read_options(),
        )?;
        raw.map(|r| Meta::decode(&r)).transpose()
    }

    /// Up to `limit` elements of one collection instance, in field order, starting after the
    /// field `after` (from the first one when `None`), as (field, value) pairs.
    pub fn elements(
        &self,
        physical: u8,
        key: &[u8],
        version: u64,
        after: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        let slot = formats::slot::key_slot(key);
        let prefix = layout::sub_prefix(slot, physical, key, version);
        let mut start = prefix.clone();
        if let Some(field) = after {
            start.extend_from_slice(field);
            // The smallest key after `field`.
            start.push(0);
        }
        let mut opts = ReadOptions::default();
        opts.fill_cache(false);
        if let Some(end) = prefix_successor(&prefix) {
            opts.set_iterate_upper_bound(end);
        }
        let iter = self.inner.iterator_cf_opt(
            self.engine.slot_cf(slot),
            opts,
            IteratorMode::From(&start, Direction::Forward),
        );
        let mut out = Vec::new();
        for item in iter {
            let (raw, value) = item?;
            if out.len() >= limit || !raw.starts_with(&prefix) {
                break;
            }
            out.push((raw[prefix.len()..].to_vec(), value.to_vec()));
        }
        Ok(out)
    }
}
