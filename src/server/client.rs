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

/// Cross-task signals of one client.
pub struct ClientSignals {
    pub kill: Notify,
    killed: AtomicBool,
    /// Messages pushed to this client by others (MONITOR feed, later pub/sub).
    pub push: mpsc::Sender<Bytes>,
}

impl ClientSignals {
    pub fn new(push: mpsc::Sender<Bytes>) -> ClientSignals {
        ClientSignals { kill: Notify::new(), killed: AtomicBool::new(false), push }
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
    pub last_cmd: String,
    pub reply_mode: ReplyMode,
    pub no_evict: bool,
    pub monitor: bool,
    /// Bytes waiting in the query buffer (for CLIENT LIST `qbuf`).
    pub query_buffer_bytes: usize,
    pub signals: Arc<ClientSignals>,
}

impl ClientState {
    pub fn new(id: u64, addr: SocketAddr, laddr: SocketAddr, fd: i32, signals: Arc<ClientSignals>) -> ClientState {
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
            last_cmd: "NULL".into(),
            reply_mode: ReplyMode::On,
            no_evict: false,
            monitor: false,
            query_buffer_bytes: 0,
            signals,
        }
    }

    /// Redis's CLIENT LIST flag letters.
    pub fn flags(&self) -> String {
        let mut flags = String::new();
        if self.monitor {
            flags.push('O');
        }
        if self.no_evict {
            flags.push('e');
        }
        if flags.is_empty() {
            flags.push('N');
        }
        flags
    }

    /// One line of CLIENT LIST / CLIENT INFO, field for field as Redis 7.0 prints it.
    pub fn info_line(&self) -> String {
        let name = self.name.as_ref().map(|n| String::from_utf8_lossy(n).into_owned()).unwrap_or_default();
        let age = self.created.elapsed().as_secs();
        let idle = self.last_interaction.elapsed().as_secs();
        format!(
            "id={} addr={} laddr={} fd={} name={} age={} idle={} flags={} db={} sub=0 psub=0 ssub=0 \
             multi=-1 qbuf={} qbuf-free={} argv-mem=0 multi-mem=0 rbs=1024 rbp=0 obl=0 oll=0 omem=0 \
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
            0,
            1024 + self.query_buffer_bytes,
            self.last_cmd,
            self.protocol
        )
    }
}
