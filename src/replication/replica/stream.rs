//! Applying the primary's stream on the replica: each command executed as the primary client,
//! its bytes passed on verbatim with the commit that applies it, GETACK answered, an ACK every
//! second.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use formats::resp::{parse_command, Limits};
use tokio::io::AsyncReadExt;

use super::{current, primary_error, Conn, LinkError};
use crate::server::{dispatch, unix_ms, Server};

/// Applies the primary's stream until the link ends, acknowledging every second.
pub(super) async fn apply_stream(
    server: &Server,
    conn: &mut Conn,
    client_id: u64,
    generation: u64,
) -> Result<(), LinkError> {
    // The bytes read, mirrored: parsing consumes `conn.input`, the same bytes are cut from
    // `mirror` to be passed on verbatim.
    let mut mirror = BytesMut::from(&conn.input[..]);
    let mut held = BytesMut::new();
    send_ack(server, conn).await?;
    let mut ticker = tokio::time::interval(Duration::from_secs(1));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let acks = apply_buffered(server, conn, &mut mirror, &mut held, client_id, generation)?;
        // What was applied reaches the OS now, so a kill -9 keeps it with its offset and the
        // restarted node continues from there.
        if let Err(e) = server.flush_logs(false) {
            tracing::warn!("{e}");
        }
        for offset in acks {
            conn.command(&[b"REPLCONF", b"ACK", offset.to_string().as_bytes()])
                .await?;
        }
        tokio::select! {
            read = conn.stream.read_buf(&mut conn.input) => {
                let n = read?;
                if n == 0 {
                    return Err(primary_error("the primary closed the connection"));
                }
                let start = conn.input.len() - n;
                mirror.extend_from_slice(&conn.input[start..]);
                let mut feed = server.feed.lock();
                if let Some(f) = feed.repl.follow.as_mut() {
                    f.last_io_ms = unix_ms();
                    f.unapplied = conn.input.len() as i64;
                }
            }
            _ = ticker.tick() => {
                let silent_ms = server
                    .feed
                    .lock()
                    .repl
                    .follow
                    .as_ref()
                    .map_or(0, |f| unix_ms() - f.last_io_ms);
                if silent_ms > server.config.read().repl_timeout().as_millis() as i64 {
                    return Err(primary_error("MASTER timeout: no data nor PING received..."));
                }
                send_ack(server, conn).await?;
            }
        }
    }
}

async fn send_ack(server: &Server, conn: &mut Conn) -> Result<(), LinkError> {
    let offset = server.repl_offset.load(Ordering::SeqCst);
    conn.command(&[b"REPLCONF", b"ACK", offset.to_string().as_bytes()])
        .await
}

/// Executes the complete commands buffered, under the execution lock; returns the offsets that
/// `REPLCONF GETACK` asked to acknowledge.
fn apply_buffered(
    server: &Server,
    conn: &mut Conn,
    mirror: &mut BytesMut,
    held: &mut BytesMut,
    client_id: u64,
    generation: u64,
) -> Result<Vec<i64>, LinkError> {
    let limits = Limits {
        max_bulk_bytes: i64::MAX,
        authenticated: true,
    };
    let mut acks = Vec::new();
    if conn.input.is_empty() {
        return Ok(acks);
    }
    let mut shared = server.exec.lock();
    if !current(server, generation) {
        return Err(primary_error("no longer following this primary"));
    }
    loop {
        let before = conn.input.len();
        let request = match parse_command(&mut conn.input, limits) {
            Ok(Some(request)) => request,
            Ok(None) => break,
            Err(e) => return Err(primary_error(format!("protocol error from master: {e}"))),
        };
        let raw = mirror.split_to(before - conn.input.len()).freeze();
        let args = &request.args;
        let name = args[0].to_ascii_lowercase();
        if name == b"replconf"
            && args
                .get(1)
                .is_some_and(|a| a.eq_ignore_ascii_case(b"getack"))
        {
            // The offset before the GETACK itself, as Redis answers.
            acks.push(server.repl_offset.load(Ordering::SeqCst));
            let mut feed = server.feed.lock();
            server.publish_stored(&mut feed, raw);
            continue;
        }
        if name == b"select" {
            // Stored with the next batch (inside MULTI: EXEC's), so a restarted replica knows where the stream stands.
            let db = args
                .get(1)
                .and_then(|a| std::str::from_utf8(a).ok()?.parse().ok());
            if let (Some(db), Some(f)) = (db, server.feed.lock().repl.follow.as_mut()) {
                f.db = db;
            }
        }
        let in_multi = shared
            .clients
            .get(&client_id)
            .is_some_and(|c| c.multi.is_some());
        if name == b"multi" || (in_multi && name != b"exec" && name != b"discard") {
            held.extend_from_slice(&raw);
            dispatch::execute(server, &mut shared, client_id, args, 0, Instant::now());
            continue;
        }
        let bytes = if held.is_empty() {
            raw
        } else {
            held.extend_from_slice(&raw);
            held.split().freeze()
        };
        server.feed.lock().repl.set_pending_raw(bytes);
        let outcome = dispatch::execute(server, &mut shared, client_id, args, 0, Instant::now());
        if let Some(formats::resp::Reply::Error(error)) = outcome.reply {
            // Redis logs the same: the datasets may now differ.
            tracing::warn!(
                "== CRITICAL == This replica is sending an error to its master: '{error}' after processing the command '{}'",
                String::from_utf8_lossy(&args[0])
            );
        }
        let mut feed = server.feed.lock();
        if let Some(untaken) = feed.repl.take_pending_raw() {
            server.publish_stored(&mut feed, untaken);
        }
    }
    let mut feed = server.feed.lock();
    if let Some(f) = feed.repl.follow.as_mut() {
        f.unapplied = conn.input.len() as i64;
    }
    Ok(acks)
}
