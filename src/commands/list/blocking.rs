//! The blocking list commands: BLPOP, BRPOP, BLMOVE, BRPOPLPUSH, BLMPOP.
//!
//! Each first behaves like its non-blocking twin on the first non-empty key (in argument order),
//! with Redis 7.0's argument checks in Redis's order. When every key is missing it blocks the
//! client (inside MULTI it answers at once as if the timeout had passed) and leaves a serve
//! function that pops from the key that became ready (see `server::blocking`). A ready key that
//! is not a list (it was replaced meanwhile) leaves the client blocked, as in Redis 7.0.

use bytes::Bytes;
use formats::resp::Reply;

use super::store::{End, List};
use super::{move_element, mpop_from, pop_one};
use crate::commands::args::parse_mpop;
use crate::commands::table::Handler;
use crate::error::{CommandError, CommandResult};
use crate::server::blocking::{parse_timeout, unless_wrong_type};
use crate::server::Ctx;

pub const COMMANDS: &[(&str, Handler)] = &[
    ("blpop", blocking_pop),
    ("brpop", blocking_pop),
    ("blmove", blocking_move),
    ("brpoplpush", blocking_move),
    ("blmpop", blmpop),
];

fn end_of(args: &[Bytes]) -> End {
    if args[0].eq_ignore_ascii_case(b"brpop") {
        End::Right
    } else {
        End::Left
    }
}

/// BLPOP/BRPOP key [key ...] timeout.
fn blocking_pop(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    let timeout = parse_timeout(&args[args.len() - 1])?;
    let keys = &args[1..args.len() - 1];
    let end = end_of(args);
    for key in keys {
        if let Some(reply) = pop_one(ctx, key, end)? {
            return Ok(reply);
        }
    }
    if ctx.may_block() {
        ctx.block(keys, args, timeout, serve_pop, Reply::NullArray);
    }
    Ok(Reply::NullArray)
}

fn serve_pop(ctx: &mut Ctx, args: &[Bytes], key: &[u8]) -> Result<Option<Reply>, CommandError> {
    unless_wrong_type(pop_one(ctx, &Bytes::copy_from_slice(key), end_of(args)))
}

/// The ends BLMOVE/BRPOPLPUSH move between.
fn move_ends(args: &[Bytes]) -> Result<(End, End), CommandError> {
    if args[0].eq_ignore_ascii_case(b"brpoplpush") {
        return Ok((End::Right, End::Left));
    }
    Ok((End::parse(&args[3])?, End::parse(&args[4])?))
}

/// BLMOVE source destination LEFT|RIGHT LEFT|RIGHT timeout, BRPOPLPUSH source destination
/// timeout.
fn blocking_move(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    let (from, to) = move_ends(args)?;
    let timeout = parse_timeout(&args[args.len() - 1])?;
    // A missing source is the only reason to answer null.
    let reply = move_element(ctx, &args[1], &args[2], from, to)?;
    if reply != Reply::Null {
        return Ok(reply);
    }
    if ctx.may_block() {
        // A timeout answers a null array, though the immediate answer is a null bulk string.
        ctx.block(&args[1..2], args, timeout, serve_move, Reply::NullArray);
    }
    Ok(Reply::Null)
}

fn serve_move(ctx: &mut Ctx, args: &[Bytes], key: &[u8]) -> Result<Option<Reply>, CommandError> {
    match List::write(ctx, key) {
        Ok(Some(_)) => {}
        Ok(None) | Err(CommandError::WrongType) => return Ok(None),
        Err(e) => return Err(e),
    }
    let (from, to) = move_ends(args)?;
    let reply = move_element(ctx, key, &args[2], from, to)?;
    // Served, it propagates as the non-blocking command (Redis's serveClientBlockedOnList).
    let mut propagated = vec![Bytes::copy_from_slice(key), args[2].clone()];
    if args[0].eq_ignore_ascii_case(b"brpoplpush") {
        propagated.insert(0, Bytes::from_static(b"RPOPLPUSH"));
    } else {
        propagated.insert(0, Bytes::from_static(b"LMOVE"));
        propagated.push(Bytes::from_static(from.name().as_bytes()));
        propagated.push(Bytes::from_static(to.name().as_bytes()));
    }
    ctx.rewrite_propagated(propagated);
    Ok(Some(reply))
}

/// BLMPOP timeout numkeys key [key ...] LEFT|RIGHT [COUNT count].
fn blmpop(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    let (keys, end, count) = parse_mpop(args, 2, End::side)?;
    let timeout = parse_timeout(&args[1])?;
    for key in &args[keys.clone()] {
        if let Some(reply) = mpop_from(ctx, key, end, count)? {
            return Ok(reply);
        }
    }
    if ctx.may_block() {
        ctx.block(&args[keys], args, timeout, serve_mpop, Reply::NullArray);
    }
    Ok(Reply::NullArray)
}

fn serve_mpop(ctx: &mut Ctx, args: &[Bytes], key: &[u8]) -> Result<Option<Reply>, CommandError> {
    let (_, end, count) = parse_mpop(args, 2, End::side)?;
    unless_wrong_type(mpop_from(ctx, &Bytes::copy_from_slice(key), end, count))
}
