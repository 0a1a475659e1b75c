//! Replication, the replica's side: following a primary as a Redis 7.0 replica does.
//!
//! `REPLICAOF host port` (or `replicaof` in the config) sets [`Following`]; one background task
//! ([`run`]) keeps a link with that primary, reconnecting a second after any failure:
//! 1. the handshake, each step waiting for its reply as Redis's syncWithMaster does: `PING`
//!    (`-NOAUTH` is a fine answer), `AUTH [masteruser] masterauth` when configured,
//!    `REPLCONF listening-port <port>`, `REPLCONF capa eof capa psync2`, then
//!    `PSYNC <replid> <offset + 1>` when the node has a history (a backlog: it replicated, was a
//!    primary with replicas, or restarted with a stored position), `PSYNC ? -1` otherwise;
//! 2. `+FULLRESYNC <replid> <offset>`: the RDB follows, framed `$<length>\r\n` (from disk) or
//!    `$EOF:<40-byte mark>\r\n ... <mark>` (diskless), after newline keep-alives. It is spooled
//!    to a temporary file (memory stays bounded), then, under the execution lock, the dataset is
//!    emptied and the file loaded by the RDB loader; the node adopts the primary's ID and
//!    offset, and a fresh backlog starts there. Sub-replicas are disconnected first (their
//!    history is gone). While the load runs the stored position names no history, so a crash
//!    mid-load forces a full sync next time;
//! 3. `+CONTINUE [<replid>]`: the data is kept; a new ID is adopted with the old one becoming
//!    `replid2`, valid up to offset + 1 (PSYNC2), and sub-replicas reconnect to learn it.
//!
//! Then the stream: each command is executed by the dispatcher as the primary client
//! (`ClientType::Primary`, replies discarded, exempt from `replica-read-only`), its writes go to
//! this node's AOF, and the bytes it arrived as go verbatim, with the same commit, to this node's
//! backlog and sub-replicas (Redis's replicationFeedStreamFromMasterStream), so
//! `master_repl_offset` stays the primary's and is stored with the data it reflects. A MULTI
//! block's bytes are held until its EXEC, as Redis does. `REPLCONF GETACK` is answered with
//! `REPLCONF ACK <offset before it>`; an ACK also goes every second and right after a full sync
//! (a diskless primary sends nothing until it). The transfer and the load are in [`transfer`],
//! applying the stream in [`stream`].

mod stream;
mod transfer;

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use formats::resp::encode_command;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::backlog::Backlog;
use crate::server::client::{ClientSignals, ClientState, ClientType};
use crate::server::{unix_ms, Server, Shared};
use stream::apply_stream;
use transfer::{install_rdb, receive_rdb};

/// Length of the mark around a diskless transfer.
const EOF_MARK_LEN: usize = 40;
/// Longest handshake line accepted from a primary.
const MAX_LINE: usize = 64 * 1024;

/// The link's state, as ROLE and INFO name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkState {
    Connect,
    Connecting,
    Handshake,
    /// Receiving the RDB (`master_sync_in_progress:1`).
    Transfer,
    Connected,
}

impl LinkState {
    /// ROLE's state name.
    pub fn name(self) -> &'static str {
        match self {
            LinkState::Connect => "connect",
            LinkState::Connecting => "connecting",
            LinkState::Handshake => "handshake",
            LinkState::Transfer => "sync",
            LinkState::Connected => "connected",
        }
    }
}

/// The primary this node follows and how the link with it stands.
#[derive(Debug, Clone)]
pub struct Following {
    pub host: String,
    pub port: u16,
    /// Changes with every REPLICAOF, so a link task of an earlier primary stands down.
    pub generation: u64,
    pub state: LinkState,
    /// The primary client, while the link is up.
    pub client_id: Option<u64>,
    /// The database the primary's stream last selected (kept across reconnections, as Redis's
    /// cached master keeps its db).
    pub db: usize,
    /// Unix ms of the last bytes read from the primary.
    pub last_io_ms: i64,
    /// Unix ms the link went down (0: never up).
    pub down_since_ms: i64,
    /// Bytes read from the primary and not yet applied (`slave_read_repl_offset` minus the
    /// applied offset).
    pub unapplied: i64,
    /// Size of the RDB being received (-1: unknown, diskless) and bytes received so far.
    pub transfer_size: i64,
    pub transfer_read: i64,
}

/// Makes this node a replica of `host:port` (REPLICAOF, or `replicaof` at startup). The caller
/// holds the execution lock. The node's data and history stay: its first PSYNC offers them.
pub fn set_primary(server: &Server, shared: &mut Shared, host: String, port: u16) {
    drop_primary_client(server, shared);
    let mut feed = server.feed.lock();
    let generation = feed.repl.follow.as_ref().map_or(1, |f| f.generation + 1);
    tracing::info!("Connecting to MASTER {host}:{port}");
    feed.repl.follow = Some(Following {
        host,
        port,
        generation,
        state: LinkState::Connect,
        client_id: None,
        db: 0,
        last_io_ms: 0,
        down_since_ms: 0,
        unapplied: 0,
        transfer_size: -1,
        transfer_read: 0,
    });
    server
        .tunables
        .primary_link_up
        .store(false, Ordering::SeqCst);
    feed.repl.follow_changed.notify_one();
}

/// REPLICAOF NO ONE: stops following, keeps the data, and starts a new history that continues
/// the old one (Redis's replicationUnsetMaster: shiftReplicationId, then sub-replicas reconnect
/// and continue from the backlog). The caller holds the execution lock.
pub fn promote(server: &Server, shared: &mut Shared) {
    drop_primary_client(server, shared);
    let mut feed = server.feed.lock();
    if feed.repl.follow.take().is_none() {
        return;
    }
    feed.repl.follow_changed.notify_one();
    server
        .tunables
        .primary_link_up
        .store(false, Ordering::SeqCst);
    let offset = server.repl_offset.load(Ordering::SeqCst);
    feed.repl.shift_replid(offset);
    ensure_backlog_at(server, &mut feed.repl, offset);
    server.refresh_propagation(&feed);
    feed.repl.forget_selected_db();
    feed.repl.disconnect_replicas();
    server.publish_stored(&mut feed, Bytes::new());
    tracing::info!("MASTER MODE enabled (user request from REPLICAOF NO ONE)");
}

/// The database a full sync's RDB tells a sub-replica the stream has selected
/// (`repl-stream-db`): the primary client's on a replica, none selected (0) on a primary.
pub fn stream_db(feed: &super::ReplState, shared: &Shared) -> i64 {
    feed.follow
        .as_ref()
        .and_then(|f| f.client_id)
        .and_then(|id| shared.clients.get(&id))
        .map_or(0, |c| c.db as i64)
}

/// Keeps a link with the primary named by `follow`, for the node's lifetime.
pub async fn run(server: Arc<Server>) {
    let configured = server.config.read().get_str("replicaof");
    if let Some((host, port)) = configured.split_once(' ') {
        if let Ok(port) = port.parse::<u16>() {
            let mut shared = server.exec.lock();
            set_primary(&server, &mut shared, host.to_string(), port);
        }
    }
    {
        // A node restarted with a stored position offers it (PSYNC <replid> <offset + 1>).
        let stored = server.engine.repl_position().ok().flatten();
        let mut feed = server.feed.lock();
        if let (Some(position), Some(follow)) = (stored, feed.repl.follow.as_mut()) {
            follow.db = position.stream_db.unwrap_or(0) as usize;
            ensure_backlog_at(&server, &mut feed.repl, position.offset);
        }
        server.refresh_propagation(&feed);
    }
    let changed = Arc::clone(&server.feed.lock().repl.follow_changed);
    loop {
        let target = server
            .feed
            .lock()
            .repl
            .follow
            .as_ref()
            .map(|f| (f.host.clone(), f.port, f.generation));
        let Some((host, port, generation)) = target else {
            changed.notified().await;
            continue;
        };
        tokio::select! {
            _ = keep_link(&server, &host, port, generation) => {}
            _ = changed.notified() => {}
        }
    }
}

/// Connects, syncs and applies the stream; after a failure waits a second and starts over.
async fn keep_link(server: &Arc<Server>, host: &str, port: u16, generation: u64) {
    loop {
        set_state(server, generation, LinkState::Connecting);
        if let Err(e) = link_once(server, host, port, generation).await {
            tracing::warn!("Replication with MASTER {host}:{port}: {e}");
        }
        {
            let mut shared = server.exec.lock();
            if current(server, generation) {
                drop_primary_client(server, &mut shared);
                set_state(server, generation, LinkState::Connect);
            }
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// Whether `generation` is still the primary to follow.
fn current(server: &Server, generation: u64) -> bool {
    follows(&server.feed.lock().repl, generation)
}

fn follows(repl: &super::ReplState, generation: u64) -> bool {
    repl.follow
        .as_ref()
        .is_some_and(|f| f.generation == generation)
}

/// The link's state of generation `generation` (`None` once REPLICAOF replaced it).
fn follow_of(repl: &mut super::ReplState, generation: u64) -> Option<&mut Following> {
    repl.follow.as_mut().filter(|f| f.generation == generation)
}

fn set_state(server: &Server, generation: u64, state: LinkState) {
    let mut feed = server.feed.lock();
    if let Some(f) = follow_of(&mut feed.repl, generation) {
        f.state = state;
        if state == LinkState::Connecting && f.down_since_ms == 0 {
            f.down_since_ms = unix_ms();
        }
    }
}

/// Why a link ended.
#[derive(Debug, thiserror::Error)]
enum LinkError {
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("{0}")]
    Primary(String),
}

fn primary_error(text: impl Into<String>) -> LinkError {
    LinkError::Primary(text.into())
}

/// The connection with the primary: the socket and what was read and not yet consumed.
struct Conn {
    stream: TcpStream,
    input: BytesMut,
    /// `repl-timeout`: the longest the primary may stay silent.
    timeout: Duration,
}

impl Conn {
    /// Reads more, failing as Redis does when the primary sends nothing for `repl-timeout`
    /// (during the handshake and the transfer; the stream checks its own silence).
    async fn fill(&mut self) -> Result<(), LinkError> {
        let read = tokio::time::timeout(self.timeout, self.stream.read_buf(&mut self.input)).await;
        match read {
            Err(_) => Err(primary_error(
                "Timeout connecting to the MASTER... (no data for repl-timeout)",
            )),
            Ok(Ok(0)) => Err(primary_error("the primary closed the connection")),
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(e.into()),
        }
    }

    /// One `\r\n`-terminated line (without it); `skip_empty` skips the newlines a primary sends
    /// as keep-alives while it prepares the RDB.
    async fn line(&mut self, skip_empty: bool) -> Result<String, LinkError> {
        loop {
            if let Some(at) = self.input.iter().position(|&b| b == b'\n') {
                let line = self.input.split_to(at + 1);
                let text = String::from_utf8_lossy(&line[..at])
                    .trim_end_matches('\r')
                    .to_string();
                if text.is_empty() && skip_empty {
                    continue;
                }
                return Ok(text);
            }
            if self.input.len() > MAX_LINE {
                return Err(primary_error("line too long from the primary"));
            }
            self.fill().await?;
        }
    }

    async fn command(&mut self, args: &[&[u8]]) -> Result<(), LinkError> {
        let mut out = BytesMut::new();
        encode_command(args, &mut out);
        self.stream.write_all(&out).await?;
        Ok(())
    }
}

/// One life of the link: handshake, sync, stream.
async fn link_once(
    server: &Arc<Server>,
    host: &str,
    port: u16,
    generation: u64,
) -> Result<(), LinkError> {
    let stream = TcpStream::connect((host, port)).await?;
    stream.set_nodelay(true)?;
    tracing::info!("MASTER <-> REPLICA sync started");
    set_state(server, generation, LinkState::Handshake);
    let mut conn = Conn {
        stream,
        input: BytesMut::new(),
        timeout: server.config.read().repl_timeout(),
    };
    handshake(server, &mut conn).await?;
    let (replid, offset) = psync_offer(server);
    tracing::info!("Trying a partial resynchronization (request {replid}:{offset}).");
    conn.command(&[b"PSYNC", replid.as_bytes(), offset.to_string().as_bytes()])
        .await?;
    let reply = conn.line(true).await?;
    if let Some(rest) = reply.strip_prefix("+FULLRESYNC") {
        let mut parts = rest.split_whitespace();
        let (Some(id), Some(Ok(offset))) = (parts.next(), parts.next().map(str::parse::<i64>))
        else {
            return Err(primary_error(format!("bad FULLRESYNC reply: {reply}")));
        };
        tracing::info!("Full resync from master: {id}:{offset}");
        let path = receive_rdb(server, &mut conn, generation).await?;
        let installed = {
            let owner = Arc::clone(server);
            let id = id.to_string();
            let path = path.clone();
            tokio::task::spawn_blocking(move || install_rdb(&owner, &path, &id, offset, generation))
                .await
        };
        let _ = std::fs::remove_file(&path);
        match installed {
            Ok(Ok(true)) => {}
            Ok(Ok(false)) => return Ok(()),
            Ok(Err(e)) => return Err(e),
            Err(e) => return Err(primary_error(e.to_string())),
        }
    } else if let Some(rest) = reply.strip_prefix("+CONTINUE") {
        tracing::info!("Successful partial resynchronization with master.");
        if !continue_history(server, rest.trim(), generation) {
            return Ok(());
        }
    } else {
        return Err(primary_error(format!(
            "unexpected reply to PSYNC from master: {reply}"
        )));
    }
    let Some((client_id, signals)) = register_primary_client(server, &conn.stream, generation)
    else {
        return Ok(());
    };
    tracing::info!("MASTER <-> REPLICA sync: Finished with success");
    let result = tokio::select! {
        streamed = apply_stream(server, &mut conn, client_id, generation) => streamed,
        _ = signals.kill.notified() => Ok(()),
    };
    result
}

/// PING, AUTH, REPLCONF listening-port and capa, each answered before the next.
async fn handshake(server: &Server, conn: &mut Conn) -> Result<(), LinkError> {
    conn.command(&[b"PING"]).await?;
    let pong = conn.line(false).await?;
    if pong.starts_with('-')
        && !pong.starts_with("-NOAUTH")
        && !pong.starts_with("-NOPERM")
        && !pong.starts_with("-ERR operation not permitted")
    {
        return Err(primary_error(format!(
            "Error reply to PING from master: '{pong}'"
        )));
    }
    let (user, pass, listening_port) = {
        let config = server.config.read();
        (
            config.get_str("masteruser"),
            config.get_str("masterauth"),
            config.get_int("port"),
        )
    };
    if !pass.is_empty() {
        if user.is_empty() {
            conn.command(&[b"AUTH", pass.as_bytes()]).await?;
        } else {
            conn.command(&[b"AUTH", user.as_bytes(), pass.as_bytes()])
                .await?;
        }
        let reply = conn.line(false).await?;
        if reply.starts_with('-') {
            return Err(primary_error(format!("Unable to AUTH to MASTER: {reply}")));
        }
    }
    conn.command(&[
        b"REPLCONF",
        b"listening-port",
        listening_port.to_string().as_bytes(),
    ])
    .await?;
    let reply = conn.line(false).await?;
    if reply.starts_with('-') {
        tracing::info!(
            "(Non critical) Master does not understand REPLCONF listening-port: {reply}"
        );
    }
    conn.command(&[b"REPLCONF", b"capa", b"eof", b"capa", b"psync2"])
        .await?;
    let reply = conn.line(false).await?;
    if reply.starts_with('-') {
        tracing::info!("(Non critical) Master does not understand REPLCONF capa: {reply}");
    }
    Ok(())
}

/// What PSYNC asks for: this node's history (ID and offset + 1) when it has one (a backlog),
/// `? -1` otherwise.
fn psync_offer(server: &Server) -> (String, i64) {
    let feed = server.feed.lock();
    if feed.repl.backlog.is_some() {
        (
            feed.repl.replid.clone(),
            server.repl_offset.load(Ordering::SeqCst) + 1,
        )
    } else {
        ("?".to_string(), -1)
    }
}

/// A backlog starting at `offset`, unless there is one.
fn ensure_backlog_at(server: &Server, repl: &mut super::ReplState, offset: i64) {
    if repl.backlog.is_none() {
        let size = server.config.read().repl_backlog_size();
        repl.backlog = Some(Backlog::new(size, offset));
    }
}

/// `+CONTINUE [<replid>]`: a new ID moves the current one to `replid2` (valid up to our offset
/// + 1) and disconnects sub-replicas so they learn it. False when the node stopped following.
fn continue_history(server: &Server, new_id: &str, generation: u64) -> bool {
    let _exclusive = server.exec.lock();
    let mut feed = server.feed.lock();
    if !follows(&feed.repl, generation) {
        return false;
    }
    let offset = server.repl_offset.load(Ordering::SeqCst);
    if !new_id.is_empty() && new_id != feed.repl.replid {
        feed.repl.replid2 = std::mem::replace(&mut feed.repl.replid, new_id.to_string());
        feed.repl.second_replid_offset = offset + 1;
        tracing::info!(
            "Master replication ID changed to {new_id}; previous ID {} valid up to offset {}",
            feed.repl.replid2,
            offset + 1
        );
        feed.repl.disconnect_replicas();
    }
    ensure_backlog_at(server, &mut feed.repl, offset);
    server.refresh_propagation(&feed);
    server.publish_stored(&mut feed, Bytes::new());
    true
}

/// Registers the primary client (CLIENT LIST flag `M`, CLIENT KILL TYPE master) and marks the
/// link up; `None` when the node stopped following meanwhile.
fn register_primary_client(
    server: &Server,
    stream: &TcpStream,
    generation: u64,
) -> Option<(u64, Arc<ClientSignals>)> {
    use std::os::fd::AsRawFd;
    let mut shared = server.exec.lock();
    let mut feed = server.feed.lock();
    let follow = follow_of(&mut feed.repl, generation)?;
    let id = server.next_client_id.fetch_add(1, Ordering::SeqCst) + 1;
    let (push, _) = tokio::sync::mpsc::channel(1);
    let signals = Arc::new(ClientSignals::new(push));
    let unknown = std::net::SocketAddr::from(([0, 0, 0, 0], 0));
    let mut client = ClientState::new(
        id,
        stream.peer_addr().unwrap_or(unknown),
        stream.local_addr().unwrap_or(unknown),
        stream.as_raw_fd(),
        Arc::clone(&signals),
    );
    client.authenticated = true;
    client.client_type = ClientType::Primary;
    client.db = follow.db;
    shared.clients.insert(id, Box::new(client));
    follow.client_id = Some(id);
    follow.state = LinkState::Connected;
    follow.down_since_ms = 0;
    follow.last_io_ms = unix_ms();
    server
        .tunables
        .primary_link_up
        .store(true, Ordering::SeqCst);
    Some((id, signals))
}

/// Removes the primary client (the link is gone), remembering its database.
fn drop_primary_client(server: &Server, shared: &mut Shared) {
    let mut feed = server.feed.lock();
    let Some(follow) = feed.repl.follow.as_mut() else {
        return;
    };
    if let Some(id) = follow.client_id.take() {
        if let Some(mut client) = shared.clients.remove(&id) {
            follow.db = client.db;
            shared.forget_client(&mut client);
        }
        follow.down_since_ms = unix_ms();
        follow.unapplied = 0;
        // Whatever a MULTI block held is dropped with the link, as Redis frees the client.
        let _ = feed.repl.take_pending_raw();
        tracing::info!("Connection with master lost.");
    }
    server
        .tunables
        .primary_link_up
        .store(false, Ordering::SeqCst);
}
