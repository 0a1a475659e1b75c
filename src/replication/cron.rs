//! The primary's once-a-second replication chores, as Redis 7.0's replicationCron does them:
//!
//! - a `PING` into the stream every `repl-ping-replica-period` seconds while replicas are
//!   connected, so that an idle primary still shows its replicas it is alive (they drop a link
//!   silent for `repl-timeout`). A node that is itself a replica adds nothing: its sub-replicas
//!   get its primary's stream, PINGs included;
//! - replicas whose last `REPLCONF ACK` is older than `repl-timeout` are disconnected (they
//!   reconnect and PSYNC); pre-PSYNC replicas (SYNC) never acknowledge and are spared;
//! - after `repl-backlog-ttl` seconds without replicas (0: never), the backlog is freed and the
//!   node takes a new replication ID, so no stale history is offered later.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use super::link::SyncState;
use crate::server::{unix_ms, Server};

/// Runs the chores every second, for the node's lifetime.
pub async fn run(server: Arc<Server>) {
    let mut ticker = tokio::time::interval(Duration::from_secs(1));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut loops: i64 = 0;
    let mut no_replicas_since = unix_ms();
    loop {
        ticker.tick().await;
        let (period, timeout, ttl) = {
            let config = server.config.read();
            (
                config.get_int("repl-ping-replica-period").max(1),
                config.repl_timeout(),
                config.get_int("repl-backlog-ttl"),
            )
        };
        if loops % period == 0 {
            ping_replicas(&server);
        }
        drop_silent_replicas(&server, timeout.as_millis() as i64);
        if server.feed.lock().repl.links.is_empty() {
            if ttl > 0 && unix_ms() - no_replicas_since > ttl * 1000 {
                free_backlog(&server, ttl);
            }
        } else {
            no_replicas_since = unix_ms();
        }
        loops += 1;
    }
}

fn ping_replicas(server: &Server) {
    if server.feed.lock().repl.links.is_empty() {
        return;
    }
    let _exclusive = server.exec.lock();
    server.propagate_raw(&[b"PING"]);
}

fn drop_silent_replicas(server: &Server, timeout_ms: i64) {
    let now = unix_ms();
    let feed = server.feed.lock();
    for link in &feed.repl.links {
        if link.state() == SyncState::Online
            && !link.pre_psync
            && now - link.ack_time_ms.load(Ordering::Relaxed) > timeout_ms
        {
            tracing::warn!(
                "Disconnecting timedout replica (streaming sync): {}:{}",
                link.addr.ip(),
                link.listening_port
            );
            link.close();
        }
    }
}

/// Redis's changeReplicationId + clearReplicationId2 + freeReplicationBacklog, on a primary
/// whose backlog outlived its replicas.
fn free_backlog(server: &Server, ttl: i64) {
    let _exclusive = server.exec.lock();
    let mut feed = server.feed.lock();
    if feed.repl.following() || !feed.repl.links.is_empty() || !feed.repl.active() {
        return;
    }
    feed.repl.drop_history();
    server.refresh_propagation(&feed);
    if let Err(e) = server.store_position(&feed, 0) {
        tracing::warn!("Can't store the replication position: {e}");
    }
    tracing::info!("Replication backlog freed after {ttl} seconds without connected replicas.");
}
