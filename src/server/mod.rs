//! The node at run time: shared state, startup, the listener and the background tasks.
//!
//! Execution model: connections parse requests and encode replies on the tokio runtime's worker
//! threads in parallel; executing a command takes the one execution lock ([`Server::exec`]), so
//! commands are applied one at a time, in one order, exactly like Redis's single thread. A
//! command runs inside one engine transaction that is committed (one RocksDB WriteBatch) before
//! the lock is released, which gives every observer atomic commands and a total write order.

pub mod blocking;
pub mod client;
pub mod connection;
pub mod context;
pub mod cursors;
pub mod dispatch;
pub mod durability;
pub mod expiry;
pub mod logging;
pub mod notify;
pub mod propagate;
pub mod pubsub;
mod startup;
pub mod stats;
pub mod transaction;

use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU32, AtomicU64, Ordering};
use std::time::Instant;

use bytes::Bytes;
use engine::Engine;
use parking_lot::{Mutex, RwLock};
use rustc_hash::FxHashMap;

use crate::commands::table::CommandTable;
use crate::config::Config;
pub use client::{ClientSignals, ClientState, ReplyMode};
pub use context::Ctx;
use durability::Durability;
pub use startup::{random_hex_id, run};
use stats::{CommandStat, ErrorStats, Stats};

/// State protected by the execution lock.
///
/// The maps every command touches (the client lent out and back, its command's statistics) are
/// keyed by values the node makes (client IDs, command names), so they use the fast FxHash
/// rather than a keyed hasher.
#[derive(Default)]
pub struct Shared {
    /// Idle clients; a client executing a command is lent to its connection.
    pub clients: FxHashMap<u64, Box<ClientState>>,
    pub command_stats: FxHashMap<&'static str, CommandStat>,
    pub error_stats: ErrorStats,
    /// Clients receiving the MONITOR feed.
    pub monitors: Vec<u64>,
    /// SCAN cursor numbers → storage positions.
    pub scan_cursors: cursors::CursorMap,
    /// WATCHed keys → watching clients.
    pub watchers: transaction::Watchers,
    /// Pub/Sub channels and patterns → subscribers.
    pub pubsub: pubsub::Registry,
    /// Keys → clients blocked on them.
    pub blocked: blocking::BlockedKeys,
}

impl Shared {
    /// Whether any client watches or is blocked on keys, so commits must report what they
    /// changed.
    pub fn tracks_keys(&self) -> bool {
        !self.watchers.is_empty() || !self.blocked.is_empty()
    }

    /// Drops everything the server keeps about a client that is going away (disconnected or
    /// killed): its watched keys, subscriptions, blocked keys and MONITOR registration, as
    /// Redis's freeClient does.
    pub fn forget_client(&mut self, client: &mut ClientState) {
        self.watchers.unwatch_all(client);
        self.pubsub.forget(client);
        blocking::forget(self, client);
        self.monitors.retain(|m| *m != client.id);
    }
}

/// Values read on every command, cached out of the config so the hot path takes no config lock.
pub struct Tunables {
    pub proto_max_bulk_len: AtomicI64,
    pub query_buffer_limit: AtomicU64,
    pub maxclients: AtomicU64,
    pub timeout_secs: AtomicU64,
    pub active_expire: AtomicBool,
    pub hz: AtomicU64,
    pub requirepass: RwLock<Option<Bytes>>,
    /// `notify-keyspace-events` flags (see [`notify`]).
    pub notify_keyspace_events: AtomicU32,
    /// Hard `client-output-buffer-limit` of pub/sub clients, in bytes (0: none).
    pub pubsub_hard_limit: AtomicU64,
    /// `lazyfree-lazy-expire`: expired keys are propagated as UNLINK instead of DEL.
    pub lazyfree_lazy_expire: AtomicBool,
    /// `lazyfree-lazy-server-del`: implicit deletions (SPOP of a whole set, ...) propagate as
    /// UNLINK.
    pub lazyfree_lazy_server_del: AtomicBool,
    /// `replicaof` is set: the node is a replica (no expiry of its own, read-only rules).
    pub replica: AtomicBool,
    /// `replica-read-only`.
    pub replica_read_only: AtomicBool,
    /// `replica-serve-stale-data`.
    pub replica_serve_stale_data: AtomicBool,
    /// The link with the primary is up (not from the config: `replication::replica` sets it).
    pub primary_link_up: AtomicBool,
    /// `min-replicas-to-write` (0: off) and `min-replicas-max-lag` (seconds).
    pub min_replicas_to_write: AtomicU64,
    pub min_replicas_max_lag: AtomicU64,
}

impl Tunables {
    fn from_config(config: &Config) -> Tunables {
        let pass = config.get_str("requirepass");
        Tunables {
            proto_max_bulk_len: AtomicI64::new(config.get_int("proto-max-bulk-len")),
            query_buffer_limit: AtomicU64::new(
                config.get_int("client-query-buffer-limit").max(0) as u64
            ),
            maxclients: AtomicU64::new(config.get_int("maxclients").max(1) as u64),
            timeout_secs: AtomicU64::new(config.get_int("timeout").max(0) as u64),
            active_expire: AtomicBool::new(true),
            hz: AtomicU64::new(config.get_int("hz").clamp(1, 500) as u64),
            requirepass: RwLock::new((!pass.is_empty()).then(|| Bytes::from(pass))),
            notify_keyspace_events: AtomicU32::new(config.notify_keyspace_events()),
            pubsub_hard_limit: AtomicU64::new(config.pubsub_hard_limit()),
            lazyfree_lazy_expire: AtomicBool::new(config.get_bool("lazyfree-lazy-expire")),
            lazyfree_lazy_server_del: AtomicBool::new(config.get_bool("lazyfree-lazy-server-del")),
            replica: AtomicBool::new(!config.get_str("replicaof").is_empty()),
            replica_read_only: AtomicBool::new(config.get_bool("replica-read-only")),
            replica_serve_stale_data: AtomicBool::new(config.get_bool("replica-serve-stale-data")),
            primary_link_up: AtomicBool::new(false),
            min_replicas_to_write: AtomicU64::new(
                config.get_int("min-replicas-to-write").max(0) as u64
            ),
            min_replicas_max_lag: AtomicU64::new(
                config.get_int("min-replicas-max-lag").max(0) as u64
            ),
        }
    }

    /// Re-reads the cached values after CONFIG SET.
    pub fn refresh(&self, config: &Config) {
        let fresh = Tunables::from_config(config);
        let copy = |to: &AtomicU64, from: &AtomicU64| {
            to.store(from.load(Ordering::Relaxed), Ordering::Relaxed)
        };
        self.proto_max_bulk_len.store(
            fresh.proto_max_bulk_len.load(Ordering::Relaxed),
            Ordering::Relaxed,
        );
        copy(&self.query_buffer_limit, &fresh.query_buffer_limit);
        copy(&self.maxclients, &fresh.maxclients);
        copy(&self.timeout_secs, &fresh.timeout_secs);
        copy(&self.hz, &fresh.hz);
        copy(&self.pubsub_hard_limit, &fresh.pubsub_hard_limit);
        copy(&self.min_replicas_to_write, &fresh.min_replicas_to_write);
        copy(&self.min_replicas_max_lag, &fresh.min_replicas_max_lag);
        self.notify_keyspace_events.store(
            fresh.notify_keyspace_events.load(Ordering::Relaxed),
            Ordering::Relaxed,
        );
        for (to, from) in [
            (&self.lazyfree_lazy_expire, &fresh.lazyfree_lazy_expire),
            (
                &self.lazyfree_lazy_server_del,
                &fresh.lazyfree_lazy_server_del,
            ),
            (&self.replica, &fresh.replica),
            (&self.replica_read_only, &fresh.replica_read_only),
            (
                &self.replica_serve_stale_data,
                &fresh.replica_serve_stale_data,
            ),
        ] {
            to.store(from.load(Ordering::Relaxed), Ordering::Relaxed);
        }
        *self.requirepass.write() = fresh.requirepass.into_inner();
    }
}

/// The whole node.
pub struct Server {
    pub config: RwLock<Config>,
    pub tunables: Tunables,
    pub engine: Engine,
    pub commands: CommandTable,
    /// The execution lock and the state only commands touch.
    pub exec: Mutex<Shared>,
    pub stats: Stats,
    pub durability: Durability,
    pub run_id: String,
    /// `master_repl_offset`: bytes of replication stream produced so far (it only moves once a
    /// replication backlog exists, as in Redis).
    pub repl_offset: AtomicI64,
    pub started: Instant,
    pub next_client_id: AtomicU64,
    pub connected_clients: AtomicU64,
    /// CLIENT PAUSE: Unix ms until which clients are paused (0 = not paused).
    pub pause_until_ms: AtomicI64,
    /// CLIENT PAUSE WRITE: only commands that may write are held.
    pub pause_writes_only: AtomicBool,
    /// Notified when SHUTDOWN asks the node to stop.
    pub shutdown: tokio::sync::Notify,
    /// Notified when BGSAVE asks for a background save (see `persistence::rdb_save`).
    pub bgsave: tokio::sync::Notify,
    /// Where committed writes are propagated (see [`propagate`]).
    pub feed: Mutex<propagate::Feed>,
    /// Whether the feed takes the stream at all ([`propagate::Feed::wanted`], kept up to date by
    /// [`Server::refresh_propagation`]): read by every command without the feed's lock.
    pub propagating: AtomicBool,
    /// AOF rewrite bookkeeping (see `persistence::aof::rewrite`).
    pub aof_rewrite: crate::persistence::aof::RewriteStats,
    /// Notified when a rewrite was requested.
    pub aof_rewrite_wanted: tokio::sync::Notify,
}

impl Server {
    pub fn requires_auth(&self) -> bool {
        self.tunables.requirepass.read().is_some()
    }

    /// Asks the node to stop; the startup task performs the clean shutdown. (NOSAVE/SAVE make
    /// no difference until RDB saving exists: a clean stop always flushes RocksDB.)
    pub fn request_shutdown(&self) {
        // A stored permit: the startup task may not be waiting yet.
        self.shutdown.notify_one();
    }
}

impl Server {
    /// Commits a batch together with what it propagates (`ops`, forming execution units as
    /// `unit` says) and the replication and AOF positions it brings the stream to (when there
    /// is a stream or an AOF), so that after any crash the data says which prefix of the stream
    /// it reflects. With `track` (some client
    /// watches or blocks on keys: [`Shared::tracks_keys`]) it returns the keys the batch
    /// changed, in first-write order, for [`Server::after_commit`] and the blocked clients.
    pub fn commit<'a>(
        &'a self,
        mut txn: engine::Txn<'a>,
        ops: &[propagate::Op],
        unit: propagate::Unit,
        track: bool,
    ) -> Result<Vec<(usize, Vec<u8>, bool)>, engine::EngineError> {
        // A unit that neither wrote nor propagated (MULTI, a read) has nothing to commit and
        // need not take the feed's lock.
        if txn.is_empty() && ops.is_empty() {
            return Ok(Vec::new());
        }
        let changed = if track {
            txn.changed_keys()
        } else {
            Vec::new()
        };
        let mut feed = self.feed.lock();
        let rollback = feed
            .aof
            .as_mut()
            .map(|aof| aof.append(ops, unit, unix_ms() / 1000));
        let stream = feed.repl.encode(ops, unit);
        // The stored position moves only with a sink: with neither an AOF nor a stream, the
        // one stored last still names where the data stands.
        let changes = !txn.is_empty() || !ops.is_empty();
        if stream.is_some() || (changes && feed.aof.is_some()) {
            let offset = self.repl_offset.load(Ordering::SeqCst)
                + stream.as_ref().map_or(0, |s| s.len() as i64);
            txn.set_repl_position(engine::ReplPosition {
                replid: feed.repl.replid.clone(),
                offset,
                aof: feed.aof.as_ref().map(|aof| aof.position()),
                stream_db: feed.repl.follow.as_ref().map(|f| f.db as u64),
            });
        }
        if let Err(e) = txn.commit(false) {
            if let (Some(aof), Some(pending)) = (feed.aof.as_mut(), rollback) {
                aof.rollback(pending);
            }
            feed.repl.forget_selected_db();
            return Err(e);
        }
        if let Some(stream) = stream {
            feed.repl.publish(&stream, &self.repl_offset);
        }
        Ok(changed)
    }

    /// Records whether `feed` takes the stream; called after every change to its sinks.
    pub fn refresh_propagation(&self, feed: &propagate::Feed) {
        self.propagating.store(feed.wanted(), Ordering::SeqCst);
    }

    /// Propagates a command to the replicas only (PINGs, `REPLCONF GETACK *`): no database, not
    /// in the AOF. The new offset is stored with the data. The caller holds the execution lock.
    pub fn propagate_raw(&self, args: &[&[u8]]) {
        let mut feed = self.feed.lock();
        if !feed.repl.active() || feed.repl.following() {
            return;
        }
        let mut bytes = bytes::BytesMut::new();
        formats::resp::encode_command(args, &mut bytes);
        self.publish_stored(&mut feed, bytes.freeze());
    }

    /// Appends bytes to the replication stream with no write of their own, storing the new
    /// offset with the data first. The caller holds the execution lock.
    pub fn publish_stored(&self, feed: &mut propagate::Feed, bytes: Bytes) {
        match self.store_position(feed, bytes.len() as i64) {
            Ok(()) => feed.repl.publish(&bytes, &self.repl_offset),
            Err(e) => tracing::warn!("Can't store the replication position: {e}"),
        }
    }

    /// Stores the stream position `feed` stands at (plus `ahead` bytes about to be published)
    /// in a batch of its own.
    pub fn store_position(
        &self,
        feed: &propagate::Feed,
        ahead: i64,
    ) -> Result<(), engine::EngineError> {
        let mut txn = engine::Txn::new(&self.engine);
        txn.set_repl_position(engine::ReplPosition {
            replid: feed.repl.replid.clone(),
            offset: self.repl_offset.load(Ordering::SeqCst) + ahead,
            aof: feed.aof.as_ref().map(|aof| aof.position()),
            stream_db: feed.repl.follow.as_ref().map(|f| f.db as u64),
        });
        txn.commit(false)
    }

    /// Hands every committed write to the OS: the RocksDB WAL buffer and the AOF's pending
    /// bytes; with `sync`, both are also fsynced (`no-appendfsync-on-rewrite` skips the AOF's
    /// fsync while a rewrite or a BGSAVE runs).
    pub fn flush_logs(&self, sync: bool) -> Result<(), String> {
        let skip_aof_fsync = sync && self.skips_aof_fsync();
        let aof_file = {
            let mut feed = self.feed.lock();
            match feed.aof.as_mut() {
                Some(aof) => {
                    aof.write_pending()
                        .map_err(|e| format!("AOF write failed: {e}"))?;
                    if sync && !skip_aof_fsync {
                        Some(aof.sync_handle().map_err(|e| e.to_string())?)
                    } else {
                        None
                    }
                }
                None => None,
            }
        };
        let wal = if sync {
            self.engine.sync_wal()
        } else {
            self.engine.flush_wal_buffer()
        };
        wal.map_err(|e| format!("WAL write failed: {e}"))?;
        if let Some(file) = aof_file {
            file.sync_data()
                .map_err(|e| format!("AOF fsync failed: {e}"))?;
        }
        Ok(())
    }

    fn skips_aof_fsync(&self) -> bool {
        (self.aof_rewrite.in_progress() || self.stats.bgsave_started_ms.load(Ordering::SeqCst) != 0)
            && self.config.read().get_bool("no-appendfsync-on-rewrite")
    }

    /// What follows every commit, in Redis's order: publish the batch's keyspace `events`, then
    /// mark the WATCHes of the keys it `changed`. `current` is the client whose command it was
    /// (lent out of the registry), if any.
    pub fn after_commit(
        &self,
        shared: &mut Shared,
        mut current: Option<&mut ClientState>,
        changed: &[(usize, Vec<u8>, bool)],
        events: &[notify::Event],
    ) {
        pubsub::publish_keyspace_events(self, shared, current.as_deref(), events);
        for (db, key, exists) in changed {
            transaction::touch(shared, current.as_deref_mut(), *db, key, *exists);
        }
    }
}

/// Milliseconds since the Unix epoch.
pub fn unix_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
