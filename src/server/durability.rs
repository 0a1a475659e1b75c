//! When an acknowledged write is durable: the sync policy of the WAL and the AOF, `appendfsync`.
//!
//! - `always`: a write is synced before its reply is sent. Commits happen without sync under the
//!   execution lock; afterwards each connection waits for a WAL sync that started after its
//!   commit. One sync covers every commit made before it started, so concurrent clients share
//!   fsyncs (group commit) instead of queueing one fsync each.
//! - `everysec`: a background task syncs the WAL once per second.
//! - `no`: the OS decides when the WAL reaches disk.
//!
//! Under every policy the WAL buffer (and the AOF's pending bytes) are handed to the OS before a
//! reply leaves (RocksDB runs with `manual_wal_flush`, and a connection flushes once per batch of
//! pipelined requests), so killing the process never loses an acknowledged write, as with
//! Redis's AOF. The flush first writes the batches committed since the last one, as one RocksDB
//! write (the engine's group commit), so the commands of one event-loop turn share one WAL
//! record as well as one `write` call.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use super::Server;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum FsyncPolicy {
    Always = 0,
    EverySec = 1,
    No = 2,
}

impl FsyncPolicy {
    pub fn parse(text: &str) -> FsyncPolicy {
        match text {
            "always" => FsyncPolicy::Always,
            "no" => FsyncPolicy::No,
            _ => FsyncPolicy::EverySec,
        }
    }
}

/// Group-commit state.
pub struct Durability {
    policy: AtomicU8,
    /// Sequence number of the last commit (bumped under the execution lock).
    committed: AtomicU64,
    /// Highest commit sequence known to be synced.
    synced_tx: watch::Sender<u64>,
    /// Highest commit sequence known to be handed to the OS.
    flushed: AtomicU64,
    syncing: AtomicBool,
}

impl Durability {
    pub fn new(policy: FsyncPolicy) -> Durability {
        Durability {
            policy: AtomicU8::new(policy as u8),
            committed: AtomicU64::new(0),
            synced_tx: watch::channel(0).0,
            flushed: AtomicU64::new(0),
            syncing: AtomicBool::new(false),
        }
    }

    pub fn policy(&self) -> FsyncPolicy {
        match self.policy.load(Ordering::Relaxed) {
            0 => FsyncPolicy::Always,
            2 => FsyncPolicy::No,
            _ => FsyncPolicy::EverySec,
        }
    }

    pub fn set_policy(&self, policy: FsyncPolicy) {
        self.policy.store(policy as u8, Ordering::Relaxed);
    }

    /// Records a commit; returns its sequence number.
    pub fn committed(&self) -> u64 {
        self.committed.fetch_add(1, Ordering::SeqCst) + 1
    }

    /// Makes commit `seq` as durable as the policy promises before its reply is sent: on disk
    /// with `always`, handed to the OS otherwise (so that kill -9 loses nothing acknowledged).
    pub async fn make_durable(server: &Arc<Server>, seq: u64) {
        let this = &server.durability;
        if this.policy() == FsyncPolicy::Always {
            Durability::wait_synced(server, seq).await;
            return;
        }
        // Let the other connections that are ready run first: their commits join the WAL buffer
        // and one write covers them all, as Redis's one AOF write per event-loop turn does.
        tokio::task::yield_now().await;
        if this.flushed.load(Ordering::SeqCst) >= seq {
            return;
        }
        // Every commit up to `target` is in the WAL buffer before the flush starts.
        let target = this.committed.load(Ordering::SeqCst);
        match server.flush_logs(false) {
            Ok(()) => {
                this.flushed.fetch_max(target, Ordering::SeqCst);
            }
            Err(e) => tracing::error!("{e}"),
        }
    }

    /// Waits until commit `seq` is synced to disk, syncing if nobody else is.
    async fn wait_synced(server: &Arc<Server>, seq: u64) {
        let this = &server.durability;
        let mut rx = this.synced_tx.subscribe();
        loop {
            if *rx.borrow_and_update() >= seq {
                return;
            }
            if this
                .syncing
                .compare_exchange(false, true, Ordering::SeqCst, Ordering::SeqCst)
                .is_ok()
            {
                let target = this.committed.load(Ordering::SeqCst);
                let engine_owner = Arc::clone(server);
                let result =
                    tokio::task::spawn_blocking(move || engine_owner.flush_logs(true)).await;
                match result {
                    Ok(Ok(())) => {
                        this.synced_tx.send_if_modified(|synced| {
                            let advanced = target > *synced;
                            *synced = (*synced).max(target);
                            advanced
                        });
                    }
                    Ok(Err(e)) => tracing::error!("{e}"),
                    Err(e) => tracing::error!("WAL sync task failed: {e}"),
                }
                this.syncing.store(false, Ordering::SeqCst);
                // Wake waiters that raced with the end of this sync so one of them starts the next.
                this.synced_tx.send_modify(|_| {});
            } else if rx.changed().await.is_err() {
                return;
            }
        }
    }

    /// The `everysec` background sync.
    pub async fn run_everysec(server: Arc<Server>) {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        loop {
            tick.tick().await;
            // `always` and `no` need no timer for syncing, but what the active expire cycle
            // committed still reaches the OS within a second.
            let sync = server.durability.policy() == FsyncPolicy::EverySec;
            let owner = Arc::clone(&server);
            if let Ok(Err(e)) = tokio::task::spawn_blocking(move || owner.flush_logs(sync)).await {
                tracing::error!("background sync failed: {e}");
            }
        }
    }
}
