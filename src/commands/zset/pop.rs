//! ZPOPMIN, ZPOPMAX and ZMPOP (Redis 7.0's `genericZpopCommand` family), and the pieces the
//! blocking BZPOPMIN / BZPOPMAX / BZMPOP (in the blocking-commands module) reuse:
//! - [`pop`] removes and returns up to `count` lowest or highest entries of one key, deleting
//!   the key when it empties, with Redis's dirty counting and keyspace events;
//! - [`entries_reply`](super::entries_reply) builds the member/score part of a reply (flat, or
//!   nested [member, score] pairs for ZMPOP / BZMPOP and RESP3 ZPOPMIN / ZPOPMAX with a count);
//! - [`mpop_reply`] builds the whole ZMPOP / BZMPOP reply `[key, [[member, score], ...]]`.

use bytes::Bytes;
use formats::resp::Reply;

use super::entries_reply;
use super::store::{Entry, ZSet};
use crate::commands::args::{parse_at_least, parse_mpop};
use crate::error::{CommandError, CommandResult};
use crate::server::{notify, Ctx};

/// Removes up to `count` entries of the sorted set at `key`, lowest scores first (highest with
/// `max`), and returns them in that order. A missing key gives nothing; another kind is
/// WRONGTYPE. Counts one `server.dirty` change per entry, records "zpopmin" / "zpopmax" once,
/// and deletes an emptied key with a generic "del" event, as `genericZpopCommand` does.
pub fn pop(ctx: &mut Ctx, key: &[u8], max: bool, count: u64) -> Result<Vec<Entry>, CommandError> {
    let Some(mut zset) = ZSet::write(ctx, key)? else {
        return Ok(Vec::new());
    };
    if count == 0 || zset.is_empty() {
        return Ok(Vec::new());
    }
    let end = count.min(zset.len()) - 1;
    let popped = zset.range_by_rank(ctx, 0, end, max)?;
    for (member, _) in &popped {
        zset.remove(ctx, member)?;
    }
    let removed = zset.save(ctx, popped.len() as u64)?;
    ctx.notify_and_del(
        notify::ZSET,
        if max { "zpopmax" } else { "zpopmin" },
        key,
        removed,
    );
    Ok(popped)
}

/// The ZMPOP / BZMPOP reply for entries popped from `key`: `[key, [[member, score], ...]]`
/// (nested pairs in both protocols).
pub fn mpop_reply(key: &[u8], entries: Vec<Entry>) -> Reply {
    Reply::Array(vec![
        Reply::bulk(key.to_vec()),
        Reply::Array(entries_reply(entries, true, true)),
    ])
}

/// What a pop of `count` entries from `key` by ZMPOP, BZMPOP or BZPOPMIN/MAX (`count` `None`)
/// propagates as: ZPOPMIN/ZPOPMAX key [count], as Redis rewrites them.
pub fn propagate_as_zpop(ctx: &mut Ctx, key: &[u8], max: bool, count: Option<usize>) {
    let command: &'static [u8] = if max { b"ZPOPMAX" } else { b"ZPOPMIN" };
    let mut args = vec![Bytes::from_static(command), Bytes::copy_from_slice(key)];
    if let Some(count) = count {
        args.push(Bytes::from(count.to_string()));
    }
    ctx.rewrite_propagated(args);
}

pub fn zpopmin(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    zpop_generic(ctx, args, false)
}

pub fn zpopmax(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    zpop_generic(ctx, args, true)
}

/// ZPOPMIN / ZPOPMAX key [count]: a flat member/score array, except with a count in RESP3,
/// where the pairs are nested.
fn zpop_generic(ctx: &mut Ctx, args: &[Bytes], max: bool) -> CommandResult {
    if args.len() > 3 {
        return Err(CommandError::Syntax);
    }
    let count = match args.get(2) {
        Some(arg) => Some(parse_at_least(
            arg,
            0,
            "ERR value is out of range, must be positive",
        )?),
        None => None,
    };
    let nested = ctx.client.protocol > 2 && count.is_some();
    let popped = pop(ctx, &args[1], max, count.unwrap_or(1))?;
    Ok(Reply::Array(entries_reply(popped, true, nested)))
}

/// ZMPOP numkeys key [key ...] MIN|MAX [COUNT count]: pops from the first non-empty key.
pub fn zmpop(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    let (keys, max, count) = parse_mpop(args, 1, max_side)?;
    for key in &args[keys] {
        let popped = pop(ctx, key, max, count)?;
        if !popped.is_empty() {
            propagate_as_zpop(ctx, key, max, Some(popped.len()));
            return Ok(mpop_reply(key, popped));
        }
    }
    Ok(Reply::NullArray)
}

/// Reads ZMPOP's / BZMPOP's side word for [`parse_mpop`]: whether to pop the highest scores.
pub fn max_side(arg: &[u8]) -> Option<bool> {
    if arg.eq_ignore_ascii_case(b"min") {
        Some(false)
    } else if arg.eq_ignore_ascii_case(b"max") {
        Some(true)
    } else {
        None
    }
}
