//! Per-connection client state and the registry that CLIENT LIST / KILL / INFO clients read.
//!
//! A client's state lives in the registry while the client is idle and is lent to the connection
//! task for the duration of a command, always under the server's execution lock. So every
//! command sees every client consistently (CLIENT LIST includes the caller) and no per-client
//! lock exists to be taken in the wrong order. Signals that must cross tasks without the
//! execution lock (kill, pushed messages) live in [`ClientSignals`].

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use tokio::sync::{mpsc, Notify};

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
    killed: AtomicBool,
    /// Messages pushed to this client by others (MONITOR feed, later pub/sub).
    pub push: mpsc::Sender<Bytes>,
}

impl ClientSignals {
    pub fn new(push: mpsc::Sender<Bytes>) -> ClientSignals {
        ClientSignals {
            kill: Notify::new(),
            killed: AtomicBool::new(false),
            push,
        }
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
    pub signals: Arc<ClientSignals>,
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
            signals,
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
    /// `sub`/`psub`/`ssub` 0 and `multi=-1` until pub/sub and MULTI land, `qbuf-free=0` and
    /// `rbs=0 rbp=0` because the connection owns no fixed query or reply buffer, `obl=0 oll=0
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
            "id={} addr={} laddr={} fd={} name={} age={} idle={} flags={} db={} sub=0 psub=0 ssub=0 \
             multi=-1 qbuf={} qbuf-free=0 argv-mem={} multi-mem=0 rbs=0 rbp=0 obl=0 oll=0 omem=0 \
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
            self.query_buffer_bytes,
            argv_mem,
            self.query_buffer_bytes + argv_mem,
            self.last_cmd,
            self.protocol
        )
    }
}
