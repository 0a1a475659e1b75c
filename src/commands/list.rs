//! List commands (the blocking ones are in [`blocking`]): LPUSH, RPUSH, LPUSHX, RPUSHX, LPOP, RPOP, LLEN,
//! LRANGE, LINDEX, LSET, LTRIM, LREM, LINSERT, LPOS, LMOVE, RPOPLPUSH and LMPOP, with Redis
//! 7.0's `t_list.c` rules: numeric arguments and option words are checked before the key, reads
//! count keyspace hits and misses, writes count one change per element pushed, popped, set or
//! removed (`server.dirty`), and a list left empty is deleted.
//!
//! Storage is in [`store`]: one element record per element, keyed by a contiguous sequence
//! number, so index reads and ranges are point reads and bounded scans.

pub mod blocking;
pub(crate) mod store;

use bytes::Bytes;
use formats::resp::Reply;

use super::args::{parse_at_least, parse_i64, parse_mpop};
use super::table::Handler;
use crate::error::{CommandError, CommandResult};
use crate::server::{notify, Ctx};
use store::{End, List};

pub const COMMANDS: &[(&str, Handler)] = &[
    ("lpush", lpush),
    ("rpush", rpush),
    ("lpushx", lpushx),
    ("rpushx", rpushx),
    ("lpop", lpop),
    ("rpop", rpop),
    ("llen", llen),
    ("lrange", lrange),
    ("lindex", lindex),
    ("lset", lset),
    ("ltrim", ltrim),
    ("lrem", lrem),
    ("linsert", linsert),
    ("lpos", lpos),
    ("lmove", lmove),
    ("rpoplpush", rpoplpush),
    ("lmpop", lmpop),
];

fn bulk(bytes: Vec<u8>) -> Reply {
    Reply::Bulk(Bytes::from(bytes))
}

fn bulks(values: Vec<Vec<u8>>) -> Reply {
    Reply::Array(values.into_iter().map(bulk).collect())
}

fn lpush(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    push(ctx, args, End::Left, false)
}

fn rpush(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    push(ctx, args, End::Right, false)
}

fn lpushx(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    push(ctx, args, End::Left, true)
}

fn rpushx(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    push(ctx, args, End::Right, true)
}

/// The PUSH family; `existing` (the X variants) only pushes onto a list that exists.
fn push(ctx: &mut Ctx, args: &[Bytes], end: End, existing: bool) -> CommandResult {
    let mut list = if existing {
        match List::write(ctx, &args[1])? {
            Some(list) => list,
            None => return Ok(Reply::Integer(0)),
        }
    } else {
        List::write_or_create(ctx, &args[1])?
    };
    for value in &args[2..] {
        list.push(ctx, end, value.to_vec())?;
    }
    let len = list.len();
    list.save(ctx, args.len() as u64 - 2)?;
    ctx.notify(notify::LIST, pushed_event(end), &args[1]);
    Ok(Reply::Integer(len as i64))
}

/// The keyspace event of a push onto `end`.
fn pushed_event(end: End) -> &'static str {
    match end {
        End::Left => "lpush",
        End::Right => "rpush",
    }
}

/// The keyspace events of elements popped from `end` of `key`, which `emptied` deleted (Redis's
/// `listElementsRemoved`).
fn notify_popped(ctx: &mut Ctx, key: &[u8], end: End, emptied: bool) {
    let event = match end {
        End::Left => "lpop",
        End::Right => "rpop",
    };
    ctx.notify_and_del(notify::LIST, event, key, emptied);
}

fn lpop(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    pop(ctx, args, End::Left, "lpop")
}

fn rpop(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    pop(ctx, args, End::Right, "rpop")
}

/// LPOP / RPOP key [count]: one element as a bulk string, or with a count an array of up to
/// count elements (a missing key is a null array then).
fn pop(ctx: &mut Ctx, args: &[Bytes], end: End, name: &str) -> CommandResult {
    if args.len() > 3 {
        return Err(CommandError::WrongArity(name.into()));
    }
    let count = match args.get(2) {
        Some(arg) => Some(parse_at_least(
            arg,
            0,
            "ERR value is out of range, must be positive",
        )?),
        None => None,
    };
    let Some(mut list) = List::write(ctx, &args[1])? else {
        return Ok(if count.is_some() {
            Reply::NullArray
        } else {
            Reply::Null
        });
    };
    match count {
        Some(0) => Ok(Reply::Array(Vec::new())),
        Some(n) => {
            let values = list.pop(ctx, end, n)?;
            let emptied = list.len() == 0;
            list.save(ctx, values.len() as u64)?;
            notify_popped(ctx, &args[1], end, emptied);
            Ok(bulks(values))
        }
        None => {
            let value = list.pop(ctx, end, 1)?.pop();
            let emptied = list.len() == 0;
            list.save(ctx, 1)?;
            notify_popped(ctx, &args[1], end, emptied);
            Ok(value.map_or(Reply::Null, bulk))
        }
    }
}

fn llen(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    let len = List::read(ctx, &args[1])?.map_or(0, |list| list.len());
    Ok(Reply::Integer(len as i64))
}

/// Redis's range normalisation (LRANGE, LTRIM): negative indexes count from the end; `None`
/// when the range is empty, else positions `lo..hi`.
fn normalize_range(start: i64, end: i64, len: u64) -> Option<(u64, u64)> {
    let len_i = i64::try_from(len).unwrap_or(i64::MAX);
    let start = if start < 0 { len_i + start } else { start }.max(0);
    let end = if end < 0 { len_i + end } else { end };
    if start > end || start >= len_i {
        return None;
    }
    let end = end.min(len_i - 1);
    // Both are now within 0..len.
    Some((start as u64, end as u64 + 1))
}

fn lrange(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    let start = parse_i64(&args[2])?;
    let end = parse_i64(&args[3])?;
    let Some(list) = List::read(ctx, &args[1])? else {
        return Ok(Reply::Array(Vec::new()));
    };
    let Some((lo, hi)) = normalize_range(start, end, list.len()) else {
        return Ok(Reply::Array(Vec::new()));
    };
    Ok(bulks(list.range(ctx, lo, hi, End::Left)?))
}

fn lindex(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    // Unlike LRANGE, LTRIM and LREM, LINDEX looks the key up before parsing the index.
    let Some(list) = List::read(ctx, &args[1])? else {
        return Ok(Reply::Null);
    };
    let index = parse_i64(&args[2])?;
    let value = match list.position(index) {
        Some(at) => list.get(ctx, at)?,
        None => None,
    };
    Ok(value.map_or(Reply::Null, bulk))
}

fn lset(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    // Like LINDEX, LSET looks the key up before parsing the index.
    let Some(list) = List::write(ctx, &args[1])? else {
        return Err(CommandError::NoSuchKey);
    };
    let index = parse_i64(&args[2])?;
    let at = list
        .position(index)
        .ok_or_else(|| CommandError::other("ERR index out of range"))?;
    list.set(ctx, at, args[3].to_vec())?;
    list.save(ctx, 1)?;
    ctx.notify(notify::LIST, "lset", &args[1]);
    Ok(Reply::ok())
}

fn ltrim(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    let start = parse_i64(&args[2])?;
    let end = parse_i64(&args[3])?;
    let Some(mut list) = List::write(ctx, &args[1])? else {
        return Ok(Reply::ok());
    };
    let len = list.len();
    let (lo, hi) = normalize_range(start, end, len).unwrap_or((0, 0));
    list.trim(ctx, hi..len)?;
    list.trim(ctx, 0..lo)?;
    let removed = len - list.len();
    let emptied = list.len() == 0;
    if removed > 0 {
        list.save(ctx, removed)?;
    }
    // Redis reports the trim even when it removed nothing.
    ctx.notify_and_del(notify::LIST, "ltrim", &args[1], emptied);
    Ok(Reply::ok())
}

fn lrem(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    let count = parse_i64(&args[2])?;
    let Some(mut list) = List::write(ctx, &args[1])? else {
        return Ok(Reply::Integer(0));
    };
    let (from, limit) = match count {
        0 => (End::Left, None),
        c if c > 0 => (End::Left, Some(c.unsigned_abs())),
        c => (End::Right, Some(c.unsigned_abs())),
    };
    let removed = list.remove(ctx, &args[3], limit, from)?;
    if removed > 0 {
        let emptied = list.len() == 0;
        list.save(ctx, removed)?;
        ctx.notify_and_del(notify::LIST, "lrem", &args[1], emptied);
    }
    Ok(Reply::Integer(removed as i64))
}

/// LINSERT key BEFORE|AFTER pivot element: the new length, -1 without the pivot, 0 without
/// the key.
fn linsert(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    let after = if args[2].eq_ignore_ascii_case(b"after") {
        true
    } else if args[2].eq_ignore_ascii_case(b"before") {
        false
    } else {
        return Err(CommandError::Syntax);
    };
    let Some(mut list) = List::write(ctx, &args[1])? else {
        return Ok(Reply::Integer(0));
    };
    let pivot = &args[3];
    let mut found = None;
    list.walk(ctx, 0, list.len(), End::Left, |_, i, v| {
        if v == pivot.as_ref() {
            found = Some(i);
            return Ok(false);
        }
        Ok(true)
    })?;
    let Some(at) = found else {
        return Ok(Reply::Integer(-1));
    };
    list.insert(ctx, at + after as u64, args[4].to_vec())?;
    let len = list.len();
    list.save(ctx, 1)?;
    ctx.notify(notify::LIST, "linsert", &args[1]);
    Ok(Reply::Integer(len as i64))
}

/// LPOS key element [RANK rank] [COUNT num-matches] [MAXLEN len]
///
/// A negative rank walks from the tail. The arithmetic wraps as Redis's C longs do, so RANK
/// -9223372036854775808 behaves as it does there (from the tail, every match counted).
fn lpos(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    let mut rank: i64 = 1;
    let mut count: Option<u64> = None;
    let mut maxlen: u64 = 0;
    let mut i = 3;
    while i < args.len() {
        let option = &args[i];
        let value = args.get(i + 1);
        match value {
            Some(value) if option.eq_ignore_ascii_case(b"rank") => {
                rank = parse_i64(value)?;
                if rank == 0 {
                    return Err(CommandError::other(
                        "ERR RANK can't be zero: use 1 to start from the first match, 2 from \
                         the second ... or use negative to start from the end of the list",
                    ));
                }
            }
            Some(value) if option.eq_ignore_ascii_case(b"count") => {
                count = Some(parse_at_least(value, 0, "ERR COUNT can't be negative")?);
            }
            Some(value) if option.eq_ignore_ascii_case(b"maxlen") => {
                maxlen = parse_at_least(value, 0, "ERR MAXLEN can't be negative")?;
            }
            _ => return Err(CommandError::Syntax),
        }
        i += 2;
    }
    let Some(list) = List::read(ctx, &args[1])? else {
        return Ok(if count.is_some() {
            Reply::Array(Vec::new())
        } else {
            Reply::Null
        });
    };
    let from = if rank < 0 { End::Right } else { End::Left };
    let rank = if rank < 0 { rank.wrapping_neg() } else { rank };
    let element = &args[2];
    let len = list.len();
    let mut matches: i64 = 0;
    let mut walked: u64 = 0;
    let mut found = Vec::new();
    list.walk(ctx, 0, len, from, |_, index, v| {
        if maxlen != 0 && walked >= maxlen {
            return Ok(false);
        }
        walked += 1;
        if v != element.as_ref() {
            return Ok(true);
        }
        matches += 1;
        if matches < rank {
            return Ok(true);
        }
        found.push(index as i64);
        Ok(match count {
            None => false,
            Some(0) => true,
            // `count` came from an i64, so it fits one.
            Some(c) => matches.wrapping_sub(rank).wrapping_add(1) < c as i64,
        })
    })?;
    Ok(match count {
        Some(_) => Reply::Array(found.into_iter().map(Reply::Integer).collect()),
        None => found.first().map_or(Reply::Null, |&i| Reply::Integer(i)),
    })
}

fn lmove(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    let from = End::parse(&args[3])?;
    let to = End::parse(&args[4])?;
    move_element(ctx, &args[1], &args[2], from, to)
}

fn rpoplpush(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    move_element(ctx, &args[1], &args[2], End::Right, End::Left)
}

/// Pops from one end of `source` and pushes onto `to` of `destination` (possibly the same
/// list, which rotates it). The destination's type is checked before anything moves.
pub(crate) fn move_element(
    ctx: &mut Ctx,
    source: &[u8],
    destination: &[u8],
    from: End,
    to: End,
) -> CommandResult {
    let Some(mut list) = List::write(ctx, source)? else {
        return Ok(Reply::Null);
    };
    if source == destination {
        let Some(value) = list.pop(ctx, from, 1)?.pop() else {
            return Ok(Reply::Null);
        };
        list.push(ctx, to, value.clone())?;
        list.save(ctx, 1)?;
        ctx.notify(notify::LIST, pushed_event(to), destination);
        notify_popped(ctx, source, from, false);
        return Ok(bulk(value));
    }
    let mut target = List::write_or_create(ctx, destination)?;
    let Some(value) = list.pop(ctx, from, 1)?.pop() else {
        return Ok(Reply::Null);
    };
    target.push(ctx, to, value.clone())?;
    let emptied = list.len() == 0;
    list.save(ctx, 1)?;
    target.save(ctx, 0)?;
    ctx.notify(notify::LIST, pushed_event(to), destination);
    notify_popped(ctx, source, from, emptied);
    Ok(bulk(value))
}

/// LMPOP numkeys key [key ...] LEFT|RIGHT [COUNT count]: pops from the first non-empty list,
/// replying with its name and the elements, or a null array when every list is missing.
fn lmpop(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    let (keys, end, count) = parse_mpop(args, 1, End::side)?;
    for key in &args[keys] {
        if let Some(reply) = mpop_from(ctx, key, end, count)? {
            return Ok(reply);
        }
    }
    Ok(Reply::NullArray)
}

/// Pops up to `count` elements from `key` for LMPOP/BLMPOP: the reply `[key, [elements]]`,
/// or `None` when the list does not exist.
pub(crate) fn mpop_from(
    ctx: &mut Ctx,
    key: &Bytes,
    end: End,
    count: u64,
) -> Result<Option<Reply>, CommandError> {
    let Some(mut list) = List::write(ctx, key)? else {
        return Ok(None);
    };
    let values = list.pop(ctx, end, count)?;
    let emptied = list.len() == 0;
    list.save(ctx, values.len() as u64)?;
    notify_popped(ctx, key, end, emptied);
    // Propagated as LPOP/RPOP key count (Redis's mpop rewrite).
    ctx.rewrite_propagated(vec![
        Bytes::from_static(end.pop_command().as_bytes()),
        key.clone(),
        Bytes::from(values.len().to_string()),
    ]);
    Ok(Some(Reply::Array(vec![
        Reply::Bulk(key.clone()),
        bulks(values),
    ])))
}

/// Pops one element from `end` of `key` for BLPOP/BRPOP: the reply `[key, element]`, or `None`
/// when the list does not exist.
pub(crate) fn pop_one(ctx: &mut Ctx, key: &Bytes, end: End) -> Result<Option<Reply>, CommandError> {
    let Some(mut list) = List::write(ctx, key)? else {
        return Ok(None);
    };
    let Some(value) = list.pop(ctx, end, 1)?.pop() else {
        return Ok(None);
    };
    let emptied = list.len() == 0;
    list.save(ctx, 1)?;
    notify_popped(ctx, key, end, emptied);
    // BLPOP/BRPOP propagate as the plain pop.
    ctx.rewrite_propagated(vec![
        Bytes::from_static(end.pop_command().as_bytes()),
        key.clone(),
    ]);
    Ok(Some(Reply::Array(vec![
        Reply::Bulk(key.clone()),
        bulk(value),
    ])))
}
