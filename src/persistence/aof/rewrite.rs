//! AOF rewrite: a new base from a RocksDB snapshot while writes go on (BGREWRITEAOF, the
//! `auto-aof-rewrite-*` trigger, `CONFIG SET appendonly yes`, and the rebuild at boot).
//!
//! 1. Under the execution lock: switch the stream to a new incr file and take a snapshot, so the
//!    snapshot holds exactly what the files before the new incr file describe. When the AOF is
//!    being turned on, the new incr file starts an AOF whose manifest is only persisted at step
//!    3 (the old files on disk, if any, are stale).
//! 2. Off the command path: write the snapshot as an RDB with the `aof-base` aux field to
//!    `temp-rewriteaof-bg-<pid>.aof`, sync it, rename it to the next `.base.rdb` name.
//! 3. Under the feed lock: the manifest becomes {new base, incr files from step 1 on}; it is
//!    persisted atomically, then the superseded files are deleted (unless `aof-disable-auto-gc`).
//!
//! The base is an RDB file (`.base.rdb`) with `aof-use-rdb-preamble yes`, the default; with
//! `no` it is the commands that rebuild the dataset (`.base.aof`), made by running that RDB
//! through the RDB loader's replay in writing mode (the same commands a load would execute).

use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

use formats::aof::manifest::{base_name, AofFile, FileKind, Manifest};

use super::writer::{persist_manifest, AofWriter};
use super::{aof_dir, read_manifest};
use crate::persistence::rdb_load::rdb_to_commands;
use crate::persistence::rdb_save::{save_snapshot, SaveError};
use crate::server::{unix_ms, Server};

/// Why BGREWRITEAOF did not start now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    InProgress,
    /// A BGSAVE runs: the rewrite starts when it ends (Redis's `aof_rewrite_scheduled`).
    Scheduled,
}

/// Asks the background rewriter to run. Called by BGREWRITEAOF and the auto-rewrite trigger.
pub fn request(server: &Server) -> Result<(), Refused> {
    let stats = &server.aof_rewrite;
    if stats.in_progress() {
        return Err(Refused::InProgress);
    }
    if server.stats.bgsave_started_ms.load(Ordering::SeqCst) != 0 {
        stats.scheduled.store(true, Ordering::SeqCst);
        return Err(Refused::Scheduled);
    }
    if stats
        .started_ms
        .compare_exchange(0, unix_ms().max(1), Ordering::SeqCst, Ordering::SeqCst)
        .is_err()
    {
        return Err(Refused::InProgress);
    }
    tracing::info!("Background append only file rewriting started");
    server.aof_rewrite_wanted.notify_one();
    Ok(())
}

/// The background rewriter task; also starts scheduled rewrites once a BGSAVE ended and runs
/// the `auto-aof-rewrite-*` trigger, once a second, as Redis's serverCron.
pub async fn run_rewrites(server: Arc<Server>) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
    loop {
        tokio::select! {
            _ = server.aof_rewrite_wanted.notified() => {}
            _ = tick.tick() => {
                start_due_rewrite(&server);
                continue;
            }
        }
        let owner = Arc::clone(&server);
        let started = Instant::now();
        let result = tokio::task::spawn_blocking(move || rewrite(&owner)).await;
        let stats = &server.aof_rewrite;
        stats
            .last_secs
            .store(started.elapsed().as_secs() as i64, Ordering::Relaxed);
        match result {
            Ok(Ok(())) => {
                stats.last_failed.store(false, Ordering::Relaxed);
                stats.consecutive_failures.store(0, Ordering::Relaxed);
                stats.rewrites.fetch_add(1, Ordering::Relaxed);
                tracing::info!("Background AOF rewrite finished successfully");
            }
            Ok(Err(e)) => {
                stats.last_failed.store(true, Ordering::Relaxed);
                stats.consecutive_failures.fetch_add(1, Ordering::Relaxed);
                tracing::warn!("Background AOF rewrite failed: {e}");
            }
            Err(e) => {
                stats.last_failed.store(true, Ordering::Relaxed);
                tracing::warn!("Background AOF rewrite task failed: {e}");
            }
        }
        stats.started_ms.store(0, Ordering::SeqCst);
        if server.stats.bgsave_scheduled.swap(false, Ordering::SeqCst) {
            crate::persistence::rdb_save::request_background_save(&server);
        }
    }
}

/// Starts a scheduled rewrite whose BGSAVE ended, or one the growth of the AOF calls for.
fn start_due_rewrite(server: &Server) {
    let stats = &server.aof_rewrite;
    if stats.in_progress() || server.stats.bgsave_started_ms.load(Ordering::SeqCst) != 0 {
        return;
    }
    if stats.scheduled.swap(false, Ordering::SeqCst) {
        let _ = request(server);
        return;
    }
    let (percentage, min_size) = {
        let config = server.config.read();
        (
            config.get_int("auto-aof-rewrite-percentage"),
            config.get_int("auto-aof-rewrite-min-size").max(0) as u64,
        )
    };
    let sizes = server
        .feed
        .lock()
        .aof
        .as_ref()
        .map(|aof| (aof.current_size(), aof.base_size));
    let Some((current, base)) = sizes else {
        return;
    };
    if percentage <= 0 || current <= min_size {
        return;
    }
    let base = base.max(1);
    let growth = (current * 100 / base).saturating_sub(100);
    if growth >= percentage as u64 {
        tracing::info!("Starting automatic rewriting of AOF on {growth}% growth");
        let _ = request(server);
    }
}

/// Error of one rewrite.
#[derive(Debug, thiserror::Error)]
pub enum RewriteError {
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("{0}")]
    Save(#[from] SaveError),
    #[error("the AOF was turned off during the rewrite")]
    TurnedOff,
}

/// One whole rewrite (steps 1-3 of the module notes), in the calling thread.
pub fn rewrite(server: &Server) -> Result<(), RewriteError> {
    let dir = aof_dir(server);
    std::fs::create_dir_all(&dir)?;
    let (filename, timestamps, turned_on, auto_gc, preamble) = {
        let config = server.config.read();
        (
            config.get_str("appendfilename"),
            config.get_bool("aof-timestamp-enabled"),
            config.get_bool("appendonly"),
            !config.get_bool("aof-disable-auto-gc"),
            config.get_bool("aof-use-rdb-preamble"),
        )
    };

    // Step 1: a new incr file and the snapshot, at one instant of the stream.
    let shared = server.exec.lock();
    let mut feed = server.feed.lock();
    let (manifest, incr_seq, detached) = match feed.aof.as_mut() {
        Some(aof) => {
            let seq = aof.open_next_incr()?;
            (aof.manifest.clone(), seq, None)
        }
        None => {
            let on_disk = read_manifest(&dir, &filename)?.unwrap_or_default();
            let aof = AofWriter::start(&dir, &filename, on_disk, timestamps)?;
            let manifest = aof.manifest.clone();
            let seq = aof.position().0;
            if turned_on {
                feed.aof = Some(aof);
                server.refresh_propagation(&feed);
                (manifest, seq, None)
            } else {
                // BGREWRITEAOF with the AOF off: a base and an empty incr file, nothing appended.
                (manifest, seq, Some(aof))
            }
        }
    };
    let snapshot = server.engine.snapshot().map_err(SaveError::from)?;
    drop(feed);
    drop(shared);

    // Step 2: the base, an RDB file, or with `aof-use-rdb-preamble no` the commands it holds.
    let base_seq = manifest.next_base_seq();
    let name = base_name(&filename, base_seq, preamble);
    let temp = dir.join(format!("temp-rewriteaof-bg-{}.aof", std::process::id()));
    let mut report = save_snapshot(server, &snapshot, &temp, &dir.join(&name), true)?;
    drop(snapshot);
    if !preamble {
        let rdb = dir.join(format!("temp-rewriteaof-bg-{}.rdb", std::process::id()));
        std::fs::rename(dir.join(&name), &rdb)?;
        let mut shared = crate::server::Shared::default();
        let converted = rdb_to_commands(server, &mut shared, &rdb, &temp);
        let _ = std::fs::remove_file(&rdb);
        converted.map_err(|e| RewriteError::Io(std::io::Error::other(e)))?;
        std::fs::rename(&temp, dir.join(&name))?;
        std::fs::File::open(&dir)?.sync_all()?;
        report.bytes = std::fs::metadata(dir.join(&name))?.len();
    }
    tracing::info!(
        "Successfully created the temporary AOF base file {name} ({} keys)",
        report.keys
    );

    // Step 3: switch the manifest.
    let mut feed = server.feed.lock();
    let current = match (detached.is_some(), feed.aof.as_ref()) {
        (true, _) => detached.as_ref().map(|aof| aof.manifest.clone()),
        (false, Some(aof)) => Some(aof.manifest.clone()),
        (false, None) => None,
    };
    let Some(current) = current else {
        let _ = std::fs::remove_file(dir.join(&name));
        return Err(RewriteError::TurnedOff);
    };
    let switched = switch_manifest(&current, name, base_seq, incr_seq);
    persist_manifest(&dir, &filename, &switched)?;
    let mut kept = switched.clone();
    if auto_gc {
        delete_history(&dir, &switched);
        kept.history.clear();
        persist_manifest(&dir, &filename, &kept)?;
    }
    if detached.is_none() {
        if let Some(aof) = feed.aof.as_mut() {
            aof.rewrite_done(kept, report.bytes);
        }
    }
    Ok(())
}

/// The manifest after a rewrite: the new base, the files it supersedes as history, the incr
/// files from `incr_seq` on.
fn switch_manifest(current: &Manifest, base: String, base_seq: u64, incr_seq: u64) -> Manifest {
    let mut history = current.history.clone();
    let as_history = |f: &AofFile| AofFile {
        kind: FileKind::History,
        ..f.clone()
    };
    history.extend(current.base.iter().map(as_history));
    let (old, kept): (Vec<&AofFile>, Vec<&AofFile>) =
        current.incrs.iter().partition(|f| f.seq < incr_seq);
    history.extend(old.into_iter().map(as_history));
    Manifest {
        base: Some(AofFile {
            name: base,
            seq: base_seq,
            kind: FileKind::Base,
        }),
        history,
        incrs: kept.into_iter().cloned().collect(),
    }
}

fn delete_history(dir: &Path, manifest: &Manifest) {
    for file in &manifest.history {
        match std::fs::remove_file(dir.join(&file.name)) {
            Ok(()) => tracing::info!("Removing the history file {} in the background", file.name),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => tracing::warn!("Can't remove the AOF history file {}: {e}", file.name),
        }
    }
}
