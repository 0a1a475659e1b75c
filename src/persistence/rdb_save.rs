//! Writing the dataset as a Redis RDB file: SAVE, BGSAVE, and (later) full resyncs.
//!
//! A save reads a RocksDB snapshot, never the live data: it takes the engine's snapshot (which
//! also keeps the compaction filter away from the elements it can reach) and reads every key
//! through the ordinary stores with a transaction bound to that snapshot, so it sees one
//! instant of the dataset while writes go on, and needs no fork. Values are written element by
//! element through the streaming writer of `formats::rdb`, page by page from the stores, so
//! memory stays bounded by a page whatever the size of a value or of the dataset.
//!
//! Each database is walked by two threads at once, each over half of the hash slots with a
//! writer of its own (keys only); the file's writer appends their fragments of about a megabyte
//! as they come, between its SELECTDB and the next, and keeps the checksum. Key order does not
//! matter in an RDB file, and a full sync, BGSAVE or AOF rewrite then encodes on both cores.
//!
//! The file is written as `temp-<pid>.rdb` next to its destination, synced, renamed over
//! `dbfilename` and the directory synced, so a crash at any moment leaves either the previous
//! dump or the new one, never a torn file.
//!
//! Function libraries (their code) follow the AUX fields, before the first database, where
//! Redis 7.0's `rdbSaveRio` puts them; Redis 6.x does not know their opcode.
//!
//! Format: RDB version 9 (every Redis from 6.0 on loads it) with plain list, set, hash and
//! sorted-set types; streams as Redis 6.2 wrote them (type 15), so their 7.0 counters
//! (entries-added, max-deleted-entry-id) are derived again by the loader, as Redis 7.0 does when
//! it loads a 6.2 file. Keys already expired are left out, as a loader would drop them.
//! The `rdb-version` directive raises the version (up to 12, Redis 7.4's, which keeps hash
//! field expire times); at a version below 12 a hash with field expire times fails the save
//! with the writer's error rather than lose them.

use std::io::Write;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::Arc;

use bytes::Bytes;
use engine::{Kind, Meta, Order, Txn};
use formats::rdb::dump::REDIS_7_0_VERSION;
use formats::rdb::writer::{
    estimate_entries_read, stream_fits_version9, ReplicationAux, StandardAux, DEFAULT_VERSION,
    FIELD_TTL_VERSION,
};
use formats::rdb::{
    ConsumerHeader, KeyMeta, PendingEntry, StreamEntry, StreamGroupHeader, StreamMeta, ValueStart,
    WriteError, Writer, WriterOptions,
};
use thiserror::Error;
use tokio::sync::mpsc;

use crate::commands::function::library::Libraries;
use crate::commands::hash;
use crate::commands::list::store::{End, List};
use crate::commands::set::value as set;
use crate::commands::stream::id::StreamId;
use crate::commands::stream::store::{self as stream, Stream};
use crate::commands::zset::store::{self as zset, ZSet};
use crate::error::CommandError;
use crate::server::{unix_ms, ClientSignals, ClientState, Ctx, Server, Shared};

/// Output taken from the writer before it is written to the file.
const FLUSH_BYTES: usize = 1 << 20;
/// Keys read from the snapshot per step: each step opens iterators and seeks again, which
/// costs block reads in every file of the level-0 and level-1 runs, so steps are large (their
/// metadata records, without collection elements, take a few MB).
const SAVE_CHUNK: usize = 16 * 1024;
/// Threads a database is walked by, each over its share of the slots: the keys are encoded in
/// parallel, and the file's own writer appends their fragments (key order does not matter in
/// an RDB file).
const WALKERS: u16 = 2;

#[derive(Debug, Error)]
pub enum SaveError {
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("{0}")]
    Write(#[from] WriteError),
    #[error("{0}")]
    Read(#[from] CommandError),
    #[error("{0}")]
    Engine(#[from] engine::EngineError),
}

/// What a save wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SaveReport {
    pub keys: u64,
    pub bytes: u64,
}

/// A client for work the node does on its own (loading, saving): never connected, always
/// authenticated, and what it executes is not propagated.
pub fn internal_client(id: u64) -> ClientState {
    let (push, _) = mpsc::channel(1);
    let nowhere = SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0));
    let mut client = ClientState::new(id, nowhere, nowhere, -1, Arc::new(ClientSignals::new(push)));
    client.authenticated = true;
    client.replaying = true;
    client
}

/// The id of the saving client (never in the client registry).
const SAVER_CLIENT_ID: u64 = u64::MAX - 1;

/// SAVE: writes `dbfilename` now, in the caller's thread (which holds the execution lock), and
/// records the outcome.
pub fn save_now(server: &Server) -> Result<SaveReport, SaveError> {
    let started = std::time::Instant::now();
    let dirty = server.stats.dirty.load(Ordering::Relaxed);
    let path = PathBuf::from(server.config.read().get_str("dbfilename"));
    let report = save(server, &server.engine.snapshot()?, &path)?;
    saved(server, dirty);
    tracing::info!(
        "DB saved on disk: {} keys, {} bytes in {:.3} seconds",
        report.keys,
        report.bytes,
        started.elapsed().as_secs_f64()
    );
    Ok(report)
}

/// Books a successful save that began when `dirty` changes had been made.
fn saved(server: &Server, dirty: u64) {
    let stats = &server.stats;
    let _ = stats
        .dirty
        .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |d| {
            Some(d.saturating_sub(dirty))
        });
    stats
        .last_save_unix
        .store(unix_ms() / 1000, Ordering::Relaxed);
    stats.rdb_saves.fetch_add(1, Ordering::Relaxed);
}

/// Starts a background save unless one is running; returns whether it started.
pub fn request_background_save(server: &Server) -> bool {
    let started = server.stats.bgsave_started_ms.compare_exchange(
        0,
        unix_ms().max(1),
        Ordering::SeqCst,
        Ordering::SeqCst,
    );
    if started.is_err() {
        return false;
    }
    server.stats.dirty_at_save_start.store(
        server.stats.dirty.load(Ordering::Relaxed),
        Ordering::Relaxed,
    );
    tracing::info!("Background saving started");
    server.bgsave.notify_one();
    true
}

/// The background saver: runs each requested save off the command path, from a snapshot, so
/// commands keep running meanwhile.
pub async fn run_background_saves(server: Arc<Server>) {
    loop {
        server.bgsave.notified().await;
        let owner = Arc::clone(&server);
        let result = tokio::task::spawn_blocking(move || {
            let path = PathBuf::from(owner.config.read().get_str("dbfilename"));
            let snapshot = {
                let _exclusive = owner.exec.lock();
                owner.engine.snapshot()?
            };
            save(&owner, &snapshot, &path)
        })
        .await;
        let stats = &server.stats;
        let began = stats.bgsave_started_ms.load(Ordering::SeqCst);
        let secs = (unix_ms() - began) / 1000;
        match result {
            Ok(Ok(report)) => {
                saved(&server, stats.dirty_at_save_start.load(Ordering::Relaxed));
                stats.last_bgsave_failed.store(false, Ordering::Relaxed);
                tracing::info!(
                    "Background saving terminated with success ({} keys, {} bytes)",
                    report.keys,
                    report.bytes
                );
            }
            Ok(Err(e)) => {
                stats.last_bgsave_failed.store(true, Ordering::Relaxed);
                tracing::warn!("Background saving error: {e}");
            }
            Err(e) => {
                stats.last_bgsave_failed.store(true, Ordering::Relaxed);
                tracing::warn!("Background saving task failed: {e}");
            }
        }
        stats.last_bgsave_secs.store(secs, Ordering::Relaxed);
        stats.bgsave_started_ms.store(0, Ordering::SeqCst);
    }
}

/// The `save` schedule: once a second, starts a background save when one of the configured
/// points is reached (at least `changes` changes and `seconds` seconds since the last save), as
/// Redis's serverCron does. `save ""` turns it off.
pub async fn run_save_schedule(server: Arc<Server>) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
    loop {
        tick.tick().await;
        let points = save_points(&server.config.read().get_str("save"));
        let stats = &server.stats;
        let dirty = stats.dirty.load(Ordering::Relaxed);
        let since = unix_ms() / 1000 - stats.last_save_unix.load(Ordering::Relaxed);
        let due = points
            .iter()
            .any(|&(seconds, changes)| dirty >= changes && since >= seconds);
        if due && stats.bgsave_started_ms.load(Ordering::SeqCst) == 0 {
            tracing::info!("{dirty} changes in {since} seconds. Saving...");
            request_background_save(&server);
        }
    }
}

/// The `save` directive's (seconds, changes) pairs.
fn save_points(text: &str) -> Vec<(i64, u64)> {
    let numbers: Vec<&str> = text.split_whitespace().collect();
    numbers
        .chunks(2)
        .filter_map(|pair| match pair {
            [seconds, changes] => Some((seconds.parse().ok()?, changes.parse().ok()?)),
            _ => None,
        })
        .collect()
}

/// Writes the dataset as of `snapshot` to `path` (relative to `dir`), atomically.
pub fn save(
    server: &Server,
    snapshot: &engine::Snapshot<'_>,
    path: &Path,
) -> Result<SaveReport, SaveError> {
    let temp = PathBuf::from(format!("temp-{}.rdb", std::process::id()));
    save_snapshot(server, snapshot, &temp, path, false)
}

/// Writes the dataset of `snapshot` to `temp`, syncs it and renames it to `path`, then syncs
/// the directory. `aof_base` marks the file as an AOF base (the `aof-base` aux field).
pub fn save_snapshot(
    server: &Server,
    snapshot: &engine::Snapshot<'_>,
    temp: &Path,
    path: &Path,
    aof_base: bool,
) -> Result<SaveReport, SaveError> {
    let written = (|| {
        let mut file = std::io::BufWriter::new(std::fs::File::create(temp)?);
        let report = write_rdb(server, snapshot, &mut file, aof_base, None)?;
        let file = file.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        Ok::<_, SaveError>(report)
    })();
    let report = match written {
        Ok(report) => report,
        Err(e) => {
            let _ = std::fs::remove_file(temp);
            return Err(e);
        }
    };
    std::fs::rename(temp, path)?;
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::File::open(dir)?.sync_all()?;
    Ok(report)
}

/// Writes the dataset of `snapshot` as an RDB to `out` with the replication AUX fields (a full
/// sync to a replica).
pub fn write_snapshot(
    server: &Server,
    snapshot: &engine::Snapshot<'_>,
    out: &mut impl Write,
    replication: Option<ReplicationAux<'_>>,
) -> Result<SaveReport, SaveError> {
    write_rdb(server, snapshot, out, false, replication)
}

/// The RDB of `snapshot`, written to `out` page by page.
fn write_rdb(
    server: &Server,
    snapshot: &engine::Snapshot<'_>,
    file: &mut impl Write,
    aof_base: bool,
    replication: Option<ReplicationAux<'_>>,
) -> Result<SaveReport, SaveError> {
    let mut shared = Shared::default();
    let mut client = internal_client(SAVER_CLIENT_ID);
    let mut ctx = Ctx::new(server, &mut shared, &mut client, unix_ms());
    ctx.txn = Txn::over_snapshot(&server.engine, snapshot);
    let ctx = &mut ctx;
    let version = ctx.server.config.read().get_int("rdb-version");
    let options = WriterOptions {
        version: u32::try_from(version).unwrap_or(0),
        lossy_streams: true,
        ..WriterOptions::default()
    };
    let mut writer = Writer::new(options)?;
    writer.standard_aux(&StandardAux {
        redis_ver: "7.0.15",
        ctime_s: unix_ms() / 1000,
        used_mem: 0,
        aof_base,
        replication,
    })?;
    // Function libraries come after the AUX fields and before the databases, as in rdbSaveRio.
    for library in Libraries::read(&ctx.txn)?.libraries {
        writer.function(&library.code)?;
    }
    let mut bytes = 0u64;
    let mut keys = 0u64;
    let now_ms = ctx.now_ms;
    for db in 0..ctx.server.engine.databases() {
        let (db_keys, db_expires) = ctx.txn.db_counts(db)?;
        let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<u8>>(WALKERS as usize * 2);
        std::thread::scope(|scope| -> Result<(), SaveError> {
            let share = formats::slot::SLOT_COUNT / WALKERS;
            let walkers: Vec<_> = (0..WALKERS)
                .map(|i| {
                    let tx = tx.clone();
                    let slots = i * share..(i + 1) * share;
                    scope.spawn(move || {
                        walk_slots(server, snapshot, db, slots, now_ms, options, &tx)
                    })
                })
                .collect();
            drop(tx);
            let mut received = || -> Result<(), SaveError> {
                let mut selected = false;
                for fragment in &rx {
                    if !selected {
                        writer.select_db(db as u64, db_keys, db_expires)?;
                        selected = true;
                    }
                    writer.append_fragment(&fragment)?;
                    if writer.buffered() >= FLUSH_BYTES {
                        bytes += writer.drain_output(file)? as u64;
                    }
                }
                Ok(())
            };
            let received = received();
            // A failed write stops the walkers: their next fragment finds no receiver.
            drop(rx);
            for walker in walkers {
                keys += walker
                    .join()
                    .map_err(|_| std::io::Error::other("a snapshot walker panicked"))??;
            }
            received
        })?;
    }
    let out = writer.finish()?;
    bytes += out.len() as u64;
    file.write_all(&out)?;
    Ok(SaveReport { keys, bytes })
}

/// Writes the live keys of `slots` in database `db` of `snapshot` as RDB fragments sent to
/// `tx` (a megabyte or so each); returns how many keys it wrote.
fn walk_slots(
    server: &Server,
    snapshot: &engine::Snapshot<'_>,
    db: usize,
    slots: std::ops::Range<u16>,
    now_ms: i64,
    options: WriterOptions,
    tx: &std::sync::mpsc::SyncSender<Vec<u8>>,
) -> Result<u64, SaveError> {
    let mut shared = Shared::default();
    let mut client = internal_client(SAVER_CLIENT_ID);
    client.db = db;
    let mut ctx = Ctx::new(server, &mut shared, &mut client, now_ms);
    ctx.txn = Txn::over_snapshot(&server.engine, snapshot);
    let mut writer = Writer::fragment(options)?;
    let send = |fragment: Vec<u8>| {
        tx.send(fragment)
            .map_err(|_| std::io::Error::from(std::io::ErrorKind::BrokenPipe))
    };
    let mut keys = 0;
    // The walk starts at the first key of the range's first slot, in any database (it steps
    // to this one's).
    let mut position = match slots.start {
        0 => Vec::new(),
        first => engine::layout::meta_key(first, 0, b""),
    };
    'walk: loop {
        let (items, next) = ctx.txn.scan(db, &position, SAVE_CHUNK)?;
        for item in items {
            if item.slot >= slots.end {
                break 'walk;
            }
            if item.meta.is_expired(now_ms) {
                continue;
            }
            write_key(&mut ctx, &item.key, item.meta, &mut writer)?;
            keys += 1;
            if writer.buffered() >= FLUSH_BYTES {
                send(writer.take_fragment())?;
            }
        }
        match next {
            Some(next) => position = next,
            None => break,
        }
    }
    if writer.buffered() > 0 {
        send(writer.take_fragment())?;
    }
    Ok(keys)
}

/// Where a value is written: as a key of an RDB file (type byte, name, expire time before
/// them), or as the value of a DUMP payload (type byte only). The bytes of the value itself are
/// the same in both.
#[derive(Debug, Clone, Copy)]
pub enum Target<'k> {
    File { key: &'k [u8], key_meta: KeyMeta },
    Payload,
}

impl Target<'_> {
    fn begin(self, writer: &mut Writer, value: ValueStart<'_>) -> Result<(), WriteError> {
        match self {
            Target::File { key, key_meta } => writer.key_with_meta(key, key_meta, value),
            Target::Payload => writer.value(value),
        }
    }
}

/// Writes one key of the current database to an RDB file.
fn write_key(ctx: &mut Ctx, key: &[u8], meta: Meta, writer: &mut Writer) -> Result<(), SaveError> {
    let key_meta = KeyMeta {
        expire_at_ms: (meta.expire_at_ms != 0).then_some(meta.expire_at_ms),
        ..KeyMeta::default()
    };
    write_value(ctx, key, meta, writer, Target::File { key, key_meta })
}

/// Writes the value of the live key `key` (of the current database, read through `ctx.txn`:
/// a snapshot for SAVE, the command's transaction for DUMP) in its RDB form, page by page
/// through its store, so memory stays bounded by a page.
pub fn write_value(
    ctx: &mut Ctx,
    key: &[u8],
    meta: Meta,
    writer: &mut Writer,
    target: Target<'_>,
) -> Result<(), SaveError> {
    match meta.kind {
        Kind::String => target.begin(writer, ValueStart::String(&meta.body))?,
        Kind::List => {
            let len = meta.count;
            target.begin(writer, ValueStart::List { len })?;
            if let Some(list) = List::from_meta(ctx, key, Some(meta))? {
                let mut failed = None;
                list.walk(ctx, 0, len, End::Left, |_, _, element| {
                    match writer.list_item(&element) {
                        Ok(()) => Ok(true),
                        Err(e) => {
                            failed = Some(e);
                            Ok(false)
                        }
                    }
                })?;
                if let Some(e) = failed {
                    return Err(e.into());
                }
            }
        }
        Kind::Set => {
            let len = meta.count;
            target.begin(writer, ValueStart::Set { len })?;
            write_set(ctx, key, &meta, writer)?;
        }
        Kind::Hash => hash::rdb::write::<SaveError>(ctx, key, meta, writer, |writer, start| {
            target.begin(writer, start)
        })?,
        Kind::ZSet => {
            let len = meta.count;
            target.begin(writer, ValueStart::Zset { len })?;
            if let Some(zset) = ZSet::from_meta(ctx, key, Some(meta))? {
                let mut after: Option<Vec<u8>> = None;
                loop {
                    let page = zset.page_by_member(ctx, after.as_deref(), zset::PAGE)?;
                    let done = zset.is_inline() || page.len() < zset::PAGE;
                    for (member, score) in &page {
                        writer.zset_member(member, *score)?;
                    }
                    match page.into_iter().last() {
                        Some((last, _)) if !done => after = Some(last),
                        _ => break,
                    }
                }
            }
        }
        Kind::Stream => write_stream(ctx, key, meta, writer, target)?,
    }
    Ok(())
}

/// The RDB version a DUMP payload of `key` is stamped with: 9, unless it is a stream that a
/// Redis 7.0 loader would not rebuild exactly from a type-15 stream: metadata a type-15 stream
/// lacks ([`stream_fits_version9`]), or a group whose entries-read counter differs from the
/// loader's estimate. (The writer's own check lets "unknown" through, since the counter of a
/// type-15 stream read from a file is estimated again when loaded; here it is a live group's
/// state, which the estimate would change.) SAVE writes version 9 whatever its streams hold
/// ([`WriterOptions::lossy_streams`]), as Redis 6.2 saved them.
pub fn payload_version(ctx: &mut Ctx, key: &[u8], meta: &Meta) -> Result<u32, SaveError> {
    // A hash with field TTLs exists only from RDB 12 (Redis 7.4), which is what 7.4 dumps.
    if meta.kind == Kind::Hash && meta.field_expire_ms != 0 {
        return Ok(FIELD_TTL_VERSION);
    }
    if meta.kind != Kind::Stream {
        return Ok(DEFAULT_VERSION);
    }
    let Some(s) = Stream::from_meta(ctx, key, Some(meta.clone()))? else {
        return Ok(DEFAULT_VERSION);
    };
    let stream_meta = stream_meta(&s);
    let needs_10 = !stream_fits_version9(&stream_meta)
        || s.groups(ctx)?.iter().any(|g| {
            estimate_entries_read(&stream_meta, formats::rdb::StreamId::from(g.last_id))
                != g.entries_read
        });
    Ok(if needs_10 {
        u32::from(REDIS_7_0_VERSION)
    } else {
        DEFAULT_VERSION
    })
}

/// A live stream's metadata in the RDB model.
fn stream_meta(s: &Stream) -> StreamMeta {
    let state = &s.state;
    StreamMeta {
        length: s.len(),
        last_id: formats::rdb::StreamId::from(state.last_id),
        first_id: Some(formats::rdb::StreamId::from(state.first_id)),
        max_deleted_id: Some(formats::rdb::StreamId::from(state.max_deleted)),
        entries_added: Some(state.entries_added),
    }
}

fn write_set(ctx: &mut Ctx, key: &[u8], meta: &Meta, writer: &mut Writer) -> Result<(), SaveError> {
    set::for_each_member(ctx, key, meta, |member| {
        writer.set_member(member)?;
        Ok::<(), SaveError>(())
    })
}

fn write_stream(
    ctx: &mut Ctx,
    key: &[u8],
    meta: Meta,
    writer: &mut Writer,
    target: Target<'_>,
) -> Result<(), SaveError> {
    let Some(s) = Stream::from_meta(ctx, key, Some(meta))? else {
        return Ok(());
    };
    let groups = s.groups(ctx)?;
    target.begin(
        writer,
        ValueStart::Stream {
            meta: stream_meta(&s),
            groups: groups.len() as u64,
        },
    )?;
    let mut from = StreamId::ZERO;
    loop {
        let page = s.range(ctx, from, StreamId::MAX, Order::Ascending, stream::PAGE)?;
        let done = page.len() < stream::PAGE;
        for entry in &page {
            writer.stream_entry(&StreamEntry {
                id: formats::rdb::StreamId::from(entry.id),
                fields: entry
                    .pairs
                    .iter()
                    .map(|(f, v)| (f.to_vec(), v.to_vec()))
                    .collect(),
            })?;
        }
        match page.last().and_then(|e| e.id.next()) {
            Some(next) if !done => from = next,
            _ => break,
        }
    }
    for group in &groups {
        write_group(ctx, &s, group, writer)?;
    }
    Ok(())
}

fn write_group(
    ctx: &mut Ctx,
    s: &Stream,
    group: &stream::Group,
    writer: &mut Writer,
) -> Result<(), SaveError> {
    let consumers = s.consumers(ctx, &group.name)?;
    writer.stream_group(
        &StreamGroupHeader {
            name: group.name.to_vec(),
            last_delivered_id: formats::rdb::StreamId::from(group.last_id),
            entries_read: group.entries_read,
        },
        group.pending,
        consumers.len() as u64,
    )?;
    let mut from = StreamId::ZERO;
    loop {
        let page = s.pending(ctx, &group.name, from, StreamId::MAX, stream::PAGE)?;
        for nack in &page {
            writer.stream_pending(&PendingEntry {
                id: formats::rdb::StreamId::from(nack.id),
                delivery_time_ms: nack.delivery_time,
                delivery_count: nack.delivery_count,
            })?;
        }
        match page.last().and_then(|n| n.id.next()) {
            Some(next) if page.len() == stream::PAGE => from = next,
            _ => break,
        }
    }
    for consumer in &consumers {
        write_consumer(ctx, s, &group.name, consumer, writer)?;
    }
    Ok(())
}

fn write_consumer(
    ctx: &mut Ctx,
    s: &Stream,
    group: &Bytes,
    consumer: &stream::Consumer,
    writer: &mut Writer,
) -> Result<(), SaveError> {
    writer.stream_consumer(
        &ConsumerHeader {
            name: consumer.name.to_vec(),
            seen_time_ms: consumer.seen_time,
            active_time_ms: None,
        },
        consumer.pending,
    )?;
    let mut from = StreamId::ZERO;
    loop {
        let ids = s.consumer_pending(
            ctx,
            group,
            &consumer.name,
            from,
            StreamId::MAX,
            stream::PAGE,
        )?;
        for id in &ids {
            writer.stream_consumer_pending(formats::rdb::StreamId::from(*id))?;
        }
        match ids.last().and_then(|id| id.next()) {
            Some(next) if ids.len() == stream::PAGE => from = next,
            _ => return Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::save_points;

    #[test]
    fn save_points_parse_like_the_directive() {
        assert_eq!(
            save_points("3600 1 300 100 60 10000"),
            vec![(3600, 1), (300, 100), (60, 10000)]
        );
        assert!(save_points("").is_empty());
    }
}
