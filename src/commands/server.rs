//! Server commands on the whole dataset and the process: DBSIZE, FLUSHDB, FLUSHALL, SWAPDB, TIME,
//! SAVE, BGSAVE, BGREWRITEAOF, LASTSAVE, SHUTDOWN and MONITOR.
//!
//! FLUSHDB and FLUSHALL are always synchronous: emptying a database is a range deletion per slot
//! family inside the command's one write batch, which costs microseconds whatever the size of the
//! data, so ASYNC has nothing left to defer (the options are still parsed like Redis does).
//! SHUTDOWN hands over to the startup task, which flushes the memtables and syncs the WAL with
//! every command excluded; the calling connection is closed without a reply, as Redis exits
//! without answering.

use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use formats::resp::Reply;

use super::args::parse_i64;
use super::table::Handler;
use crate::error::{CommandError, CommandResult};
use crate::persistence::aof::rewrite::{self, Refused};
use crate::persistence::rdb_save;
use crate::server::{transaction, Ctx};

pub const COMMANDS: &[(&str, Handler)] = &[
    ("dbsize", dbsize),
    ("flushdb", flushdb),
    ("flushall", flushall),
    ("swapdb", swapdb),
    ("time", time),
    ("lastsave", lastsave),
    ("save", save),
    ("bgsave", bgsave),
    ("bgrewriteaof", bgrewriteaof),
    ("shutdown", shutdown),
    ("monitor", monitor),
];

fn is(arg: &[u8], word: &str) -> bool {
    arg.eq_ignore_ascii_case(word.as_bytes())
}

/// An encoded reply of nothing at all: for the cases where Redis sends no reply (a second
/// MONITOR, a successful SHUTDOWN).
fn no_reply() -> Reply {
    Reply::Raw(Bytes::new())
}

fn dbsize(ctx: &mut Ctx, _args: &[Bytes]) -> CommandResult {
    let (keys, _) = ctx.txn.db_counts(ctx.db())?;
    Ok(Reply::Integer(keys as i64))
}

/// Redis's `getFlushCommandFlags`: nothing, SYNC or ASYNC.
fn check_flush_options(args: &[Bytes]) -> Result<(), CommandError> {
    match args.len() {
        1 => Ok(()),
        2 if is(&args[1], "sync") || is(&args[1], "async") => Ok(()),
        _ => Err(CommandError::Syntax),
    }
}

/// Empties logical database `db`; returns how many keys it held (Redis adds them to `dirty`).
fn flush_one(ctx: &mut Ctx, db: usize) -> Result<u64, CommandError> {
    let (keys, _) = ctx.txn.db_counts(db)?;
    transaction::touch_db(ctx, db, None)?;
    ctx.txn.flush_db(db)?;
    Ok(keys)
}

fn flushdb(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    check_flush_options(args)?;
    let db = ctx.db();
    ctx.dirty += flush_one(ctx, db)?;
    // Propagated even when the database was already empty, as Redis does.
    ctx.force_propagation();
    Ok(Reply::ok())
}

fn flushall(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    check_flush_options(args)?;
    let mut removed = 0;
    for db in 0..ctx.server.engine.databases() {
        removed += flush_one(ctx, db)?;
    }
    // Like Redis (without save points), the change counter grows by the keys removed only, and
    // a FLUSHALL of empty databases is propagated all the same.
    ctx.dirty += removed;
    ctx.force_propagation();
    Ok(Reply::ok())
}

fn swapdb(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    if ctx.server.config.read().cluster_enabled() {
        return Err(CommandError::other(
            "ERR SWAPDB is not allowed in cluster mode",
        ));
    }
    // `getIntFromObjectOrReply`: a 64-bit integer that must also fit in a C int.
    let index = |arg: &[u8], which: &str| {
        parse_i64(arg)
            .ok()
            .filter(|i| i32::try_from(*i).is_ok())
            .ok_or_else(|| CommandError::other(format!("ERR invalid {which} DB index")))
    };
    let first = index(&args[1], "first")?;
    let second = index(&args[2], "second")?;
    let (first, second) = (ctx.check_db(first)?, ctx.check_db(second)?);
    transaction::touch_db(ctx, first, Some(second))?;
    transaction::touch_db(ctx, second, Some(first))?;
    ctx.txn.swap_dbs(first, second)?;
    ctx.dirty += 1;
    Ok(Reply::ok())
}

fn time(_ctx: &mut Ctx, _args: &[Bytes]) -> CommandResult {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    Ok(Reply::Array(vec![
        Reply::bulk(now.as_secs().to_string()),
        Reply::bulk(now.subsec_micros().to_string()),
    ]))
}

/// SAVE: writes `dbfilename` before replying (from a snapshot; other clients wait, as in
/// Redis, because the command holds the execution lock).
fn save(ctx: &mut Ctx, _args: &[Bytes]) -> CommandResult {
    if ctx
        .server
        .stats
        .bgsave_started_ms
        .load(std::sync::atomic::Ordering::SeqCst)
        != 0
    {
        return Err(CommandError::other(
            "ERR Background save already in progress",
        ));
    }
    match rdb_save::save_now(ctx.server) {
        Ok(_) => Ok(Reply::ok()),
        Err(e) => {
            tracing::warn!("Error saving DB on disk: {e}");
            Err(CommandError::other("ERR"))
        }
    }
}

/// BGSAVE [SCHEDULE]: starts a save in the background (see `persistence::rdb_save`).
fn bgsave(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    let schedule = match args.get(1) {
        None => false,
        Some(arg) if args.len() == 2 && is(arg, "schedule") => true,
        Some(_) => return Err(CommandError::Syntax),
    };
    if ctx.server.aof_rewrite.in_progress() {
        if schedule {
            ctx.server
                .stats
                .bgsave_scheduled
                .store(true, std::sync::atomic::Ordering::SeqCst);
            return Ok(Reply::Simple("Background saving scheduled".into()));
        }
        return Err(CommandError::other(
            "ERR An AOF log rewriting in progress: can't BGSAVE right now. Use BGSAVE SCHEDULE in order to schedule a BGSAVE whenever possible.",
        ));
    }
    if rdb_save::request_background_save(ctx.server) {
        return Ok(Reply::Simple("Background saving started".into()));
    }
    if schedule {
        return Ok(Reply::Simple("Background saving scheduled".into()));
    }
    Err(CommandError::other(
        "ERR Background save already in progress",
    ))
}

/// BGREWRITEAOF: a new AOF base from a snapshot, in the background (see
/// `persistence::aof::rewrite`); inside MULTI or during a BGSAVE it is scheduled, as in Redis.
fn bgrewriteaof(ctx: &mut Ctx, _args: &[Bytes]) -> CommandResult {
    let scheduled = || {
        Ok(Reply::Simple(
            "Background append only file rewriting scheduled".into(),
        ))
    };
    if ctx.server.aof_rewrite.in_progress() {
        return Err(CommandError::other(
            "ERR Background append only file rewriting already in progress",
        ));
    }
    if ctx.client.multi.is_some() {
        ctx.server
            .aof_rewrite
            .scheduled
            .store(true, std::sync::atomic::Ordering::SeqCst);
        return scheduled();
    }
    match rewrite::request(ctx.server) {
        Ok(()) => Ok(Reply::Simple(
            "Background append only file rewriting started".into(),
        )),
        Err(Refused::Scheduled) => scheduled(),
        Err(Refused::InProgress) => Err(CommandError::other(
            "ERR Background append only file rewriting already in progress",
        )),
    }
}

fn lastsave(ctx: &mut Ctx, _args: &[Bytes]) -> CommandResult {
    Ok(Reply::Integer(
        ctx.server
            .stats
            .last_save_unix
            .load(std::sync::atomic::Ordering::Relaxed),
    ))
}

/// SHUTDOWN [NOSAVE|SAVE] [NOW] [FORCE] [ABORT], Redis 7.0's syntax. SAVE writes `dbfilename`
/// first (a failed save cancels the shutdown); without it no RDB file is written, because
/// RocksDB holds the data. NOW and FORCE change nothing here: rockslot has no replicas to wait
/// for. ABORT always finds no shutdown in progress, because a requested shutdown starts at
/// once.
fn shutdown(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    let (mut nosave, mut save, mut flags, mut abort) = (false, false, false, false);
    for arg in &args[1..] {
        if is(arg, "nosave") {
            nosave = true;
        } else if is(arg, "save") {
            save = true;
        } else if is(arg, "now") || is(arg, "force") {
            flags = true;
        } else if is(arg, "abort") {
            abort = true;
        } else {
            return Err(CommandError::Syntax);
        }
    }
    if (abort && (nosave || save || flags)) || (nosave && save) {
        return Err(CommandError::Syntax);
    }
    if abort {
        return Err(CommandError::other("ERR No shutdown in progress."));
    }
    tracing::info!(
        "SHUTDOWN requested by client {} ({})",
        ctx.client.id,
        ctx.client.addr
    );
    if save {
        if let Err(e) = rdb_save::save_now(ctx.server) {
            tracing::warn!("Error trying to save the DB, can't exit: {e}");
            return Err(CommandError::other(
                "ERR Errors trying to SHUTDOWN. Check logs.",
            ));
        }
    }
    ctx.server.request_shutdown();
    ctx.after.close = true;
    Ok(no_reply())
}

/// MONITOR: the dispatcher feeds every later command to the clients listed in
/// `shared.monitors`. A client already monitoring gets no reply at all, as in Redis.
fn monitor(ctx: &mut Ctx, _args: &[Bytes]) -> CommandResult {
    if ctx.client.monitor {
        return Ok(no_reply());
    }
    ctx.client.monitor = true;
    ctx.shared.monitors.push(ctx.client.id);
    Ok(Reply::ok())
}
