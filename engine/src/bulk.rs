//! Bulk loading: a whole dataset written into an EMPTY keyspace as sorted table files, without
//! transactions.
//!
//! Loading a `dump.rdb` (at startup, by DEBUG RELOAD, or on a replica after a full sync) starts
//! from an empty keyspace and writes each key exactly once, so the work a [`crate::Txn`] does per
//! key (reading the old record, diffing counters and the expire index, a write-ahead-logged
//! batch into a memtable, and later a flush) is all unnecessary. A [`BulkLoad`] instead encodes
//! each key's records (metadata, collection elements, expire and field-expire index entries)
//! into one arena per column family and hands them, a batch of keys at a time, to a writer
//! thread, so that the caller (parsing the file) and the writer share the node's two cores. The
//! writer:
//! - gathers the batches into a chunk of about `chunk_bytes` (the first two smaller, so that
//!   building starts early);
//! - when the chunk is full, hands it to a build thread and gathers the next meanwhile. The
//!   build sorts each family's records (by slot with a counting sort, then each slot's few
//!   records, written in turn while they are in the cache), writes them with RocksDB's
//!   `SstFileWriter` into an uncompressed file with the family's own table options (two
//!   families at a time, on two threads: this is most of a load's work; the compaction after
//!   the load compresses them), and ingests the files (`IngestExternalFile`, moving them), one
//!   chunk after the other. A chunk's files may overlap earlier chunks' (keys arrive in file
//!   order, not key order): RocksDB places each file at the deepest level it does not overlap,
//!   and compactions merge them like any others, once the load is over (automatic compactions
//!   are off meanwhile: see `compaction_switch`).
//!
//! Keys and expires are counted per (database, slot) as they are put; [`BulkLoad::finish`]
//! writes the counter records once, at the end.
//!
//! DUPLICATES. The writer remembers a 64-bit hash of every key put, and of every key claimed
//! ([`BulkLoad::claim`]: one the caller writes through transactions instead, a value too unusual
//! or too big for a bulk put). A hash seen before is confirmed with a real lookup (the chunk
//! being gathered, then the data, once the chunk being built is in): a collision costs one
//! lookup, never a false duplicate (the hashes live in `seen_keys`). A
//! duplicate among the keys put is [`EngineError::DuplicateKey`] from a later call (the writer
//! runs behind the caller); a claim waits for the writer's answer, so that the lookup never
//! races the caller's own write of that key.
//!
//! Memory stays bounded by two chunks (one gathering, one building) and a few batches whatever
//! the dataset's size, plus 11 to 21 bytes per key for the hashes.
//!
//! Consistency rules: a key's metadata and its elements go in one [`BulkLoad::put`], so they
//! always land in the same chunk (the stale-element compaction filter would drop elements whose
//! metadata it cannot find yet); keys written through transactions meanwhile are counted by
//! them, and [`BulkLoad::finish`] adds to their counters. Nothing here is atomic: a load that
//! dies half-way leaves some chunks ingested, so the node brackets the load with its synced
//! loading mark ([`crate::Engine::set_loading`]) and empties the data at the next start.
//! Written records bypass the metadata cache, which [`BulkLoad::finish`] clears.

use std::hash::{DefaultHasher, Hasher};
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::sync::Arc;
use std::thread::JoinHandle;

use formats::slot::{key_slot, SLOT_COUNT};
use rocksdb::{IngestExternalFileOptions, Options, SstFileWriter, WriteBatch, DB};

use crate::compaction_switch::CompactionSwitch;
use crate::engine::{family_options, loaded_families};
use crate::layout::{self, CF_DEFAULT, TAG_META};
use crate::meta::Kind;
use crate::prefetch::prefetch;
use crate::seen_keys::SeenKeys;
use crate::write_behind::WriteThrough;
use crate::{Engine, EngineError, Meta, Result};

/// Directory of the data directory where chunk files are built before they are ingested.
const BUILD_DIR: &str = "bulk-load";
/// Keys handed to the writer at a time.
const BATCH_KEYS: usize = 1024;
/// Records prefetched ahead of the one being written, when writing records sorted as a whole.
const PREFETCH_AHEAD: usize = 8;
/// Batches queued for the writer at most.
const QUEUED_BATCHES: usize = 4;

/// A bulk load in progress. See the module documentation.
pub struct BulkLoad<'e> {
    engine: &'e Engine,
    /// The logical→physical database map (nothing swaps databases during a load).
    physical: Vec<u8>,
    dir: PathBuf,
    /// The batch being encoded: one run per column family, as [`Writer::runs`].
    batch: Vec<Run>,
    batch_keys: usize,
    /// Keys and keys with an expire added, per `physical db * 16384 + slot`.
    counts: Vec<(u64, u64)>,
    messages: Option<SyncSender<Message>>,
    /// The writer's answers to [`Message::Claim`]: whether the key was there already.
    found: Receiver<bool>,
    /// Batches the writer emptied, to fill again (their arenas are allocated already).
    emptied: Receiver<Vec<Run>>,
    writer: Option<JoinHandle<Result<()>>>,
    /// Dropped after the writer is stopped: its files are in before batches wait again.
    _write_through: WriteThrough<'e>,
}

enum Message {
    /// Records of a batch of keys, one run per column family.
    Batch(Vec<Run>),
    /// Remember this key (its metadata record's key) and say whether it was there already.
    Claim(Vec<u8>),
}

/// The writer thread's state.
struct Writer {
    tables: Arc<Tables>,
    /// Records not written yet, one run per column family of `Tables::names`.
    runs: Vec<Run>,
    /// Bytes held by `runs` (records and their bookkeeping).
    buffered: usize,
    chunk_bytes: usize,
    /// Chunks handed to a build so far (names the files).
    chunks: u64,
    /// The chunk being built and ingested on a thread of its own while the next one gathers;
    /// it gives back its emptied runs.
    building: Option<JoinHandle<Result<Vec<Run>>>>,
    /// Emptied runs, to gather the next chunk in (their arenas are allocated already).
    spare: Vec<Run>,
    /// 64-bit hashes of every key put or claimed.
    seen: SeenKeys,
    /// A batch's key hashes, and whether each was new (kept for their allocations).
    hashes: Vec<u64>,
    fresh: Vec<bool>,
    /// The thread turning automatic compactions off (see `compaction_switch`), started with
    /// the load; the first chunk's build waits for it before ingesting.
    switching_off: Option<JoinHandle<Result<()>>>,
}

/// What building and ingesting a chunk's table files needs.
struct Tables {
    db: Arc<DB>,
    families: u16,
    /// Column family names by run index: slot families, then the two expire indexes.
    names: Vec<String>,
    options: Vec<Options>,
    dir: PathBuf,
    compactions: Arc<CompactionSwitch>,
}

/// The records of one family waiting for the next chunk, in one arena.
#[derive(Default)]
struct Run {
    arena: Vec<u8>,
    records: Vec<Record>,
}

/// A record of a [`Run`]: its key at `arena[at..at + key_len]`, its value right after.
#[derive(Clone, Copy)]
struct Record {
    at: usize,
    key_len: usize,
    value_len: usize,
}

impl Record {
    fn key<'a>(&self, arena: &'a [u8]) -> &'a [u8] {
        &arena[self.at..self.at + self.key_len]
    }

    fn value<'a>(&self, arena: &'a [u8]) -> &'a [u8] {
        let start = self.at + self.key_len;
        &arena[start..start + self.value_len]
    }

    /// Prefetches the record's first two cache lines (most records fit in them).
    fn prefetch(&self, arena: &[u8]) {
        prefetch(&arena[self.at]);
        if let Some(byte) = arena.get(self.at + 64) {
            prefetch(byte);
        }
    }
}

impl Run {
    /// Appends a record whose key and value are the concatenations of their parts; returns the
    /// bytes it takes.
    fn push(&mut self, key: &[&[u8]], value: &[&[u8]]) -> usize {
        self.push_with(key, |arena| {
            for part in value {
                arena.extend_from_slice(part);
            }
        })
    }

    /// Appends a record whose key is the concatenation of its parts and whose value `value`
    /// appends to the arena; returns the bytes it takes.
    fn push_with(&mut self, key: &[&[u8]], value: impl FnOnce(&mut Vec<u8>)) -> usize {
        let at = self.arena.len();
        for part in key {
            self.arena.extend_from_slice(part);
        }
        let key_len = self.arena.len() - at;
        value(&mut self.arena);
        let value_len = self.arena.len() - at - key_len;
        self.records.push(Record {
            at,
            key_len,
            value_len,
        });
        key_len + value_len + std::mem::size_of::<Record>()
    }

    /// Moves `other`'s records to the end of this run; returns the bytes they take.
    fn append(&mut self, other: &Run) -> usize {
        let base = self.arena.len();
        self.arena.extend_from_slice(&other.arena);
        self.records.extend(other.records.iter().map(|r| Record {
            at: r.at + base,
            ..*r
        }));
        other.arena.len() + other.records.len() * std::mem::size_of::<Record>()
    }

    /// Sorts the records, writes them to a new table file at `path` and empties the run.
    /// `by_slot`: the keys start with their 2-byte slot, so a counting sort by slot first
    /// leaves each slot's few records to compare (a fraction of the comparisons of one sort),
    /// and each slot is sorted and written in turn while its records are in the cache (with the
    /// next slot's prefetched): the records sit in the arena in file order, so reaching each
    /// one in key order is a cache miss, which this pays once instead of twice, overlapped.
    fn write_sorted(&mut self, options: &Options, path: &Path, by_slot: bool) -> Result<()> {
        let arena = &self.arena;
        let by_key = |a: &Record, b: &Record| a.key(arena).cmp(b.key(arena));
        let mut writer = SstFileWriter::create(options);
        writer.open(path)?;
        if by_slot {
            let slot = |r: &Record| usize::from(u16::from_be_bytes([arena[r.at], arena[r.at + 1]]));
            let mut starts = vec![0usize; usize::from(u16::MAX) + 2];
            for record in &self.records {
                starts[slot(record) + 1] += 1;
            }
            for at in 1..starts.len() {
                starts[at] += starts[at - 1];
            }
            let mut sorted = self.records.clone();
            let mut next = starts.clone();
            for record in &self.records {
                let at = &mut next[slot(record)];
                sorted[*at] = *record;
                *at += 1;
            }
            let buckets: Vec<(usize, usize)> = starts
                .windows(2)
                .filter(|b| b[1] > b[0])
                .map(|b| (b[0], b[1]))
                .collect();
            for (at, &(start, end)) in buckets.iter().enumerate() {
                if let Some(&(next_start, next_end)) = buckets.get(at + 1) {
                    for record in &sorted[next_start..next_end] {
                        record.prefetch(arena);
                    }
                }
                let bucket = &mut sorted[start..end];
                bucket.sort_unstable_by(by_key);
                for record in bucket.iter() {
                    writer.put(record.key(arena), record.value(arena))?;
                }
            }
        } else {
            self.records.sort_unstable_by(by_key);
            for (at, record) in self.records.iter().enumerate() {
                if let Some(ahead) = self.records.get(at + PREFETCH_AHEAD) {
                    ahead.prefetch(arena);
                }
                writer.put(record.key(arena), record.value(arena))?;
            }
        }
        writer.finish()?;
        self.arena.clear();
        self.records.clear();
        Ok(())
    }
}

impl Engine {
    /// Starts a bulk load into this engine, whose keyspace must be empty; chunks of about
    /// `chunk_bytes` are written at a time, and `keys_hint` keys are expected (0: unknown).
    pub fn bulk_load(&self, chunk_bytes: usize, keys_hint: u64) -> Result<BulkLoad<'_>> {
        let databases = self.counters.len() / SLOT_COUNT as usize;
        if (0..databases).any(|p| !self.physical_is_empty(p as u8)) {
            return Err(EngineError::NotEmpty);
        }
        // Ingested files must follow every committed write: none may wait (`write_behind`).
        let write_through = self.write_behind.write_through(&self.db)?;
        let dir = self.db.path().join(BUILD_DIR);
        if dir.exists() {
            // Files of a load that died before ingesting them.
            std::fs::remove_dir_all(&dir)?;
        }
        std::fs::create_dir_all(&dir)?;
        let families = self.family_names.len();
        let names = loaded_families(&self.family_names);
        // A hint from the file itself: bounded, so that a lying one cannot exhaust memory.
        let seen = SeenKeys::with_capacity(usize::try_from(keys_hint).unwrap_or(0).min(1 << 28));
        let runs = names.len();
        let writer = Writer {
            tables: Arc::new(Tables {
                db: self.db.clone(),
                families: self.families,
                options: (0..runs)
                    .map(|index| {
                        // Uncompressed: the compaction that follows the load rewrites every
                        // file compressed anyway, off the load's critical path.
                        let mut options = family_options(&self.cache, index < families);
                        options.set_compression_type(rocksdb::DBCompressionType::None);
                        options
                    })
                    .collect(),
                names,
                dir: dir.clone(),
                compactions: Arc::clone(&self.compactions),
            }),
            runs: (0..runs).map(|_| Run::default()).collect(),
            buffered: 0,
            chunk_bytes,
            chunks: 0,
            building: None,
            spare: Vec::new(),
            seen,
            hashes: Vec::new(),
            fresh: Vec::new(),
            switching_off: Some(
                std::thread::Builder::new()
                    .name("compactions-off".into())
                    .spawn({
                        let compactions = Arc::clone(&self.compactions);
                        move || compactions.load_started()
                    })?,
            ),
        };
        let (messages, inbox) = mpsc::sync_channel(QUEUED_BATCHES);
        let (answer, found) = mpsc::sync_channel(1);
        let (give_back, emptied) = mpsc::sync_channel(QUEUED_BATCHES);
        let writer = std::thread::Builder::new()
            .name("bulk-load".into())
            .spawn(move || writer.run(inbox, answer, give_back))?;
        Ok(BulkLoad {
            engine: self,
            physical: self.db_map.lock().clone(),
            dir,
            batch: (0..runs).map(|_| Run::default()).collect(),
            batch_keys: 0,
            counts: vec![(0, 0); self.counters.len()],
            messages: Some(messages),
            found,
            emptied,
            writer: Some(writer),
            _write_through: write_through,
        })
    }
}

impl BulkLoad<'_> {
    /// Stores `key` of logical database `db` with its metadata record and, for a collection
    /// stored as element records, its `elements` as (field, value) pairs. A collection gets a
    /// fresh version here. A key put or claimed before is [`EngineError::DuplicateKey`], from
    /// this call or a later one.
    pub fn put(
        &mut self,
        db: usize,
        key: &[u8],
        mut meta: Meta,
        elements: &[(Vec<u8>, Vec<u8>)],
    ) -> Result<()> {
        let physical = self.physical(db)?;
        if meta.kind != Kind::String {
            meta.version = self.engine.new_version();
        }
        let slot = key_slot(key);
        let family = layout::family_of_slot(slot, self.engine.families);
        let runs = &mut self.batch;
        if !elements.is_empty() {
            let prefix = layout::sub_prefix(slot, physical, key, meta.version);
            for (field, value) in elements {
                runs[family].push(&[&prefix, field], &[value]);
            }
        }
        let [high, low] = slot.to_be_bytes();
        runs[family].push_with(&[&[high, low, TAG_META, physical], key], |arena| {
            meta.encode_into(arena)
        });
        let families = usize::from(self.engine.families);
        if meta.expire_at_ms != 0 {
            let index = layout::expire_key(meta.expire_at_ms, physical, key);
            runs[families].push(&[&index], &[]);
        }
        if meta.field_expire_ms != 0 {
            let index = layout::expire_key(meta.field_expire_ms, physical, key);
            runs[families + 1].push(&[&index], &[]);
        }
        let count = &mut self.counts[physical as usize * SLOT_COUNT as usize + slot as usize];
        count.0 += 1;
        count.1 += u64::from(meta.expire_at_ms != 0);
        self.batch_keys += 1;
        if self.batch_keys >= BATCH_KEYS {
            self.send_batch()?;
        }
        Ok(())
    }

    /// Claims `key` of logical database `db`, which the caller then writes through
    /// transactions: [`EngineError::DuplicateKey`] when it was put or claimed before.
    pub fn claim(&mut self, db: usize, key: &[u8]) -> Result<()> {
        let physical = self.physical(db)?;
        self.send_batch()?;
        self.send(Message::Claim(layout::meta_key(
            key_slot(key),
            physical,
            key,
        )))?;
        match self.found.recv() {
            Ok(false) => Ok(()),
            Ok(true) => Err(EngineError::DuplicateKey {
                physical,
                key: key.to_vec(),
            }),
            Err(_) => Err(self.writer_outcome().err().unwrap_or_else(writer_gone)),
        }
    }

    fn physical(&self, db: usize) -> Result<u8> {
        self.physical
            .get(db)
            .copied()
            .ok_or(EngineError::DbIndex(db))
    }

    fn send_batch(&mut self) -> Result<()> {
        if self.batch_keys == 0 {
            return Ok(());
        }
        let fresh = self
            .emptied
            .try_recv()
            .unwrap_or_else(|_| (0..self.batch.len()).map(|_| Run::default()).collect());
        let batch = std::mem::replace(&mut self.batch, fresh);
        self.batch_keys = 0;
        self.send(Message::Batch(batch))
    }

    fn send(&mut self, message: Message) -> Result<()> {
        let sent = self
            .messages
            .as_ref()
            .is_some_and(|messages| messages.send(message).is_ok());
        if sent {
            return Ok(());
        }
        // The writer stopped: its error says why.
        Err(self.writer_outcome().err().unwrap_or_else(writer_gone))
    }

    /// Lets the writer finish what was sent, and returns its outcome.
    fn writer_outcome(&mut self) -> Result<()> {
        self.messages = None;
        match self.writer.take().map(JoinHandle::join) {
            Some(Ok(outcome)) => outcome,
            Some(Err(_)) | None => Err(writer_gone()),
        }
    }

    /// Writes the last chunk and the key counters: the load is complete (but not yet durable:
    /// the caller flushes before clearing its loading mark).
    pub fn finish(mut self) -> Result<()> {
        self.send_batch()?;
        self.writer_outcome()?;
        let engine = self.engine;
        let _serialised = engine.commit_lock.lock();
        let mut batch = WriteBatch::default();
        let mut totals = Vec::new();
        for (at, &(keys, expires)) in self.counts.iter().enumerate() {
            if keys == 0 {
                continue;
            }
            let physical = (at / SLOT_COUNT as usize) as u8;
            let slot = (at % SLOT_COUNT as usize) as u16;
            // Keys written through transactions meanwhile are counted already.
            let counter = engine.counter(physical, slot);
            let keys = counter.keys.load(Ordering::Relaxed) + keys;
            let expires = counter.expires.load(Ordering::Relaxed) + expires;
            let mut value = keys.to_be_bytes().to_vec();
            value.extend_from_slice(&expires.to_be_bytes());
            batch.put_cf(
                engine.cf(CF_DEFAULT),
                layout::counter_key(physical, slot),
                value,
            );
            totals.push((physical, slot, keys, expires));
        }
        engine.write(batch, false)?;
        for (physical, slot, keys, expires) in totals {
            let counter = engine.counter(physical, slot);
            counter.keys.store(keys, Ordering::Relaxed);
            counter.expires.store(expires, Ordering::Relaxed);
        }
        engine.meta_cache.clear();
        Ok(())
    }
}

impl Drop for BulkLoad<'_> {
    fn drop(&mut self) {
        // Stop the writer (its outcome no longer matters) before removing its directory.
        let _ = self.writer_outcome();
        // Ingested files were moved out; what is left belongs to chunks never ingested.
        if let Err(e) = std::fs::remove_dir_all(&self.dir) {
            tracing::warn!("cannot remove {}: {e}", self.dir.display());
        }
        // The writer may have ingested chunks: no cached "no such key" may outlive them.
        self.engine.meta_cache.clear();
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        // A build still running (the writer failed) ingests its files before the load ends.
        let _ = self.wait_building();
        // Compactions went off (or failed to) with the load: back on once the switch is done.
        if let Some(thread) = self.switching_off.take() {
            let _ = thread.join();
        }
        CompactionSwitch::load_ended(&self.tables.compactions);
    }
}

/// The 64-bit hash [`Writer::seen`] keeps of a metadata record's key.
fn key_hash(meta_key: &[u8]) -> u64 {
    let mut hasher = DefaultHasher::new();
    hasher.write(meta_key);
    hasher.finish()
}

/// The error of a writer thread that stopped without one (it panicked).
fn writer_gone() -> EngineError {
    EngineError::Io(std::io::Error::other("the bulk load writer thread stopped"))
}

impl Writer {
    /// Applies the messages until the channel closes, then writes the last chunk.
    fn run(
        mut self,
        inbox: Receiver<Message>,
        found: SyncSender<bool>,
        emptied: SyncSender<Vec<Run>>,
    ) -> Result<()> {
        for message in inbox {
            match message {
                Message::Batch(mut batch) => {
                    self.check_batch(&batch)?;
                    for (run, records) in self.runs.iter_mut().zip(&mut batch) {
                        self.buffered += run.append(records);
                        records.arena.clear();
                        records.records.clear();
                    }
                    // Back to the caller, unless it has enough (then it is freed here).
                    let _ = emptied.try_send(batch);
                    if self.buffered >= self.chunk_limit() {
                        self.write_chunk()?;
                    }
                }
                Message::Claim(meta_key) => {
                    let there = !self.remember(&meta_key) && self.holds(&meta_key)?;
                    if found.send(there).is_err() {
                        break;
                    }
                }
            }
        }
        self.write_chunk()?;
        self.wait_building()
    }

    /// Remembers the keys of a batch (its metadata records); a key seen before is a duplicate
    /// when it is stored, waiting in the chunk, or earlier in the batch.
    fn check_batch(&mut self, batch: &[Run]) -> Result<()> {
        let families = usize::from(self.tables.families);
        let keys: Vec<&[u8]> = batch
            .iter()
            .take(families)
            .flat_map(|run| run.records.iter().map(|r| r.key(&run.arena)))
            .filter(|raw| raw.get(2) == Some(&TAG_META))
            .collect();
        self.hashes.clear();
        self.hashes.extend(keys.iter().map(|raw| key_hash(raw)));
        self.seen.insert_all(&self.hashes, &mut self.fresh);
        for (at, raw) in keys.iter().enumerate() {
            if self.fresh[at] {
                continue;
            }
            if keys[..at].contains(raw) || self.holds(raw)? {
                return Err(EngineError::DuplicateKey {
                    physical: raw[3],
                    key: raw[4..].to_vec(),
                });
            }
        }
        Ok(())
    }

    /// Remembers a key by its metadata record's key; false when its hash was seen before.
    fn remember(&mut self, meta_key: &[u8]) -> bool {
        self.seen.insert(key_hash(meta_key))
    }

    /// The size of the chunk being gathered: a quarter of `chunk_bytes` for the first, half for
    /// the second, then whole. Building chunk files is the load's critical path once the first
    /// starts, so the first starts early (while the parser alone is busy).
    fn chunk_limit(&self) -> usize {
        let quarters = 1usize << self.chunks.min(2);
        self.chunk_bytes / 4 * quarters
    }

    /// Whether the metadata record `meta_key` waits in the chunk or is stored (once the chunk
    /// being built is in).
    fn holds(&mut self, meta_key: &[u8]) -> Result<bool> {
        let slot = u16::from_be_bytes([meta_key[0], meta_key[1]]);
        let family = layout::family_of_slot(slot, self.tables.families);
        let run = &self.runs[family];
        if run.records.iter().any(|r| r.key(&run.arena) == meta_key) {
            return Ok(true);
        }
        self.wait_building()?;
        let tables = &self.tables;
        Ok(tables
            .db
            .get_pinned_cf(tables.cf(family), meta_key)?
            .is_some())
    }

    /// Hands the buffered records to a thread that writes them into table files and ingests
    /// them, once the chunk before is in: sorting, compressing and syncing them is most of a
    /// load's work, done while the caller parses on (the node has two cores).
    fn write_chunk(&mut self) -> Result<()> {
        if self.buffered == 0 {
            return Ok(());
        }
        self.wait_building()?;
        let fresh = match self.spare.is_empty() {
            true => self.runs.iter().map(|_| Run::default()).collect(),
            false => std::mem::take(&mut self.spare),
        };
        let runs = std::mem::replace(&mut self.runs, fresh);
        let (tables, chunk) = (Arc::clone(&self.tables), self.chunks);
        let switching_off = self.switching_off.take();
        self.building = Some(
            std::thread::Builder::new()
                .name("bulk-build".into())
                .spawn(move || tables.build_and_ingest(chunk, runs, switching_off))?,
        );
        self.chunks += 1;
        self.buffered = 0;
        Ok(())
    }

    /// Waits for the chunk being built to be ingested.
    fn wait_building(&mut self) -> Result<()> {
        if let Some(thread) = self.building.take() {
            self.spare = thread.join().map_err(|_| writer_gone())??;
        }
        Ok(())
    }
}

impl Tables {
    fn cf(&self, index: usize) -> &rocksdb::ColumnFamily {
        // Every family named here was created or verified when the engine opened.
        self.db
            .cf_handle(&self.names[index])
            .expect("column family opened at startup")
    }

    /// Writes chunk number `chunk` (its `runs`) into table files, on two threads, and ingests
    /// them; gives back the emptied runs. `switching_off`: for the load's first chunk, the
    /// thread turning compactions off, which must be done before its files go in.
    /// automatic compactions off before its files go in.
    fn build_and_ingest(
        &self,
        chunk: u64,
        mut runs: Vec<Run>,
        switching_off: Option<JoinHandle<Result<()>>>,
    ) -> Result<Vec<Run>> {
        let families = usize::from(self.families);
        let build = |runs: Vec<(usize, &mut Run)>| -> Result<Vec<(usize, PathBuf)>> {
            let mut files = Vec::new();
            for (index, run) in runs {
                let path = self.dir.join(format!("{chunk}-{index}.sst"));
                run.write_sorted(&self.options[index], &path, index < families)?;
                files.push((index, path));
            }
            Ok(files)
        };
        let (even, odd): (Vec<_>, Vec<_>) = runs
            .iter_mut()
            .enumerate()
            .filter(|(_, run)| !run.records.is_empty())
            .partition(|(index, _)| index % 2 == 0);
        let (even, odd) = std::thread::scope(|scope| {
            let helper = scope.spawn(|| build(odd));
            let mine = build(even);
            (mine, helper.join())
        });
        let odd = odd.map_err(|_| writer_gone())?;
        if let Some(thread) = switching_off {
            thread.join().map_err(|_| writer_gone())??;
        }
        let mut ingest = IngestExternalFileOptions::default();
        ingest.set_move_files(true);
        for (index, path) in even?.into_iter().chain(odd?) {
            self.db
                .ingest_external_file_cf_opts(self.cf(index), &ingest, vec![&path])?;
        }
        Ok(runs)
    }
}

#[cfg(test)]
mod tests {
    use std::ops::Bound;

    use super::*;
    use crate::engine::tests::open;
    use crate::{Instance, Order, Txn};

    fn string(value: &[u8], expire_at_ms: i64) -> Meta {
        Meta::string(value.to_vec(), expire_at_ms)
    }

    #[test]
    fn a_bulk_load_counts_indexes_and_survives_a_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let version;
        {
            let engine = open(dir.path());
            // Tiny chunks: many files, each overlapping the ones before.
            let mut bulk = engine.bulk_load(4096, 3000).unwrap();
            for i in 0..3000u32 {
                let key = format!("key:{i}").into_bytes();
                let expire = if i % 3 == 0 { 1_000 + i64::from(i) } else { 0 };
                bulk.put(0, &key, string(b"v", expire), &[]).unwrap();
            }
            let hash = Meta::collection(Kind::Hash, 0, 2, vec![1]);
            let fields = [
                (b"f1".to_vec(), b"a".to_vec()),
                (b"f2".to_vec(), b"b".to_vec()),
            ];
            bulk.put(5, b"hash", hash, &fields).unwrap();
            // Written by a transaction while the load goes on: counted once.
            bulk.claim(0, b"by-txn").unwrap();
            let mut txn = Txn::new(&engine);
            txn.put(0, b"by-txn", string(b"t", 0)).unwrap();
            txn.commit(false).unwrap();
            bulk.finish().unwrap();

            assert_eq!(engine.db_counts(0).unwrap(), (3001, 1000));
            assert_eq!(engine.db_counts(5).unwrap(), (1, 0));
            let slot = key_slot(b"key:7");
            let in_slot = (0..3000u32)
                .filter(|i| key_slot(format!("key:{i}").as_bytes()) == slot)
                .count() as u64;
            assert_eq!(engine.slot_keys(0, slot).unwrap(), in_slot);
            let due = engine.due_expires(1_000 + 2_999, 10_000).unwrap();
            assert_eq!(due.len(), 1000);
            version = engine
                .get_meta(5, key_slot(b"hash"), b"hash")
                .unwrap()
                .unwrap()
                .version;
            assert!(!dir.path().join(BUILD_DIR).exists());
        }
        let engine = open(dir.path());
        assert_eq!(engine.db_counts(0).unwrap(), (3001, 1000));
        let meta = engine.get_meta(0, key_slot(b"key:42"), b"key:42").unwrap();
        assert_eq!(meta.unwrap().body, b"v");
        let txn = Txn::new(&engine);
        let hash = Instance {
            db: 5,
            key: b"hash",
            version,
        };
        let fields = txn
            .element_range(
                hash,
                Bound::Unbounded,
                Bound::Unbounded,
                Order::Ascending,
                10,
            )
            .unwrap();
        assert_eq!(fields.len(), 2);
        assert_eq!(fields[1], (b"f2".to_vec(), b"b".to_vec()));
    }

    fn is_duplicate(outcome: Result<()>, expected: &[u8]) -> bool {
        matches!(outcome, Err(EngineError::DuplicateKey { key, .. }) if key == expected)
    }

    #[test]
    fn a_key_given_twice_is_a_duplicate_wherever_it_was_written() {
        // Put twice (another database is another key).
        let dir = tempfile::tempdir().unwrap();
        let engine = open(dir.path());
        let mut bulk = engine.bulk_load(1 << 20, 0).unwrap();
        bulk.put(0, b"a", string(b"1", 0), &[]).unwrap();
        bulk.put(1, b"a", string(b"1", 0), &[]).unwrap();
        bulk.put(0, b"a", string(b"2", 0), &[]).unwrap();
        assert!(is_duplicate(bulk.finish(), b"a"));

        // Put in an earlier chunk, then put again.
        let dir = tempfile::tempdir().unwrap();
        let engine = open(dir.path());
        let mut bulk = engine.bulk_load(1, 0).unwrap();
        bulk.put(0, b"a", string(b"1", 0), &[]).unwrap();
        for i in 0..2000u32 {
            bulk.put(0, &i.to_be_bytes(), string(b"x", 0), &[]).unwrap();
        }
        bulk.put(0, b"a", string(b"2", 0), &[]).unwrap();
        assert!(is_duplicate(bulk.finish(), b"a"));

        // Put, then claimed for a transaction: refused at once.
        let dir = tempfile::tempdir().unwrap();
        let engine = open(dir.path());
        let mut bulk = engine.bulk_load(1 << 20, 0).unwrap();
        bulk.put(0, b"b", string(b"1", 0), &[]).unwrap();
        assert!(is_duplicate(bulk.claim(0, b"b"), b"b"));
        drop(bulk);

        // Claimed and written by a transaction, then put.
        let dir = tempfile::tempdir().unwrap();
        let engine = open(dir.path());
        let mut bulk = engine.bulk_load(1 << 20, 0).unwrap();
        bulk.claim(0, b"c").unwrap();
        let mut txn = Txn::new(&engine);
        txn.put(0, b"c", string(b"2", 0)).unwrap();
        txn.commit(false).unwrap();
        bulk.put(0, b"c", string(b"1", 0), &[]).unwrap();
        assert!(is_duplicate(bulk.finish(), b"c"));

        // Claimed but never written (a hash whose fields had all expired): no duplicate.
        let dir = tempfile::tempdir().unwrap();
        let engine = open(dir.path());
        let mut bulk = engine.bulk_load(1 << 20, 0).unwrap();
        bulk.claim(0, b"d").unwrap();
        bulk.put(0, b"d", string(b"1", 0), &[]).unwrap();
        bulk.finish().unwrap();
        assert_eq!(engine.db_counts(0).unwrap(), (1, 0));
    }

    #[test]
    fn only_an_empty_keyspace_is_bulk_loaded() {
        let dir = tempfile::tempdir().unwrap();
        let engine = open(dir.path());
        let mut txn = Txn::new(&engine);
        txn.put(3, b"x", string(b"1", 0)).unwrap();
        txn.commit(false).unwrap();
        assert!(matches!(
            engine.bulk_load(1 << 20, 0),
            Err(EngineError::NotEmpty)
        ));
    }
}
