//! Replication, the primary's side: the replication stream, its IDs and offsets, the backlog,
//! and the links of connected replicas (see [`primary`] for the PSYNC protocol).
//!
//! The stream is the node's propagated command stream ([`crate::server::propagate`]) with this
//! sink's own `SELECT` tracking (Redis's `slaveseldb`, forgotten whenever a replica starts a full
//! sync so that the stream after its snapshot begins with a SELECT), plus the PINGs and
//! `REPLCONF GETACK *` the primary adds on its own. As in Redis, no stream is produced and
//! `master_repl_offset` does not move until a backlog exists: the first replica creates it, with
//! a new replication ID (the history before it cannot be served). From then on every byte goes
//! to the backlog ring and to every replica link, and the offset after each write batch is stored
//! in that batch ([`crate::server::Server::commit`]), so after a restart the data says which
//! prefix of the stream it reflects and the node keeps its replication ID and offset.
//!
//! IDs follow PSYNC2: `replid` names the current history, `replid2` the one it continued (after
//! a promotion), valid up to `second_replid_offset`.

pub mod backlog;
pub mod cron;
pub mod link;
pub mod primary;
pub mod replica;

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use bytes::{Bytes, BytesMut};

use crate::server::propagate::{Op, StreamEncoder, Unit};
use backlog::Backlog;
use link::Link;

/// Redis's all-zero replication ID (no second history).
pub const NO_REPLID: &str = "0000000000000000000000000000000000000000";

/// The replication stream's state, kept in the feed (under its lock).
pub struct ReplState {
    pub replid: String,
    pub replid2: String,
    /// Offset up to which `replid2` is valid (-1: none).
    pub second_replid_offset: i64,
    encoder: StreamEncoder,
    pub backlog: Option<Backlog>,
    pub links: Vec<Arc<Link>>,
    /// Hard `client-output-buffer-limit` of replicas, in bytes (0: none).
    pub output_limit: u64,
    /// The primary this node replicates, when it is a replica (see [`replica`]).
    pub follow: Option<replica::Following>,
    /// Woken when `follow` changes (REPLICAOF).
    pub follow_changed: Arc<tokio::sync::Notify>,
    /// Stream bytes received from the primary that the next commit carries, verbatim, to the
    /// backlog and the sub-replicas instead of anything it encodes itself.
    pending_raw: Option<Bytes>,
}

impl ReplState {
    pub fn new(replid: String) -> ReplState {
        ReplState {
            replid,
            replid2: NO_REPLID.to_string(),
            second_replid_offset: -1,
            encoder: StreamEncoder::default(),
            backlog: None,
            links: Vec::new(),
            output_limit: 0,
            follow: None,
            follow_changed: Arc::new(tokio::sync::Notify::new()),
            pending_raw: None,
        }
    }

    /// Whether this node replicates a primary: its stream is the primary's, never its own.
    pub fn following(&self) -> bool {
        self.follow.is_some()
    }

    /// Hands the primary's bytes of the command about to run to the next commit.
    pub fn set_pending_raw(&mut self, bytes: Bytes) {
        self.pending_raw = Some(bytes);
    }

    /// The primary's bytes no commit took (the command wrote nothing and did not commit).
    pub fn take_pending_raw(&mut self) -> Option<Bytes> {
        self.pending_raw.take()
    }

    /// Whether a stream is produced (a backlog exists).
    pub fn active(&self) -> bool {
        self.backlog.is_some()
    }

    /// Encodes a batch's ops for the stream, if one is produced (the bytes are published by
    /// [`ReplState::publish`] once the batch committed).
    pub fn encode(&mut self, ops: &[Op], unit: Unit) -> Option<Bytes> {
        if let Some(raw) = self.pending_raw.take() {
            return Some(raw);
        }
        if !self.active() || ops.is_empty() || self.following() {
            return None;
        }
        let mut out = BytesMut::new();
        self.encoder.encode(ops, unit, &mut out);
        Some(out.freeze())
    }

    /// The encoded batch did not commit: the next op selects its database again.
    pub fn forget_selected_db(&mut self) {
        self.encoder.reset();
    }

    /// Appends stream bytes: the offset moves, the backlog and every replica get them.
    pub fn publish(&mut self, bytes: &Bytes, offset: &AtomicI64) {
        if let Some(backlog) = self.backlog.as_mut() {
            backlog.push(bytes);
            offset.fetch_add(bytes.len() as i64, Ordering::SeqCst);
        }
        let limit = self.output_limit;
        for link in &self.links {
            link.push(bytes, limit);
        }
    }

    /// Creates the backlog if there is none (the first replica arrives): a new replication ID,
    /// no second one, as Redis's syncCommand does.
    pub fn ensure_backlog(&mut self, size: usize, offset: i64) {
        if self.backlog.is_none() {
            self.new_history();
            self.backlog = Some(Backlog::new(size, offset));
            tracing::info!(
                "Replication backlog created, my new replication IDs are '{}' and '{}'",
                self.replid,
                self.replid2
            );
        }
    }

    /// Frees the backlog and starts a new history with no second one (the backlog outlived
    /// `repl-backlog-ttl`, or a full sync from a primary replaces the data): no stream is
    /// produced until a backlog is created again.
    pub fn drop_history(&mut self) {
        self.backlog = None;
        self.new_history();
    }

    /// Redis's changeReplicationId + clearReplicationId2.
    fn new_history(&mut self) {
        self.replid = crate::server::random_hex_id();
        self.replid2 = NO_REPLID.to_string();
        self.second_replid_offset = -1;
    }

    /// CONFIG SET repl-backlog-size.
    pub fn resize_backlog(&mut self, size: usize) {
        if let Some(backlog) = self.backlog.as_mut() {
            if backlog.size() != size {
                *backlog = backlog.resized(size);
            }
        }
    }

    /// Online replicas whose last acknowledgement is at most `max_lag` seconds old
    /// (`min-replicas-to-write`).
    pub fn good_replicas(&self, max_lag: u64) -> u64 {
        let now = crate::server::unix_ms();
        self.links
            .iter()
            .filter(|l| {
                l.state() == link::SyncState::Online
                    && (now - l.ack_time_ms.load(Ordering::Relaxed)) / 1000 <= max_lag as i64
            })
            .count() as u64
    }

    /// Online replicas that acknowledged at least `offset` (WAIT).
    pub fn acknowledged(&self, offset: i64) -> i64 {
        self.links
            .iter()
            .filter(|l| {
                l.state() == link::SyncState::Online
                    && l.ack_offset.load(Ordering::Relaxed) >= offset
            })
            .count() as i64
    }

    pub fn remove_link(&mut self, id: u64) {
        self.links.retain(|l| l.id != id);
    }

    /// Closes every replica link (Redis's disconnectSlaves): they reconnect and PSYNC again.
    pub fn disconnect_replicas(&mut self) {
        for link in self.links.drain(..) {
            link.close();
        }
    }

    /// Redis's shiftReplicationId (a replica is promoted): the current history becomes the
    /// second one, valid up to `offset + 1`, and a new ID starts.
    pub fn shift_replid(&mut self, offset: i64) {
        self.replid2 = std::mem::replace(&mut self.replid, crate::server::random_hex_id());
        self.second_replid_offset = offset + 1;
        tracing::info!(
            "Setting secondary replication ID to {}, valid up to offset: {}. New replication ID is {}",
            self.replid2,
            self.second_replid_offset,
            self.replid
        );
    }
}
