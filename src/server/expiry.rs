//! The active expire cycle.
//!
//! Keys with a TTL are deleted lazily when a command touches them (see `Ctx::lookup_in`) and
//! actively by this cycle, which runs `hz` times per second. Unlike Redis, which samples random
//! keys, rockslot walks the engine's expire index from the oldest deadline, so every expired key
//! is found without scanning live ones. Each run handles at most `KEYS_PER_BATCH` keys per batch
//! and stops after `CYCLE_BUDGET` so that clients are never starved (Redis's fast/slow cycle
//! budget plays the same role). Deletions are counted in `expired_keys`, published as
//! `expired` keyspace events once their batch commits, and propagated as one `DEL` (`UNLINK`
//! with `lazyfree-lazy-expire`) each.
//!
//! Hash fields with their own expire times (Redis 7.4) are reclaimed the same way: the engine
//! indexes each hash by its earliest field expire time, and the cycle walks that index too,
//! deleting the due fields of each hash it finds (the key with its last field) through the hash
//! store, with `hexpired` events, as a command touching the key would, but at most
//! `FIELDS_PER_BATCH` fields of one hash per batch.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use engine::Txn;

use super::context::Ctx;
use super::notify::{self, Event};
use super::propagate::{Op, Unit};
use super::stats::Stats;
use super::{unix_ms, Server};
use crate::commands::hash::store::expire_fields;
use crate::persistence::rdb_save::internal_client;

/// The id of the client the field-expire cycle runs as (never in the client registry).
const FIELD_EXPIRE_CLIENT_ID: u64 = u64::MAX - 3;

const KEYS_PER_BATCH: usize = 200;
/// Hash fields one batch deletes from one hash at most (the rest wait for the next batch).
const FIELDS_PER_BATCH: usize = 10_000;
const CYCLE_BUDGET: Duration = Duration::from_millis(25);

pub async fn run_active_expire(server: Arc<Server>) {
    loop {
        let hz = server.tunables.hz.load(Ordering::Relaxed).max(1);
        tokio::time::sleep(Duration::from_millis(1000 / hz)).await;
        // A replica waits for its primary's DELs.
        if !server.tunables.active_expire.load(Ordering::Relaxed)
            || server.tunables.replica.load(Ordering::Relaxed)
        {
            continue;
        }
        let started = Instant::now();
        while started.elapsed() < CYCLE_BUDGET {
            match expire_batch(&server)
                .and_then(|keys| expire_fields_batch(&server).map(|hashes| keys.max(hashes)))
            {
                Ok(n) if n == KEYS_PER_BATCH => tokio::task::yield_now().await,
                Ok(_) => break,
                Err(e) => {
                    tracing::warn!("active expire cycle: {e}");
                    break;
                }
            }
        }
    }
}

/// Deletes up to one batch of expired keys; returns how many index entries it looked at.
pub fn expire_batch(server: &Server) -> Result<usize, engine::EngineError> {
    let mut shared = server.exec.lock();
    let now = unix_ms();
    let due = server.engine.due_expires(now, KEYS_PER_BATCH)?;
    let mut txn = Txn::new(&server.engine);
    let mut expired = 0;
    let mut events = Vec::new();
    let mut ops = Vec::new();
    let lazy = server.tunables.lazyfree_lazy_expire.load(Ordering::Relaxed);
    for entry in &due {
        let Some(db) = server.engine.logical_db(entry.physical_db) else {
            txn.drop_expire_hint(entry.index_key.clone());
            continue;
        };
        match txn.get(db, &entry.key)? {
            Some(meta) if meta.expire_at_ms == entry.expire_at_ms && meta.is_expired(now) => {
                txn.delete(db, &entry.key)?;
                expired += 1;
                ops.push(Op {
                    db,
                    args: vec![
                        Bytes::from_static(if lazy { b"UNLINK" } else { b"DEL" }),
                        Bytes::copy_from_slice(&entry.key),
                    ],
                });
                events.push(Event {
                    class: notify::EXPIRED,
                    event: "expired",
                    db,
                    key: entry.key.to_vec(),
                });
            }
            // The hint outlived its key (slot dropped, database flushed): clean it up.
            _ => txn.drop_expire_hint(entry.index_key.clone()),
        }
    }
    // Expired keys are gone, so no blocked client can be served from them.
    // Each expired key is a unit of its own in the stream (a DEL, never wrapped in MULTI).
    let changed = server.commit(txn, &ops, Unit::EachOp, shared.tracks_keys())?;
    server.after_commit(&mut shared, None, &changed, &events);
    Stats::bump(&server.stats.expired_keys, expired);
    Stats::bump(&server.stats.dirty, expired);
    Ok(due.len())
}

/// Deletes the due fields of up to one batch of hashes from the field-expire index; returns how
/// many index entries it looked at.
pub fn expire_fields_batch(server: &Server) -> Result<usize, engine::EngineError> {
    let mut shared = server.exec.lock();
    let now = unix_ms();
    let due = server.engine.due_field_expires(now, KEYS_PER_BATCH)?;
    if due.is_empty() {
        return Ok(0);
    }
    let mut client = internal_client(FIELD_EXPIRE_CLIENT_ID);
    let track = shared.tracks_keys();
    let mut ctx = Ctx::new(server, &mut shared, &mut client, now);
    for entry in &due {
        let Some(db) = server.engine.logical_db(entry.physical_db) else {
            ctx.txn.drop_field_expire_hint(entry.index_key.clone());
            continue;
        };
        let meta = match ctx.txn.get(db, &entry.key)? {
            Some(meta) if meta.field_expire_ms == entry.expire_at_ms => meta.clone(),
            // The hint outlived its hash's earliest time (flushed database, dropped slot).
            _ => {
                ctx.txn.drop_field_expire_hint(entry.index_key.clone());
                continue;
            }
        };
        // A key that is itself expired goes with the key expire cycle; the lookup does both.
        let outcome = if meta.is_expired(now) {
            ctx.lookup_in(db, &entry.key).map(|_| ())
        } else {
            expire_fields(&mut ctx, db, &entry.key, meta, FIELDS_PER_BATCH).map(|_| ())
        };
        if let Err(e) = outcome {
            tracing::warn!("active field expiry: {e}");
            ctx.txn.drop_field_expire_hint(entry.index_key.clone());
        }
    }
    let Ctx {
        txn, events, ops, ..
    } = ctx;
    // Each hash's expired fields are an HDEL of their own (and an expired key a DEL).
    let changed = server.commit(txn, &ops, Unit::EachOp, track)?;
    server.after_commit(&mut shared, None, &changed, &events);
    Ok(due.len())
}
