//! The blocking sorted-set commands: BZPOPMIN, BZPOPMAX, BZMPOP.
//!
//! Each first pops like ZPOPMIN / ZPOPMAX / ZMPOP from the first non-empty key (a key of another
//! type is WRONGTYPE), and otherwise blocks the client (inside MULTI it answers a null array at
//! once, as on timeout). The serve function pops from the key that became ready; a ready key
//! that is not a sorted set leaves the client blocked, as in Redis 7.0 (see `server::blocking`).

use bytes::Bytes;
use formats::resp::Reply;

use super::entries_reply;
use super::pop::{max_side, mpop_reply, pop, propagate_as_zpop};
use crate::commands::args::parse_mpop;
use crate::commands::table::Handler;
use crate::error::{CommandError, CommandResult};
use crate::server::blocking::{parse_timeout, unless_wrong_type};
use crate::server::Ctx;

pub const COMMANDS: &[(&str, Handler)] =
    &[("bzpopmin", bzpop), ("bzpopmax", bzpop), ("bzmpop", bzmpop)];

fn is_max(args: &[Bytes]) -> bool {
    args[0].eq_ignore_ascii_case(b"bzpopmax")
}

/// Pops one entry from `key` for BZPOPMIN/BZPOPMAX: `[key, member, score]`, or `None` when the
/// key is missing.
fn pop_one(ctx: &mut Ctx, key: &[u8], max: bool) -> Result<Option<Reply>, CommandError> {
    let popped = pop(ctx, key, max, 1)?;
    if popped.is_empty() {
        return Ok(None);
    }
    propagate_as_zpop(ctx, key, max, None);
    let mut reply = vec![Reply::bulk(key.to_vec())];
    reply.extend(entries_reply(popped, true, false));
    Ok(Some(Reply::Array(reply)))
}

/// BZPOPMIN / BZPOPMAX key [key ...] timeout.
fn bzpop(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    let timeout = parse_timeout(&args[args.len() - 1])?;
    let keys = &args[1..args.len() - 1];
    for key in keys {
        if let Some(reply) = pop_one(ctx, key, is_max(args))? {
            return Ok(reply);
        }
    }
    if ctx.may_block() {
        ctx.block(keys, args, timeout, serve_pop, Reply::NullArray);
    }
    Ok(Reply::NullArray)
}

fn serve_pop(ctx: &mut Ctx, args: &[Bytes], key: &[u8]) -> Result<Option<Reply>, CommandError> {
    unless_wrong_type(pop_one(ctx, key, is_max(args)))
}

/// BZMPOP timeout numkeys key [key ...] MIN|MAX [COUNT count].
fn bzmpop(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    let (keys, max, count) = parse_mpop(args, 2, max_side)?;
    let keys = &args[keys];
    let timeout = parse_timeout(&args[1])?;
    for key in keys {
        let popped = pop(ctx, key, max, count)?;
        if !popped.is_empty() {
            propagate_as_zpop(ctx, key, max, Some(popped.len()));
            return Ok(mpop_reply(key, popped));
        }
    }
    if ctx.may_block() {
        ctx.block(keys, args, timeout, serve_mpop, Reply::NullArray);
    }
    Ok(Reply::NullArray)
}

fn serve_mpop(ctx: &mut Ctx, args: &[Bytes], key: &[u8]) -> Result<Option<Reply>, CommandError> {
    let (_, max, count) = parse_mpop(args, 2, max_side)?;
    let popped = pop(ctx, key, max, count);
    if let Ok(popped) = &popped {
        if !popped.is_empty() {
            propagate_as_zpop(ctx, key, max, Some(popped.len()));
        }
    }
    unless_wrong_type(popped.map(|popped| (!popped.is_empty()).then(|| mpop_reply(key, popped))))
}
