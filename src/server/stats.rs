//! Server-wide counters reported by INFO and reset by CONFIG RESETSTAT.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

/// Counters updated from many tasks; plain atomics so no lock is needed to bump them.
#[derive(Default)]
pub struct Stats {
    pub connections_received: AtomicU64,
    pub commands_processed: AtomicU64,
    pub rejected_connections: AtomicU64,
    pub net_input_bytes: AtomicU64,
    pub net_output_bytes: AtomicU64,
    pub expired_keys: AtomicU64,
    pub keyspace_hits: AtomicU64,
    pub keyspace_misses: AtomicU64,
    pub rejected_calls: AtomicU64,
    pub failed_calls: AtomicU64,
    pub total_error_replies: AtomicU64,
    /// Changes since the last save (INFO `rdb_changes_since_last_save`).
    pub dirty: AtomicU64,
    /// Unix time of the last successful save (LASTSAVE).
    pub last_save_unix: AtomicI64,
    /// Saves done since the start (INFO `rdb_saves`).
    pub rdb_saves: AtomicU64,
    /// When the running BGSAVE started, Unix ms (0: none is running).
    pub bgsave_started_ms: AtomicI64,
    /// Whether the last BGSAVE failed, and how long it took in seconds (-1: none yet).
    pub last_bgsave_failed: std::sync::atomic::AtomicBool,
    pub last_bgsave_secs: AtomicI64,
    /// Full syncs served, partial resyncs accepted and refused (INFO `sync_*`).
    pub sync_full: AtomicU64,
    pub sync_partial_ok: AtomicU64,
    pub sync_partial_err: AtomicU64,
    /// BGSAVE SCHEDULE arrived during an AOF rewrite: it starts when the rewrite ends.
    pub bgsave_scheduled: std::sync::atomic::AtomicBool,
    /// `dirty` when the running save started: what a successful save subtracts.
    pub dirty_at_save_start: AtomicU64,
    /// Keys the startup load of dump.rdb loaded, and skipped as expired.
    pub last_load_keys_loaded: AtomicU64,
    pub last_load_keys_expired: AtomicU64,
}

impl Stats {
    pub fn bump(counter: &AtomicU64, by: u64) {
        counter.fetch_add(by, Ordering::Relaxed);
    }

    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }

    /// CONFIG RESETSTAT: zeroes what Redis's resetServerStats zeroes.
    pub fn reset(&self) {
        for c in [
            &self.connections_received,
            &self.commands_processed,
            &self.rejected_connections,
            &self.net_input_bytes,
            &self.net_output_bytes,
            &self.expired_keys,
            &self.keyspace_hits,
            &self.keyspace_misses,
            &self.rejected_calls,
            &self.failed_calls,
            &self.total_error_replies,
            &self.sync_full,
            &self.sync_partial_ok,
            &self.sync_partial_err,
        ] {
            c.store(0, Ordering::Relaxed);
        }
    }
}

/// Per-command counters (INFO commandstats), kept under the execution lock.
#[derive(Default, Clone)]
pub struct CommandStat {
    pub calls: u64,
    pub usec: u64,
    pub rejected_calls: u64,
    pub failed_calls: u64,
}

/// Per-error-code counters (INFO errorstats), kept under the execution lock.
pub type ErrorStats = HashMap<String, u64>;
