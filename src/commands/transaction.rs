//! Transactions: MULTI, EXEC, DISCARD, WATCH, UNWATCH.
//!
//! Queueing happens in the dispatcher (see `server::transaction` for the rules and the WATCH
//! bookkeeping); these handlers open, run and drop the queue. EXEC runs every queued command in
//! its own engine transaction, so the whole block is committed as one batch: other clients see
//! all of it or none of it, and a crash keeps all of it or none of it.

use bytes::Bytes;
use formats::resp::Reply;

use super::table::Handler;
use crate::error::{CommandError, CommandResult};
use crate::server::dispatch;
use crate::server::transaction::{self, Multi};
use crate::server::Ctx;

pub const COMMANDS: &[(&str, Handler)] = &[
    ("multi", multi),
    ("exec", exec),
    ("discard", discard),
    ("watch", watch),
    ("unwatch", unwatch),
];

fn multi(ctx: &mut Ctx, _args: &[Bytes]) -> CommandResult {
    if ctx.client.multi.is_some() {
        return Err(CommandError::other("ERR MULTI calls can not be nested"));
    }
    ctx.client.multi = Some(Multi::default());
    Ok(Reply::ok())
}

/// Ends the client's transaction and forgets its watched keys (Redis's discardTransaction).
fn end_transaction(ctx: &mut Ctx) {
    ctx.client.multi = None;
    ctx.shared.watchers.unwatch_all(ctx.client);
}

fn exec(ctx: &mut Ctx, _args: &[Bytes]) -> CommandResult {
    let Some(multi) = ctx.client.multi.as_mut() else {
        return Err(CommandError::other("ERR EXEC without MULTI"));
    };
    if multi.failed {
        end_transaction(ctx);
        return Err(CommandError::other(
            "EXECABORT Transaction discarded because of previous errors.",
        ));
    }
    let queue = std::mem::take(&mut multi.queue);
    if ctx.client.dirty_cas || transaction::watched_key_expired(ctx)? {
        end_transaction(ctx);
        return Ok(Reply::NullArray);
    }
    // Unwatch first, as Redis does: the block's own writes must not dirty anything of ours. The
    // client stays in MULTI while the queue runs, so blocking commands do not block.
    ctx.shared.watchers.unwatch_all(ctx.client);
    let mut replies = Vec::with_capacity(queue.len());
    for args in &queue {
        let reply = match ctx.server.commands.lookup(args) {
            Ok(entry) => dispatch::call(ctx, entry, args),
            Err(e) => e.to_reply(),
        };
        replies.push(reply);
    }
    ctx.client.multi = None;
    Ok(Reply::Array(replies))
}

fn discard(ctx: &mut Ctx, _args: &[Bytes]) -> CommandResult {
    if ctx.client.multi.is_none() {
        return Err(CommandError::other("ERR DISCARD without MULTI"));
    }
    end_transaction(ctx);
    Ok(Reply::ok())
}

fn watch(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    if ctx.client.multi.is_some() {
        return Err(CommandError::other("ERR WATCH inside MULTI is not allowed"));
    }
    // No point in watching more once a watched key has changed.
    if ctx.client.dirty_cas {
        return Ok(Reply::ok());
    }
    let db = ctx.db();
    for key in &args[1..] {
        let expired = ctx
            .txn
            .get(db, key)?
            .is_some_and(|m| m.is_expired(ctx.now_ms));
        ctx.shared.watchers.add(ctx.client, db, key, expired);
    }
    Ok(Reply::ok())
}

fn unwatch(ctx: &mut Ctx, _args: &[Bytes]) -> CommandResult {
    ctx.shared.watchers.unwatch_all(ctx.client);
    Ok(Reply::ok())
}
