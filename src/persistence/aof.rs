//! The append-only file, in Redis 7.0's multi-part layout, and how it stays equal to RocksDB.
//! Loading an AOF at startup (Redis 7's directory or a Redis 6 single file) is [`load`]'s job;
//! this module and [`writer`] and [`rewrite`] write one.
//!
//! LAYOUT. With `appendonly yes` the node keeps `dir/appenddirname/` as Redis 7.0 does: a base
//! file (an RDB with the `aof-base` aux field, `appendonly.aof.<n>.base.rdb`), incr files of
//! commands appended since (`appendonly.aof.<n>.incr.aof`), and the manifest listing them
//! (`formats::aof::manifest`). Real Redis 7.0 loads this directory as its own. The commands are
//! the node's propagated stream ([`crate::server::propagate`]): the same deterministic form
//! replicas receive, `SELECT` whenever the database changes.
//!
//! WRITING ([`writer`]). Each committed batch's commands are encoded into a pending buffer while
//! the batch commits, and written to the current incr file before any reply leaves, together
//! with the RocksDB WAL: `appendfsync always` fsyncs both before replying (one group fsync for
//! all connections that committed meanwhile), `everysec` once a second, `no` never.
//!
//! REWRITE ([`rewrite`]). BGREWRITEAOF (or the `auto-aof-rewrite-*` trigger) switches, in one
//! step under the execution lock, to a new incr file listed in the manifest and takes a RocksDB
//! snapshot of exactly the data the previous files describe; the new base is written from that
//! snapshot in the background while writes go on into the new incr file. When the base is
//! complete (synced, renamed), the manifest is switched atomically to the new base and the new
//! incr file, and the old files become history and are deleted. No fork, no rewrite buffer.
//!
//! CRASH CONSISTENCY. RocksDB is the authority; the AOF must describe exactly RocksDB's data
//! after any crash. Every write batch stores, in the same RocksDB batch as the data, the AOF
//! position it brings the files to: (sequence of the incr file written to, that file's size
//! after the batch's commands). So after a crash at any instant the recovered RocksDB data names
//! the exact AOF prefix it reflects, and at boot ([`recover`]):
//! - incr files up to that sequence are kept, the one at that sequence is truncated to the
//!   recorded size (bytes past it belong to batches RocksDB never got, so never acknowledged),
//!   later incr files are emptied (a rewrite had just started);
//! - if the files are shorter than the record (AOF bytes were lost with the OS while the WAL
//!   kept the batch, or the directory was damaged), or the record is missing (the AOF was just
//!   turned on, or written by something else), the AOF is rebuilt from RocksDB: a new base from a
//!   snapshot and an empty incr file, as a rewrite would.
//!
//! A crash during a rewrite leaves the manifest listing the old base, the old incr files and the
//! new incr file (the manifest is switched only after the new base is durable): a complete AOF,
//! and the half-written temp base is deleted at boot. A crash during BGSAVE touches no AOF file.
//! Both logs are handed to the OS before a reply, so kill -9 never loses an acknowledged write;
//! with `appendfsync always` both are on disk before the reply, so power loss does not either.

pub mod load;
pub mod rewrite;
pub mod writer;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};

use formats::aof::manifest::{manifest_name, Manifest};

use crate::server::Server;
use writer::AofWriter;

/// Rewrite bookkeeping for INFO persistence (`aof_rewrite_*`, `aof_last_bgrewrite_status`).
#[derive(Default)]
pub struct RewriteStats {
    /// Unix ms when the running rewrite started (0: none running).
    pub started_ms: AtomicI64,
    /// A rewrite was asked for while a BGSAVE ran (Redis's `aof_rewrite_scheduled`).
    pub scheduled: AtomicBool,
    pub last_secs: AtomicI64,
    pub last_failed: AtomicBool,
    pub rewrites: AtomicU64,
    pub consecutive_failures: AtomicU64,
}

impl RewriteStats {
    pub fn new() -> RewriteStats {
        RewriteStats {
            last_secs: AtomicI64::new(-1),
            ..RewriteStats::default()
        }
    }

    pub fn in_progress(&self) -> bool {
        self.started_ms.load(Ordering::SeqCst) != 0
    }
}

/// `dir/appenddirname` (relative to the working directory, which is `dir`).
pub fn aof_dir(server: &Server) -> PathBuf {
    PathBuf::from(server.config.read().get_str("appenddirname"))
}

/// Reads the manifest of the AOF in `dir`, if there is one.
pub fn read_manifest(dir: &Path, filename: &str) -> std::io::Result<Option<Manifest>> {
    match std::fs::read(dir.join(manifest_name(filename))) {
        Ok(text) => Manifest::parse(&text)
            .map(Some)
            .map_err(std::io::Error::other),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// Brings the AOF in line with RocksDB's data at boot (see the module notes) and opens it for
/// appending. `position` is the AOF position stored with the data (`None`: none stored).
/// Returns `Ok(None)` when the AOF must be rebuilt from the data.
pub fn recover(
    dir: &Path,
    filename: &str,
    position: Option<(u64, u64)>,
    timestamps: bool,
) -> std::io::Result<Option<AofWriter>> {
    remove_temp_files(dir);
    let Some(manifest) = read_manifest(dir, filename)? else {
        return Ok(None);
    };
    let Some((seq, size)) = position else {
        return Ok(None);
    };
    if manifest.base.is_none() || !manifest.incrs.iter().any(|i| i.seq == seq) {
        return Ok(None);
    }
    for incr in &manifest.incrs {
        let path = dir.join(&incr.name);
        let len = std::fs::metadata(&path).map(|m| m.len()).ok();
        let keep = match incr.seq.cmp(&seq) {
            std::cmp::Ordering::Less => continue,
            std::cmp::Ordering::Equal => size,
            std::cmp::Ordering::Greater => 0,
        };
        match len {
            Some(len) if len >= keep => {
                if len > keep {
                    tracing::warn!(
                        "AOF {} has {} bytes past the last write RocksDB holds: truncating them",
                        incr.name,
                        len - keep
                    );
                    let file = std::fs::OpenOptions::new().write(true).open(&path)?;
                    file.set_len(keep)?;
                    file.sync_all()?;
                }
            }
            // Acknowledged writes are missing from the AOF: rebuild it from the data.
            _ => return Ok(None),
        }
    }
    let last = manifest.incrs.last().map_or(0, |i| i.seq);
    let tail = if last == seq { size } else { 0 };
    AofWriter::resume(dir, filename, manifest, tail, timestamps).map(Some)
}

/// With `appendonly yes`: appends to the AOF from now on. An AOF the data was just loaded from
/// is continued as it is (a new incr file when it has none, as Redis's
/// aofOpenIfNeededOnServerStart does); otherwise the AOF is brought in line with rockslot's own
/// data ([`recover`]), or rebuilt from the data when it cannot be trusted (Redis's "Creating AOF
/// base file on server start").
pub fn open_at_startup(server: &Server, loaded: bool) -> Result<(), rewrite::RewriteError> {
    let (on, filename, timestamps) = {
        let config = server.config.read();
        (
            config.get_bool("appendonly"),
            config.get_str("appendfilename"),
            config.get_bool("aof-timestamp-enabled"),
        )
    };
    if !on {
        return Ok(());
    }
    let dir = aof_dir(server);
    std::fs::create_dir_all(&dir)?;
    if loaded {
        if let Some(manifest) = read_manifest(&dir, &filename)? {
            let aof = match manifest.incrs.last() {
                Some(last) => {
                    let size = std::fs::metadata(dir.join(&last.name))?.len();
                    AofWriter::resume(&dir, &filename, manifest, size, timestamps)?
                }
                None => {
                    let aof = AofWriter::start(&dir, &filename, manifest, timestamps)?;
                    writer::persist_manifest(&dir, &filename, &aof.manifest)?;
                    tracing::info!(
                        "Creating AOF incr file {} on server start",
                        aof.position().0
                    );
                    aof
                }
            };
            let mut feed = server.feed.lock();
            feed.aof = Some(aof);
            server.refresh_propagation(&feed);
            server
                .store_position(&feed, 0)
                .map_err(std::io::Error::other)?;
            return Ok(());
        }
    }
    let position = server
        .engine
        .repl_position()
        .map_err(std::io::Error::other)?
        .and_then(|p| p.aof);
    match recover(&dir, &filename, position, timestamps)? {
        Some(aof) => {
            tracing::info!(
                "AOF {} resumed at {} bytes",
                dir.display(),
                aof.current_size()
            );
            let mut feed = server.feed.lock();
            feed.aof = Some(aof);
            server.refresh_propagation(&feed);
            Ok(())
        }
        None => {
            tracing::info!("Creating AOF base file from the data on server start");
            rewrite::rewrite(server)
        }
    }
}

/// `CONFIG SET appendonly yes|no` (Redis's startAppendOnly / stopAppendOnly): turning on starts
/// a rewrite that creates the AOF from the data (writes from then on go to its incr file);
/// turning off writes and syncs what is pending and closes the files.
pub fn turn(server: &Server, on: bool) {
    let running = server.feed.lock().aof.is_some();
    if on && !running {
        if let Err(rewrite::Refused::InProgress) = rewrite::request(server) {
            // A BGREWRITEAOF of the AOF-off kind is running: turn on once it is done.
            server.aof_rewrite.scheduled.store(true, Ordering::SeqCst);
        }
    } else if !on && running {
        let closing = {
            let mut feed = server.feed.lock();
            let closing = feed.aof.take();
            server.refresh_propagation(&feed);
            closing
        };
        if let Some(mut aof) = closing {
            let synced = aof
                .write_pending()
                .and_then(|()| aof.sync_handle())
                .and_then(|file| file.sync_data());
            if let Err(e) = synced {
                tracing::warn!("Closing the AOF: {e}");
            }
        }
    }
}

/// Deletes what an interrupted rewrite left behind (`temp-rewriteaof-*`, a temp manifest).
fn remove_temp_files(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        if name.to_string_lossy().starts_with("temp-") {
            tracing::info!("Removing leftover AOF temp file {}", name.to_string_lossy());
            let _ = std::fs::remove_file(entry.path());
        }
    }
}
