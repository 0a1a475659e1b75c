//! Loading a Redis `dump.rdb` at startup.
//!
//! rockslot's own RocksDB data is authoritative: the file in `dir/dbfilename` is loaded only
//! when the data directory holds no keys (a real Redis `/data` volume mounted for the first
//! time), or when an earlier load was interrupted. The file is read in chunks through the
//! streaming reader of `formats::rdb`, so memory stays bounded whatever its size.
//!
//! TWO WAYS IN. A load into an emptied keyspace (startup, DEBUG RELOAD without NOFLUSH or
//! MERGE, a replica's full sync) takes the BULK PATH: each key's value is held until the key
//! ends (up to [`BULK_VALUE_BYTES`]), built in the form its type's commands would leave it in
//! (the store modules' `build` functions apply the same `*-max-listpack-*` and
//! `set-max-intset-entries` rules), and written blind, with its expire, into an
//! [`engine::BulkLoad`], which sorts chunks of records into table files on a second thread and
//! ingests them, then writes the key counters once at the end. That is nearly every key of
//! nearly every file: a million small keys load in about 1.2 s on two cores (Redis 7.0: 0.9 s,
//! the commands replayed before took about 8 s), and memory stays bounded by the chunks.
//!
//! Everything else is REPLAYED as the commands that rebuild it, through the same dispatcher
//! clients use (so every type's encoding rules, counters and indexes are those of normal
//! writes): on the bulk path, streams, Redis 7.4 hashes with field TTLs, values too big to hold
//! and the rare values whose commands would shape them differently (an empty collection, an
//! element named twice, a NaN score); and every key of a load over existing data (NOFLUSH,
//! MERGE), of an AOF's RDB part, and of an AOF rewrite's command-form base. The forms: RPUSH,
//! SADD, HSET and ZADD in chunks as the reader yields elements; strings written as SET would
//! store them straight into engine transactions of a thousand keys; for streams XADD with the
//! entry IDs, XSETID with the stream's metadata, XGROUP CREATE with each group's last ID and
//! read counter, and XCLAIM ... FORCE JUSTID with each pending entry's owner, delivery time and
//! count (Redis's own AOF rewrite uses the same forms); then PEXPIREAT. Hash fields with their
//! own expire time (Redis 7.4) follow their HSET as HPEXPIREAT; a field whose time has passed is
//! skipped as a primary skips it, and a hash left without fields counts as an expired key.
//!
//! Keys whose expire time has passed are skipped, as a Redis primary skips them. A file that
//! names a key twice in one database is refused with Redis 7.0's error ("RDB has duplicated key
//! ..."): the bulk path checks every key (`BulkLoad::claim`), a NOFLUSH load checks the data
//! already there, and MERGE replaces the older key instead.
//!
//! Crash safety: a synced "loading" mark is written before the first key and removed, after a
//! flush, once the last key is in (the bulk path's chunks are ingested under it, one after the
//! other). A node that dies meanwhile finds the mark at its next start, empties the data and
//! loads the file again, so a prefix of a file is never served. A file
//! the reader refuses (corruption, a version above 12, module data) empties what was loaded
//! and stops the node with the reader's error, as Redis refuses to start.
//!
//! The AOF loader replays an AOF's RDB part (a 7.0 base file or a pre-7.0 preamble) through the
//! same loader and its bulk path, the part coming first, into an empty keyspace
//! ([`replay_rdb_part`]), under its own loading mark.
//!
//! Function libraries are loaded as FUNCTION LOAD loads them (a library Redis would refuse,
//! or one whose name is taken, fails the load, as in Redis); DEBUG RELOAD empties them with the
//! data, FLUSHALL does not. Not yet kept: consumers' seen times (they become the load time),
//! LRU/LFU hints, and pending entries whose stream entry was deleted (XCLAIM drops those, as in
//! Redis's AOF rewrite).

use std::collections::HashMap;
use std::io::{Read, Write};
use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;
use engine::{BulkLoad, Meta, Txn};
use formats::rdb::{
    Event, HashField, KeyHeader, Kind, Options, PendingEntry, Poll, Reader, StreamId, ValuePart,
};
use formats::resp::Reply;
use thiserror::Error;

use crate::commands::collection::{Limits, Stored};
use crate::commands::{hash, keys, list, set, zset};
use crate::server::{dispatch, unix_ms, Server, Shared};

/// The newest RDB version loaded: Redis 7.4's, whose hashes may carry field TTLs.
const MAX_VERSION: u32 = formats::rdb::MAX_VERSION;
/// Bytes read from the file at a time.
const CHUNK_BYTES: usize = 1 << 20;
/// Elements carried by one replayed command.
const ELEMENTS_PER_COMMAND: usize = 128;
/// The id of the loading client (never handed to a connection).
const LOADER_CLIENT_ID: u64 = u64::MAX;
/// String keys written per engine transaction.
const STRINGS_PER_BATCH: usize = 1024;
/// Keys between two progress lines in the log.
const PROGRESS_KEYS: u64 = 1_000_000;
/// Bytes of records the bulk path buffers before it writes them out as table files.
const BULK_CHUNK_BYTES: usize = 64 << 20;
/// The largest value (roughly, in bytes) the bulk path holds to write it whole; a bigger one is
/// replayed as commands.
const BULK_VALUE_BYTES: usize = 1 << 20;

#[derive(Debug, Error)]
pub enum LoadError {
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("{0}")]
    Rdb(#[from] formats::rdb::RdbError),
    #[error("Can't handle RDB format version {0}")]
    Version(u32),
    #[error("the RDB file ends before its EOF marker")]
    Truncated,
    #[error("Failed loading library, {0}")]
    Function(String),
    #[error("RDB has duplicated key '{key}' in DB {db}")]
    Duplicate { key: String, db: u64 },
    #[error("replaying key '{key}' failed: {error}")]
    Replay { key: String, error: String },
    #[error("{0}")]
    Engine(#[from] engine::EngineError),
    #[error("saving before the reload failed: {0}")]
    Save(String),
}

/// What a load did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct LoadReport {
    pub keys: u64,
    pub expired: u64,
}

impl LoadReport {
    /// INFO's `rdb_last_load_keys_loaded` and `rdb_last_load_keys_expired`.
    pub fn record(&self, server: &Server) {
        let stats = &server.stats;
        stats
            .last_load_keys_loaded
            .store(self.keys, std::sync::atomic::Ordering::Relaxed);
        stats
            .last_load_keys_expired
            .store(self.expired, std::sync::atomic::Ordering::Relaxed);
    }
}

/// Loads `path` into an empty data directory (or one whose last load was interrupted); returns
/// `None` when there was nothing to do.
pub fn load_at_startup(server: &Arc<Server>, path: &Path) -> Result<Option<LoadReport>, LoadError> {
    let unfinished = server.engine.loading_unfinished()?;
    let keys = server.engine.total_keys();
    let has_data = keys > 0 || server.engine.functions()?.is_some();
    if !path.exists() || (has_data && !unfinished) {
        if unfinished {
            // The file is gone: what an interrupted load left is all there is.
            server.engine.set_loading(false)?;
        }
        return Ok(None);
    }
    let mut shared = server.exec.lock();
    if unfinished {
        tracing::warn!("An earlier RDB load was interrupted: emptying the data and loading again");
        Loader::new(server, &mut shared).empty()?;
    }
    load_into(server, &mut shared, path, true, Reload::default()).map(Some)
}

/// DEBUG RELOAD's options (all off: save, empty, load).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Reload {
    /// NOSAVE: load the file as it is.
    pub no_save: bool,
    /// NOFLUSH: keep the data and libraries; a key or library the file also holds is an error.
    pub no_flush: bool,
    /// MERGE: the file's keys and libraries replace those of the same name.
    pub merge: bool,
}

/// DEBUG RELOAD: saves the dataset (unless NOSAVE), empties it (unless NOFLUSH) and loads the
/// file, with the execution lock held by the caller (`shared`) all along, as Redis blocks.
pub fn reload(
    server: &Server,
    shared: &mut Shared,
    options: Reload,
) -> Result<LoadReport, LoadError> {
    let path = std::path::PathBuf::from(server.config.read().get_str("dbfilename"));
    if !options.no_save {
        crate::persistence::rdb_save::save_now(server)
            .map_err(|e| LoadError::Save(e.to_string()))?;
    }
    if !options.no_flush {
        Loader::new(server, shared).empty()?;
    }
    load_into(server, shared, &path, false, options)
}

/// A replica's full sync: empties the dataset and the libraries, and loads the primary's RDB
/// from `path`, with the execution lock held by the caller (`shared`) all along.
pub fn load_sync_payload(
    server: &Server,
    shared: &mut Shared,
    path: &Path,
) -> Result<LoadReport, LoadError> {
    Loader::new(server, shared).empty()?;
    load_into(server, shared, path, false, Reload::default())
}

/// Loads `path` into an empty dataset (or, with NOFLUSH, the current one) under the loading
/// mark; on failure empties the dataset again (NOFLUSH: leaves what was loaded, as Redis
/// does). `fresh_start`: the node starts, so the statistics the replay left are cleared.
fn load_into(
    server: &Server,
    shared: &mut Shared,
    path: &Path,
    fresh_start: bool,
    options: Reload,
) -> Result<LoadReport, LoadError> {
    let mut loader = Loader::new(server, shared);
    loader.existing = options.no_flush.then_some(options.merge);
    server.engine.set_loading(true)?;
    // Into an emptied keyspace whose keys the file may not repeat: the bulk path.
    let bulk = !options.no_flush && !options.merge;
    let report = match loader.load_file(path, bulk) {
        Ok(report) => report,
        Err(e) => {
            loader.bulk = None;
            // Never serve part of a file: empty what was loaded before reporting the error.
            if !options.no_flush {
                loader.empty()?;
            }
            loader.finish(fresh_start);
            server.engine.flush()?;
            server.engine.set_loading(false)?;
            return Err(e);
        }
    };
    loader.finish(fresh_start);
    server.engine.flush()?;
    server.engine.set_loading(false)?;
    if bulk {
        server.engine.compact_in_background();
    }
    report.record(server);
    Ok(report)
}

/// Replays a file's keys as commands through an internal client.
struct Loader<'s> {
    server: &'s Server,
    shared: &'s mut Shared,
    db: Option<u64>,
    /// The key being loaded; `None` while an expired key's value is skipped.
    key: Option<KeyHeader>,
    /// A stream's consumer groups come with their pending entries before the consumers that
    /// own them: the current group's name and its pending entries by ID.
    group: Option<(Vec<u8>, HashMap<StreamId, PendingEntry>)>,
    consumer: Option<Vec<u8>>,
    /// Whether the current stream key exists yet (XADD creates it; an empty stream does not).
    stream_created: bool,
    /// Whether the current hash got a field, and whether fields of it were skipped as expired.
    hash_written: bool,
    hash_fields_expired: bool,
    /// Strings (most keys of most files) skip the dispatcher: they are written straight into
    /// one engine transaction per [`STRINGS_PER_BATCH`] keys, exactly as SET stores them.
    strings: Option<(Txn<'s>, usize)>,
    /// Loading over existing data (DEBUG RELOAD NOFLUSH): whether the file's keys and libraries
    /// replace those of the same name (MERGE) or are an error.
    existing: Option<bool>,
    /// Writes the commands to this file instead of running them (an AOF rewrite's command-form
    /// base).
    sink: Option<std::io::BufWriter<std::fs::File>>,
    /// The bulk path, when loading into an emptied keyspace.
    bulk: Option<Bulk<'s>>,
    report: LoadReport,
}

/// The bulk path's state (see the module documentation).
struct Bulk<'e> {
    server: &'e Server,
    /// Started at the file's first key, with its size hint.
    load: Option<BulkLoad<'e>>,
    /// The keys the file announces (RESIZEDB) before its first key.
    keys_hint: u64,
    hash: Limits,
    zset: Limits,
    max_intset_entries: i64,
    /// The current key's value parts while it may still be written whole; `None` once it goes
    /// through commands (a stream, a hash with field TTLs, a value too big to hold).
    parts: Option<Vec<ValuePart>>,
    /// An emptied `parts`, to hold the next key's (one allocation less per key).
    spare: Vec<ValuePart>,
    /// Bytes the held parts take, roughly.
    held: usize,
}

impl<'e> Bulk<'e> {
    fn new(server: &'e Server) -> Bulk<'e> {
        let config = server.config.read();
        Bulk {
            server,
            load: None,
            keys_hint: 0,
            hash: hash::store::Hash::configured_limits(&config),
            zset: zset::store::ZSet::configured_limits(&config),
            max_intset_entries: config.get_int("set-max-intset-entries"),
            parts: None,
            spare: Vec::new(),
            held: 0,
        }
    }

    /// The engine's bulk load, started if it was not.
    fn load(&mut self) -> Result<&mut BulkLoad<'e>, LoadError> {
        Ok(match self.load {
            Some(ref mut load) => load,
            None => {
                let engine = &self.server.engine;
                self.load
                    .insert(engine.bulk_load(BULK_CHUNK_BYTES, self.keys_hint)?)
            }
        })
    }

    /// Stores a key built whole.
    fn put(&mut self, header: KeyHeader, (mut meta, elements): Stored) -> Result<(), LoadError> {
        meta.expire_at_ms = header.expire_at_ms.unwrap_or(0);
        let db = usize::try_from(header.db).unwrap_or(usize::MAX);
        let put = self.load()?.put(db, &header.key, meta, &elements);
        put.map_err(|e| self.failed(e))
    }

    /// Claims a key the commands will write.
    fn claim(&mut self, header: &KeyHeader) -> Result<(), LoadError> {
        let db = usize::try_from(header.db).unwrap_or(usize::MAX);
        let claimed = self.load()?.claim(db, &header.key);
        claimed.map_err(|e| self.failed(e))
    }

    /// Writes out what is left: every key is in.
    fn finish(mut self) -> Result<(), LoadError> {
        match self.load.take() {
            Some(load) => load.finish().map_err(|e| self.failed(e)),
            None => Ok(()),
        }
    }

    /// A bulk load's error, a key given twice as Redis words it.
    fn failed(&self, error: engine::EngineError) -> LoadError {
        match error {
            engine::EngineError::DuplicateKey { physical, key } => LoadError::Duplicate {
                key: String::from_utf8_lossy(&key).into_owned(),
                db: self
                    .server
                    .engine
                    .logical_db(physical)
                    .map_or(u64::from(physical), |db| db as u64),
            },
            other => LoadError::Engine(other),
        }
    }

    /// Holds `part` of the current key; gives it back when the key cannot be written whole,
    /// with the parts held so far when it just turned out so (to be replayed before it).
    fn hold(&mut self, part: ValuePart) -> Result<(), (Option<Vec<ValuePart>>, ValuePart)> {
        let Some(parts) = self.parts.as_mut() else {
            return Err((None, part));
        };
        let bytes = match &part {
            ValuePart::String(value) => Some(value.len()),
            ValuePart::ListItems(items) | ValuePart::SetMembers(items) => {
                Some(items.iter().map(|i| i.len() + 24).sum())
            }
            ValuePart::HashFields(fields) if fields.iter().all(|f| f.expire_at_ms.is_none()) => {
                Some(
                    fields
                        .iter()
                        .map(|f| f.field.len() + f.value.len() + 56)
                        .sum(),
                )
            }
            ValuePart::ZsetMembers(members) => Some(members.iter().map(|m| m.0.len() + 32).sum()),
            _ => None,
        };
        match bytes {
            Some(bytes) if self.held + bytes <= BULK_VALUE_BYTES => {
                self.held += bytes;
                parts.push(part);
                Ok(())
            }
            _ => Err((self.parts.take(), part)),
        }
    }
}

/// A value from its `parts` (which it empties), in the form the commands replaying it would
/// store it; `None` when the commands must build it (an empty collection, an element named
/// twice, a NaN score, a stream, parts of another type), `parts` then holding the value (in one
/// part, or as it was).
fn build(bulk: &Bulk, kind: Kind, parts: &mut Vec<ValuePart>) -> Option<Stored> {
    let all_of = |variant: fn(&ValuePart) -> bool| parts.iter().all(variant);
    let matching = match kind {
        Kind::String => parts.len() == 1 && all_of(|p| matches!(p, ValuePart::String(_))),
        Kind::List => all_of(|p| matches!(p, ValuePart::ListItems(_))),
        Kind::Set => all_of(|p| matches!(p, ValuePart::SetMembers(_))),
        Kind::Hash => all_of(|p| matches!(p, ValuePart::HashFields(_))),
        Kind::Zset => all_of(|p| matches!(p, ValuePart::ZsetMembers(_))),
        Kind::Stream => false,
    };
    if !matching {
        return None;
    }
    let mut drained = parts.drain(..);
    let mut whole = drained.next()?;
    for part in drained {
        match (&mut whole, part) {
            (ValuePart::ListItems(all), ValuePart::ListItems(more))
            | (ValuePart::SetMembers(all), ValuePart::SetMembers(more)) => all.extend(more),
            (ValuePart::HashFields(all), ValuePart::HashFields(more)) => all.extend(more),
            (ValuePart::ZsetMembers(all), ValuePart::ZsetMembers(more)) => all.extend(more),
            _ => {}
        }
    }
    let empty = match &whole {
        ValuePart::ListItems(all) | ValuePart::SetMembers(all) => all.is_empty(),
        ValuePart::HashFields(all) => all.is_empty(),
        ValuePart::ZsetMembers(all) => all.is_empty(),
        _ => false,
    };
    if empty {
        parts.push(whole);
        return None;
    }
    match whole {
        ValuePart::String(value) => Some((Meta::string(value, 0), Vec::new())),
        ValuePart::ListItems(items) => Some(list::store::build(items)),
        ValuePart::SetMembers(members) => {
            // As SADD adds them (a member named twice is added once).
            let mut set = set::value::Built::new(bulk.max_intset_entries);
            for member in &members {
                set.add(member);
            }
            Some(set.into_stored())
        }
        ValuePart::HashFields(fields)
            if !keys::repeats(fields.iter().map(|f| f.field.as_slice())) =>
        {
            let pairs = fields.into_iter().map(|f| (f.field, f.value)).collect();
            Some(hash::store::build(pairs, bulk.hash))
        }
        ValuePart::ZsetMembers(members)
            if !members.iter().any(|m| m.1.is_nan())
                && !keys::repeats(members.iter().map(|m| m.0.as_slice())) =>
        {
            Some(zset::store::build(members, bulk.zset))
        }
        other => {
            parts.push(other);
            None
        }
    }
}

impl<'s> Loader<'s> {
    fn new(server: &'s Server, shared: &'s mut Shared) -> Loader<'s> {
        let client = super::rdb_save::internal_client(LOADER_CLIENT_ID);
        shared.clients.insert(LOADER_CLIENT_ID, Box::new(client));
        Loader {
            server,
            shared,
            db: None,
            key: None,
            group: None,
            consumer: None,
            stream_created: false,
            hash_written: false,
            hash_fields_expired: false,
            strings: None,
            existing: None,
            sink: None,
            bulk: None,
            report: LoadReport::default(),
        }
    }

    /// Stores a string key in the current batch.
    fn put_string(&mut self, header: &KeyHeader, value: Vec<u8>) -> Result<(), LoadError> {
        if self.sink.is_some() {
            return self.run(&[b"SET".to_vec(), header.key.clone(), value]);
        }
        let db = usize::try_from(header.db).unwrap_or(usize::MAX);
        let meta = Meta::string(value, header.expire_at_ms.unwrap_or(0));
        let (txn, count) = self
            .strings
            .get_or_insert_with(|| (Txn::new(&self.server.engine), 0));
        txn.put(db, &header.key, meta)?;
        *count += 1;
        if *count >= STRINGS_PER_BATCH {
            self.commit_strings()?;
        }
        Ok(())
    }

    /// Commits the batched strings (before any command, so the file's order is kept).
    fn commit_strings(&mut self) -> Result<(), LoadError> {
        if let Some((txn, _)) = self.strings.take() {
            txn.commit(false)?;
        }
        Ok(())
    }

    /// Runs one command; an error reply stops the load.
    fn run<A: AsRef<[u8]>>(&mut self, args: &[A]) -> Result<(), LoadError> {
        if let Some(sink) = self.sink.as_mut() {
            let mut encoded = bytes::BytesMut::new();
            formats::resp::encode_command(args, &mut encoded);
            sink.write_all(&encoded)?;
            return Ok(());
        }
        self.commit_strings()?;
        let args: Vec<Bytes> = args
            .iter()
            .map(|a| Bytes::copy_from_slice(a.as_ref()))
            .collect();
        let outcome = dispatch::execute(
            self.server,
            self.shared,
            LOADER_CLIENT_ID,
            &args,
            0,
            std::time::Instant::now(),
        );
        match outcome.reply {
            Some(Reply::Error(error)) => Err(LoadError::Replay {
                key: self
                    .key
                    .as_ref()
                    .map(|k| String::from_utf8_lossy(&k.key).into_owned())
                    .unwrap_or_default(),
                error,
            }),
            _ => Ok(()),
        }
    }

    /// Empties the data and the function libraries (what Redis's `emptyData` empties).
    fn empty(&mut self) -> Result<(), LoadError> {
        self.run(&["FLUSHALL"])?;
        self.run(&["FUNCTION", "FLUSH"])
    }

    /// Loads the file at `path`; `bulk`: through the bulk path (into an emptied keyspace).
    fn load_file(&mut self, path: &Path, bulk: bool) -> Result<LoadReport, LoadError> {
        let started = std::time::Instant::now();
        tracing::info!("Loading RDB file {}", path.display());
        let mut file = std::fs::File::open(path)?;
        self.replay_file(&mut file, bulk)?;
        tracing::info!(
            "DB loaded from disk: {:.3} seconds",
            started.elapsed().as_secs_f64()
        );
        Ok(self.report)
    }

    /// [`Loader::replay`], through the bulk path when `bulk` (into an emptied keyspace), whose
    /// last chunk is written before this returns.
    fn replay_file(
        &mut self,
        input: &mut impl Read,
        bulk: bool,
    ) -> Result<(u64, Vec<u8>), LoadError> {
        if bulk {
            self.bulk = Some(Bulk::new(self.server));
        }
        let replayed = self.replay(input)?;
        if let Some(bulk) = self.bulk.take() {
            bulk.finish()?;
        }
        Ok(replayed)
    }

    /// Replays the RDB file at the start of `input`; returns its size and the bytes read past
    /// its end (the start of an AOF tail).
    fn replay(&mut self, input: &mut impl Read) -> Result<(u64, Vec<u8>), LoadError> {
        // Redis 7.0 reads the release candidates' FUNCTION opcode; so does this loader.
        let mut reader = Reader::new(Options {
            pre_ga_functions: true,
            ..Options::default()
        });
        let mut chunk = vec![0u8; CHUNK_BYTES];
        let mut next_progress = PROGRESS_KEYS;
        loop {
            match reader.poll()? {
                Poll::Event(event) => self.apply(event)?,
                Poll::NeedMore => {
                    let n = input.read(&mut chunk)?;
                    if n == 0 {
                        reader.end_input();
                        if matches!(reader.poll()?, Poll::NeedMore) {
                            return Err(LoadError::Truncated);
                        }
                        continue;
                    }
                    reader.feed(&chunk[..n]);
                }
                Poll::Done => break,
            }
            if self.report.keys >= next_progress {
                tracing::info!("Loading RDB: {} keys so far", self.report.keys);
                next_progress += PROGRESS_KEYS;
            }
        }
        self.commit_strings()?;
        tracing::info!(
            "Done loading RDB, keys loaded: {}, keys expired: {}.",
            self.report.keys,
            self.report.expired
        );
        Ok((reader.consumed(), reader.unread().to_vec()))
    }

    fn apply(&mut self, event: Event) -> Result<(), LoadError> {
        match event {
            Event::Header { version } if version > MAX_VERSION => Err(LoadError::Version(version)),
            Event::Function { code } => {
                let load: &[&[u8]] = match self.existing {
                    Some(true) => &[b"FUNCTION", b"LOAD", b"REPLACE", &code],
                    _ => &[b"FUNCTION", b"LOAD", &code],
                };
                self.run(load).map_err(|e| match e {
                    LoadError::Replay { error, .. } => LoadError::Function(
                        error.strip_prefix("ERR ").unwrap_or(&error).to_string(),
                    ),
                    other => other,
                })
            }
            Event::Aux { key, value } => {
                // Redis notes the AOF roles an RDB file declares.
                match (key.as_slice(), value.as_slice()) {
                    (b"aof-base", b"1") => tracing::info!("RDB is base AOF"),
                    (b"aof-preamble", b"1") => tracing::info!("RDB has an AOF tail"),
                    _ => {}
                }
                Ok(())
            }
            Event::ResizeDb { db_size, .. } => {
                if let Some(bulk) = self.bulk.as_mut() {
                    bulk.keys_hint += db_size;
                }
                Ok(())
            }
            Event::Key(header) => self.start_key(header),
            Event::Value(part) => {
                if self.key.is_none() {
                    return Ok(());
                }
                let (held, part) = match self.bulk.as_mut() {
                    Some(bulk) => match bulk.hold(part) {
                        Ok(()) => return Ok(()),
                        Err(given_back) => given_back,
                    },
                    None => (None, part),
                };
                let Some(header) = self.key.clone() else {
                    return Ok(());
                };
                if let (Some(bulk), Some(_)) = (self.bulk.as_mut(), &held) {
                    // The commands write this key from now on.
                    bulk.claim(&header)?;
                }
                for earlier in held.into_iter().flatten() {
                    self.value(&header, earlier)?;
                }
                self.value(&header, part)
            }
            Event::ValueEnd => self.end_key(),
            _ => Ok(()),
        }
    }

    fn start_key(&mut self, header: KeyHeader) -> Result<(), LoadError> {
        if header.expire_at_ms.is_some_and(|t| t <= unix_ms()) {
            self.report.expired += 1;
            self.key = None;
            return Ok(());
        }
        if self.db != Some(header.db) {
            self.run(&[b"SELECT".to_vec(), header.db.to_string().into_bytes()])?;
            self.db = Some(header.db);
        }
        if let Some(bulk) = self.bulk.as_mut() {
            bulk.held = 0;
            if header.kind == Kind::Stream {
                bulk.parts = None;
                bulk.claim(&header)?;
            } else {
                bulk.parts = Some(std::mem::take(&mut bulk.spare));
            }
        }
        if let Some(merge) = self.existing {
            if self.exists(&header)? {
                if !merge {
                    return Err(LoadError::Duplicate {
                        key: String::from_utf8_lossy(&header.key).into_owned(),
                        db: header.db,
                    });
                }
                self.run(&[&b"DEL"[..], &header.key])?;
            }
        }
        self.group = None;
        self.consumer = None;
        self.stream_created = false;
        self.hash_written = false;
        self.hash_fields_expired = false;
        self.key = Some(header);
        Ok(())
    }

    /// Whether the key exists already (expired or not), as Redis's `dbAddRDBLoad` finds it.
    fn exists(&mut self, header: &KeyHeader) -> Result<bool, LoadError> {
        self.commit_strings()?;
        let engine = &self.server.engine;
        let physical = engine.physical_db(usize::try_from(header.db).unwrap_or(usize::MAX))?;
        let slot = formats::slot::key_slot(&header.key);
        Ok(engine.get_meta(physical, slot, &header.key)?.is_some())
    }

    fn end_key(&mut self) -> Result<(), LoadError> {
        let Some(header) = self.key.take() else {
            return Ok(());
        };
        if let Some(bulk) = self.bulk.as_mut() {
            if let Some(mut parts) = bulk.parts.take() {
                match build(bulk, header.kind, &mut parts) {
                    Some(stored) => {
                        bulk.spare = parts;
                        bulk.put(header, stored)?;
                        self.report.keys += 1;
                        return Ok(());
                    }
                    None => {
                        bulk.claim(&header)?;
                        self.key = Some(header.clone());
                        for part in parts {
                            self.value(&header, part)?;
                        }
                        self.key = None;
                    }
                }
            }
            // A claimed key is written before the next is claimed (see `BulkLoad::claim`).
            self.commit_strings()?;
        }
        if header.kind == Kind::Hash && self.hash_fields_expired && !self.hash_written {
            self.report.expired += 1;
            return Ok(());
        }
        // A string's expire time went into its record with it (not when writing commands).
        let in_record = header.kind == Kind::String && self.sink.is_none();
        if let (Some(t), false) = (header.expire_at_ms, in_record) {
            self.run(&[
                b"PEXPIREAT".to_vec(),
                header.key.clone(),
                t.to_string().into_bytes(),
            ])?;
        }
        self.report.keys += 1;
        Ok(())
    }

    fn value(&mut self, header: &KeyHeader, part: ValuePart) -> Result<(), LoadError> {
        let key = &header.key;
        match part {
            ValuePart::String(value) => self.put_string(header, value),
            ValuePart::ListItems(items) => self.bulk(b"RPUSH", key, items),
            ValuePart::SetMembers(members) => self.bulk(b"SADD", key, members),
            ValuePart::HashFields(fields) => self.hash_fields(key, fields),
            ValuePart::ZsetMembers(members) => self.bulk(
                b"ZADD",
                key,
                members
                    .into_iter()
                    .flat_map(|(m, score)| [score.to_string().into_bytes(), m])
                    .collect(),
            ),
            ValuePart::StreamEntries(entries) => {
                for entry in entries {
                    let mut args = vec![b"XADD".to_vec(), key.clone(), id_text(entry.id)];
                    args.extend(entry.fields.into_iter().flat_map(|(f, v)| [f, v]));
                    self.run(&args)?;
                    self.stream_created = true;
                }
                Ok(())
            }
            ValuePart::StreamMeta(meta) => {
                if !self.stream_created {
                    // An empty stream: add one entry and trim it away, as Redis's AOF
                    // rewrite does, then set the real metadata.
                    self.run(&[
                        b"XADD".to_vec(),
                        key.clone(),
                        b"MAXLEN".to_vec(),
                        b"0".to_vec(),
                        b"0-1".to_vec(),
                        b"x".to_vec(),
                        b"y".to_vec(),
                    ])?;
                    self.stream_created = true;
                }
                self.run(&[
                    b"XSETID".to_vec(),
                    key.clone(),
                    id_text(meta.last_id),
                    b"ENTRIESADDED".to_vec(),
                    meta.entries_added
                        .unwrap_or(meta.length)
                        .to_string()
                        .into_bytes(),
                    b"MAXDELETEDID".to_vec(),
                    id_text(meta.max_deleted_id.unwrap_or_default()),
                ])
            }
            ValuePart::StreamGroup(group) => {
                let read = group
                    .entries_read
                    .map_or(-1, |n| i64::try_from(n).unwrap_or(i64::MAX));
                self.run(&[
                    b"XGROUP".to_vec(),
                    b"CREATE".to_vec(),
                    key.clone(),
                    group.name.clone(),
                    id_text(group.last_delivered_id),
                    b"ENTRIESREAD".to_vec(),
                    read.to_string().into_bytes(),
                ])?;
                self.group = Some((group.name, HashMap::new()));
                self.consumer = None;
                Ok(())
            }
            ValuePart::StreamPending(pending) => {
                if let Some((_, pel)) = self.group.as_mut() {
                    pel.insert(pending.id, pending);
                }
                Ok(())
            }
            ValuePart::StreamConsumer(consumer) => {
                let Some((group, _)) = &self.group else {
                    return Ok(());
                };
                let args = [
                    b"XGROUP".to_vec(),
                    b"CREATECONSUMER".to_vec(),
                    key.clone(),
                    group.clone(),
                    consumer.name.clone(),
                ];
                self.run(&args)?;
                self.consumer = Some(consumer.name);
                Ok(())
            }
            ValuePart::StreamConsumerPending(id) => self.claim(key, id),
        }
    }

    /// Gives pending entry `id` of the current group to the current consumer, with its
    /// delivery time and count.
    fn claim(&mut self, key: &[u8], id: StreamId) -> Result<(), LoadError> {
        let (Some((group, pel)), Some(consumer)) = (&self.group, &self.consumer) else {
            return Ok(());
        };
        let Some(pending) = pel.get(&id) else {
            return Ok(());
        };
        let args = [
            b"XCLAIM".to_vec(),
            key.to_vec(),
            group.clone(),
            consumer.clone(),
            b"0".to_vec(),
            id_text(id),
            b"TIME".to_vec(),
            pending.delivery_time_ms.to_string().into_bytes(),
            b"RETRYCOUNT".to_vec(),
            pending.delivery_count.to_string().into_bytes(),
            b"FORCE".to_vec(),
            b"JUSTID".to_vec(),
        ];
        self.run(&args)
    }

    /// HSET of the fields still alive, then HPEXPIREAT of those with an expire time.
    fn hash_fields(&mut self, key: &[u8], fields: Vec<HashField>) -> Result<(), LoadError> {
        let now = unix_ms();
        let before = fields.len();
        let fields: Vec<HashField> = fields
            .into_iter()
            .filter(|f| f.expire_at_ms.is_none_or(|t| t > now))
            .collect();
        self.hash_fields_expired |= fields.len() < before;
        if fields.is_empty() {
            return Ok(());
        }
        self.hash_written = true;
        let with_ttl: Vec<(i64, Vec<u8>)> = fields
            .iter()
            .filter_map(|f| f.expire_at_ms.map(|t| (t, f.field.clone())))
            .collect();
        let pairs = fields
            .into_iter()
            .flat_map(|f| [f.field, f.value])
            .collect();
        self.bulk(b"HSET", key, pairs)?;
        // One command per run of equal times, fields in reverse: HPEXPIREAT places each field
        // before the first with a time no earlier, so this rebuilds the file's order.
        for run in with_ttl.chunk_by(|a, b| a.0 == b.0) {
            let mut args = vec![
                b"HPEXPIREAT".to_vec(),
                key.to_vec(),
                run[0].0.to_string().into_bytes(),
                b"FIELDS".to_vec(),
                run.len().to_string().into_bytes(),
            ];
            args.extend(run.iter().rev().map(|(_, f)| f.clone()));
            self.run(&args)?;
        }
        Ok(())
    }

    /// Runs `command key` over `items` in chunks.
    fn bulk(&mut self, command: &[u8], key: &[u8], items: Vec<Vec<u8>>) -> Result<(), LoadError> {
        // Pairs (hash fields, zset members) must not be split between two commands.
        let per_command = ELEMENTS_PER_COMMAND * 2;
        for chunk in items.chunks(per_command) {
            let mut args = Vec::with_capacity(chunk.len() + 2);
            args.push(command.to_vec());
            args.push(key.to_vec());
            args.extend(chunk.iter().cloned());
            self.run(&args)?;
        }
        Ok(())
    }

    /// Forgets the loading client; at a fresh start also the statistics its commands left,
    /// as a node that just started has none.
    fn finish(self, fresh_start: bool) {
        if let Some(mut client) = self.shared.clients.remove(&LOADER_CLIENT_ID) {
            self.shared.forget_client(&mut client);
        }
        if fresh_start {
            clear_load_statistics(self.server, self.shared);
        }
        self.server
            .stats
            .dirty
            .store(0, std::sync::atomic::Ordering::Relaxed);
    }
}

/// Writes the RDB file `rdb` as the commands that rebuild its dataset (the ones the loader
/// replays: SET, RPUSH, SADD, HSET, ZADD, XADD ..., FUNCTION LOAD, PEXPIREAT) to `out`, synced:
/// an AOF rewrite's base with `aof-use-rdb-preamble no`.
pub fn rdb_to_commands(
    server: &Server,
    shared: &mut Shared,
    rdb: &Path,
    out: &Path,
) -> Result<LoadReport, LoadError> {
    let mut loader = Loader::new(server, shared);
    loader.sink = Some(std::io::BufWriter::new(std::fs::File::create(out)?));
    let mut input = std::fs::File::open(rdb)?;
    let replayed = loader.replay(&mut input);
    let sink = loader.sink.take();
    let report = loader.report;
    loader.finish(false);
    replayed?;
    if let Some(sink) = sink {
        sink.into_inner().map_err(|e| e.into_error())?.sync_all()?;
    }
    Ok(report)
}

/// Forgets the statistics a load's replayed commands left, as a node that just started has none.
pub fn clear_load_statistics(server: &Server, shared: &mut Shared) {
    shared.command_stats.clear();
    shared.error_stats.clear();
    server.stats.reset();
}

/// The RDB part of an AOF (a 7.0 base file, or a pre-7.0 file's preamble), replayed.
#[derive(Debug)]
pub struct RdbPart {
    pub report: LoadReport,
    /// The RDB file's size: where the AOF's commands start.
    pub size: u64,
    /// Bytes read from the input past the RDB file's end.
    pub tail: Vec<u8>,
}

/// Replays the RDB file at the start of `input` for the AOF loader, which holds the execution
/// lock (`shared`) and owns the loading mark.
pub fn replay_rdb_part(
    server: &Server,
    shared: &mut Shared,
    input: &mut impl Read,
) -> Result<RdbPart, LoadError> {
    // A base comes first, into an empty keyspace: the bulk path, as for a dump.rdb.
    let empty = server.engine.total_keys() == 0;
    let mut loader = Loader::new(server, shared);
    let replayed = loader.replay_file(input, empty);
    let report = loader.report;
    loader.finish(false);
    let (size, tail) = replayed?;
    if empty {
        server.engine.compact_in_background();
    }
    Ok(RdbPart { report, size, tail })
}

fn id_text(id: StreamId) -> Vec<u8> {
    id.to_string().into_bytes()
}

#[cfg(test)]
mod tests {
    #[test]
    fn scores_replay_exactly() {
        for score in [
            0.1,
            -0.0,
            1e300,
            5e-324,
            f64::INFINITY,
            f64::NEG_INFINITY,
            3.0,
        ] {
            let text = score.to_string();
            let parsed = crate::commands::args::parse_f64(text.as_bytes()).unwrap();
            assert_eq!(parsed.to_bits(), score.to_bits(), "{text}");
        }
    }
}
