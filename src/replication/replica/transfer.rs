//! A full sync on the replica's side: the RDB received into a temporary file (`$<length>` or
//! `$EOF:<mark>` framing, with the newline keep-alives before it), then loaded in place of the
//! dataset, the node adopting the primary's replication ID and offset.

use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::Ordering;

use bytes::Bytes;

use super::{
    ensure_backlog_at, follow_of, follows, primary_error, set_state, Conn, LinkError, LinkState,
    EOF_MARK_LEN,
};
use crate::server::{unix_ms, Server};

/// Receives the RDB of a full sync into a temporary file in the working directory (`dir`).
pub(super) async fn receive_rdb(
    server: &Server,
    conn: &mut Conn,
    generation: u64,
) -> Result<PathBuf, LinkError> {
    set_state(server, generation, LinkState::Transfer);
    let header = conn.line(true).await?;
    let Some(framing) = header.strip_prefix('$') else {
        return Err(primary_error(format!(
            "Bad protocol from MASTER, the first byte is not '$' (we received '{header}')"
        )));
    };
    let mark = match framing.strip_prefix("EOF:") {
        Some(mark) if mark.len() == EOF_MARK_LEN => Some(mark.as_bytes().to_vec()),
        Some(_) => return Err(primary_error("bad EOF mark from the primary")),
        None => None,
    };
    let size = match &mark {
        Some(_) => -1,
        None => framing
            .parse::<i64>()
            .map_err(|_| primary_error(format!("bad RDB length from the primary: {header}")))?,
    };
    tracing::info!(
        "MASTER <-> REPLICA sync: receiving {} from master to disk",
        if size < 0 {
            "streamed RDB".to_string()
        } else {
            format!("{size} bytes")
        }
    );
    let path = PathBuf::from(format!(
        "temp-{}.{}.rdb",
        unix_ms() / 1000,
        std::process::id()
    ));
    let mut file = std::fs::File::create(&path)?;
    let received = match mark {
        Some(mark) => receive_marked(server, conn, &mut file, &mark, generation).await,
        None => receive_sized(server, conn, &mut file, size as u64, generation).await,
    };
    let synced = match received {
        Ok(()) => file.sync_all().map_err(LinkError::from),
        Err(e) => Err(e),
    };
    if let Err(e) = synced {
        let _ = std::fs::remove_file(&path);
        return Err(e);
    }
    Ok(path)
}

fn transfer_progress(server: &Server, generation: u64, size: i64, read: i64) {
    let mut feed = server.feed.lock();
    if let Some(f) = follow_of(&mut feed.repl, generation) {
        f.transfer_size = size;
        f.transfer_read = read;
        f.last_io_ms = unix_ms();
    }
}

/// A `$<length>` transfer: exactly that many bytes; what follows is the stream.
async fn receive_sized(
    server: &Server,
    conn: &mut Conn,
    file: &mut std::fs::File,
    size: u64,
    generation: u64,
) -> Result<(), LinkError> {
    let mut left = size;
    while left > 0 {
        if conn.input.is_empty() {
            conn.fill().await?;
        }
        let take = (conn.input.len() as u64).min(left) as usize;
        let chunk = conn.input.split_to(take);
        file.write_all(&chunk)?;
        left -= take as u64;
        transfer_progress(server, generation, size as i64, (size - left) as i64);
    }
    Ok(())
}

/// A `$EOF:<mark>` transfer: everything up to the mark, which ends it.
async fn receive_marked(
    server: &Server,
    conn: &mut Conn,
    file: &mut std::fs::File,
    mark: &[u8],
    generation: u64,
) -> Result<(), LinkError> {
    // The last bytes are held back until it is clear they are not the mark.
    let mut tail: Vec<u8> = Vec::new();
    let mut read = 0i64;
    loop {
        if conn.input.is_empty() {
            conn.fill().await?;
        }
        let chunk = conn.input.split();
        read += chunk.len() as i64;
        tail.extend_from_slice(&chunk);
        if tail.ends_with(mark) {
            file.write_all(&tail[..tail.len() - mark.len()])?;
            transfer_progress(server, generation, read - mark.len() as i64, read);
            return Ok(());
        }
        if tail.len() > mark.len() {
            let keep = tail.split_off(tail.len() - mark.len());
            file.write_all(&tail)?;
            tail = keep;
        }
        transfer_progress(server, generation, -1, read);
    }
}

/// Loads a full sync's RDB and adopts the primary's history; false when the node stopped
/// following this primary meanwhile. Runs in a blocking thread.
pub(super) fn install_rdb(
    server: &Server,
    path: &std::path::Path,
    replid: &str,
    offset: i64,
    generation: u64,
) -> Result<bool, LinkError> {
    let mut shared = server.exec.lock();
    {
        let mut feed = server.feed.lock();
        if !follows(&feed.repl, generation) {
            return Ok(false);
        }
        // Our history is about to be replaced: sub-replicas must sync again, and until the
        // load is complete the stored position names no history at all.
        feed.repl.disconnect_replicas();
        feed.repl.drop_history();
        server.refresh_propagation(&feed);
    }
    tracing::info!("MASTER <-> REPLICA sync: Flushing old data");
    tracing::info!("MASTER <-> REPLICA sync: Loading DB in memory");
    crate::persistence::rdb_load::load_sync_payload(server, &mut shared, path).map_err(|e| {
        primary_error(format!(
            "Failed trying to load the MASTER synchronization DB from disk: {e}"
        ))
    })?;
    let stream_db = rdb_stream_db(path);
    let mut feed = server.feed.lock();
    feed.repl.replid = replid.to_string();
    server.repl_offset.store(offset, Ordering::SeqCst);
    feed.repl.backlog = None;
    ensure_backlog_at(server, &mut feed.repl, offset);
    server.refresh_propagation(&feed);
    if let Some(f) = feed.repl.follow.as_mut() {
        f.db = stream_db;
    }
    server.publish_stored(&mut feed, Bytes::new());
    let aof_on = feed.aof.is_some();
    drop(feed);
    if aof_on {
        // The loaded data bypassed the AOF: a rewrite makes it whole again, as Redis restarts
        // the AOF after a full sync.
        let _ = crate::persistence::aof::rewrite::request(server);
    }
    Ok(true)
}

/// The RDB's `repl-stream-db` aux field: the database the stream after it has selected (a
/// Redis primary starts with a SELECT anyway; a replica passing its primary's stream on does
/// not). 0 when absent.
fn rdb_stream_db(path: &std::path::Path) -> usize {
    use formats::rdb::{Event, Options, Poll, Reader};
    use std::io::Read;
    let Ok(mut file) = std::fs::File::open(path) else {
        return 0;
    };
    let mut reader = Reader::new(Options::default());
    let mut chunk = vec![0u8; 64 * 1024];
    loop {
        match reader.poll() {
            Ok(Poll::Event(Event::Aux { key, value })) if key == b"repl-stream-db" => {
                return std::str::from_utf8(&value)
                    .ok()
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0);
            }
            Ok(Poll::Event(Event::Header { .. } | Event::Aux { .. })) => {}
            Ok(Poll::NeedMore) => match file.read(&mut chunk) {
                Ok(n) if n > 0 => reader.feed(&chunk[..n]),
                _ => return 0,
            },
            _ => return 0,
        }
    }
}
