//! Replication commands: REPLCONF, PSYNC, SYNC, WAIT and ROLE on the primary's side, REPLICAOF
//! (SLAVEOF) to follow a primary or stop (`replication::replica`).
//!
//! PSYNC and SYNC answer nothing here: they hand the connection over to
//! `replication::primary`, which decides between `+CONTINUE` and `+FULLRESYNC` under the
//! execution lock and then serves the replica. WAIT answers at once when enough replicas have
//! acknowledged the client's last write; otherwise it asks them for an acknowledgement
//! (`REPLCONF GETACK *` in the stream) and the connection waits for them or the timeout.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use bytes::Bytes;
use formats::resp::Reply;

use super::args::parse_i64;
use super::table::Handler;
use crate::error::{CommandError, CommandResult};
use crate::replication::link::SyncState;
use crate::replication::primary::SyncRequest;
use crate::replication::replica::{self, LinkState};
use crate::server::client::ClientType;
use crate::server::context::Handover;
use crate::server::Ctx;

pub const COMMANDS: &[(&str, Handler)] = &[
    ("replconf", replconf),
    ("psync", psync),
    ("sync", sync),
    ("wait", wait),
    ("role", role),
    ("replicaof", replicaof),
    ("slaveof", replicaof),
];

/// REPLCONF option value [option value ...]: what a replica tells its primary before and after
/// PSYNC (`listening-port`, `ip-address`, `capa`, `ack`, `getack`, `rdb-only`).
fn replconf(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    if args.len().is_multiple_of(2) {
        return Err(CommandError::Syntax);
    }
    for pair in args[1..].chunks(2) {
        let (option, value) = (&pair[0], &pair[1]);
        let option = option.to_ascii_lowercase();
        match option.as_slice() {
            b"listening-port" => {
                let port = parse_i64(value)?;
                ctx.client.replica.listening_port = u16::try_from(port).unwrap_or(0);
            }
            b"capa" => {
                if value.eq_ignore_ascii_case(b"eof") {
                    ctx.client.replica.capa_eof = true;
                } else if value.eq_ignore_ascii_case(b"psync2") {
                    ctx.client.replica.capa_psync2 = true;
                }
            }
            // An ACK reaching a normal connection (the replica link reads its own) is ignored,
            // as are the options rockslot has no use for.
            b"ack" | b"getack" => return Ok(Reply::Raw(Bytes::new())),
            b"ip-address" | b"rdb-only" | b"rdb-filter-only" => {}
            _ => {
                return Err(CommandError::other(format!(
                    "ERR Unrecognized REPLCONF option: {}",
                    String::from_utf8_lossy(&pair[0])
                )))
            }
        }
    }
    Ok(Reply::ok())
}

fn refuse_inside_multi(ctx: &Ctx) -> Result<(), CommandError> {
    if ctx.client.multi.is_some() {
        return Err(CommandError::other(
            "ERR Command not allowed inside a transaction",
        ));
    }
    Ok(())
}

/// A replica serves PSYNC and SYNC only while its own link is up (Redis's syncCommand).
fn refuse_without_primary_link(ctx: &Ctx) -> Result<(), CommandError> {
    let feed = ctx.server.feed.lock();
    match &feed.repl.follow {
        Some(f) if f.state != LinkState::Connected => Err(CommandError::other(
            "NOMASTERLINK Can't SYNC while not connected with my master",
        )),
        _ => Ok(()),
    }
}

/// PSYNC replid offset: hands the connection to the primary's replica service.
fn psync(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    refuse_inside_multi(ctx)?;
    refuse_without_primary_link(ctx)?;
    let replid = String::from_utf8_lossy(&args[1]).into_owned();
    // An offset that is not a number can only be answered with a full sync.
    let offset = parse_i64(&args[2]).unwrap_or(-1);
    ctx.after.handover = Some(Handover::Sync(SyncRequest::Psync { replid, offset }));
    Ok(Reply::Raw(Bytes::new()))
}

/// SYNC: a full sync for replicas older than PSYNC.
fn sync(ctx: &mut Ctx, _args: &[Bytes]) -> CommandResult {
    refuse_inside_multi(ctx)?;
    refuse_without_primary_link(ctx)?;
    ctx.after.handover = Some(Handover::Sync(SyncRequest::Sync));
    Ok(Reply::Raw(Bytes::new()))
}

/// WAIT numreplicas timeout.
fn wait(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    let wanted = parse_i64(&args[1])?;
    let timeout = parse_i64(&args[2])
        .map_err(|_| CommandError::other("ERR timeout is not an integer or out of range"))?;
    if timeout < 0 {
        return Err(CommandError::other("ERR timeout is negative"));
    }
    if ctx.server.feed.lock().repl.following() {
        return Err(CommandError::other(
            "ERR WAIT cannot be used with replica instances. Please also note that since Redis 4.0 if a replica is configured to be writable (which is not the default) writes to replicas are just local and are not propagated.",
        ));
    }
    let target = ctx.client.woff;
    let acked = ctx.server.feed.lock().repl.acknowledged(target);
    if acked >= wanted || ctx.client.multi.is_some() {
        return Ok(Reply::Integer(acked));
    }
    ctx.server.propagate_raw(&[b"REPLCONF", b"GETACK", b"*"]);
    let deadline = (timeout > 0).then(|| Instant::now() + Duration::from_millis(timeout as u64));
    ctx.after.handover = Some(Handover::Wait {
        offset: target,
        replicas: wanted,
        deadline,
    });
    Ok(Reply::Raw(Bytes::new()))
}

/// ROLE: `master`, the offset, and each replica's address, port and acknowledged offset; on a
/// replica `slave`, the primary's host and port, the link state and the offset (-1 before the
/// first sync).
fn role(ctx: &mut Ctx, _args: &[Bytes]) -> CommandResult {
    let offset = ctx.server.repl_offset.load(Ordering::SeqCst);
    let feed = ctx.server.feed.lock();
    if let Some(f) = &feed.repl.follow {
        // The offset of the primary, or of the cached one (the node's own history).
        let known = f.client_id.is_some() || feed.repl.backlog.is_some();
        return Ok(Reply::Array(vec![
            Reply::bulk("slave"),
            Reply::bulk(f.host.clone()),
            Reply::Integer(i64::from(f.port)),
            Reply::bulk(f.state.name()),
            Reply::Integer(if known { offset } else { -1 }),
        ]));
    }
    drop(feed);
    let replicas = ctx
        .server
        .feed
        .lock()
        .repl
        .links
        .iter()
        .filter(|l| l.state() == SyncState::Online)
        .map(|l| {
            Reply::Array(vec![
                Reply::bulk(l.addr.ip().to_string()),
                Reply::bulk(l.listening_port.to_string()),
                Reply::bulk(l.ack_offset.load(Ordering::Relaxed).to_string()),
            ])
        })
        .collect();
    Ok(Reply::Array(vec![
        Reply::bulk("master"),
        Reply::Integer(offset),
        Reply::Array(replicas),
    ]))
}

/// REPLICAOF host port | NO ONE (SLAVEOF): follow a primary, or stop following and become one.
fn replicaof(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    if ctx.server.config.read().cluster_enabled() {
        return Err(CommandError::other(
            "ERR REPLICAOF not allowed in cluster mode.",
        ));
    }
    let (host, port) = (&args[1], &args[2]);
    if host.eq_ignore_ascii_case(b"no") && port.eq_ignore_ascii_case(b"one") {
        replica::promote(ctx.server, ctx.shared);
    } else {
        if ctx.client.client_type == ClientType::Replica {
            return Err(CommandError::other(
                "ERR Command is not valid when client is a replica.",
            ));
        }
        let port = parse_i64(port)?;
        let port =
            u16::try_from(port).map_err(|_| CommandError::other("ERR Invalid master port"))?;
        let host = String::from_utf8_lossy(host).into_owned();
        let same = ctx
            .server
            .feed
            .lock()
            .repl
            .follow
            .as_ref()
            .is_some_and(|f| f.host.eq_ignore_ascii_case(&host) && f.port == port);
        if same {
            tracing::info!("REPLICAOF would result into synchronization with the master we are already connected with. No operation performed.");
            return Ok(Reply::Simple(
                "OK Already connected to specified master".into(),
            ));
        }
        replica::set_primary(ctx.server, ctx.shared, host.clone(), port);
        tracing::info!(
            "REPLICAOF {host}:{port} enabled (user request from '{}')",
            ctx.client.addr
        );
    }
    let mut config = ctx.server.config.write();
    config
        .set_internal("replicaof", &[&args[1][..], &args[2][..]])
        .map_err(|e| CommandError::other(format!("ERR {e}")))?;
    ctx.server.tunables.refresh(&config);
    Ok(Reply::ok())
}
