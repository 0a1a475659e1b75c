//! Opening the data directory and the engine-wide state: column families, key counters, the
//! logical→physical database map, and iteration helpers.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use formats::slot::SLOT_COUNT;
use parking_lot::Mutex;
use rocksdb::{
    BlockBasedIndexType, BlockBasedOptions, BottommostLevelCompaction, Cache, ColumnFamily,
    ColumnFamilyDescriptor, CompactOptions, DBRawIterator, Options, WriteBufferManager, DB,
};

use crate::batch_rep;
use crate::compaction::{Reclaimer, StaleElementsFactory};
use crate::compaction_switch::CompactionSwitch;
use crate::layout::{self, CF_DEFAULT, CF_EXPIRES, CF_FIELD_EXPIRES, TAG_META};
use crate::meta_cache::MetaCache;
use crate::write_behind::WriteBehind;
use crate::{EngineError, Meta, Result, Snapshot};

/// Settings for opening a data directory.
#[derive(Debug, Clone)]
pub struct EngineOptions {
    /// Slot families for a NEW directory; an existing one keeps the count it was created with.
    pub slot_families: u16,
    /// Number of logical databases (`databases`).
    pub databases: usize,
    /// Shared block cache for every family.
    pub block_cache_bytes: usize,
    /// Shared memtable budget for every family.
    pub write_buffer_bytes: usize,
    /// Automatic compactions of the slot families and expire indexes start off and go on at
    /// [`Engine::startup_done`]: a load at startup then never switches them (a tenth of a
    /// second; see `compaction_switch`).
    pub compactions_after_startup: bool,
}

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions {
            slot_families: layout::DEFAULT_SLOT_FAMILIES,
            databases: 16,
            block_cache_bytes: 128 << 20,
            write_buffer_bytes: 128 << 20,
            compactions_after_startup: false,
        }
    }
}

/// The replication position stored with every write batch: the replication ID and the offset of
/// the stream *after* the batch's write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplPosition {
    pub replid: String,
    pub offset: i64,
    /// Where the AOF stood after this batch: (sequence number of the incr file written to, its
    /// size in bytes). `None` when the AOF was off.
    pub aof: Option<(u64, u64)>,
    /// On a replica, the database its primary's stream had selected after this batch (Redis
    /// keeps it in the RDB as `repl-stream-db`); `None` on a primary.
    pub stream_db: Option<u64>,
}

impl ReplPosition {
    /// `replid | offset (8, BE) [| aof incr seq (8, BE) | aof incr size (8, BE)]
    /// [| stream db (8, BE)]`: the length says which parts are there.
    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut out = self.replid.as_bytes().to_vec();
        out.extend_from_slice(&self.offset.to_be_bytes());
        if let Some((seq, size)) = self.aof {
            out.extend_from_slice(&seq.to_be_bytes());
            out.extend_from_slice(&size.to_be_bytes());
        }
        if let Some(db) = self.stream_db {
            out.extend_from_slice(&db.to_be_bytes());
        }
        out
    }

    fn decode(raw: &[u8]) -> Option<ReplPosition> {
        let word = |at: usize| -> Option<[u8; 8]> { raw.get(at..at + 8)?.try_into().ok() };
        let replid_len = REPLID_LEN;
        let (has_aof, has_db) = match raw.len().checked_sub(REPLID_LEN)? {
            8 => (false, false),
            16 => (false, true),
            24 => (true, false),
            32 => (true, true),
            _ => return None,
        };
        let aof = match has_aof {
            true => Some((
                u64::from_be_bytes(word(REPLID_LEN + 8)?),
                u64::from_be_bytes(word(REPLID_LEN + 16)?),
            )),
            false => None,
        };
        let stream_db = match has_db {
            true => Some(u64::from_be_bytes(word(raw.len() - 8)?)),
            false => None,
        };
        let replid = String::from_utf8(raw[..replid_len].to_vec()).ok()?;
        let offset = i64::from_be_bytes(word(replid_len)?);
        Some(ReplPosition {
            replid,
            offset,
            aof,
            stream_db,
        })
    }
}

/// Compacts the families `names` whole, bottommost level included.
fn compact_families(db: &DB, names: &[String]) {
    let mut opts = CompactOptions::default();
    opts.set_bottommost_level_compaction(BottommostLevelCompaction::Force);
    for name in names {
        if let Some(cf) = db.cf_handle(name) {
            db.compact_range_cf_opt(cf, None::<&[u8]>, None::<&[u8]>, &opts);
        }
    }
}

/// Length of a replication ID (40 hex characters, as Redis's).
const REPLID_LEN: usize = 40;
/// Records a key walk steps over with `next` before it seeks past them instead.
const STEPS_BEFORE_SEEK: usize = 64;

/// One key found while iterating a database.
#[derive(Debug, Clone)]
pub struct ScanItem {
    pub key: Vec<u8>,
    pub meta: Meta,
    /// The key's hash slot (read from its record: no need to hash the key again).
    pub slot: u16,
}

/// An expire index entry whose deadline has passed.
#[derive(Debug, Clone)]
pub struct DueExpire {
    /// The index record itself (to drop it when it is stale).
    pub index_key: Vec<u8>,
    pub physical_db: u8,
    pub key: Vec<u8>,
    pub expire_at_ms: i64,
}

/// Key and expire counts of one (physical db, slot).
#[derive(Default)]
pub(crate) struct Counters {
    pub keys: AtomicU64,
    pub expires: AtomicU64,
}

/// The ids RocksDB gives the column families in a batch's records (`batch_rep`); the default
/// family's is 0.
pub(crate) struct FamilyIds {
    /// By slot family index.
    pub(crate) slots: Vec<u32>,
    pub(crate) expires: u32,
    pub(crate) field_expires: u32,
}

/// The storage engine. Reads may run concurrently; [`crate::Txn`] commits are serialised by the
/// engine itself so that counters and the write order stay consistent.
pub struct Engine {
    /// Shared with the stale-element compaction filter through `reclaimer` (a weak handle,
    /// detached before this one is dropped).
    pub(crate) db: Arc<DB>,
    pub(crate) reclaimer: Arc<Reclaimer>,
    pub(crate) families: u16,
    pub(crate) family_names: Vec<String>,
    /// The ids RocksDB gives the column families in a batch's records.
    pub(crate) family_ids: FamilyIds,
    databases: usize,
    /// `[physical db * 16384 + slot]`.
    pub(crate) counters: Vec<Counters>,
    /// logical db → physical db (SWAPDB swaps entries).
    pub(crate) db_map: Mutex<Vec<u8>>,
    next_version: AtomicU64,
    /// Every version handed out is below this bound, which is stored (`REC_VERSION`) before
    /// any version reaching it is: versions never repeat, even when the clock went backwards
    /// across a restart.
    version_limit: AtomicU64,
    version_reserve: Mutex<()>,
    pub(crate) commit_lock: Mutex<()>,
    /// Recently used small metadata records (see `meta_cache`).
    pub(crate) meta_cache: MetaCache,
    /// The cache's drop count ([`crate::meta_cache::Miss::drops`]) as of the last settle made
    /// for a metadata miss: the records of those drops are written.
    meta_drops_settled: AtomicU64,
    /// The replication position last written, so an unchanged one is not written again.
    pub(crate) last_repl: Mutex<Option<ReplPosition>>,
    /// The block cache every family shares (bulk loads build their files with it too).
    pub(crate) cache: Cache,
    /// Automatic compactions, off while bulk loads ingest.
    pub(crate) compactions: Arc<CompactionSwitch>,
    /// Committed batches not yet handed to RocksDB (group commit).
    pub(crate) write_behind: WriteBehind,
    _write_buffers: WriteBufferManager,
}

/// Versions reserved by one write of `REC_VERSION`: about 18 minutes of the clock-driven floor
/// (2^10 versions per microsecond).
const VERSION_RESERVE: u64 = 1 << 40;

fn now_micros() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros() as u64)
        .unwrap_or(0)
}

/// The options of a column family: `point_lookups` adds a bloom filter (slot families). Bulk
/// loads build their files with the same options, so ingested files look like flushed ones.
pub(crate) fn family_options(cache: &Cache, point_lookups: bool) -> Options {
    let mut table = BlockBasedOptions::default();
    table.set_block_cache(cache);
    if point_lookups {
        table.set_bloom_filter(10.0, false);
    }
    // Index and filters in small cached partitions under a pinned top level: a seek reads a few
    // KB of index, never a whole file's index block, and big files cost no unbounded
    // table-reader memory.
    table.set_cache_index_and_filter_blocks(true);
    table.set_index_type(BlockBasedIndexType::TwoLevelIndexSearch);
    table.set_partition_filters(true);
    table.set_pin_top_level_index_and_filter(true);
    table.set_pin_l0_filter_and_index_blocks_in_cache(true);
    let mut o = Options::default();
    o.set_block_based_table_factory(&table);
    o.set_compression_type(rocksdb::DBCompressionType::Lz4);
    o.set_write_buffer_size(64 << 20);
    o
}

/// Memtable inserts of a slot family start from where the previous insert with the same first
/// 4 bytes went: slot (2), record tag and physical database (see `layout`). Without a hint, a
/// memtable remembers only its last insert, and the records of one batch come from all over the
/// slot space, so nearly every insert searched the skiplist from the top. With one, rewriting
/// a key lands next to its previous version, and a collection's new elements next to the ones
/// before, in a few steps. RocksDB takes this option from an options string only.
const INSERT_HINTS: &str = "memtable_insert_with_hint_prefix_extractor=rocksdb.CappedPrefix.4";

fn with_insert_hints(mut options: Options) -> Result<Options> {
    Ok(options.get_options_from_string(INSERT_HINTS)?)
}

/// The families bulk loads write and whose automatic compactions they switch off: the slot
/// families (by index), then the two expire indexes.
pub(crate) fn loaded_families(family_names: &[String]) -> Vec<String> {
    let mut names = family_names.to_vec();
    names.extend([CF_EXPIRES.to_string(), CF_FIELD_EXPIRES.to_string()]);
    names
}

impl Engine {
    /// Opens (or creates) the data directory at `path`.
    pub fn open(path: &std::path::Path, options: &EngineOptions) -> Result<Engine> {
        if options.databases == 0 || options.databases > 256 {
            return Err(EngineError::DbIndex(options.databases));
        }
        // Memtables are charged to the cache (one memory budget), so the cache holds both: sized
        // for memtables alone, it would evict every data and index block as soon as the
        // memtables fill up.
        let cache = Cache::new_lru_cache(options.block_cache_bytes + options.write_buffer_bytes);
        let write_buffers = WriteBufferManager::new_write_buffer_manager_with_cache(
            options.write_buffer_bytes,
            false,
            cache.clone(),
        );
        let mut db_opts = Options::default();
        db_opts.create_if_missing(true);
        db_opts.create_missing_column_families(true);
        db_opts.set_max_background_jobs(2);
        db_opts.set_max_total_wal_size(256 << 20);
        // The node writes the WAL buffer to the OS once per batch of client requests (before
        // their replies leave) instead of once per command: see `flush_wal_buffer`.
        db_opts.set_manual_wal_flush(true);
        // The node commits one batch at a time under its execution lock: concurrent memtable
        // inserts and the write thread's spinning only cost time.
        db_opts.set_allow_concurrent_memtable_write(false);
        db_opts.set_enable_write_thread_adaptive_yield(false);
        db_opts.set_write_buffer_manager(&write_buffers);
        db_opts.set_keep_log_file_num(4);
        db_opts.set_max_log_file_size(16 << 20);

        let existing = DB::list_cf(&db_opts, path).ok();
        let families = match &existing {
            Some(names) => {
                let count = names.iter().filter(|n| n.starts_with("slots-")).count() as u16;
                if count == 0 {
                    return Err(EngineError::Layout(format!(
                        "{} holds a RocksDB without slot families",
                        path.display()
                    )));
                }
                count
            }
            None => options.slot_families.clamp(1, layout::MAX_SLOT_FAMILIES),
        };
        if !SLOT_COUNT.is_multiple_of(families) {
            return Err(EngineError::Layout(format!(
                "{families} families do not divide 16384 slots"
            )));
        }
        let family_names: Vec<String> = (0..families).map(layout::slot_family_name).collect();
        let reclaimer = Arc::new(Reclaimer::default());
        let deferred = options.compactions_after_startup;
        let switched_options = |point_lookups: bool| {
            let mut o = family_options(&cache, point_lookups);
            o.set_disable_auto_compactions(deferred);
            o
        };
        let mut descriptors = vec![
            ColumnFamilyDescriptor::new(CF_DEFAULT, family_options(&cache, false)),
            ColumnFamilyDescriptor::new(CF_EXPIRES, switched_options(false)),
            ColumnFamilyDescriptor::new(CF_FIELD_EXPIRES, switched_options(false)),
        ];
        for name in &family_names {
            let mut o = switched_options(true);
            o.set_compaction_filter_factory(StaleElementsFactory::new(name, reclaimer.clone()));
            descriptors.push(ColumnFamilyDescriptor::new(name, with_insert_hints(o)?));
        }
        let db = Arc::new(DB::open_cf_descriptors(&db_opts, path, descriptors)?);
        reclaimer.attach(&db);
        let id = |name: &str| {
            db.cf_handle(name)
                .map(batch_rep::family_id)
                .ok_or_else(|| EngineError::Layout(format!("column family {name} did not open")))
        };
        let family_ids = FamilyIds {
            slots: family_names
                .iter()
                .map(|name| id(name))
                .collect::<Result<_>>()?,
            expires: id(CF_EXPIRES)?,
            field_expires: id(CF_FIELD_EXPIRES)?,
        };

        let counters = (0..256usize.min(options.databases.max(16)) * SLOT_COUNT as usize)
            .map(|_| Counters::default())
            .collect();
        let engine = Engine {
            compactions: CompactionSwitch::new(
                db.clone(),
                loaded_families(&family_names),
                deferred,
            ),
            db,
            reclaimer,
            families,
            family_names,
            family_ids,
            databases: options.databases,
            counters,
            db_map: Mutex::new((0..options.databases as u16).map(|d| d as u8).collect()),
            next_version: AtomicU64::new(0),
            version_limit: AtomicU64::new(0),
            version_reserve: Mutex::new(()),
            commit_lock: Mutex::new(()),
            meta_cache: MetaCache::default(),
            meta_drops_settled: AtomicU64::new(0),
            last_repl: Mutex::new(None),
            cache,
            write_behind: WriteBehind::default(),
            _write_buffers: write_buffers,
        };
        engine.load_node_records()?;
        *engine.last_repl.lock() = engine.repl_position()?;
        let stored_limit = engine
            .db
            .get_pinned_cf(engine.cf(CF_DEFAULT), layout::REC_VERSION)?
            .and_then(|raw| raw.as_ref().try_into().ok())
            .map_or(0, u64::from_be_bytes);
        let start = (now_micros() << 10).max(stored_limit);
        engine.next_version.store(start, Ordering::Relaxed);
        engine.reserve_versions(start)?;
        Ok(engine)
    }

    /// Whether an RDB load into this directory began and did not finish (the node died during
    /// it): the data is a prefix of a file and must not be served.
    pub fn loading_unfinished(&self) -> Result<bool> {
        self.settle()?;
        Ok(self
            .db
            .get_pinned_cf(self.cf(CF_DEFAULT), layout::REC_LOADING)?
            .is_some())
    }

    /// The function libraries record (see [`layout::REC_FUNCTIONS`]) as committed.
    pub fn functions(&self) -> Result<Option<Vec<u8>>> {
        self.settle()?;
        Ok(self
            .db
            .get_pinned_cf(self.cf(CF_DEFAULT), layout::REC_FUNCTIONS)?
            .map(|r| r.to_vec()))
    }

    /// Marks the start (`true`) or the end of an RDB load, synced to disk either way.
    pub fn set_loading(&self, loading: bool) -> Result<()> {
        let mut batch = rocksdb::WriteBatch::default();
        if loading {
            batch.put_cf(self.cf(CF_DEFAULT), layout::REC_LOADING, []);
        } else {
            batch.delete_cf(self.cf(CF_DEFAULT), layout::REC_LOADING);
        }
        self.write(batch, true)
    }

    /// Stores a version bound above `from` (see `version_limit`).
    fn reserve_versions(&self, from: u64) -> Result<()> {
        let limit = from.saturating_add(VERSION_RESERVE);
        let mut batch = rocksdb::WriteBatch::default();
        batch.put_cf(
            self.cf(CF_DEFAULT),
            layout::REC_VERSION,
            limit.to_be_bytes(),
        );
        self.write(batch, true)?;
        self.version_limit.store(limit, Ordering::Release);
        Ok(())
    }

    fn load_node_records(&self) -> Result<()> {
        let cf = self.cf(CF_DEFAULT);
        if let Some(raw) = self.db.get_pinned_cf(cf, layout::REC_DBMAP)? {
            let mut map = self.db_map.lock();
            for (logical, physical) in raw.iter().enumerate().take(map.len()) {
                map[logical] = *physical;
            }
        }
        let mut iter = self.db.raw_iterator_cf(cf);
        iter.seek([layout::REC_COUNTER_PREFIX]);
        while let (Some(k), Some(v)) = (iter.key(), iter.value()) {
            if k.first() != Some(&layout::REC_COUNTER_PREFIX) {
                break;
            }
            if k.len() == 4 && v.len() == 16 {
                let db = k[1] as usize;
                let slot = u16::from_be_bytes([k[2], k[3]]) as usize;
                if let Some(c) = self.counters.get(db * SLOT_COUNT as usize + slot) {
                    c.keys.store(
                        u64::from_be_bytes(v[..8].try_into().unwrap_or_default()),
                        Ordering::Relaxed,
                    );
                    c.expires.store(
                        u64::from_be_bytes(v[8..].try_into().unwrap_or_default()),
                        Ordering::Relaxed,
                    );
                }
            }
            iter.next();
        }
        iter.status()?;
        Ok(())
    }

    pub(crate) fn cf(&self, name: &str) -> &ColumnFamily {
        // Every family this engine names was created or verified in `open`.
        self.db
            .cf_handle(name)
            .expect("column family opened at startup")
    }

    pub(crate) fn slot_cf(&self, slot: u16) -> &ColumnFamily {
        self.cf(&self.family_names[layout::family_of_slot(slot, self.families)])
    }

    /// The id of `slot`'s family in a batch's records (see `batch_rep`).
    pub(crate) fn slot_family_id(&self, slot: u16) -> u32 {
        self.family_ids.slots[layout::family_of_slot(slot, self.families)]
    }

    /// Number of slot families of this data directory.
    pub fn slot_families(&self) -> u16 {
        self.families
    }

    pub fn databases(&self) -> usize {
        self.databases
    }

    /// Keys of every database, as committed.
    pub fn total_keys(&self) -> u64 {
        (0..self.databases)
            .filter_map(|db| self.db_counts(db).ok())
            .map(|(keys, _)| keys)
            .sum()
    }

    /// Physical database holding logical database `db`.
    pub fn physical_db(&self, db: usize) -> Result<u8> {
        self.db_map
            .lock()
            .get(db)
            .copied()
            .ok_or(EngineError::DbIndex(db))
    }

    /// Logical database currently mapped to physical database `physical`.
    pub fn logical_db(&self, physical: u8) -> Option<usize> {
        self.db_map.lock().iter().position(|&p| p == physical)
    }

    /// A fresh collection version: greater than every version handed out before, by this
    /// process or an earlier one on the same directory. The stale-element compaction filter
    /// relies on versions never repeating.
    pub fn new_version(&self) -> u64 {
        let floor = now_micros() << 10;
        let mut current = self.next_version.load(Ordering::Relaxed);
        let version = loop {
            let next = current.max(floor) + 1;
            match self.next_version.compare_exchange(
                current,
                next,
                Ordering::Relaxed,
                Ordering::Relaxed,
            ) {
                Ok(_) => break next,
                Err(seen) => current = seen,
            }
        };
        if version >= self.version_limit.load(Ordering::Acquire) {
            let _one_writer = self.version_reserve.lock();
            if version >= self.version_limit.load(Ordering::Acquire) {
                // The write-ahead log is ordered: a batch using this version cannot survive a
                // crash that loses the reservation. Without it (write error), uniqueness across
                // restarts still rests on the clock floor.
                if let Err(e) = self.reserve_versions(version) {
                    tracing::warn!("cannot store the collection version bound: {e}");
                }
            }
        }
        version
    }

    pub(crate) fn counter(&self, physical: u8, slot: u16) -> &Counters {
        &self.counters[physical as usize * SLOT_COUNT as usize + slot as usize]
    }

    /// (keys, keys with an expire) in logical database `db`.
    pub fn db_counts(&self, db: usize) -> Result<(u64, u64)> {
        Ok(self.physical_counts(self.physical_db(db)?))
    }

    /// (keys, keys with an expire) of physical database `physical`, as committed.
    pub(crate) fn physical_counts(&self, physical: u8) -> (u64, u64) {
        let base = physical as usize * SLOT_COUNT as usize;
        let slots = &self.counters[base..base + SLOT_COUNT as usize];
        slots.iter().fold((0, 0), |(k, e), c| {
            (
                k + c.keys.load(Ordering::Relaxed),
                e + c.expires.load(Ordering::Relaxed),
            )
        })
    }

    /// Whether physical database `physical` holds no key at all.
    pub(crate) fn physical_is_empty(&self, physical: u8) -> bool {
        let base = physical as usize * SLOT_COUNT as usize;
        self.counters[base..base + SLOT_COUNT as usize]
            .iter()
            .all(|c| c.keys.load(Ordering::Relaxed) == 0)
    }

    /// Number of keys of logical database `db` in `slot`.
    pub fn slot_keys(&self, db: usize, slot: u16) -> Result<u64> {
        Ok(self
            .counter(self.physical_db(db)?, slot)
            .keys
            .load(Ordering::Relaxed))
    }

    /// Reads a key's metadata record as stored (expired or not).
    pub fn get_meta(&self, physical: u8, slot: u16, key: &[u8]) -> Result<Option<Meta>> {
        if let Ok(cached) = self.meta_cache.get(physical, key) {
            return Ok(cached);
        }
        // A miss. Under the commit lock no commit stands between submitting its batch and
        // updating the cache, so the cache and the waiting batches agree: a key the cache does
        // not hold has no record waiting, unless the cache dropped entries since the waiting
        // batches were last written (see `meta_cache`).
        let serialised = self.commit_lock.lock();
        let miss = match self.meta_cache.get(physical, key) {
            Ok(cached) => return Ok(cached),
            Err(miss) => miss,
        };
        if miss.drops > self.meta_drops_settled.load(Ordering::Acquire) {
            self.settle()?;
            self.meta_drops_settled
                .fetch_max(miss.drops, Ordering::AcqRel);
        }
        drop(serialised);
        let raw = self
            .db
            .get_pinned_cf(self.slot_cf(slot), layout::meta_key(slot, physical, key))?;
        let meta = raw.map(|r| Meta::decode(&r)).transpose()?;
        self.meta_cache
            .fill(miss.epoch, physical, key, meta.as_ref());
        Ok(meta)
    }

    /// The replication position of the last committed batch.
    pub fn repl_position(&self) -> Result<Option<ReplPosition>> {
        self.settle()?;
        let raw = self
            .db
            .get_pinned_cf(self.cf(CF_DEFAULT), layout::REC_REPL)?;
        Ok(raw.and_then(|r| ReplPosition::decode(&r)))
    }

    /// Hands every committed write to the OS (one `write` of the WAL buffer), so it survives
    /// the process being killed. Cheap when a concurrent caller already did it.
    pub fn flush_wal_buffer(&self) -> Result<()> {
        self.settle()?;
        self.db.flush_wal(false)?;
        Ok(())
    }

    /// Makes every committed write durable (WAL buffer written and fsynced). Concurrent callers share the work
    /// RocksDB does, which is what group commit needs.
    pub fn sync_wal(&self) -> Result<()> {
        self.settle()?;
        self.db.flush_wal(true)?;
        Ok(())
    }

    /// Flushes memtables to SST files (used at clean shutdown so restarts replay no WAL).
    pub fn flush(&self) -> Result<()> {
        self.settle()?;
        let mut names: Vec<&str> = vec![CF_DEFAULT, CF_EXPIRES, CF_FIELD_EXPIRES];
        names.extend(self.family_names.iter().map(String::as_str));
        for name in names {
            self.db.flush_cf(self.cf(name))?;
        }
        self.sync_wal()
    }

    /// Writes `batch` at once, after every committed batch still pending.
    pub(crate) fn write(&self, batch: rocksdb::WriteBatch, sync: bool) -> Result<()> {
        self.write_behind.write(&self.db, batch, sync)
    }

    /// Hands every committed batch still pending to RocksDB (see `write_behind`): called
    /// before reading storage.
    pub(crate) fn settle(&self) -> Result<()> {
        self.write_behind.settle(&self.db)
    }

    /// Iterates the keys of logical database `db` in storage order, starting at the position
    /// `from` (an opaque cursor returned by an earlier call; empty = the beginning). Returns at
    /// most `limit` keys and the cursor to continue from, `None` when the database is exhausted.
    pub fn scan(
        &self,
        db: usize,
        from: &[u8],
        limit: usize,
    ) -> Result<(Vec<ScanItem>, Option<Vec<u8>>)> {
        self.scan_physical(self.physical_db(db)?, from, limit, None)
    }

    /// [`Engine::scan`] of physical database `physical`, as of `snapshot` when given.
    pub(crate) fn scan_physical(
        &self,
        physical: u8,
        from: &[u8],
        limit: usize,
        snapshot: Option<&Snapshot>,
    ) -> Result<(Vec<ScanItem>, Option<Vec<u8>>)> {
        if snapshot.is_none() {
            self.settle()?;
        }
        let mut items = Vec::new();
        let mut target = layout::scan_start(from, physical);
        let mut family = usize::MAX;
        let mut iter: Option<DBRawIterator> = None;
        // Records stepped over since the last key taken.
        let mut stepped = 0;
        loop {
            let slot = u16::from_be_bytes([target[0], target[1]]);
            let wanted_family = layout::family_of_slot(slot, self.families);
            if wanted_family != family {
                family = wanted_family;
                let cf = self.cf(&self.family_names[family]);
                iter = Some(match snapshot {
                    Some(snapshot) => self.db.raw_iterator_cf_opt(cf, snapshot.read_options()),
                    None => self.db.raw_iterator_cf(cf),
                });
            }
            let Some(it) = iter.as_mut() else { break };
            it.seek(&target);
            loop {
                let Some(raw) = it.key() else {
                    it.status()?;
                    // This family is exhausted: continue with the first slot of the next one.
                    let next_slot = (family as u32 + 1) * (SLOT_COUNT / self.families) as u32;
                    if next_slot >= SLOT_COUNT as u32 {
                        return Ok((items, None));
                    }
                    target = layout::meta_key(next_slot as u16, physical, b"");
                    break;
                };
                if raw.len() < 4 {
                    it.next();
                    continue;
                }
                let slot = u16::from_be_bytes([raw[0], raw[1]]);
                if raw[2] != TAG_META || raw[3] != physical {
                    // A few records (a slot's small collections, another database's keys)
                    // are cheaper to step over than a seek, which reads a block of every
                    // file of the family again.
                    if stepped < STEPS_BEFORE_SEEK {
                        stepped += 1;
                        it.next();
                        continue;
                    }
                    stepped = 0;
                    // Another db or element records: jump to this db's keys of this or the next slot.
                    let here = layout::meta_key(slot, physical, b"");
                    if raw < here.as_slice() {
                        target = here;
                    } else if slot + 1 < SLOT_COUNT {
                        target = layout::meta_key(slot + 1, physical, b"");
                    } else {
                        return Ok((items, None));
                    }
                    break;
                }
                stepped = 0;
                if items.len() >= limit {
                    return Ok((items, Some(raw.to_vec())));
                }
                let meta = Meta::decode(it.value().unwrap_or_default())?;
                items.push(ScanItem {
                    key: raw[4..].to_vec(),
                    meta,
                    slot,
                });
                it.next();
            }
        }
        Ok((items, None))
    }

    /// Expire index entries due at `now_ms` (expire time before it), oldest first, at most
    /// `limit`.
    pub fn due_expires(&self, now_ms: i64, limit: usize) -> Result<Vec<DueExpire>> {
        self.due_in(CF_EXPIRES, now_ms, limit)
    }

    /// Field-expire index entries due at `now_ms` (keys with an element whose own expire time
    /// has passed, see [`Meta::field_expire_ms`]), oldest first, at most `limit`.
    pub fn due_field_expires(&self, now_ms: i64, limit: usize) -> Result<Vec<DueExpire>> {
        self.due_in(CF_FIELD_EXPIRES, now_ms, limit)
    }

    fn due_in(&self, family: &str, now_ms: i64, limit: usize) -> Result<Vec<DueExpire>> {
        self.settle()?;
        let mut iter = self.db.raw_iterator_cf(self.cf(family));
        iter.seek_to_first();
        let mut out = Vec::new();
        while let Some(raw) = iter.key() {
            if out.len() >= limit {
                break;
            }
            let Some((at, db, key)) = layout::parse_expire_key(raw) else {
                iter.next();
                continue;
            };
            // Due once its millisecond has passed, as `Meta::is_expired` has it.
            if at >= now_ms {
                break;
            }
            out.push(DueExpire {
                index_key: raw.to_vec(),
                physical_db: db,
                key: key.to_vec(),
                expire_at_ms: at,
            });
            iter.next();
        }
        iter.status()?;
        Ok(out)
    }

    /// Runs a full compaction of every slot family (bottommost level included), which removes
    /// every stale collection element not pinned by a snapshot. Blocks until done.
    pub fn compact_all(&self) -> Result<()> {
        self.settle()?;
        compact_families(&self.db, &self.family_names);
        Ok(())
    }

    /// The node has started (loaded what it loads at startup): automatic compactions deferred
    /// by [`EngineOptions::compactions_after_startup`] go on, on a thread of their own.
    pub fn startup_done(&self) {
        if self.compactions.startup_pending() {
            CompactionSwitch::load_ended(&self.compactions);
        }
    }

    /// [`Engine::compact_all`] on a thread of its own; returns at once. After a bulk load the
    /// ingested table files overlap chunk by chunk, too few per family to start an automatic
    /// compaction, and every read would merge them: one compaction leaves each family a single
    /// sorted run while the node already serves.
    pub fn compact_in_background(&self) {
        if let Err(e) = self.settle() {
            tracing::warn!("cannot write committed batches before compacting: {e}");
        }
        let db = Arc::clone(&self.db);
        let names = self.family_names.clone();
        let spawned = std::thread::Builder::new()
            .name("compact-all".into())
            .spawn(move || compact_families(&db, &names));
        if let Err(e) = spawned {
            tracing::warn!("cannot start a background compaction: {e}");
        }
    }

    /// Stale collection element records removed by compactions since the engine opened.
    pub fn stale_elements_dropped(&self) -> u64 {
        self.reclaimer.dropped()
    }

    /// An integer RocksDB property summed over every family (for INFO).
    pub fn property_sum(&self, name: &str) -> u64 {
        let mut names: Vec<&str> = vec![CF_DEFAULT, CF_EXPIRES, CF_FIELD_EXPIRES];
        names.extend(self.family_names.iter().map(String::as_str));
        names
            .into_iter()
            .filter_map(|n| {
                self.db
                    .property_int_value_cf(self.cf(n), name)
                    .ok()
                    .flatten()
            })
            .sum()
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        // Committed batches still waiting reach RocksDB before it closes, as they would at the
        // next read.
        if let Err(e) = self.settle() {
            tracing::warn!("cannot write the last committed batches: {e}");
        }
        // No compaction filter may hold the database when it closes (it would close it from a
        // compaction thread): stop their lookups first. Nor may a thread switching compactions.
        self.compactions.settle();
        self.reclaimer.detach();
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A small engine in `dir` for unit tests.
    pub(crate) fn open(dir: &std::path::Path) -> Engine {
        let options = EngineOptions {
            block_cache_bytes: 8 << 20,
            write_buffer_bytes: 8 << 20,
            ..Default::default()
        };
        Engine::open(dir, &options).unwrap()
    }

    #[test]
    fn repl_positions_round_trip_with_and_without_their_optional_parts() {
        for (aof, stream_db) in [
            (None, None),
            (Some((3, 99)), None),
            (None, Some(7)),
            (Some((1, 2)), Some(0)),
        ] {
            let position = ReplPosition {
                replid: "a".repeat(REPLID_LEN),
                offset: 12345,
                aof,
                stream_db,
            };
            assert_eq!(ReplPosition::decode(&position.encode()), Some(position));
        }
    }

    #[test]
    fn versions_grow_across_restarts_even_when_the_clock_lags() {
        let dir = tempfile::tempdir().unwrap();
        let ahead = {
            let engine = open(dir.path());
            let first = engine.new_version();
            assert!(engine.new_version() > first);
            // A clock that will have gone backwards at the next start: versions far ahead of
            // it were handed out (and reserved) before the restart.
            let far = (now_micros() << 10) + 5 * VERSION_RESERVE;
            engine.next_version.store(far, Ordering::Relaxed);
            engine.new_version()
        };
        let engine = open(dir.path());
        assert!(engine.new_version() > ahead);
    }
}
