//! Per-connection client state and the registry that CLIENT LIST / KILL / INFO clients read.
//!
//! A client's state lives in the registry while the client is idle and is lent to the connection
//! task for the duration of a command, always under the server's execution lock. So every
//! command sees every client consistently (CLIENT LIST includes the caller) and no per-client
//! lock exists to be taken in the wrong order. Signals that must cross tasks without the
//! execution lock (kill, pushed messages) live in [`ClientSignals`].

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use tokio::sync::{mpsc, Notify};

use super::pubsub::{Kind, Subscriptions};

use formats::resp::Reply;

use super::blocking::Blocked;
use super::transaction::{Multi, WatchedKey};

/// Replies the client wants (CLIENT REPLY).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplyMode {
    On,
    Off,
    /// Skip the reply of the next command only.
    Skip,
    /// Set by CLIENT REPLY SKIP; becomes `Skip` after the CLIENT REPLY command itself.
    SkipNext,
}

/// Redis's client types, as CLIENT LIST/KILL `TYPE` filters on them. A MONITOR client is
/// `Normal`, as in Redis.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientType {
    Normal,
    Replica,
    Primary,
    PubSub,
}

impl ClientType {
    /// Redis's `getClientTypeByName` (case-insensitive; `slave` is an alias of `replica`).
    pub fn parse(name: &[u8]) -> Option<ClientType> {
        match name.to_ascii_lowercase().as_slice() {
            b"normal" => Some(ClientType::Normal),
            b"slave" | b"replica" => Some(ClientType::Replica),
            b"pubsub" => Some(ClientType::PubSub),
            b"master" => Some(ClientType::Primary),
            _ => None,
        }
    }
}

/// Cross-task signals of one client.
pub struct ClientSignals {
    pub kill: Notify,
    /// Wakes the connection of a blocked client once it has been unblocked.
    pub unblocked: Notify,
    killed: AtomicBool,
    /// Messages pushed to this client by others (MONITOR feed, pub/sub messages).
    pub push: mpsc::Sender<Bytes>,
    /// Bytes of pub/sub messages queued in `push` and not yet taken by the connection.
    queued_bytes: AtomicU64,
}

impl ClientSignals {
    pub fn new(push: mpsc::Sender<Bytes>) -> ClientSignals {
        ClientSignals {
            kill: Notify::new(),
            unblocked: Notify::new(),
            killed: AtomicBool::new(false),
            push,
            queued_bytes: AtomicU64::new(0),
        }
    }

    /// Queues a pub/sub message unless that would take the queued bytes over `limit_bytes`
    /// (0: no limit) or overflow the queue; false means the client cannot keep up.
    pub fn send(&self, message: Bytes, limit_bytes: u64) -> bool {
        let len = message.len() as u64;
        let queued = self.queued_bytes.load(Ordering::Relaxed);
        if limit_bytes > 0 && queued + len > limit_bytes {
            return false;
        }
        self.queued_bytes.fetch_add(len, Ordering::Relaxed);
        self.push.try_send(message).is_ok()
    }

    /// Whether messages may wait in the queue: every message is counted before it is queued, so
    /// none waits when this is false (and the connection skips the queue's atomics).
    pub fn has_pushed(&self) -> bool {
        self.queued_bytes.load(Ordering::Relaxed) > 0
    }

    /// The connection took a pushed message of `len` bytes off the queue.
    pub fn taken(&self, len: usize) {
        let _ = self
            .queued_bytes
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |q| {
                Some(q.saturating_sub(len as u64))
            });
    }

    /// Asks the connection to close (CLIENT KILL, output limits).
    pub fn kill(&self) {
        self.killed.store(true, Ordering::SeqCst);
        self.kill.notify_one();
    }

    pub fn is_killed(&self) -> bool {
        self.killed.load(Ordering::SeqCst)
    }
}

/// Everything the server knows about one connection.
pub struct ClientState {
    pub id: u64,
    pub addr: SocketAddr,
    pub laddr: SocketAddr,
    pub fd: i32,
    pub name: Option<Bytes>,
    pub db: usize,
    pub protocol: u8,
    pub authenticated: bool,
    pub created: Instant,
    pub last_interaction: Instant,
    /// Last command, as CLIENT LIST shows it (`cmd=`), e.g. `client|list`.
    pub last_cmd: &'static str,
    pub reply_mode: ReplyMode,
    pub no_evict: bool,
    pub monitor: bool,
    /// What kind of connection this is (CLIENT LIST/KILL `TYPE`): replication marks replica and
    /// primary links, pub/sub marks subscribed clients.
    pub client_type: ClientType,
    /// Bytes waiting in the query buffer (for CLIENT LIST `qbuf`).
    pub query_buffer_bytes: usize,
    /// Pub/Sub subscriptions (any: the client is in Pub/Sub mode).
    pub subscriptions: Subscriptions,
    pub signals: Arc<ClientSignals>,
    /// The open MULTI block, if any.
    pub multi: Option<Multi>,
    /// Keys this client WATCHes.
    pub watched: Vec<WatchedKey>,
    /// A watched key changed: the next EXEC fails (Redis's CLIENT_DIRTY_CAS).
    pub dirty_cas: bool,
    /// What the client is blocked on (BLPOP, ...), if it is.
    pub blocked: Option<Blocked>,
    /// The answer to the blocking command, left here when the client is unblocked.
    pub unblocked_reply: Option<Reply>,
    /// The node's own client replaying a file (RDB or AOF load): what it executes is not
    /// propagated (Redis calls these commands with CMD_CALL_NONE).
    pub replaying: bool,
    /// What the client announced with REPLCONF, should it become a replica.
    pub replica: crate::replication::primary::ReplicaInfo,
    /// The replication offset after this client's last propagated write (WAIT's target).
    pub woff: i64,
}

impl ClientState {
    pub fn new(
        id: u64,
        addr: SocketAddr,
        laddr: SocketAddr,
        fd: i32,
        signals: Arc<ClientSignals>,
    ) -> ClientState {
        let now = Instant::now();
        ClientState {
            id,
            addr,
            laddr,
            fd,
            name: None,
            db: 0,
            protocol: 2,
            authenticated: false,
            created: now,
            last_interaction: now,
            last_cmd: "NULL",
            reply_mode: ReplyMode::On,
            no_evict: false,
            monitor: false,
            client_type: ClientType::Normal,
            query_buffer_bytes: 0,
            subscriptions: Subscriptions::default(),
            signals,
            multi: None,
            watched: Vec::new(),
            dirty_cas: false,
            blocked: None,
            unblocked_reply: None,
            replaying: false,
            replica: Default::default(),
            woff: 0,
        }
    }

    /// Redis's `islocalClient`: connected from exactly 127.0.0.1 or ::1 (what
    /// `enable-debug-command local` and `enable-protected-configs local` accept).
    pub fn is_local(&self) -> bool {
        let ip = self.addr.ip();
        ip == std::net::Ipv4Addr::LOCALHOST || ip == std::net::Ipv6Addr::LOCALHOST
    }

    /// Redis's CLIENT LIST flag letters, in Redis's order (`O` monitor, `S` replica, `M` primary,
    /// `P` pub/sub, `A` closing as soon as possible, `e` no-evict; `N` when none applies).
    pub fn flags(&self) -> String {
        let mut flags = String::new();
        if self.monitor {
            flags.push('O');
        }
        match self.client_type {
            ClientType::Replica => flags.push('S'),
            ClientType::Primary => flags.push('M'),
            ClientType::PubSub => flags.push('P'),
            ClientType::Normal => {}
        }
        if self.multi.is_some() {
            flags.push('x');
        }
        if self.blocked.is_some() {
            flags.push('b');
        }
        if self.dirty_cas {
            flags.push('d');
        }
        if self.signals.is_killed() {
            flags.push('A');
        }
        if self.no_evict {
            flags.push('e');
        }
        if flags.is_empty() {
            flags.push('N');
        }
        flags
    }

    /// One line of CLIENT LIST / CLIENT INFO (without the trailing `\n`), with Redis 7.0's fields
    /// in Redis's order. `argv_mem` is the size of the arguments of the command the client is
    /// executing (only the caller of CLIENT LIST is executing one; idle clients pass 0).
    ///
    /// Fields without a rockslot counterpart keep the value Redis shows for the same state:
    /// `qbuf-free=0` and `rbs=0 rbp=0` because the connection owns no fixed query or reply buffer, `obl=0 oll=0
    /// omem=0` because replies are written as soon as a batch of requests has executed, and
    /// `user=default redir=-1` because rockslot has no ACL users and no client tracking.
    pub fn info_line(&self, argv_mem: usize) -> String {
        let name = self
            .name
            .as_ref()
            .map(|n| String::from_utf8_lossy(n).into_owned())
            .unwrap_or_default();
        let age = self.created.elapsed().as_secs();
        let idle = self.last_interaction.elapsed().as_secs();
        format!(
            "id={} addr={} laddr={} fd={} name={} age={} idle={} flags={} db={} sub={} psub={} ssub={} \
             multi={} qbuf={} qbuf-free=0 argv-mem={} multi-mem=0 rbs=0 rbp=0 obl=0 oll=0 omem=0 \
             tot-mem={} events=r cmd={} user=default redir=-1 resp={}",
            self.id,
            self.addr,
            self.laddr,
            self.fd,
            name,
            age,
            idle,
            self.flags(),
            self.db,
            self.subscriptions.channels.len(),
            self.subscriptions.patterns.len(),
            self.subscriptions.count(Kind::Shard),
            self.multi.as_ref().map_or(-1, |m| m.queue.len() as i64),
            self.query_buffer_bytes,
            argv_mem,
            self.query_buffer_bytes + argv_mem,
            self.last_cmd,
            self.protocol
        )
    }
}
