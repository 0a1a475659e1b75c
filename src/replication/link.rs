//! One replica's link as the primary's write path sees it: the stream bytes waiting to be sent.
//!
//! While the replica's full sync runs (the snapshot is being written to it), everything the
//! primary propagates is appended to a spool file on disk, so the transfer of a dataset of any
//! size, under any write load, needs no memory for the writes made meanwhile and never has to
//! start over (Redis keeps them in the replica's output buffer, and a sync that outgrows
//! `client-output-buffer-limit replica` loops: redis/redis#11534). Once the snapshot is sent, the
//! link sends the spool, then switches to an in-memory queue bounded by the hard limit of
//! `client-output-buffer-limit replica`: a replica that falls that far behind is disconnected, as
//! in Redis, and continues from the backlog if it still can.

use std::collections::VecDeque;
use std::fs::File;
use std::io::Write;
use std::net::SocketAddr;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::atomic::{AtomicI64, AtomicU8, Ordering};

use bytes::Bytes;
use parking_lot::Mutex;

/// Largest piece of the spool sent at once.
const SPOOL_CHUNK: usize = 1 << 20;

/// INFO's `state=` of a replica.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum SyncState {
    /// The snapshot is being prepared (Redis's `wait_bgsave`).
    WaitBgsave = 0,
    /// The snapshot is being sent (`send_bulk`).
    SendBulk = 1,
    Online = 2,
}

impl SyncState {
    pub fn name(self) -> &'static str {
        match self {
            SyncState::WaitBgsave => "wait_bgsave",
            SyncState::SendBulk => "send_bulk",
            SyncState::Online => "online",
        }
    }
}

/// What the link task finds to send.
pub enum Pending {
    Bytes(Vec<Bytes>),
    Nothing,
    /// The link was closed (output limit): drop the connection.
    Closed,
}

struct Queue {
    spool: Option<Spool>,
    chunks: VecDeque<Bytes>,
    bytes: u64,
    closed: bool,
}

struct Spool {
    file: File,
    written: u64,
    read: u64,
}

/// A replica connected to this node.
pub struct Link {
    /// Its client id.
    pub id: u64,
    pub addr: SocketAddr,
    /// The port it listens on (REPLCONF listening-port), shown in INFO.
    pub listening_port: u16,
    /// It came with SYNC, not PSYNC: it never acknowledges.
    pub pre_psync: bool,
    queue: Mutex<Queue>,
    /// Woken when there is something to send.
    pub wake: tokio::sync::Notify,
    /// The offset the replica acknowledged (REPLCONF ACK), and when, in Unix ms.
    pub ack_offset: AtomicI64,
    pub ack_time_ms: AtomicI64,
    state: AtomicU8,
}

impl Link {
    pub fn new(id: u64, addr: SocketAddr, listening_port: u16, pre_psync: bool) -> Link {
        Link {
            id,
            addr,
            listening_port,
            pre_psync,
            queue: Mutex::new(Queue {
                spool: None,
                chunks: VecDeque::new(),
                bytes: 0,
                closed: false,
            }),
            wake: tokio::sync::Notify::new(),
            ack_offset: AtomicI64::new(0),
            ack_time_ms: AtomicI64::new(crate::server::unix_ms()),
            state: AtomicU8::new(SyncState::WaitBgsave as u8),
        }
    }

    pub fn state(&self) -> SyncState {
        match self.state.load(Ordering::Relaxed) {
            0 => SyncState::WaitBgsave,
            1 => SyncState::SendBulk,
            _ => SyncState::Online,
        }
    }

    pub fn set_state(&self, state: SyncState) {
        self.state.store(state as u8, Ordering::Relaxed);
    }

    /// Spools what is propagated from now on to a file in `dir` (a full sync begins). The file
    /// is unlinked at once: it lives as long as the link.
    pub fn start_spool(&self, dir: &Path) -> std::io::Result<()> {
        let path = dir.join(format!(
            "temp-repl-spool-{}-{}",
            std::process::id(),
            self.id
        ));
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(true)
            .read(true)
            .write(true)
            .open(&path)?;
        std::fs::remove_file(&path)?;
        self.queue.lock().spool = Some(Spool {
            file,
            written: 0,
            read: 0,
        });
        Ok(())
    }

    /// Queues stream bytes; beyond `limit` bytes in memory (0: no limit) the link is closed.
    pub fn push(&self, bytes: &Bytes, limit: u64) {
        let mut queue = self.queue.lock();
        if queue.closed {
            return;
        }
        match queue.spool.as_mut() {
            Some(spool) => {
                if let Err(e) = spool.file.write_all(bytes) {
                    tracing::warn!("Replica {}: spool write failed: {e}", self.addr);
                    queue.closed = true;
                } else {
                    spool.written += bytes.len() as u64;
                }
            }
            None => {
                queue.bytes += bytes.len() as u64;
                queue.chunks.push_back(bytes.clone());
                if limit > 0 && queue.bytes > limit {
                    tracing::warn!(
                        "Client id={} addr={} scheduled to be closed ASAP for overcoming of output buffer limits.",
                        self.id,
                        self.addr
                    );
                    queue.closed = true;
                }
            }
        }
        drop(queue);
        self.wake.notify_one();
    }

    /// Takes what is waiting: the spool first (a piece at a time; once it is sent, the link
    /// switches to the memory queue), then the queued chunks.
    pub fn take(&self) -> std::io::Result<Pending> {
        let mut queue = self.queue.lock();
        if queue.closed {
            return Ok(Pending::Closed);
        }
        if let Some(spool) = queue.spool.as_mut() {
            if spool.read < spool.written {
                let len = (spool.written - spool.read).min(SPOOL_CHUNK as u64) as usize;
                let mut piece = vec![0; len];
                spool.file.read_exact_at(&mut piece, spool.read)?;
                spool.read += len as u64;
                return Ok(Pending::Bytes(vec![Bytes::from(piece)]));
            }
            queue.spool = None;
        }
        if queue.chunks.is_empty() {
            return Ok(Pending::Nothing);
        }
        queue.bytes = 0;
        Ok(Pending::Bytes(queue.chunks.drain(..).collect()))
    }

    /// Marks the link closed (its task ends the connection).
    pub fn close(&self) {
        self.queue.lock().closed = true;
        self.wake.notify_one();
    }

    pub fn is_closed(&self) -> bool {
        self.queue.lock().closed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn taken(link: &Link) -> Vec<u8> {
        let mut out = Vec::new();
        loop {
            match link.take().unwrap() {
                Pending::Bytes(chunks) => chunks.iter().for_each(|c| out.extend_from_slice(c)),
                Pending::Nothing => return out,
                Pending::Closed => panic!("closed"),
            }
        }
    }

    #[test]
    fn spools_during_the_sync_then_queues_in_memory() {
        let dir = std::env::temp_dir();
        let link = Link::new(7, SocketAddr::from(([127, 0, 0, 1], 1)), 6380, false);
        link.start_spool(&dir).unwrap();
        link.push(&Bytes::from_static(b"abc"), 1);
        link.push(&Bytes::from_static(b"def"), 1);
        assert_eq!(taken(&link), b"abcdef");
        link.push(&Bytes::from_static(b"gh"), 10);
        assert_eq!(taken(&link), b"gh");
        assert!(matches!(link.take().unwrap(), Pending::Nothing));
    }

    #[test]
    fn closes_a_link_over_its_memory_limit() {
        let link = Link::new(7, SocketAddr::from(([127, 0, 0, 1], 1)), 6380, false);
        link.push(&Bytes::from_static(b"0123456789"), 5);
        assert!(link.is_closed());
        assert!(matches!(link.take().unwrap(), Pending::Closed));
    }
}
