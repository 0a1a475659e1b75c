//! Serving a replica: PSYNC (and the old SYNC), full sync from a snapshot, partial resync from
//! the backlog, then the stream, as Redis 7.0's primary does.
//!
//! A replica connects like a client, announces itself (`REPLCONF listening-port`, `ip-address`,
//! `capa eof`, `capa psync2`), then sends `PSYNC <replid> <offset>` (`PSYNC ? -1` the first time).
//! The primary answers, in one step under the execution lock so that nothing is written between
//! the decision and the data it refers to:
//! - `+CONTINUE <replid>` and the backlog bytes from `offset` on, when `replid` is the current
//!   history (or the previous one, `replid2`, with `offset` not past where it ended) and the
//!   backlog still holds `offset`;
//! - otherwise `+FULLRESYNC <replid> <offset>`, a RocksDB snapshot of exactly the data at
//!   `offset`, sent as an RDB with the `repl-stream-db`, `repl-id` and `repl-offset` aux fields:
//!   diskless (`repl-diskless-sync yes` and a replica that can read it: `$EOF:<40 random
//!   bytes>\r\n`, the RDB, the same 40 bytes) or from a file (`$<length>\r\n` and the RDB). No
//!   fork: the snapshot is read by a background thread while commands go on; what they propagate
//!   meanwhile is spooled to disk by the replica's [`Link`] and sent after the RDB.
//!
//! Then the connection carries the stream to the replica, and the replica's `REPLCONF ACK
//! <offset>` back (INFO's `offset=` and `lag=`, WAIT).

use std::io::Write;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use formats::rdb::writer::ReplicationAux;
use formats::resp::{parse_command, Limits};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;

use super::link::{Link, Pending, SyncState};
use crate::persistence::rdb_save::write_snapshot;
use crate::server::{unix_ms, ClientSignals, Server};

/// Bytes of RDB handed from the snapshot thread to the socket at a time.
const RDB_CHUNK: usize = 1 << 20;

/// What the replica asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SyncRequest {
    Psync {
        replid: String,
        offset: i64,
    },
    /// The pre-2.8 SYNC: a full sync without the `+FULLRESYNC` line.
    Sync,
}

/// What a replica announced with REPLCONF before syncing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReplicaInfo {
    pub listening_port: u16,
    /// `capa eof`: it can read a diskless transfer.
    pub capa_eof: bool,
    /// `capa psync2`: it understands `+CONTINUE <replid>`.
    pub capa_psync2: bool,
}

/// Serves the replica on `stream` (a client connection that sent PSYNC or SYNC) until it
/// disconnects. `input` holds what it sent after that command.
pub async fn serve(
    server: &Arc<Server>,
    id: u64,
    signals: &ClientSignals,
    stream: &mut TcpStream,
    mut input: BytesMut,
    request: SyncRequest,
    info: ReplicaInfo,
) -> std::io::Result<()> {
    let addr = stream.peer_addr()?;
    let pre_psync = request == SyncRequest::Sync;
    let link = Arc::new(Link::new(id, addr, info.listening_port, pre_psync));
    // CLIENT KILL (TYPE replica, ...) ends the link like a disconnection.
    let result = tokio::select! {
        served = serve_link(server, &link, stream, &mut input, request, info) => served,
        _ = signals.kill.notified() => Ok(()),
    };
    server.feed.lock().repl.remove_link(id);
    tracing::info!(
        "Connection with replica {}:{} lost.",
        addr.ip(),
        info.listening_port
    );
    result
}

async fn serve_link(
    server: &Arc<Server>,
    link: &Arc<Link>,
    stream: &mut TcpStream,
    input: &mut BytesMut,
    request: SyncRequest,
    info: ReplicaInfo,
) -> std::io::Result<()> {
    match try_partial(server, link, &request, info) {
        Some(bytes) => {
            stream.write_all(&bytes).await?;
            link.set_state(SyncState::Online);
        }
        None => {
            if full_sync(server, link, stream, request, info).await? {
                // A diskless replica finds the end of the RDB by its last bytes read: nothing
                // may follow them until it says it loaded the RDB (its first ACK), as Redis's
                // primary waits for it.
                wait_first_ack(link, stream, input).await?;
            }
        }
    }
    stream_to(link, stream, input).await
}

/// Redis's masterTryPartialResynchronization: the `+CONTINUE` line and the missing bytes, with
/// the link registered, or `None` for a full sync.
fn try_partial(
    server: &Server,
    link: &Arc<Link>,
    request: &SyncRequest,
    info: ReplicaInfo,
) -> Option<Vec<u8>> {
    let SyncRequest::Psync { replid, offset } = request else {
        return None;
    };
    let _exclusive = server.exec.lock();
    let mut feed = server.feed.lock();
    let repl = &mut feed.repl;
    let known =
        *replid == repl.replid || (*replid == repl.replid2 && *offset <= repl.second_replid_offset);
    if !known {
        tracing::info!(
            "Partial resynchronization not accepted: Replication ID mismatch (Replica asked for '{replid}', my replication IDs are '{}' and '{}')",
            repl.replid,
            repl.replid2
        );
        return None;
    }
    let missing = repl.backlog.as_ref().and_then(|b| b.read_from(*offset));
    let Some(missing) = missing else {
        tracing::info!(
            "Unable to partial resync with replica {}:{} for lack of backlog (Replica request was: {offset}).",
            link.addr.ip(),
            link.listening_port
        );
        return None;
    };
    let mut out = if info.capa_psync2 {
        format!("+CONTINUE {}\r\n", repl.replid).into_bytes()
    } else {
        b"+CONTINUE\r\n".to_vec()
    };
    out.extend_from_slice(&missing);
    link.ack_offset.store(*offset - 1, Ordering::Relaxed);
    repl.links.push(Arc::clone(link));
    tracing::info!(
        "Partial resynchronization request from {}:{} accepted. Sending {} bytes of backlog starting from offset {offset}.",
        link.addr.ip(),
        link.listening_port,
        missing.len()
    );
    server.stats.sync_partial_ok.fetch_add(1, Ordering::Relaxed);
    Some(out)
}

/// Reads until the replica's first `REPLCONF ACK`.
async fn wait_first_ack(
    link: &Link,
    stream: &mut TcpStream,
    input: &mut BytesMut,
) -> std::io::Result<()> {
    while !read_acks(link, input) {
        if stream.read_buf(input).await? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
    }
    Ok(())
}

/// A full sync: the `+FULLRESYNC` line and the snapshot as an RDB, written by a background
/// thread and forwarded to the socket as it comes; true if it was diskless.
async fn full_sync(
    server: &Arc<Server>,
    link: &Arc<Link>,
    stream: &mut TcpStream,
    request: SyncRequest,
    info: ReplicaInfo,
) -> std::io::Result<bool> {
    server.stats.sync_full.fetch_add(1, Ordering::Relaxed);
    if matches!(request, SyncRequest::Psync { .. }) {
        server
            .stats
            .sync_partial_err
            .fetch_add(1, Ordering::Relaxed);
    }
    let diskless = info.capa_eof && server.config.read().get_bool("repl-diskless-sync");
    let (tx, mut rx) = mpsc::channel::<Bytes>(4);
    let owner = Arc::clone(server);
    let writer_link = Arc::clone(link);
    let psync = matches!(request, SyncRequest::Psync { .. });
    let writer = tokio::task::spawn_blocking(move || {
        write_sync_payload(&owner, &writer_link, psync, diskless, &tx)
    });
    // Until the payload starts (a disk-based transfer writes its file first), a newline every
    // second keeps the replica from timing out, as Redis's primary sends them.
    let mut payload_started = false;
    let mut keepalive = tokio::time::interval(Duration::from_secs(1));
    keepalive.tick().await;
    loop {
        tokio::select! {
            chunk = rx.recv() => {
                let Some(chunk) = chunk else { break };
                payload_started |= chunk.first() == Some(&b'$');
                stream.write_all(&chunk).await?;
            }
            _ = keepalive.tick(), if !payload_started => stream.write_all(b"\n").await?,
        }
    }
    match writer.await {
        Ok(Ok(())) => Ok(diskless),
        Ok(Err(e)) => Err(e),
        Err(e) => Err(std::io::Error::other(e)),
    }
}

/// Sends bytes to the socket side of a full sync, in the blocking snapshot thread.
struct ChannelWriter<'a> {
    tx: &'a mpsc::Sender<Bytes>,
    buffer: Vec<u8>,
}

impl ChannelWriter<'_> {
    fn send(&mut self) -> std::io::Result<()> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let next = Vec::with_capacity(RDB_CHUNK + RDB_CHUNK / 4);
        let chunk = Bytes::from(std::mem::replace(&mut self.buffer, next));
        self.tx
            .blocking_send(chunk)
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::BrokenPipe, "replica gone"))
    }
}

impl Write for ChannelWriter<'_> {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.buffer.extend_from_slice(bytes);
        if self.buffer.len() >= RDB_CHUNK {
            self.send()?;
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.send()
    }
}

/// The snapshot thread of a full sync: under the execution lock, creates the backlog if needed,
/// registers the link (spooling from now on) and takes the snapshot with its offset; then writes
/// the `+FULLRESYNC` line and the RDB.
fn write_sync_payload(
    server: &Server,
    link: &Arc<Link>,
    psync: bool,
    diskless: bool,
    tx: &mpsc::Sender<Bytes>,
) -> std::io::Result<()> {
    let backlog_size = server.config.read().repl_backlog_size();
    let exclusive = server.exec.lock();
    let mut feed = server.feed.lock();
    let offset = server.repl_offset.load(Ordering::SeqCst);
    feed.repl.ensure_backlog(backlog_size, offset);
    server.refresh_propagation(&feed);
    link.start_spool(std::path::Path::new("."))?;
    feed.repl.forget_selected_db();
    feed.repl.links.push(Arc::clone(link));
    let replid = feed.repl.replid.clone();
    let stream_db = super::replica::stream_db(&feed.repl, &exclusive);
    let snapshot = server.engine.snapshot().map_err(std::io::Error::other)?;
    drop(feed);
    drop(exclusive);
    link.ack_offset.store(offset, Ordering::Relaxed);
    tracing::info!(
        "Starting BGSAVE for SYNC with target: {}",
        if diskless { "replicas sockets" } else { "disk" }
    );

    let mut out = ChannelWriter {
        tx,
        buffer: Vec::with_capacity(RDB_CHUNK + RDB_CHUNK / 4),
    };
    if psync {
        out.write_all(format!("+FULLRESYNC {replid} {offset}\r\n").as_bytes())?;
        out.flush()?;
    }
    link.set_state(SyncState::SendBulk);
    let aux = ReplicationAux {
        stream_db,
        id: &replid,
        offset,
    };
    if diskless {
        let mark = crate::server::random_hex_id();
        out.write_all(format!("$EOF:{mark}\r\n").as_bytes())?;
        write_snapshot(server, &snapshot, &mut out, Some(aux)).map_err(std::io::Error::other)?;
        out.write_all(mark.as_bytes())?;
        out.flush()?;
    } else {
        let path =
            std::path::PathBuf::from(format!("temp-repl-{}-{}.rdb", std::process::id(), link.id));
        let written = (|| {
            let mut file = std::io::BufWriter::new(std::fs::File::create(&path)?);
            write_snapshot(server, &snapshot, &mut file, Some(aux))
                .map_err(std::io::Error::other)?;
            file.flush()?;
            drop(file);
            let len = std::fs::metadata(&path)?.len();
            out.write_all(format!("${len}\r\n").as_bytes())?;
            let mut file = std::fs::File::open(&path)?;
            std::io::copy(&mut file, &mut out)?;
            out.flush()
        })();
        let _ = std::fs::remove_file(&path);
        written?;
    }
    drop(snapshot);
    tracing::info!(
        "Synchronization with replica {}:{} succeeded",
        link.addr.ip(),
        link.listening_port
    );
    Ok(())
}

/// Streams to an online replica and reads its acknowledgements until either side closes.
async fn stream_to(
    link: &Arc<Link>,
    stream: &mut TcpStream,
    input: &mut BytesMut,
) -> std::io::Result<()> {
    link.set_state(SyncState::Online);
    loop {
        // Let the commands ready to run now add theirs first: like Redis writing a replica's
        // buffer once per event-loop turn, one send carries many commands.
        tokio::task::yield_now().await;
        loop {
            match link.take()? {
                Pending::Bytes(chunks) => write_chunks(stream, chunks).await?,
                Pending::Nothing => break,
                Pending::Closed => return Ok(()),
            }
        }
        read_acks(link, input);
        tokio::select! {
            _ = link.wake.notified() => {}
            read = stream.read_buf(input) => {
                if read? == 0 {
                    return Ok(());
                }
            }
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
        }
    }
}

/// Sends `chunks` with one write (joined when there are several).
async fn write_chunks(stream: &mut TcpStream, chunks: Vec<Bytes>) -> std::io::Result<()> {
    match chunks.as_slice() {
        [one] => stream.write_all(one).await,
        many => {
            let mut joined = BytesMut::with_capacity(many.iter().map(Bytes::len).sum());
            for chunk in many {
                joined.extend_from_slice(chunk);
            }
            stream.write_all(&joined).await
        }
    }
}

/// Applies the replica's `REPLCONF ACK <offset>` commands waiting in `input`; true if there
/// was one.
fn read_acks(link: &Link, input: &mut BytesMut) -> bool {
    let mut acked = false;
    let limits = Limits {
        max_bulk_bytes: 1 << 20,
        authenticated: true,
    };
    while let Ok(Some(request)) = parse_command(input, limits) {
        let args = &request.args;
        if args.len() >= 3
            && args[0].eq_ignore_ascii_case(b"replconf")
            && args[1].eq_ignore_ascii_case(b"ack")
        {
            if let Some(offset) = std::str::from_utf8(&args[2])
                .ok()
                .and_then(|t| t.parse::<i64>().ok())
            {
                link.ack_offset.fetch_max(offset, Ordering::Relaxed);
                link.ack_time_ms.store(unix_ms(), Ordering::Relaxed);
                acked = true;
            }
        }
    }
    acked
}
