//! The range commands: ZRANGE (BYSCORE / BYLEX / REV / LIMIT / WITHSCORES) and ZRANGESTORE,
//! the older ZREVRANGE, Z[REV]RANGEBYSCORE and Z[REV]RANGEBYLEX, ZCOUNT, ZLEXCOUNT and
//! ZREMRANGEBYRANK / BYSCORE / BYLEX, following Redis 7.0's `zrangeGenericCommand` and
//! `zremrangeGenericCommand`: options are parsed (and rejected) before the key is looked up,
//! ranks are sanitised the Redis way, a negative LIMIT offset returns nothing and a negative
//! LIMIT count means no limit.

use bytes::Bytes;
use formats::resp::Reply;

use super::entries_reply;
use super::store::{self, Entry, LexRange, ScoreRange, ZSet};
use crate::commands::args::parse_i64;
use crate::error::{CommandError, CommandResult};
use crate::server::{notify, Ctx};

/// Which ordering a range is expressed in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Rank,
    Score,
    Lex,
}

/// A parsed range request.
enum Request {
    Rank(i64, i64),
    Score(ScoreRange),
    Lex(LexRange),
}

pub fn zrange(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    range_generic(ctx, args, None, None, None)
}

pub fn zrangestore(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    range_generic(ctx, &args[1..], Some(&args[1]), None, None)
}

pub fn zrevrange(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    range_generic(ctx, args, None, Some(Kind::Rank), Some(true))
}

pub fn zrangebyscore(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    range_generic(ctx, args, None, Some(Kind::Score), Some(false))
}

pub fn zrevrangebyscore(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    range_generic(ctx, args, None, Some(Kind::Score), Some(true))
}

pub fn zrangebylex(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    range_generic(ctx, args, None, Some(Kind::Lex), Some(false))
}

pub fn zrevrangebylex(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    range_generic(ctx, args, None, Some(Kind::Lex), Some(true))
}

/// Redis's `zrangeGenericCommand`. `args[1]` is the source key and `args[2..4]` the range
/// (for ZRANGESTORE the caller passes its arguments from the destination on, so the command
/// name slot holds the destination); `kind` / `reverse` are fixed by the older commands and
/// chosen by options for ZRANGE and ZRANGESTORE.
fn range_generic(
    ctx: &mut Ctx,
    args: &[Bytes],
    destination: Option<&[u8]>,
    kind: Option<Kind>,
    reverse: Option<bool>,
) -> CommandResult {
    let store = destination.is_some();
    let (mut kind, mut reverse) = (kind, reverse);
    let mut with_scores = false;
    let mut limit: Option<(i64, i64)> = None;
    let mut j = 4;
    while j < args.len() {
        let word = args[j].to_ascii_lowercase();
        let left = args.len() - j - 1;
        match word.as_slice() {
            b"withscores" if !store => with_scores = true,
            b"limit" if left >= 2 => {
                limit = Some((parse_i64(&args[j + 1])?, parse_i64(&args[j + 2])?));
                j += 2;
            }
            b"rev" if reverse.is_none() => reverse = Some(true),
            b"bylex" if kind.is_none() => kind = Some(Kind::Lex),
            b"byscore" if kind.is_none() => kind = Some(Kind::Score),
            _ => return Err(CommandError::Syntax),
        }
        j += 1;
    }
    let kind = kind.unwrap_or(Kind::Rank);
    let reverse = reverse.unwrap_or(false);
    // `limit` as Redis keeps it: -1 count unless given.
    if limit.is_some_and(|(_, count)| count != -1) && kind == Kind::Rank {
        return Err(CommandError::other(
            "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX",
        ));
    }
    if with_scores && kind == Kind::Lex {
        return Err(CommandError::other(
            "ERR syntax error, WITHSCORES not supported in combination with BYLEX",
        ));
    }
    let (mut min, mut max) = (&args[2][..], &args[3][..]);
    if reverse && kind != Kind::Rank {
        std::mem::swap(&mut min, &mut max);
    }
    let request = match kind {
        Kind::Rank => Request::Rank(parse_i64(min)?, parse_i64(max)?),
        Kind::Score => Request::Score(ScoreRange::parse(min, max)?),
        Kind::Lex => Request::Lex(LexRange::parse(min, max)?),
    };
    let (offset, count) = limit.unwrap_or((0, -1));
    let count = u64::try_from(count).ok();
    let entries = match ZSet::read(ctx, &args[1])? {
        None => Vec::new(),
        Some(zset) => match &request {
            Request::Rank(start, end) => match sanitize(*start, *end, zset.len()) {
                Some((start, end)) => zset.range_by_rank(ctx, start, end, reverse)?,
                None => Vec::new(),
            },
            Request::Score(range) => zset.range_by_score(ctx, range, reverse, offset, count)?,
            Request::Lex(range) => zset.range_by_lex(ctx, range, reverse, offset, count)?,
        },
    };
    match destination {
        Some(destination) => store_range(ctx, destination, entries),
        None => {
            let nested = ctx.client.protocol > 2;
            Ok(Reply::Array(entries_reply(entries, with_scores, nested)))
        }
    }
}

/// ZRANGESTORE's result (Redis's `zrangeResultFinalizeStore`).
///
/// Redis builds the destination by adding the range's entries in order to a new set that starts
/// as a listpack (unless the range is longer than `zset-max-listpack-entries`) and turns into a
/// skiplist at the first entry that does not fit. A listpack stores an integral score as an
/// integer, so the entries added before that point lose the sign of a -0 score; the later ones
/// keep it.
fn store_range(ctx: &mut Ctx, destination: &[u8], mut entries: Vec<Entry>) -> CommandResult {
    let limits = ZSet::limits(ctx);
    let mut listpack = entries.len() as u64 <= limits.entries;
    for (member, score) in entries.iter_mut() {
        // (A range no longer than the entry limit never outgrows it.)
        listpack &= member.len() <= limits.value;
        if !listpack {
            break;
        }
        if *score == 0.0 {
            *score = 0.0;
        }
    }
    let stored = store::replace(ctx, destination, entries, "zrangestore", 1)?;
    Ok(Reply::Integer(stored as i64))
}

/// Redis's rank sanitising: negative ranks count from the end; `None` for an empty range.
fn sanitize(start: i64, end: i64, len: u64) -> Option<(u64, u64)> {
    let len = i64::try_from(len).unwrap_or(i64::MAX);
    let start = if start < 0 { start + len } else { start }.max(0);
    let end = if end < 0 { end + len } else { end };
    if start > end || start >= len {
        return None;
    }
    Some((start as u64, end.min(len - 1) as u64))
}

pub fn zcount(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    let range = ScoreRange::parse(&args[2], &args[3])?;
    let count = match ZSet::read(ctx, &args[1])? {
        Some(zset) => zset.count_by_score(ctx, &range)?,
        None => 0,
    };
    Ok(Reply::Integer(count as i64))
}

pub fn zlexcount(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    let range = LexRange::parse(&args[2], &args[3])?;
    let count = match ZSet::read(ctx, &args[1])? {
        Some(zset) => zset.count_by_lex(ctx, &range)?,
        None => 0,
    };
    Ok(Reply::Integer(count as i64))
}

pub fn zremrangebyrank(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    let request = Request::Rank(parse_i64(&args[2])?, parse_i64(&args[3])?);
    remrange_generic(ctx, &args[1], request, "zremrangebyrank")
}

pub fn zremrangebyscore(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    let request = Request::Score(ScoreRange::parse(&args[2], &args[3])?);
    remrange_generic(ctx, &args[1], request, "zremrangebyscore")
}

pub fn zremrangebylex(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    let request = Request::Lex(LexRange::parse(&args[2], &args[3])?);
    remrange_generic(ctx, &args[1], request, "zremrangebylex")
}

/// Redis's `zremrangeGenericCommand`, the range already parsed.
fn remrange_generic(
    ctx: &mut Ctx,
    key: &[u8],
    request: Request,
    event: &'static str,
) -> CommandResult {
    let Some(mut zset) = ZSet::write(ctx, key)? else {
        return Ok(Reply::Integer(0));
    };
    let doomed = match &request {
        Request::Rank(start, end) => match sanitize(*start, *end, zset.len()) {
            Some((start, end)) => zset.range_by_rank(ctx, start, end, false)?,
            None => return Ok(Reply::Integer(0)),
        },
        Request::Score(range) => zset.range_by_score(ctx, range, false, 0, None)?,
        Request::Lex(range) => zset.range_by_lex(ctx, range, false, 0, None)?,
    };
    let mut deleted = 0;
    for (member, _) in &doomed {
        if zset.remove(ctx, member)? {
            deleted += 1;
        }
    }
    if deleted > 0 {
        let removed = zset.save(ctx, deleted)?;
        ctx.notify_and_del(notify::ZSET, event, key, removed);
    }
    Ok(Reply::Integer(deleted as i64))
}
